"""Repository protocols of the attribution area (issue 15): links and clicks, touches, leads,
conversions, ad spend, tag rules, the ad-lookup cache, Conversions API deliveries, and the report
aggregates (done in SQL by the SQLite store).

Every method takes ``tenant_id``; a record of another tenant raises `TenantMismatch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from invekto_integrations.models.attribution import (
    AdCacheEntry,
    AttributionModel,
    CapiDelivery,
    Conversion,
    ConversionKind,
    CreditRow,
    Lead,
    LeadCountRow,
    LinkClick,
    SpendEntry,
    SpendTotalRow,
    TagRule,
    Touch,
    TrackedLink,
)

__all__ = [
    "AdCacheRepository",
    "AttributionReportQueries",
    "CapiDeliveryRepository",
    "ConversionRepository",
    "LeadRepository",
    "SpendRepository",
    "TagRuleRepository",
    "TouchRepository",
    "TrackedLinkRepository",
]


class TrackedLinkRepository(Protocol):
    def add(self, tenant_id: str, link: TrackedLink) -> None:
        """Store a new link (`DuplicateRecord` when its code is taken in the tenant)."""
        ...

    def get_by_code(self, tenant_id: str, code: str) -> TrackedLink | None: ...

    def resolve_code(self, code: str) -> TrackedLink | None:
        """The link of a code whatever its tenant: the one read without ``tenant_id``, for the public
        redirect ``/r/{code}`` (which knows nothing but the code). Codes are unique across tenants."""
        ...

    def find(self, tenant_id: str) -> list[TrackedLink]: ...
    def record_click(self, tenant_id: str, click: LinkClick) -> None: ...
    def clicks(self, tenant_id: str, code: str) -> list[LinkClick]: ...


class TouchRepository(Protocol):
    def add(self, tenant_id: str, touch: Touch) -> bool:
        """Store a touch; False (nothing stored) when one for the same message and channel exists."""
        ...

    def find(self, tenant_id: str, contact: str, *, since: datetime | None = None,
             until: datetime | None = None) -> list[Touch]:
        """The contact's touches in [since, until), oldest first."""
        ...

    def add_many(self, tenant_id: str, touches: Sequence[Touch]) -> int: ...


class LeadRepository(Protocol):
    def add(self, tenant_id: str, lead: Lead) -> None: ...
    def save(self, tenant_id: str, lead: Lead) -> None:
        """Replace a stored lead (same ``lead_id``): last touch, labels, segments."""
        ...

    def latest(self, tenant_id: str, contact: str) -> Lead | None:
        """The contact's most recent lead."""
        ...

    def get(self, tenant_id: str, lead_id: str) -> Lead | None: ...
    def by_ctwa_clid(self, tenant_id: str, ctwa_clid: str) -> Lead | None: ...
    def find(self, tenant_id: str, *, since: datetime | None = None, until: datetime | None = None) -> list[Lead]:
        """Leads created in [since, until), oldest first."""
        ...


class ConversionRepository(Protocol):
    def add(self, tenant_id: str, conversion: Conversion) -> bool:
        """Store once: False when a conversion with the same ``source_key`` exists."""
        ...

    def get(self, tenant_id: str, conversion_id: str) -> Conversion | None: ...
    def by_source_key(self, tenant_id: str, source_key: str) -> Conversion | None: ...
    def find(self, tenant_id: str, *, contact: str | None = None, kind: ConversionKind | None = None,
             since: datetime | None = None, until: datetime | None = None,
             counted: bool | None = None) -> list[Conversion]:
        """Conversions occurred in [since, until), oldest first."""
        ...

    def mark_duplicate(self, tenant_id: str, conversion_id: str, duplicate_of: str) -> None:
        """Stop counting a conversion: it reports the same fact as ``duplicate_of``."""
        ...

    def add_many(self, tenant_id: str, conversions: Sequence[Conversion]) -> int: ...


class SpendRepository(Protocol):
    def upsert_many(self, tenant_id: str, entries: Sequence[SpendEntry]) -> int:
        """Insert or replace by (origin, level, object id, day); returns how many were written."""
        ...

    def find(self, tenant_id: str, *, since: date | None = None, until: date | None = None) -> list[SpendEntry]:
        """Entries of days in [since, until] (inclusive: days, not instants)."""
        ...

    def delete(self, tenant_id: str, entry: SpendEntry) -> bool: ...


class TagRuleRepository(Protocol):
    def save(self, tenant_id: str, rule: TagRule) -> None: ...
    def delete(self, tenant_id: str, rule_id: str) -> bool: ...
    def get(self, tenant_id: str, rule_id: str) -> TagRule | None: ...
    def find(self, tenant_id: str) -> list[TagRule]:
        """Every rule, in application order (priority, then rule id)."""
        ...


class AdCacheRepository(Protocol):
    def get(self, tenant_id: str, ad_id: str) -> AdCacheEntry | None: ...
    def put(self, tenant_id: str, entry: AdCacheEntry) -> None: ...


class CapiDeliveryRepository(Protocol):
    def get(self, tenant_id: str, event_id: str) -> CapiDelivery | None: ...
    def put(self, tenant_id: str, delivery: CapiDelivery) -> None: ...
    def find(self, tenant_id: str) -> list[CapiDelivery]: ...


class AttributionReportQueries(Protocol):
    """The aggregates behind the reports (the SQLite store computes them in SQL)."""

    def credit(self, tenant_id: str, *, since: datetime, until: datetime, model: AttributionModel,
               lookback: timedelta, half_life: timedelta, currency: str = "TRY",
               kinds: Sequence[ConversionKind] = (ConversionKind.PURCHASE,)) -> list[CreditRow]:
        """Conversions (counted, of ``kinds``, in ``currency``) occurred in [since, until), split over the
        contact's touches in [conversion - lookback, conversion] by ``model``, grouped by source.
        Conversions with no touch in the window form the ``unattributed`` row."""
        ...

    def lead_counts(self, tenant_id: str, *, since: datetime, until: datetime) -> list[LeadCountRow]:
        """Leads created in [since, until) by source."""
        ...

    def spend_totals(self, tenant_id: str, *, since: date, until: date, currency: str = "TRY") -> list[SpendTotalRow]:
        """Spend of days in [since, until] per object, manual entries winning: for a (campaign, day)
        with any manual entry, the Insights entries of that campaign and day are left out."""
        ...
