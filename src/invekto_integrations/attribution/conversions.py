"""Conversions, detected once (one engine, one repository): a purchase (an order event matched to
a lead's phone), an appointment booked, a reply; and Meta's ``automatic_events`` recorded without
double counting what we detected ourselves.

`AttributionEngine` has the runtime's engine shape (``name``, ``consumes``, ``handle``,
``on_timer``, ``schedules``): it consumes inbound messages (touches and leads through
`LeadTracker`), order events and appointment bookings. Every effect is idempotent by a natural
key (message id, ``order:<provider>:<account>:<order>``, ``appointment:<id>``), so replaying
events changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from invekto_integrations.core.money import to_decimal
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.ads import AutomaticEvent
from invekto_integrations.models.attribution import (
    Conversion,
    ConversionKind,
    ConversionOrigin,
    Lead,
    contact_key,
)
from invekto_integrations.models.events import DomainEvent, LeadCreated
from invekto_integrations.runtime import BaseEngine, EngineContext
from invekto_integrations.storage.settings import tenant_settings

from ._store import AttributionStore
from .ctwa import referral_info
from .leads import InboundTouch, LeadOutcome, LeadTracker

__all__ = [
    "AttributionEngine",
    "AutomaticEventsResult",
    "ConversionRecorder",
    "lead_created_event",
    "record_automatic_events",
    "record_automatic_events_by_waba",
]

# Meta's event names → our kinds (business-messaging allowlist: Purchase, LeadSubmitted).
_META_KINDS = {"Purchase": ConversionKind.PURCHASE, "LeadSubmitted": ConversionKind.LEAD_SUBMITTED}


def _amount(event: DomainEvent) -> tuple[Decimal | None, str]:
    """An order event's total: ``total`` as Money, Decimal or number (event contract v2), else none."""
    total: Any = getattr(event, "total", None)
    currency: Any = getattr(event, "currency", None)
    if total is None:
        return None, str(currency or "TRY")
    if isinstance(total, BaseModel):  # Money
        return to_decimal(getattr(total, "amount")), str(getattr(total, "currency", currency) or "TRY")  # noqa: B009
    return to_decimal(total), str(currency or "TRY")


class ConversionRecorder(ConciseRepr, fields=("clock",)):
    """Stores conversions once and keeps Meta's automatic events from counting twice."""

    def __init__(self, store: AttributionStore, *, match_window: timedelta = timedelta(days=7)) -> None:
        self.store = store
        self.match_window = match_window

    def record(self, conversion: Conversion) -> bool:
        """Store it (False when its ``source_key`` was stored before). A conversion we detected
        makes a matching Meta-detected one (same contact and kind within the window) a duplicate."""
        tenant = conversion.tenant_id
        if not self.store.conversions.add(tenant, conversion):
            return False
        if conversion.origin is ConversionOrigin.DETECTED and conversion.contact:
            for other in self.store.conversions.find(
                    tenant, contact=conversion.contact, kind=conversion.kind, counted=True,
                    since=conversion.occurred_at - self.match_window,
                    until=conversion.occurred_at + self.match_window):
                if other.origin is ConversionOrigin.META_AUTOMATIC:
                    self.store.conversions.mark_duplicate(tenant, other.conversion_id, conversion.conversion_id)
        return True

    def record_order(self, tenant_id: str, *, provider: str, account_id: str, external_order_id: str,
                     phone: str | None, at: datetime, value: Decimal | None, currency: str = "TRY") -> bool:
        """A purchase, when the order's phone belongs to a lead (else nothing to attribute)."""
        if not phone:
            return False
        contact = contact_key(phone)
        lead = self.store.leads.latest(tenant_id, contact)
        if lead is None or lead.created_at > at:
            return False
        return self.record(Conversion(
            tenant_id=tenant_id, source_key=f"order:{provider}:{account_id}:{external_order_id}", contact=contact,
            kind=ConversionKind.PURCHASE, occurred_at=at, value=value, currency=currency, lead_id=lead.lead_id,
            ctwa_clid=lead.ctwa_clid))

    def record_appointment(self, tenant_id: str, *, appointment_id: str, phone: str, at: datetime,
                           value: Decimal | None = None) -> bool:
        contact = contact_key(phone)
        lead = self.store.leads.latest(tenant_id, contact)
        if lead is None or lead.created_at > at:
            return False
        return self.record(Conversion(
            tenant_id=tenant_id, source_key=f"appointment:{appointment_id}", contact=contact,
            kind=ConversionKind.APPOINTMENT, occurred_at=at, value=value, lead_id=lead.lead_id,
            ctwa_clid=lead.ctwa_clid))

    def record_reply(self, tenant_id: str, outcome: LeadOutcome, at: datetime, timezone: ZoneInfo) -> bool:
        """A reply: a lead writing again after the message that made them a lead, at most one per
        lead and day (tenant's day); campaigns attribute these to the messages they sent."""
        if outcome.new_lead:
            return False
        lead = outcome.lead
        day = at.astimezone(timezone).date().isoformat()
        return self.record(Conversion(
            tenant_id=tenant_id, source_key=f"reply:{lead.lead_id}:{day}", contact=lead.contact,
            kind=ConversionKind.REPLY, occurred_at=at, lead_id=lead.lead_id, ctwa_clid=lead.ctwa_clid))


