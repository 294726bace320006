"""Rows the repositories store, as pydantic models (the shapes every implementation agrees on).

Storage's own rows (the orders cache, checkpoints, the event log, quarantine) are defined here.
The domain models moved to the domain-neutral `invekto_integrations.models` package
(`models.appointments`, `models.calendar_sync`, `models.outbox`, `models.tracking`); their old
names are re-exported from here for compatibility.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.reprs import fields_repr
from invekto_integrations.models.appointments import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Doctor,
    OfferStatus,
    ServicePricing,
    TimeRange,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
    fold_name,
)
from invekto_integrations.models.calendar_sync import (
    CalendarBusyBlock,
    CalendarChannel,
    CalendarConflict,
    CalendarSyncState,
)
from invekto_integrations.models.outbox import (
    ConsentCacheRecord,
    MessagingContact,
    OutboxCount,
    OutboxRecord,
    OutboxStatus,
    PendingStatusRecord,
)
from invekto_integrations.models.tracking import (
    CargoNotification,
    ShipmentHistoryEntry,
    TrackedShipment,
)

__all__ = [
    "ACTIVE_APPOINTMENT_STATUSES",
    "Appointment",
    "AppointmentStatus",
    "CachedOrder",
    "CalendarBusyBlock",
    "CalendarChannel",
    "CalendarConflict",
    "CalendarSyncState",
    "CargoNotification",
    "Checkpoint",
    "ConsentCacheRecord",
    "Doctor",
    "MessagingContact",
    "OfferStatus",
    "OutboxCount",
    "OutboxRecord",
    "OutboxStatus",
    "PendingStatusRecord",
    "QuarantinedRecord",
    "ServicePricing",
    "ShipmentHistoryEntry",
    "StoredEvent",
    "TimeRange",
    "TrackedShipment",
    "WaitlistEntry",
    "WaitlistOffer",
    "WaitlistStatus",
    "fold_name",
]


class CachedOrder(BaseModel):
    """A row of ``orders_cache``: one marketplace order (or package) of one tenant's account."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: str
    account_id: str
    external_order_id: str
    customer_phone: str | None = None
    tracking_code: str | None = None
    order_status: str
    ordered_at: datetime
    order_data_json: str
    raw_json: str | None = None
    content_hash: str
    synced_at: datetime
    created_at: datetime

    def __repr__(self) -> str:
        return fields_repr(self, "provider", "external_order_id", "order_status", "customer_phone", "ordered_at")

    __str__ = __repr__


class Checkpoint(BaseModel):
    """Where an incremental sync of one (tenant, account, stream) got to."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    account_id: str
    stream: str
    position: datetime | None = None
    cursor: str | None = None
    updated_at: datetime


class StoredEvent(BaseModel):
    """A domain event as the log holds it; ``seq`` orders a tenant's events."""

    model_config = ConfigDict(frozen=True)

    seq: int
    event_id: str
    tenant_id: str
    type: str
    version: int
    occurred_at: datetime
    recorded_at: datetime
    dedupe_key: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def __repr__(self) -> str:
        return fields_repr(self, "seq", "type", "occurred_at", "dedupe_key")

    __str__ = __repr__


class QuarantinedRecord(BaseModel):
    """A provider record that failed validation, kept whole with the reason (nothing is lost)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: str
    account_id: str
    record_id: str | None
    field: str | None
    error: str
    raw_json: str
    created_at: datetime

    def __repr__(self) -> str:
        return fields_repr(self, "provider", "record_id", "field", "error")

    __str__ = __repr__
