"""The one send path: consent → opt-out → frequency cap → quiet hours → outbox → provider.

Campaigns, cargo notifications and waitlist offers all call `SendPipeline.submit` (the
`MessageSink` contract) or `send` (which raises `ConsentError` on a refusal). Every logical message
is one ``outbox`` row, unique by (tenant_id, idempotency_key), written *before* the provider is
called, so a retried submit never sends twice. A row is claimed (``queued → sending``) before the
call, so two dispatchers never send the same row either.

Provider failures:
- refused by the provider for a reason retrying cannot fix (template, parameter, window,
  undeliverable, auth/account) → ``failed`` with the provider's code;
- throttled (nothing was sent) or nothing reached the server (connect error) or the provider
  answered 5xx → back to ``queued`` with a delay, up to ``max_attempts``;
- a timeout or dropped connection after the request went out, or a 2xx answer that cannot be read
  (cut mid-transfer, or missing the message id) → ``uncertain``: never resent automatically,
  because the message may have been delivered.

Status webhooks move a row forward only (accepted → sent → delivered → read; failed before
delivery); each one is also appended to the event log as `MessageStatusChanged`. A message that
enters the outbox publishes `MessageSubmitted`, a refusal `MessageRefused` (with the reason); all
three carry the purpose, the recipient and the campaign `Correlation`. A status that
arrives before the send stored the provider's message id (the webhook raced the HTTP answer, or a
webhook receiver in another process) is stored in ``pending_statuses`` and applied, atomically,
when the id is recorded.

A crash between the claim (``sending``) and the provider's answer leaves the row in ``sending``:
`dispatch_due` turns rows older than ``MessagingSettings.sending_lease`` into ``uncertain``
(reason ``lease_expired``), never resent automatically, since the call may have reached the provider.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple, TypedDict

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import (
    ConfigurationError,
    ConsentError,
    IntegrationError,
    PayloadError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.phone import normalize_phone, try_normalize_phone
from invekto_integrations.core.reprs import ConciseRepr, html_table
from invekto_integrations.events import EventBus
from invekto_integrations.models.consent import RecipientType
from invekto_integrations.models.correlation import Correlation
from invekto_integrations.models.events import (
    DomainEvent,
    InboundMessageReceived,
    MessageRefused,
    MessageStatusChanged,
    MessageSubmitted,
)
from invekto_integrations.models.messaging import DeliveryStatus, InboundMessage, StatusUpdate
from invekto_integrations.models.settings import FrequencyCap
from invekto_integrations.providers.base import MessagingProvider
from invekto_integrations.storage.protocols import DurableOutboxRepository, EventLog, MessagingContactRepository
from invekto_integrations.storage.records import OutboxRecord, OutboxStatus, PendingStatusRecord
from invekto_integrations.storage.settings import TenantSettingsRepository

from .base import MessageCategory, MessageDelivery, OutboundMessage, SendFailure, SubmitResult
from .consent import ConsentDecision, ConsentService
from .quiet_hours import QuietHours

__all__ = [
    "CorrelationKey",
    "DeliveryCounts",
    "DispatchReport",
    "FrequencyCap",
    "MessagingSettings",
    "SendPipeline",
]

log = logging.getLogger("invekto_integrations.messaging.pipeline")

_RANK = {
    OutboxStatus.ACCEPTED: 0, OutboxStatus.SENT: 1, OutboxStatus.FAILED: 1, OutboxStatus.DELIVERED: 2,
    OutboxStatus.READ: 3,
}
_PENDING = (OutboxStatus.SCHEDULED, OutboxStatus.QUEUED)


class MessagingSettings(BaseModel):
    """One tenant's send rules (consent rules live in `ConsentPolicy`)."""

    model_config = ConfigDict(frozen=True)

    quiet_hours: QuietHours = QuietHours()
    # OTPs and replies inside a conversation the customer just opened are not held.
    quiet_hours_categories: frozenset[MessageCategory] = frozenset({MessageCategory.MARKETING,
                                                                    MessageCategory.UTILITY})
    frequency_cap: FrequencyCap | None = FrequencyCap()
    frequency_caps: tuple[FrequencyCap, ...] = ()  # further caps, all enforced (e.g. per day and per week)
    max_attempts: int = 5
    retry_delay: timedelta = timedelta(minutes=1)
    # Provider error codes that mean "this user opted out of marketing" (WhatsApp 131050, unverified):
    # recorded as an opt-out, so later commercial sends are refused before any call.
    opt_out_error_codes: frozenset[str] = frozenset({"131050"})
    # A row still ``sending`` this long after its claim belongs to a dispatcher that died mid-call:
    # `dispatch_due` marks it ``uncertain`` (never resent: the provider may have the message).
    # Keep it well above the provider client's whole retry budget.
    sending_lease: timedelta = timedelta(minutes=10)
    # Early status webhooks for a provider id never recorded here are forgotten after this long.
    pending_status_retention: timedelta = timedelta(days=7)