def record_automatic_events(store: AttributionStore, tenant_id: str, events: Sequence[AutomaticEvent], *,
                            match_window: timedelta = timedelta(days=7)) -> list[Conversion]:
    """Record Meta-detected conversions; those we detected too are stored as not counted.

    ``LeadSubmitted`` for a click we already have as a lead, and ``Purchase`` matching a purchase
    we recorded for that person within ``match_window``, are duplicates (``duplicate_of`` says of
    what). Returns the conversions stored now (a webhook delivered twice stores nothing new).
    """
    stored: list[Conversion] = []
    for e in events:
        kind = _META_KINDS.get(e.event_name)
        if kind is None:
            continue
        lead = store.leads.by_ctwa_clid(tenant_id, e.ctwa_clid) if e.ctwa_clid else None
        contact = lead.contact if lead else None
        duplicate_of: str | None = None
        if kind is ConversionKind.LEAD_SUBMITTED and lead is not None:
            duplicate_of = lead.lead_id
        elif contact is not None:
            ours = [c for c in store.conversions.find(tenant_id, contact=contact, kind=kind, counted=True,
                                                      since=e.occurred_at - match_window,
                                                      until=e.occurred_at + match_window)
                    if c.origin is ConversionOrigin.DETECTED]
            duplicate_of = ours[0].conversion_id if ours else None
        conversion = Conversion(
            tenant_id=tenant_id, source_key=f"meta:{e.message_id}:{e.event_name}", contact=contact, kind=kind,
            occurred_at=e.occurred_at, value=e.value, currency=e.currency or "TRY",
            origin=ConversionOrigin.META_AUTOMATIC, lead_id=lead.lead_id if lead else None, ctwa_clid=e.ctwa_clid,
            counted=duplicate_of is None, duplicate_of=duplicate_of)
        if store.conversions.add(tenant_id, conversion):
            stored.append(conversion)
    return stored


@dataclass
class AutomaticEventsResult:
    """What one ``automatic_events`` webhook did: conversions stored (per tenant) and items skipped
    because their WABA belongs to no tenant."""

    stored: dict[str, list[Conversion]] = field(default_factory=dict)
    unrouted: list[AutomaticEvent] = field(default_factory=list)


def record_automatic_events_by_waba(store: AttributionStore, events: Sequence[AutomaticEvent],
                                    tenant_for_waba: Callable[[str], str | None], *,
                                    match_window: timedelta = timedelta(days=7)) -> AutomaticEventsResult:
    """Record the items of an ``automatic_events`` webhook (parsed by the ads provider, e.g.
    ``providers.meta.parse_automatic_events``, after the usual signature check), each under the
    tenant owning its WABA (``entry[].id``)."""
    result = AutomaticEventsResult()
    by_tenant: dict[str, list[AutomaticEvent]] = {}
    for e in events:
        tenant = tenant_for_waba(e.waba_id) if e.waba_id else None
        if tenant is None:
            result.unrouted.append(e)
            continue
        by_tenant.setdefault(tenant, []).append(e)
    for tenant, items in by_tenant.items():
        result.stored[tenant] = record_automatic_events(store, tenant, items, match_window=match_window)
    return result


