"""Consent rules before a send: İYS consent for commercial messages, opt-outs for everyone.

The law (6563, Art. 6) requires prior consent for *commercial* electronic messages; transactional
ones (cargo status, order and invoice notices, appointment reminders) need none and must carry
no promotion. Whether WhatsApp marketing must be checked against İYS (type MESAJ) is not settled
(see docs/messaging.md); `ConsentPolicy` makes each open point an explicit, per-tenant setting
whose default is the safe reading:

- a MARKETING send to a BIREYSEL recipient needs an ``ONAY`` for type ``MESAJ`` in İYS;
- UTILITY / AUTHENTICATION / SERVICE sends need no consent;
- TACIR recipients need no prior opt-in, but a RET from them is honoured;
- a cached consent never outlives a RET seen later in İYS's change feed;
- an opt-out keyword ("DUR", "İPTAL", "STOP", ...) blocks every later commercial send.

`ConsentService.check` reads the local cache (``consents`` table) and asks İYS when the cache
has nothing fresh; `sync_changes` applies İYS's change feed (citizen RETs) with a durable cursor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import ProviderError
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.phone import e164_shaped, normalize_phone, tr_phone_by_format, try_normalize_phone
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.core.text import fold_words
from invekto_integrations.models.consent import (
    ConsentChangeProblem,
    ConsentRecord,
    ConsentStatus,
    ConsentType,
    RecipientType,
)
from invekto_integrations.models.settings import ConsentPolicy
from invekto_integrations.providers.base import ConsentSource
from invekto_integrations.storage.protocols import (
    CheckpointRepository,
    ConsentCacheRepository,
    MessagingContactRepository,
    QuarantineRepository,
)
from invekto_integrations.storage.records import Checkpoint, ConsentCacheRecord, QuarantinedRecord
from invekto_integrations.storage.settings import TenantSettingsRepository

from .base import MessageCategory

__all__ = ["BulkConsentSource", "ConsentDecision", "ConsentPolicy", "ConsentService", "fold_keyword"]

log = logging.getLogger("invekto_integrations.messaging.consent")


def fold_keyword(text: str) -> str:
    """Case- and Turkish-letter-insensitive form: İ/I/ı/i fold together, accents drop, spaces collapse.

    ``"İptal"``, ``"IPTAL"``, ``"ıptal"`` and ``"iptal."`` all give ``"iptal"``.
    """
    return fold_words(text)


class ConsentDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    allowed: bool
    reason: str  # no_consent | consent_rejected | opted_out | consent | transactional | tacir | iys_not_required
    detail: str = ""


@runtime_checkable
class BulkConsentSource(ConsentSource, Protocol):
    """A `ConsentSource` that can also query many recipients at once (`IysClient.query_consents`)."""

    def query_consents(self, recipients: Sequence[str], *, type: ConsentType = ConsentType.MESAJ,
                       recipient_type: RecipientType = RecipientType.BIREYSEL) -> list[ConsentRecord]: ...


@dataclass
class _Tenant:
    policy: ConsentPolicy
    source: ConsentSource | None
    brand_code: str


class ConsentService(ConciseRepr, fields=("cache", "clock")):
    """Consent checks, opt-outs and İYS sync for every tenant."""

    def __init__(
        self,
        cache: ConsentCacheRepository,
        contacts: MessagingContactRepository,
        *,
        checkpoints: CheckpointRepository | None = None,
        clock: Clock | None = None,
        default_policy: ConsentPolicy | None = None,
        quarantine: QuarantineRepository | None = None,
        settings_repository: TenantSettingsRepository | None = None,
    ) -> None:
        """``settings_repository`` gives each tenant's policy and opt-out keywords from its
        `TenantSettings`; a policy given to `configure` overrides it."""
        self.cache = cache
        self.contacts = contacts
        self.checkpoints = checkpoints
        self.quarantine = quarantine
        self.clock = clock or SystemClock()
        self.default_policy = default_policy or ConsentPolicy()
        self.settings_repository = settings_repository
        # tenant → (policy override or None, İYS source, brand code)
        self._tenants: dict[str, tuple[ConsentPolicy | None, ConsentSource | None, str]] = {}

    def configure(self, tenant_id: str, *, policy: ConsentPolicy | None = None, source: ConsentSource | None = None,
                  brand_code: str = "default") -> None:
        """Set a tenant's İYS brand (``source`` = an `IysClient` for that brand) and optionally
        override its policy (without one, the stored `TenantSettings` or the default apply)."""
        self._tenants[tenant_id] = (policy, source, brand_code)

    def _tenant(self, tenant_id: str) -> _Tenant:
        _, source, brand = self._tenants.get(tenant_id, (None, None, "default"))
        return _Tenant(self.policy(tenant_id), source, brand)

    def policy(self, tenant_id: str) -> ConsentPolicy:
        configured = self._tenants.get(tenant_id, (None, None, ""))[0]
        if configured is not None:
            return configured
        stored = self.settings_repository.get(tenant_id) if self.settings_repository is not None else None
        return stored.consent_policy() if stored is not None else self.default_policy

    # -- the check ----------------------------------------------------------------------------
    def check(self, tenant_id: str, phone: str, category: MessageCategory, *,
              recipient_type: RecipientType | None = None) -> ConsentDecision:
        """May ``category`` go to ``phone`` now? Raises `ProviderError` only if İYS had to be asked
        and could not answer (the caller decides whether to wait or refuse)."""
        return self._decide(tenant_id, normalize_phone(phone), category, recipient_type, query=True)

    def _decide(self, tenant_id: str, recipient: str, category: MessageCategory,
                recipient_type: RecipientType | None, *, query: bool) -> ConsentDecision:
        t = self._tenant(tenant_id)
        p = t.policy
        commercial = p.is_commercial(category)
        contact = self.contacts.get(tenant_id, recipient)
        if contact is not None and contact.opted_out_at is not None and (commercial or p.opt_out_blocks_transactional):
            return ConsentDecision(allowed=False, reason="opted_out",
                                   detail=f"opted out with {contact.opt_out_keyword!r} at {contact.opted_out_at}")
        if not commercial:
            return ConsentDecision(allowed=True, reason="transactional")
        rtype = recipient_type or p.default_recipient_type
        cached = self.cache.get(tenant_id, t.brand_code, recipient, p.consent_type.value)
        if cached is not None and cached.status == ConsentStatus.RET:
            return ConsentDecision(allowed=False, reason="consent_rejected",
                                   detail=f"İYS RET ({cached.origin}, {cached.source})")
        if rtype == RecipientType.TACIR and not p.tacir_requires_consent:
            return ConsentDecision(allowed=True, reason="tacir")
        if not p.require_iys:
            return ConsentDecision(allowed=True, reason="iys_not_required")
        now = self.clock.now()
        may_query = query and t.source is not None and p.query_on_miss
        if cached is not None and cached.status == ConsentStatus.ONAY and (
            not may_query or now - cached.synced_at <= p.cache_ttl
        ):
            return ConsentDecision(allowed=True, reason="consent", detail=f"İYS ONAY ({cached.origin})")
        if not may_query or t.source is None:
            return ConsentDecision(allowed=False, reason="no_consent", detail="no İYS ONAY on record")
        record = t.source.query_consent(recipient, type=p.consent_type, recipient_type=rtype)
        if record is None:
            return ConsentDecision(allowed=False, reason="no_consent", detail="İYS has no record for the recipient")
        self._store(tenant_id, t.brand_code, record, "iys_query", now)
        if record.status == ConsentStatus.ONAY:
            return ConsentDecision(allowed=True, reason="consent", detail="İYS ONAY (queried)")
        return ConsentDecision(allowed=False, reason="consent_rejected", detail="İYS RET (queried)")

    def prefetch(self, tenant_id: str, phones: Sequence[str], *,
                 recipient_type: RecipientType | None = None) -> dict[str, ConsentDecision]:
        """Before a campaign: refresh the cache for many recipients with İYS's multi-query (1,000 per
        request) when the tenant's source offers it, and return each phone's decision for a MARKETING
        send (keyed as given). Recipients İYS has no record of come back ``no_consent``; submitting
        only the allowed ones afterwards costs no further İYS call (their ONAY is fresh in the cache).
        Raises `ProviderError` if İYS cannot answer."""
        t = self._tenant(tenant_id)
        p = t.policy
        rtype = recipient_type or p.default_recipient_type
        decisions: dict[str, ConsentDecision] = {}
        valid: dict[str, str] = {}
        for phone in phones:
            normalized = try_normalize_phone(phone)
            if normalized is None:
                decisions[phone] = ConsentDecision(allowed=False, reason="invalid_phone")
            else:
                valid[phone] = normalized
        if isinstance(t.source, BulkConsentSource) and p.require_iys and p.query_on_miss:
            now = self.clock.now()
            stale = sorted({r for r in valid.values() if self._needs_query(tenant_id, t.brand_code, p, r, now)})
            if stale:
                for record in t.source.query_consents(stale, type=p.consent_type, recipient_type=rtype):
                    self._store(tenant_id, t.brand_code, record, "iys_query", now)
        for phone, recipient in valid.items():
            decisions[phone] = self._decide(tenant_id, recipient, MessageCategory.MARKETING, recipient_type,
                                            query=not isinstance(t.source, BulkConsentSource))
        return decisions

    def _needs_query(self, tenant_id: str, brand: str, p: ConsentPolicy, recipient: str, now: datetime) -> bool:
        cached = self.cache.get(tenant_id, brand, recipient, p.consent_type.value)
        if cached is None:
            return True
        return cached.status == ConsentStatus.ONAY and now - cached.synced_at > p.cache_ttl

    # -- writes ---------------------------------------------------------------------------------
    def _store(self, tenant_id: str, brand: str, record: ConsentRecord, origin: str, now: datetime) -> None:
        self.cache.upsert(tenant_id, ConsentCacheRecord(
            tenant_id=tenant_id, brand_code=brand, recipient=record.recipient, type=record.type.value,
            recipient_type=record.recipient_type.value, status=record.status.value, source=record.source,
            consent_date=record.consent_date, creation_date=record.creation_date,
            transaction_id=record.transaction_id, origin=origin, synced_at=now, updated_at=now,
        ))

    def apply_changes(self, tenant_id: str, records: Sequence[ConsentRecord], *, origin: str = "iys_changes") -> int:
        """Apply change-feed records to the cache. A RET always lands; an ONAY replaces a cached RET
        only when it was recorded later. Returns how many rows changed."""
        t = self._tenant(tenant_id)
        now = self.clock.now()
        changed = 0
        for record in records:
            cached = self.cache.get(tenant_id, t.brand_code, record.recipient, record.type.value)
            if cached is not None and cached.creation_date is not None and record.creation_date is not None \
                    and record.creation_date < cached.creation_date:
                continue  # İYS recorded the cached one later (its creationDate orders consent changes)
            if record.status == ConsentStatus.ONAY and cached is not None and cached.status == ConsentStatus.RET:
                # An ONAY replaces a RET only when it is provably later (a re-consent); with either
                # time unknown the RET stays (fail safe).
                ret_at = cached.creation_date or cached.consent_date
                onay_at = record.creation_date or record.consent_date
                if ret_at is None or onay_at is None or onay_at <= ret_at:
                    continue
            self._store(tenant_id, t.brand_code, record, origin, now)
            changed += 1
        return changed

    def sync_changes(self, tenant_id: str, *, source: str = "IYS", limit: int = 100) -> int:
        """Pull İYS's change feed from the stored cursor to the end; returns records applied.
        Run it every 5–15 minutes: a citizen's RET must be honoured within 3 business days."""
        t = self._tenant(tenant_id)
        if t.source is None:
            return 0
        stream = f"iys_changes:{source}"
        cp = self.checkpoints.get(tenant_id, t.brand_code, stream) if self.checkpoints else None
        after = cp.cursor if cp else None
        applied = 0
        while True:
            page = t.source.pull_changes(source=source, after=after, limit=limit)
            applied += self.apply_changes(tenant_id, page.items)
            self._quarantine(tenant_id, t.brand_code, page.problems)
            if self.checkpoints is not None and page.after:
                self.checkpoints.put(tenant_id, Checkpoint(tenant_id=tenant_id, account_id=t.brand_code, stream=stream,
                                                cursor=page.after, updated_at=self.clock.now()))
            if not (page.items or page.problems) or page.after == after:
                return applied
            after = page.after

    def _quarantine(self, tenant_id: str, brand: str, problems: Sequence[ConsentChangeProblem]) -> None:
        for problem in problems:
            log.warning("İYS change-feed element %d quarantined (%s): %s", problem.index, problem.field,
                        problem.error)
            if self.quarantine is not None:
                self.quarantine.add(tenant_id, QuarantinedRecord(
                    id=new_id(), tenant_id=tenant_id, provider="iys", account_id=brand, record_id=problem.recipient,
                    field=problem.field, error=f"consents/changes list[{problem.index}]: {problem.error}",
                    raw_json=json.dumps(problem.raw, ensure_ascii=False, default=str), created_at=self.clock.now()))

    def record_consent(self, tenant_id: str, phone: str, *, status: ConsentStatus = ConsentStatus.ONAY,
                       source_code: str = "HS_WEB", consent_date: datetime | None = None,
                       recipient_type: RecipientType | None = None, register: bool = True) -> ConsentRecord:
        """A consent collected by the business: upload it to İYS (3 business days at most) and cache it."""
        t = self._tenant(tenant_id)
        # İYS judges a recipient by format (+90 and ten digits), not by libphonenumber's ranges
        recipient = try_normalize_phone(phone) or tr_phone_by_format(phone) or normalize_phone(phone)
        record = ConsentRecord(recipient=recipient, type=t.policy.consent_type,
                               recipient_type=recipient_type or t.policy.default_recipient_type, status=status,
                               source=source_code, consent_date=consent_date or self.clock.now())
        if register and t.source is not None:
            receipt = t.source.add_consent(record)
            record = record.model_copy(update={"transaction_id": receipt.transaction_id,
                                               "creation_date": receipt.creation_date})
        self._store(tenant_id, t.brand_code, record, "local", self.clock.now())
        if status == ConsentStatus.ONAY:
            self.contacts.clear_opt_out(tenant_id, record.recipient, self.clock.now())
        return record

    # -- opt-out --------------------------------------------------------------------------------
    def opt_out_keyword(self, tenant_id: str, text: str | None) -> str | None:
        """The configured keyword ``text`` consists of (folded), else ``None``; a keyword inside a
        longer sentence ("kargom durdu mu?") is not an opt-out."""
        if not text:
            return None
        folded = fold_keyword(text)
        for keyword in self._tenant(tenant_id).policy.opt_out_keywords:
            if folded == fold_keyword(keyword):
                return keyword
        return None

    def record_opt_out(self, tenant_id: str, phone: str, *, keyword: str, at: datetime | None = None) -> None:
        """Store an opt-out every later commercial send respects; optionally register a RET in İYS
        (only where İYS already holds a record: a first record cannot be RET, H175)."""
        t = self._tenant(tenant_id)
        when = at or self.clock.now()
        # a WhatsApp id libphonenumber calls invalid is still a customer who asked to stop
        recipient = try_normalize_phone(phone) or e164_shaped(phone) or normalize_phone(phone)
        before = self.contacts.get(tenant_id, recipient)
        last = (before.opt_changed_at or before.opted_out_at) if before is not None else None
        if last is not None and (last > when or (last == when and before is not None and before.opted_out_at)):
            # This opt-out (a redelivered message) or a later opt-out/opt-in is already on record:
            # applying it again would move the state back in time or upload a second RET.
            return
        self.contacts.set_opt_out(tenant_id, recipient, when, keyword)
        if not (t.policy.register_opt_out_in_iys and t.source is not None):
            return
        cached = self.cache.get(tenant_id, t.brand_code, recipient, t.policy.consent_type.value)
        if cached is None or cached.status != ConsentStatus.ONAY:
            return
        ret = ConsentRecord(recipient=recipient, type=t.policy.consent_type,
                            recipient_type=t.policy.default_recipient_type, status=ConsentStatus.RET,
                            source=t.policy.opt_out_iys_source, consent_date=when)
        try:
            receipt = t.source.add_consent(ret)
            ret = ret.model_copy(update={"transaction_id": receipt.transaction_id,
                                         "creation_date": receipt.creation_date})
        except ProviderError as exc:  # the local opt-out already blocks sends; the upload is retried by ops
            log.warning("İYS RET upload failed for tenant %s: %s", tenant_id, exc)
            return
        self._store(tenant_id, t.brand_code, ret, "local", self.clock.now())


