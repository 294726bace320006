"""A SQLite file written before the clinic tables were keyed by (tenant_id, id) keeps its rows and
then holds the same id for two tenants."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from invekto_integrations.core.errors import StorageError
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.testing.repository_contract.clinic import appointment, entry, offer

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _old_file(path: Path) -> None:
    """The clinic tables as migrations 0801/0803/0804/0805 left them (global ``id`` keys), one row each."""
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
        INSERT INTO schema_migrations VALUES ('0801_appointments', 'x'), ('0805_appointments_confirmed_at', 'x'),
            ('0804_waitlist', 'x');
        CREATE TABLE appointments (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, doctor_id TEXT NOT NULL,
            patient_phone TEXT NOT NULL, patient_name TEXT, service_name TEXT NOT NULL,
            starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, blocked_until TEXT NOT NULL,
            buffer_minutes INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, source TEXT NOT NULL,
            notes TEXT, version INTEGER NOT NULL, calendar_id TEXT, calendar_event_id TEXT,
            calendar_etag TEXT, synced_version INTEGER, booked_at TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, confirmed_at TEXT);
        INSERT INTO appointments (id, tenant_id, doctor_id, patient_phone, service_name, starts_at, ends_at,
            blocked_until, status, source, version, created_at, updated_at)
            VALUES ('a1', 't1', 'd1', '+905321234567', 'Muayene', '2026-03-02T06:00:00.000000Z',
                    '2026-03-02T06:30:00.000000Z', '2026-03-02T06:30:00.000000Z', 'booked', 'local', 1,
                    '2026-02-27T06:00:00.000000Z', '2026-02-27T06:00:00.000000Z');
        CREATE TABLE waitlist (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, patient_phone TEXT NOT NULL,
            preferred_date TEXT, preferred_time TEXT, service_type TEXT NOT NULL,
            status TEXT NOT NULL, created_at TEXT NOT NULL,
            patient_name TEXT, doctor_id TEXT, date_from TEXT, date_to TEXT,
            time_windows_json TEXT NOT NULL DEFAULT '[]', priority INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL);
        INSERT INTO waitlist (id, tenant_id, patient_phone, service_type, status, created_at, updated_at)
            VALUES ('w1', 't1', '+905321111111', 'Muayene', 'waiting', '2026-03-02T06:00:00.000000Z',
                    '2026-03-02T06:00:00.000000Z');
        CREATE TABLE waitlist_offers (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, entry_id TEXT NOT NULL,
            patient_phone TEXT NOT NULL, doctor_id TEXT NOT NULL, service_name TEXT NOT NULL,
            starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, buffer_minutes INTEGER NOT NULL DEFAULT 0,
            source_appointment_id TEXT NOT NULL, status TEXT NOT NULL, expires_at TEXT NOT NULL,
            message_id TEXT, appointment_id TEXT, created_at TEXT NOT NULL, responded_at TEXT,
            UNIQUE (tenant_id, entry_id, source_appointment_id));
    """)
    conn.commit()
    conn.close()


def test_old_clinic_tables_are_rekeyed_keeping_their_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _old_file(path)
    store = SQLiteStore(path)
    try:
        kept = store.appointments.get("t1", "a1")
        assert kept is not None and kept.starts_at == T0 and kept.version == 1
        assert store.waitlist.get("t1", "w1") is not None
        # the same ids for another tenant are now their own rows
        theirs = appointment(tenant="t2", start=T0).model_copy(update={"id": "a1"})
        assert store.appointments.book_if_free("t2", theirs)
        assert store.appointments.get("t1", "a1") == kept and store.appointments.get("t2", "a1") == theirs
        # the overlap check still sees the migrated row
        assert not store.appointments.book_if_free("t1", appointment(start=T0 + timedelta(minutes=10)))
        e2 = entry(tenant="t2").model_copy(update={"id": "w1"})
        store.waitlist.add("t2", e2)
        assert store.waitlist.add_offer("t2", offer(e2, "a1"))
        # the partial unique index came back with the table: one pending offer per entry
        assert not store.waitlist.add_offer("t2", offer(e2, "a2"))
    finally:
        store.close()


def test_tenant_key_rebuilds_a_table_keeping_rows_columns_and_indexes(tmp_path: Path) -> None:
    from invekto_integrations.storage._sqlite_db import SQLiteDatabase

    db = SQLiteDatabase(tmp_path / "k.sqlite3")
    try:
        db.migrate("x_0001", ["CREATE TABLE things (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, n INTEGER)",
                              "CREATE INDEX ix_things ON things (tenant_id, n)",
                              "INSERT INTO things VALUES ('a', 't1', 1)",
                              "ALTER TABLE things ADD COLUMN note TEXT DEFAULT 'x'"])
        db.tenant_key("x_0002_tenant_key", "things")
        db.tenant_key("x_0002_tenant_key", "things")  # applied once
        db.execute("INSERT INTO things (id, tenant_id, n) VALUES ('a', 't2', 2)")  # same id, other tenant
        rows = [tuple(r) for r in db.execute("SELECT tenant_id, id, n, note FROM things ORDER BY tenant_id")]
        assert rows == [("t1", "a", 1, "x"), ("t2", "a", 2, "x")]
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'things'")}
        assert "ix_things" in names and "things_v2" not in names
        with pytest.raises(StorageError):
            db.execute("INSERT INTO things (id, tenant_id, n) VALUES ('a', 't2', 3)")
    finally:
        db.close()
