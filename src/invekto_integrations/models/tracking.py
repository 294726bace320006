"""Watched parcels: the tracked shipment row, its movement history and the cargo notifier's
rendered messages (`storage.records` keeps the old names)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.reprs import fields_repr
from invekto_integrations.models.shipments import ShipmentStatus

__all__ = [
    "CargoNotification",
    "ShipmentHistoryEntry",
    "TrackedShipment",
]


class TrackedShipment(BaseModel):
    """A row of ``shipments``: one parcel a tenant watches, keyed by (tenant, carrier, tracking_number).

    ``carrier`` is a provider name (``aras``, ``yurtici``) or ``unknown:<company>`` for a cargo
    company with no connector (recorded, never polled). ``status`` is a unified `ShipmentStatus`
    value; ``status_at`` when the carrier says it was reached. ``next_poll_at`` is ``None`` once
    polling stopped (terminal status, unknown carrier, given up).
    """

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    carrier: str
    tracking_number: str
    reference: str | None = None
    cargo_company: str | None = None
    source: str = "manual"  # manual | order
    order_provider: str | None = None
    external_order_id: str | None = None
    customer_phone: str | None = None
    status: ShipmentStatus = ShipmentStatus.PENDING
    raw_status_code: str | None = None
    raw_status_text: str | None = None
    status_at: datetime | None = None
    tracking_url: str | None = None
    delivered_at: datetime | None = None
    active: bool = True
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_error: str | None = None
    error_count: int = 0
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return fields_repr(self, "carrier", "tracking_number", "status", "source", "next_poll_at")

    __str__ = __repr__


class ShipmentHistoryEntry(BaseModel):
    """One carrier movement of a watched parcel (deduplicated by time, place and description)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    carrier: str
    tracking_number: str
    occurred_at: datetime | None
    location: str | None = None
    description: str
    code: str | None = None


class CargoNotification(BaseModel):
    """A cargo status message the notifier rendered (its outbox row), unique per idempotency key."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    idempotency_key: str
    carrier: str
    tracking_number: str
    status: str
    to_phone: str
    message_json: str
    not_before: datetime | None = None
    created_at: datetime
    submitted_at: datetime | None = None
    submit_status: str | None = None  # what the MessageSink answered (queued, scheduled, duplicate, ...)
