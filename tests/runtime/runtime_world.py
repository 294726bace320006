"""Shared pieces of the runtime tests: a store per implementation, a probe engine that records
what it is handed, and event helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.events import DomainEvent, OrderCreated
from invekto_integrations.runtime import BaseEngine, EngineContext, Schedule, Timer
from invekto_integrations.storage import MemoryStore, SQLiteStore

__all__ = ["START", "Probe", "clock", "order_event", "store"]

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s: Any = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "rt.sqlite3")
    yield s
    s.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def order_event(tenant: str, n: int, at: datetime = START) -> OrderCreated:
    return OrderCreated(tenant_id=tenant, occurred_at=at, provider="alpha", account_id="acc",
                        external_order_id=f"o{n}", order_status="Created", dedupe_key=f"created:{tenant}:{n}")


class Probe(BaseEngine):
    """Records every event and timer it is handed; optional failures and schedules."""

    def __init__(self, name: str = "probe", *, consumes: Sequence[str] = (OrderCreated.TYPE,),
                 schedules: Sequence[Schedule] = (), fail_on: set[str] | None = None,
                 delay_seconds: float | None = None) -> None:
        self.name = name
        self.consumes = frozenset(consumes)
        self._schedules = list(schedules)
        self.fail_on = fail_on or set()
        self.delay_seconds = delay_seconds
        self.events: list[tuple[str, str]] = []  # (tenant, external order id)
        self.timers: list[Timer] = []
        self._lock = threading.Lock()

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        assert isinstance(event, OrderCreated)
        if event.external_order_id in self.fail_on:
            raise RuntimeError(f"cannot handle {event.external_order_id}")
        with self._lock:
            self.events.append((ctx.tenant_id, event.external_order_id))
        if self.delay_seconds is not None:
            from datetime import timedelta
            ctx.schedule_after(event, timedelta(seconds=self.delay_seconds), key="followup",
                               payload={"order": event.external_order_id})

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        if timer.key in self.fail_on:
            raise RuntimeError(f"timer {timer.key} fails")
        with self._lock:
            self.timers.append(timer)

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return self._schedules
