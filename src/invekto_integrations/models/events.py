"""Typed, versioned domain events: the seam between engines.

Engines publish events through the `EventBus` into the per-tenant event log
(`storage.protocols.EventLog`); consumers read them in order with a durable cursor. Each class
has a stable ``TYPE`` and ``VERSION``. A new optional field keeps the version (old payloads
still validate); a change of shape or meaning gets a new version plus an *upcaster* that turns
the old payload into the new one, so `decode_event` reads every version ever written and always
returns the current class.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.ids import new_id
from invekto_integrations.core.money import Money

from .correlation import Correlation
from .messaging import Referral

__all__ = [
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentMoved",
    "AppointmentStatusChanged",
    "DomainEvent",
    "InboundMessageReceived",
    "MessageRefused",
    "MessageStatusChanged",
    "MessageSubmitted",
    "OrderCreated",
    "OrderStatusChanged",
    "ReturnClaimOpened",
    "ReturnClaimUpdated",
    "ShipmentStatusChanged",
    "TrackingCodeAssigned",
    "Upcaster",
    "decode_event",
    "event_class",
    "register_upcaster",
]

_REGISTRY: dict[tuple[str, int], type[DomainEvent]] = {}
# (type, version) → function turning a payload of that version into one of ``version + 1``.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class DomainEvent(BaseModel):
    """Base of all events. ``dedupe_key``, when set, makes appending the same fact twice a no-op."""

    model_config = ConfigDict(frozen=True)

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    event_id: str = Field(default_factory=new_id)
    tenant_id: str
    occurred_at: datetime
    dedupe_key: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.TYPE:
            key = (cls.TYPE, cls.VERSION)
            if key in _REGISTRY and _REGISTRY[key].__qualname__ != cls.__qualname__:
                raise TypeError(f"event type {key} registered twice")
            _REGISTRY[key] = cls

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"event_id", "tenant_id", "occurred_at", "dedupe_key"})


def register_upcaster(type_: str, from_version: int, fn: Upcaster) -> None:
    """Teach `decode_event` to read ``type_`` payloads of ``from_version`` (``fn`` returns the
    payload of ``from_version + 1``; chains run until a registered class is reached)."""
    key = (type_, from_version)
    if key in _UPCASTERS:
        raise TypeError(f"upcaster for {key} registered twice")
    _UPCASTERS[key] = fn


def _upcast(type_: str, version: int, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    while (type_, version) not in _REGISTRY:
        fn = _UPCASTERS.get((type_, version))
        if fn is None:
            raise KeyError(f"unknown event type {type_!r} v{version}")
        data = fn(dict(data))
        version += 1
    return version, data


def event_class(type_: str, version: int) -> type[DomainEvent]:
    """The class that decodes ``type_`` payloads written as ``version`` (the current class of the
    type when the version has been superseded)."""
    return _REGISTRY[(type_, _upcast(type_, version, {})[0])]


def decode_event(type_: str, version: int, data: dict[str, Any]) -> DomainEvent:
    """Decode a stored payload of any version ever written into the current event class."""
    current, data = _upcast(type_, version, data)
    return _REGISTRY[(type_, current)].model_validate(data)


# --- marketplace orders ---------------------------------------------------------------------
class _OrderEvent(DomainEvent):
    """Fields every order event carries (not an event type itself)."""

    provider: str
    account_id: str
    external_order_id: str
    customer_phone: str | None = None
    # True when found by a first-connection backfill (history), not as a fresh change.
    backfill: bool = False
    # The order's total as the marketplace states it (purchase value for ROI). ``None`` only on
    # events recorded before totals were carried.
    total: Money | None = None


class OrderCreated(_OrderEvent):
    TYPE: ClassVar[str] = "order.created"
    order_status: str


class OrderStatusChanged(_OrderEvent):
    TYPE: ClassVar[str] = "order.status_changed"
    old_status: str
    new_status: str


class TrackingCodeAssigned(_OrderEvent):
    TYPE: ClassVar[str] = "order.tracking_assigned"
    tracking_code: str
    cargo_company: str | None = None


# --- cargo -----------------------------------------------------------------------------------
class ShipmentStatusChanged(DomainEvent):
    TYPE: ClassVar[str] = "shipment.status_changed"
    carrier: str
    tracking_number: str
    old_status: str | None
    new_status: str
    raw_status: str | None = None
    customer_phone: str | None = None
    external_order_id: str | None = None


# --- messaging -------------------------------------------------------------------------------
class _OutboundEvent(DomainEvent):
    """What every outbound-message event says about the message (not an event type itself).

    ``purpose`` (cargo_status, campaign, waitlist_offer, ...), ``recipient`` (E.164) and the
    campaign ``correlation`` let consumers count per campaign and variant without the outbox.
    They are ``None`` only on events recorded before they were carried, or for a status webhook
    of a message this store never sent (then the provider's echo may still give the correlation).
    """

    message_id: str
    purpose: str | None = None
    recipient: str | None = None
    correlation: Correlation | None = None


class MessageSubmitted(_OutboundEvent):
    """A message passed the checks and is in the outbox (``queued``, or ``scheduled`` until ``due_at``)."""

    TYPE: ClassVar[str] = "message.submitted"
    idempotency_key: str
    category: str
    status: str
    due_at: datetime


class MessageRefused(_OutboundEvent):
    """A message was refused before reaching the provider: ``reason`` is no_consent, opted_out,
    frequency_cap, invalid_phone, ... ; ``stage`` says whether at submit or at the re-check
    before sending (consent changed while it waited)."""

    TYPE: ClassVar[str] = "message.refused"
    idempotency_key: str
    category: str
    reason: str
    detail: str | None = None
    stage: Literal["submit", "dispatch"] = "submit"


class MessageStatusChanged(_OutboundEvent):
    TYPE: ClassVar[str] = "message.status_changed"
    provider_message_id: str | None
    status: str
    error_code: str | None = None
    error_title: str | None = None


class InboundMessageReceived(DomainEvent):
    """A customer's message. v2: ``referral`` is the typed click-to-WhatsApp `Referral` (v1 stored
    the raw dict; its upcaster maps it)."""

    TYPE: ClassVar[str] = "message.inbound"
    VERSION: ClassVar[int] = 2
    from_phone: str  # E.164; empty when the provider withheld the sender's number (see from_wa_id)
    from_wa_id: str | None = None  # the sender's provider id (WhatsApp id), always kept
    provider_message_id: str
    kind: str
    text: str | None = None
    ctwa_clid: str | None = None
    referral: Referral | None = None


_REFERRAL_FIELDS = frozenset(Referral.model_fields) - {"raw"}


def _inbound_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 stored either the provider's raw referral object or our model dump without ``raw``.
    ref = data.get("referral")
    if isinstance(ref, dict):
        typed: dict[str, Any] = {k: v for k, v in ref.items() if k in _REFERRAL_FIELDS and isinstance(v, str)}
        welcome = ref.get("welcome_message")
        if isinstance(welcome, dict) and isinstance(welcome.get("text"), str):
            typed["welcome_message"] = welcome["text"]
        if "ctwa_clid" not in typed and isinstance(data.get("ctwa_clid"), str):
            typed["ctwa_clid"] = data["ctwa_clid"]
        data["referral"] = {**typed, "raw": ref}
    return data


register_upcaster(InboundMessageReceived.TYPE, 1, _inbound_v1_to_v2)


# --- appointments ----------------------------------------------------------------------------
class AppointmentBooked(DomainEvent):
    TYPE: ClassVar[str] = "appointment.booked"
    appointment_id: str
    doctor_id: str
    patient_phone: str
    starts_at: datetime
    ends_at: datetime
    service_name: str


class AppointmentMoved(DomainEvent):
    TYPE: ClassVar[str] = "appointment.moved"
    appointment_id: str
    doctor_id: str
    old_starts_at: datetime
    starts_at: datetime
    ends_at: datetime


class AppointmentCancelled(DomainEvent):
    TYPE: ClassVar[str] = "appointment.cancelled"
    appointment_id: str
    doctor_id: str
    starts_at: datetime
    ends_at: datetime
    service_name: str
    source: str = "local"


class AppointmentStatusChanged(DomainEvent):
    """An appointment reached a new status (emitted beside `AppointmentCancelled` for a cancel)."""

    TYPE: ClassVar[str] = "appointment.status_changed"
    appointment_id: str
    doctor_id: str
    patient_phone: str
    service_name: str
    starts_at: datetime
    ends_at: datetime
    old_status: str
    new_status: Literal["confirmed", "completed", "no_show", "cancelled"]
    source: str = "local"


# --- marketplace return claims ---------------------------------------------------------------
class _ClaimEvent(DomainEvent):
    """Fields every return-claim event carries (not an event type itself)."""

    provider: str
    account_id: str
    claim_id: str
    external_order_id: str
    status: str  # the unified `ClaimStatus` value
    raw_status: str
    claimed_at: datetime
    refund_amount: Money | None = None
    customer_phone: str | None = None  # from the cached order, when it is known
    reasons: list[str] = Field(default_factory=list)
    quantity: int = 0  # items claimed, over all lines
    # True when found by the account's first claim sync (history), not as a fresh change.
    backfill: bool = False


class ReturnClaimOpened(_ClaimEvent):
    """A return claim seen for the first time."""

    TYPE: ClassVar[str] = "return_claim.opened"


class ReturnClaimUpdated(_ClaimEvent):
    """A known claim changed status (accepted, rejected, refunded, ...)."""

    TYPE: ClassVar[str] = "return_claim.updated"
    old_status: str
    old_raw_status: str


# --- waitlist ----------------------------------------------------------------------------------
__all__ += ["WaitlistOfferMade", "WaitlistOfferResolved"]


class WaitlistOfferMade(DomainEvent):
    """A freed slot was offered to a waiting patient (the offer holds it until ``expires_at``)."""

    TYPE: ClassVar[str] = "waitlist.offer_made"
    offer_id: str
    entry_id: str
    patient_phone: str
    doctor_id: str
    service_name: str
    starts_at: datetime
    expires_at: datetime
    source_appointment_id: str


class WaitlistOfferResolved(DomainEvent):
    """An offer ended: ``status`` accepted (then ``appointment_id``), declined, expired, lost or withdrawn."""

    TYPE: ClassVar[str] = "waitlist.offer_resolved"
    offer_id: str
    entry_id: str
    status: str
    source_appointment_id: str
    appointment_id: str | None = None


# --- attribution (issue 15) --------------------------------------------------------------------
__all__ += ["LeadCreated", "LeadTagged"]


class LeadCreated(DomainEvent):
    """A person's first contact (or the first after the re-engagement window) became a lead, with
    its source and the labels/segments the tenant's rules gave it. ``contact`` is E.164, or
    ``wa:<id>`` for a WhatsApp id that is not a phone number."""

    TYPE: ClassVar[str] = "lead.created"
    lead_id: str
    contact: str
    channel: str  # ctwa | link | organic | other
    channel_name: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    adset_id: str | None = None
    ad_id: str | None = None
    utm_campaign: str | None = None
    ctwa_clid: str | None = None
    labels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()


class LeadTagged(DomainEvent):
    """An explicit re-tagging changed a lead's labels or segments (the full new sets)."""

    TYPE: ClassVar[str] = "lead.tagged"
    lead_id: str
    contact: str
    labels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
