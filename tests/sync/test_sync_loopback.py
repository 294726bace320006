"""The headline flows over real loopback sockets: two tenants × two marketplaces, backfill then
incremental, lookup across platforms; and a sync at the published rate limit with 10 % 5xx."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sync_world import START, World, make_world

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync import AccountSyncStatus, SyncMode
from invekto_integrations.testing.refmarket import PUBLISHED_RATE_LIMIT

pytestmark = pytest.mark.loopback


@pytest.fixture
def live(sleepless: Clock, tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    store = SQLiteStore(tmp_path / "orders.sqlite3")
    w = make_world(store, sleep_clock=sleepless, loopback=True)
    w.sandbox.start()
    yield w
    w.sandbox.stop()
    w.engine.close()
    store.close()


async def test_two_tenants_backfill_incremental_and_lookup_over_sockets(live: World) -> None:
    w = live
    accounts = {(t, p): w.connect(t, p, orders=20) for t in ("t1", "t2") for p in ("alpha", "beta")}
    a1, b1 = accounts[("t1", "alpha")], accounts[("t1", "beta")]
    w.fake("alpha").seed_customer_order(w.key(a1), "0532 444 55 66", "Kerem Ay", START - timedelta(days=20))

    first = await w.engine.run()
    assert all(r.status is AccountSyncStatus.OK and r.mode is SyncMode.BACKFILL for r in first.accounts)
    assert first.inserted == 81

    # After the first sync: the same customer buys on the other platform, an order ships.
    w.clock.advance(hours=1)
    bought = w.fake("beta").seed_customer_order(w.key(b1), "+90 532 444 5566", "Kerem Ay",
                                                w.clock.now() - timedelta(minutes=40))
    alpha = w.fake("alpha")
    target = next(o for o in alpha.order_ids(w.key(a1)) if alpha.order(w.key(a1), o)["status"] != "Delivered")
    before = w.store.orders.get("t1", "alpha", a1.id, target).order_status
    alpha.step_order(w.key(a1), target, w.clock.now() - timedelta(minutes=5))

    second = await w.engine.run()
    assert all(r.mode is SyncMode.INCREMENTAL for r in second.accounts)
    assert second.inserted == 1 and second.updated == 1 and second.for_account(a1.id).updated == 1
    for (t, p), account in accounts.items():
        expected = len(w.fake(p).order_ids(w.key(account)))
        assert w.store.orders.count(t, provider=p) == expected  # nothing duplicated, nothing missing
    assert w.store.orders.get("t1", "alpha", a1.id, target).order_status != before

    found = await w.lookup.afind("t1", "05324445566")
    assert found.providers == ["alpha", "beta"] and len(found) == 2
    assert found.orders[0].order.external_id == bought  # newest first
    assert len(w.lookup.find("t2", "05324445566")) == 0


async def test_published_rate_limit_and_5xx_every_order_once(sleepless: Clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    real = SystemClock()
    store = SQLiteStore(tmp_path / "rl.sqlite3")
    retry = RetryPolicy(max_attempts=8, base_seconds=0.01, max_backoff_seconds=0.05, clock=real,
                        rng=random.Random(5))
    w = make_world(store, sleep_clock=real, loopback=True, retry=retry, limiter=RateLimiterRegistry(real))
    accounts = [w.connect(t, p) for t in ("t1", "t2") for p in ("alpha", "beta")]
    for account in accounts:
        w.fake(account.provider).add_synthetic(w.key(account), 800, start=START - timedelta(days=3),
                                               end=START - timedelta(minutes=1))
    for name in ("alpha", "beta"):
        w.fake(name).faults.configure(rate_limit=PUBLISHED_RATE_LIMIT, error_rate=0.10, seed=9)
    with w.sandbox:
        report = await w.engine.run()
    w.engine.close()
    assert all(r.status is AccountSyncStatus.OK for r in report.accounts), [r.error for r in report.accounts]
    for account in accounts:
        ids = w.fake(account.provider).order_ids(w.key(account))
        assert len(store.orders.get_many(account.tenant_id, account.provider, account.id, ids)) == len(ids) == 800
        assert store.orders.count(account.tenant_id, provider=account.provider) == 800
    counts = {n: w.fake(n).faults.counts for n in ("alpha", "beta")}
    assert sum(c["error"] for c in counts.values()) > 0  # the faults were really injected
    assert sum(c["rate_limit"] for c in counts.values()) <= 5, counts
    store.close()
