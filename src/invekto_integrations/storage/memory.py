"""In-memory repositories: the reference implementation for unit tests (thread-safe, not durable)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import threading
from collections.abc import Sequence
from datetime import datetime

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.events import DomainEvent

from .memory_appointments import MemoryAppointments, MemoryDoctors, MemoryServicePricing, MemoryWaitlist
from .memory_attribution import (
    MemoryAdCache,
    MemoryAttributionReports,
    MemoryCapiDeliveries,
    MemoryConversions,
    MemoryLeads,
    MemorySpend,
    MemoryTagRules,
    MemoryTouches,
    MemoryTrackedLinks,
)
from .memory_calendar import MemoryCalendarSync
from .memory_claims import MemoryReturnClaims
from .memory_dashboard import MemoryReportReader, MemoryReturnCases, MemoryReviewCases
from .memory_messaging import MemoryConsentCache, MemoryMessagingContacts, MemoryOutbox
from .memory_runtime import MemoryLeases, MemoryTimers
from .memory_settings import MemoryTenantSettings
from .memory_shipments import MemoryCargoNotifications, MemoryShipments
from .protocols import DuplicateRecord, TenantMismatch, UpsertResult
from .records import CachedOrder, Checkpoint, QuarantinedRecord, StoredEvent

__all__ = [
    "MemoryAccounts",
    "MemoryCheckpoints",
    "MemoryEventLog",
    "MemoryOrderCache",
    "MemoryQuarantine",
    "MemoryStore",
]


class MemoryAccounts(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], IntegrationAccount] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, account: IntegrationAccount) -> None:
        if account.tenant_id != tenant_id:
            raise TenantMismatch("account belongs to another tenant")
        with self._lock:
            key = (account.tenant_id, account.id)
            if key in self._rows:
                raise DuplicateRecord(f"account {account.id} exists")
            self._rows[key] = account

    def get(self, tenant_id: str, account_id: str) -> IntegrationAccount | None:
        return self._rows.get((tenant_id, account_id))

    def find(
        self, tenant_id: str, *, provider: str | None = None, status: AccountStatus | None = None
    ) -> list[IntegrationAccount]:
        rows = [
            a
            for (t, _), a in self._rows.items()
            if t == tenant_id and provider in (None, a.provider) and status in (None, a.status)
        ]
        return sorted(rows, key=lambda a: a.id)

    def _update(self, tenant_id: str, account_id: str, **changes: object) -> None:
        with self._lock:
            found = self._rows.get((tenant_id, account_id))
            if found is not None:
                self._rows[(tenant_id, account_id)] = found.model_copy(update=changes)

    def set_status(self, tenant_id: str, account_id: str, status: AccountStatus, at: datetime) -> None:
        self._update(tenant_id, account_id, status=status, updated_at=at)

    def update_secret(self, tenant_id: str, account_id: str, api_key_encrypted: str, at: datetime) -> None:
        self._update(tenant_id, account_id, api_key_encrypted=api_key_encrypted, updated_at=at)

    def tenants(self) -> list[str]:
        return sorted({t for t, _ in self._rows})


class MemoryOrderCache(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str, str], CachedOrder] = {}
        self._lock = threading.Lock()

    def upsert_many(self, tenant_id: str, orders: Sequence[CachedOrder]) -> UpsertResult:
        inserted = updated = unchanged = 0
        with self._lock:
            for o in orders:
                if o.tenant_id != tenant_id:
                    raise TenantMismatch("order belongs to another tenant")
                key = (tenant_id, o.provider, o.account_id, o.external_order_id)
                found = self._rows.get(key)
                if found is None:
                    self._rows[key] = o
                    inserted += 1
                elif found.content_hash == o.content_hash:
                    self._rows[key] = found.model_copy(update={"synced_at": o.synced_at})
                    unchanged += 1
                else:
                    self._rows[key] = o.model_copy(update={"id": found.id, "created_at": found.created_at})
                    updated += 1
        return UpsertResult(inserted, updated, unchanged)

    def get(self, tenant_id: str, provider: str, account_id: str, external_order_id: str) -> CachedOrder | None:
        return self._rows.get((tenant_id, provider, account_id, external_order_id))

    def get_many(
        self, tenant_id: str, provider: str, account_id: str, external_order_ids: Sequence[str]
    ) -> dict[str, CachedOrder]:
        out = {}
        for oid in external_order_ids:
            found = self._rows.get((tenant_id, provider, account_id, oid))
            if found is not None:
                out[oid] = found
        return out

    def find_by_phone(self, tenant_id: str, phone_e164: str, *, limit: int = 100) -> list[CachedOrder]:
        rows = [o for o in self._rows.values() if o.tenant_id == tenant_id and o.customer_phone == phone_e164]
        rows.sort(key=lambda o: (o.ordered_at, o.external_order_id), reverse=True)
        return rows[:limit]

    def find_by_tracking_code(self, tenant_id: str, tracking_code: str) -> list[CachedOrder]:
        return [o for o in self._rows.values() if o.tenant_id == tenant_id and o.tracking_code == tracking_code]

    def count(self, tenant_id: str, *, provider: str | None = None) -> int:
        return sum(1 for o in self._rows.values() if o.tenant_id == tenant_id and provider in (None, o.provider))


class MemoryCheckpoints(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], Checkpoint] = {}

    def get(self, tenant_id: str, account_id: str, stream: str) -> Checkpoint | None:
        return self._rows.get((tenant_id, account_id, stream))

    def put(self, tenant_id: str, checkpoint: Checkpoint) -> None:
        if checkpoint.tenant_id != tenant_id:
            raise TenantMismatch("checkpoint belongs to another tenant")
        self._rows[(checkpoint.tenant_id, checkpoint.account_id, checkpoint.stream)] = checkpoint


def raw_record_hash(raw_json: str) -> str:
    """SHA-256 of a quarantined record's raw payload: part of the quarantine's unique key."""
    return hashlib.sha256(raw_json.encode()).hexdigest()


class MemoryQuarantine(ConciseRepr):
    def __init__(self) -> None:
        self._rows: list[QuarantinedRecord] = []
        self._keys: set[tuple[str, str, str, str, str]] = set()
        self._lock = threading.Lock()

    def add(self, tenant_id: str, record: QuarantinedRecord) -> None:
        """Store a quarantined record; the same record (same raw payload) again is a no-op."""
        if record.tenant_id != tenant_id:
            raise TenantMismatch("quarantined record belongs to another tenant")
        r = record
        key = (r.tenant_id, r.provider, r.account_id, r.record_id or "", raw_record_hash(r.raw_json))
        with self._lock:
            if key in self._keys:
                return
            self._keys.add(key)
            self._rows.append(record)

    def find(self, tenant_id: str, *, provider: str | None = None) -> list[QuarantinedRecord]:
        rows = [r for r in self._rows if r.tenant_id == tenant_id and provider in (None, r.provider)]
        return sorted(rows, key=lambda r: r.id)


class MemoryEventLog(ConciseRepr):
    def __init__(self) -> None:
        self._events: list[StoredEvent] = []
        self._ids: set[str] = set()
        self._dedupe: set[tuple[str, str]] = set()
        self._cursors: dict[tuple[str, str], int] = {}
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def append(self, tenant_id: str, events: Sequence[DomainEvent], *, at: datetime) -> list[StoredEvent]:
        out = []
        with self._lock:
            for e in events:
                if e.tenant_id != tenant_id:
                    raise TenantMismatch("event belongs to another tenant")
                if e.event_id in self._ids or (e.dedupe_key and (tenant_id, e.dedupe_key) in self._dedupe):
                    continue
                stored = StoredEvent(
                    seq=next(self._seq), event_id=e.event_id, tenant_id=tenant_id, type=e.TYPE, version=e.VERSION,
                    occurred_at=e.occurred_at, recorded_at=at, dedupe_key=e.dedupe_key, data=e.model_dump(mode="json"),
                )
                self._events.append(stored)
                self._ids.add(e.event_id)
                if e.dedupe_key:
                    self._dedupe.add((tenant_id, e.dedupe_key))
                out.append(stored)
        return out

    def read(
        self, tenant_id: str, *, after: int = 0, limit: int = 500, types: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        out = []
        for e in self._events:
            if e.tenant_id == tenant_id and e.seq > after and (not types or e.type in types):
                out.append(e)
                if len(out) >= limit:
                    break
        return out

    def cursor(self, tenant_id: str, consumer: str) -> int:
        return self._cursors.get((tenant_id, consumer), 0)

    def advance(self, tenant_id: str, consumer: str, seq: int) -> None:
        with self._lock:
            key = (tenant_id, consumer)
            self._cursors[key] = max(self._cursors.get(key, 0), seq)

    def tenants(self) -> list[str]:
        return sorted({e.tenant_id for e in self._events})


class MemoryStore(ConciseRepr):
    """Every repository, in memory."""

    def __init__(self) -> None:
        self.accounts = MemoryAccounts()
        self.orders = MemoryOrderCache()
        self.checkpoints = MemoryCheckpoints()
        self.quarantine = MemoryQuarantine()
        self.events = MemoryEventLog()
        self.shipments = MemoryShipments()
        self.cargo_notifications = MemoryCargoNotifications()
        self.outbox = MemoryOutbox()
        self.consents = MemoryConsentCache()
        self.messaging_contacts = MemoryMessagingContacts()
        # appointments (issue 8)
        self.appointments = MemoryAppointments()
        self.doctors = MemoryDoctors()
        self.service_pricing = MemoryServicePricing()
        self.waitlist = MemoryWaitlist()
        self.calendar_sync = MemoryCalendarSync()
        # engine runtime
        self.leases = MemoryLeases()
        self.timers = MemoryTimers()
        # dashboard: return/review cases and the panels' range reads
        self.return_cases = MemoryReturnCases()
        self.review_cases = MemoryReviewCases()
        self.reports = MemoryReportReader(self.orders, self.shipments, self.appointments, self.waitlist,
                                          self.service_pricing, self.outbox)
        # attribution (issue 15)
        self.tracked_links = MemoryTrackedLinks()
        self.touches = MemoryTouches()
        self.leads = MemoryLeads()
        self.conversions = MemoryConversions()
        self.ad_spend = MemorySpend()
        self.tag_rules = MemoryTagRules()
        self.ad_cache = MemoryAdCache()
        self.capi_deliveries = MemoryCapiDeliveries()
        self.attribution_reports = MemoryAttributionReports(self.touches, self.leads, self.conversions, self.ad_spend)
        # marketplace return claims
        self.return_claims = MemoryReturnClaims()
        # per-tenant settings
        self.tenant_settings = MemoryTenantSettings()
        # campaigns (issue 16); imported here: the campaigns package imports messaging, which imports storage
        from .memory_campaigns import (
            MemoryCampaignConversions,
            MemoryCampaigns,
            MemoryContactProfiles,
            MemoryRecipients,
        )

        self.campaigns = MemoryCampaigns()
        self.campaign_recipients = MemoryRecipients()
        self.campaign_conversions = MemoryCampaignConversions()
        self.contact_profiles = MemoryContactProfiles(self.consents, self.messaging_contacts)
        from .api_tokens import MemoryApiTokens

        self.api_tokens = MemoryApiTokens()

    def atomic(self) -> contextlib.AbstractContextManager[None]:
        """A unit of work (nothing to roll back in memory; a crash loses everything anyway)."""
        return contextlib.nullcontext()

    def close(self) -> None:
        return None