class AttributionEngine(BaseEngine):
    """The attribution engine: touches and leads from inbound messages, conversions from orders,
    appointments and replies. Register it with the runtime (replies are dated in the tenant's
    timezone from its settings); ``process`` runs one event directly.

    Not ``transactional``: resolving a CTWA ad may call the ads API (slow I/O must not hold the
    database's write lock); every effect is idempotent by its natural key instead."""

    name = "attribution"
    consumes = frozenset({"message.inbound", "order.created", "appointment.booked"})
    transactional = False

    def __init__(self, store: AttributionStore, tracker: LeadTracker, *, record_replies: bool = True,
                 match_window: timedelta = timedelta(days=7)) -> None:
        self.store = store
        self.tracker = tracker
        self.record_replies = record_replies
        self.recorder = ConversionRecorder(store, match_window=match_window)

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        created = self.process(ctx.tenant_id, event, timezone=ctx.timezone)
        if created is not None:
            ctx.publish(lead_created_event(created))

    def process(self, tenant_id: str, event: DomainEvent, *, timezone: ZoneInfo | None = None) -> Lead | None:
        """Handle one event for ``tenant_id`` (``timezone``: the tenant's day for replies; read from
        its settings when not given). Returns the lead the event created, if it did (`handle`
        publishes it as `LeadCreated`)."""
        kind = type(event).TYPE
        if kind == "message.inbound":
            return self._inbound(tenant_id, event, timezone or ZoneInfo(
                tenant_settings(self.store.tenant_settings, tenant_id).timezone))
        elif kind == "order.created":
            value, currency = _amount(event)
            self.recorder.record_order(
                tenant_id, provider=str(getattr(event, "provider", "")),
                account_id=str(getattr(event, "account_id", "")),
                external_order_id=str(getattr(event, "external_order_id", "")),
                phone=getattr(event, "customer_phone", None), at=event.occurred_at, value=value, currency=currency)
        elif kind == "appointment.booked":
            price: Any = getattr(event, "price", None)
            value = to_decimal(getattr(price, "amount", price)) if price is not None else None
            self.recorder.record_appointment(tenant_id, appointment_id=str(getattr(event, "appointment_id", "")),
                                             phone=str(getattr(event, "patient_phone", "")), at=event.occurred_at,
                                             value=value)
        return None

    def _inbound(self, tenant_id: str, event: DomainEvent, timezone: ZoneInfo) -> Lead | None:
        sender = getattr(event, "from_phone", None) or getattr(event, "from_wa_id", None)
        if not sender:
            return None
        text = getattr(event, "text", None)
        ref = referral_info(getattr(event, "referral", None), getattr(event, "ctwa_clid", None))
        outcome = self.tracker.observe(InboundTouch(
            tenant_id=tenant_id, from_id=str(sender), at=event.occurred_at,
            message_id=getattr(event, "provider_message_id", None) or event.event_id,
            text=text if isinstance(text, str) else None, referral=ref))
        if self.record_replies and "message already seen" not in outcome.notes:
            self.recorder.record_reply(tenant_id, outcome, event.occurred_at, timezone)
        return outcome.lead if outcome.new_lead else None


def lead_created_event(lead: Lead) -> LeadCreated:
    """The `LeadCreated` event of a lead (deduplicated in the log by the lead id)."""
    return LeadCreated(tenant_id=lead.tenant_id, occurred_at=lead.created_at, dedupe_key=f"lead.created:{lead.lead_id}",
                       lead_id=lead.lead_id, contact=lead.contact, channel=lead.channel.value,
                       channel_name=lead.channel_name, campaign_id=lead.ad.campaign_id,
                       campaign_name=lead.ad.campaign_name, adset_id=lead.ad.adset_id, ad_id=lead.ad.ad_id,
                       utm_campaign=lead.utm.campaign, ctwa_clid=lead.ctwa_clid, labels=lead.labels,
                       segments=lead.segments)
