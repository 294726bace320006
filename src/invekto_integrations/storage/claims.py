"""Return claims ("iade talepleri") synced from the marketplaces: the record and its repository.

One row per (tenant, provider, account, claim id); ``claim_json`` keeps the unified
`ReturnClaim` (without the raw payload) so the returns panel reads it back whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from .protocols import UpsertResult

__all__ = ["ReturnClaimRepository", "StoredClaim"]


class StoredClaim(BaseModel):
    """A row of ``return_claims``."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    provider: str
    account_id: str
    claim_id: str
    external_order_id: str  # the marketplace's order number
    status: str  # unified `ClaimStatus` value
    raw_status: str
    claimed_at: datetime
    updated_at: datetime  # as the provider states it
    refund_amount: Decimal | None = None
    currency: str = "TRY"
    claim_json: str
    content_hash: str
    first_seen_at: datetime
    synced_at: datetime


class ReturnClaimRepository(Protocol):
    def get(self, tenant_id: str, provider: str, account_id: str, claim_id: str) -> StoredClaim | None: ...
    def get_many(self, tenant_id: str, provider: str, account_id: str,
                 claim_ids: Sequence[str]) -> dict[str, StoredClaim]: ...
    def upsert_many(self, tenant_id: str, claims: Sequence[StoredClaim]) -> UpsertResult:
        """Insert or update by (tenant, provider, account, claim id); a row whose ``content_hash`` is
        unchanged only moves ``synced_at``; an update keeps ``first_seen_at``."""
        ...

    def find(self, tenant_id: str, *, provider: str | None = None, status: str | None = None,
             external_order_id: str | None = None, limit: int = 500) -> list[StoredClaim]:
        """Newest claim first (``claimed_at``, then claim id)."""
        ...
