"""What an engine declares (`Engine`), what it is handed (`EngineContext`, `Timer`), and a base class
with the do-nothing defaults (`BaseEngine`)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from invekto_integrations.core.clock import Clock, utc
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.events import EventBus
from invekto_integrations.models.events import DomainEvent
from invekto_integrations.models.settings import TenantSettings
from invekto_integrations.storage.records import StoredEvent
from invekto_integrations.storage.runtime_protocols import TimerRecord, TimerRepository

from ._schedule import Schedule, zone

__all__ = ["BaseEngine", "Engine", "EngineContext", "Timer"]


@dataclass(frozen=True)
class Timer:
    """One occurrence of a timer, as handed to `Engine.on_timer`.

    Effects of a handler must be idempotent by `occurrence` (or the engine is ``transactional``):
    a runtime that dies after the effects but before recording the firing lets another runtime
    fire the same occurrence again once the claim expires.
    """

    tenant_id: str
    engine: str
    key: str
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    recurring: bool = False
    attempt: int = 1  # 1 on the first try of this occurrence

    @property
    def occurrence(self) -> str:
        """A stable id of this firing: the key and the due instant (dedupe keys are built from it)."""
        return f"{self.key}@{self.due_at.isoformat()}"


@runtime_checkable
class Engine(Protocol):
    """An engine of the runtime.

    ``name`` is stable: the engine's event cursor, leases and timers are keyed by it. ``consumes``
    lists the event types ``handle`` is given, per tenant, in log order (empty: timers only).
    ``handle`` and ``on_timer`` may be plain or ``async`` functions; both runtimes host both.
    ``schedules`` declares the recurring timers of a tenant (asked every round; a changed or
    removed schedule re-points or drops its timer). ``transactional``: the handler's repository
    calls (on the calling thread) commit in one transaction with the cursor move or the timer's
    firing, on a store that has transactions (SQLite): exactly-once effects across crashes. Only
    for plain (not ``async``) handlers that do no slow I/O: the database's write lock is held meanwhile.
    """

    @property
    def name(self) -> str: ...
    @property
    def consumes(self) -> frozenset[str]: ...
    @property
    def transactional(self) -> bool: ...
    def handle(self, ctx: EngineContext, event: DomainEvent) -> Awaitable[None] | None: ...
    def on_timer(self, ctx: EngineContext, timer: Timer) -> Awaitable[None] | None: ...
    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]: ...


class BaseEngine(ConciseRepr, fields=("name",)):
    """Defaults for the optional parts of `Engine`: subclass it and override what you need."""

    name: str = ""
    consumes: frozenset[str] = frozenset()
    transactional: bool = False

    def handle(self, ctx: EngineContext, event: DomainEvent) -> Awaitable[None] | None:
        return None

    def on_timer(self, ctx: EngineContext, timer: Timer) -> Awaitable[None] | None:
        return None

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return ()


class EngineContext:
    """What an engine gets for one tenant: its id and `TenantSettings` (timezone, quiet hours, caps,
    ...), the clock, the event bus (the one publish path) and its durable timers."""

    def __init__(self, *, tenant_id: str, engine: str, clock: Clock, bus: EventBus, settings: TenantSettings,
                 timers: TimerRepository) -> None:
        self.tenant_id = tenant_id
        self.engine = engine
        self.clock = clock
        self.bus = bus
        self.settings = settings
        self._timers = timers

    def __repr__(self) -> str:
        return f"EngineContext(tenant_id={self.tenant_id!r}, engine={self.engine!r})"

    @property
    def timezone(self) -> ZoneInfo:
        return zone(self.settings.timezone)

    def now(self) -> datetime:
        return self.clock.now()

    def publish(self, *events: DomainEvent) -> list[StoredEvent]:
        """Publish through the bus (appended to the log; in-process subscribers are told)."""
        return self.bus.publish(self.tenant_id, events)

    def schedule(self, key: str, at: datetime, payload: Mapping[str, Any] | None = None) -> bool:
        """A one-shot timer of this engine at ``at``. The key makes it idempotent: scheduling a key
        that exists (pending, fired or cancelled) is a no-op and returns ``False``."""
        if not key or not key.strip():
            raise InvalidArgument("timer key must not be empty", field="key")
        if at.tzinfo is None:
            raise InvalidArgument("timer time must be timezone-aware", field="at", record=key)
        now = self.clock.now()
        return self._timers.add(self.tenant_id, TimerRecord(
            tenant_id=self.tenant_id, engine=self.engine, key=key, due_at=utc(at), payload=dict(payload or {}),
            created_at=now, updated_at=now,
        ))

    def schedule_after(self, event: DomainEvent, delay: timedelta, *, key: str | None = None,
                       payload: Mapping[str, Any] | None = None) -> bool:
        """A timer ``delay`` after ``event`` happened ("T+48h after the delivery"), keyed by the event
        (``<key or event type>:<event id>``): a re-delivered event never schedules twice."""
        name = f"{key or event.TYPE}:{event.event_id}"
        return self.schedule(name, event.occurred_at + delay, {"event_id": event.event_id, **(payload or {})})

    def cancel(self, key: str) -> bool:
        """Cancel a pending one-shot timer (the key stays taken); ``False`` if none was pending."""
        return self._timers.cancel(self.tenant_id, self.engine, key, self.clock.now())
