"""The contract between engines that want a message sent and the send pipeline.

Cargo notifications, campaigns and waitlist offers build an `OutboundMessage` and hand it to a
`MessageSink`. The WhatsApp send pipeline is the production sink; `RecordingSink` records what
would be sent (tests, dry runs). ``idempotency_key`` names the logical message: submitting the
same key twice never sends twice.
"""

from __future__ import annotations

import threading
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.consent import MessageCategory
from invekto_integrations.models.correlation import Correlation
from invekto_integrations.storage.records import OutboxStatus

__all__ = [
    "MessageCategory",
    "MessageDelivery",
    "MessageSink",
    "OutboundMessage",
    "RecordingSink",
    "SchedulingSink",
    "SendFailure",
    "SubmitResult",
    "SubmitStatus",
    "TemplateRef",
]


class TemplateRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    language: str = "tr"
    body_params: list[str] = Field(default_factory=list)
    header_params: list[str] = Field(default_factory=list)
    button_params: list[str] = Field(default_factory=list)
    # Added by the send pipeline (issue 7); defaults keep older callers unchanged.
    header_type: str = "text"  # text | image | document | video (then header_params are media links)
    button_sub_type: str = "url"  # url (params are URL suffixes) | quick_reply (params are payloads)
    body_param_names: list[str] = Field(default_factory=list)  # named-parameter templates (unverified feature)


class OutboundMessage(BaseModel):
    """A message an engine wants delivered. Either ``template`` or ``text`` is set.

    ``not_before`` asks the pipeline to hold the message (e.g. until quiet hours end);
    ``quiet_hours_applied`` says the sender already applied its own quiet hours (its setting is the
    specific one, e.g. the cargo option), so the pipeline does not apply the tenant's again;
    ``purpose`` says which engine sent it (``cargo_status``, ``campaign``, ``waitlist_offer``,
    ``appointment_reminder``) for reports; ``correlation`` names the campaign and variant it is
    counted under (stored as outbox columns, carried on every message event, echoed by the
    provider's status webhooks).
    """

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    to_phone: str  # E.164
    idempotency_key: str
    category: MessageCategory
    purpose: str
    template: TemplateRef | None = None
    text: str | None = None
    not_before: datetime | None = None
    quiet_hours_applied: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    recipient_type: str | None = None  # İYS BIREYSEL (default) or TACIR; None = the tenant's policy default
    correlation: Correlation | None = None


class SubmitStatus(StrEnum):
    """What a submit did (a `StrEnum`: ``result.status == "sent"`` keeps working)."""

    QUEUED = "queued"  # due, waiting to be sent (or retried after a transient failure)
    SCHEDULED = "scheduled"  # held until later (quiet hours, not_before, a consent check İYS could not answer)
    SENT = "sent"  # the provider accepted it (``reason`` is its message id)
    DUPLICATE = "duplicate"  # this idempotency key was submitted before (``reason``: where that one is)
    REFUSED = "refused"  # consent, opt-out or frequency cap said no (``reason`` says which)
    FAILED = "failed"  # the provider rejected it for a reason retrying cannot fix (see ``error``)
    UNCERTAIN = "uncertain"  # the call may have reached the provider (timeout): never resent automatically


class SendFailure(BaseModel):
    """The provider's own account of a failed send, kept whole (not flattened into a string):
    the error class, the provider's code and message, the HTTP status and the request id."""

    model_config = ConfigDict(frozen=True)

    kind: str  # the library's error class: TemplateUnavailable, InvalidParameter, RecipientUnavailable ...
    provider: str | None = None
    code: str | None = None
    message: str
    status: int | None = None
    request_id: str | None = None

    @classmethod
    def from_error(cls, exc: Exception) -> SendFailure:
        """From any library error (a `ProviderError` gives every field)."""
        return cls(kind=type(exc).__name__, provider=getattr(exc, "provider", None), code=getattr(exc, "code", None),
                   message=str(getattr(exc, "message", None) or exc), status=getattr(exc, "status", None),
                   request_id=getattr(exc, "request_id", None))

    def __str__(self) -> str:
        head = f"Request {self.request_id}: " if self.request_id else ""
        code = f" code={self.code}" if self.code else ""
        return f"{head}[{self.provider or '?'}] {self.kind}{code}: {self.message}"


class SubmitResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    status: SubmitStatus
    reason: str | None = None
    error: SendFailure | None = None  # set when the provider refused or failed the send

    def __repr__(self) -> str:
        reason = f" reason={self.reason!r}" if self.reason else ""
        error = f" error={self.error.kind}({self.error.code})" if self.error else ""
        return f"<SubmitResult {self.status.value} {self.message_id}{reason}{error}>"


class MessageSink(Protocol):
    def submit(self, message: OutboundMessage) -> SubmitResult: ...


class MessageDelivery(BaseModel):
    """Where a submitted message is: ``status`` is the outbox status (scheduled, queued, sending,
    accepted, sent, delivered, read, failed, refused, uncertain); ``accepted_at`` is when the
    provider took it (``None`` before)."""

    model_config = ConfigDict(frozen=True)

    status: OutboxStatus
    due_at: datetime
    accepted_at: datetime | None = None

    @property
    def waiting(self) -> bool:
        """Not handed to the provider yet (held, queued or being sent)."""
        return self.status in ("scheduled", "queued", "sending")


@runtime_checkable
class SchedulingSink(MessageSink, Protocol):
    """A sink that can say when a message would go out and where a submitted one is (the send
    pipeline). Engines whose timers start when the recipient can see the message use it, e.g. the
    waitlist's hold."""

    def release_time(self, message: OutboundMessage) -> datetime:
        """The earliest moment ``message``, submitted now, would be sent (``not_before``, quiet hours)."""
        ...

    def delivery(self, tenant_id: str, message_id: str) -> MessageDelivery | None:
        """The state of a submitted message (``SubmitResult.message_id``); ``None`` if unknown."""
        ...


class RecordingSink(ConciseRepr, fields=("messages",)):
    """Records submitted messages (deduplicated by idempotency key); sends nothing."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []
        self._keys: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def submit(self, message: OutboundMessage) -> SubmitResult:
        key = (message.tenant_id, message.idempotency_key)
        with self._lock:
            if key in self._keys:
                return SubmitResult(message_id=f"rec-{self._keys[key]}", status="duplicate")
            self.messages.append(message)
            self._keys[key] = len(self.messages)
            return SubmitResult(message_id=f"rec-{len(self.messages)}",
                                status="scheduled" if message.not_before else "queued")
