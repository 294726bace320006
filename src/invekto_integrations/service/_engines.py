"""The engines a service process hosts by default, wired from one `Integrations` client."""

from __future__ import annotations

from collections.abc import Sequence

from invekto_integrations._integrations import Integrations
from invekto_integrations.attribution import AttributionEngine, LeadTracker
from invekto_integrations.runtime import Engine
from invekto_integrations.runtime.engines import (
    CalendarSyncEngine,
    OrderPollEngine,
    OutboxDispatchEngine,
    ShipmentWatcherEngine,
)

__all__ = ["default_engines"]


def default_engines(client: Integrations, *, calendar_push_address: str | None = None) -> Sequence[Engine]:
    """Order sync (every 5 minutes), the shipment watcher, the outbox dispatcher, attribution (leads
    and conversions from inbound messages, orders and appointments) and calendar sync. Each keeps
    its durable cursor, so a restarted service continues where it stopped."""
    store = client.store
    return [
        OrderPollEngine(client.orders.engine),
        ShipmentWatcherEngine(client.shipments.watcher),
        OutboxDispatchEngine(client.messages.pipeline),
        AttributionEngine(store, LeadTracker(store)),
        CalendarSyncEngine(client.calendar.engine, address=calendar_push_address),
    ]