class DeliveryCounts(BaseModel):
    """Dashboard funnel for one purpose: ``sent`` counts every message the provider accepted,
    ``delivered`` includes read ones; ``failed`` and ``refused`` are separate."""

    model_config = ConfigDict(frozen=True)

    total: int = 0
    refused: int = 0
    pending: int = 0
    uncertain: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    failed: int = 0

    @classmethod
    def of(cls, by_status: Mapping[str, int]) -> DeliveryCounts:
        """Fold outbox rows counted by status into the funnel."""
        def n(*statuses: OutboxStatus) -> int:
            return sum(by_status.get(s.value, 0) for s in statuses)

        return cls(
            total=sum(by_status.values()), refused=n(OutboxStatus.REFUSED),
            pending=n(OutboxStatus.SCHEDULED, OutboxStatus.QUEUED, OutboxStatus.SENDING),
            uncertain=n(OutboxStatus.UNCERTAIN),
            sent=n(OutboxStatus.ACCEPTED, OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ),
            delivered=n(OutboxStatus.DELIVERED, OutboxStatus.READ), read=n(OutboxStatus.READ),
            failed=n(OutboxStatus.FAILED),
        )


@dataclass
class DispatchReport:
    attempted: int = 0
    accepted: int = 0
    failed: int = 0
    refused: int = 0
    deferred: int = 0
    uncertain: int = 0
    reaped: int = 0  # rows found stuck in ``sending`` past the lease, now ``uncertain``
    results: list[SubmitResult] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"<DispatchReport attempted={self.attempted} accepted={self.accepted} failed={self.failed} "
                f"refused={self.refused} deferred={self.deferred} uncertain={self.uncertain} reaped={self.reaped}>")

    def _repr_html_(self) -> str:
        return html_table(repr(self), ["message", "status", "reason", "error"],
                          ([r.message_id, r.status, r.reason, r.error] for r in self.results))


ProviderResolver = Callable[[str], MessagingProvider]


