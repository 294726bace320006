"""The dashboard's range reads over other areas' PostgreSQL tables.

Each read is ``WHERE tenant_id = %s AND <time> >= %s AND <time> < %s`` on an index leading with
``tenant_id`` then the time column (migration ``dashboard_0003_report_indexes`` adds the ones the
owning areas lack); ``tests/dashboard`` checks the plans with ``EXPLAIN``. The clinic reads
(appointments, waitlist, services) come from the clinic repositories' tables and row readers,
given as `ClinicTables` by the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.records import (
    Appointment,
    CachedOrder,
    OutboxRecord,
    ServicePricing,
    TrackedShipment,
    WaitlistEntry,
    WaitlistOffer,
)

from ._db import PostgresDatabase, Row
from .dashboard import RC_COLS, RV_COLS
from .messaging import _SELECT as _OUTBOX_SELECT

__all__ = ["ClinicTables", "PostgresReportReader"]


@dataclass(frozen=True)
class ClinicTables:
    """What the reader needs of the clinic repositories: their SELECTs, row readers and pricing."""

    appointment_select: str  # "SELECT ... FROM appointments"
    appointment_row: Callable[[Row], Appointment]
    waitlist_select: str
    waitlist_row: Callable[[Row], WaitlistEntry]
    offer_select: str
    offer_row: Callable[[Row], WaitlistOffer]
    services: Callable[[str], Sequence[ServicePricing]]


def _between(column: str) -> str:
    return f"tenant_id = %s AND {column} >= %s AND {column} < %s"


class PostgresReportReader(ConciseRepr, fields=("db",)):
    """Range reads for the panels; built after the repositories whose tables it reads."""

    def __init__(self, db: PostgresDatabase, *, clinic: ClinicTables | None = None) -> None:
        self.db = db
        self._clinic = clinic
        from .core import _ORDER_COLS
        from .shipments import _SHIPMENT_COLS

        #: Every range read: name -> SQL (tests run EXPLAIN on each).
        self.queries: dict[str, str] = {
            "orders": f"SELECT {', '.join(_ORDER_COLS)} FROM orders_cache WHERE {_between('ordered_at')} "
                      "ORDER BY ordered_at, id",
            "shipments": f"SELECT {', '.join(_SHIPMENT_COLS)} FROM shipments WHERE {_between('created_at')} "
                         "ORDER BY created_at, carrier, tracking_number",
            "campaign_messages": f"{_OUTBOX_SELECT} WHERE tenant_id = %s AND purpose = 'campaign' "
                                 "AND created_at >= %s AND created_at < %s ORDER BY created_at, id",
            "return_cases": f"SELECT {', '.join(RC_COLS)} FROM return_cases WHERE {_between('opened_at')} "
                            "ORDER BY opened_at, id",
            "review_cases": f"SELECT {', '.join(RV_COLS)} FROM review_cases WHERE {_between('reviewed_at')} "
                            "ORDER BY reviewed_at, id",
        }
        indexes = [
            "CREATE INDEX IF NOT EXISTS ix_dash_orders_ordered ON orders_cache (tenant_id, ordered_at)",
            "CREATE INDEX IF NOT EXISTS ix_dash_shipments_created ON shipments (tenant_id, created_at)",
            "CREATE INDEX IF NOT EXISTS ix_dash_outbox_purpose ON outbox (tenant_id, purpose, created_at)",
        ]
        db.migrate("dashboard_0003_report_indexes", indexes)
        if clinic is not None:
            self.queries.update({
                "appointments": f"{clinic.appointment_select} WHERE {_between('starts_at')} ORDER BY starts_at, id",
                "booked_appointments": f"{clinic.appointment_select} WHERE tenant_id = %s "
                                       "AND COALESCE(booked_at, created_at) >= %s "
                                       "AND COALESCE(booked_at, created_at) < %s "
                                       "ORDER BY COALESCE(booked_at, created_at), id",
                "waitlist_entries": f"{clinic.waitlist_select} WHERE {_between('created_at')} ORDER BY created_at, id",
                "waitlist_offers": f"{clinic.offer_select} WHERE {_between('created_at')} ORDER BY created_at, id",
            })
            db.migrate("dashboard_0004_clinic_report_indexes", [
                "CREATE INDEX IF NOT EXISTS ix_dash_appointments_start ON appointments (tenant_id, starts_at)",
                "CREATE INDEX IF NOT EXISTS ix_dash_appointments_booked ON appointments "
                "(tenant_id, (COALESCE(booked_at, created_at)))",
                "CREATE INDEX IF NOT EXISTS ix_dash_waitlist_created ON waitlist (tenant_id, created_at)",
                "CREATE INDEX IF NOT EXISTS ix_dash_offers_created ON waitlist_offers (tenant_id, created_at)",
            ])

    def _rows(self, name: str, tenant_id: str, start: datetime, end: datetime) -> list[Row]:
        return self.db.fetchall(self.queries[name], (tenant_id, start, end))

    def _need_clinic(self) -> ClinicTables:
        if self._clinic is None:
            raise ConfigurationError("PostgresStore has no 'appointments' repository yet, so the clinic reads of "
                                     "'reports' are not available on PostgreSQL; see docs/postgres.md")
        return self._clinic

    def orders(self, tenant_id: str, start: datetime, end: datetime) -> list[CachedOrder]:
        return [CachedOrder.model_validate(r) for r in self._rows("orders", tenant_id, start, end)]

    def shipments(self, tenant_id: str, start: datetime, end: datetime) -> list[TrackedShipment]:
        return [TrackedShipment.model_validate(r) for r in self._rows("shipments", tenant_id, start, end)]

    def appointments(self, tenant_id: str, start: datetime, end: datetime) -> list[Appointment]:
        clinic = self._need_clinic()
        return [clinic.appointment_row(r) for r in self._rows("appointments", tenant_id, start, end)]

    def booked_appointments(self, tenant_id: str, start: datetime, end: datetime) -> list[Appointment]:
        clinic = self._need_clinic()
        return [clinic.appointment_row(r) for r in self._rows("booked_appointments", tenant_id, start, end)]

    def waitlist_entries(self, tenant_id: str, start: datetime, end: datetime) -> list[WaitlistEntry]:
        clinic = self._need_clinic()
        return [clinic.waitlist_row(r) for r in self._rows("waitlist_entries", tenant_id, start, end)]

    def waitlist_offers(self, tenant_id: str, start: datetime, end: datetime) -> list[WaitlistOffer]:
        clinic = self._need_clinic()
        return [clinic.offer_row(r) for r in self._rows("waitlist_offers", tenant_id, start, end)]

    def campaign_messages(self, tenant_id: str, start: datetime, end: datetime) -> list[OutboxRecord]:
        return [OutboxRecord.model_validate(r) for r in self._rows("campaign_messages", tenant_id, start, end)]

    def services(self, tenant_id: str) -> Sequence[ServicePricing]:
        return self._need_clinic().services(tenant_id)
