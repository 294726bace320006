"""PostgreSQL-only behaviour: concurrent writers from several threads (each with its own pooled
connection) keep per-tenant event numbers gapless, timers claimed once, leases exclusive; missing
repositories refuse loudly; URLs are checked."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.storage.postgres import PostgresStore
from invekto_integrations.storage.postgres._db import normalize_url
from invekto_integrations.storage.runtime_protocols import TimerRecord
from invekto_integrations.testing.repository_contract.core import order_created

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_url, max_connections=12)
    yield store
    store.close()


def _threads(n: int, work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_concurrent_appends_number_each_tenant_without_gaps(pg: PostgresStore) -> None:
    def work(i: int) -> None:
        for batch in range(10):
            n = i * 1000 + batch * 10
            events = [order_created("t1", n + k) for k in range(3)] + [order_created("t2", n)]
            pg.events.append("t1", events[:3], at=T0)
            pg.events.append("t2", events[3:], at=T0)
            # A duplicate takes no number.
            assert pg.events.append("t1", events[:1], at=T0) == []

    _threads(8, work)
    for tenant, count in (("t1", 240), ("t2", 80)):
        seqs = [e.seq for e in pg.events.read(tenant, limit=1000)]
        assert seqs == list(range(1, count + 1))
    assert pg.events.tenants() == ["t1", "t2"]


def test_readers_never_see_a_later_seq_before_an_earlier_one(pg: PostgresStore) -> None:
    # A transaction holding seq 1 uncommitted blocks the next appender: no reader can see 2 alone.
    started, release = threading.Event(), threading.Event()

    def slow() -> None:
        with pg.atomic():
            pg.events.append("t1", [order_created("t1", 1)], at=T0)
            started.set()
            release.wait(10)

    slow_thread = threading.Thread(target=slow)
    slow_thread.start()
    started.wait(10)
    fast_thread = threading.Thread(target=lambda: pg.events.append("t1", [order_created("t1", 2)], at=T0))
    fast_thread.start()
    fast_thread.join(0.5)
    assert fast_thread.is_alive()  # waits on the tenant's counter row
    assert pg.events.read("t1") == []
    release.set()
    slow_thread.join()
    fast_thread.join()
    assert [e.seq for e in pg.events.read("t1")] == [1, 2]


def test_each_due_timer_is_claimed_by_exactly_one_of_many_claimers(pg: PostgresStore) -> None:
    for k in range(200):
        pg.timers.add("t1", TimerRecord(tenant_id="t1", engine="e", key=f"k{k:03}", due_at=T0,
                                        created_at=T0, updated_at=T0))
    claimed: dict[str, list[str]] = {}
    lock = threading.Lock()

    def work(i: int) -> None:
        while True:
            got = pg.timers.claim_due("t1", "e", T0, f"owner{i}", T0 + timedelta(minutes=5), limit=7)
            if not got:
                return
            with lock:
                for t in got:
                    claimed.setdefault(t.key, []).append(f"owner{i}")
            for t in got:
                assert pg.timers.complete("t1", "e", t.key, owner=f"owner{i}", due_at=t.due_at, at=T0, next_due=None)

    _threads(6, work)
    assert len(claimed) == 200
    assert all(len(owners) == 1 for owners in claimed.values())
    assert {t.state for t in pg.timers.find("t1")} == {"fired"}


def test_a_lease_has_one_owner_among_racing_processes(pg: PostgresStore) -> None:
    winners: list[int] = []

    def work(i: int) -> None:
        if pg.leases.acquire("t1", "sync", f"p{i}", T0, timedelta(seconds=30)):
            winners.append(i)

    _threads(8, work)
    assert len(winners) == 1
    assert not pg.leases.acquire("t1", "sync", "other", T0 + timedelta(seconds=29), timedelta(seconds=30))
    assert pg.leases.acquire("t1", "sync", "other", T0 + timedelta(seconds=30), timedelta(seconds=30))


def test_every_store_repository_is_implemented(pg: PostgresStore) -> None:
    from invekto_integrations.storage.store import Store

    assert PostgresStore.MISSING == ()
    store: Store = pg  # mypy checks the protocol; every member reads without raising
    names = [n for n, v in vars(Store).items() if isinstance(v, property)]
    assert "appointments" in names and "waitlist" in names
    for name in names:
        assert getattr(store, name) is not None


def test_migrations_apply_once_across_stores(postgres_url: str) -> None:
    first = PostgresStore(postgres_url)
    second = PostgresStore(postgres_url)  # same database: every migration already recorded
    names = [r["name"] for r in second.db.fetchall("SELECT name FROM schema_migrations ORDER BY name")]
    assert len(names) == len(set(names)) and "core_0005_event_log" in names
    areas = {"core", "settings", "claims", "outbox", "messaging", "calendar", "cargo", "runtime",
             "dashboard", "service", "attribution", "campaigns", "appointments"}
    assert all(n.split("_", 1)[0] in areas for n in names)
    first.close()
    second.close()


def test_urls() -> None:
    assert normalize_url("postgres://u@h/db") == "postgresql://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(ConfigurationError, match="not a PostgreSQL URL"):
        normalize_url("sqlite:///x.db")


def test_concurrent_bookings_of_one_doctor_have_one_winner(postgres_url: str) -> None:
    """Twelve bookers on two stores (two pools, as two processes) race for overlapping times of one
    doctor, five rounds: exactly one wins each round; another doctor is never blocked."""
    from invekto_integrations.storage.records import AppointmentStatus
    from invekto_integrations.testing.repository_contract.clinic import appointment

    stores = [PostgresStore(postgres_url, max_connections=6), PostgresStore(postgres_url, max_connections=6)]
    try:
        for round_ in range(5):
            start = T0 + timedelta(days=round_)
            results: list[bool] = [False] * 12
            barrier = threading.Barrier(12)

            def work(i: int, start: datetime = start, results: list[bool] = results,
                     barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                a = appointment(start=start + timedelta(minutes=i % 4), patient_phone=f"+9053212345{i:02d}")
                results[i] = stores[i % 2].appointments.book_if_free("t1", a)

            _threads(12, work)
            assert results.count(True) == 1
            booked = stores[0].appointments.find("t1", start=start, end=start + timedelta(hours=1),
                                                 statuses=[AppointmentStatus.BOOKED])
            assert len(booked) == 1
            assert stores[1].appointments.book_if_free("t1", appointment(doctor="d2", start=start))
    finally:
        for s in stores:
            s.close()
