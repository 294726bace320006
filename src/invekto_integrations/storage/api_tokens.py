"""Per-tenant API tokens of the service: stored as SHA-256 digests only, never in clear.

A token is ``inv_<tenant-free random part>``; the service hashes what a caller presents and looks
the digest up (an index lookup on a 256-bit digest: no timing channel on the secret). Memory and
SQLite implementations behave the same; every row carries ``tenant_id``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts

__all__ = ["ApiToken", "ApiTokenRepository", "MemoryApiTokens", "SQLiteApiTokens", "token_digest"]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiToken:
    """A stored token: its digest, owner tenant and label (the clear token is shown once, on issue)."""

    tenant_id: str
    token_id: str
    digest: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None

    def __repr__(self) -> str:
        return f"<ApiToken {self.token_id} tenant={self.tenant_id} label={self.label!r}>"


class ApiTokenRepository(Protocol):
    def add(self, tenant_id: str, token: ApiToken) -> None: ...
    def find_by_digest(self, digest: str) -> ApiToken | None:
        """The live (not revoked) token with this digest, whatever its tenant."""
        ...
    def list(self, tenant_id: str) -> list[ApiToken]: ...
    def revoke(self, tenant_id: str, token_id: str, at: datetime) -> bool: ...


class MemoryApiTokens(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], ApiToken] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, token: ApiToken) -> None:
        with self._lock:
            self._rows[(tenant_id, token.token_id)] = token

    def find_by_digest(self, digest: str) -> ApiToken | None:
        with self._lock:
            return next((t for t in self._rows.values() if t.digest == digest and t.revoked_at is None), None)

    def list(self, tenant_id: str) -> list[ApiToken]:
        with self._lock:
            return sorted((t for (tid, _), t in self._rows.items() if tid == tenant_id), key=lambda t: t.token_id)

    def revoke(self, tenant_id: str, token_id: str, at: datetime) -> bool:
        with self._lock:
            row = self._rows.get((tenant_id, token_id))
            if row is None or row.revoked_at is not None:
                return False
            self._rows[(tenant_id, token_id)] = ApiToken(row.tenant_id, row.token_id, row.digest, row.label,
                                                         row.created_at, at)
            return True


class SQLiteApiTokens(ConciseRepr):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate("service_0001_api_tokens", [
            """CREATE TABLE api_tokens (
                tenant_id TEXT NOT NULL, token_id TEXT NOT NULL, digest TEXT NOT NULL, label TEXT NOT NULL,
                created_at TEXT NOT NULL, revoked_at TEXT, PRIMARY KEY (tenant_id, token_id))""",
            "CREATE UNIQUE INDEX ux_api_tokens_digest ON api_tokens (digest)",
        ])

    @staticmethod
    def _row(r: sqlite3.Row) -> ApiToken:
        return ApiToken(r["tenant_id"], r["token_id"], r["digest"], r["label"], from_ts(r["created_at"]),
                        from_ts(r["revoked_at"]) if r["revoked_at"] else None)

    def add(self, tenant_id: str, token: ApiToken) -> None:
        self.db.execute("INSERT INTO api_tokens VALUES (?,?,?,?,?,?)",
                        (tenant_id, token.token_id, token.digest, token.label, to_ts(token.created_at),
                         to_ts(token.revoked_at) if token.revoked_at else None))

    def find_by_digest(self, digest: str) -> ApiToken | None:
        r = self.db.execute("SELECT * FROM api_tokens WHERE digest = ? AND revoked_at IS NULL", (digest,)).fetchone()
        return self._row(r) if r else None

    def list(self, tenant_id: str) -> list[ApiToken]:
        return [self._row(r) for r in self.db.execute(
            "SELECT * FROM api_tokens WHERE tenant_id = ? ORDER BY token_id", (tenant_id,))]

    def revoke(self, tenant_id: str, token_id: str, at: datetime) -> bool:
        cur = self.db.execute("UPDATE api_tokens SET revoked_at = ? WHERE tenant_id = ? AND token_id = ? "
                              "AND revoked_at IS NULL", (to_ts(at), tenant_id, token_id))
        return cur.rowcount == 1
