"""SQLite clinic repositories: ``appointments``, ``doctors``, ``service_pricing``, ``waitlist``
and ``waitlist_offers``.

Double booking is prevented inside one ``BEGIN IMMEDIATE`` transaction (overlap check, then
insert), so concurrent writers on the same file queue on SQLite's write lock and the second one
sees the first one's row. Unique active service names are a partial unique index. Every table is
keyed by (tenant_id, id) (migration ``appointments_0001_tenant_keys``): the same id under two
tenants is two rows, as in memory.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from ._tenant import check_tenant
from .protocols import DuplicateRecord, DuplicateServiceName, SlotConflict
from .records import (
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

__all__ = ["SQLiteAppointments", "SQLiteDoctors", "SQLiteServicePricing", "SQLiteWaitlist"]


def _ts(value: datetime | None) -> str | None:
    return to_ts(value) if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return from_ts(value) if value else None


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _rekey(table: str, create_v2: str, cols: Sequence[str], indexes: Sequence[str]) -> list[str]:
    """Rebuild ``table`` from ``create_v2`` (a ``{table}_v2`` with the new key): SQLite cannot
    change a primary key in place. Indexes go with the old table and are made again."""
    names = ", ".join(cols)
    return [create_v2, f"INSERT INTO {table}_v2 ({names}) SELECT {names} FROM {table}", f"DROP TABLE {table}",
            f"ALTER TABLE {table}_v2 RENAME TO {table}", *indexes]


def _filtered(select: str, tenant_id: str, statuses: Sequence[StrEnum] | None,
              *conditions: tuple[str, object]) -> tuple[str, list[object]] | None:
    """``select`` narrowed to one tenant, the given statuses (``None``: any; empty: no row, so
    ``None`` is returned) and every ``(clause with one ?, value)`` whose value is not ``None``."""
    sql = f"{select} WHERE tenant_id = ?"
    params: list[object] = [tenant_id]
    if statuses is not None:
        if not statuses:
            return None
        sql += f" AND status IN ({_marks(len(statuses))})"
        params.extend(s.value for s in statuses)
    for clause, value in conditions:
        if value is not None:
            sql += f" AND {clause}"
            params.append(value)
    return sql, params


_APPT_COLS = (
    "id", "tenant_id", "doctor_id", "patient_phone", "patient_name", "service_name", "starts_at", "ends_at",
    "blocked_until", "buffer_minutes", "status", "source", "notes", "version", "calendar_id", "calendar_event_id",
    "calendar_etag", "synced_version", "booked_at", "created_at", "updated_at", "confirmed_at",
)
_APPT_SELECT = f"SELECT {', '.join(_APPT_COLS)} FROM appointments"
_ACTIVE = (AppointmentStatus.BOOKED.value, AppointmentStatus.CONFIRMED.value)


class SQLiteAppointments(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0801_appointments",
            [
                """CREATE TABLE appointments (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, doctor_id TEXT NOT NULL,
                    patient_phone TEXT NOT NULL, patient_name TEXT, service_name TEXT NOT NULL,
                    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, blocked_until TEXT NOT NULL,
                    buffer_minutes INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, source TEXT NOT NULL,
                    notes TEXT, version INTEGER NOT NULL, calendar_id TEXT, calendar_event_id TEXT,
                    calendar_etag TEXT, synced_version INTEGER, booked_at TEXT,
                    created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
                "CREATE INDEX ix_appointments_doctor ON appointments (tenant_id, doctor_id, starts_at)",
                "CREATE INDEX ix_appointments_event ON appointments (tenant_id, calendar_id, calendar_event_id)",
                "CREATE INDEX ix_appointments_phone ON appointments (tenant_id, patient_phone, starts_at)",
            ],
        )
        db.migrate("0805_appointments_confirmed_at", ["ALTER TABLE appointments ADD COLUMN confirmed_at TEXT"])
        # Keyed by a global id, another tenant's appointment with the same id was refused as a
        # duplicate (memory kept both): key by (tenant, id), as every other table.
        db.migrate("appointments_0001_tenant_keys", _rekey(
            "appointments",
            """CREATE TABLE appointments_v2 (
                tenant_id TEXT NOT NULL, id TEXT NOT NULL, doctor_id TEXT NOT NULL,
                patient_phone TEXT NOT NULL, patient_name TEXT, service_name TEXT NOT NULL,
                starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, blocked_until TEXT NOT NULL,
                buffer_minutes INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, source TEXT NOT NULL,
                notes TEXT, version INTEGER NOT NULL, calendar_id TEXT, calendar_event_id TEXT,
                calendar_etag TEXT, synced_version INTEGER, booked_at TEXT,
                created_at TEXT NOT NULL, updated_at TEXT NOT NULL, confirmed_at TEXT,
                PRIMARY KEY (tenant_id, id))""",
            _APPT_COLS,
            ["CREATE INDEX ix_appointments_doctor ON appointments (tenant_id, doctor_id, starts_at)",
             "CREATE INDEX ix_appointments_event ON appointments (tenant_id, calendar_id, calendar_event_id)",
             "CREATE INDEX ix_appointments_phone ON appointments (tenant_id, patient_phone, starts_at)"],
        ))

    @staticmethod
    def _row(r: Any) -> Appointment:
        data = dict(r)
        data.pop("blocked_until")
        for key in ("starts_at", "ends_at", "booked_at", "created_at", "updated_at", "confirmed_at"):
            data[key] = _dt(data[key])
        return Appointment.model_validate(data)

    @staticmethod
    def _values(a: Appointment) -> tuple[object, ...]:
        return (a.id, a.tenant_id, a.doctor_id, a.patient_phone, a.patient_name, a.service_name, to_ts(a.starts_at),
                to_ts(a.ends_at), to_ts(a.blocked_until), a.buffer_minutes, a.status.value, a.source, a.notes,
                a.version, a.calendar_id, a.calendar_event_id, a.calendar_etag, a.synced_version, _ts(a.booked_at),
                to_ts(a.created_at), to_ts(a.updated_at), _ts(a.confirmed_at))

    def get(self, tenant_id: str, appointment_id: str) -> Appointment | None:
        r = self.db.execute(f"{_APPT_SELECT} WHERE tenant_id = ? AND id = ?", (tenant_id, appointment_id)).fetchone()
        return self._row(r) if r else None

    def find(self, tenant_id: str, *, doctor_id: str | None = None, start: datetime | None = None,
             end: datetime | None = None, statuses: Sequence[AppointmentStatus] | None = None,
             patient_phone: str | None = None) -> list[Appointment]:
        query = _filtered(_APPT_SELECT, tenant_id, statuses, ("doctor_id = ?", doctor_id),
                          ("blocked_until > ?", _ts(start)), ("starts_at < ?", _ts(end)),
                          ("patient_phone = ?", patient_phone))
        if query is None:
            return []
        sql, params = query
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY starts_at, id", params)]

    def find_by_event(self, tenant_id: str, calendar_id: str, event_id: str) -> Appointment | None:
        r = self.db.execute(
            f"{_APPT_SELECT} WHERE tenant_id = ? AND calendar_id = ? AND calendar_event_id = ? ORDER BY id LIMIT 1",
            (tenant_id, calendar_id, event_id),
        ).fetchone()
        return self._row(r) if r else None

    @staticmethod
    def _conflict(conn: sqlite3.Connection, a: Appointment) -> str | None:
        r = conn.execute(
            "SELECT id FROM appointments WHERE tenant_id = ? AND doctor_id = ? AND id != ? "
            f"AND status IN ({_marks(len(_ACTIVE))}) AND starts_at < ? AND blocked_until > ? LIMIT 1",
            (a.tenant_id, a.doctor_id, a.id, *_ACTIVE, to_ts(a.blocked_until), to_ts(a.starts_at)),
        ).fetchone()
        return str(r[0]) if r else None

    def book_if_free(self, tenant_id: str, appointment: Appointment) -> bool:
        a = appointment
        check_tenant(tenant_id, a.tenant_id, "appointment")
        try:
            with self.db.transaction() as conn:
                if a.is_active and self._conflict(conn, a) is not None:
                    return False
                try:
                    conn.execute(
                        f"INSERT INTO appointments ({', '.join(_APPT_COLS)}) VALUES ({_marks(len(_APPT_COLS))})",
                        self._values(a),
                    )
                except sqlite3.IntegrityError as exc:
                    raise DuplicateRecord(f"appointment {a.id} exists") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error booking appointment {a.id}: {exc}") from exc
        return True

    def update(self, tenant_id: str, appointment: Appointment, *, expected_version: int,
               allow_overlap: bool = False) -> bool:
        a = appointment
        check_tenant(tenant_id, a.tenant_id, "appointment")
        sets = ", ".join(f"{c} = ?" for c in _APPT_COLS[2:])
        try:
            with self.db.transaction() as conn:
                r = conn.execute("SELECT version FROM appointments WHERE tenant_id = ? AND id = ?",
                                 (a.tenant_id, a.id)).fetchone()
                if r is None or int(r[0]) != expected_version:
                    return False
                if a.is_active and not allow_overlap:
                    other = self._conflict(conn, a)
                    if other is not None:
                        raise SlotConflict(f"appointment {a.id} overlaps {other}", conflicting_id=other)
                conn.execute(f"UPDATE appointments SET {sets} WHERE tenant_id = ? AND id = ? AND version = ?",
                             (*self._values(a)[2:], a.tenant_id, a.id, expected_version))
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error updating appointment {a.id}: {exc}") from exc
        return True

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tenant_id FROM appointments ORDER BY 1")]


