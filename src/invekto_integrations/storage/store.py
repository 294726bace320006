"""`Store`: every repository of one backend, as one typed protocol.

`MemoryStore` and `SQLiteStore` satisfy it under ``mypy --strict`` (checked in ``make test``), and
so can a caller's own backend (e.g. PostgreSQL): engines' ``from_store`` constructors accept any
`Store`. Members are read-only properties, so an implementation may hold a more specific type
(``SQLiteOrderCache`` for ``orders``) and still fit: a protocol *attribute* would have to match
the declared type exactly.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

from .claims import ReturnClaimRepository
from .dashboard_protocols import ReportReader, ReturnCaseRepository, ReviewCaseRepository
from .protocols import (
    AccountRepository,
    AppointmentRepository,
    CalendarSyncRepository,
    CargoNotificationRepository,
    CheckpointRepository,
    ConsentCacheRepository,
    DoctorRepository,
    DurableOutboxRepository,
    EventLog,
    MessagingContactRepository,
    OrderCacheRepository,
    QuarantineRepository,
    ServicePricingRepository,
    ShipmentRepository,
    WaitlistRepository,
)
from .protocols_attribution import (
    AdCacheRepository,
    AttributionReportQueries,
    CapiDeliveryRepository,
    ConversionRepository,
    LeadRepository,
    SpendRepository,
    TagRuleRepository,
    TouchRepository,
    TrackedLinkRepository,
)
from .runtime_protocols import LeaseRepository, TimerRepository
from .settings import TenantSettingsRepository

__all__ = ["Store"]


class Store(Protocol):
    """Every repository the library's engines use, over one backend."""

    # accounts, orders, sync
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def orders(self) -> OrderCacheRepository: ...
    @property
    def checkpoints(self) -> CheckpointRepository: ...
    @property
    def quarantine(self) -> QuarantineRepository: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def return_claims(self) -> ReturnClaimRepository: ...
    @property
    def tenant_settings(self) -> TenantSettingsRepository: ...
    # cargo
    @property
    def shipments(self) -> ShipmentRepository: ...
    @property
    def cargo_notifications(self) -> CargoNotificationRepository: ...
    # messaging
    @property
    def outbox(self) -> DurableOutboxRepository: ...
    @property
    def consents(self) -> ConsentCacheRepository: ...
    @property
    def messaging_contacts(self) -> MessagingContactRepository: ...
    # appointments
    @property
    def appointments(self) -> AppointmentRepository: ...
    @property
    def doctors(self) -> DoctorRepository: ...
    @property
    def service_pricing(self) -> ServicePricingRepository: ...
    @property
    def waitlist(self) -> WaitlistRepository: ...
    @property
    def calendar_sync(self) -> CalendarSyncRepository: ...
    # runtime
    @property
    def leases(self) -> LeaseRepository: ...
    @property
    def timers(self) -> TimerRepository: ...
    # dashboard
    @property
    def return_cases(self) -> ReturnCaseRepository: ...
    @property
    def review_cases(self) -> ReviewCaseRepository: ...
    @property
    def reports(self) -> ReportReader: ...
    # attribution
    @property
    def tracked_links(self) -> TrackedLinkRepository: ...
    @property
    def touches(self) -> TouchRepository: ...
    @property
    def leads(self) -> LeadRepository: ...
    @property
    def conversions(self) -> ConversionRepository: ...
    @property
    def ad_spend(self) -> SpendRepository: ...
    @property
    def tag_rules(self) -> TagRuleRepository: ...
    @property
    def ad_cache(self) -> AdCacheRepository: ...
    @property
    def capi_deliveries(self) -> CapiDeliveryRepository: ...
    @property
    def attribution_reports(self) -> AttributionReportQueries: ...

    def atomic(self) -> contextlib.AbstractContextManager[object]:
        """A unit of work: repository calls made inside it on this thread commit together."""
        ...

    def close(self) -> None: ...
