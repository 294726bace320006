"""Issue 5: the same malformed order, fetched again by every run whose overlap window covers it, is
kept in quarantine once (unique on tenant, provider, account, record id and the raw record's hash)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sync_world import make_world

from invekto_integrations.core.clock import Clock
from invekto_integrations.testing.refmarket import RawStatus


async def test_overlapping_runs_over_the_same_bad_order_store_one_row(any_store: Any, sleepless: Clock) -> None:
    w = make_world(any_store, sleep_clock=sleepless)
    a = w.connect("t1", "alpha", orders=10)
    b = w.connect("t2", "alpha", orders=10)
    fake = w.fake("alpha")
    bad = fake.order_ids(w.key(a))[3]
    fake.corrupt_order(w.key(a), bad)
    # changed a minute ago: inside every run's overlap window
    fake.set_status(w.key(a), bad, RawStatus.PICKING, w.clock.now() - timedelta(minutes=1))
    fake.corrupt_order(w.key(b), fake.order_ids(w.key(b))[3])

    first = (await w.engine.run()).for_account(a.id)
    w.clock.advance(minutes=5)
    second = (await w.engine.run()).for_account(a.id)
    w.clock.advance(minutes=5)
    third = (await w.engine.run()).for_account(a.id)
    # every run saw the bad order again (the overlap window covers it) ...
    assert (first.quarantined, second.quarantined, third.quarantined) == (1, 1, 1)
    # ... and it is stored once per tenant
    [row] = w.store.quarantine.find("t1", provider="alpha")
    assert row.record_id == bad and row.account_id == a.id
    assert len(w.store.quarantine.find("t2", provider="alpha")) == 1
