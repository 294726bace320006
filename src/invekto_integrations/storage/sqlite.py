"""SQLite repositories: the embedded default store (demo, notebooks, a small service).

Each class applies its own named migration on construction; `SQLiteStore` opens one database
and builds every repository over it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic_core

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.events import DomainEvent

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from .memory import raw_record_hash
from .protocols import TenantMismatch, UpsertResult
from .records import CachedOrder, Checkpoint, QuarantinedRecord, StoredEvent
from .sqlite_appointments import SQLiteAppointments, SQLiteDoctors, SQLiteServicePricing, SQLiteWaitlist
from .sqlite_attribution import (
    SQLiteAdCache,
    SQLiteAttributionReports,
    SQLiteCapiDeliveries,
    SQLiteConversions,
    SQLiteLeads,
    SQLiteSpend,
    SQLiteTagRules,
    SQLiteTouches,
    SQLiteTrackedLinks,
)
from .sqlite_calendar import SQLiteCalendarSync
from .sqlite_claims import SQLiteReturnClaims
from .sqlite_dashboard import SQLiteReportReader, SQLiteReturnCases, SQLiteReviewCases
from .sqlite_messaging import SQLiteConsentCache, SQLiteMessagingContacts, SQLiteOutbox
from .sqlite_runtime import SQLiteLeases, SQLiteTimers
from .sqlite_settings import SQLiteTenantSettings
from .sqlite_shipments import SQLiteCargoNotifications, SQLiteShipments

__all__ = [
    "SQLiteAccounts",
    "SQLiteCheckpoints",
    "SQLiteDatabase",
    "SQLiteEventLog",
    "SQLiteOrderCache",
    "SQLiteQuarantine",
    "SQLiteStore",
]


class SQLiteAccounts(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0001_integration_accounts",
            [
                """CREATE TABLE integration_accounts (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, provider TEXT NOT NULL,
                    display_name TEXT NOT NULL DEFAULT '', api_key_encrypted TEXT NOT NULL,
                    status TEXT NOT NULL, settings_json TEXT NOT NULL DEFAULT '{}',
                    created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
                "CREATE INDEX ix_accounts_tenant ON integration_accounts (tenant_id, provider)",
            ],
        )
        # Ids are per tenant (as in memory and PostgreSQL): another tenant's account with the same id
        # is its own row, not a refused duplicate.
        db.tenant_key("core_0001_accounts_tenant_key", "integration_accounts")

    @staticmethod
    def _row(r: Any) -> IntegrationAccount:
        return IntegrationAccount(
            id=r["id"], tenant_id=r["tenant_id"], provider=r["provider"], display_name=r["display_name"],
            status=AccountStatus(r["status"]), settings=json.loads(r["settings_json"]),
            api_key_encrypted=r["api_key_encrypted"], created_at=from_ts(r["created_at"]),
            updated_at=from_ts(r["updated_at"]),
        )

    def add(self, tenant_id: str, account: IntegrationAccount) -> None:
        if account.tenant_id != tenant_id:
            raise TenantMismatch("account belongs to another tenant")
        self.db.execute(
            "INSERT INTO integration_accounts VALUES (?,?,?,?,?,?,?,?,?)",
            (account.id, account.tenant_id, account.provider, account.display_name, account.api_key_encrypted,
             account.status.value, json.dumps(account.settings), to_ts(account.created_at),
             to_ts(account.updated_at)),
        )

    def get(self, tenant_id: str, account_id: str) -> IntegrationAccount | None:
        r = self.db.execute(
            "SELECT * FROM integration_accounts WHERE tenant_id = ? AND id = ?", (tenant_id, account_id)
        ).fetchone()
        return self._row(r) if r else None

    def find(
        self, tenant_id: str, *, provider: str | None = None, status: AccountStatus | None = None
    ) -> list[IntegrationAccount]:
        sql = "SELECT * FROM integration_accounts WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if provider is not None:
            sql += " AND provider = ?"
            params.append(provider)
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY id", params)]

    def set_status(self, tenant_id: str, account_id: str, status: AccountStatus, at: datetime) -> None:
        self.db.execute(
            "UPDATE integration_accounts SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
            (status.value, to_ts(at), tenant_id, account_id),
        )

    def update_secret(self, tenant_id: str, account_id: str, api_key_encrypted: str, at: datetime) -> None:
        self.db.execute(
            "UPDATE integration_accounts SET api_key_encrypted = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
            (api_key_encrypted, to_ts(at), tenant_id, account_id),
        )

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tenant_id FROM integration_accounts ORDER BY 1")]


