"""Typed, versioned domain events: the seam between engines.

Engines append events to the per-tenant event log (`storage.protocols.EventLog`); consumers read
them in order with a durable cursor. Each class has a stable ``TYPE`` and ``VERSION``; a change
of meaning gets a new version, and `decode_event` keeps reading old ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.ids import new_id

__all__ = [
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentMoved",
    "DomainEvent",
    "InboundMessageReceived",
    "MessageStatusChanged",
    "OrderCreated",
    "OrderStatusChanged",
    "ShipmentStatusChanged",
    "TrackingCodeAssigned",
    "decode_event",
    "event_class",
]

_REGISTRY: dict[tuple[str, int], type[DomainEvent]] = {}


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


def event_class(type_: str, version: int) -> type[DomainEvent]:
    try:
        return _REGISTRY[(type_, version)]
    except KeyError:
        raise KeyError(f"unknown event type {type_!r} v{version}") from None


def decode_event(type_: str, version: int, data: dict[str, Any]) -> DomainEvent:
    return event_class(type_, version).model_validate(data)


# --- marketplace orders ---------------------------------------------------------------------
class _OrderEvent(DomainEvent):
    """Fields every order event carries (not an event type itself)."""

    provider: str
    account_id: str
    external_order_id: str
    customer_phone: str | None = None
    # True when found by a first-connection backfill (history), not as a fresh change.
    backfill: bool = False


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
class MessageStatusChanged(DomainEvent):
    TYPE: ClassVar[str] = "message.status_changed"
    message_id: str
    provider_message_id: str | None
    status: str
    error_code: str | None = None
    error_title: str | None = None


class InboundMessageReceived(DomainEvent):
    TYPE: ClassVar[str] = "message.inbound"
    from_phone: str  # E.164; empty when the provider withheld the sender's number (see from_wa_id)
    from_wa_id: str | None = None  # the sender's provider id (WhatsApp id), always kept
    provider_message_id: str
    kind: str
    text: str | None = None
    ctwa_clid: str | None = None
    referral: dict[str, Any] | None = None


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


# --- waitlist (issue 8) ----------------------------------------------------------------------
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
