"""LISTEN/NOTIFY on PostgreSQL: a new event, timer or outbox row (committed, by any connection)
wakes idle runtimes; a rolled-back or duplicate write does not; without wake-ups a runtime polls.

The runtime tests idle for 60 s between rounds and expect the new work handled within 20 s: only
a wake-up can do that, and a loaded machine has 20 s for a round trip of milliseconds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from invekto_integrations.core.clock import SystemClock
from invekto_integrations.core.errors import StorageError
from invekto_integrations.models.events import DomainEvent, OrderCreated
from invekto_integrations.runtime import AsyncRuntime, BaseEngine, EngineContext, Runtime, Timer
from invekto_integrations.storage.postgres import PostgresStore
from invekto_integrations.storage.records import OutboxRecord, OutboxStatus
from invekto_integrations.storage.runtime_protocols import TimerRecord

pytestmark = pytest.mark.loopback

CLOCK = SystemClock()


def order(tenant: str, n: int) -> OrderCreated:
    return OrderCreated(tenant_id=tenant, occurred_at=CLOCK.now(), provider="alpha", account_id="acc",
                        external_order_id=f"o{n}", order_status="Created")


def timer(tenant: str, key: str) -> TimerRecord:
    now = CLOCK.now()
    return TimerRecord(tenant_id=tenant, engine="recorder", key=key, due_at=now, created_at=now, updated_at=now)


def wait_until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


@pytest.fixture
def stores(postgres_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """The runtime's store and another writer's (its own pool: another process, as far as the server sees)."""
    mine, other = PostgresStore(postgres_url), PostgresStore(postgres_url)
    yield mine, other
    mine.close()
    other.close()


def test_the_listener_hears_committed_events_timers_and_outbox_rows(
        stores: tuple[PostgresStore, PostgresStore]) -> None:
    mine, other = stores
    wakeups = mine.wakeups()
    try:
        assert not wakeups.wait(0.05)
        other.events.append("t1", [order("t1", 1)], at=CLOCK.now())
        assert set(wakeups.wait(10)) == {"t1"}
        assert other.timers.add("t2", timer("t2", "k"))
        assert set(wakeups.wait(10)) == {"t2"}
        assert not other.timers.add("t2", timer("t2", "k"))  # already there: nothing new, no wake-up
        now = CLOCK.now()
        other.outbox.insert_if_absent("t3", OutboxRecord(
            id="m1", tenant_id="t3", idempotency_key="k1", purpose="test", category="utility",
            to_phone="+905321234567", message_json="{}", status=OutboxStatus.QUEUED, due_at=now, created_at=now,
            updated_at=now))
        assert set(wakeups.wait(10)) == {"t3"}
        with pytest.raises(StorageError), other.atomic():  # rolled back: never announced
            other.events.append("t4", [order("t4", 1)], at=CLOCK.now())
            other.db.execute("SELECT 1 / 0")
        with other.atomic():  # inside a transaction: heard once it commits
            other.events.append("t5", [order("t5", 1), order("t5", 2)], at=CLOCK.now())
            assert not wakeups.wait(0.2)
        assert set(wakeups.wait(10)) == {"t5"}
        assert not wakeups.wait(0.2)
    finally:
        wakeups.close()


class Recorder(BaseEngine):
    name = "recorder"
    consumes = frozenset({OrderCreated.TYPE})

    def __init__(self) -> None:
        self.seen: list[str] = []

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        assert isinstance(event, OrderCreated)
        self.seen.append(event.external_order_id)

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self.seen.append(timer.key)


def _running(store: Any, engine: Recorder, *, idle: float) -> tuple[Runtime, threading.Thread]:
    runtime = Runtime(store, [engine], clock=CLOCK, tenants=["t1"], lease_ttl=timedelta(seconds=30))
    thread = threading.Thread(target=runtime.run_forever, kwargs={"idle": idle}, daemon=True)
    thread.start()
    return runtime, thread


def test_an_idle_runtime_wakes_on_new_work_from_another_process(stores: tuple[PostgresStore, PostgresStore]) -> None:
    mine, other = stores
    engine = Recorder()
    other.events.append("t1", [order("t1", 1)], at=CLOCK.now())
    runtime, thread = _running(mine, engine, idle=60)
    try:
        assert wait_until(lambda: engine.seen == ["o1"], 20)  # the first round; then it idles for 60 s
        time.sleep(0.3)  # well into the idle wait
        other.events.append("t1", [order("t1", 2)], at=CLOCK.now())
        assert wait_until(lambda: engine.seen == ["o1", "o2"], 20), "the idle runtime was not woken by the event"
        other.events.append("t2", [order("t2", 1)], at=CLOCK.now())  # not served here: no round for it
        other.timers.add("t1", timer("t1", "soon"))
        assert wait_until(lambda: engine.seen == ["o1", "o2", "soon"], 20), "not woken by the timer"
    finally:
        runtime.stop()
        thread.join(20)
    assert not thread.is_alive()  # stop() cuts the idle wait short


class NoWakeups:
    """The PostgreSQL store with a listener that cannot connect: the runtime polls instead."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def wakeups(self) -> Any:
        raise StorageError("cannot listen on PostgreSQL: connection refused")


def test_without_wakeups_the_runtime_polls(stores: tuple[PostgresStore, PostgresStore]) -> None:
    mine, other = stores
    engine = Recorder()
    runtime, thread = _running(NoWakeups(mine), engine, idle=0.05)
    try:
        other.events.append("t1", [order("t1", 1)], at=CLOCK.now())
        assert wait_until(lambda: engine.seen == ["o1"], 20)
    finally:
        runtime.stop()
        thread.join(20)
    assert not thread.is_alive()


async def test_an_idle_async_runtime_wakes_on_new_work(stores: tuple[PostgresStore, PostgresStore]) -> None:
    mine, other = stores
    engine = Recorder()
    runtime = AsyncRuntime(mine, [engine], clock=CLOCK, tenants=["t1"], lease_ttl=timedelta(seconds=30))

    async def seen(expected: list[str]) -> bool:
        for _ in range(1000):  # 20 s at most; a 60 s idle would leave the new event unseen
            if engine.seen == expected:
                return True
            await asyncio.sleep(0.02)
        return False

    other.events.append("t1", [order("t1", 1)], at=CLOCK.now())
    async with runtime.running(idle=60):
        assert await seen(["o1"])  # the first round; then it idles for 60 s
        await asyncio.sleep(0.3)
        other.events.append("t1", [order("t1", 2)], at=CLOCK.now())
        assert await seen(["o1", "o2"]), "the idle async runtime was not woken"
