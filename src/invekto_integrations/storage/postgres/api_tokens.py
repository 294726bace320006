"""PostgreSQL API tokens of the service (SHA-256 digests only, never the clear token).

``api_tokens`` is keyed ``(tenant_id, token_id)`` like every other table. A presented token names
no tenant, so the digest is found through ``api_token_digests`` (digest → tenant, token): the one
kind of table here keyed by something else than the tenant, a routing table (on Citus, distribute
it by ``digest`` or make it a reference table). Both rows are written in one transaction; the
routing table's primary key keeps a digest unique across tenants.
"""

from __future__ import annotations

from datetime import datetime

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.api_tokens import ApiToken
from invekto_integrations.storage.protocols import TenantMismatch

from ._db import PostgresDatabase, Row

__all__ = ["PostgresApiTokens"]

_COLS = "t.tenant_id, t.token_id, t.digest, t.label, t.created_at, t.revoked_at"


class PostgresApiTokens(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("service_0001_api_tokens", [
            """CREATE TABLE api_tokens (
                tenant_id TEXT NOT NULL, token_id TEXT NOT NULL, digest TEXT NOT NULL, label TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ, PRIMARY KEY (tenant_id, token_id),
                UNIQUE (tenant_id, digest))""",
            """CREATE TABLE api_token_digests (
                digest TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, token_id TEXT NOT NULL)""",
        ])

    @staticmethod
    def _row(r: Row) -> ApiToken:
        return ApiToken(r["tenant_id"], r["token_id"], r["digest"], r["label"], r["created_at"], r["revoked_at"])

    def add(self, tenant_id: str, token: ApiToken) -> None:
        if token.tenant_id != tenant_id:
            raise TenantMismatch("token belongs to another tenant")
        with self.db.transaction():
            self.db.execute("INSERT INTO api_token_digests (digest, tenant_id, token_id) VALUES (%s, %s, %s)",
                            (token.digest, tenant_id, token.token_id))
            self.db.execute("INSERT INTO api_tokens (tenant_id, token_id, digest, label, created_at, revoked_at) "
                            "VALUES (%s, %s, %s, %s, %s, %s)",
                            (tenant_id, token.token_id, token.digest, token.label, token.created_at,
                             token.revoked_at))

    def find_by_digest(self, digest: str) -> ApiToken | None:
        # Routing row first, then the token by its tenant-led key: two point reads, no join (on
        # Citus the two tables are distributed by different columns).
        route = self.db.fetchone("SELECT tenant_id, token_id FROM api_token_digests WHERE digest = %s", (digest,))
        if route is None:
            return None
        r = self.db.fetchone(f"SELECT {_COLS} FROM api_tokens t WHERE t.tenant_id = %s AND t.token_id = %s "
                             "AND t.digest = %s AND t.revoked_at IS NULL",
                             (route["tenant_id"], route["token_id"], digest))
        return self._row(r) if r else None

    def list(self, tenant_id: str) -> list[ApiToken]:
        return [self._row(r) for r in self.db.fetchall(
            f"SELECT {_COLS} FROM api_tokens t WHERE t.tenant_id = %s ORDER BY t.token_id", (tenant_id,))]

    def revoke(self, tenant_id: str, token_id: str, at: datetime) -> bool:
        return self.db.execute("UPDATE api_tokens SET revoked_at = %s WHERE tenant_id = %s AND token_id = %s "
                               "AND revoked_at IS NULL", (at, tenant_id, token_id)) == 1
