"""Rows of the dashboard's own tables: return cases ("iade çevirme") and review cases.

A `ReturnCase` follows one marketplace return claim after the seller contacted the customer;
a `ReviewCase` follows one customer review (negative ones are followed up). They live in the
storage layer, like the clinic records, so that storage never imports a domain package;
`invekto_integrations.dashboard` re-exports them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invekto_integrations.core.money import DecimalAmount

__all__ = [
    "RECOVERED_RETURN_OUTCOMES",
    "RECOVERED_REVIEW_OUTCOMES",
    "ReturnCase",
    "ReturnOutcome",
    "ReviewCase",
    "ReviewOutcome",
]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware value")
    return value.astimezone(UTC)


class ReturnOutcome(StrEnum):
    """What became of a return claim after the seller's contact."""

    PENDING = "pending"  # no outcome yet (contacted or not)
    EXCHANGED = "exchanged"  # the customer took another size/colour/product instead of a refund
    KEPT = "kept"  # the customer withdrew the return and kept the item (maybe with a concession)
    REFUNDED = "refunded"  # the return went through: the money went back
    CANCELLED = "cancelled"  # the claim was cancelled on the marketplace (rejected or void): no decision


#: Outcomes whose revenue stayed with the seller.
RECOVERED_RETURN_OUTCOMES: frozenset[ReturnOutcome] = frozenset({ReturnOutcome.EXCHANGED, ReturnOutcome.KEPT})


class ReturnCase(BaseModel):
    """A row of ``return_cases``: one return claim, unique by (tenant, provider, claim_id).

    ``claim_amount`` is the value at stake (the refund the claim asks for); ``concession_amount``
    what the seller gave to keep the sale (a discount, a partial refund). Recovered revenue of a
    recovered case is ``claim_amount - concession_amount``.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: str
    account_id: str | None = None
    claim_id: str
    order_number: str
    claim_status: str = "requested"  # the unified ClaimStatus last synced
    reason: str | None = None
    customer_phone: str | None = None
    claim_amount: DecimalAmount = Decimal(0)
    currency: str = "TRY"
    opened_at: datetime
    contacted_at: datetime | None = None
    contact_channel: str | None = None  # whatsapp | phone | ...
    outcome: ReturnOutcome = ReturnOutcome.PENDING
    outcome_at: datetime | None = None
    concession_amount: DecimalAmount = Decimal(0)
    note: str | None = None
    created_at: datetime
    updated_at: datetime

    @field_validator("opened_at", "contacted_at", "outcome_at", "created_at", "updated_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _check(self) -> ReturnCase:
        where = f"return case {self.provider}/{self.claim_id}"
        if self.claim_amount < 0 or self.concession_amount < 0:
            raise ValueError(f"{where}: amounts must not be negative")
        if self.concession_amount > self.claim_amount:
            raise ValueError(f"{where}: concession {self.concession_amount} exceeds the claim {self.claim_amount}")
        if self.outcome is not ReturnOutcome.PENDING and self.outcome_at is None:
            raise ValueError(f"{where}: outcome {self.outcome.value} needs outcome_at")
        return self

    @property
    def recovered(self) -> bool:
        return self.outcome in RECOVERED_RETURN_OUTCOMES

    @property
    def recovered_amount(self) -> Decimal:
        return self.claim_amount - self.concession_amount if self.recovered else Decimal(0)


class ReviewOutcome(StrEnum):
    """What became of a negative review after the follow-up."""

    PENDING = "pending"  # not followed up, or no change seen yet
    IMPROVED = "improved"  # the customer raised the rating
    REMOVED = "removed"  # the review was taken down
    UNCHANGED = "unchanged"  # followed up, the rating stayed (or dropped)


#: Outcomes that count as a recovered review.
RECOVERED_REVIEW_OUTCOMES: frozenset[ReviewOutcome] = frozenset({ReviewOutcome.IMPROVED, ReviewOutcome.REMOVED})


class ReviewCase(BaseModel):
    """A row of ``review_cases``: one customer review, unique by (tenant, platform, review_id).

    Every ingested review is kept (the average rating needs them all); ``negative`` marks the
    ones to follow up (rating at or below the ingest threshold). ``rating_after`` is the rating
    the platform showed last, when it changed after the follow-up.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    platform: str
    review_id: str
    product_id: str | None = None
    customer_phone: str | None = None
    rating_before: int = Field(ge=1, le=5)
    rating_after: int | None = Field(default=None, ge=1, le=5)
    negative: bool
    reviewed_at: datetime
    followed_up_at: datetime | None = None
    outcome: ReviewOutcome = ReviewOutcome.PENDING
    outcome_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @field_validator("reviewed_at", "followed_up_at", "outcome_at", "created_at", "updated_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @property
    def recovered(self) -> bool:
        return self.outcome in RECOVERED_REVIEW_OUTCOMES

    @property
    def current_rating(self) -> int | None:
        """The rating that counts now: ``None`` once removed, else the latest rating."""
        if self.outcome is ReviewOutcome.REMOVED:
            return None
        return self.rating_after if self.rating_after is not None else self.rating_before
