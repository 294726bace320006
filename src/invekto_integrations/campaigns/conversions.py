"""Conversions: a reply, purchase or appointment credited to the campaign message that caused it.

Where conversions come from is a small protocol (`ConversionSource`): today `EventConversions`
reads them off the domain events (inbound message → reply, order created → purchase with the
order total, appointment booked → appointment); the attribution area's conversion repository can
satisfy the same protocol later, so both areas credit the very same records.

`ConversionAttributor` credits a signal to the customer's latest campaign touch (a message the
provider accepted, or the moment a holdout customer was held out) within that campaign's
conversion window, last touch wins. Each source fact converts once (unique per tenant, type and
source), a reply once per recipient and occurrence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.money import to_decimal
from invekto_integrations.core.phone import try_normalize_phone
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.events import AppointmentBooked, DomainEvent, InboundMessageReceived, OrderCreated
from invekto_integrations.storage.protocols import OrderCacheRepository, ServicePricingRepository

from .models import Conversion, ConversionType
from .repository import CampaignRepository, ConversionRepository, RecipientRepository

__all__ = [
    "AttributionConversionFeed",
    "ConversionAttributor",
    "ConversionFeed",
    "ConversionSignal",
    "ConversionSource",
    "EventConversions",
]

MAX_WINDOW = timedelta(days=90)


class ConversionSignal(BaseModel):
    """Something a customer did that may have been caused by a message."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    phone: str
    conversion_type: ConversionType
    occurred_at: datetime
    source_ref: str
    value: Decimal = Decimal(0)
    currency: str = "TRY"


class ConversionSource(Protocol):
    def signals(self, event: DomainEvent) -> Sequence[ConversionSignal]:
        """The conversions ``event`` is (none for most events)."""
        ...


class EventConversions(ConciseRepr):
    """Conversions detected from the event log (until attribution's repository is the source).

    A purchase's value is the order event's total when the event carries one (event contract v2),
    else the cached order's total; an appointment's value is the service's lowest listed price
    (a conservative figure: the final price is not known at booking).
    """

    def __init__(self, *, orders: OrderCacheRepository | None = None,
                 pricing: ServicePricingRepository | None = None) -> None:
        self.orders = orders
        self.pricing = pricing

    def signals(self, event: DomainEvent) -> Sequence[ConversionSignal]:
        t = event.tenant_id
        if isinstance(event, InboundMessageReceived):
            phone = try_normalize_phone(event.from_phone)
            if phone is None:
                return []
            return [ConversionSignal(tenant_id=t, phone=phone, conversion_type=ConversionType.REPLY,
                                     occurred_at=event.occurred_at, source_ref=f"in:{event.provider_message_id}")]
        if isinstance(event, OrderCreated):
            phone = try_normalize_phone(event.customer_phone) if event.customer_phone else None
            if phone is None or event.backfill:
                return []
            value, currency = self._order_value(event)
            return [ConversionSignal(tenant_id=t, phone=phone, conversion_type=ConversionType.PURCHASE,
                                     occurred_at=event.occurred_at, value=value, currency=currency,
                                     source_ref=f"order:{event.provider}:{event.external_order_id}")]
        if isinstance(event, AppointmentBooked):
            phone = try_normalize_phone(event.patient_phone)
            if phone is None:
                return []
            value = Decimal(0)
            if self.pricing is not None:
                price = self.pricing.get_active(t, event.service_name)
                value = price.price_min if price is not None else Decimal(0)
            return [ConversionSignal(tenant_id=t, phone=phone, conversion_type=ConversionType.APPOINTMENT,
                                     occurred_at=event.occurred_at, value=value,
                                     source_ref=f"appointment:{event.appointment_id}")]
        return []

    def _order_value(self, event: OrderCreated) -> tuple[Decimal, str]:
        total = getattr(event, "total", None)
        if total is not None:  # event contract v2: Money or a Decimal
            amount = getattr(total, "amount", total)
            return to_decimal(amount), str(getattr(total, "currency", None) or getattr(event, "currency", "TRY"))
        if self.orders is not None:
            cached = self.orders.get(event.tenant_id, event.provider, event.account_id, event.external_order_id)
            if cached is not None:
                data = json.loads(cached.order_data_json)
                return to_decimal(data.get("total", 0)), str(data.get("currency", "TRY"))
        return Decimal(0), "TRY"


