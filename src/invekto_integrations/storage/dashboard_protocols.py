"""Repository protocols of the dashboard: its own tables and the range reads its panels need.

`ReportReader` reads the tables other areas own (orders cache, shipments, appointments,
waitlist) by time range, each query on an index that leads with ``tenant_id`` then the time
column, so a panel never scans a tenant's whole table. Bounds are aware datetimes, half-open
``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from .dashboard_records import ReturnCase, ReviewCase
from .records import (
    Appointment,
    CachedOrder,
    OutboxRecord,
    ServicePricing,
    TrackedShipment,
    WaitlistEntry,
    WaitlistOffer,
)

__all__ = ["ReportReader", "ReturnCaseRepository", "ReviewCaseRepository"]


class ReturnCaseRepository(Protocol):
    """The ``return_cases`` table: one row per (tenant, provider, claim_id)."""

    def add(self, tenant_id: str, case: ReturnCase) -> bool:
        """Insert unless the claim has a case already; ``False`` (and no change) if it has."""
        ...

    def save(self, tenant_id: str, case: ReturnCase) -> None:
        """Insert or replace by (tenant, provider, claim_id)."""
        ...

    def get(self, tenant_id: str, provider: str, claim_id: str) -> ReturnCase | None: ...

    def find(self, tenant_id: str, *, opened_from: datetime | None = None, opened_to: datetime | None = None,
             provider: str | None = None) -> list[ReturnCase]:
        """Cases opened in ``[opened_from, opened_to)`` (either bound optional), by ``opened_at`` then id."""
        ...

    def tenants(self) -> list[str]: ...


class ReviewCaseRepository(Protocol):
    """The ``review_cases`` table: one row per (tenant, platform, review_id)."""

    def add(self, tenant_id: str, case: ReviewCase) -> bool:
        """Insert unless the review is known; ``False`` (and no change) if it is."""
        ...

    def save(self, tenant_id: str, case: ReviewCase) -> None:
        """Insert or replace by (tenant, platform, review_id)."""
        ...

    def get(self, tenant_id: str, platform: str, review_id: str) -> ReviewCase | None: ...

    def find(self, tenant_id: str, *, reviewed_from: datetime | None = None, reviewed_to: datetime | None = None,
             platform: str | None = None, negative: bool | None = None) -> list[ReviewCase]:
        """Reviews written in ``[reviewed_from, reviewed_to)``, by ``reviewed_at`` then id."""
        ...


class ReportReader(Protocol):
    """Indexed range reads over other areas' tables, for the panels."""

    def orders(self, tenant_id: str, start: datetime, end: datetime) -> list[CachedOrder]:
        """Cached orders with ``ordered_at`` in ``[start, end)``."""
        ...

    def shipments(self, tenant_id: str, start: datetime, end: datetime) -> list[TrackedShipment]:
        """Watched parcels registered (``created_at``) in ``[start, end)``."""
        ...

    def appointments(self, tenant_id: str, start: datetime, end: datetime) -> list[Appointment]:
        """Appointments starting in ``[start, end)`` (every status)."""
        ...

    def booked_appointments(self, tenant_id: str, start: datetime, end: datetime) -> list[Appointment]:
        """Appointments booked (``booked_at``, else ``created_at``) in ``[start, end)``: the leads."""
        ...

    def waitlist_entries(self, tenant_id: str, start: datetime, end: datetime) -> list[WaitlistEntry]:
        """Waitlist entries created in ``[start, end)``."""
        ...

    def waitlist_offers(self, tenant_id: str, start: datetime, end: datetime) -> list[WaitlistOffer]:
        """Offers made (``created_at``) in ``[start, end)``."""
        ...

    def campaign_messages(self, tenant_id: str, start: datetime, end: datetime) -> list[OutboxRecord]:
        """Outbox rows of purpose ``campaign`` created in ``[start, end)``."""
        ...

    def services(self, tenant_id: str) -> Sequence[ServicePricing]:
        """Every service of the tenant, active or not (price ranges of past appointments)."""
        ...
