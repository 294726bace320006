"""Storage protocols of the campaigns area (memory and SQLite implement them; the repository
contract tests run on both). Every method takes ``tenant_id`` first; every key starts with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from .audience import AudienceContext, ContactProfile, Criterion
from .models import Campaign, CampaignStatus, Conversion, Recipient, RecipientStatus

__all__ = [
    "CampaignRepository",
    "ContactProfileRepository",
    "ConversionRepository",
    "ConversionTotals",
    "RecipientCounts",
    "RecipientRepository",
]


class CampaignRepository(Protocol):
    def add(self, tenant_id: str, campaign: Campaign) -> None:
        """Insert a new campaign; an existing id raises `StorageError`."""
        ...

    def get(self, tenant_id: str, campaign_id: str) -> Campaign | None: ...

    def replace(self, tenant_id: str, campaign: Campaign, *, expected_version: int) -> bool:
        """Store ``campaign`` (whose ``version`` is ``expected_version + 1``) only if the stored one is
        still at ``expected_version``; False when someone else changed it first."""
        ...

    def find(self, tenant_id: str, *, statuses: Sequence[CampaignStatus] | None = None,
             trigger_type: str | None = None) -> list[Campaign]: ...

    def tenants(self) -> list[str]: ...


class RecipientCounts(BaseModel):
    """One variant's funnel in one campaign (all occurrences)."""

    model_config = ConfigDict(frozen=True)

    variant: str
    entered: int = 0
    holdout: int = 0
    waiting: int = 0
    submitted: int = 0
    refused: int = 0
    failed: int = 0
    skipped: int = 0
    sent: int = 0  # accepted by the provider (accepted, sent, delivered, read)
    delivered: int = 0  # delivered or read
    read: int = 0
    refused_reasons: dict[str, int] = {}


class RecipientRepository(Protocol):
    def enter_many(self, tenant_id: str, recipients: Sequence[Recipient]) -> list[Recipient]:
        """Insert recipients unique by (tenant, campaign, occurrence, phone); return only the ones
        this call inserted (a recipient another runtime entered first is not returned)."""
        ...

    def get(self, tenant_id: str, campaign_id: str, occurrence: str, phone: str) -> Recipient | None: ...

    def update(self, tenant_id: str, recipient: Recipient) -> None: ...

    def by_message(self, tenant_id: str, message_id: str) -> Recipient | None: ...

    def last_touch(self, tenant_id: str, phone: str, *, at: datetime, since: datetime) -> Recipient | None:
        """The latest recipient row of ``phone`` that was sent a campaign message (or held out)
        at or before ``at`` and at or after ``since``: the touch a conversion is credited to."""
        ...

    def find(self, tenant_id: str, campaign_id: str, *, statuses: Sequence[RecipientStatus] | None = None,
             occurrence: str | None = None, after_phone: str | None = None, limit: int = 1000) -> list[Recipient]:
        """Ordered by (occurrence, phone); page with ``after_phone`` within one occurrence."""
        ...

    def counts(self, tenant_id: str, campaign_id: str) -> dict[str, RecipientCounts]: ...


class ConversionTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    variant: str
    conversion_type: str
    conversions: int
    recipients: int  # distinct phones
    value: Decimal


class ConversionRepository(Protocol):
    def add(self, tenant_id: str, conversion: Conversion) -> bool:
        """Insert unless (tenant, conversion type, source_ref) exists: a fact converts once."""
        ...

    def find(self, tenant_id: str, campaign_id: str) -> list[Conversion]: ...

    def totals(self, tenant_id: str, campaign_id: str) -> list[ConversionTotals]: ...

    def converted_phones(self, tenant_id: str, campaign_id: str, types: Sequence[str]) -> dict[str, set[str]]:
        """variant → phones with at least one conversion of ``types``."""
        ...


class ContactProfileRepository(Protocol):
    """The audience projection: one profile per (tenant, phone), facts by kind, and the query."""

    def record_order(self, tenant_id: str, phone: str, *, order_ref: str, at: datetime, total: Decimal,
                     currency: str = "TRY", platform: str | None = None, products: Sequence[str] = (),
                     name: str | None = None) -> bool:
        """Fold one order into the profile once (idempotent by ``order_ref``); True if it was new."""
        ...

    def record_appointment(self, tenant_id: str, phone: str, *, appointment_ref: str, at: datetime,
                           service: str | None = None, name: str | None = None) -> bool: ...

    def add_labels(self, tenant_id: str, phone: str, kind: str, values: Sequence[str], *, at: datetime) -> None:
        """``kind`` is ``tag`` or ``segment`` (attribution's labels)."""
        ...

    def upsert_many(self, tenant_id: str, profiles: Sequence[ContactProfile]) -> int:
        """Bulk load whole profiles (rebuilds, imports, benchmarks); replaces their facts."""
        ...

    def get(self, tenant_id: str, phone: str) -> ContactProfile | None: ...

    def select(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext, *, after_phone: str | None = None,
               limit: int = 1000) -> list[str]:
        """Phones matching ``criteria``, ascending; page with ``after_phone``."""
        ...

    def count(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext) -> int: ...

    def contains(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext, phone: str) -> bool:
        """Whether ``phone`` is in the audience (one primary-key lookup: event-triggered entries)."""
        ...
