"""PostgreSQL clinic repositories: ``appointments``, ``doctors``, ``service_pricing``, ``waitlist``
and ``waitlist_offers``.

Every table is keyed by (tenant_id, id) and every index leads with tenant_id. Double booking is
prevented per doctor: a booking (or a change) first takes a transaction-scoped advisory lock on
(tenant, doctor), then checks for an overlapping active appointment and writes, in one
transaction, so two processes booking the same doctor queue on the lock and the second sees the
first one's committed row (READ COMMITTED takes a fresh snapshot per statement). An exclusion
constraint would refuse the overlaps a calendar owner may make (``allow_overlap``), so the lock is
the rule and the overlap check its body. Unique active service names and "one pending offer per
waitlist entry" are partial unique indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage._tenant import check_tenant
from invekto_integrations.storage.protocols import DuplicateRecord, DuplicateServiceName, SlotConflict
from invekto_integrations.storage.records import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Doctor,
    OfferStatus,
    ServicePricing,
    TimeRange,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
    fold_name,
)

from ._db import PostgresDatabase, Row
from .reports import ClinicTables

__all__ = [
    "PostgresAppointments",
    "PostgresDoctors",
    "PostgresServicePricing",
    "PostgresWaitlist",
    "clinic_tables",
]


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def _filtered(select: str, tenant_id: str, statuses: Sequence[StrEnum] | None,
              *conditions: tuple[str, object]) -> tuple[str, list[object]] | None:
    """``select`` narrowed to one tenant, the given statuses (``None``: any; empty: no row, so
    ``None`` is returned) and every ``(clause with one %s, value)`` whose value is not ``None``."""
    sql = f"{select} WHERE tenant_id = %s"
    params: list[object] = [tenant_id]
    if statuses is not None:
        if not statuses:
            return None
        sql += " AND status = ANY(%s)"
        params.append([s.value for s in statuses])
    for clause, value in conditions:
        if value is not None:
            sql += f" AND {clause}"
            params.append(value)
    return sql, params


def _unique_violation(exc: StorageError) -> psycopg.errors.UniqueViolation | None:
    cause = exc.__cause__
    return cause if isinstance(cause, psycopg.errors.UniqueViolation) else None


# --- appointments -----------------------------------------------------------------------------
_APPT_COLS = (
    "tenant_id", "id", "doctor_id", "patient_phone", "patient_name", "service_name", "starts_at", "ends_at",
    "blocked_until", "buffer_minutes", "status", "source", "notes", "version", "calendar_id", "calendar_event_id",
    "calendar_etag", "synced_version", "booked_at", "confirmed_at", "created_at", "updated_at",
)
_APPT_SELECT = f"SELECT {', '.join(_APPT_COLS)} FROM appointments"
_ACTIVE = [s.value for s in ACTIVE_APPOINTMENT_STATUSES]


def _appointment(r: Row) -> Appointment:
    data = dict(r)
    data.pop("blocked_until")
    return Appointment.model_validate(data)


def _appointment_values(a: Appointment) -> list[object]:
    derived: dict[str, object] = {"blocked_until": a.blocked_until, "status": a.status.value}
    return [derived[c] if c in derived else getattr(a, c) for c in _APPT_COLS]


class PostgresAppointments(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("appointments_0001_appointments", [
            """CREATE TABLE appointments (
                tenant_id TEXT NOT NULL, id TEXT NOT NULL, doctor_id TEXT NOT NULL,
                patient_phone TEXT NOT NULL, patient_name TEXT, service_name TEXT NOT NULL,
                starts_at TIMESTAMPTZ NOT NULL, ends_at TIMESTAMPTZ NOT NULL, blocked_until TIMESTAMPTZ NOT NULL,
                buffer_minutes INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, source TEXT NOT NULL,
                notes TEXT, version INTEGER NOT NULL, calendar_id TEXT, calendar_event_id TEXT,
                calendar_etag TEXT, synced_version INTEGER, booked_at TIMESTAMPTZ, confirmed_at TIMESTAMPTZ,
                created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (tenant_id, id), CHECK (ends_at > starts_at), CHECK (buffer_minutes >= 0))""",
            "CREATE INDEX ix_appointments_doctor ON appointments (tenant_id, doctor_id, starts_at)",
            "CREATE INDEX ix_appointments_event ON appointments (tenant_id, calendar_id, calendar_event_id)",
            "CREATE INDEX ix_appointments_phone ON appointments (tenant_id, patient_phone, starts_at)",
        ])

    def get(self, tenant_id: str, appointment_id: str) -> Appointment | None:
        r = self.db.fetchone(f"{_APPT_SELECT} WHERE tenant_id = %s AND id = %s", (tenant_id, appointment_id))
        return _appointment(r) if r else None

    def find(self, tenant_id: str, *, doctor_id: str | None = None, start: datetime | None = None,
             end: datetime | None = None, statuses: Sequence[AppointmentStatus] | None = None,
             patient_phone: str | None = None) -> list[Appointment]:
        query = _filtered(_APPT_SELECT, tenant_id, statuses, ("doctor_id = %s", doctor_id),
                          ("blocked_until > %s", start), ("starts_at < %s", end),
                          ("patient_phone = %s", patient_phone))
        if query is None:
            return []
        sql, params = query
        return [_appointment(r) for r in self.db.fetchall(sql + " ORDER BY starts_at, id", params)]

    def find_by_event(self, tenant_id: str, calendar_id: str, event_id: str) -> Appointment | None:
        r = self.db.fetchone(f"{_APPT_SELECT} WHERE tenant_id = %s AND calendar_id = %s AND calendar_event_id = %s "
                             "ORDER BY id LIMIT 1", (tenant_id, calendar_id, event_id))
        return _appointment(r) if r else None

    def _lock_doctor(self, a: Appointment) -> None:
        # One booker per (tenant, doctor) at a time, until this transaction ends.
        self.db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 8))", (f"{a.tenant_id}\x1f{a.doctor_id}",))

    def _conflict(self, a: Appointment) -> str | None:
        r = self.db.fetchone(
            "SELECT id FROM appointments WHERE tenant_id = %s AND doctor_id = %s AND id <> %s "
            "AND status = ANY(%s) AND starts_at < %s AND blocked_until > %s ORDER BY starts_at, id LIMIT 1",
            (a.tenant_id, a.doctor_id, a.id, _ACTIVE, a.blocked_until, a.starts_at))
        return str(r["id"]) if r else None

    def book_if_free(self, tenant_id: str, appointment: Appointment) -> bool:
        a = appointment
        check_tenant(tenant_id, a.tenant_id, "appointment")
        with self.db.transaction():
            if a.is_active:
                self._lock_doctor(a)
                if self._conflict(a) is not None:
                    return False
            n = self.db.execute(f"INSERT INTO appointments ({', '.join(_APPT_COLS)}) "
                                f"VALUES ({_marks(len(_APPT_COLS))}) ON CONFLICT (tenant_id, id) DO NOTHING",
                                _appointment_values(a))
            if n != 1:
                raise DuplicateRecord(f"appointment {a.id} exists for tenant {tenant_id}")
        return True

    def update(self, tenant_id: str, appointment: Appointment, *, expected_version: int,
               allow_overlap: bool = False) -> bool:
        a = appointment
        check_tenant(tenant_id, a.tenant_id, "appointment")
        sets = ", ".join(f"{c} = %s" for c in _APPT_COLS[2:])
        with self.db.transaction():
            if a.is_active and not allow_overlap:
                self._lock_doctor(a)
            r = self.db.fetchone("SELECT version FROM appointments WHERE tenant_id = %s AND id = %s FOR UPDATE",
                                 (tenant_id, a.id))
            if r is None or int(r["version"]) != expected_version:
                return False
            if a.is_active and not allow_overlap:
                other = self._conflict(a)
                if other is not None:
                    raise SlotConflict(f"appointment {a.id} overlaps {other}", conflicting_id=other)
            self.db.execute(f"UPDATE appointments SET {sets} WHERE tenant_id = %s AND id = %s AND version = %s",
                            (*_appointment_values(a)[2:], tenant_id, a.id, expected_version))
        return True

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall("SELECT DISTINCT tenant_id FROM appointments ORDER BY 1")]


# --- doctors ----------------------------------------------------------------------------------
class PostgresDoctors(ConciseRepr, fields=("db",)):
    """A doctor is stored whole as JSONB (schedules are nested) next to the columns queries use."""

    _SELECT = "SELECT doctor FROM doctors"

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("appointments_0002_doctors", [
            """CREATE TABLE doctors (
                tenant_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, calendar_id TEXT,
                is_active BOOLEAN NOT NULL, doctor JSONB NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (tenant_id, id))""",
            "CREATE INDEX ix_doctors_calendar ON doctors (tenant_id, calendar_id)",
        ])

    def save(self, tenant_id: str, doctor: Doctor) -> None:
        d = doctor
        check_tenant(tenant_id, d.tenant_id, "doctor")
        self.db.execute(
            "INSERT INTO doctors (tenant_id, id, name, calendar_id, is_active, doctor, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name, "
            "calendar_id = EXCLUDED.calendar_id, is_active = EXCLUDED.is_active, doctor = EXCLUDED.doctor, "
            "updated_at = EXCLUDED.updated_at",
            (tenant_id, d.id, d.name, d.calendar_id, d.is_active, Jsonb(d.model_dump(mode="json")), d.updated_at))

    def get(self, tenant_id: str, doctor_id: str) -> Doctor | None:
        r = self.db.fetchone(f"{self._SELECT} WHERE tenant_id = %s AND id = %s", (tenant_id, doctor_id))
        return Doctor.model_validate(r["doctor"]) if r else None

    def find(self, tenant_id: str, *, active_only: bool = True) -> list[Doctor]:
        sql = f"{self._SELECT} WHERE tenant_id = %s" + (" AND is_active" if active_only else "")
        return [Doctor.model_validate(r["doctor"]) for r in self.db.fetchall(sql + " ORDER BY name, id", (tenant_id,))]

    def find_by_calendar(self, tenant_id: str, calendar_id: str) -> Doctor | None:
        r = self.db.fetchone(f"{self._SELECT} WHERE tenant_id = %s AND calendar_id = %s ORDER BY id LIMIT 1",
                             (tenant_id, calendar_id))
        return Doctor.model_validate(r["doctor"]) if r else None


# --- service prices ---------------------------------------------------------------------------
_SP_COLS = ("tenant_id", "id", "service_name", "name_key", "price_min", "price_max", "currency", "duration_minutes",
            "buffer_minutes", "description", "requires_specialist", "is_active", "created_at", "updated_at")
_SP_SELECT = f"SELECT {', '.join(_SP_COLS)} FROM service_pricing"


def _service(r: Row) -> ServicePricing:
    data = dict(r)
    data.pop("name_key")
    return ServicePricing.model_validate(data)


def _service_values(s: ServicePricing) -> list[object]:
    return [s.name_key if c == "name_key" else getattr(s, c) for c in _SP_COLS]


class PostgresServicePricing(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("appointments_0003_service_pricing", [
            """CREATE TABLE service_pricing (
                tenant_id TEXT NOT NULL, id TEXT NOT NULL, service_name TEXT NOT NULL, name_key TEXT NOT NULL,
                price_min NUMERIC NOT NULL, price_max NUMERIC NOT NULL, currency TEXT NOT NULL DEFAULT 'TRY',
                duration_minutes INTEGER NOT NULL, buffer_minutes INTEGER NOT NULL DEFAULT 0, description TEXT,
                requires_specialist BOOLEAN NOT NULL DEFAULT false, is_active BOOLEAN NOT NULL DEFAULT true,
                created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, id),
                CHECK (duration_minutes > 0), CHECK (buffer_minutes >= 0))""",
            "CREATE UNIQUE INDEX ux_service_pricing_active ON service_pricing (tenant_id, name_key) WHERE is_active",
            "CREATE INDEX ix_service_pricing_tenant ON service_pricing (tenant_id, name_key)",
        ])

    def _write(self, sql: str, params: Sequence[object], service: ServicePricing) -> int:
        try:
            return self.db.execute(sql, params)
        except StorageError as exc:
            unique = _unique_violation(exc)
            if unique is None:
                raise
            if unique.diag.constraint_name == "ux_service_pricing_active":
                raise DuplicateServiceName(f"an active service named {service.service_name!r} exists for tenant "
                                           f"{service.tenant_id}") from exc
            raise DuplicateRecord(f"service {service.id} exists for tenant {service.tenant_id}") from exc

    def add(self, tenant_id: str, service: ServicePricing) -> None:
        check_tenant(tenant_id, service.tenant_id, "service")
        self._write(f"INSERT INTO service_pricing ({', '.join(_SP_COLS)}) VALUES ({_marks(len(_SP_COLS))})",
                    _service_values(service), service)

    def save(self, tenant_id: str, service: ServicePricing) -> None:
        check_tenant(tenant_id, service.tenant_id, "service")
        sets = ", ".join(f"{c} = %s" for c in _SP_COLS[2:])
        n = self._write(f"UPDATE service_pricing SET {sets} WHERE tenant_id = %s AND id = %s",
                        (*_service_values(service)[2:], tenant_id, service.id), service)
        if n != 1:
            raise StorageError(f"no service {service.id} for this tenant")

    def get(self, tenant_id: str, service_id: str) -> ServicePricing | None:
        r = self.db.fetchone(f"{_SP_SELECT} WHERE tenant_id = %s AND id = %s", (tenant_id, service_id))
        return _service(r) if r else None

    def get_active(self, tenant_id: str, service_name: str) -> ServicePricing | None:
        r = self.db.fetchone(f"{_SP_SELECT} WHERE tenant_id = %s AND name_key = %s AND is_active",
                             (tenant_id, fold_name(service_name)))
        return _service(r) if r else None

    def find(self, tenant_id: str, *, active_only: bool = True) -> list[ServicePricing]:
        sql = f"{_SP_SELECT} WHERE tenant_id = %s" + (" AND is_active" if active_only else "")
        return [_service(r) for r in self.db.fetchall(sql + " ORDER BY name_key, id", (tenant_id,))]


# --- waitlist and offers ----------------------------------------------------------------------
_WL_COLS = ("tenant_id", "id", "patient_phone", "patient_name", "service_type", "doctor_id", "preferred_date",
            "preferred_time", "date_from", "date_to", "time_windows", "priority", "status", "created_at",
            "updated_at")
_WL_SELECT = f"SELECT {', '.join(_WL_COLS)} FROM waitlist"
_OF_COLS = ("tenant_id", "id", "entry_id", "patient_phone", "doctor_id", "service_name", "starts_at", "ends_at",
            "buffer_minutes", "source_appointment_id", "status", "expires_at", "message_id", "appointment_id",
            "created_at", "responded_at")
_OF_SELECT = f"SELECT {', '.join(_OF_COLS)} FROM waitlist_offers"


def _entry(r: Row) -> WaitlistEntry:
    data = dict(r)
    data["time_windows"] = [TimeRange.model_validate(w) for w in data["time_windows"]]
    return WaitlistEntry.model_validate(data)


def _entry_values(e: WaitlistEntry) -> list[object]:
    def value(c: str) -> Any:
        if c == "time_windows":
            return Jsonb([w.model_dump(mode="json") for w in e.time_windows])
        if c == "status":
            return e.status.value
        return getattr(e, c)

    return [value(c) for c in _WL_COLS]


def _offer(r: Row) -> WaitlistOffer:
    return WaitlistOffer.model_validate(r)


def _offer_values(o: WaitlistOffer) -> list[object]:
    return [o.status.value if c == "status" else getattr(o, c) for c in _OF_COLS]


class PostgresWaitlist(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("appointments_0004_waitlist", [
            """CREATE TABLE waitlist (
                tenant_id TEXT NOT NULL, id TEXT NOT NULL, patient_phone TEXT NOT NULL, patient_name TEXT,
                service_type TEXT NOT NULL, doctor_id TEXT, preferred_date DATE, preferred_time TIME,
                date_from DATE, date_to DATE, time_windows JSONB NOT NULL DEFAULT '[]',
                priority INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, id))""",
            "CREATE INDEX ix_waitlist_fair ON waitlist (tenant_id, status, priority DESC, created_at, id)",
            """CREATE TABLE waitlist_offers (
                tenant_id TEXT NOT NULL, id TEXT NOT NULL, entry_id TEXT NOT NULL, patient_phone TEXT NOT NULL,
                doctor_id TEXT NOT NULL, service_name TEXT NOT NULL, starts_at TIMESTAMPTZ NOT NULL,
                ends_at TIMESTAMPTZ NOT NULL, buffer_minutes INTEGER NOT NULL DEFAULT 0,
                source_appointment_id TEXT NOT NULL, status TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL,
                message_id TEXT, appointment_id TEXT, created_at TIMESTAMPTZ NOT NULL, responded_at TIMESTAMPTZ,
                PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, entry_id, source_appointment_id))""",
            "CREATE UNIQUE INDEX ux_offers_one_pending ON waitlist_offers (tenant_id, entry_id) "
            "WHERE status = 'pending'",
            "CREATE INDEX ix_offers_phone ON waitlist_offers (tenant_id, patient_phone, status)",
            "CREATE INDEX ix_offers_source ON waitlist_offers (tenant_id, source_appointment_id)",
            "CREATE INDEX ix_offers_expiry ON waitlist_offers (tenant_id, status, expires_at)",
        ])

    def add(self, tenant_id: str, entry: WaitlistEntry) -> None:
        check_tenant(tenant_id, entry.tenant_id, "waitlist entry")
        n = self.db.execute(f"INSERT INTO waitlist ({', '.join(_WL_COLS)}) VALUES ({_marks(len(_WL_COLS))}) "
                            "ON CONFLICT (tenant_id, id) DO NOTHING", _entry_values(entry))
        if n != 1:
            raise DuplicateRecord(f"waitlist entry {entry.id} exists for tenant {tenant_id}")

    def get(self, tenant_id: str, entry_id: str) -> WaitlistEntry | None:
        r = self.db.fetchone(f"{_WL_SELECT} WHERE tenant_id = %s AND id = %s", (tenant_id, entry_id))
        return _entry(r) if r else None

    def find(self, tenant_id: str, *, statuses: Sequence[WaitlistStatus] | None = None,
             patient_phone: str | None = None) -> list[WaitlistEntry]:
        query = _filtered(_WL_SELECT, tenant_id, statuses, ("patient_phone = %s", patient_phone))
        if query is None:
            return []
        sql, params = query
        return [_entry(r) for r in self.db.fetchall(sql + " ORDER BY priority DESC, created_at, id", params)]

    def set_status(self, tenant_id: str, entry_id: str, expected: Sequence[WaitlistStatus], new: WaitlistStatus,
                   at: datetime) -> WaitlistEntry | None:
        if not expected:
            return None
        r = self.db.fetchone(f"UPDATE waitlist SET status = %s, updated_at = %s WHERE tenant_id = %s AND id = %s "
                             f"AND status = ANY(%s) RETURNING {', '.join(_WL_COLS)}",
                             (new.value, at, tenant_id, entry_id, [s.value for s in expected]))
        return _entry(r) if r else None

    def add_offer(self, tenant_id: str, offer: WaitlistOffer) -> bool:
        check_tenant(tenant_id, offer.tenant_id, "offer")
        # No conflict target: the key, (entry, slot) and the one-pending index all refuse quietly.
        return self.db.execute(f"INSERT INTO waitlist_offers ({', '.join(_OF_COLS)}) VALUES "
                               f"({_marks(len(_OF_COLS))}) ON CONFLICT DO NOTHING", _offer_values(offer)) == 1

    def get_offer(self, tenant_id: str, offer_id: str) -> WaitlistOffer | None:
        r = self.db.fetchone(f"{_OF_SELECT} WHERE tenant_id = %s AND id = %s", (tenant_id, offer_id))
        return _offer(r) if r else None

    def find_offers(self, tenant_id: str, *, statuses: Sequence[OfferStatus] | None = None,
                    patient_phone: str | None = None, source_appointment_id: str | None = None,
                    expires_before: datetime | None = None) -> list[WaitlistOffer]:
        query = _filtered(_OF_SELECT, tenant_id, statuses, ("patient_phone = %s", patient_phone),
                          ("source_appointment_id = %s", source_appointment_id), ("expires_at <= %s", expires_before))
        if query is None:
            return []
        sql, params = query
        return [_offer(r) for r in self.db.fetchall(sql + " ORDER BY created_at, id", params)]

    def resolve_offer(self, tenant_id: str, offer_id: str, expected: Sequence[OfferStatus], new: OfferStatus,
                      at: datetime, *, appointment_id: str | None = None) -> WaitlistOffer | None:
        if not expected:
            return None
        r = self.db.fetchone(
            "UPDATE waitlist_offers SET status = %s, responded_at = %s, appointment_id = COALESCE(%s, appointment_id) "
            f"WHERE tenant_id = %s AND id = %s AND status = ANY(%s) RETURNING {', '.join(_OF_COLS)}",
            (new.value, at, appointment_id, tenant_id, offer_id, [s.value for s in expected]))
        return _offer(r) if r else None

    def set_offer_message(self, tenant_id: str, offer_id: str, message_id: str) -> None:
        self.db.execute("UPDATE waitlist_offers SET message_id = %s WHERE tenant_id = %s AND id = %s",
                        (message_id, tenant_id, offer_id))

    def extend_offer(self, tenant_id: str, offer_id: str, expires_at: datetime) -> WaitlistOffer | None:
        # One statement: later-only, pending-only, atomic against a concurrent resolve.
        self.db.execute("UPDATE waitlist_offers SET expires_at = %s WHERE tenant_id = %s AND id = %s "
                        "AND status = %s AND expires_at < %s",
                        (expires_at, tenant_id, offer_id, OfferStatus.PENDING.value, expires_at))
        found = self.get_offer(tenant_id, offer_id)
        return found if found is not None and found.status == OfferStatus.PENDING else None

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall(
            "SELECT tenant_id FROM waitlist UNION SELECT tenant_id FROM waitlist_offers ORDER BY 1")]


def clinic_tables(services: PostgresServicePricing) -> ClinicTables:
    """What the dashboard's report reader needs of these tables."""
    return ClinicTables(
        appointment_select=_APPT_SELECT, appointment_row=_appointment,
        waitlist_select=_WL_SELECT, waitlist_row=_entry,
        offer_select=_OF_SELECT, offer_row=_offer,
        services=lambda tenant_id: services.find(tenant_id, active_only=False),
    )