_ORDER_COLS = (
    "id, tenant_id, provider, account_id, external_order_id, customer_phone, tracking_code, order_status, "
    "ordered_at, order_data_json, raw_json, content_hash, synced_at, created_at"
)


class SQLiteOrderCache(ConciseRepr, fields=("db",)):
    _COLS = _ORDER_COLS

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0002_orders_cache",
            [
                """CREATE TABLE orders_cache (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, provider TEXT NOT NULL, account_id TEXT NOT NULL,
                    external_order_id TEXT NOT NULL, customer_phone TEXT, tracking_code TEXT,
                    order_status TEXT NOT NULL, ordered_at TEXT NOT NULL, order_data_json TEXT NOT NULL,
                    raw_json TEXT, content_hash TEXT NOT NULL, synced_at TEXT NOT NULL, created_at TEXT NOT NULL,
                    UNIQUE (tenant_id, provider, account_id, external_order_id))""",
                "CREATE INDEX ix_orders_phone ON orders_cache (tenant_id, customer_phone, ordered_at DESC)",
                "CREATE INDEX ix_orders_tracking ON orders_cache (tenant_id, tracking_code)",
            ],
        )

    @staticmethod
    def _row(r: Any) -> CachedOrder:
        data = dict(r)
        for key in ("ordered_at", "synced_at", "created_at"):
            data[key] = from_ts(data[key])
        return CachedOrder.model_validate(data)

    @staticmethod
    def _tuple(r: tuple[Any, ...]) -> CachedOrder:
        # A row of `_ORDER_COLS` in order: keywords straight from the tuple (a third cheaper than
        # `sqlite3.Row` → dict → model_validate on lookups, where the rows are the whole cost).
        return CachedOrder(
            id=r[0], tenant_id=r[1], provider=r[2], account_id=r[3], external_order_id=r[4], customer_phone=r[5],
            tracking_code=r[6], order_status=r[7], ordered_at=from_ts(r[8]), order_data_json=r[9], raw_json=r[10],
            content_hash=r[11], synced_at=from_ts(r[12]), created_at=from_ts(r[13]),
        )

    _UPSERT = (
        f"INSERT INTO orders_cache ({_ORDER_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (tenant_id, provider, account_id, external_order_id) DO UPDATE SET "
        "customer_phone = excluded.customer_phone, tracking_code = excluded.tracking_code, "
        "order_status = excluded.order_status, ordered_at = excluded.ordered_at, "
        "order_data_json = excluded.order_data_json, raw_json = excluded.raw_json, "
        "content_hash = excluded.content_hash, synced_at = excluded.synced_at"
    )

    def upsert_many(self, tenant_id: str, orders: Sequence[CachedOrder]) -> UpsertResult:
        inserted = updated = unchanged = 0
        if any(o.tenant_id != tenant_id for o in orders):
            raise TenantMismatch("order belongs to another tenant")
        if not orders:
            return UpsertResult()
        # One read of the stored hashes per account and chunk, then one executemany per kind of write
        # (a SELECT plus an INSERT per order was a third of a backfill).
        wanted: dict[tuple[str, str], list[str]] = {}
        for o in orders:
            wanted.setdefault((o.provider, o.account_id), []).append(o.external_order_id)
        writes: list[tuple[object, ...]] = []
        touches: list[tuple[object, ...]] = []
        with self.db.transaction() as conn:
            known: dict[tuple[str, str, str], str] = {}
            for (provider, account_id), ids in wanted.items():
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    rows = conn.execute(
                        "SELECT external_order_id, content_hash FROM orders_cache WHERE tenant_id = ? "
                        f"AND provider = ? AND account_id = ? AND external_order_id IN ({','.join('?' * len(chunk))})",
                        (tenant_id, provider, account_id, *chunk),
                    )
                    for r in rows:
                        known[(provider, account_id, r[0])] = r[1]
            for o in orders:
                key = (o.provider, o.account_id, o.external_order_id)
                found = known.get(key)
                if found is not None and found == o.content_hash:
                    touches.append((to_ts(o.synced_at), tenant_id, o.provider, o.account_id, o.external_order_id))
                    unchanged += 1
                else:
                    writes.append((o.id, tenant_id, o.provider, o.account_id, o.external_order_id, o.customer_phone,
                                   o.tracking_code, o.order_status, to_ts(o.ordered_at), o.order_data_json,
                                   o.raw_json, o.content_hash, to_ts(o.synced_at), to_ts(o.created_at)))
                    if found is None:
                        inserted += 1
                    else:
                        updated += 1
                known[key] = o.content_hash
            if writes:
                conn.executemany(self._UPSERT, writes)
            if touches:
                conn.executemany(
                    "UPDATE orders_cache SET synced_at = ? WHERE tenant_id = ? AND provider = ? "
                    "AND account_id = ? AND external_order_id = ?",
                    touches,
                )
        return UpsertResult(inserted, updated, unchanged)

    def get(self, tenant_id: str, provider: str, account_id: str, external_order_id: str) -> CachedOrder | None:
        found = self.get_many(tenant_id, provider, account_id, [external_order_id])
        return found.get(external_order_id)

    def get_many(
        self, tenant_id: str, provider: str, account_id: str, external_order_ids: Sequence[str]
    ) -> dict[str, CachedOrder]:
        result: dict[str, CachedOrder] = {}
        ids = list(external_order_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.rows(
                f"SELECT {self._COLS} FROM orders_cache WHERE tenant_id = ? AND provider = ? AND account_id = ? "
                f"AND external_order_id IN ({marks})",
                (tenant_id, provider, account_id, *chunk),
            )
            for r in rows:
                result[r[4]] = self._tuple(r)
        return result

    def find_by_phone(self, tenant_id: str, phone_e164: str, *, limit: int = 100) -> list[CachedOrder]:
        rows = self.db.rows(
            f"SELECT {self._COLS} FROM orders_cache WHERE tenant_id = ? AND customer_phone = ? "
            "ORDER BY ordered_at DESC, external_order_id DESC LIMIT ?",
            (tenant_id, phone_e164, limit),
        )
        return [self._tuple(r) for r in rows]

    def find_by_tracking_code(self, tenant_id: str, tracking_code: str) -> list[CachedOrder]:
        rows = self.db.rows(
            f"SELECT {self._COLS} FROM orders_cache WHERE tenant_id = ? AND tracking_code = ?",
            (tenant_id, tracking_code),
        )
        return [self._tuple(r) for r in rows]

    def count(self, tenant_id: str, *, provider: str | None = None) -> int:
        if provider is None:
            row = self.db.execute("SELECT COUNT(*) FROM orders_cache WHERE tenant_id = ?", (tenant_id,)).fetchone()
        else:
            row = self.db.execute(
                "SELECT COUNT(*) FROM orders_cache WHERE tenant_id = ? AND provider = ?", (tenant_id, provider)
            ).fetchone()
        return int(row[0])


class SQLiteCheckpoints(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0003_sync_checkpoints",
            [
                """CREATE TABLE sync_checkpoints (
                    tenant_id TEXT NOT NULL, account_id TEXT NOT NULL, stream TEXT NOT NULL,
                    position TEXT, cursor TEXT, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, account_id, stream))""",
            ],
        )

    def get(self, tenant_id: str, account_id: str, stream: str) -> Checkpoint | None:
        r = self.db.execute(
            "SELECT * FROM sync_checkpoints WHERE tenant_id = ? AND account_id = ? AND stream = ?",
            (tenant_id, account_id, stream),
        ).fetchone()
        if r is None:
            return None
        return Checkpoint(
            tenant_id=r["tenant_id"], account_id=r["account_id"], stream=r["stream"],
            position=from_ts(r["position"]) if r["position"] else None, cursor=r["cursor"],
            updated_at=from_ts(r["updated_at"]),
        )

    def put(self, tenant_id: str, checkpoint: Checkpoint) -> None:
        if checkpoint.tenant_id != tenant_id:
            raise TenantMismatch("checkpoint belongs to another tenant")
        c = checkpoint
        self.db.execute(
            "INSERT INTO sync_checkpoints VALUES (?,?,?,?,?,?) ON CONFLICT (tenant_id, account_id, stream) "
            "DO UPDATE SET position = excluded.position, cursor = excluded.cursor, updated_at = excluded.updated_at",
            (c.tenant_id, c.account_id, c.stream, to_ts(c.position) if c.position else None, c.cursor,
             to_ts(c.updated_at)),
        )


class SQLiteQuarantine(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0004_quarantine",
            [
                """CREATE TABLE quarantined_records (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, provider TEXT NOT NULL, account_id TEXT NOT NULL,
                    record_id TEXT, field TEXT, error TEXT NOT NULL, raw_json TEXT NOT NULL,
                    created_at TEXT NOT NULL)""",
                "CREATE INDEX ix_quarantine_tenant ON quarantined_records (tenant_id, provider)",
            ],
        )
        # The same bad record seen again (an overlap window covers it on every run) is stored once:
        # unique on (tenant, provider, account, record id, SHA-256 of the raw record).
        db.migrate("0006_quarantine_raw_hash", ["ALTER TABLE quarantined_records ADD COLUMN raw_hash TEXT"])
        for row in self.db.execute("SELECT tenant_id, id, raw_json FROM quarantined_records WHERE raw_hash IS NULL"):
            self.db.execute("UPDATE quarantined_records SET raw_hash = ? WHERE tenant_id = ? AND id = ?",
                            (raw_record_hash(row["raw_json"]), row["tenant_id"], row["id"]))
        db.migrate(
            "0007_quarantine_dedupe",
            [
                """DELETE FROM quarantined_records WHERE id NOT IN (
                    SELECT MIN(id) FROM quarantined_records
                    GROUP BY tenant_id, provider, account_id, COALESCE(record_id, ''), raw_hash)""",
                """CREATE UNIQUE INDEX ux_quarantine_record ON quarantined_records
                    (tenant_id, provider, account_id, COALESCE(record_id, ''), raw_hash)""",
            ],
        )
        db.tenant_key("core_0002_quarantine_tenant_key", "quarantined_records")

    def add(self, tenant_id: str, record: QuarantinedRecord) -> None:
        """Store a quarantined record; the same record (same raw payload) again is a no-op."""
        if record.tenant_id != tenant_id:
            raise TenantMismatch("quarantined record belongs to another tenant")
        r = record
        self.db.execute(
            "INSERT OR IGNORE INTO quarantined_records (id, tenant_id, provider, account_id, record_id, field, error,"
            " raw_json, created_at, raw_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (r.id, r.tenant_id, r.provider, r.account_id, r.record_id, r.field, r.error, r.raw_json,
             to_ts(r.created_at), raw_record_hash(r.raw_json)),
        )

    def find(self, tenant_id: str, *, provider: str | None = None) -> list[QuarantinedRecord]:
        sql = "SELECT * FROM quarantined_records WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if provider:
            sql += " AND provider = ?"
            params.append(provider)
        out = []
        for r in self.db.execute(sql + " ORDER BY id", params):
            data = dict(r)
            data.pop("raw_hash", None)
            data["created_at"] = from_ts(data["created_at"])
            out.append(QuarantinedRecord.model_validate(data))
        return out


