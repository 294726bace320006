"""Publishing and consuming domain events over the durable event log.

`EventBus.publish` appends to the log (the record) and then calls in-process subscribers (a
convenience). `EventConsumer` reads a tenant's events after its durable cursor and advances the
cursor after each handled event, so a consumer sees each event once, in order, across restarts.
A handler that fails leaves the cursor before the failed event: it is delivered again next time,
so handlers make their effects idempotent (the event id is stable) to get exactly-once effects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.events import DomainEvent, decode_event
from invekto_integrations.storage.protocols import EventLog
from invekto_integrations.storage.records import StoredEvent

__all__ = ["EventBus", "EventConsumer"]

log = logging.getLogger("invekto_integrations.events")

Subscriber = Callable[[StoredEvent], None]


class EventBus(ConciseRepr, fields=("log", "clock")):
    def __init__(self, log_: EventLog, clock: Clock | None = None) -> None:
        self.log = log_
        self.clock = clock or SystemClock()
        self._subscribers: list[tuple[frozenset[str] | None, Subscriber]] = []

    def subscribe(self, fn: Subscriber, *, types: Sequence[str] | None = None) -> None:
        self._subscribers.append((frozenset(types) if types else None, fn))

    def publish(self, tenant_id: str, events: Sequence[DomainEvent]) -> list[StoredEvent]:
        stored = self.log.append(tenant_id, events, at=self.clock.now())
        for event in stored:
            for types, fn in self._subscribers:
                if types is None or event.type in types:
                    try:
                        fn(event)
                    except Exception:  # a subscriber is a convenience; the log is the record
                        log.exception("in-process subscriber failed for event %s", event.event_id)
        return stored


class EventConsumer(ConciseRepr, fields=("name", "types")):
    """A named, durable reader of one or more event types."""

    def __init__(self, log_: EventLog, name: str, *, types: Sequence[str] | None = None, batch: int = 500) -> None:
        self.log = log_
        self.name = name
        self.types = list(types) if types else None
        self.batch = batch

    def pending(self, tenant_id: str) -> list[StoredEvent]:
        return self.log.read(tenant_id, after=self.log.cursor(tenant_id, self.name), limit=self.batch,
                             types=self.types)

    def poll(self, tenant_id: str, handler: Callable[[DomainEvent], None]) -> int:
        """Handle every pending event of ``tenant_id`` in order; return how many were handled."""
        handled = 0
        while True:
            cursor = self.log.cursor(tenant_id, self.name)
            batch = self.log.read(tenant_id, after=cursor, limit=self.batch, types=self.types)
            if not batch:
                return handled
            for stored in batch:
                handler(decode_event(stored.type, stored.version, stored.data))
                self.log.advance(tenant_id, self.name, stored.seq)
                handled += 1
            if len(batch) < self.batch:
                # Types filtered out past the last match still move the cursor on next append.
                return handled
