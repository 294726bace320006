"""In-memory return claims."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from invekto_integrations.core.reprs import ConciseRepr

from .claims import StoredClaim
from .protocols import TenantMismatch, UpsertResult

__all__ = ["MemoryReturnClaims"]


class MemoryReturnClaims(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str, str], StoredClaim] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, provider: str, account_id: str, claim_id: str) -> StoredClaim | None:
        return self._rows.get((tenant_id, provider, account_id, claim_id))

    def get_many(self, tenant_id: str, provider: str, account_id: str,
                 claim_ids: Sequence[str]) -> dict[str, StoredClaim]:
        out = {}
        for cid in claim_ids:
            row = self._rows.get((tenant_id, provider, account_id, cid))
            if row is not None:
                out[cid] = row
        return out

    def upsert_many(self, tenant_id: str, claims: Sequence[StoredClaim]) -> UpsertResult:
        if any(c.tenant_id != tenant_id for c in claims):
            raise TenantMismatch("claim belongs to another tenant")
        inserted = updated = unchanged = 0
        with self._lock:
            for c in claims:
                key = (tenant_id, c.provider, c.account_id, c.claim_id)
                found = self._rows.get(key)
                if found is None:
                    self._rows[key] = c
                    inserted += 1
                elif found.content_hash == c.content_hash:
                    self._rows[key] = found.model_copy(update={"synced_at": c.synced_at})
                    unchanged += 1
                else:
                    self._rows[key] = c.model_copy(update={"first_seen_at": found.first_seen_at})
                    updated += 1
        return UpsertResult(inserted=inserted, updated=updated, unchanged=unchanged)

    def find(self, tenant_id: str, *, provider: str | None = None, status: str | None = None,
             external_order_id: str | None = None, limit: int = 500) -> list[StoredClaim]:
        rows = [c for (t, *_), c in list(self._rows.items())
                if t == tenant_id and provider in (None, c.provider) and status in (None, c.status)
                and external_order_id in (None, c.external_order_id)]
        rows.sort(key=lambda c: (c.claimed_at, c.claim_id), reverse=True)
        return rows[:limit]
