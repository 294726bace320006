"""In-memory dashboard repositories (return and review cases) and the report reader over a `MemoryStore`'s
repositories (it filters their rows in memory: the reference behaviour the SQLite queries match)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from invekto_integrations.core.reprs import ConciseRepr

from .dashboard_records import ReturnCase, ReviewCase
from .protocols import TenantMismatch
from .records import (
    Appointment,
    CachedOrder,
    OutboxRecord,
    ServicePricing,
    TrackedShipment,
    WaitlistEntry,
    WaitlistOffer,
)

if TYPE_CHECKING:
    from .memory import MemoryOrderCache
    from .memory_appointments import MemoryAppointments, MemoryServicePricing, MemoryWaitlist
    from .memory_messaging import MemoryOutbox
    from .memory_shipments import MemoryShipments

__all__ = ["MemoryReportReader", "MemoryReturnCases", "MemoryReviewCases"]


def _within(value: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or value >= start) and (end is None or value < end)


class MemoryReturnCases(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], ReturnCase] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, case: ReturnCase) -> bool:
        if case.tenant_id != tenant_id:
            raise TenantMismatch("return case belongs to another tenant")
        with self._lock:
            key = (tenant_id, case.provider, case.claim_id)
            if key in self._rows:
                return False
            self._rows[key] = case
            return True

    def save(self, tenant_id: str, case: ReturnCase) -> None:
        if case.tenant_id != tenant_id:
            raise TenantMismatch("return case belongs to another tenant")
        with self._lock:
            self._rows[(tenant_id, case.provider, case.claim_id)] = case

    def get(self, tenant_id: str, provider: str, claim_id: str) -> ReturnCase | None:
        return self._rows.get((tenant_id, provider, claim_id))

    def find(self, tenant_id: str, *, opened_from: datetime | None = None, opened_to: datetime | None = None,
             provider: str | None = None) -> list[ReturnCase]:
        rows = [c for (t, p, _), c in list(self._rows.items())
                if t == tenant_id and provider in (None, p) and _within(c.opened_at, opened_from, opened_to)]
        return sorted(rows, key=lambda c: (c.opened_at, c.id))

    def tenants(self) -> list[str]:
        return sorted({t for t, _, _ in list(self._rows)})


class MemoryReviewCases(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], ReviewCase] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, case: ReviewCase) -> bool:
        if case.tenant_id != tenant_id:
            raise TenantMismatch("review case belongs to another tenant")
        with self._lock:
            key = (tenant_id, case.platform, case.review_id)
            if key in self._rows:
                return False
            self._rows[key] = case
            return True

    def save(self, tenant_id: str, case: ReviewCase) -> None:
        if case.tenant_id != tenant_id:
            raise TenantMismatch("review case belongs to another tenant")
        with self._lock:
            self._rows[(tenant_id, case.platform, case.review_id)] = case

    def get(self, tenant_id: str, platform: str, review_id: str) -> ReviewCase | None:
        return self._rows.get((tenant_id, platform, review_id))

    def find(self, tenant_id: str, *, reviewed_from: datetime | None = None, reviewed_to: datetime | None = None,
             platform: str | None = None, negative: bool | None = None) -> list[ReviewCase]:
        rows = [c for (t, p, _), c in list(self._rows.items())
                if t == tenant_id and platform in (None, p) and negative in (None, c.negative)
                and _within(c.reviewed_at, reviewed_from, reviewed_to)]
        return sorted(rows, key=lambda c: (c.reviewed_at, c.id))


class MemoryReportReader(ConciseRepr):
    """Range reads over the memory repositories of one `MemoryStore` (reads their rows directly)."""

    def __init__(self, orders: MemoryOrderCache, shipments: MemoryShipments, appointments: MemoryAppointments,
                 waitlist: MemoryWaitlist, service_pricing: MemoryServicePricing, outbox: MemoryOutbox) -> None:
        self._orders = orders
        self._shipments = shipments
        self._appointments = appointments
        self._waitlist = waitlist
        self._pricing = service_pricing
        self._outbox = outbox

    def orders(self, tenant_id: str, start: datetime, end: datetime) -> list[CachedOrder]:
        rows = [o for key, o in list(self._orders._rows.items())
                if key[0] == tenant_id and _within(o.ordered_at, start, end)]
        return sorted(rows, key=lambda o: (o.ordered_at, o.id))

    def shipments(self, tenant_id: str, start: datetime, end: datetime) -> list[TrackedShipment]:
        rows = [s for key, s in list(self._shipments._rows.items())
                if key[0] == tenant_id and _within(s.created_at, start, end)]
        return sorted(rows, key=lambda s: (s.created_at, s.carrier, s.tracking_number))

    def appointments(self, tenant_id: str, start: datetime, end: datetime) -> list[Appointment]:
        rows = [a for (t, _), a in list(self._appointments._rows.items())
                if t == tenant_id and _within(a.starts_at, start, end)]
        return sorted(rows, key=lambda a: (a.starts_at, a.id))

    def booked_appointments(self, tenant_id: str, start: datetime, end: datetime) -> list[Appointment]:
        rows = [a for (t, _), a in list(self._appointments._rows.items())
                if t == tenant_id and _within(a.booked_at or a.created_at, start, end)]
        return sorted(rows, key=lambda a: (a.booked_at or a.created_at, a.id))

    def waitlist_entries(self, tenant_id: str, start: datetime, end: datetime) -> list[WaitlistEntry]:
        rows = [e for (t, _), e in list(self._waitlist._entries.items())
                if t == tenant_id and _within(e.created_at, start, end)]
        return sorted(rows, key=lambda e: (e.created_at, e.id))

    def waitlist_offers(self, tenant_id: str, start: datetime, end: datetime) -> list[WaitlistOffer]:
        rows = [o for (t, _), o in list(self._waitlist._offers.items())
                if t == tenant_id and _within(o.created_at, start, end)]
        return sorted(rows, key=lambda o: (o.created_at, o.id))

    def campaign_messages(self, tenant_id: str, start: datetime, end: datetime) -> list[OutboxRecord]:
        rows = [m for (t, _), m in list(self._outbox._rows.items())
                if t == tenant_id and m.purpose == "campaign" and _within(m.created_at, start, end)]
        return sorted(rows, key=lambda m: (m.created_at, m.id))

    def services(self, tenant_id: str) -> Sequence[ServicePricing]:
        return self._pricing.find(tenant_id, active_only=False)
