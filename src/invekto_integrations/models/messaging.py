"""Unified messaging types: what a messaging connector returns and what its webhooks carry.

Provider-neutral (the WhatsApp Cloud connector maps its wire payloads into these); engines and the
send pipeline only see these types.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DeliveryStatus",
    "InboundMessage",
    "MediaRef",
    "MessageTemplate",
    "Referral",
    "SentMessage",
    "StatusError",
    "StatusUpdate",
    "WebhookBatch",
    "WebhookProblem",
]


class DeliveryStatus(StrEnum):
    """Lifecycle of an outbound message at the provider, in order (``failed`` ends it)."""

    ACCEPTED = "accepted"  # the API answered 200: accepted, nothing delivered yet
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    DeliveryStatus.ACCEPTED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 1,
}


class SentMessage(BaseModel):
    """A send the provider accepted: ``provider_message_id`` is what every status webhook cites."""

    model_config = ConfigDict(frozen=True)

    provider_message_id: str
    recipient_id: str | None = None  # the provider's id of the recipient (WhatsApp ``wa_id``)
    message_status: str | None = None  # accepted | held_for_quality_assessment | paused (templates)


class MessageTemplate(BaseModel):
    """A template as the provider lists it (name + language identify one translation)."""

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    name: str
    language: str
    status: str  # APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...
    category: str  # MARKETING, UTILITY, AUTHENTICATION
    components: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def is_sendable(self) -> bool:
        return self.status.upper() == "APPROVED"

    def body_placeholder_count(self) -> int:
        """How many ``{{n}}`` placeholders the BODY component has."""
        import re

        for comp in self.components:
            if str(comp.get("type", "")).upper() == "BODY":
                return len(set(re.findall(r"\{\{\s*(\w+)\s*\}\}", str(comp.get("text", "")))))
        return 0


class MediaRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class Referral(BaseModel):
    """Click-to-WhatsApp ad referral on the first inbound message after an ad click."""

    model_config = ConfigDict(frozen=True)

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None  # ad | post
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None
    welcome_message: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


class InboundMessage(BaseModel):
    """A message a customer sent to the business."""

    model_config = ConfigDict(frozen=True)

    provider_message_id: str
    channel_id: str  # the receiving number's provider id (WhatsApp ``phone_number_id``)
    account_id: str | None = None  # WABA id
    from_phone: str  # E.164
    from_wa_id: str
    profile_name: str | None = None
    timestamp: datetime
    kind: str  # text, button, interactive, image, ...
    text: str | None = None
    button_payload: str | None = None
    reply_id: str | None = None  # interactive button/list reply id
    media: MediaRef | None = None
    referral: Referral | None = None
    context_message_id: str | None = None

    @property
    def ctwa_clid(self) -> str | None:
        return self.referral.ctwa_clid if self.referral else None


class StatusError(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    title: str | None = None
    message: str | None = None
    details: str | None = None


class StatusUpdate(BaseModel):
    """A lifecycle update for an outbound message."""

    model_config = ConfigDict(frozen=True)

    provider_message_id: str
    channel_id: str
    account_id: str | None = None
    status: DeliveryStatus
    timestamp: datetime
    recipient_id: str | None = None
    errors: list[StatusError] = Field(default_factory=list)
    pricing_category: str | None = None
    billable: bool | None = None

    @property
    def error(self) -> StatusError | None:
        return self.errors[0] if self.errors else None


class WebhookProblem(BaseModel):
    """One part of a webhook that could not be read (quarantined; the rest is applied)."""

    model_config = ConfigDict(frozen=True)

    where: str
    field: str | None = None
    error: str
    raw: dict[str, Any] | list[Any] | str | None = None


class WebhookBatch(BaseModel):
    """Everything one webhook POST carried, already typed."""

    model_config = ConfigDict(frozen=True)

    inbound: list[InboundMessage] = Field(default_factory=list)
    statuses: list[StatusUpdate] = Field(default_factory=list)
    problems: list[WebhookProblem] = Field(default_factory=list)
