"""Conversions back to Meta (Conversions API for business messaging): purchases as ``Purchase``,
Click-to-WhatsApp leads as ``LeadSubmitted``, with ``ctwa_clid``, value and currency.

- Idempotent by event id: each event's id is its conversion or lead id; a delivery record per
  event id means a re-run sends nothing twice, and Meta deduplicates (event_name, event_id) too,
  so a retry after a lost answer is harmless.
- Retried safely: transient failures (throttling, 5xx, after the client's own retries) leave the
  event ``pending`` for the next run; a refused batch is split so one bad event cannot block others.
- Consent-aware: a `ConsentCheck` decides per person; refused ones are recorded as skipped and the
  phone hash is only sent when ``send_phone_hash`` and consent allow it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidRequest, ProviderError, RateLimited
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.ads import ConversionEvent
from invekto_integrations.models.attribution import (
    CapiDelivery,
    CapiStatus,
    Channel,
    ConversionKind,
    ConversionOrigin,
)
from invekto_integrations.providers.base import ConversionsApi
from invekto_integrations.storage.protocols import MessagingContactRepository

from ._store import AttributionStore

__all__ = ["AllowAll", "ConsentCheck", "ConversionsSender", "OptOutConsent", "SendReport", "hash_phone"]

_MAX_BATCH = 1000


def hash_phone(contact: str) -> str | None:
    """SHA-256 (lowercase hex) of the phone's digits with country code (``905321234567``), as
    Meta's hashing rules ask; ``None`` for a contact that is not a phone number."""
    if not contact.startswith("+"):
        return None
    return hashlib.sha256(contact.removeprefix("+").encode("utf-8")).hexdigest()


class ConsentCheck(Protocol):
    def allows(self, tenant_id: str, contact: str) -> bool:
        """Whether this person's conversions may be shared with the ads platform."""
        ...


class AllowAll(ConciseRepr):
    def allows(self, tenant_id: str, contact: str) -> bool:
        return True


class OptOutConsent(ConciseRepr):
    """Shares nothing about a person who opted out of messages (``messaging_contacts``): someone
    who wrote "DUR"/"İPTAL" has withdrawn from marketing, and ad measurement is marketing."""

    def __init__(self, contacts: MessagingContactRepository) -> None:
        self.contacts = contacts

    def allows(self, tenant_id: str, contact: str) -> bool:
        row = self.contacts.get(tenant_id, contact)
        return row is None or row.opted_out_at is None


@dataclass
class SendReport:
    sent: int = 0
    already_done: int = 0
    skipped_consent: int = 0
    failed: int = 0
    pending: int = 0
    too_old: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    subject_id: str
    contact: str
    event: ConversionEvent


