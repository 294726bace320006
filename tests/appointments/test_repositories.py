"""Clinic repositories beyond the shipped contract (`testing.repository_contract.clinic`): races on
one store and on two handles of one SQLite file, and model validation."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.appointments.models import (
    AppointmentStatus,
    OfferStatus,
    TimeRange,
    WaitlistEntry,
    WaitlistOffer,
)
from invekto_integrations.core.ids import new_id
from invekto_integrations.storage import MemoryStore, SQLiteStore

from .conftest import T0, make_appointment, make_doctor


def _race(store: Any, n: int) -> list[bool]:
    barrier = threading.Barrier(n)
    results: list[bool] = [False] * n

    def worker(i: int) -> None:
        appt = make_appointment(start=T0 + timedelta(minutes=i % 3), patient_phone="+90532123456" + str(i % 10))
        barrier.wait()
        results[i] = store.appointments.book_if_free("t1", appt)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("kind", ["memory", "sqlite-file"])
def test_no_double_booking_under_concurrency(kind: str, tmp_path: Path) -> None:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "race.sqlite3")
    try:
        for _ in range(5):
            results = _race(store, 12)
            assert results.count(True) == 1
            active = store.appointments.find("t1", statuses=[AppointmentStatus.BOOKED])
            assert len(active) == 1
            winner = active[0]
            cancelled = winner.model_copy(update={"status": AppointmentStatus.CANCELLED, "version": 2})
            store.appointments.update("t1", cancelled, expected_version=1)
    finally:
        store.close()


def test_sqlite_file_two_stores_same_file(tmp_path: Path) -> None:
    """Two processes' worth of handles on one file still cannot double-book."""
    s1, s2 = SQLiteStore(tmp_path / "x.sqlite3"), SQLiteStore(tmp_path / "x.sqlite3")
    try:
        assert s1.appointments.book_if_free("t1", make_appointment(start=T0))
        assert not s2.appointments.book_if_free("t1", make_appointment(start=T0 + timedelta(minutes=5)))
    finally:
        s1.close()
        s2.close()


def test_doctor_validation() -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_doctor(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="weekday"):
        make_doctor(working_hours={0: [TimeRange(start=T0.time(), end=T0.time().replace(hour=10))]})


def _entry(phone: str, minute: int, priority: int = 0, **kw: Any) -> WaitlistEntry:
    at = T0 + timedelta(minutes=minute)
    return WaitlistEntry(id=new_id(), tenant_id="t1", patient_phone=phone, service_type="Muayene",
                         priority=priority, created_at=at, updated_at=at, **kw)


def _offer(entry: WaitlistEntry, source: str, minute: int = 0) -> WaitlistOffer:
    return WaitlistOffer(id=new_id(), tenant_id="t1", entry_id=entry.id, patient_phone=entry.patient_phone,
                         doctor_id="d1", service_name="Muayene", starts_at=T0 + timedelta(days=1),
                         ends_at=T0 + timedelta(days=1, minutes=30), source_appointment_id=source,
                         expires_at=T0 + timedelta(minutes=30 + minute), created_at=T0 + timedelta(minutes=minute))


@pytest.mark.parametrize("kind", ["memory", "sqlite-file"])
def test_offer_resolution_race_has_one_winner(kind: str, tmp_path: Path) -> None:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "o.sqlite3")
    try:
        e = _entry("+905321111111", 0)
        store.waitlist.add("t1", e)
        o = _offer(e, "a1")
        store.waitlist.add_offer("t1", o)
        barrier = threading.Barrier(8)
        wins: list[object] = []

        def worker() -> None:
            barrier.wait()
            got = store.waitlist.resolve_offer("t1", o.id, [OfferStatus.PENDING], OfferStatus.ACCEPTED, T0)
            if got is not None:
                wins.append(got)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1
    finally:
        store.close()


def test_model_validation() -> None:
    with pytest.raises(ValueError, match="ends_at"):
        make_appointment(minutes=0)
    with pytest.raises(ValueError, match="phone"):
        make_appointment(patient_phone="12")
    with pytest.raises(ValueError, match="naive"):
        make_appointment(start=T0.replace(tzinfo=None))
    a = make_appointment(patient_phone="0532 123 45 67")
    assert a.patient_phone == "+905321234567"
