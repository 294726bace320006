"""Events are consumed once per consumer, in order, and not again after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.events import EventBus, EventConsumer
from invekto_integrations.models.events import DomainEvent, OrderCreated, OrderStatusChanged
from invekto_integrations.storage import SQLiteStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def created(n: int) -> OrderCreated:
    return OrderCreated(tenant_id="t1", occurred_at=T0 + timedelta(seconds=n), provider="trendyol",
                        account_id="a1", external_order_id=f"o{n}", order_status="created")


def test_two_consumers_each_see_every_event_once_across_restart(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    store = SQLiteStore(path)
    bus = EventBus(store.events, FrozenClock(T0))
    bus.publish("t1", [created(1), created(2)])

    seen_a: list[str] = []
    seen_b: list[str] = []

    def into(seen: list[str]):  # type: ignore[no-untyped-def]
        def handle(event: DomainEvent) -> None:
            assert isinstance(event, OrderCreated)
            seen.append(event.external_order_id)
        return handle

    assert EventConsumer(store.events, "cargo-watcher").poll("t1", into(seen_a)) == 2
    assert EventConsumer(store.events, "campaigns").poll("t1", into(seen_b)) == 2
    assert EventConsumer(store.events, "cargo-watcher").poll("t1", into(seen_a)) == 0
    store.close()

    # Restart: a new process opens the same file.
    store = SQLiteStore(path)
    bus = EventBus(store.events, FrozenClock(T0))
    bus.publish("t1", [created(3)])
    assert EventConsumer(store.events, "cargo-watcher").poll("t1", into(seen_a)) == 1
    assert EventConsumer(store.events, "campaigns").poll("t1", into(seen_b)) == 1
    assert seen_a == seen_b == ["o1", "o2", "o3"]
    store.close()


def test_failed_handler_gets_the_event_again(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "e.sqlite3")
    EventBus(store.events).publish("t1", [created(1), created(2)])
    consumer = EventConsumer(store.events, "flaky")
    calls: list[str] = []

    def fail_on_second(event: DomainEvent) -> None:
        assert isinstance(event, OrderCreated)
        calls.append(event.external_order_id)
        if event.external_order_id == "o2" and calls.count("o2") == 1:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        consumer.poll("t1", fail_on_second)
    assert consumer.poll("t1", fail_on_second) == 1
    assert calls == ["o1", "o2", "o2"]


def test_type_filter_and_in_process_subscribers() -> None:
    store = SQLiteStore()
    bus = EventBus(store.events)
    heard: list[str] = []
    bus.subscribe(lambda e: heard.append(e.type), types=["order.status_changed"])
    bus.publish("t1", [created(1), OrderStatusChanged(
        tenant_id="t1", occurred_at=T0, provider="trendyol", account_id="a1", external_order_id="o1",
        old_status="created", new_status="shipped")])
    assert heard == ["order.status_changed"]
    got: list[DomainEvent] = []
    EventConsumer(store.events, "status-only", types=["order.status_changed"]).poll("t1", got.append)
    assert [type(e) for e in got] == [OrderStatusChanged]


def test_sqlite_is_safe_across_threads(tmp_path: Path) -> None:
    import threading

    store = SQLiteStore(tmp_path / "threads.sqlite3")
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for n in range(50):
                store.events.append("t1", [created(k * 1000 + n)], at=T0)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = store.events.read("t1", limit=1000)
    assert len(events) == 200
    assert len({e.seq for e in events}) == 200