class SQLiteEventLog(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0005_event_log",
            [
                """CREATE TABLE event_log (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL,
                    type TEXT NOT NULL, version INTEGER NOT NULL, occurred_at TEXT NOT NULL,
                    recorded_at TEXT NOT NULL, dedupe_key TEXT, data_json TEXT NOT NULL)""",
                "CREATE INDEX ix_events_tenant ON event_log (tenant_id, seq)",
                "CREATE UNIQUE INDEX ux_events_dedupe ON event_log (tenant_id, dedupe_key) "
                "WHERE dedupe_key IS NOT NULL",
                """CREATE TABLE event_cursors (
                    tenant_id TEXT NOT NULL, consumer TEXT NOT NULL, seq INTEGER NOT NULL,
                    PRIMARY KEY (tenant_id, consumer))""",
            ],
        )

    @staticmethod
    def _row(r: Any) -> StoredEvent:
        return StoredEvent(
            seq=r["seq"], event_id=r["event_id"], tenant_id=r["tenant_id"], type=r["type"], version=r["version"],
            occurred_at=from_ts(r["occurred_at"]), recorded_at=from_ts(r["recorded_at"]),
            dedupe_key=r["dedupe_key"], data=json.loads(r["data_json"]),
        )

    def append(self, tenant_id: str, events: Sequence[DomainEvent], *, at: datetime) -> list[StoredEvent]:
        if any(e.tenant_id != tenant_id for e in events):
            raise TenantMismatch("event belongs to another tenant")
        if not events:
            return []
        # Each event dumped once; one executemany; the rows it added are those past the log's end
        # before it (AUTOINCREMENT never reuses a seq, and the write lock is held).
        recorded = to_ts(at)
        data = [e.model_dump(mode="json") for e in events]
        rows = [(e.event_id, tenant_id, e.TYPE, e.VERSION, to_ts(e.occurred_at), recorded, e.dedupe_key,
                 _json_text(d)) for e, d in zip(events, data, strict=True)]
        appended: list[StoredEvent] = []
        with self.db.transaction() as conn:
            end = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM event_log").fetchone()[0]
            conn.executemany(
                "INSERT INTO event_log (event_id, tenant_id, type, version, occurred_at, recorded_at, dedupe_key, "
                "data_json) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                rows,
            )
            added = dict(conn.execute("SELECT event_id, seq FROM event_log WHERE seq > ?", (end,)).fetchall())
        for e, d in zip(events, data, strict=True):
            seq = added.pop(e.event_id, None)
            if seq is not None:
                appended.append(StoredEvent(seq=seq, event_id=e.event_id, tenant_id=tenant_id, type=e.TYPE,
                                            version=e.VERSION, occurred_at=e.occurred_at, recorded_at=at,
                                            dedupe_key=e.dedupe_key, data=d))
        return appended

    def read(
        self, tenant_id: str, *, after: int = 0, limit: int = 500, types: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        sql = "SELECT * FROM event_log WHERE tenant_id = ? AND seq > ?"
        params: list[object] = [tenant_id, after]
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            params.extend(types)
        params.append(limit)
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY seq LIMIT ?", params)]

    def cursor(self, tenant_id: str, consumer: str) -> int:
        r = self.db.execute(
            "SELECT seq FROM event_cursors WHERE tenant_id = ? AND consumer = ?", (tenant_id, consumer)
        ).fetchone()
        return int(r[0]) if r else 0

    def advance(self, tenant_id: str, consumer: str, seq: int) -> None:
        self.db.execute(
            "INSERT INTO event_cursors VALUES (?,?,?) ON CONFLICT (tenant_id, consumer) "
            "DO UPDATE SET seq = MAX(seq, excluded.seq)",
            (tenant_id, consumer, seq),
        )

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tenant_id FROM event_log ORDER BY 1")]


def _json_text(value: Any) -> str:
    try:
        return pydantic_core.to_json(value).decode()
    except pydantic_core.PydanticSerializationError:  # a lone surrogate: ASCII escapes instead
        return json.dumps(value)


class SQLiteStore(ConciseRepr, fields=("db.path",)):
    """Every repository over one SQLite database (the embedded default)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.db = SQLiteDatabase(path)
        self.accounts = SQLiteAccounts(self.db)
        self.orders = SQLiteOrderCache(self.db)
        self.checkpoints = SQLiteCheckpoints(self.db)
        self.quarantine = SQLiteQuarantine(self.db)
        self.events = SQLiteEventLog(self.db)
        self.shipments = SQLiteShipments(self.db)
        self.cargo_notifications = SQLiteCargoNotifications(self.db)
        self.outbox = SQLiteOutbox(self.db)
        self.consents = SQLiteConsentCache(self.db)
        self.messaging_contacts = SQLiteMessagingContacts(self.db)
        # appointments (issue 8)
        self.appointments = SQLiteAppointments(self.db)
        self.doctors = SQLiteDoctors(self.db)
        self.service_pricing = SQLiteServicePricing(self.db)
        self.waitlist = SQLiteWaitlist(self.db)
        self.calendar_sync = SQLiteCalendarSync(self.db)
        # engine runtime
        self.leases = SQLiteLeases(self.db)
        self.timers = SQLiteTimers(self.db)
        # dashboard: return/review cases and the panels' range reads
        self.return_cases = SQLiteReturnCases(self.db)
        self.review_cases = SQLiteReviewCases(self.db)
        self.reports = SQLiteReportReader(self.db, orders=self.orders, shipments=self.shipments,
                                          service_pricing=self.service_pricing)
        # attribution (issue 15)
        self.tracked_links = SQLiteTrackedLinks(self.db)
        self.touches = SQLiteTouches(self.db)
        self.leads = SQLiteLeads(self.db)
        self.conversions = SQLiteConversions(self.db)
        self.ad_spend = SQLiteSpend(self.db)
        self.tag_rules = SQLiteTagRules(self.db)
        self.ad_cache = SQLiteAdCache(self.db)
        self.capi_deliveries = SQLiteCapiDeliveries(self.db)
        self.attribution_reports = SQLiteAttributionReports(self.db)
        # marketplace return claims
        self.return_claims = SQLiteReturnClaims(self.db)
        # per-tenant settings
        self.tenant_settings = SQLiteTenantSettings(self.db)
        # campaigns (issue 16); imported here: the campaigns package imports messaging, which imports storage
        from .sqlite_campaigns import (
            SQLiteCampaignConversions,
            SQLiteCampaigns,
            SQLiteContactProfiles,
            SQLiteRecipients,
        )

        self.campaigns = SQLiteCampaigns(self.db)
        self.campaign_recipients = SQLiteRecipients(self.db)
        self.campaign_conversions = SQLiteCampaignConversions(self.db)
        self.contact_profiles = SQLiteContactProfiles(self.db)
        # the service's API tokens (digests only)
        from .api_tokens import SQLiteApiTokens

        self.api_tokens = SQLiteApiTokens(self.db)

    def atomic(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction on this thread's connection: every repository call made
        inside it on this thread commits or rolls back together."""
        return self.db.transaction()

    def close(self) -> None:
        self.db.close()
