"""The order sync as a runtime engine: each tenant's accounts sync on the engine's timer; a refused
account is recorded as the engine's error (and retried) while the other accounts go on."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr
from sync_world import World

from invekto_integrations.models.accounts import AccountStatus, Credentials
from invekto_integrations.runtime import Runtime
from invekto_integrations.runtime.engines import OrderPollEngine


def test_orders_sync_on_the_timer_and_a_refused_account_shows_in_status(world: World) -> None:
    good = world.connect("t1", "alpha", orders=8)
    bad = world.service.add("t1", "beta", Credentials(api_key=SecretStr("nope"), api_secret=SecretStr("nope")),
                            settings={"seller_id": "999999"})
    rt = Runtime(world.store, [OrderPollEngine(world.engine, every="*/5 * * * *")], clock=world.clock,
                 tenants=["t1"], max_attempts=2)
    assert rt.run_once().fired == 0  # the first occurrence is the next 5-minute mark
    world.clock.advance(minutes=5)
    report = rt.run_once()
    assert report.fired == 0 and "beta" in report.errors[0]
    assert world.store.orders.count("t1", provider="alpha") == len(world.fake("alpha").order_ids(world.key(good)))
    assert world.store.accounts.get("t1", bad.id).status is AccountStatus.INVALID_CREDENTIALS
    [status] = rt.status()
    assert status.engine == "orders.sync" and status.last_error is not None and "beta" in status.last_error
    world.clock.advance(timedelta(minutes=1).total_seconds())  # the retry: the refused account is skipped now
    assert rt.run_once().fired == 1
    assert rt.status()[0].next_timer_at is not None
