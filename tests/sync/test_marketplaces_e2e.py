"""Issue 5's headline flows with the real connectors: Trendyol and Hepsiburada fakes over loopback
sockets, two tenants each, backfill then incremental, lookup across platforms. (The sync at each
fake's published rate limit with 10 % injected 5xx is in test_rate_limit_paced.py, on virtual time,
where it can actually reach the limit.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sync_world import START, World, make_world

from invekto_integrations.core.clock import Clock
from invekto_integrations.models.accounts import IntegrationAccount
from invekto_integrations.models.orders import OrderStatus
from invekto_integrations.providers.hepsiburada import PROVIDER as HEPSIBURADA
from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync import AccountSyncStatus, SyncMode
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

pytestmark = pytest.mark.loopback
MARKETS = ("trendyol", "hepsiburada")


def listed(w: World, account: IntegrationAccount) -> list[str]:
    """Every order the fake holds for the account (the ground truth the cache must equal)."""
    fake = w.sandbox.fake(account.provider)
    if isinstance(fake, TrendyolFake):
        return fake.package_ids(w.key(account))
    assert isinstance(fake, HepsiburadaFake)
    return fake.order_numbers(w.key(account))


@pytest.fixture
def live(sleepless: Clock, tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    store = SQLiteStore(tmp_path / "orders.sqlite3")
    w = make_world(store, sleep_clock=sleepless, loopback=True, providers=[TRENDYOL, HEPSIBURADA])
    w.sandbox.start()
    yield w
    w.sandbox.stop()
    w.engine.close()
    store.close()


async def test_two_tenants_on_trendyol_and_hepsiburada_over_sockets(live: World) -> None:
    w = live
    accounts = {(t, p): w.connect(t, p, orders=20, days=25) for t in ("t1", "t2") for p in MARKETS}
    ty, hb = accounts[("t1", "trendyol")], accounts[("t1", "hepsiburada")]
    w.scenario("trendyol").seed_customer_order(w.key(ty), "0532 444 55 66", "Kerem Ay", START - timedelta(days=20))

    first = await w.engine.run()
    assert all(r.status is AccountSyncStatus.OK and r.mode is SyncMode.BACKFILL for r in first.accounts), first
    assert first.inserted == 81 and first.quarantined == 0

    w.clock.advance(hours=1)
    bought = w.scenario("hepsiburada").seed_customer_order(w.key(hb), "+90 532 444 5566", "Kerem Ay",
                                                           w.clock.now() - timedelta(minutes=40))
    fake = w.sandbox.fake("trendyol")
    assert isinstance(fake, TrendyolFake)
    target = next(p for p in fake.package_ids(w.key(ty)) if fake.package(w.key(ty), p)["status"] == "Created")
    fake_status = w.scenario("trendyol").step_order(w.key(ty), target, w.clock.now() - timedelta(minutes=5))
    assert fake_status == "Picking"

    second = await w.engine.run()
    assert all(r.mode is SyncMode.INCREMENTAL and r.status is AccountSyncStatus.OK for r in second.accounts)
    assert second.inserted == 1 and second.for_account(ty.id).updated == 1
    for (t, p), account in accounts.items():
        assert w.store.orders.count(t, provider=p) == len(listed(w, account))  # nothing duplicated or missing
    row = w.store.orders.get("t1", "trendyol", ty.id, target)
    assert row is not None and row.order_status == OrderStatus.PROCESSING.value

    again = await w.engine.run()
    assert again.inserted == again.updated == again.events == 0

    found = await w.lookup.afind("t1", "5324445566")
    assert found.providers == ["hepsiburada", "trendyol"] and len(found) == 2
    assert found.orders[0].order.external_id == bought  # newest first
    assert len(w.lookup.find("t2", "05324445566")) == 0
