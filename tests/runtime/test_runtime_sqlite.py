"""SQLite specifics: transactional engines (effects, cursor and timer firing commit together) and two
runtimes in two threads on one file doing every event and timer occurrence exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from runtime_world import START, order_event

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.events import EventBus
from invekto_integrations.models.events import DomainEvent, OrderCreated
from invekto_integrations.runtime import BaseEngine, EngineContext, Runtime, Schedule, Timer
from invekto_integrations.storage import SQLiteStore


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "rt.sqlite3")
    store.db.execute("CREATE TABLE probe_seen (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL)")
    yield store
    store.close()


def seen(store: SQLiteStore) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in store.db.execute("SELECT tenant_id, kind, key FROM probe_seen ORDER BY rowid")]


class Recorder(BaseEngine):
    """Writes what it handles into ``probe_seen`` (inside the runtime's transaction)."""

    name = "recorder"
    consumes = frozenset({OrderCreated.TYPE})
    transactional = True

    def __init__(self, store: SQLiteStore, *, schedules: Sequence[Schedule] = (), fail_after_write: bool = False,
                 steal_claim: bool = False, expected: int | None = None,
                 done: threading.Event | None = None) -> None:
        self.store = store
        self._schedules = list(schedules)
        self.fail_after_write = fail_after_write
        self.steal_claim = steal_claim
        self.expected = expected
        self.done = done or threading.Event()

    def _write(self, tenant: str, kind: str, key: str) -> None:
        self.store.db.execute("INSERT INTO probe_seen VALUES (?, ?, ?)", (tenant, kind, key))
        if self.expected is not None:
            n = self.store.db.execute("SELECT COUNT(*) FROM probe_seen").fetchone()[0]
            if n >= self.expected:
                self.done.set()

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        assert isinstance(event, OrderCreated)
        self._write(ctx.tenant_id, "event", event.external_order_id)
        if self.fail_after_write:
            raise RuntimeError("boom after the write")

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self._write(ctx.tenant_id, "timer", timer.occurrence)
        if self.steal_claim:  # another runtime took the occurrence over meanwhile
            self.store.db.execute("UPDATE runtime_timers SET claimed_by = 'thief' WHERE key = ?", (timer.key,))

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return self._schedules


def test_a_failing_transactional_handler_leaves_no_effect_and_no_cursor_move(db: SQLiteStore) -> None:
    clock = FrozenClock(START)
    EventBus(db.events, clock).publish("t1", [order_event("t1", 1)])
    engine = Recorder(db, fail_after_write=True)
    rt = Runtime(db, [engine], clock=clock)
    assert rt.run_once().errors
    assert seen(db) == [] and db.events.cursor("t1", "recorder") == 0
    engine.fail_after_write = False
    assert rt.run_once().handled == 1
    assert seen(db) == [("t1", "event", "o1")] and db.events.cursor("t1", "recorder") == 1


def test_a_transactional_timer_whose_claim_was_lost_rolls_its_effects_back(db: SQLiteStore) -> None:
    clock = FrozenClock(START)
    engine = Recorder(db, steal_claim=True)
    rt = Runtime(db, [engine], clock=clock, tenants=["t1"], lease_ttl=timedelta(seconds=30))
    rt.context("t1", engine).schedule("k", START)
    assert rt.run_once().fired == 0
    assert seen(db) == []  # rolled back together with the theft
    row = db.timers.get("t1", "recorder", "k")
    assert row is not None and row.state == "pending" and row.claimed_by == rt.owner
    engine.steal_claim = False
    clock.advance(seconds=31)  # our own stale claim expires too
    assert rt.run_once().fired == 1
    assert seen(db) == [("t1", "timer", f"k@{START.isoformat()}")]


def test_two_runtimes_in_threads_handle_every_event_and_occurrence_once(db: SQLiteStore, tmp_path: Path) -> None:
    clock = FrozenClock(START)
    tenants = ("t1", "t2")
    bus = EventBus(db.events, clock)
    for tenant in tenants:
        bus.publish(tenant, [order_event(tenant, n) for n in range(60)])
    # Three occurrences a minute apart (COUNT=3), anchored at START; ten one-shot timers per tenant.
    every = Schedule("every-minute", rrule="FREQ=MINUTELY;COUNT=3", start=START + timedelta(minutes=1))
    expected = len(tenants) * (60 + 10 + 3)
    engines, runtimes, stores = [], [], []
    done = threading.Event()
    for owner in ("a", "b"):
        store = SQLiteStore(tmp_path / "rt.sqlite3")  # each runtime opens the file itself
        engine = Recorder(store, schedules=[every], expected=expected, done=done)
        rt = Runtime(store, [engine], clock=clock, owner=owner, batch=7, lease_ttl=timedelta(seconds=5))
        engines.append(engine)
        runtimes.append(rt)
        stores.append(store)
    for tenant in tenants:
        for n in range(10):
            runtimes[0].context(tenant, engines[0]).schedule(f"once-{n}", START + timedelta(seconds=n * 20))
    threads = [threading.Thread(target=rt.run_forever, kwargs={"idle": 0.5}) for rt in runtimes]
    for t in threads:
        t.start()
    try:
        assert done.wait(60)
    finally:
        for rt in runtimes:
            rt.stop()
        for t in threads:
            t.join(30)
    rows = seen(db)
    assert len(rows) == expected, "each event and each occurrence exactly once"
    assert len(set(rows)) == expected
    for tenant in tenants:
        assert sorted(k for t, kind, k in rows if t == tenant and kind == "event") == sorted(
            f"o{n}" for n in range(60))
        occurrences = sorted(k for t, kind, k in rows if t == tenant and kind == "timer" and k.startswith("every"))
        assert occurrences == [f"every-minute@{(START + timedelta(minutes=m)).isoformat()}" for m in (1, 2, 3)]
    for store in stores:
        store.close()
