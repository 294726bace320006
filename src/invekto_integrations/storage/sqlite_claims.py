"""SQLite return claims (table ``return_claims``)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from .claims import StoredClaim
from .protocols import TenantMismatch, UpsertResult

__all__ = ["SQLiteReturnClaims"]

_COLS = ("tenant_id", "provider", "account_id", "claim_id", "external_order_id", "status", "raw_status",
         "claimed_at", "updated_at", "refund_amount", "currency", "claim_json", "content_hash", "first_seen_at",
         "synced_at")
_TS = ("claimed_at", "updated_at", "first_seen_at", "synced_at")
_SELECT = f"SELECT {', '.join(_COLS)} FROM return_claims"
_KEY = "tenant_id = ? AND provider = ? AND account_id = ? AND claim_id = ?"


class SQLiteReturnClaims(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "claims_0001_return_claims",
            [
                """CREATE TABLE return_claims (
                    tenant_id TEXT NOT NULL, provider TEXT NOT NULL, account_id TEXT NOT NULL,
                    claim_id TEXT NOT NULL, external_order_id TEXT NOT NULL, status TEXT NOT NULL,
                    raw_status TEXT NOT NULL, claimed_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                    refund_amount TEXT, currency TEXT NOT NULL, claim_json TEXT NOT NULL,
                    content_hash TEXT NOT NULL, first_seen_at TEXT NOT NULL, synced_at TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, provider, account_id, claim_id))""",
                "CREATE INDEX ix_return_claims_claimed ON return_claims (tenant_id, claimed_at DESC)",
                "CREATE INDEX ix_return_claims_order ON return_claims (tenant_id, external_order_id)",
            ],
        )

    @staticmethod
    def _row(r: Any) -> StoredClaim:
        data = dict(r)
        for key in _TS:
            data[key] = from_ts(data[key])
        data["refund_amount"] = Decimal(data["refund_amount"]) if data["refund_amount"] is not None else None
        return StoredClaim.model_validate(data)

    @staticmethod
    def _values(c: StoredClaim) -> tuple[object, ...]:
        data: dict[str, Any] = c.model_dump()
        for key in _TS:
            data[key] = to_ts(data[key])
        # Decimal as text: exact, and SQLite has no decimal type.
        data["refund_amount"] = str(c.refund_amount) if c.refund_amount is not None else None
        return tuple(data[col] for col in _COLS)

    def get(self, tenant_id: str, provider: str, account_id: str, claim_id: str) -> StoredClaim | None:
        r = self.db.execute(f"{_SELECT} WHERE {_KEY}", (tenant_id, provider, account_id, claim_id)).fetchone()
        return self._row(r) if r else None

    def get_many(self, tenant_id: str, provider: str, account_id: str,
                 claim_ids: Sequence[str]) -> dict[str, StoredClaim]:
        out: dict[str, StoredClaim] = {}
        ids = list(dict.fromkeys(claim_ids))
        for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            chunk = ids[i:i + 500]
            rows = self.db.execute(
                f"{_SELECT} WHERE tenant_id = ? AND provider = ? AND account_id = ? "
                f"AND claim_id IN ({','.join('?' * len(chunk))})", (tenant_id, provider, account_id, *chunk))
            for r in rows:
                out[r["claim_id"]] = self._row(r)
        return out

    def upsert_many(self, tenant_id: str, claims: Sequence[StoredClaim]) -> UpsertResult:
        if any(c.tenant_id != tenant_id for c in claims):
            raise TenantMismatch("claim belongs to another tenant")
        inserted = updated = unchanged = 0
        updates = ", ".join(f"{c} = ?" for c in _COLS[4:] if c != "first_seen_at")
        with self.db.transaction() as conn:
            for c in claims:
                key = (tenant_id, c.provider, c.account_id, c.claim_id)
                found = conn.execute(f"SELECT content_hash FROM return_claims WHERE {_KEY}", key).fetchone()
                values = dict(zip(_COLS, self._values(c), strict=True))
                if found is None:
                    conn.execute(f"INSERT INTO return_claims ({', '.join(_COLS)}) VALUES "
                                 f"({','.join('?' * len(_COLS))})", tuple(values.values()))
                    inserted += 1
                elif found["content_hash"] == c.content_hash:
                    conn.execute(f"UPDATE return_claims SET synced_at = ? WHERE {_KEY}", (values["synced_at"], *key))
                    unchanged += 1
                else:
                    conn.execute(f"UPDATE return_claims SET {updates} WHERE {_KEY}",
                                 (*(values[col] for col in _COLS[4:] if col != "first_seen_at"), *key))
                    updated += 1
        return UpsertResult(inserted=inserted, updated=updated, unchanged=unchanged)

    def find(self, tenant_id: str, *, provider: str | None = None, status: str | None = None,
             external_order_id: str | None = None, limit: int = 500) -> list[StoredClaim]:
        sql = f"{_SELECT} WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        for col, value in (("provider", provider), ("status", status), ("external_order_id", external_order_id)):
            if value is not None:
                sql += f" AND {col} = ?"
                params.append(value)
        sql += " ORDER BY claimed_at DESC, claim_id DESC LIMIT ?"
        params.append(limit)
        return [self._row(r) for r in self.db.execute(sql, params)]
