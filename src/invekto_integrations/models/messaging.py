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
    "ContactAddress",
    "ContactCard",
    "ContactEmail",
    "ContactName",
    "ContactOrg",
    "ContactPhone",
    "ContactUrl",
    "DeliveryStatus",
    "InboundMessage",
    "Location",
    "MediaRef",
    "MessageError",
    "MessageTemplate",
    "PhoneStatus",
    "Reaction",
    "Referral",
    "SentMessage",
    "StatusError",
    "StatusUpdate",
    "SystemNotice",
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
    biz_opaque_callback_data: str | None = None  # what the send carried, echoed by its status webhooks


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


class StatusError(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    title: str | None = None
    message: str | None = None
    details: str | None = None


MessageError = StatusError  # the same shape: message-level ``errors`` of inbound messages and statuses


class PhoneStatus(StrEnum):
    """How far an inbound sender's WhatsApp id could be read as a phone number."""

    VALID = "valid"  # libphonenumber calls it valid: ``from_phone`` is its E.164 form
    UNVERIFIED = "unverified"  # digits libphonenumber calls invalid (test numbers, new ranges): ``+`` + digits
    WITHHELD = "withheld"  # not a phone number (Meta withheld it: a user name / business-scoped id)


class Location(BaseModel):
    """A ``location`` message: a pin, optionally a named place."""

    model_config = ConfigDict(frozen=True)

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class Reaction(BaseModel):
    """A ``reaction`` message: ``emoji`` on the message ``message_id``; no emoji = reaction removed."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    emoji: str | None = None

    @property
    def removed(self) -> bool:
        return not self.emoji


class ContactName(BaseModel):
    model_config = ConfigDict(frozen=True)

    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    prefix: str | None = None
    suffix: str | None = None


class ContactPhone(BaseModel):
    model_config = ConfigDict(frozen=True)

    phone: str | None = None  # as the sender typed it
    wa_id: str | None = None  # present when the number is on WhatsApp
    type: str | None = None  # CELL, MAIN, HOME, WORK, ...


class ContactEmail(BaseModel):
    model_config = ConfigDict(frozen=True)

    email: str | None = None
    type: str | None = None


class ContactAddress(BaseModel):
    model_config = ConfigDict(frozen=True)

    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class ContactOrg(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str | None = None
    department: str | None = None
    title: str | None = None


class ContactUrl(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str | None = None
    type: str | None = None


class ContactCard(BaseModel):
    """One card of a ``contacts`` message (a shared address-book entry)."""

    model_config = ConfigDict(frozen=True)

    name: ContactName = Field(default_factory=ContactName)
    phones: list[ContactPhone] = Field(default_factory=list)
    emails: list[ContactEmail] = Field(default_factory=list)
    addresses: list[ContactAddress] = Field(default_factory=list)
    org: ContactOrg | None = None
    urls: list[ContactUrl] = Field(default_factory=list)
    birthday: str | None = None  # YYYY-MM-DD as sent


class SystemNotice(BaseModel):
    """A ``system`` message: the customer changed number or identity."""

    model_config = ConfigDict(frozen=True)

    type: str | None = None  # customer_changed_number | customer_identity_changed | ...
    body: str | None = None
    new_wa_id: str | None = None
    wa_id: str | None = None


class InboundMessage(BaseModel):
    """A message a customer sent to the business.

    ``from_wa_id`` is always the sender's WhatsApp id as sent; ``from_phone`` is its E.164 form when
    it can be read as a number (``phone_status`` says how sure that is) and ``None`` when Meta
    withheld the number. A message is never dropped because its sender's number looks invalid.
    """

    model_config = ConfigDict(frozen=True)

    provider_message_id: str
    channel_id: str  # the receiving number's provider id (WhatsApp ``phone_number_id``)
    account_id: str | None = None  # WABA id
    from_wa_id: str
    from_phone: str | None = None  # E.164 (see ``phone_status``)
    phone_status: PhoneStatus = PhoneStatus.VALID
    profile_name: str | None = None
    timestamp: datetime
    kind: str  # text, button, interactive, image, location, contacts, reaction, unsupported, system, ...
    text: str | None = None
    button_payload: str | None = None
    reply_id: str | None = None  # interactive button/list reply id
    media: MediaRef | None = None
    location: Location | None = None
    contacts: list[ContactCard] = Field(default_factory=list)
    reaction: Reaction | None = None
    system: SystemNotice | None = None
    errors: list[MessageError] = Field(default_factory=list)  # e.g. 131051 on an ``unsupported`` message
    referral: Referral | None = None
    context_message_id: str | None = None

    @property
    def ctwa_clid(self) -> str | None:
        return self.referral.ctwa_clid if self.referral else None


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
    # Echo of the ``biz_opaque_callback_data`` the send carried (campaigns correlate on it).
    biz_opaque_callback_data: str | None = None

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

    @property
    def malformed(self) -> WebhookProblem | None:
        """The problem when the body as a whole could not be read (not JSON, not an envelope)."""
        return next((p for p in self.problems if p.where == "body"), None)
