"""PostgreSQL accounts, orders cache, checkpoints, quarantine, event log, tenant settings and
return claims. Timestamps are ``TIMESTAMPTZ``, JSON documents ``JSONB`` where they are queried as
documents and ``TEXT`` where the exact text is kept (raw payloads, content hashed elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.events import DomainEvent
from invekto_integrations.models.settings import TenantSettings
from invekto_integrations.storage.claims import StoredClaim
from invekto_integrations.storage.memory import raw_record_hash
from invekto_integrations.storage.protocols import TenantMismatch, UpsertResult
from invekto_integrations.storage.records import CachedOrder, Checkpoint, QuarantinedRecord, StoredEvent

from ._db import PostgresDatabase, Row

__all__ = [
    "PostgresAccounts",
    "PostgresCheckpoints",
    "PostgresEventLog",
    "PostgresOrderCache",
    "PostgresQuarantine",
    "PostgresReturnClaims",
    "PostgresTenantSettings",
]


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


class PostgresAccounts(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "core_0001_integration_accounts",
            [
                """CREATE TABLE integration_accounts (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, provider TEXT NOT NULL,
                    display_name TEXT NOT NULL DEFAULT '', api_key_encrypted TEXT NOT NULL,
                    status TEXT NOT NULL, settings JSONB NOT NULL DEFAULT '{}',
                    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, id))""",
                "CREATE INDEX ix_accounts_tenant ON integration_accounts (tenant_id, provider)",
            ],
        )

    @staticmethod
    def _row(r: Row) -> IntegrationAccount:
        return IntegrationAccount(
            id=r["id"], tenant_id=r["tenant_id"], provider=r["provider"], display_name=r["display_name"],
            status=AccountStatus(r["status"]), settings=r["settings"], api_key_encrypted=r["api_key_encrypted"],
            created_at=r["created_at"], updated_at=r["updated_at"],
        )

    def add(self, tenant_id: str, account: IntegrationAccount) -> None:
        if account.tenant_id != tenant_id:
            raise TenantMismatch("account belongs to another tenant")
        a = account
        self.db.execute(
            "INSERT INTO integration_accounts (tenant_id, id, provider, display_name, api_key_encrypted, status, "
            "settings, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (tenant_id, a.id, a.provider, a.display_name, a.api_key_encrypted, a.status.value, Jsonb(a.settings),
             a.created_at, a.updated_at),
        )

    def get(self, tenant_id: str, account_id: str) -> IntegrationAccount | None:
        r = self.db.fetchone("SELECT * FROM integration_accounts WHERE tenant_id = %s AND id = %s",
                             (tenant_id, account_id))
        return self._row(r) if r else None

    def find(
        self, tenant_id: str, *, provider: str | None = None, status: AccountStatus | None = None
    ) -> list[IntegrationAccount]:
        sql = "SELECT * FROM integration_accounts WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if provider is not None:
            sql += " AND provider = %s"
            params.append(provider)
        if status is not None:
            sql += " AND status = %s"
            params.append(status.value)
        return [self._row(r) for r in self.db.fetchall(sql + " ORDER BY id", params)]

    def set_status(self, tenant_id: str, account_id: str, status: AccountStatus, at: datetime) -> None:
        self.db.execute("UPDATE integration_accounts SET status = %s, updated_at = %s WHERE tenant_id = %s AND id = %s",
                        (status.value, at, tenant_id, account_id))

    def update_secret(self, tenant_id: str, account_id: str, api_key_encrypted: str, at: datetime) -> None:
        self.db.execute(
            "UPDATE integration_accounts SET api_key_encrypted = %s, updated_at = %s WHERE tenant_id = %s AND id = %s",
            (api_key_encrypted, at, tenant_id, account_id),
        )

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall(
            "SELECT DISTINCT tenant_id FROM integration_accounts ORDER BY 1")]


_ORDER_COLS = ("tenant_id", "provider", "account_id", "external_order_id", "id", "customer_phone", "tracking_code",
               "order_status", "ordered_at", "order_data_json", "raw_json", "content_hash", "synced_at", "created_at")
_ORDER_TYPES = ("text", "text", "text", "text", "text", "text", "text", "text", "timestamptz", "text", "text", "text",
                "timestamptz", "timestamptz")
# Columns an update rewrites: never the id or created_at of the first sighting.
_ORDER_UPDATE = ("customer_phone", "tracking_code", "order_status", "ordered_at", "order_data_json", "raw_json",
                 "content_hash", "synced_at")


class PostgresOrderCache(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "core_0002_orders_cache",
            [
                """CREATE TABLE orders_cache (
                    tenant_id TEXT NOT NULL, provider TEXT NOT NULL, account_id TEXT NOT NULL,
                    external_order_id TEXT NOT NULL, id TEXT NOT NULL, customer_phone TEXT, tracking_code TEXT,
                    order_status TEXT NOT NULL, ordered_at TIMESTAMPTZ NOT NULL, order_data_json TEXT NOT NULL,
                    raw_json TEXT, content_hash TEXT NOT NULL, synced_at TIMESTAMPTZ NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, provider, account_id, external_order_id))""",
                "CREATE INDEX ix_orders_phone ON orders_cache (tenant_id, customer_phone, ordered_at DESC)",
                "CREATE INDEX ix_orders_tracking ON orders_cache (tenant_id, tracking_code)",
            ],
        )

    _SELECT = f"SELECT {', '.join(_ORDER_COLS)} FROM orders_cache"

    # One page = two statements, whatever its size: the batch travels as one array per column
    # (binary: no per-element quoting) and is unnested server-side; per-row INSERTs, even
    # pipelined, cost several times more on a bulk sync.
    _LOCK = ("SELECT provider, account_id, external_order_id, content_hash FROM orders_cache "
             "WHERE tenant_id = %s AND (provider, account_id, external_order_id) IN "
             "(SELECT * FROM unnest(%b::text[], %b::text[], %b::text[])) FOR UPDATE")
    _UPSERT = (
        f"INSERT INTO orders_cache ({', '.join(_ORDER_COLS)}) "
        f"SELECT * FROM unnest({', '.join(f'%b::{t}[]' for t in _ORDER_TYPES)}) "
        "ON CONFLICT (tenant_id, provider, account_id, external_order_id) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in _ORDER_UPDATE)
    )

    def upsert_many(self, tenant_id: str, orders: Sequence[CachedOrder]) -> UpsertResult:
        if any(o.tenant_id != tenant_id for o in orders):
            raise TenantMismatch("order belongs to another tenant")
        if not orders:
            return UpsertResult(0, 0, 0)
        # An order listed twice in a page is written once: the last version, the first id and created_at.
        batch: dict[tuple[str, str, str], CachedOrder] = {}
        for o in orders:
            key = (o.provider, o.account_id, o.external_order_id)
            first = batch.get(key)
            batch[key] = o if first is None else o.model_copy(update={"id": first.id, "created_at": first.created_at})
        inserted = updated = unchanged = 0
        with self.db.transaction():
            # The stored hashes of this batch, locked so a concurrent writer of the same orders waits
            # and the counts stay exact.
            keys = list(zip(*batch, strict=True))
            known: dict[tuple[str, str, str], str] = {
                (r["provider"], r["account_id"], r["external_order_id"]): r["content_hash"]
                for r in self.db.fetchall(self._LOCK, (tenant_id, list(keys[0]), list(keys[1]), list(keys[2])))}
            for o in orders:
                key = (o.provider, o.account_id, o.external_order_id)
                stored = known.get(key)
                if stored is None:
                    inserted += 1
                elif stored == o.content_hash:
                    unchanged += 1
                else:
                    updated += 1
                known[key] = o.content_hash
            rows = list(batch.values())
            self.db.execute(self._UPSERT, [[getattr(o, c) for o in rows] for c in _ORDER_COLS])
        return UpsertResult(inserted, updated, unchanged)

    def get(self, tenant_id: str, provider: str, account_id: str, external_order_id: str) -> CachedOrder | None:
        return self.get_many(tenant_id, provider, account_id, [external_order_id]).get(external_order_id)

    def get_many(
        self, tenant_id: str, provider: str, account_id: str, external_order_ids: Sequence[str]
    ) -> dict[str, CachedOrder]:
        rows = self.db.fetchall(
            f"{self._SELECT} WHERE tenant_id = %s AND provider = %s AND account_id = %s "
            "AND external_order_id = ANY(%s)", (tenant_id, provider, account_id, list(external_order_ids)))
        return {r["external_order_id"]: CachedOrder.model_validate(r) for r in rows}

    def find_by_phone(self, tenant_id: str, phone_e164: str, *, limit: int = 100) -> list[CachedOrder]:
        rows = self.db.fetchall(
            f"{self._SELECT} WHERE tenant_id = %s AND customer_phone = %s "
            "ORDER BY ordered_at DESC, external_order_id DESC LIMIT %s", (tenant_id, phone_e164, limit))
        return [CachedOrder.model_validate(r) for r in rows]

    def find_by_tracking_code(self, tenant_id: str, tracking_code: str) -> list[CachedOrder]:
        rows = self.db.fetchall(f"{self._SELECT} WHERE tenant_id = %s AND tracking_code = %s "
                                "ORDER BY ordered_at, external_order_id", (tenant_id, tracking_code))
        return [CachedOrder.model_validate(r) for r in rows]

    def count(self, tenant_id: str, *, provider: str | None = None) -> int:
        if provider is None:
            r = self.db.fetchone("SELECT COUNT(*) AS n FROM orders_cache WHERE tenant_id = %s", (tenant_id,))
        else:
            r = self.db.fetchone("SELECT COUNT(*) AS n FROM orders_cache WHERE tenant_id = %s AND provider = %s",
                                 (tenant_id, provider))
        return int(r["n"]) if r else 0


class PostgresCheckpoints(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "core_0003_sync_checkpoints",
            [
                """CREATE TABLE sync_checkpoints (
                    tenant_id TEXT NOT NULL, account_id TEXT NOT NULL, stream TEXT NOT NULL,
                    position TIMESTAMPTZ, cursor TEXT, updated_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, account_id, stream))""",
            ],
        )

    def get(self, tenant_id: str, account_id: str, stream: str) -> Checkpoint | None:
        r = self.db.fetchone("SELECT * FROM sync_checkpoints WHERE tenant_id = %s AND account_id = %s AND stream = %s",
                             (tenant_id, account_id, stream))
        return Checkpoint.model_validate(r) if r else None

    def put(self, tenant_id: str, checkpoint: Checkpoint) -> None:
        if checkpoint.tenant_id != tenant_id:
            raise TenantMismatch("checkpoint belongs to another tenant")
        c = checkpoint
        self.db.execute(
            "INSERT INTO sync_checkpoints (tenant_id, account_id, stream, position, cursor, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, account_id, stream) DO UPDATE SET "
            "position = EXCLUDED.position, cursor = EXCLUDED.cursor, updated_at = EXCLUDED.updated_at",
            (c.tenant_id, c.account_id, c.stream, c.position, c.cursor, c.updated_at),
        )


class PostgresQuarantine(ConciseRepr, fields=("db",)):
    _COLS = ("tenant_id", "id", "provider", "account_id", "record_id", "field", "error", "raw_json", "created_at")

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "core_0004_quarantine",
            [
                """CREATE TABLE quarantined_records (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, provider TEXT NOT NULL, account_id TEXT NOT NULL,
                    record_id TEXT, field TEXT, error TEXT NOT NULL, raw_json TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL, raw_hash TEXT NOT NULL, PRIMARY KEY (tenant_id, id))""",
                "CREATE INDEX ix_quarantine_tenant ON quarantined_records (tenant_id, provider)",
                # The same bad record seen again (an overlap window covers it on every run) is stored once.
                """CREATE UNIQUE INDEX ux_quarantine_record ON quarantined_records
                    (tenant_id, provider, account_id, COALESCE(record_id, ''), raw_hash)""",
            ],
        )

    def add(self, tenant_id: str, record: QuarantinedRecord) -> None:
        """Store a quarantined record; the same record (same raw payload) again is a no-op."""
        if record.tenant_id != tenant_id:
            raise TenantMismatch("quarantined record belongs to another tenant")
        self.db.execute(
            f"INSERT INTO quarantined_records ({', '.join(self._COLS)}, raw_hash) "
            f"VALUES ({_marks(len(self._COLS) + 1)}) ON CONFLICT DO NOTHING",
            (*(getattr(record, c) for c in self._COLS), raw_record_hash(record.raw_json)),
        )

    def find(self, tenant_id: str, *, provider: str | None = None) -> list[QuarantinedRecord]:
        sql = f"SELECT {', '.join(self._COLS)} FROM quarantined_records WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if provider:
            sql += " AND provider = %s"
            params.append(provider)
        return [QuarantinedRecord.model_validate(r) for r in self.db.fetchall(sql + " ORDER BY id", params)]


class PostgresEventLog(ConciseRepr, fields=("db",)):
    """Per-tenant sequence numbers without gaps visible to readers.

    The inserting transaction takes the tenant's counter row (``event_seqs``) with a row lock and
    numbers its events from it; a concurrent appender of the same tenant waits for the commit. So
    seq ``n + 1`` never becomes visible before ``n``: a consumer that advanced its cursor to ``n``
    cannot miss an event committed later with a smaller number. Duplicates (same event id or
    dedupe key) take no number.
    """

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "core_0005_event_log",
            [
                """CREATE TABLE event_log (
                    tenant_id TEXT NOT NULL, seq BIGINT NOT NULL, event_id TEXT NOT NULL,
                    type TEXT NOT NULL, version INTEGER NOT NULL, occurred_at TIMESTAMPTZ NOT NULL,
                    recorded_at TIMESTAMPTZ NOT NULL, dedupe_key TEXT, data JSONB NOT NULL,
                    PRIMARY KEY (tenant_id, seq))""",
                "CREATE UNIQUE INDEX ux_events_id ON event_log (tenant_id, event_id)",
                "CREATE UNIQUE INDEX ux_events_dedupe ON event_log (tenant_id, dedupe_key) "
                "WHERE dedupe_key IS NOT NULL",
                "CREATE INDEX ix_events_type ON event_log (tenant_id, type, seq)",
                """CREATE TABLE event_seqs (tenant_id TEXT PRIMARY KEY, last_seq BIGINT NOT NULL)""",
                """CREATE TABLE event_cursors (
                    tenant_id TEXT NOT NULL, consumer TEXT NOT NULL, seq BIGINT NOT NULL,
                    PRIMARY KEY (tenant_id, consumer))""",
            ],
        )

    @staticmethod
    def _row(r: Row) -> StoredEvent:
        return StoredEvent.model_validate(r)

    def append(self, tenant_id: str, events: Sequence[DomainEvent], *, at: datetime) -> list[StoredEvent]:
        if any(e.tenant_id != tenant_id for e in events):
            raise TenantMismatch("event belongs to another tenant")
        if not events:
            return []
        appended: list[StoredEvent] = []
        with self.db.transaction():
            # Lock (creating it if new) the tenant's counter row until commit.
            r = self.db.fetchone(
                "INSERT INTO event_seqs (tenant_id, last_seq) VALUES (%s, 0) ON CONFLICT (tenant_id) "
                "DO UPDATE SET last_seq = event_seqs.last_seq RETURNING last_seq", (tenant_id,))
            seq = int(r["last_seq"]) if r else 0
            for e in events:
                data = e.model_dump(mode="json")
                inserted = self.db.execute(
                    "INSERT INTO event_log (tenant_id, seq, event_id, type, version, occurred_at, recorded_at, "
                    "dedupe_key, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (tenant_id, seq + 1, e.event_id, e.TYPE, e.VERSION, e.occurred_at, at, e.dedupe_key, Jsonb(data)),
                )
                if inserted == 1:
                    seq += 1
                    appended.append(StoredEvent(seq=seq, event_id=e.event_id, tenant_id=tenant_id, type=e.TYPE,
                                                version=e.VERSION, occurred_at=e.occurred_at, recorded_at=at,
                                                dedupe_key=e.dedupe_key, data=data))
            if appended:
                self.db.execute("UPDATE event_seqs SET last_seq = %s WHERE tenant_id = %s", (seq, tenant_id))
                self.db.notify(tenant_id)
        return appended

    def read(
        self, tenant_id: str, *, after: int = 0, limit: int = 500, types: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        sql = "SELECT * FROM event_log WHERE tenant_id = %s AND seq > %s"
        params: list[object] = [tenant_id, after]
        if types:
            sql += " AND type = ANY(%s)"
            params.append(list(types))
        params.append(limit)
        return [self._row(r) for r in self.db.fetchall(sql + " ORDER BY seq LIMIT %s", params)]

    def cursor(self, tenant_id: str, consumer: str) -> int:
        r = self.db.fetchone("SELECT seq FROM event_cursors WHERE tenant_id = %s AND consumer = %s",
                             (tenant_id, consumer))
        return int(r["seq"]) if r else 0

    def advance(self, tenant_id: str, consumer: str, seq: int) -> None:
        self.db.execute(
            "INSERT INTO event_cursors (tenant_id, consumer, seq) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant_id, consumer) DO UPDATE SET seq = GREATEST(event_cursors.seq, EXCLUDED.seq)",
            (tenant_id, consumer, seq))

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall("SELECT tenant_id FROM event_seqs ORDER BY 1")]


class PostgresTenantSettings(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "settings_0001_tenant_settings",
            ["""CREATE TABLE tenant_settings (
                    tenant_id TEXT PRIMARY KEY, settings_json TEXT NOT NULL, updated_at TIMESTAMPTZ)"""],
        )

    def get(self, tenant_id: str) -> TenantSettings | None:
        r = self.db.fetchone("SELECT settings_json FROM tenant_settings WHERE tenant_id = %s", (tenant_id,))
        return TenantSettings.model_validate_json(r["settings_json"]) if r else None

    def save(self, tenant_id: str, settings: TenantSettings) -> None:
        if settings.tenant_id != tenant_id:
            raise TenantMismatch("settings belong to another tenant")
        self.db.execute(
            "INSERT INTO tenant_settings (tenant_id, settings_json, updated_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant_id) DO UPDATE SET settings_json = EXCLUDED.settings_json, "
            "updated_at = EXCLUDED.updated_at", (tenant_id, settings.model_dump_json(), settings.updated_at))

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall("SELECT tenant_id FROM tenant_settings ORDER BY 1")]


_CLAIM_COLS = ("tenant_id", "provider", "account_id", "claim_id", "external_order_id", "status", "raw_status",
               "claimed_at", "updated_at", "refund_amount", "currency", "claim_json", "content_hash", "first_seen_at",
               "synced_at")
_CLAIM_KEY = "tenant_id = %s AND provider = %s AND account_id = %s AND claim_id = %s"


class PostgresReturnClaims(ConciseRepr, fields=("db",)):
    _SELECT = f"SELECT {', '.join(_CLAIM_COLS)} FROM return_claims"

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "claims_0001_return_claims",
            [
                """CREATE TABLE return_claims (
                    tenant_id TEXT NOT NULL, provider TEXT NOT NULL, account_id TEXT NOT NULL,
                    claim_id TEXT NOT NULL, external_order_id TEXT NOT NULL, status TEXT NOT NULL,
                    raw_status TEXT NOT NULL, claimed_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                    refund_amount NUMERIC, currency TEXT NOT NULL, claim_json TEXT NOT NULL,
                    content_hash TEXT NOT NULL, first_seen_at TIMESTAMPTZ NOT NULL, synced_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, provider, account_id, claim_id))""",
                "CREATE INDEX ix_return_claims_claimed ON return_claims (tenant_id, claimed_at DESC)",
                "CREATE INDEX ix_return_claims_order ON return_claims (tenant_id, external_order_id)",
            ],
        )

    @staticmethod
    def _row(r: Row) -> StoredClaim:
        data: dict[str, Any] = dict(r)
        if data["refund_amount"] is not None:
            data["refund_amount"] = Decimal(data["refund_amount"])
        return StoredClaim.model_validate(data)

    def get(self, tenant_id: str, provider: str, account_id: str, claim_id: str) -> StoredClaim | None:
        r = self.db.fetchone(f"{self._SELECT} WHERE {_CLAIM_KEY}", (tenant_id, provider, account_id, claim_id))
        return self._row(r) if r else None

    def get_many(self, tenant_id: str, provider: str, account_id: str,
                 claim_ids: Sequence[str]) -> dict[str, StoredClaim]:
        rows = self.db.fetchall(f"{self._SELECT} WHERE tenant_id = %s AND provider = %s AND account_id = %s "
                                "AND claim_id = ANY(%s)", (tenant_id, provider, account_id, list(claim_ids)))
        return {r["claim_id"]: self._row(r) for r in rows}

    def upsert_many(self, tenant_id: str, claims: Sequence[StoredClaim]) -> UpsertResult:
        if any(c.tenant_id != tenant_id for c in claims):
            raise TenantMismatch("claim belongs to another tenant")
        inserted = updated = unchanged = 0
        rewrite = [c for c in _CLAIM_COLS[4:] if c != "first_seen_at"]
        with self.db.transaction():
            for c in claims:
                key = (tenant_id, c.provider, c.account_id, c.claim_id)
                found = self.db.fetchone(f"SELECT content_hash FROM return_claims WHERE {_CLAIM_KEY} FOR UPDATE", key)
                if found is None:
                    self.db.execute(f"INSERT INTO return_claims ({', '.join(_CLAIM_COLS)}) VALUES "
                                    f"({_marks(len(_CLAIM_COLS))})", tuple(getattr(c, col) for col in _CLAIM_COLS))
                    inserted += 1
                elif found["content_hash"] == c.content_hash:
                    self.db.execute(f"UPDATE return_claims SET synced_at = %s WHERE {_CLAIM_KEY}", (c.synced_at, *key))
                    unchanged += 1
                else:
                    self.db.execute(f"UPDATE return_claims SET {', '.join(f'{col} = %s' for col in rewrite)} "
                                    f"WHERE {_CLAIM_KEY}", (*(getattr(c, col) for col in rewrite), *key))
                    updated += 1
        return UpsertResult(inserted=inserted, updated=updated, unchanged=unchanged)

    def find(self, tenant_id: str, *, provider: str | None = None, status: str | None = None,
             external_order_id: str | None = None, limit: int = 500) -> list[StoredClaim]:
        sql = f"{self._SELECT} WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        for col, value in (("provider", provider), ("status", status), ("external_order_id", external_order_id)):
            if value is not None:
                sql += f" AND {col} = %s"
                params.append(value)
        params.append(limit)
        return [self._row(r) for r in self.db.fetchall(sql + " ORDER BY claimed_at DESC, claim_id DESC LIMIT %s",
                                                       params)]
