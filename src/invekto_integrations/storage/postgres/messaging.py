"""PostgreSQL messaging repositories: ``outbox`` (with early statuses) and ``consents``.

Outbox transitions are one conditional ``UPDATE ... WHERE status = ANY(expected) RETURNING``: of
several dispatchers racing for one row exactly one gets it. `PostgresOutbox.due` reads with
``FOR UPDATE SKIP LOCKED`` inside a caller's transaction, so dispatchers in a unit of work skip
rows another one is claiming instead of queueing behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.protocols import TenantMismatch
from invekto_integrations.storage.records import (
    ConsentCacheRecord,
    MessagingContact,
    OutboxCount,
    OutboxRecord,
    OutboxStatus,
    PendingStatusRecord,
)

from ._db import PostgresDatabase, Row

__all__ = ["PostgresConsentCache", "PostgresMessagingContacts", "PostgresOutbox"]

_OUTBOX_COLS = (
    "tenant_id", "id", "idempotency_key", "purpose", "category", "to_phone", "message_json", "status", "reason",
    "due_at", "attempts", "provider", "provider_message_id", "recipient_id", "error_code", "error_title",
    "created_at", "updated_at", "accepted_at", "sent_at", "delivered_at", "read_at", "failed_at",
    "campaign_id", "variant",
)
_SELECT = f"SELECT {', '.join(_OUTBOX_COLS)} FROM outbox"
_PENDING_COLS = ("tenant_id", "provider", "provider_message_id", "status", "update_json", "received_at")


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


class PostgresOutbox(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "outbox_0001_outbox",
            [
                """CREATE TABLE outbox (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, idempotency_key TEXT NOT NULL,
                    purpose TEXT NOT NULL, category TEXT NOT NULL, to_phone TEXT NOT NULL,
                    message_json TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, due_at TIMESTAMPTZ NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0, provider TEXT, provider_message_id TEXT, recipient_id TEXT,
                    error_code TEXT, error_title TEXT, created_at TIMESTAMPTZ NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL, accepted_at TIMESTAMPTZ, sent_at TIMESTAMPTZ,
                    delivered_at TIMESTAMPTZ, read_at TIMESTAMPTZ, failed_at TIMESTAMPTZ,
                    campaign_id TEXT, variant TEXT,
                    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, idempotency_key))""",
                "CREATE INDEX ix_outbox_due ON outbox (tenant_id, status, due_at)",
                "CREATE INDEX ix_outbox_provider_id ON outbox (tenant_id, provider_message_id)",
                "CREATE INDEX ix_outbox_recipient ON outbox (tenant_id, to_phone, created_at)",
                "CREATE INDEX ix_outbox_stale ON outbox (tenant_id, status, updated_at)",
                "CREATE INDEX ix_outbox_correlation ON outbox (tenant_id, purpose, campaign_id, variant, status)",
                # Status webhooks that arrived before the send stored the provider's id (any process).
                """CREATE TABLE pending_statuses (
                    tenant_id TEXT NOT NULL, seq BIGINT GENERATED ALWAYS AS IDENTITY, provider TEXT NOT NULL,
                    provider_message_id TEXT NOT NULL, status TEXT NOT NULL, update_json TEXT NOT NULL,
                    received_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, seq),
                    UNIQUE (tenant_id, provider, provider_message_id, status))""",
                "CREATE INDEX ix_pending_statuses_received ON pending_statuses (tenant_id, received_at)",
            ],
        )

    @staticmethod
    def _row(r: Row) -> OutboxRecord:
        return OutboxRecord.model_validate(r)

    @staticmethod
    def _values(rec: OutboxRecord) -> list[object]:
        return [rec.status.value if c == "status" else getattr(rec, c) for c in _OUTBOX_COLS]

    def insert_if_absent(self, tenant_id: str, record: OutboxRecord) -> tuple[OutboxRecord, bool]:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        with self.db.transaction():
            inserted = self.db.execute(
                f"INSERT INTO outbox ({', '.join(_OUTBOX_COLS)}) VALUES ({_marks(len(_OUTBOX_COLS))}) "
                "ON CONFLICT (tenant_id, idempotency_key) DO NOTHING", self._values(record))
            if inserted == 1:
                self.db.notify(tenant_id)
                return record, True
            r = self.db.fetchone(f"{_SELECT} WHERE tenant_id = %s AND idempotency_key = %s",
                                 (tenant_id, record.idempotency_key))
            if r is None:  # pragma: no cover - the conflicting row cannot vanish inside this transaction
                raise StorageError(f"outbox key {record.idempotency_key} conflicted but is not readable")
            return self._row(r), False

    def get(self, tenant_id: str, outbox_id: str) -> OutboxRecord | None:
        r = self.db.fetchone(f"{_SELECT} WHERE tenant_id = %s AND id = %s", (tenant_id, outbox_id))
        return self._row(r) if r else None

    def get_by_key(self, tenant_id: str, idempotency_key: str) -> OutboxRecord | None:
        r = self.db.fetchone(f"{_SELECT} WHERE tenant_id = %s AND idempotency_key = %s", (tenant_id, idempotency_key))
        return self._row(r) if r else None

    def get_by_provider_id(self, tenant_id: str, provider_message_id: str) -> OutboxRecord | None:
        r = self.db.fetchone(f"{_SELECT} WHERE tenant_id = %s AND provider_message_id = %s ORDER BY id LIMIT 1",
                             (tenant_id, provider_message_id))
        return self._row(r) if r else None

    def save(self, tenant_id: str, record: OutboxRecord) -> None:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        cols = [c for c in _OUTBOX_COLS if c not in ("id", "tenant_id")]
        values = dict(zip(_OUTBOX_COLS, self._values(record), strict=True))
        sets = ", ".join(f"{c} = %s" for c in cols)
        n = self.db.execute(f"UPDATE outbox SET {sets} WHERE tenant_id = %s AND id = %s",
                            (*(values[c] for c in cols), tenant_id, record.id))
        if n != 1:
            raise StorageError(f"no outbox row {record.id} for this tenant")

    def buffer_status(self, tenant_id: str, record: PendingStatusRecord) -> OutboxRecord | None:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("pending status belongs to another tenant")
        with self.db.transaction():
            # Serialise with `save_taking_statuses` on the same provider id: either the row is found
            # here, or what is inserted here is taken there; never in between.
            self.db.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                            (tenant_id, record.provider_message_id))
            r = self.db.fetchone(f"{_SELECT} WHERE tenant_id = %s AND provider_message_id = %s ORDER BY id LIMIT 1",
                                 (tenant_id, record.provider_message_id))
            if r is not None:
                return self._row(r)
            self.db.execute(
                f"INSERT INTO pending_statuses ({', '.join(_PENDING_COLS)}) VALUES ({_marks(len(_PENDING_COLS))}) "
                "ON CONFLICT (tenant_id, provider, provider_message_id, status) DO NOTHING",
                tuple(getattr(record, c) for c in _PENDING_COLS))
            return None

    def save_taking_statuses(self, tenant_id: str, record: OutboxRecord) -> list[PendingStatusRecord]:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("outbox row belongs to another tenant")
        with self.db.transaction():
            if record.provider_message_id is not None:
                self.db.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                                (tenant_id, record.provider_message_id))
            self.save(tenant_id, record)
            if record.provider_message_id is None:
                return []
            rows = self.db.fetchall(
                f"DELETE FROM pending_statuses WHERE tenant_id = %s AND provider_message_id = %s "
                f"RETURNING seq, {', '.join(_PENDING_COLS)}", (tenant_id, record.provider_message_id))
        rows.sort(key=lambda r: int(r["seq"]))
        return [PendingStatusRecord.model_validate({c: r[c] for c in _PENDING_COLS}) for r in rows]

    def purge_pending_statuses(self, tenant_id: str, before: datetime) -> int:
        return self.db.execute("DELETE FROM pending_statuses WHERE tenant_id = %s AND received_at < %s",
                               (tenant_id, before))

    def stale(self, tenant_id: str, status: OutboxStatus, updated_before: datetime, *,
              limit: int = 100) -> list[OutboxRecord]:
        rows = self.db.fetchall(
            f"{_SELECT} WHERE tenant_id = %s AND status = %s AND updated_at < %s ORDER BY updated_at, id LIMIT %s",
            (tenant_id, status.value, updated_before, limit))
        return [self._row(r) for r in rows]

    def claim(self, tenant_id: str, outbox_id: str, expected: Sequence[OutboxStatus], new: OutboxStatus,
              at: datetime) -> OutboxRecord | None:
        r = self.db.fetchone(
            f"UPDATE outbox SET status = %s, updated_at = %s WHERE tenant_id = %s AND id = %s AND status = ANY(%s) "
            f"RETURNING {', '.join(_OUTBOX_COLS)}",
            (new.value, at, tenant_id, outbox_id, [s.value for s in expected]))
        return self._row(r) if r else None

    def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[OutboxRecord]:
        rows = self.db.fetchall(
            f"{_SELECT} WHERE tenant_id = %s AND status = ANY(%s) AND due_at <= %s ORDER BY due_at, id LIMIT %s "
            "FOR UPDATE SKIP LOCKED",
            (tenant_id, [OutboxStatus.SCHEDULED.value, OutboxStatus.QUEUED.value], now, limit))
        return [self._row(r) for r in rows]

    def count_recent(self, tenant_id: str, to_phone: str, categories: Sequence[str], since: datetime) -> int:
        if not categories:
            return 0
        r = self.db.fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE tenant_id = %s AND to_phone = %s AND category = ANY(%s) "
            "AND created_at >= %s AND status <> ALL(%s)",
            (tenant_id, to_phone, list(categories), since, [OutboxStatus.REFUSED.value, OutboxStatus.FAILED.value]))
        return int(r["n"]) if r else 0

    def status_counts(self, tenant_id: str, *, purpose: str | None = None) -> dict[str, dict[str, int]]:
        sql = "SELECT purpose, status, COUNT(*) AS n FROM outbox WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if purpose is not None:
            sql += " AND purpose = %s"
            params.append(purpose)
        out: dict[str, dict[str, int]] = {}
        for r in self.db.fetchall(sql + " GROUP BY purpose, status", params):
            out.setdefault(r["purpose"], {})[r["status"]] = int(r["n"])
        return out

    def grouped_counts(self, tenant_id: str, *, purpose: str | None = None,
                       campaign_id: str | None = None) -> list[OutboxCount]:
        sql = "SELECT purpose, campaign_id, variant, status, COUNT(*) AS count FROM outbox WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if purpose is not None:
            sql += " AND purpose = %s"
            params.append(purpose)
        if campaign_id is not None:
            sql += " AND campaign_id = %s"
            params.append(campaign_id)
        # NULLS FIRST: the order SQLite gives (NULL sorts lowest there).
        sql += (" GROUP BY purpose, campaign_id, variant, status ORDER BY purpose, campaign_id NULLS FIRST, "
                "variant NULLS FIRST, status")
        return [OutboxCount.model_validate(r) for r in self.db.fetchall(sql, params)]

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall("SELECT DISTINCT tenant_id FROM outbox ORDER BY 1")]


class PostgresConsentCache(ConciseRepr, fields=("db",)):
    _COLS = ("tenant_id", "brand_code", "recipient", "type", "recipient_type", "status", "source", "consent_date",
             "creation_date", "transaction_id", "origin", "synced_at", "updated_at")

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "messaging_0001_consents",
            [
                """CREATE TABLE consents (
                    tenant_id TEXT NOT NULL, brand_code TEXT NOT NULL, recipient TEXT NOT NULL, type TEXT NOT NULL,
                    recipient_type TEXT NOT NULL, status TEXT NOT NULL, source TEXT, consent_date TIMESTAMPTZ,
                    creation_date TIMESTAMPTZ, transaction_id TEXT, origin TEXT NOT NULL,
                    synced_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, brand_code, recipient, type))""",
            ],
        )

    def get(self, tenant_id: str, brand_code: str, recipient: str, type: str) -> ConsentCacheRecord | None:
        r = self.db.fetchone(
            f"SELECT {', '.join(self._COLS)} FROM consents WHERE tenant_id = %s AND brand_code = %s "
            "AND recipient = %s AND type = %s", (tenant_id, brand_code, recipient, type))
        return ConsentCacheRecord.model_validate(r) if r else None

    def upsert(self, tenant_id: str, record: ConsentCacheRecord) -> None:
        if record.tenant_id != tenant_id:
            raise TenantMismatch("consent record belongs to another tenant")
        data = record.model_dump()
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self._COLS[4:])
        self.db.execute(
            f"INSERT INTO consents ({', '.join(self._COLS)}) VALUES ({_marks(len(self._COLS))}) "
            f"ON CONFLICT (tenant_id, brand_code, recipient, type) DO UPDATE SET {updates}",
            tuple(data[c] for c in self._COLS))

    def find(self, tenant_id: str, *, status: str | None = None) -> list[ConsentCacheRecord]:
        sql = f"SELECT {', '.join(self._COLS)} FROM consents WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if status is not None:
            sql += " AND status = %s"
            params.append(status)
        return [ConsentCacheRecord.model_validate(r)
                for r in self.db.fetchall(sql + " ORDER BY brand_code, recipient, type", params)]


class PostgresMessagingContacts(ConciseRepr, fields=("db",)):
    """Per-recipient messaging state; every change is one conditional upsert, so a redelivered or
    late webhook never moves the last inbound time, the newest click or a later opt decision back."""

    _COLS = ("tenant_id", "phone", "wa_id", "last_inbound_at", "opted_out_at", "opt_out_keyword", "ctwa_clid",
             "ctwa_at", "referral_json", "opt_changed_at", "updated_at")

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "messaging_0002_contacts",
            [
                """CREATE TABLE messaging_contacts (
                    tenant_id TEXT NOT NULL, phone TEXT NOT NULL, wa_id TEXT, last_inbound_at TIMESTAMPTZ,
                    opted_out_at TIMESTAMPTZ, opt_out_keyword TEXT, ctwa_clid TEXT, ctwa_at TIMESTAMPTZ,
                    referral_json TEXT, opt_changed_at TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, phone))""",
            ],
        )

    def get(self, tenant_id: str, phone: str) -> MessagingContact | None:
        r = self.db.fetchone(f"SELECT {', '.join(self._COLS)} FROM messaging_contacts WHERE tenant_id = %s "
                             "AND phone = %s", (tenant_id, phone))
        return MessagingContact.model_validate(r) if r else None

    def _upsert(self, tenant_id: str, phone: str, at: datetime, sets: str,
                params: Sequence[object]) -> MessagingContact:
        with self.db.transaction():
            self.db.execute("INSERT INTO messaging_contacts (tenant_id, phone, updated_at) VALUES (%s, %s, %s) "
                            "ON CONFLICT (tenant_id, phone) DO NOTHING", (tenant_id, phone, at))
            self.db.execute(f"UPDATE messaging_contacts SET {sets} WHERE tenant_id = %s AND phone = %s",
                            (*params, tenant_id, phone))
            r = self.db.fetchone(f"SELECT {', '.join(self._COLS)} FROM messaging_contacts WHERE tenant_id = %s "
                                 "AND phone = %s", (tenant_id, phone))
        assert r is not None
        return MessagingContact.model_validate(r)

    def record_inbound(self, tenant_id: str, phone: str, at: datetime, *, wa_id: str | None = None,
                       ctwa_clid: str | None = None, referral_json: str | None = None) -> MessagingContact:
        sets = ("last_inbound_at = GREATEST(last_inbound_at, %s), wa_id = COALESCE(%s, wa_id), updated_at = %s")
        params: list[object] = [at, wa_id, at]
        if ctwa_clid:  # the newest click wins; a redelivered older message does not take it back
            sets += (", ctwa_clid = CASE WHEN ctwa_at IS NULL OR ctwa_at <= %s THEN %s ELSE ctwa_clid END"
                     ", referral_json = CASE WHEN ctwa_at IS NULL OR ctwa_at <= %s THEN %s ELSE referral_json END"
                     ", ctwa_at = CASE WHEN ctwa_at IS NULL OR ctwa_at <= %s THEN %s ELSE ctwa_at END")
            params += [at, ctwa_clid, at, referral_json, at, at]
        return self._upsert(tenant_id, phone, at, sets, params)

    # An opt-out/opt-in decided at ``at`` lands only if no later decision is on record.
    _LATEST = "(COALESCE(opt_changed_at, opted_out_at) IS NULL OR COALESCE(opt_changed_at, opted_out_at) <= %s)"

    def set_opt_out(self, tenant_id: str, phone: str, at: datetime, keyword: str) -> MessagingContact:
        sets = (f"opted_out_at = CASE WHEN {self._LATEST} THEN %s ELSE opted_out_at END, "
                f"opt_out_keyword = CASE WHEN {self._LATEST} THEN %s ELSE opt_out_keyword END, "
                f"updated_at = CASE WHEN {self._LATEST} THEN %s ELSE updated_at END, "
                f"opt_changed_at = CASE WHEN {self._LATEST} THEN %s ELSE opt_changed_at END")
        return self._upsert(tenant_id, phone, at, sets, [at, at, at, keyword, at, at, at, at])

    def clear_opt_out(self, tenant_id: str, phone: str, at: datetime) -> MessagingContact:
        sets = (f"opted_out_at = CASE WHEN {self._LATEST} THEN NULL ELSE opted_out_at END, "
                f"opt_out_keyword = CASE WHEN {self._LATEST} THEN NULL ELSE opt_out_keyword END, "
                f"updated_at = CASE WHEN {self._LATEST} THEN %s ELSE updated_at END, "
                f"opt_changed_at = CASE WHEN {self._LATEST} THEN %s ELSE opt_changed_at END")
        return self._upsert(tenant_id, phone, at, sets, [at, at, at, at, at, at])
