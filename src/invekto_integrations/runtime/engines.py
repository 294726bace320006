"""The built-in engines as runtime engines: thin adapters over the existing classes.

Each adapter keeps the consumer name its engine used before, so switching a deployment from the
old entry points (``run_all``, ``poll``, ``dispatch_due``, ...) to the runtime continues from the
same cursors. Build the wrapped engine with the runtime's `EventBus` (its ``events`` argument) so
that what it publishes reaches in-process subscribers.

- `OrderPollEngine`: timer ``sync`` (every 5 minutes): `OrderSyncEngine.run` for the tenant.
- `ShipmentWatcherEngine` / `AsyncShipmentWatcherEngine`: ``TrackingCodeAssigned`` registers the
  parcel; timer ``poll`` (every minute) asks the carriers about due parcels.
- `CargoNotifierEngine`: ``ShipmentStatusChanged`` → proactive cargo message.
- `WaitlistOfferEngine`: ``AppointmentCancelled`` → offer the slot; timer ``expire`` (every minute).
- `WaitlistReplyEngine`: ``InboundMessageReceived`` → an answer to an offer.
- `CalendarSyncEngine` / `AsyncCalendarSyncEngine`: booked/moved/cancelled → push to the calendar;
  timer ``poll`` (every 15 minutes), and ``renew`` (daily) of push channels given an address.
- `OutboxDispatchEngine`: timer ``dispatch`` (every minute): held and queued messages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from invekto_integrations.appointments.waitlist import WaitlistEngine
from invekto_integrations.core.errors import IntegrationError
from invekto_integrations.messaging.pipeline import SendPipeline
from invekto_integrations.models.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentMoved,
    DomainEvent,
    InboundMessageReceived,
    ShipmentStatusChanged,
    TrackingCodeAssigned,
)
from invekto_integrations.sync.calendar import AsyncCalendarSync, CalendarSync
from invekto_integrations.sync.orders import OrderSyncEngine
from invekto_integrations.sync.shipments import AsyncShipmentWatcher, CargoNotifier, ShipmentWatcher

from ._engine import BaseEngine, EngineContext, Timer
from ._schedule import Schedule

__all__ = [
    "AsyncCalendarSyncEngine",
    "AsyncShipmentWatcherEngine",
    "CalendarSyncEngine",
    "CargoNotifierEngine",
    "OrderPollEngine",
    "OrderSyncFailed",
    "OutboxDispatchEngine",
    "ShipmentWatcherEngine",
    "WaitlistOfferEngine",
    "WaitlistReplyEngine",
]

log = logging.getLogger("invekto_integrations.runtime.engines")


class OrderSyncFailed(IntegrationError):
    """One or more accounts of a tenant failed to sync (the others were synced); the runtime records
    it and retries the occurrence with backoff."""


class OrderPollEngine(BaseEngine):
    """Marketplace order sync of each tenant on a schedule (``every``: a cron expression)."""

    name = "orders.sync"

    def __init__(self, engine: OrderSyncEngine, *, every: str = "*/5 * * * *") -> None:
        self.engine = engine
        self._schedule = Schedule("sync", cron=every)

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [self._schedule]

    async def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        report = await self.engine.run(tenant_ids=[ctx.tenant_id])
        if report.failed:
            raise OrderSyncFailed("; ".join(f"{r.provider}/{r.account_id}: {r.error}" for r in report.failed))


class _WatcherAdapter(BaseEngine):
    name = ShipmentWatcher.CONSUMER  # the watcher's own cursor: it continues where `run_all` stopped
    consumes = frozenset({TrackingCodeAssigned.TYPE})

    def __init__(self, every: str, limit: int) -> None:
        self._schedule = Schedule("poll", cron=every)
        self.limit = limit

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [self._schedule]


class ShipmentWatcherEngine(_WatcherAdapter):
    """Registers announced tracking codes and polls the carriers of due parcels."""

    def __init__(self, watcher: ShipmentWatcher, *, every: str = "* * * * *", limit: int = 100) -> None:
        super().__init__(every, limit)
        self.watcher = watcher

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        if isinstance(event, TrackingCodeAssigned):
            self.watcher.register_announced(ctx.tenant_id, event)

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self.watcher.poll_due(ctx.tenant_id, limit=self.limit)


class AsyncShipmentWatcherEngine(_WatcherAdapter):
    """`ShipmentWatcherEngine` over `AsyncCarrier` connectors (host it with `AsyncRuntime`)."""

    def __init__(self, watcher: AsyncShipmentWatcher, *, every: str = "* * * * *", limit: int = 100) -> None:
        super().__init__(every, limit)
        self.watcher = watcher

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        if isinstance(event, TrackingCodeAssigned):
            self.watcher.register_announced(ctx.tenant_id, event)

    async def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        await self.watcher.poll_due(ctx.tenant_id, limit=self.limit)


class CargoNotifierEngine(BaseEngine):
    """Proactive cargo messages for shipment status changes."""

    name = CargoNotifier.CONSUMER
    consumes = frozenset({ShipmentStatusChanged.TYPE})

    def __init__(self, notifier: CargoNotifier) -> None:
        self.notifier = notifier

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        self.notifier.handle(ctx.tenant_id, event)


class WaitlistOfferEngine(BaseEngine):
    """Offers the slot of every cancelled appointment; expires unanswered offers on a schedule."""

    name = WaitlistEngine.CONSUMER
    consumes = frozenset({AppointmentCancelled.TYPE})

    def __init__(self, waitlist: WaitlistEngine, *, every: str = "* * * * *") -> None:
        self.waitlist = waitlist
        self._schedule = Schedule("expire", cron=every)

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        if isinstance(event, AppointmentCancelled):
            self.waitlist.offer_slot(ctx.tenant_id, event.appointment_id)

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self.waitlist.expire_due(ctx.tenant_id)

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [self._schedule]


class WaitlistReplyEngine(BaseEngine):
    """Reads inbound WhatsApp messages as answers to waitlist offers."""

    name = WaitlistEngine.REPLY_CONSUMER
    consumes = frozenset({InboundMessageReceived.TYPE})

    def __init__(self, waitlist: WaitlistEngine) -> None:
        self.waitlist = waitlist

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        if isinstance(event, InboundMessageReceived) and event.text:
            self.waitlist.handle_reply(ctx.tenant_id, event.from_phone, event.text)


_APPOINTMENT_TYPES = frozenset({AppointmentBooked.TYPE, AppointmentMoved.TYPE, AppointmentCancelled.TYPE})


def _appointment_id(event: DomainEvent) -> str | None:
    if isinstance(event, AppointmentBooked | AppointmentMoved | AppointmentCancelled):
        return event.appointment_id
    return None


class _CalendarAdapter(BaseEngine):
    consumes = _APPOINTMENT_TYPES

    def __init__(self, name: str, every: str, address: str | None, renew: str) -> None:
        self.name = name  # the sync's consumer name: the same cursor as `push_pending`
        self.address = address
        self._schedules = [Schedule("poll", cron=every)]
        if address is not None:
            self._schedules.append(Schedule("renew", cron=renew))

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return self._schedules

    def address_of(self, tenant_id: str) -> str:
        """The push address of one tenant: ``{tenant_id}`` in ``address`` is filled in (one service
        serves every tenant, each on its own webhook path)."""
        return (self.address or "").replace("{tenant_id}", tenant_id)


class CalendarSyncEngine(_CalendarAdapter):
    """Pushes booked/moved/cancelled appointments to the doctor's calendar (a failed push is
    delivered again), polls every connected calendar (the safety net beside push notifications),
    and with ``address`` renews push channels before they expire."""

    def __init__(self, sync: CalendarSync, *, every: str = "*/15 * * * *", address: str | None = None,
                 renew: str = "0 3 * * *") -> None:
        super().__init__(sync.consumer.name, every, address, renew)
        self.sync = sync

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        appointment_id = _appointment_id(event)
        if appointment_id:
            self.sync.push_appointment(ctx.tenant_id, appointment_id)

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        if timer.key == "renew" and self.address is not None:
            self.sync.renew_channels(ctx.tenant_id, self.address_of(ctx.tenant_id))
        elif timer.key == "poll":
            self.sync.sync_tenant(ctx.tenant_id)


class AsyncCalendarSyncEngine(_CalendarAdapter):
    """`CalendarSyncEngine` over `AsyncCalendar` connectors (host it with `AsyncRuntime`)."""

    def __init__(self, sync: AsyncCalendarSync, *, every: str = "*/15 * * * *", address: str | None = None,
                 renew: str = "0 3 * * *") -> None:
        super().__init__(sync.consumer.name, every, address, renew)
        self.sync = sync

    async def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        appointment_id = _appointment_id(event)
        if appointment_id:
            await self.sync.push_appointment(ctx.tenant_id, appointment_id)

    async def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        if timer.key == "renew" and self.address is not None:
            await self.sync.renew_channels(ctx.tenant_id, self.address_of(ctx.tenant_id))
        elif timer.key == "poll":
            await self.sync.sync_tenant(ctx.tenant_id)


class OutboxDispatchEngine(BaseEngine):
    """Sends each tenant's held (quiet hours, ``not_before``) and queued messages when due, and reaps
    rows stuck in ``sending`` (the send pipeline's dispatcher)."""

    name = "messaging.dispatcher"

    def __init__(self, pipeline: SendPipeline, *, every: str = "* * * * *", limit: int = 100) -> None:
        self.pipeline = pipeline
        self.limit = limit
        self._schedule = Schedule("dispatch", cron=every)

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self.pipeline.dispatch_due(ctx.tenant_id, limit=self.limit)

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [self._schedule]
