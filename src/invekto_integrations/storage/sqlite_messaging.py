"""SQLite messaging repositories: ``outbox``, ``consents``, ``messaging_contacts``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from .protocols import TenantMismatch
from .records import (
    ConsentCacheRecord,
    MessagingContact,
    OutboxCount,
    OutboxRecord,
    OutboxStatus,
    PendingStatusRecord,
)

__all__ = ["SQLiteConsentCache", "SQLiteMessagingContacts", "SQLiteOutbox"]

_OUTBOX_COLS = (
    "id", "tenant_id", "idempotency_key", "purpose", "category", "to_phone", "message_json", "status", "reason",
    "due_at", "attempts", "provider", "provider_message_id", "recipient_id", "error_code", "error_title",
    "created_at", "updated_at", "accepted_at", "sent_at", "delivered_at", "read_at", "failed_at",
    "campaign_id", "variant",
)
_OUTBOX_TS = ("due_at", "created_at", "updated_at", "accepted_at", "sent_at", "delivered_at", "read_at", "failed_at")
_SELECT = f"SELECT {', '.join(_OUTBOX_COLS)} FROM outbox"


def _opt_ts(value: datetime | None) -> str | None:
    return to_ts(value) if value is not None else None


def _opt_dt(value: str | None) -> datetime | None:
    return from_ts(value) if value else None


class SQLiteOutbox(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0101_outbox",
            [
                """CREATE TABLE outbox (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, idempotency_key TEXT NOT NULL,
                    purpose TEXT NOT NULL, category TEXT NOT NULL, to_phone TEXT NOT NULL,
                    message_json TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, due_at TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0, provider TEXT, provider_message_id TEXT, recipient_id TEXT,
                    error_code TEXT, error_title TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                    accepted_at TEXT, sent_at TEXT, delivered_at TEXT, read_at TEXT, failed_at TEXT,
                    UNIQUE (tenant_id, idempotency_key))""",
                "CREATE INDEX ix_outbox_due ON outbox (tenant_id, status, due_at)",
                "CREATE INDEX ix_outbox_provider_id ON outbox (tenant_id, provider_message_id)",
                "CREATE INDEX ix_outbox_recipient ON outbox (tenant_id, to_phone, created_at)",
            ],
        )
        # Status webhooks that arrived before the send stored the provider's id (any process).
        db.migrate(
            "0104_pending_statuses",
            [
                """CREATE TABLE pending_statuses (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, provider TEXT NOT NULL,
                    provider_message_id TEXT NOT NULL, status TEXT NOT NULL, update_json TEXT NOT NULL,
                    received_at TEXT NOT NULL, UNIQUE (tenant_id, provider, provider_message_id, status))""",
                "CREATE INDEX ix_pending_statuses_received ON pending_statuses (tenant_id, received_at)",
                "CREATE INDEX ix_outbox_stale ON outbox (tenant_id, status, updated_at)",
            ],
        )
        # Campaign correlation as columns, so per-campaign and per-variant counts are one query.
        db.migrate(
            "outbox_0001_correlation",
            [
                "ALTER TABLE outbox ADD COLUMN campaign_id TEXT",
                "ALTER TABLE outbox ADD COLUMN variant TEXT",
                "CREATE INDEX ix_outbox_correlation ON outbox (tenant_id, purpose, campaign_id, variant, status)",
            ],
        )
        db.tenant_key("outbox_0002_tenant_key", "outbox")  # ids per tenant, as in memory and PostgreSQL

    @staticmethod
    def _row(r: Any) -> OutboxRecord:
        data = dict(r)
        for key in _OUTBOX_TS:
            data[key] = _opt_dt(data[key])
        return OutboxRecord.model_validate(data)

    @staticmethod
    def _values(rec: OutboxRecord) -> tuple[object, ...]:
        data = rec.model_dump()
        data["status"] = rec.status.value
        for key in _OUTBOX_TS:
            data[key] = _opt_ts(data[key])
        return tuple(data[c] for c in _OUTBOX_COLS)

    def insert_if_absent(self, tenant_id: str, record: OutboxRecord) -> tuple[OutboxRecord, bool]:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        with self.db.transaction() as conn:
            cur = conn.execute(
                f"INSERT INTO outbox ({', '.join(_OUTBOX_COLS)}) VALUES ({','.join('?' * len(_OUTBOX_COLS))}) "
                "ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
                self._values(record),
            )
            if cur.rowcount == 1:
                return record, True
            r = conn.execute(f"{_SELECT} WHERE tenant_id = ? AND idempotency_key = ?",
                             (record.tenant_id, record.idempotency_key)).fetchone()
            return self._row(r), False

    def get(self, tenant_id: str, outbox_id: str) -> OutboxRecord | None:
        r = self.db.execute(f"{_SELECT} WHERE tenant_id = ? AND id = ?", (tenant_id, outbox_id)).fetchone()
        return self._row(r) if r else None

    def get_by_key(self, tenant_id: str, idempotency_key: str) -> OutboxRecord | None:
        r = self.db.execute(f"{_SELECT} WHERE tenant_id = ? AND idempotency_key = ?",
                            (tenant_id, idempotency_key)).fetchone()
        return self._row(r) if r else None

    def get_by_provider_id(self, tenant_id: str, provider_message_id: str) -> OutboxRecord | None:
        r = self.db.execute(f"{_SELECT} WHERE tenant_id = ? AND provider_message_id = ?",
                            (tenant_id, provider_message_id)).fetchone()
        return self._row(r) if r else None

    def save(self, tenant_id: str, record: OutboxRecord) -> None:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        cols = [c for c in _OUTBOX_COLS if c not in ("id", "tenant_id")]
        values = dict(zip(_OUTBOX_COLS, self._values(record), strict=True))
        cur = self.db.execute(
            f"UPDATE outbox SET {', '.join(f'{c} = ?' for c in cols)} WHERE tenant_id = ? AND id = ?",
            (*(values[c] for c in cols), record.tenant_id, record.id),
        )
        if cur.rowcount != 1:
            raise StorageError(f"no outbox row {record.id} for this tenant")

    # -- early statuses (table ``pending_statuses``) ----------------------------------------------
    _PENDING_COLS = ("tenant_id", "provider", "provider_message_id", "status", "update_json", "received_at")

    def buffer_status(self, tenant_id: str, record: PendingStatusRecord) -> OutboxRecord | None:
        # BEGIN IMMEDIATE: a concurrent `save_taking_statuses` either ran before (the row is found
        # here) or runs after (it takes what is inserted here); never in between.
        if record.tenant_id != tenant_id:
            raise TenantMismatch("pending status belongs to another tenant")
        with self.db.transaction() as conn:
            r = conn.execute(f"{_SELECT} WHERE tenant_id = ? AND provider_message_id = ?",
                             (record.tenant_id, record.provider_message_id)).fetchone()
            if r is not None:
                return self._row(r)
            conn.execute(
                f"INSERT INTO pending_statuses ({', '.join(self._PENDING_COLS)}) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT (tenant_id, provider, provider_message_id, status) DO NOTHING",
                (record.tenant_id, record.provider, record.provider_message_id, record.status, record.update_json,
                 to_ts(record.received_at)),
            )
            return None

    def save_taking_statuses(self, tenant_id: str, record: OutboxRecord) -> list[PendingStatusRecord]:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        with self.db.transaction():
            self.save(tenant_id, record)
            if record.provider_message_id is None:
                return []
            rows = self.db.execute(
                f"SELECT seq, {', '.join(self._PENDING_COLS)} FROM pending_statuses "
                "WHERE tenant_id = ? AND provider_message_id = ? ORDER BY seq",
                (record.tenant_id, record.provider_message_id)).fetchall()
            if rows:
                self.db.execute("DELETE FROM pending_statuses WHERE tenant_id = ? AND provider_message_id = ?",
                                (record.tenant_id, record.provider_message_id))
        return [PendingStatusRecord(tenant_id=r["tenant_id"], provider=r["provider"],
                                    provider_message_id=r["provider_message_id"], status=r["status"],
                                    update_json=r["update_json"], received_at=from_ts(r["received_at"]))
                for r in rows]

    def purge_pending_statuses(self, tenant_id: str, before: datetime) -> int:
        cur = self.db.execute("DELETE FROM pending_statuses WHERE tenant_id = ? AND received_at < ?",
                              (tenant_id, to_ts(before)))
        return int(cur.rowcount)

    def stale(self, tenant_id: str, status: OutboxStatus, updated_before: datetime, *,
              limit: int = 100) -> list[OutboxRecord]:
        rows = self.db.execute(
            f"{_SELECT} WHERE tenant_id = ? AND status = ? AND updated_at < ? ORDER BY updated_at, id LIMIT ?",
            (tenant_id, status.value, to_ts(updated_before), limit),
        )
        return [self._row(r) for r in rows]

    def claim(self, tenant_id: str, outbox_id: str, expected: Sequence[OutboxStatus], new: OutboxStatus,
              at: datetime) -> OutboxRecord | None:
        marks = ",".join("?" * len(expected))
        with self.db.transaction() as conn:
            cur = conn.execute(
                f"UPDATE outbox SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND status IN ({marks})",
                (new.value, to_ts(at), tenant_id, outbox_id, *(s.value for s in expected)),
            )
            if cur.rowcount != 1:
                return None
            r = conn.execute(f"{_SELECT} WHERE tenant_id = ? AND id = ?", (tenant_id, outbox_id)).fetchone()
            return self._row(r)

    def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[OutboxRecord]:
        rows = self.db.execute(
            f"{_SELECT} WHERE tenant_id = ? AND status IN (?, ?) AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (tenant_id, OutboxStatus.SCHEDULED.value, OutboxStatus.QUEUED.value, to_ts(now), limit),
        )
        return [self._row(r) for r in rows]

    def count_recent(self, tenant_id: str, to_phone: str, categories: Sequence[str], since: datetime) -> int:
        if not categories:
            return 0
        marks = ",".join("?" * len(categories))
        r = self.db.execute(
            f"SELECT COUNT(*) FROM outbox WHERE tenant_id = ? AND to_phone = ? AND category IN ({marks}) "
            "AND created_at >= ? AND status NOT IN (?, ?)",
            (tenant_id, to_phone, *categories, to_ts(since), OutboxStatus.REFUSED.value, OutboxStatus.FAILED.value),
        ).fetchone()
        return int(r[0])

    def status_counts(self, tenant_id: str, *, purpose: str | None = None) -> dict[str, dict[str, int]]:
        sql = "SELECT purpose, status, COUNT(*) FROM outbox WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if purpose is not None:
            sql += " AND purpose = ?"
            params.append(purpose)
        out: dict[str, dict[str, int]] = {}
        for p, s, n in self.db.execute(sql + " GROUP BY purpose, status", params):
            out.setdefault(p, {})[s] = int(n)
        return out

    def grouped_counts(self, tenant_id: str, *, purpose: str | None = None,
                       campaign_id: str | None = None) -> list[OutboxCount]:
        sql = "SELECT purpose, campaign_id, variant, status, COUNT(*) FROM outbox WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if purpose is not None:
            sql += " AND purpose = ?"
            params.append(purpose)
        if campaign_id is not None:
            sql += " AND campaign_id = ?"
            params.append(campaign_id)
        sql += " GROUP BY purpose, campaign_id, variant, status ORDER BY purpose, campaign_id, variant, status"
        return [OutboxCount(purpose=p, campaign_id=c, variant=v, status=OutboxStatus(s), count=int(n))
                for p, c, v, s, n in self.db.execute(sql, params)]

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tenant_id FROM outbox ORDER BY 1")]


class SQLiteConsentCache(ConciseRepr, fields=("db",)):
    _COLS = ("tenant_id", "brand_code", "recipient", "type", "recipient_type", "status", "source", "consent_date",
             "creation_date", "transaction_id", "origin", "synced_at", "updated_at")
    _TS = ("consent_date", "creation_date", "synced_at", "updated_at")

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0102_consents",
            [
                """CREATE TABLE consents (
                    tenant_id TEXT NOT NULL, brand_code TEXT NOT NULL, recipient TEXT NOT NULL, type TEXT NOT NULL,
                    recipient_type TEXT NOT NULL, status TEXT NOT NULL, source TEXT, consent_date TEXT,
                    creation_date TEXT, transaction_id TEXT, origin TEXT NOT NULL, synced_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL, PRIMARY KEY (tenant_id, brand_code, recipient, type))""",
            ],
        )

    def _row(self, r: Any) -> ConsentCacheRecord:
        data = dict(r)
        for key in self._TS:
            data[key] = _opt_dt(data[key])
        return ConsentCacheRecord.model_validate(data)

    def get(self, tenant_id: str, brand_code: str, recipient: str, type: str) -> ConsentCacheRecord | None:
        r = self.db.execute(
            f"SELECT {', '.join(self._COLS)} FROM consents WHERE tenant_id = ? AND brand_code = ? AND recipient = ? "
            "AND type = ?", (tenant_id, brand_code, recipient, type)).fetchone()
        return self._row(r) if r else None

    def upsert(self, tenant_id: str, record: ConsentCacheRecord) -> None:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("consent record belongs to another tenant")
        data = record.model_dump()
        for key in self._TS:
            data[key] = _opt_ts(data[key])
        updates = ", ".join(f"{c} = excluded.{c}" for c in self._COLS[4:])
        self.db.execute(
            f"INSERT INTO consents ({', '.join(self._COLS)}) VALUES ({','.join('?' * len(self._COLS))}) "
            f"ON CONFLICT (tenant_id, brand_code, recipient, type) DO UPDATE SET {updates}",
            tuple(data[c] for c in self._COLS),
        )

    def find(self, tenant_id: str, *, status: str | None = None) -> list[ConsentCacheRecord]:
        sql = f"SELECT {', '.join(self._COLS)} FROM consents WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY brand_code, recipient, type", params)]


class SQLiteMessagingContacts(ConciseRepr, fields=("db",)):
    _COLS = ("tenant_id", "phone", "wa_id", "last_inbound_at", "opted_out_at", "opt_out_keyword", "ctwa_clid",
             "ctwa_at", "referral_json", "opt_changed_at", "updated_at")
    _TS = ("last_inbound_at", "opted_out_at", "ctwa_at", "opt_changed_at", "updated_at")

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0103_messaging_contacts",
            [
                """CREATE TABLE messaging_contacts (
                    tenant_id TEXT NOT NULL, phone TEXT NOT NULL, wa_id TEXT, last_inbound_at TEXT,
                    opted_out_at TEXT, opt_out_keyword TEXT, ctwa_clid TEXT, ctwa_at TEXT, referral_json TEXT,
                    updated_at TEXT NOT NULL, PRIMARY KEY (tenant_id, phone))""",
            ],
        )
        # When the opt-out state last changed: a redelivered or late message never moves it back.
        db.migrate("messaging_0001_opt_changed_at",
                   ["ALTER TABLE messaging_contacts ADD COLUMN opt_changed_at TEXT"])

    def _row(self, r: Any) -> MessagingContact:
        data = dict(r)
        for key in self._TS:
            data[key] = _opt_dt(data[key])
        return MessagingContact.model_validate(data)

    def get(self, tenant_id: str, phone: str) -> MessagingContact | None:
        r = self.db.execute(f"SELECT {', '.join(self._COLS)} FROM messaging_contacts WHERE tenant_id = ? "
                            "AND phone = ?", (tenant_id, phone)).fetchone()
        return self._row(r) if r else None

    def _ensure(self, conn: Any, tenant_id: str, phone: str, at: datetime) -> None:
        conn.execute("INSERT INTO messaging_contacts (tenant_id, phone, updated_at) VALUES (?,?,?) "
                     "ON CONFLICT (tenant_id, phone) DO NOTHING", (tenant_id, phone, to_ts(at)))

    def _fetch(self, conn: Any, tenant_id: str, phone: str) -> MessagingContact:
        r = conn.execute(f"SELECT {', '.join(self._COLS)} FROM messaging_contacts WHERE tenant_id = ? AND phone = ?",
                         (tenant_id, phone)).fetchone()
        return self._row(r)

    def record_inbound(self, tenant_id: str, phone: str, at: datetime, *, wa_id: str | None = None,
                       ctwa_clid: str | None = None, referral_json: str | None = None) -> MessagingContact:
        with self.db.transaction() as conn:
            self._ensure(conn, tenant_id, phone, at)
            ts = to_ts(at)
            conn.execute(
                "UPDATE messaging_contacts SET last_inbound_at = CASE WHEN last_inbound_at IS NULL "
                "OR last_inbound_at < ? THEN ? ELSE last_inbound_at END, wa_id = COALESCE(?, wa_id), "
                "updated_at = ? WHERE tenant_id = ? AND phone = ?",
                (ts, ts, wa_id, ts, tenant_id, phone),
            )
            if ctwa_clid:  # the newest click wins; a redelivered older message does not take it back
                conn.execute("UPDATE messaging_contacts SET ctwa_clid = ?, ctwa_at = ?, referral_json = ? "
                             "WHERE tenant_id = ? AND phone = ? AND (ctwa_at IS NULL OR ctwa_at <= ?)",
                             (ctwa_clid, ts, referral_json, tenant_id, phone, ts))
            return self._fetch(conn, tenant_id, phone)

    # An opt-out/opt-in decided at ``at`` lands only if no later decision is on record.
    _NOT_LATER = "COALESCE(opt_changed_at, opted_out_at) IS NULL OR COALESCE(opt_changed_at, opted_out_at) <= ?"

    def set_opt_out(self, tenant_id: str, phone: str, at: datetime, keyword: str) -> MessagingContact:
        with self.db.transaction() as conn:
            self._ensure(conn, tenant_id, phone, at)
            conn.execute("UPDATE messaging_contacts SET opted_out_at = ?, opt_out_keyword = ?, opt_changed_at = ?, "
                         f"updated_at = ? WHERE tenant_id = ? AND phone = ? AND ({self._NOT_LATER})",
                         (to_ts(at), keyword, to_ts(at), to_ts(at), tenant_id, phone, to_ts(at)))
            return self._fetch(conn, tenant_id, phone)

    def clear_opt_out(self, tenant_id: str, phone: str, at: datetime) -> MessagingContact:
        with self.db.transaction() as conn:
            self._ensure(conn, tenant_id, phone, at)
            conn.execute("UPDATE messaging_contacts SET opted_out_at = NULL, opt_out_keyword = NULL, "
                         "opt_changed_at = ?, updated_at = ? WHERE tenant_id = ? AND phone = ? "
                         f"AND ({self._NOT_LATER})",
                         (to_ts(at), to_ts(at), tenant_id, phone, to_ts(at)))
            return self._fetch(conn, tenant_id, phone)
