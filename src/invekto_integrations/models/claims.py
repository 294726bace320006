"""The unified marketplace return claim ("iade talebi"): what `iter_claims` of a marketplace returns.

Both Trendyol claims and Hepsiburada "talep"s map onto `ReturnClaim`; the raw status is kept
beside the unified one. A claim is separate from the order: an order whose return is only
*requested* keeps its shipping status; an accepted/refunded return is what makes it ``returned``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.money import DecimalAmount

__all__ = ["ClaimLine", "ClaimStatus", "ReturnClaim"]


class ClaimStatus(StrEnum):
    REQUESTED = "requested"  # created, waiting for the seller or for checks
    IN_DISPUTE = "in_dispute"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class ClaimLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str | None = None
    barcode: str | None = None
    name: str | None = None
    quantity: int = 1
    reason: str | None = None
    raw_status: str | None = None


class ReturnClaim(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    external_id: str
    order_number: str
    status: ClaimStatus
    raw_status: str
    created_at: datetime
    updated_at: datetime
    customer_name: str | None = None
    lines: list[ClaimLine] = Field(default_factory=list)
    refund_amount: DecimalAmount | None = None
    currency: str = "TRY"
    # The return parcel's carrier and tracking number (a string, as sent) when the provider gives them.
    cargo_company: str | None = None
    tracking_number: str | None = None
    raw: dict[str, Any] | None = Field(default=None, repr=False)