class SendPipeline(ConciseRepr, fields=("outbox", "clock")):
    """The production `MessageSink`."""

    def __init__(
        self,
        outbox: DurableOutboxRepository,
        contacts: MessagingContactRepository,
        consent: ConsentService,
        providers: Mapping[str, MessagingProvider] | ProviderResolver,
        *,
        events: EventBus | EventLog,
        clock: Clock | None = None,
        settings: Mapping[str, MessagingSettings] | None = None,
        default_settings: MessagingSettings | None = None,
        send_immediately: bool = True,
        settings_repository: TenantSettingsRepository | None = None,
    ) -> None:
        """``settings_repository`` gives each tenant's quiet hours (in its timezone) and frequency
        caps from its `TenantSettings`; ``settings`` / `configure` still override per tenant."""
        self.outbox = outbox
        self.contacts = contacts
        self.consent = consent
        self._providers = providers
        self.clock = clock or SystemClock()
        # Every status change and inbound message is published: a bare log gets a bus of its own.
        self.events = events if isinstance(events, EventBus) else EventBus(events, self.clock)
        self._settings = dict(settings or {})
        self.default_settings = default_settings or MessagingSettings()
        self.send_immediately = send_immediately
        self.settings_repository = settings_repository
        # Serializes read-advance-save of one row inside this process; across processes the
        # repository's atomic `buffer_status` / `save_taking_statuses` pair keeps early statuses.
        self._status_lock = threading.RLock()

    # -- configuration ------------------------------------------------------------------------
    def settings(self, tenant_id: str) -> MessagingSettings:
        """The tenant's send rules: a `configure` override, else its stored `TenantSettings` over
        ``default_settings``, else ``default_settings``."""
        configured = self._settings.get(tenant_id)
        if configured is not None:
            return configured
        stored = self.settings_repository.get(tenant_id) if self.settings_repository is not None else None
        if stored is None:
            return self.default_settings
        return self.default_settings.model_copy(update={
            "quiet_hours": stored.quiet_hours_rule(), "frequency_cap": None, "frequency_caps": stored.frequency_caps})

    def configure(self, tenant_id: str, settings: MessagingSettings) -> None:
        """Override the tenant's send rules in this process (kept for compatibility; prefer
        storing `TenantSettings`)."""
        self._settings[tenant_id] = settings

    def _provider(self, tenant_id: str) -> MessagingProvider:
        if callable(self._providers) and not isinstance(self._providers, Mapping):
            return self._providers(tenant_id)
        try:
            return self._providers[tenant_id]
        except KeyError:
            raise ConfigurationError(f"no messaging provider for tenant {tenant_id!r}") from None

    # -- submit -------------------------------------------------------------------------------
    def send(self, message: OutboundMessage) -> SubmitResult:
        """`submit`, but a refusal raises `ConsentError` (with ``reason``)."""
        result = self.submit(message)
        if result.status == "refused":
            raise ConsentError(f"send refused: {result.reason}", recipient=message.to_phone,
                               reason=result.reason or "no_consent")
        return result

    def submit(self, message: OutboundMessage) -> SubmitResult:
        """Check, record in the outbox and (when due) send. Same idempotency key → ``duplicate``."""
        now = self.clock.now()
        if (message.template is None) == (message.text is None):
            raise ValueError("an OutboundMessage carries exactly one of template or text")
        existing = self.outbox.get_by_key(message.tenant_id, message.idempotency_key)
        if existing is not None and existing.status != OutboxStatus.REFUSED:
            return SubmitResult(message_id=existing.id, status="duplicate", reason=existing.status.value)
        try:
            phone = normalize_phone(message.to_phone)
        except ValueError:
            return self._refuse(message, existing, message.to_phone, "invalid_phone", now)
        if message.recipient_type is not None and message.recipient_type not in RecipientType.__members__:
            return self._refuse(message, existing, phone, "invalid_recipient_type", now)
        try:
            decision = self._check(message, phone, now, count_cap=True)
        except ProviderError as exc:  # İYS could not answer: hold the message and check again later
            log.warning("consent check deferred for %s: %s", message.idempotency_key, exc)
            decision = None
        if decision is not None and not decision.allowed:
            return self._refuse(message, existing, phone, decision.reason, now, detail=decision.detail)
        cfg = self.settings(message.tenant_id)
        due = self._release_time(message, now)
        if decision is None:
            due = max(due, now + cfg.retry_delay)
        status = OutboxStatus.SCHEDULED if due > now else OutboxStatus.QUEUED
        row = OutboxRecord(
            id=existing.id if existing else new_id(), tenant_id=message.tenant_id,
            idempotency_key=message.idempotency_key, purpose=message.purpose, category=message.category.value,
            to_phone=phone, message_json=message.model_dump_json(), status=status, due_at=due,
            created_at=existing.created_at if existing else now, updated_at=now,
            reason=None if decision is not None else "consent_check_pending", **_correlation_columns(message),
        )
        if existing is not None:
            # A refused key is evaluated afresh: only this path turns it into a live row.
            if self.outbox.claim(message.tenant_id, existing.id, [OutboxStatus.REFUSED], status, now) is None:
                current = self.outbox.get(message.tenant_id, existing.id)
                return SubmitResult(message_id=existing.id, status="duplicate",
                                    reason=current.status.value if current else None)
            self.outbox.save(message.tenant_id, row)
        else:
            row, created = self.outbox.insert_if_absent(message.tenant_id, row)
            if not created:
                return SubmitResult(message_id=row.id, status="duplicate", reason=row.status.value)
        self._publish(message.tenant_id, [MessageSubmitted(
            tenant_id=message.tenant_id, occurred_at=now, dedupe_key=f"message.submitted:{row.id}",
            message_id=row.id, idempotency_key=row.idempotency_key, purpose=row.purpose, recipient=phone,
            correlation=message.correlation, category=row.category, status=status.value, due_at=due)])
        if status == OutboxStatus.QUEUED and self.send_immediately:
            return self._dispatch_one(row)
        return SubmitResult(message_id=row.id, status=status.value, reason=row.reason)

    def _release_time(self, message: OutboundMessage, now: datetime) -> datetime:
        cfg = self.settings(message.tenant_id)
        due = max(now, message.not_before or now)
        if message.category in cfg.quiet_hours_categories and not message.quiet_hours_applied:
            due = cfg.quiet_hours.next_allowed(due)
        return due

    def release_time(self, message: OutboundMessage) -> datetime:
        """When ``message``, submitted now, would be sent at the earliest (``not_before``, the
        tenant's quiet hours); a retry or a consent check İYS cannot answer may add to it."""
        return self._release_time(message, self.clock.now())

    def delivery(self, tenant_id: str, message_id: str) -> MessageDelivery | None:
        """The outbox state of a submitted message (``SubmitResult.message_id``)."""
        row = self.outbox.get(tenant_id, message_id)
        if row is None:
            return None
        return MessageDelivery(status=row.status.value, due_at=row.due_at, accepted_at=row.accepted_at)

    def _check(self, message: OutboundMessage, phone: str, now: datetime, *, count_cap: bool) -> ConsentDecision:
        rtype = RecipientType(message.recipient_type) if message.recipient_type else None
        decision = self.consent.check(message.tenant_id, phone, message.category, recipient_type=rtype)
        if not decision.allowed or not count_cap:
            return decision
        cfg = self.settings(message.tenant_id)
        caps = ((cfg.frequency_cap,) if cfg.frequency_cap is not None else ()) + cfg.frequency_caps
        for cap in caps:
            if message.category not in cap.categories:
                continue
            sent = self.outbox.count_recent(message.tenant_id, phone, [c.value for c in cap.categories],
                                            now - cap.per)
            if sent >= cap.max_messages:
                return ConsentDecision(allowed=False, reason="frequency_cap",
                                       detail=f"{sent} messages in the last {cap.per}")
        return decision

    def _refuse(self, message: OutboundMessage, existing: OutboxRecord | None, phone: str, reason: str,
                now: datetime, *, detail: str | None = None) -> SubmitResult:
        row = OutboxRecord(
            id=existing.id if existing else new_id(), tenant_id=message.tenant_id,
            idempotency_key=message.idempotency_key, purpose=message.purpose, category=message.category.value,
            to_phone=phone, message_json=message.model_dump_json(), status=OutboxStatus.REFUSED, reason=reason,
            due_at=now, created_at=existing.created_at if existing else now, updated_at=now,
            **_correlation_columns(message),
        )
        if existing is not None:
            self.outbox.save(message.tenant_id, row)
        else:
            row, created = self.outbox.insert_if_absent(message.tenant_id, row)
            if not created:
                return SubmitResult(message_id=row.id, status="duplicate", reason=row.status.value)
        self._publish_refused(row, reason, detail, "submit", now)
        return SubmitResult(message_id=row.id, status="refused", reason=reason)

    def _publish_refused(self, row: OutboxRecord, reason: str, detail: str | None,
                         stage: Literal["submit", "dispatch"], now: datetime) -> None:
        # One event per (row, stage, reason): a key refused again for the same reason is one fact.
        self._publish(row.tenant_id, [MessageRefused(
            tenant_id=row.tenant_id, occurred_at=now, dedupe_key=f"message.refused:{row.id}:{stage}:{reason}",
            message_id=row.id, idempotency_key=row.idempotency_key, purpose=row.purpose, recipient=row.to_phone,
            correlation=_correlation(row), category=row.category, reason=reason, detail=detail, stage=stage)])

    # -- dispatch -----------------------------------------------------------------------------
    def dispatch_due(self, tenant_id: str | None = None, *, limit: int = 100) -> DispatchReport:
        """Send every held or queued message whose time has come (by the injected clock). Takes no
        lease, but each row is claimed by compare-and-set (``queued`` → ``sending``), so concurrent
        dispatchers never send a row twice; a deployment runs `OutboxDispatchEngine` on a `Runtime`
        (the same code on a timer)."""
        report = DispatchReport()
        tenants = [tenant_id] if tenant_id else self.outbox.tenants()
        now = self.clock.now()
        for tenant in tenants:
            report.reaped += self.reap_stale(tenant)
            cfg = self.settings(tenant)
            self.outbox.purge_pending_statuses(tenant, now - cfg.pending_status_retention)
            for row in self.outbox.due(tenant, now, limit=limit):
                result = self._dispatch_one(row)
                report.attempted += 1
                report.results.append(result)
                if result.status == "sent":
                    report.accepted += 1
                elif result.status == "failed":
                    report.failed += 1
                elif result.status == "refused":
                    report.refused += 1
                elif result.status == OutboxStatus.UNCERTAIN.value:
                    report.uncertain += 1
                else:
                    report.deferred += 1
        return report

    def reap_stale(self, tenant_id: str, *, limit: int = 100) -> int:
        """Mark rows stuck in ``sending`` longer than the tenant's lease ``uncertain``; returns how many."""
        now = self.clock.now()
        cfg = self.settings(tenant_id)
        reaped = 0
        for row in self.outbox.stale(tenant_id, OutboxStatus.SENDING, now - cfg.sending_lease, limit=limit):
            # Compare-and-set: a dispatcher that is merely slow and answers now wins (its save lands
            # after ours and records the provider's id); a second reaper finds nothing to claim.
            claimed = self.outbox.claim(tenant_id, row.id, [OutboxStatus.SENDING], OutboxStatus.UNCERTAIN, now)
            if claimed is None:
                continue
            since = row.updated_at.isoformat()
            self.outbox.save(tenant_id, claimed.model_copy(update={
                "reason": f"lease_expired: sending since {since}, the provider may have the message",
                "updated_at": now}))
            log.warning("outbox row %s stuck in sending since %s: marked uncertain", row.id, since)
            reaped += 1
        return reaped

    def _dispatch_one(self, row: OutboxRecord) -> SubmitResult:
        now = self.clock.now()
        claimed = self.outbox.claim(row.tenant_id, row.id, _PENDING, OutboxStatus.SENDING, now)
        if claimed is None:
            current = self.outbox.get(row.tenant_id, row.id)
            return SubmitResult(message_id=row.id, status="duplicate", reason=current.status.value if current else None)
        message = OutboundMessage.model_validate_json(claimed.message_json)
        cfg = self.settings(row.tenant_id)
        # Consent may have changed while the message waited (a RET, an opt-out): check again.
        try:
            decision = self._check(message, claimed.to_phone, now, count_cap=False)
        except ProviderError as exc:  # counts as an attempt: a long İYS outage ends in "gave up", not a loop
            return self._defer(claimed.model_copy(update={"attempts": claimed.attempts + 1}), now, cfg,
                               f"consent_check_pending: {exc.code or exc.message}", None)
        if not decision.allowed:
            self.outbox.save(row.tenant_id, claimed.model_copy(update={
                "status": OutboxStatus.REFUSED, "reason": decision.reason, "updated_at": now}))
            self._publish_refused(claimed, decision.reason, decision.detail, "dispatch", now)
            return SubmitResult(message_id=row.id, status="refused", reason=decision.reason)
        attempts = claimed.attempts + 1
        try:
            provider = self._provider(row.tenant_id)
            if message.template is not None:
                t = message.template
                # the campaign correlation rides along; status webhooks echo it (even for a row lost here)
                sent = provider.send_template(
                    claimed.to_phone, t.name, t.language, body_params=t.body_params, header_params=t.header_params,
                    header_type=t.header_type, button_params=t.button_params, button_sub_type=t.button_sub_type,
                    body_param_names=t.body_param_names, biz_opaque_callback_data=_echo(claimed))
            else:
                contact = self.contacts.get(row.tenant_id, claimed.to_phone)
                sent = provider.send_text(claimed.to_phone, message.text or "",
                                          last_inbound_at=contact.last_inbound_at if contact else None,
                                          biz_opaque_callback_data=_echo(claimed))
        except RateLimited as exc:  # the provider refused it: nothing was sent
            return self._defer(claimed.model_copy(update={"attempts": attempts}), now, cfg,
                               f"rate_limited: {exc.code}", exc.retry_after)
        except ProviderUnavailable as exc:
            if exc.unsent or (exc.status is not None and exc.status >= 500):
                return self._defer(claimed.model_copy(update={"attempts": attempts}), now, cfg,
                                   f"unavailable: {exc.code or exc.status}", None)
            self.outbox.save(row.tenant_id, claimed.model_copy(update={
                "status": OutboxStatus.UNCERTAIN, "attempts": attempts, "reason": "timeout_after_send",
                "error_title": exc.message, "updated_at": now}))
            return SubmitResult(message_id=row.id, status=OutboxStatus.UNCERTAIN.value, reason="timeout_after_send",
                                error=SendFailure.from_error(exc))
        except PayloadError as exc:
            if exc.status is not None and not 200 <= exc.status < 300:
                return self._failed(row, claimed, attempts, exc, now)
            # The provider accepted the call and its answer is unreadable: it has the message.
            self.outbox.save(row.tenant_id, claimed.model_copy(update={
                "status": OutboxStatus.UNCERTAIN, "attempts": attempts, "reason": "answer_unreadable",
                "error_title": exc.message[:500], "updated_at": now, "provider": exc.provider}))
            return SubmitResult(message_id=row.id, status=OutboxStatus.UNCERTAIN.value, reason="answer_unreadable",
                                error=SendFailure.from_error(exc))
        except IntegrationError as exc:
            return self._failed(row, claimed, attempts, exc, now)
        accepted = claimed.model_copy(update={
            "status": OutboxStatus.ACCEPTED, "attempts": attempts, "reason": sent.message_status,
            "provider": provider.provider, "provider_message_id": sent.provider_message_id,
            "recipient_id": sent.recipient_id, "accepted_at": now, "updated_at": now})
        with self._status_lock:
            early = self.outbox.save_taking_statuses(row.tenant_id, accepted)
            for pending in early:  # status webhooks that raced ahead of this save (any process)
                accepted = self._advance(accepted, StatusUpdate.model_validate_json(pending.update_json))
        self._publish(row.tenant_id, [MessageStatusChanged(
            tenant_id=row.tenant_id, occurred_at=now, message_id=row.id,
            provider_message_id=sent.provider_message_id, status=DeliveryStatus.ACCEPTED.value,
            dedupe_key=f"{provider.provider}:{sent.provider_message_id}:accepted", **_about(claimed))])
        return SubmitResult(message_id=row.id, status="sent", reason=sent.provider_message_id)

    def _failed(self, row: OutboxRecord, claimed: OutboxRecord, attempts: int, exc: IntegrationError,
                now: datetime) -> SubmitResult:
        """The provider refused the message for good: ``failed`` with its code, and the event."""
        code = exc.code if isinstance(exc, ProviderError) else None
        title = exc.message if isinstance(exc, ProviderError) else str(exc)
        failed = claimed.model_copy(update={
            "status": OutboxStatus.FAILED, "attempts": attempts, "reason": type(exc).__name__,
            "error_code": code, "error_title": title, "failed_at": now, "updated_at": now,
            "provider": getattr(exc, "provider", None)})
        self.outbox.save(row.tenant_id, failed)
        self._provider_opt_out(row.tenant_id, claimed.to_phone, code, now)
        self._publish_failed(claimed, code, title, now)
        return SubmitResult(message_id=row.id, status="failed", reason=f"{type(exc).__name__}: {code or title}",
                            error=SendFailure.from_error(exc))

    def _publish_failed(self, row: OutboxRecord, code: str | None, title: str | None, now: datetime) -> None:
        self._publish(row.tenant_id, [MessageStatusChanged(
            tenant_id=row.tenant_id, occurred_at=now, message_id=row.id, provider_message_id=None,
            status=DeliveryStatus.FAILED.value, error_code=code, error_title=title,
            dedupe_key=f"outbox:{row.id}:failed", **_about(row))])

    def _provider_opt_out(self, tenant_id: str, phone: str, code: str | None, at: datetime) -> None:
        if code is not None and code in self.settings(tenant_id).opt_out_error_codes:
            contact = self.contacts.get(tenant_id, phone)
            if contact is None or contact.opted_out_at is None:
                self.contacts.set_opt_out(tenant_id, phone, at, f"provider:{code}")

    def _defer(self, row: OutboxRecord, now: datetime, cfg: MessagingSettings, reason: str,
               retry_after: float | None) -> SubmitResult:
        if row.attempts >= cfg.max_attempts:
            self.outbox.save(row.tenant_id, row.model_copy(update={
                "status": OutboxStatus.FAILED, "reason": f"gave up: {reason}", "failed_at": now, "updated_at": now}))
            # Published like a refusal, so a campaign's recipient sent from `dispatch_due` ends failed too.
            self._publish_failed(row, None, f"gave up: {reason}"[:500], now)
            return SubmitResult(message_id=row.id, status="failed", reason=f"gave up: {reason}")
        delay = timedelta(seconds=retry_after) if retry_after else cfg.retry_delay * max(1, 2 ** (row.attempts - 1))
        self.outbox.save(row.tenant_id, row.model_copy(update={"status": OutboxStatus.QUEUED, "reason": reason,
                                                "due_at": now + delay, "updated_at": now}))
        return SubmitResult(message_id=row.id, status="queued", reason=reason)

    # -- webhooks -----------------------------------------------------------------------------
    def apply_status(self, tenant_id: str, update: StatusUpdate, *,
                     provider: str = "whatsapp_cloud") -> OutboxRecord | None:
        """Record a provider status on its outbox row (forward only) and in the event log.

        A status can arrive before the send call has returned and stored the provider's id (or in
        another process than the sender): it is stored in ``pending_statuses`` and applied the
        moment the id is recorded (``None`` is returned then).
        """
        err = update.error
        with self._status_lock:
            row = self.outbox.buffer_status(tenant_id, PendingStatusRecord(
                tenant_id=tenant_id, provider=provider, provider_message_id=update.provider_message_id,
                status=update.status.value, update_json=update.model_dump_json(), received_at=self.clock.now()))
            if row is not None:
                row = self._advance(row, update)
        if update.status == DeliveryStatus.FAILED and err is not None:
            phone = row.to_phone if row is not None else (
                try_normalize_phone("+" + update.recipient_id.lstrip("+")) if update.recipient_id else None)
            if phone is not None:
                self._provider_opt_out(tenant_id, phone, err.code, update.timestamp)
        about: _About = _about(row) if row is not None else {
            "purpose": None, "correlation": Correlation.from_callback_data(update.biz_opaque_callback_data),
            "recipient": try_normalize_phone("+" + update.recipient_id.lstrip("+")) if update.recipient_id else None}
        self._publish(tenant_id, [MessageStatusChanged(
            tenant_id=tenant_id, occurred_at=update.timestamp, message_id=row.id if row else update.provider_message_id,
            provider_message_id=update.provider_message_id, status=update.status.value,
            error_code=err.code if err else None, error_title=err.title if err else None,
            dedupe_key=f"{provider}:{update.provider_message_id}:{update.status.value}", **about)])
        return row

    def _advance(self, row: OutboxRecord, update: StatusUpdate) -> OutboxRecord:
        err = update.error
        new = OutboxStatus(update.status.value)
        stamp = f"{new.value}_at"
        changes: dict[str, object] = {}
        if getattr(row, stamp, None) is None:
            changes[stamp] = update.timestamp
        current_rank = _RANK.get(row.status, -1)
        if new == OutboxStatus.FAILED:
            if row.status != OutboxStatus.FAILED and current_rank <= _RANK[OutboxStatus.SENT]:
                changes.update(status=new, error_code=err.code if err else None,
                               error_title=err.title if err else None)
        elif _RANK[new] > current_rank:
            changes["status"] = new
        if not changes:
            return row
        changes["updated_at"] = self.clock.now()
        updated = row.model_copy(update=changes)
        self.outbox.save(row.tenant_id, updated)
        return updated

    def apply_inbound(self, tenant_id: str, message: InboundMessage, *, provider: str = "whatsapp_cloud") -> bool:
        """Store the last inbound time (24-hour window), the CTWA click, an opt-out keyword, and log
        `InboundMessageReceived`. Returns whether the message was an opt-out.

        Safe to repeat (Meta redelivers): every effect is keyed by the message id or stamped with the
        message's own time, so a redelivered or late message never moves a contact's state back (an
        old "DUR" does not undo a later opt-in). A sender whose number Meta withheld has no phone to
        key contact state on: only the event is logged."""
        phone = message.from_phone
        keyword = self.consent.opt_out_keyword(tenant_id, message.text)
        if phone is not None:
            referral_json = json.dumps(message.referral.raw or message.referral.model_dump(exclude={"raw"}),
                                       ensure_ascii=False) if message.referral else None
            self.contacts.record_inbound(tenant_id, phone, message.timestamp, wa_id=message.from_wa_id,
                                         ctwa_clid=message.ctwa_clid, referral_json=referral_json)
            if keyword is not None:
                self.consent.record_opt_out(tenant_id, phone, keyword=keyword, at=message.timestamp)
        elif keyword is not None:
            log.warning("opt-out keyword from a sender without a phone number (wa_id withheld), message %s",
                        message.provider_message_id)
        self._publish(tenant_id, [InboundMessageReceived(
            tenant_id=tenant_id, occurred_at=message.timestamp, from_phone=phone or "", from_wa_id=message.from_wa_id,
            provider_message_id=message.provider_message_id, kind=message.kind, text=message.text,
            ctwa_clid=message.ctwa_clid, referral=message.referral,
            dedupe_key=f"{provider}:in:{message.provider_message_id}")])
        return keyword is not None and phone is not None

    def _publish(self, tenant_id: str, events: list[DomainEvent]) -> None:
        self.events.publish(tenant_id, events)

    # -- reporting ----------------------------------------------------------------------------
    def counts(self, tenant_id: str, *, purpose: str | None = None) -> dict[str, DeliveryCounts]:
        """purpose → funnel counts (sent ⊇ delivered ⊇ read) for the dashboard."""
        out: dict[str, DeliveryCounts] = {}
        for p, by_status in self.outbox.status_counts(tenant_id, purpose=purpose).items():
            out[p] = DeliveryCounts.of(by_status)
        return out

    def correlation_counts(self, tenant_id: str, *, purpose: str | None = None,
                           campaign_id: str | None = None) -> dict[CorrelationKey, DeliveryCounts]:
        """(purpose, campaign id, variant) → funnel counts: a campaign's variants side by side."""
        grouped: dict[CorrelationKey, dict[str, int]] = {}
        for c in self.outbox.grouped_counts(tenant_id, purpose=purpose, campaign_id=campaign_id):
            bucket = grouped.setdefault(CorrelationKey(c.purpose, c.campaign_id, c.variant), {})
            bucket[c.status.value] = bucket.get(c.status.value, 0) + c.count
        return {key: DeliveryCounts.of(by_status) for key, by_status in grouped.items()}


class CorrelationKey(NamedTuple):
    purpose: str
    campaign_id: str | None
    variant: str | None


class _About(TypedDict):
    purpose: str | None
    recipient: str | None
    correlation: Correlation | None


def _correlation(row: OutboxRecord) -> Correlation | None:
    if row.campaign_id is None and row.variant is None:
        return None
    return Correlation(campaign_id=row.campaign_id, variant=row.variant)


def _echo(row: OutboxRecord) -> str | None:
    """``biz_opaque_callback_data`` for the send: the row's correlation, when it has one."""
    c = _correlation(row)
    return c.to_callback_data() if c is not None else None


def _about(row: OutboxRecord) -> _About:
    return {"purpose": row.purpose, "recipient": row.to_phone, "correlation": _correlation(row)}


def _correlation_columns(message: OutboundMessage) -> dict[str, str | None]:
    c = message.correlation
    return {"campaign_id": c.campaign_id if c else None, "variant": c.variant if c else None}