class ConversionAttributor(ConciseRepr):
    def __init__(self, campaigns: CampaignRepository, recipients: RecipientRepository,
                 conversions: ConversionRepository, *, clock: Clock | None = None) -> None:
        self.campaigns = campaigns
        self.recipients = recipients
        self.conversions = conversions
        self.clock = clock or SystemClock()

    def attribute(self, signal: ConversionSignal) -> Conversion | None:
        """Credit ``signal`` to the customer's last campaign touch; None if no touch qualifies or the
        fact was already credited."""
        touch = self.recipients.last_touch(signal.tenant_id, signal.phone, at=signal.occurred_at,
                                           since=signal.occurred_at - MAX_WINDOW)
        if touch is None:
            return None
        campaign = self.campaigns.get(signal.tenant_id, touch.campaign_id)
        touched_at = touch.entered_at if touch.message_id is None else (touch.submitted_at or touch.entered_at)
        if campaign is None or signal.occurred_at - touched_at > campaign.conversion_window:
            return None
        ref = signal.source_ref
        if signal.conversion_type == ConversionType.REPLY:  # a conversation converts once per message
            ref = f"reply:{touch.campaign_id}:{touch.occurrence}:{touch.phone}"
        conversion = Conversion(
            id=new_id(), tenant_id=signal.tenant_id, message_id=touch.message_id, campaign_id=touch.campaign_id,
            variant=touch.variant, occurrence=touch.occurrence, phone=signal.phone,
            conversion_type=signal.conversion_type, value_amount=signal.value, currency=signal.currency,
            source_ref=ref, occurred_at=signal.occurred_at, created_at=self.clock.now())
        return conversion if self.conversions.add(signal.tenant_id, conversion) else None


class ConversionFeed(Protocol):
    """Conversions someone else detected, read in time windows (the attribution repository)."""

    def signals_between(self, tenant_id: str, since: datetime, until: datetime) -> Sequence[ConversionSignal]: ...


class _AttributionConversion(Protocol):
    @property
    def source_key(self) -> str: ...
    @property
    def contact(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def value(self) -> Decimal | None: ...
    @property
    def currency(self) -> str: ...


class _AttributionRepository(Protocol):
    def find(self, tenant_id: str, *, since: datetime | None = None, until: datetime | None = None,
             counted: bool | None = None) -> Sequence[_AttributionConversion]: ...


_ATTRIBUTION_KINDS: Mapping[str, ConversionType] = {
    "purchase": ConversionType.PURCHASE, "appointment": ConversionType.APPOINTMENT, "reply": ConversionType.REPLY}


class AttributionConversionFeed(ConciseRepr):
    """The attribution area's conversion repository as a `ConversionFeed` (structural: no import of
    ``attribution``). Attribution records conversions of *leads* (contacts that came in through an
    ad, a tracked link or a message); `EventConversions` also covers existing customers. Both can
    run: a fact converts once (the same natural key, ``order:…``/``appointment:…``, is one
    ``source_ref``), although the two areas' order keys differ in shape, so run the feed for
    replies and appointments and the event source for purchases, or one of them alone."""

    def __init__(self, repository: _AttributionRepository, *, kinds: Sequence[str] = ("purchase", "appointment",
                                                                                        "reply")) -> None:
        self.repository = repository
        self.kinds = frozenset(kinds)

    def signals_between(self, tenant_id: str, since: datetime, until: datetime) -> Sequence[ConversionSignal]:
        out = []
        for c in self.repository.find(tenant_id, since=since, until=until, counted=True):
            kind = _ATTRIBUTION_KINDS.get(str(c.kind))
            phone = try_normalize_phone(c.contact) if c.contact else None
            if kind is None or phone is None or str(c.kind) not in self.kinds:
                continue
            out.append(ConversionSignal(tenant_id=tenant_id, phone=phone, conversion_type=kind,
                                        occurred_at=c.occurred_at, value=c.value or Decimal(0), currency=c.currency,
                                        source_ref=c.source_key))
        return out
