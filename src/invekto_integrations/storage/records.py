"""Rows the repositories store, as pydantic models (the shapes both implementations agree on)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CachedOrder",
    "CargoNotification",
    "Checkpoint",
    "ConsentCacheRecord",
    "MessagingContact",
    "OutboxRecord",
    "OutboxStatus",
    "QuarantinedRecord",
    "ShipmentHistoryEntry",
    "StoredEvent",
    "TrackedShipment",
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


# --- shipments (issue 6) ---------------------------------------------------------------------
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
    status: str = "pending"
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


# --- messaging (issue 7) ---------------------------------------------------------------------
class OutboxStatus(StrEnum):
    """Where an outbound message is. Refused/failed end it; accepted → sent → delivered → read."""

    REFUSED = "refused"  # consent, opt-out or frequency cap said no (reason says which)
    SCHEDULED = "scheduled"  # held until due_at (quiet hours, not_before)
    QUEUED = "queued"  # due; waiting to be sent (or to be retried after a transient failure)
    SENDING = "sending"  # claimed by a dispatcher; the provider call is in flight
    UNCERTAIN = "uncertain"  # the call may have reached the provider (timeout): never resent automatically
    ACCEPTED = "accepted"  # the provider accepted it and gave its message id
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class OutboxRecord(BaseModel):
    """A row of ``outbox``: one logical message, unique by (tenant_id, idempotency_key)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    idempotency_key: str
    purpose: str
    category: str
    to_phone: str
    message_json: str  # the OutboundMessage as submitted
    status: OutboxStatus
    reason: str | None = None
    due_at: datetime
    attempts: int = 0
    provider: str | None = None
    provider_message_id: str | None = None
    recipient_id: str | None = None
    error_code: str | None = None
    error_title: str | None = None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None


class ConsentCacheRecord(BaseModel):
    """A row of ``consents``: the local copy of an İYS consent (İYS is the system of record)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    brand_code: str
    recipient: str  # +905XXXXXXXXX or e-mail
    type: str = "MESAJ"
    recipient_type: str = "BIREYSEL"
    status: str  # ONAY | RET
    source: str | None = None
    consent_date: datetime | None = None
    creation_date: datetime | None = None
    transaction_id: str | None = None
    origin: str = "iys_query"  # iys_query | iys_changes | local
    synced_at: datetime
    updated_at: datetime


class MessagingContact(BaseModel):
    """A row of ``messaging_contacts``: per-recipient messaging state of one tenant."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    phone: str  # E.164
    wa_id: str | None = None
    last_inbound_at: datetime | None = None
    opted_out_at: datetime | None = None
    opt_out_keyword: str | None = None
    ctwa_clid: str | None = None
    ctwa_at: datetime | None = None
    referral_json: str | None = None
    updated_at: datetime
