"""In-memory messaging repositories: outbox, consent cache, messaging contacts."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.reprs import ConciseRepr

from .protocols import DuplicateRecord, TenantMismatch
from .records import (
    ConsentCacheRecord,
    MessagingContact,
    OutboxCount,
    OutboxRecord,
    OutboxStatus,
    PendingStatusRecord,
)

__all__ = ["MemoryConsentCache", "MemoryMessagingContacts", "MemoryOutbox"]

_NOT_COUNTED = (OutboxStatus.REFUSED, OutboxStatus.FAILED)


class MemoryOutbox(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], OutboxRecord] = {}
        self._keys: dict[tuple[str, str], str] = {}
        # (tenant_id, provider_message_id) -> early statuses, in arrival order
        self._pending: dict[tuple[str, str], list[PendingStatusRecord]] = {}
        self._lock = threading.Lock()

    def insert_if_absent(self, tenant_id: str, record: OutboxRecord) -> tuple[OutboxRecord, bool]:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        with self._lock:
            existing = self._keys.get((record.tenant_id, record.idempotency_key))
            if existing is not None:
                return self._rows[(record.tenant_id, existing)], False
            if (record.tenant_id, record.id) in self._rows:
                raise DuplicateRecord(f"outbox id {record.id} exists")
            self._rows[(record.tenant_id, record.id)] = record
            self._keys[(record.tenant_id, record.idempotency_key)] = record.id
            return record, True

    def get(self, tenant_id: str, outbox_id: str) -> OutboxRecord | None:
        return self._rows.get((tenant_id, outbox_id))

    def get_by_key(self, tenant_id: str, idempotency_key: str) -> OutboxRecord | None:
        found = self._keys.get((tenant_id, idempotency_key))
        return self._rows.get((tenant_id, found)) if found else None

    def get_by_provider_id(self, tenant_id: str, provider_message_id: str) -> OutboxRecord | None:
        for (t, _), row in list(self._rows.items()):
            if t == tenant_id and row.provider_message_id == provider_message_id:
                return row
        return None

    def buffer_status(self, tenant_id: str, record: PendingStatusRecord) -> OutboxRecord | None:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("pending status belongs to another tenant")
        with self._lock:
            row = self.get_by_provider_id(record.tenant_id, record.provider_message_id)
            if row is not None:
                return row
            rows = self._pending.setdefault((record.tenant_id, record.provider_message_id), [])
            if not any(r.status == record.status and r.provider == record.provider for r in rows):
                rows.append(record)
            return None

    def save_taking_statuses(self, tenant_id: str, record: OutboxRecord) -> list[PendingStatusRecord]:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        with self._lock:
            key = (record.tenant_id, record.id)
            if key not in self._rows:
                raise StorageError(f"no outbox row {record.id} for this tenant")
            self._rows[key] = record
            if record.provider_message_id is None:
                return []
            return self._pending.pop((record.tenant_id, record.provider_message_id), [])

    def purge_pending_statuses(self, tenant_id: str, before: datetime) -> int:
        removed = 0
        with self._lock:
            for key in [k for k in self._pending if k[0] == tenant_id]:
                kept = [r for r in self._pending[key] if r.received_at >= before]
                removed += len(self._pending[key]) - len(kept)
                if kept:
                    self._pending[key] = kept
                else:
                    del self._pending[key]
        return removed

    def stale(self, tenant_id: str, status: OutboxStatus, updated_before: datetime, *,
              limit: int = 100) -> list[OutboxRecord]:
        rows = [r for (t, _), r in list(self._rows.items())
                if t == tenant_id and r.status == status and r.updated_at < updated_before]
        rows.sort(key=lambda r: (r.updated_at, r.id))
        return rows[:limit]

    def save(self, tenant_id: str, record: OutboxRecord) -> None:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        with self._lock:
            key = (record.tenant_id, record.id)
            if key not in self._rows:
                raise StorageError(f"no outbox row {record.id} for this tenant")
            self._rows[key] = record

    def claim(self, tenant_id: str, outbox_id: str, expected: Sequence[OutboxStatus], new: OutboxStatus,
              at: datetime) -> OutboxRecord | None:
        with self._lock:
            row = self._rows.get((tenant_id, outbox_id))
            if row is None or row.status not in expected:
                return None
            updated = row.model_copy(update={"status": new, "updated_at": at})
            self._rows[(tenant_id, outbox_id)] = updated
            return updated

    def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[OutboxRecord]:
        rows = [r for (t, _), r in list(self._rows.items())
                if t == tenant_id and r.status in (OutboxStatus.SCHEDULED, OutboxStatus.QUEUED) and r.due_at <= now]
        rows.sort(key=lambda r: (r.due_at, r.id))
        return rows[:limit]

    def count_recent(self, tenant_id: str, to_phone: str, categories: Sequence[str], since: datetime) -> int:
        return sum(1 for (t, _), r in list(self._rows.items())
                   if t == tenant_id and r.to_phone == to_phone and r.category in categories
                   and r.created_at >= since and r.status not in _NOT_COUNTED)

    def status_counts(self, tenant_id: str, *, purpose: str | None = None) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (t, _), r in list(self._rows.items()):
            if t == tenant_id and purpose in (None, r.purpose):
                bucket = out.setdefault(r.purpose, {})
                bucket[r.status.value] = bucket.get(r.status.value, 0) + 1
        return out

    def grouped_counts(self, tenant_id: str, *, purpose: str | None = None,
                       campaign_id: str | None = None) -> list[OutboxCount]:
        counts: dict[tuple[str, str | None, str | None, str], int] = {}
        for (t, _), r in list(self._rows.items()):
            if t == tenant_id and purpose in (None, r.purpose) and campaign_id in (None, r.campaign_id):
                key = (r.purpose, r.campaign_id, r.variant, r.status.value)
                counts[key] = counts.get(key, 0) + 1
        return [OutboxCount(purpose=p, campaign_id=c, variant=v, status=OutboxStatus(s), count=n)
                for (p, c, v, s), n in sorted(counts.items(), key=lambda kv: _null_first(kv[0]))]

    def tenants(self) -> list[str]:
        return sorted({t for t, _ in self._rows})


def _null_first(key: tuple[str, str | None, str | None, str]) -> tuple[object, ...]:
    p, c, v, s = key
    return (p, c is not None, c or "", v is not None, v or "", s)


class MemoryConsentCache(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str, str], ConsentCacheRecord] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, brand_code: str, recipient: str, type: str) -> ConsentCacheRecord | None:
        return self._rows.get((tenant_id, brand_code, recipient, type))

    def upsert(self, tenant_id: str, record: ConsentCacheRecord) -> None:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("consent record belongs to another tenant")
        with self._lock:
            self._rows[(record.tenant_id, record.brand_code, record.recipient, record.type)] = record

    def find(self, tenant_id: str, *, status: str | None = None) -> list[ConsentCacheRecord]:
        rows = [r for r in list(self._rows.values()) if r.tenant_id == tenant_id and status in (None, r.status)]
        return sorted(rows, key=lambda r: (r.brand_code, r.recipient, r.type))


class MemoryMessagingContacts(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], MessagingContact] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, phone: str) -> MessagingContact | None:
        return self._rows.get((tenant_id, phone))

    def _current(self, tenant_id: str, phone: str, at: datetime) -> MessagingContact:
        return self._rows.get((tenant_id, phone)) or MessagingContact(tenant_id=tenant_id, phone=phone, updated_at=at)

    def record_inbound(self, tenant_id: str, phone: str, at: datetime, *, wa_id: str | None = None,
                       ctwa_clid: str | None = None, referral_json: str | None = None) -> MessagingContact:
        with self._lock:
            row = self._current(tenant_id, phone, at)
            changes: dict[str, object] = {"updated_at": at}
            if row.last_inbound_at is None or at > row.last_inbound_at:
                changes["last_inbound_at"] = at
            if wa_id:
                changes["wa_id"] = wa_id
            if ctwa_clid and (row.ctwa_at is None or row.ctwa_at <= at):
                changes.update(ctwa_clid=ctwa_clid, ctwa_at=at, referral_json=referral_json)
            row = row.model_copy(update=changes)
            self._rows[(tenant_id, phone)] = row
            return row

    def set_opt_out(self, tenant_id: str, phone: str, at: datetime, keyword: str) -> MessagingContact:
        with self._lock:
            row = self._current(tenant_id, phone, at)
            if _later_decision(row, at):
                return row
            row = row.model_copy(update={"opted_out_at": at, "opt_out_keyword": keyword, "opt_changed_at": at,
                                         "updated_at": at})
            self._rows[(tenant_id, phone)] = row
            return row

    def clear_opt_out(self, tenant_id: str, phone: str, at: datetime) -> MessagingContact:
        with self._lock:
            row = self._current(tenant_id, phone, at)
            if _later_decision(row, at):
                return row
            row = row.model_copy(update={"opted_out_at": None, "opt_out_keyword": None, "opt_changed_at": at,
                                         "updated_at": at})
            self._rows[(tenant_id, phone)] = row
            return row


def _later_decision(row: MessagingContact, at: datetime) -> bool:
    """An opt-out/opt-in decided after ``at`` is on record (a redelivered old message must not undo it)."""
    last = row.opt_changed_at or row.opted_out_at
    return last is not None and last > at
