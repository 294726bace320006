"""The order-sync engine against the reference marketplace fakes over HTTP (in-process transport)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sync_world import START, World, make_world

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.errors import StorageError
from invekto_integrations.events import EventConsumer
from invekto_integrations.models.accounts import AccountStatus, Credentials
from invekto_integrations.models.events import OrderCreated, OrderStatusChanged, TrackingCodeAssigned
from invekto_integrations.models.orders import Order
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync import AccountSyncStatus, SyncMode, SyncProgress, SyncSettings
from invekto_integrations.sync.orders import STREAM, _Counters
from invekto_integrations.testing.refmarket import RawStatus


def event_types(world: World, tenant: str) -> list[str]:
    return [e.type for e in world.store.events.read(tenant, limit=100_000)]


async def test_backfill_then_incremental_two_tenants(any_store: Any, sleepless: Clock) -> None:
    w = make_world(any_store, sleep_clock=sleepless)
    accounts = {(t, p): w.connect(t, p, orders=25) for t in ("t1", "t2") for p in ("alpha", "beta")}

    first = await w.engine.run()
    assert [a.status for a in first.accounts] == [AccountSyncStatus.OK] * 4
    assert {a.mode for a in first.accounts} == {SyncMode.BACKFILL}
    assert first.inserted == 100 and first.updated == 0 and first.quarantined == 0
    for (t, p), account in accounts.items():
        assert any_store.orders.count(t, provider=p) == 25
        cp = any_store.checkpoints.get(t, account.id, STREAM)
        assert cp is not None and cp.position == START and cp.cursor is None
    assert event_types(w, "t1").count("order.created") == 50

    # After the first sync: new orders, status changes, a shipment with a tracking number.
    w.clock.advance(hours=1)
    a1 = accounts[("t1", "alpha")]
    fake = w.fake("alpha")
    new_id = fake.seed_customer_order(w.key(a1), "0532 111 22 33", "Deniz Ak", w.clock.now() - timedelta(minutes=30))
    created = [oid for oid in fake.order_ids(w.key(a1)) if fake.order(w.key(a1), oid)["status"] == "Created"]
    picking = [oid for oid in fake.order_ids(w.key(a1)) if fake.order(w.key(a1), oid)["status"] == "Picking"]
    assert created and picking
    fake.step_order(w.key(a1), created[0], w.clock.now() - timedelta(minutes=20))  # -> Picking
    fake.step_order(w.key(a1), picking[0], w.clock.now() - timedelta(minutes=10))  # -> Shipped + tracking

    second = await w.engine.run()
    r = second.for_account(a1.id)
    assert r.mode is SyncMode.INCREMENTAL and r.status is AccountSyncStatus.OK
    assert (r.inserted, r.updated) == (1, 2)
    assert r.since == START - timedelta(minutes=15) and r.until == START + timedelta(hours=1)
    others = [a for a in second.accounts if a.account_id != a1.id]
    assert all(a.inserted == a.updated == 0 for a in others)
    assert any_store.orders.count("t1", provider="alpha") == 26  # nothing duplicated
    assert any_store.orders.get("t1", "alpha", a1.id, new_id).customer_phone == "+905321112233"
    shipped = any_store.orders.get("t1", "alpha", a1.id, picking[0])
    assert shipped.order_status == "shipped" and shipped.tracking_code

    types = event_types(w, "t1")
    assert types.count("order.created") == 51
    assert types.count("order.status_changed") == 2
    assert types.count("order.tracking_assigned") >= 1

    # A third run with nothing new changes nothing and emits nothing.
    before = len(any_store.events.read("t1", limit=100_000))
    w.clock.advance(minutes=5)
    third = await w.engine.run()
    assert third.inserted == third.updated == 0 and third.events == 0
    assert len(any_store.events.read("t1", limit=100_000)) == before


async def test_events_carry_the_change_and_reach_consumers(world: World) -> None:
    a = world.connect("t1", "alpha")
    fake = world.fake("alpha")
    oid = fake.seed_customer_order(world.key(a), "+90 532 555 44 33", "Ece Tan", START - timedelta(days=2))
    await world.engine.run()
    world.clock.advance(hours=2)
    fake.step_order(world.key(a), oid, world.clock.now() - timedelta(minutes=30))  # Picking
    fake.step_order(world.key(a), oid, world.clock.now() - timedelta(minutes=20))  # Shipped
    await world.engine.run()

    seen: list[Any] = []
    consumer = EventConsumer(world.store.events, "cargo-watcher")
    assert consumer.poll("t1", seen.append) == 3
    created, changed, tracking = seen
    assert isinstance(created, OrderCreated) and created.backfill and created.customer_phone == "+905325554433"
    assert isinstance(changed, OrderStatusChanged) and not changed.backfill
    assert (changed.old_status, changed.new_status) == ("created", "shipped")
    assert isinstance(tracking, TrackingCodeAssigned)
    assert tracking.tracking_code == fake.order(world.key(a), oid)["cargo"]["trackingNumber"]
    assert consumer.poll("t1", seen.append) == 0
    # every order event carries the purchase value as the cached order states it
    cached = world.store.orders.get("t1", created.provider, created.account_id, created.external_order_id)
    assert cached is not None
    total = json.loads(cached.order_data_json)["total"]
    for event in seen:
        assert event.total is not None and event.total.currency == "TRY"
        assert event.total.amount == Decimal(str(total)) and event.total.amount > 0


async def test_malformed_record_is_quarantined_and_the_rest_goes_on(world: World) -> None:
    a = world.connect("t1", "alpha", orders=10)
    fake = world.fake("alpha")
    bad = fake.order_ids(world.key(a))[3]
    fake.corrupt_order(world.key(a), bad)
    report = (await world.engine.run()).for_account(a.id)
    assert report.status is AccountSyncStatus.OK
    assert (report.fetched, report.inserted, report.quarantined) == (10, 9, 1)
    note = report.quarantine[0]
    assert (note.provider, note.record_id, note.field) == ("alpha", bad, "orderDate")
    [stored] = world.store.quarantine.find("t1", provider="alpha")
    assert stored.record_id == bad and stored.field == "orderDate" and "alpha" in stored.error
    assert '"orderNumber"' in stored.raw_json  # the record is kept whole
    assert world.store.quarantine.find("t2") == []
    assert world.store.orders.get("t1", "alpha", a.id, bad) is None


async def test_auth_failure_marks_account_and_others_go_on(world: World) -> None:
    good = world.connect("t1", "alpha", orders=5)
    bad = world.service.add("t1", "beta", Credentials(api_key="wrong", api_secret="nope"),  # type: ignore[arg-type]
                            settings={"seller_id": "999"})
    report = await world.engine.run()
    assert report.for_account(good.id).status is AccountSyncStatus.OK
    failed = report.for_account(bad.id)
    assert failed.status is AccountSyncStatus.AUTH_FAILED and "401" in (failed.error or "")
    assert "nope" not in (failed.error or "")
    assert world.store.accounts.get("t1", bad.id).status is AccountStatus.INVALID_CREDENTIALS
    assert world.store.orders.count("t1", provider="alpha") == 5
    # An invalid account is not synced again until its credentials are fixed.
    again = await world.engine.run()
    assert [r.account_id for r in again.accounts] == [good.id]


async def test_overlap_window_catches_late_indexed_updates(sleepless: Clock) -> None:
    for overlap, expected in ((timedelta(minutes=15), "processing"), (timedelta(0), "created")):
        store = SQLiteStore()
        w = make_world(store, sleep_clock=sleepless, settings=SyncSettings(overlap=overlap))
        a = w.connect("t1", "alpha")
        fake = w.fake("alpha")
        oid = fake.seed_customer_order(w.key(a), "05321234567", "Ali Er", START - timedelta(days=1))
        await w.engine.run()
        w.clock.advance(hours=1)
        # The provider indexed this change late: it carries a time before our last checkpoint.
        fake.step_order(w.key(a), oid, START - timedelta(minutes=5))
        await w.engine.run()
        assert store.orders.get("t1", "alpha", a.id, oid).order_status == expected
        store.close()


async def test_backfill_reports_progress_and_respects_history(world: World) -> None:
    world.engine.settings = SyncSettings(backfill=timedelta(days=200))  # more than the provider keeps
    a = world.connect("t1", "beta", orders=40, days=85)
    seen: list[SyncProgress] = []
    report = (await world.engine.run(progress=seen.append)).for_account(a.id)
    assert report.status is AccountSyncStatus.OK and report.inserted == 40
    assert report.since == START - timedelta(days=90) + timedelta(minutes=10)
    assert not report.history_clamped
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and seen[-1].done and fractions[-1] == 1.0
    assert seen[-1].chunks_total == 13 and seen[-1].inserted == 40
    assert all(p.mode is SyncMode.BACKFILL for p in seen)


async def test_old_checkpoint_is_clamped_to_history_and_reported(world: World) -> None:
    a = world.connect("t1", "alpha", orders=3, days=10)
    await world.engine.run()
    world.clock.advance(days=120)  # the account was paused for four months
    report = (await world.engine.run()).for_account(a.id)
    assert report.status is AccountSyncStatus.OK and report.history_clamped
    assert report.since == world.clock.now() - timedelta(days=90) + timedelta(minutes=10)


async def test_interrupted_backfill_resumes_from_its_checkpoint(world: World) -> None:
    a = world.connect("t1", "alpha", orders=30, days=80)
    fake = world.fake("alpha")
    # Enough successive 5xx answers on the 4th request to exhaust the retries there.
    fake.faults.configure(script=["ok", "ok", "ok", "error", "error", "error", "error", "error"])
    failed = (await world.engine.run()).for_account(a.id)
    assert failed.status is AccountSyncStatus.FAILED and "503" in (failed.error or "")
    cp = world.store.checkpoints.get("t1", a.id, STREAM)
    assert cp is not None and cp.cursor == "backfill" and cp.position is not None and cp.position < START
    resumed_from = cp.position
    fake.requests.clear()
    report = (await world.engine.run()).for_account(a.id)
    assert report.status is AccountSyncStatus.OK and report.mode is SyncMode.BACKFILL
    assert report.since == resumed_from - timedelta(minutes=15)
    assert world.store.orders.count("t1") == 30
    cp = world.store.checkpoints.get("t1", a.id, STREAM)
    assert cp is not None and cp.cursor is None and cp.position == START


class FailingOnce:
    """An order cache whose first upsert fails (the process 'dies' between publish and upsert)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def upsert_many(self, tenant_id: str, orders: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise StorageError("disk full")
        return self.inner.upsert_many(tenant_id, orders)


async def test_a_change_is_emitted_once_even_if_the_upsert_failed(world: World) -> None:
    a = world.connect("t1", "alpha", orders=8)
    world.engine.orders = FailingOnce(world.store.orders)  # type: ignore[assignment]
    first = (await world.engine.run()).for_account(a.id)
    assert first.status is AccountSyncStatus.FAILED and "disk full" in (first.error or "")
    published = len(event_types(world, "t1"))  # the first batch's events, published before its upsert failed
    assert published >= 1 and world.store.orders.count("t1") == 0
    second = (await world.engine.run()).for_account(a.id)
    assert second.status is AccountSyncStatus.OK and second.inserted == 8
    # The failed batch's changes were seen again, but their dedupe keys dropped the repeats.
    assert second.events == len(event_types(world, "t1")) - published
    assert event_types(world, "t1").count("order.created") == 8
    assert event_types(world, "t1").count("order.created") == 8


async def test_forced_backfill_never_moves_the_checkpoint_back(world: World) -> None:
    a = world.connect("t1", "alpha", orders=5)
    await world.engine.run()
    world.clock.advance(hours=3)
    report = (await world.engine.run(mode=SyncMode.BACKFILL)).for_account(a.id)
    assert report.mode is SyncMode.BACKFILL and report.inserted == 0 and report.unchanged == 5
    cp = world.store.checkpoints.get("t1", a.id, STREAM)
    assert cp is not None and cp.position == world.clock.now() and cp.cursor is None


def test_an_older_version_never_overwrites_a_newer_one(world: World) -> None:
    a = world.connect("t1", "alpha")
    fake = world.fake("alpha")
    oid = fake.seed_customer_order(world.key(a), "05321234567", "Ali Er", START - timedelta(days=1))
    from invekto_integrations.providers.base import OrderOrError
    from invekto_integrations.testing.refmarket import to_order

    old = to_order("alpha", fake.order(world.key(a), oid))
    fake.step_order(world.key(a), oid, START - timedelta(hours=1))
    new = to_order("alpha", fake.order(world.key(a), oid))
    counters = _Counters()
    world.engine.commit_batch(a, [OrderOrError(order=new)], backfill=False, counters=counters)
    world.engine.commit_batch(a, [OrderOrError(order=old)], backfill=False, counters=counters)
    assert (counters.inserted, counters.updated, counters.unchanged) == (1, 0, 1)
    assert world.store.orders.get("t1", "alpha", a.id, oid).order_status == "processing"
    # Within one batch the newest version wins too.
    counters = _Counters()
    world.engine.commit_batch(a, [OrderOrError(order=new), OrderOrError(order=old)], backfill=False,
                              counters=counters)
    assert counters.unchanged == 1 and counters.fetched == 2


def test_orders_the_cache_cannot_hold_are_quarantined(world: World) -> None:
    a = world.connect("t1", "alpha")
    naive = Order(provider="alpha", external_id="X1", order_number="N1", status="created",  # type: ignore[arg-type]
                  raw_status="Created", ordered_at=START.replace(tzinfo=None), updated_at=START)
    from invekto_integrations.providers.base import OrderOrError

    counters = _Counters()
    world.engine.commit_batch(a, [OrderOrError(order=naive)], backfill=False, counters=counters)
    assert counters.quarantined == 1 and counters.notes[0].field == "ordered_at"


async def test_concurrent_sync_of_the_same_account_is_skipped(world: World) -> None:
    import asyncio

    a = world.connect("t1", "alpha", orders=5)
    r1, r2 = await asyncio.gather(world.engine.sync_account(a), world.engine.sync_account(a))
    assert sorted([r1.status, r2.status]) == sorted([AccountSyncStatus.OK, AccountSyncStatus.SKIPPED])
    assert world.store.orders.count("t1") == 5


def test_run_blocking_for_sync_callers(world: World) -> None:
    world.connect("t2", "beta", orders=4)
    report = world.engine.run_blocking(tenant_ids=["t2"])
    assert report.inserted == 4 and report.accounts[0].summary().startswith("t2/beta [backfill] ok")


@pytest.mark.parametrize("bad", [SyncSettings, lambda: SyncSettings(batch_size=0)])
def test_settings_are_validated(bad: Any) -> None:
    if bad is SyncSettings:
        assert SyncSettings().batch_size == 200
        return
    from invekto_integrations.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        bad()


async def test_status_changes_to_raw_terminal_states(world: World) -> None:
    a = world.connect("t1", "beta")
    fake = world.fake("beta")
    oid = fake.seed_customer_order(world.key(a), "5321234567", "Oya Su", START - timedelta(days=3))
    await world.engine.run()
    world.clock.advance(hours=1)
    fake.set_status(world.key(a), oid, RawStatus.CANCELLED, world.clock.now() - timedelta(minutes=1))
    report = (await world.engine.run()).for_account(a.id)
    assert report.updated == 1
    [changed] = [e for e in world.store.events.read("t1") if e.type == "order.status_changed"]
    assert changed.data["new_status"] == "cancelled"