class SQLiteDoctors(ConciseRepr, fields=("db",)):
    """Doctors are stored whole as JSON (schedules are nested) next to the columns queries use."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0802_doctors",
            [
                """CREATE TABLE doctors (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, calendar_id TEXT,
                    is_active INTEGER NOT NULL, doctor_json TEXT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, id))""",
                "CREATE INDEX ix_doctors_calendar ON doctors (tenant_id, calendar_id)",
            ],
        )

    def save(self, tenant_id: str, doctor: Doctor) -> None:
        d = doctor
        check_tenant(tenant_id, d.tenant_id, "doctor")
        self.db.execute(
            "INSERT INTO doctors VALUES (?,?,?,?,?,?,?) ON CONFLICT (tenant_id, id) DO UPDATE SET "
            "name = excluded.name, calendar_id = excluded.calendar_id, is_active = excluded.is_active, "
            "doctor_json = excluded.doctor_json, updated_at = excluded.updated_at",
            (d.tenant_id, d.id, d.name, d.calendar_id, int(d.is_active), d.model_dump_json(), to_ts(d.updated_at)),
        )

    def get(self, tenant_id: str, doctor_id: str) -> Doctor | None:
        r = self.db.execute("SELECT doctor_json FROM doctors WHERE tenant_id = ? AND id = ?",
                            (tenant_id, doctor_id)).fetchone()
        return Doctor.model_validate_json(r[0]) if r else None

    def find(self, tenant_id: str, *, active_only: bool = True) -> list[Doctor]:
        sql = "SELECT doctor_json FROM doctors WHERE tenant_id = ?" + (" AND is_active = 1" if active_only else "")
        return [Doctor.model_validate_json(r[0]) for r in self.db.execute(sql + " ORDER BY name, id", (tenant_id,))]

    def find_by_calendar(self, tenant_id: str, calendar_id: str) -> Doctor | None:
        r = self.db.execute("SELECT doctor_json FROM doctors WHERE tenant_id = ? AND calendar_id = ? ORDER BY id",
                            (tenant_id, calendar_id)).fetchone()
        return Doctor.model_validate_json(r[0]) if r else None


_SP_COLS = ("id", "tenant_id", "service_name", "name_key", "price_min", "price_max", "currency", "duration_minutes",
            "buffer_minutes", "description", "requires_specialist", "is_active", "created_at", "updated_at")


class SQLiteServicePricing(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0803_service_pricing",
            [
                """CREATE TABLE service_pricing (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, service_name TEXT NOT NULL,
                    name_key TEXT NOT NULL, price_min TEXT NOT NULL, price_max TEXT NOT NULL,
                    currency TEXT NOT NULL DEFAULT 'TRY', duration_minutes INTEGER NOT NULL,
                    buffer_minutes INTEGER NOT NULL DEFAULT 0, description TEXT,
                    requires_specialist INTEGER NOT NULL DEFAULT 0, is_active INTEGER NOT NULL DEFAULT 1,
                    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                    CHECK (duration_minutes > 0), CHECK (buffer_minutes >= 0))""",
                "CREATE UNIQUE INDEX ux_service_pricing_active ON service_pricing (tenant_id, name_key) "
                "WHERE is_active = 1",
                "CREATE INDEX ix_service_pricing_tenant ON service_pricing (tenant_id, name_key)",
            ],
        )
        db.migrate("appointments_0002_service_pricing_tenant_key", _rekey(
            "service_pricing",
            """CREATE TABLE service_pricing_v2 (
                tenant_id TEXT NOT NULL, id TEXT NOT NULL, service_name TEXT NOT NULL,
                name_key TEXT NOT NULL, price_min TEXT NOT NULL, price_max TEXT NOT NULL,
                currency TEXT NOT NULL DEFAULT 'TRY', duration_minutes INTEGER NOT NULL,
                buffer_minutes INTEGER NOT NULL DEFAULT 0, description TEXT,
                requires_specialist INTEGER NOT NULL DEFAULT 0, is_active INTEGER NOT NULL DEFAULT 1,
                created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (tenant_id, id),
                CHECK (duration_minutes > 0), CHECK (buffer_minutes >= 0))""",
            _SP_COLS,
            ["CREATE UNIQUE INDEX ux_service_pricing_active ON service_pricing (tenant_id, name_key) "
             "WHERE is_active = 1",
             "CREATE INDEX ix_service_pricing_tenant ON service_pricing (tenant_id, name_key)"],
        ))

    @staticmethod
    def _row(r: Any) -> ServicePricing:
        data = dict(r)
        data.pop("name_key")
        data["price_min"], data["price_max"] = Decimal(data["price_min"]), Decimal(data["price_max"])
        data["requires_specialist"], data["is_active"] = bool(data["requires_specialist"]), bool(data["is_active"])
        data["created_at"], data["updated_at"] = from_ts(data["created_at"]), from_ts(data["updated_at"])
        return ServicePricing.model_validate(data)

    @staticmethod
    def _values(s: ServicePricing) -> tuple[object, ...]:
        return (s.id, s.tenant_id, s.service_name, s.name_key, str(s.price_min), str(s.price_max), s.currency,
                s.duration_minutes, s.buffer_minutes, s.description, int(s.requires_specialist), int(s.is_active),
                to_ts(s.created_at), to_ts(s.updated_at))

    def _write(self, sql: str, params: Sequence[object], service: ServicePricing) -> sqlite3.Cursor:
        try:
            return self.db.connection().execute(sql, params)
        except sqlite3.IntegrityError as exc:
            if "ux_service_pricing_active" in str(exc) or "name_key" in str(exc):
                raise DuplicateServiceName(
                    f"an active service named {service.service_name!r} exists for tenant {service.tenant_id}"
                ) from exc
            raise DuplicateRecord(f"service {service.id} exists for tenant {service.tenant_id}") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error writing service {service.id}: {exc}") from exc

    def add(self, tenant_id: str, service: ServicePricing) -> None:
        check_tenant(tenant_id, service.tenant_id, "service")
        self._write(f"INSERT INTO service_pricing ({', '.join(_SP_COLS)}) VALUES ({_marks(len(_SP_COLS))})",
                    self._values(service), service)

    def save(self, tenant_id: str, service: ServicePricing) -> None:
        check_tenant(tenant_id, service.tenant_id, "service")
        sets = ", ".join(f"{c} = ?" for c in _SP_COLS[2:])
        cur = self._write(f"UPDATE service_pricing SET {sets} WHERE tenant_id = ? AND id = ?",
                          (*self._values(service)[2:], service.tenant_id, service.id), service)
        if cur.rowcount != 1:
            raise StorageError(f"no service {service.id} for this tenant")

    def get(self, tenant_id: str, service_id: str) -> ServicePricing | None:
        r = self.db.execute(f"SELECT {', '.join(_SP_COLS)} FROM service_pricing WHERE tenant_id = ? AND id = ?",
                            (tenant_id, service_id)).fetchone()
        return self._row(r) if r else None

    def get_active(self, tenant_id: str, service_name: str) -> ServicePricing | None:
        r = self.db.execute(
            f"SELECT {', '.join(_SP_COLS)} FROM service_pricing WHERE tenant_id = ? AND name_key = ? AND is_active = 1",
            (tenant_id, fold_name(service_name)),
        ).fetchone()
        return self._row(r) if r else None

    def find(self, tenant_id: str, *, active_only: bool = True) -> list[ServicePricing]:
        sql = f"SELECT {', '.join(_SP_COLS)} FROM service_pricing WHERE tenant_id = ?"
        if active_only:
            sql += " AND is_active = 1"
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY name_key, id", (tenant_id,))]


_WL_COLS = ("id", "tenant_id", "patient_phone", "preferred_date", "preferred_time", "service_type", "status",
            "created_at", "patient_name", "doctor_id", "date_from", "date_to", "time_windows_json", "priority",
            "updated_at")
_OF_COLS = ("id", "tenant_id", "entry_id", "patient_phone", "doctor_id", "service_name", "starts_at", "ends_at",
            "buffer_minutes", "source_appointment_id", "status", "expires_at", "message_id", "appointment_id",
            "created_at", "responded_at")
_OF_TS = ("starts_at", "ends_at", "expires_at", "created_at", "responded_at")


def _d(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


class SQLiteWaitlist(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0804_waitlist",
            [
                # The seed's columns first, then what offers need.
                """CREATE TABLE waitlist (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, patient_phone TEXT NOT NULL,
                    preferred_date TEXT, preferred_time TEXT, service_type TEXT NOT NULL,
                    status TEXT NOT NULL, created_at TEXT NOT NULL,
                    patient_name TEXT, doctor_id TEXT, date_from TEXT, date_to TEXT,
                    time_windows_json TEXT NOT NULL DEFAULT '[]', priority INTEGER NOT NULL DEFAULT 0,
                    updated_at TEXT NOT NULL)""",
                "CREATE INDEX ix_waitlist_fair ON waitlist (tenant_id, status, priority DESC, created_at, id)",
                """CREATE TABLE waitlist_offers (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, entry_id TEXT NOT NULL,
                    patient_phone TEXT NOT NULL, doctor_id TEXT NOT NULL, service_name TEXT NOT NULL,
                    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, buffer_minutes INTEGER NOT NULL DEFAULT 0,
                    source_appointment_id TEXT NOT NULL, status TEXT NOT NULL, expires_at TEXT NOT NULL,
                    message_id TEXT, appointment_id TEXT, created_at TEXT NOT NULL, responded_at TEXT,
                    UNIQUE (tenant_id, entry_id, source_appointment_id))""",
                "CREATE UNIQUE INDEX ux_offers_one_pending ON waitlist_offers (tenant_id, entry_id) "
                "WHERE status = 'pending'",
                "CREATE INDEX ix_offers_phone ON waitlist_offers (tenant_id, patient_phone, status)",
                "CREATE INDEX ix_offers_source ON waitlist_offers (tenant_id, source_appointment_id)",
            ],
        )
        db.migrate("appointments_0003_waitlist_tenant_keys", [
            *_rekey(
                "waitlist",
                """CREATE TABLE waitlist_v2 (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, patient_phone TEXT NOT NULL,
                    preferred_date TEXT, preferred_time TEXT, service_type TEXT NOT NULL,
                    status TEXT NOT NULL, created_at TEXT NOT NULL,
                    patient_name TEXT, doctor_id TEXT, date_from TEXT, date_to TEXT,
                    time_windows_json TEXT NOT NULL DEFAULT '[]', priority INTEGER NOT NULL DEFAULT 0,
                    updated_at TEXT NOT NULL, PRIMARY KEY (tenant_id, id))""",
                _WL_COLS,
                ["CREATE INDEX ix_waitlist_fair ON waitlist (tenant_id, status, priority DESC, created_at, id)"],
            ),
            *_rekey(
                "waitlist_offers",
                """CREATE TABLE waitlist_offers_v2 (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, entry_id TEXT NOT NULL,
                    patient_phone TEXT NOT NULL, doctor_id TEXT NOT NULL, service_name TEXT NOT NULL,
                    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, buffer_minutes INTEGER NOT NULL DEFAULT 0,
                    source_appointment_id TEXT NOT NULL, status TEXT NOT NULL, expires_at TEXT NOT NULL,
                    message_id TEXT, appointment_id TEXT, created_at TEXT NOT NULL, responded_at TEXT,
                    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, entry_id, source_appointment_id))""",
                _OF_COLS,
                ["CREATE UNIQUE INDEX ux_offers_one_pending ON waitlist_offers (tenant_id, entry_id) "
                 "WHERE status = 'pending'",
                 "CREATE INDEX ix_offers_phone ON waitlist_offers (tenant_id, patient_phone, status)",
                 "CREATE INDEX ix_offers_source ON waitlist_offers (tenant_id, source_appointment_id)"],
            ),
        ])

    @staticmethod
    def _entry(r: Any) -> WaitlistEntry:
        data = dict(r)
        windows = json.loads(data.pop("time_windows_json"))
        return WaitlistEntry(
            id=data["id"], tenant_id=data["tenant_id"], patient_phone=data["patient_phone"],
            patient_name=data["patient_name"], service_type=data["service_type"], doctor_id=data["doctor_id"],
            preferred_date=date.fromisoformat(data["preferred_date"]) if data["preferred_date"] else None,
            preferred_time=time.fromisoformat(data["preferred_time"]) if data["preferred_time"] else None,
            date_from=date.fromisoformat(data["date_from"]) if data["date_from"] else None,
            date_to=date.fromisoformat(data["date_to"]) if data["date_to"] else None,
            time_windows=[TimeRange.model_validate(w) for w in windows], priority=data["priority"],
            status=WaitlistStatus(data["status"]), created_at=from_ts(data["created_at"]),
            updated_at=from_ts(data["updated_at"]),
        )

    @staticmethod
    def _offer(r: Any) -> WaitlistOffer:
        data = dict(r)
        for key in _OF_TS:
            data[key] = _dt(data[key])
        return WaitlistOffer.model_validate(data)

    def add(self, tenant_id: str, entry: WaitlistEntry) -> None:
        e = entry
        check_tenant(tenant_id, e.tenant_id, "waitlist entry")
        windows = json.dumps([w.model_dump(mode="json") for w in e.time_windows])
        try:
            self.db.connection().execute(
                f"INSERT INTO waitlist ({', '.join(_WL_COLS)}) VALUES ({_marks(len(_WL_COLS))})",
                (e.id, e.tenant_id, e.patient_phone, _d(e.preferred_date),
                 e.preferred_time.isoformat() if e.preferred_time else None, e.service_type, e.status.value,
                 to_ts(e.created_at), e.patient_name, e.doctor_id, _d(e.date_from), _d(e.date_to), windows,
                 e.priority, to_ts(e.updated_at)),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateRecord(f"waitlist entry {e.id} exists") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error adding waitlist entry {e.id}: {exc}") from exc

    def get(self, tenant_id: str, entry_id: str) -> WaitlistEntry | None:
        r = self.db.execute(f"SELECT {', '.join(_WL_COLS)} FROM waitlist WHERE tenant_id = ? AND id = ?",
                            (tenant_id, entry_id)).fetchone()
        return self._entry(r) if r else None

    def find(self, tenant_id: str, *, statuses: Sequence[WaitlistStatus] | None = None,
             patient_phone: str | None = None) -> list[WaitlistEntry]:
        query = _filtered(f"SELECT {', '.join(_WL_COLS)} FROM waitlist", tenant_id, statuses,
                          ("patient_phone = ?", patient_phone))
        if query is None:
            return []
        sql, params = query
        return [self._entry(r) for r in self.db.execute(sql + " ORDER BY priority DESC, created_at, id", params)]

    def set_status(self, tenant_id: str, entry_id: str, expected: Sequence[WaitlistStatus], new: WaitlistStatus,
                   at: datetime) -> WaitlistEntry | None:
        if not expected:
            return None
        cur = self.db.execute(
            f"UPDATE waitlist SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ? "
            f"AND status IN ({_marks(len(expected))})",
            (new.value, to_ts(at), tenant_id, entry_id, *(s.value for s in expected)),
        )
        return self.get(tenant_id, entry_id) if cur.rowcount == 1 else None

    def add_offer(self, tenant_id: str, offer: WaitlistOffer) -> bool:
        o = offer
        check_tenant(tenant_id, o.tenant_id, "offer")
        try:
            cur = self.db.connection().execute(
                f"INSERT INTO waitlist_offers ({', '.join(_OF_COLS)}) VALUES ({_marks(len(_OF_COLS))}) "
                "ON CONFLICT DO NOTHING",
                (o.id, o.tenant_id, o.entry_id, o.patient_phone, o.doctor_id, o.service_name, to_ts(o.starts_at),
                 to_ts(o.ends_at), o.buffer_minutes, o.source_appointment_id, o.status.value, to_ts(o.expires_at),
                 o.message_id, o.appointment_id, to_ts(o.created_at), _ts(o.responded_at)),
            )
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error adding offer {o.id}: {exc}") from exc
        return cur.rowcount == 1

    def get_offer(self, tenant_id: str, offer_id: str) -> WaitlistOffer | None:
        r = self.db.execute(f"SELECT {', '.join(_OF_COLS)} FROM waitlist_offers WHERE tenant_id = ? AND id = ?",
                            (tenant_id, offer_id)).fetchone()
        return self._offer(r) if r else None

    def find_offers(self, tenant_id: str, *, statuses: Sequence[OfferStatus] | None = None,
                    patient_phone: str | None = None, source_appointment_id: str | None = None,
                    expires_before: datetime | None = None) -> list[WaitlistOffer]:
        query = _filtered(f"SELECT {', '.join(_OF_COLS)} FROM waitlist_offers", tenant_id, statuses,
                          ("patient_phone = ?", patient_phone), ("source_appointment_id = ?", source_appointment_id),
                          ("expires_at <= ?", _ts(expires_before)))
        if query is None:
            return []
        sql, params = query
        return [self._offer(r) for r in self.db.execute(sql + " ORDER BY created_at, id", params)]

    def resolve_offer(self, tenant_id: str, offer_id: str, expected: Sequence[OfferStatus], new: OfferStatus,
                      at: datetime, *, appointment_id: str | None = None) -> WaitlistOffer | None:
        if not expected:
            return None
        cur = self.db.execute(
            "UPDATE waitlist_offers SET status = ?, responded_at = ?, appointment_id = COALESCE(?, appointment_id) "
            f"WHERE tenant_id = ? AND id = ? AND status IN ({_marks(len(expected))})",
            (new.value, to_ts(at), appointment_id, tenant_id, offer_id, *(s.value for s in expected)),
        )
        return self.get_offer(tenant_id, offer_id) if cur.rowcount == 1 else None

    def set_offer_message(self, tenant_id: str, offer_id: str, message_id: str) -> None:
        self.db.execute("UPDATE waitlist_offers SET message_id = ? WHERE tenant_id = ? AND id = ?",
                        (message_id, tenant_id, offer_id))

    def extend_offer(self, tenant_id: str, offer_id: str, expires_at: datetime) -> WaitlistOffer | None:
        # One statement: later-only, pending-only, atomic against a concurrent resolve.
        self.db.execute(
            "UPDATE waitlist_offers SET expires_at = ? WHERE tenant_id = ? AND id = ? AND status = ? "
            "AND expires_at < ?",
            (to_ts(expires_at), tenant_id, offer_id, OfferStatus.PENDING.value, to_ts(expires_at)),
        )
        found = self.get_offer(tenant_id, offer_id)
        return found if found is not None and found.status == OfferStatus.PENDING else None

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT tenant_id FROM waitlist UNION SELECT tenant_id FROM waitlist_offers ORDER BY 1")]
