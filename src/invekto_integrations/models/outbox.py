"""Messaging state the send pipeline keeps: the outbox row and its status, correlation counts,
early status webhooks, the local İYS consent copy and per-recipient messaging state
(`storage.records` keeps the old names)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.reprs import fields_repr

__all__ = [
    "ConsentCacheRecord",
    "MessagingContact",
    "OutboxCount",
    "OutboxRecord",
    "OutboxStatus",
    "PendingStatusRecord",
]


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
    # The message's campaign correlation (queryable columns; ``purpose`` is the third key).
    campaign_id: str | None = None
    variant: str | None = None

    def __repr__(self) -> str:  # no phone: reprs end up in logs
        return fields_repr(self, "id", "purpose", "status", "reason", "due_at")

    __str__ = __repr__


class OutboxCount(BaseModel):
    """How many outbox rows share (purpose, campaign, variant, status)."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    campaign_id: str | None
    variant: str | None
    status: OutboxStatus
    count: int

    def __repr__(self) -> str:
        return fields_repr(self, "purpose", "campaign_id", "variant", "status", "count")

    __str__ = __repr__


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
    opt_changed_at: datetime | None = None  # when the opt-out state last changed (set or cleared)
    updated_at: datetime


class PendingStatusRecord(BaseModel):
    """A row of ``pending_statuses``: a provider status webhook that arrived before the send had
    stored the provider's message id (kept until that id is recorded, then applied and deleted)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    provider: str
    provider_message_id: str
    status: str  # sent | delivered | read | failed
    update_json: str  # the parsed StatusUpdate, as received
    received_at: datetime