class ConversionsSender(ConciseRepr, fields=("clock",)):
    """Sends a tenant's unsent purchases and CTWA leads to its dataset."""

    def __init__(self, store: AttributionStore, api: ConversionsApi, *, dataset_id: str, waba_id: str,
                 consent: ConsentCheck | None = None, clock: Clock | None = None,
                 max_age: timedelta = timedelta(days=7), require_click_id: bool = True, send_leads: bool = True,
                 send_phone_hash: bool = True, partner_agent: str | None = None,
                 test_event_code: str | None = None) -> None:
        self.store = store
        self.api = api
        self.dataset_id = dataset_id
        self.waba_id = waba_id
        self.consent = consent or AllowAll()
        self.clock = clock or SystemClock()
        self.max_age = max_age
        self.require_click_id = require_click_id
        self.send_leads = send_leads
        self.send_phone_hash = send_phone_hash
        self.partner_agent = partner_agent
        self.test_event_code = test_event_code

    def _event(self, name: str, event_id: str, at: datetime, contact: str, clid: str | None,
               value: Decimal | None = None, currency: str | None = None) -> ConversionEvent:
        phone = hash_phone(contact) if self.send_phone_hash else None
        return ConversionEvent(event_name=name, event_time=at, event_id=event_id, ctwa_clid=clid,
                               whatsapp_business_account_id=self.waba_id, hashed_phones=(phone,) if phone else (),
                               value=value, currency=currency)

    def candidates(self, tenant_id: str, now: datetime) -> list[_Candidate]:
        since = now - self.max_age
        out: list[_Candidate] = []
        for c in self.store.conversions.find(tenant_id, kind=ConversionKind.PURCHASE, counted=True, since=since,
                                             until=now + timedelta(seconds=1)):
            if c.origin is not ConversionOrigin.DETECTED or c.contact is None or c.value is None:
                continue
            if self.require_click_id and not c.ctwa_clid:
                continue
            out.append(_Candidate(c.conversion_id, c.contact, self._event(
                "Purchase", c.conversion_id, c.occurred_at, c.contact, c.ctwa_clid, c.value, c.currency)))
        if self.send_leads:
            for lead in self.store.leads.find(tenant_id, since=since, until=now + timedelta(seconds=1)):
                if lead.channel is not Channel.CTWA or (self.require_click_id and not lead.ctwa_clid):
                    continue
                out.append(_Candidate(lead.lead_id, lead.contact, self._event(
                    "LeadSubmitted", lead.lead_id, lead.created_at, lead.contact, lead.ctwa_clid)))
        out.sort(key=lambda c: (c.event.event_time, c.event.event_id))
        return out

    def _mark(self, tenant_id: str, cand: _Candidate, status: CapiStatus, *, error: str | None = None,
              trace: str | None = None) -> None:
        old = self.store.capi_deliveries.get(tenant_id, cand.event.event_id)
        self.store.capi_deliveries.put(tenant_id, CapiDelivery(
            tenant_id=tenant_id, event_id=cand.event.event_id, event_name=cand.event.event_name,
            subject_id=cand.subject_id, status=status, attempts=(old.attempts if old else 0) + 1,
            updated_at=self.clock.now(), last_error=error, fbtrace_id=trace))

    def run(self, tenant_id: str) -> SendReport:
        """Send everything not sent yet (safe to re-run at any time)."""
        report = SendReport()
        now = self.clock.now()
        todo: list[_Candidate] = []
        for cand in self.candidates(tenant_id, now):
            done = self.store.capi_deliveries.get(tenant_id, cand.event.event_id)
            if done is not None and done.status is not CapiStatus.PENDING:
                report.already_done += 1
                continue
            if not self.consent.allows(tenant_id, cand.contact):
                self._mark(tenant_id, cand, CapiStatus.SKIPPED_CONSENT)
                report.skipped_consent += 1
                continue
            todo.append(cand)
        for i in range(0, len(todo), _MAX_BATCH):
            if not self._send(tenant_id, todo[i:i + _MAX_BATCH], report):
                for cand in todo[i + _MAX_BATCH:]:
                    self._mark(tenant_id, cand, CapiStatus.PENDING, error="not tried: the platform is unavailable")
                    report.pending += 1
                break
        return report

    def _send(self, tenant_id: str, batch: Sequence[_Candidate], report: SendReport) -> bool:
        """Send one batch; False when the platform is unavailable (stop for now)."""
        try:
            report.requests += 1
            result = self.api.send_events(self.dataset_id, [c.event for c in batch], waba_id=self.waba_id,
                                          test_event_code=self.test_event_code, partner_agent=self.partner_agent)
        except InvalidRequest as exc:
            if len(batch) > 1:  # find the bad event: halves until it stands alone
                mid = len(batch) // 2
                return self._send(tenant_id, batch[:mid], report) and self._send(tenant_id, batch[mid:], report)
            self._mark(tenant_id, batch[0], CapiStatus.FAILED, error=str(exc), trace=exc.request_id)
            report.failed += 1
            report.errors.append(str(exc))
            return True
        except (RateLimited, ProviderError) as exc:
            for cand in batch:
                self._mark(tenant_id, cand, CapiStatus.PENDING, error=str(exc), trace=exc.request_id)
            report.pending += len(batch)
            report.errors.append(str(exc))
            return False
        for cand in batch:
            self._mark(tenant_id, cand, CapiStatus.SENT, trace=result.fbtrace_id)
        report.sent += len(batch)
        return True
