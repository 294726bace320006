"""The engines a service process hosts by default, wired from one `Integrations` client."""

from __future__ import annotations

from collections.abc import Sequence

from invekto_integrations._integrations import Integrations
from invekto_integrations.appointments.waitlist import WaitlistEngine
from invekto_integrations.attribution import AdResolver, AttributionEngine, LeadTracker
from invekto_integrations.runtime import Engine
from invekto_integrations.runtime.engines import (
    CalendarSyncEngine,
    CargoNotifierEngine,
    OrderPollEngine,
    OutboxDispatchEngine,
    ShipmentWatcherEngine,
    WaitlistOfferEngine,
    WaitlistReplyEngine,
)
from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier

__all__ = ["calendar_push_address", "default_engines", "waitlist_engine"]


def calendar_push_address(public_url: str | None) -> str | None:
    """Where Google sends a tenant's calendar push notifications (``{tenant_id}`` filled in per
    tenant), or ``None`` when the service has no public address (polling only)."""
    if not public_url:
        return None
    return public_url.rstrip("/") + "/webhooks/google-calendar/{tenant_id}"


def waitlist_engine(client: Integrations) -> WaitlistEngine:
    """The client's one waitlist (the API's joins and the runtime's offers share it)."""
    ctx = client._ctx
    book = client.appointments.book_service
    store = client.store

    def build() -> WaitlistEngine:
        return WaitlistEngine(store.waitlist, book, client.messages.pipeline, ctx.bus, clock=client.clock,
                              settings_repository=store.tenant_settings)

    engine: WaitlistEngine = ctx.once("service.waitlist", build)
    return engine


def default_engines(client: Integrations, *, calendar_push_address: str | None = None) -> Sequence[Engine]:
    """Order sync (every 5 minutes), the shipment watcher and its proactive cargo messages, the
    outbox dispatcher, attribution (leads, with Meta's ad → ad set → campaign resolved through the
    tenant's Meta account, and conversions), the campaign scheduler, calendar sync (renewing push
    channels when ``calendar_push_address`` is given) and the waitlist (offers and replies). Each
    keeps its durable cursor, so a restarted service continues where it stopped."""
    store = client.store
    ctx = client._ctx
    resolver = AdResolver(store.ad_cache, lambda tenant: ctx.connector(tenant, "meta"), clock=client.clock)
    cargo = CargoMessageSettings()
    notifier = CargoNotifier(store.events, store.cargo_notifications, client.messages.pipeline, lambda tenant: cargo,
                             shipments=store.shipments, clock=client.clock, settings_repository=store.tenant_settings)
    waitlist = waitlist_engine(client)
    return [
        OrderPollEngine(client.orders.engine),
        ShipmentWatcherEngine(client.shipments.watcher),
        CargoNotifierEngine(notifier),
        OutboxDispatchEngine(client.messages.pipeline),
        AttributionEngine(store, LeadTracker(store, resolver=resolver)),
        client.campaigns.engine,
        CalendarSyncEngine(client.calendar.engine, address=calendar_push_address),
        WaitlistOfferEngine(waitlist),
        WaitlistReplyEngine(waitlist),
    ]
