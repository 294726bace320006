"""Repository contract for the clinic aggregates, run on memory, SQLite in memory and SQLite file."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.appointments.models import (
    AppointmentStatus,
    OfferStatus,
    TimeRange,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.ids import new_id
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.storage.protocols import DuplicateServiceName, SlotConflict

from .conftest import T0, make_appointment, make_doctor, make_service


def test_book_if_free_refuses_overlap_per_doctor(store: Any) -> None:
    a = make_appointment(start=T0, minutes=30)
    assert store.appointments.book_if_free(a)
    assert not store.appointments.book_if_free(make_appointment(start=T0 + timedelta(minutes=15)))
    assert not store.appointments.book_if_free(make_appointment(start=T0 - timedelta(minutes=15)))
    # touching intervals do not overlap; another doctor or tenant is independent
    assert store.appointments.book_if_free(make_appointment(start=T0 + timedelta(minutes=30)))
    assert store.appointments.book_if_free(make_appointment(doctor="d2", start=T0))
    assert store.appointments.book_if_free(make_appointment(tenant="t2", start=T0))
    assert store.appointments.get("t1", a.id) == a
    assert store.appointments.get("t2", a.id) is None


def test_buffer_blocks_following_time_and_cancelled_frees(store: Any) -> None:
    a = make_appointment(start=T0, minutes=30, buffer_minutes=15)
    assert store.appointments.book_if_free(a)
    assert not store.appointments.book_if_free(make_appointment(start=T0 + timedelta(minutes=40)))
    assert store.appointments.book_if_free(make_appointment(start=T0 + timedelta(minutes=45)))
    b = make_appointment(start=T0 + timedelta(hours=2))
    assert store.appointments.book_if_free(b)
    cancelled = b.model_copy(update={"status": AppointmentStatus.CANCELLED, "version": 2})
    assert store.appointments.update(cancelled, expected_version=1)
    assert store.appointments.book_if_free(make_appointment(start=T0 + timedelta(hours=2)))
    # an inactive appointment may be stored anywhere (history)
    assert store.appointments.book_if_free(make_appointment(start=T0, status=AppointmentStatus.NO_SHOW))


def test_update_is_compare_and_set_and_checks_overlap(store: Any) -> None:
    a = make_appointment(start=T0)
    b = make_appointment(start=T0 + timedelta(hours=1))
    assert store.appointments.book_if_free(a) and store.appointments.book_if_free(b)
    moved = a.model_copy(update={"starts_at": T0 + timedelta(hours=3), "ends_at": T0 + timedelta(hours=3, minutes=30),
                                 "version": 2})
    assert store.appointments.update(moved, expected_version=1)
    assert not store.appointments.update(moved.model_copy(update={"version": 3}), expected_version=1)  # stale
    assert store.appointments.get("t1", a.id) == moved
    clash = moved.model_copy(update={"starts_at": b.starts_at, "ends_at": b.ends_at, "version": 3})
    with pytest.raises(SlotConflict) as info:
        store.appointments.update(clash, expected_version=2)
    assert info.value.conflicting_id == b.id
    assert store.appointments.get("t1", a.id) == moved  # unchanged
    assert store.appointments.update(clash, expected_version=2, allow_overlap=True)
    missing = make_appointment()
    assert not store.appointments.update(missing, expected_version=1)


def test_find_filters_and_event_lookup(store: Any) -> None:
    a = make_appointment(start=T0, calendar_id="cal-1", calendar_event_id="ev-1")
    b = make_appointment(start=T0 + timedelta(days=1), patient_phone="0532 765 43 21")
    c = make_appointment(doctor="d2", start=T0 + timedelta(hours=2), status=AppointmentStatus.CANCELLED)
    for x in (b, a, c):
        assert store.appointments.book_if_free(x)
    assert [x.id for x in store.appointments.find("t1")] == [a.id, c.id, b.id]
    assert [x.id for x in store.appointments.find("t1", doctor_id="d1")] == [a.id, b.id]
    window = store.appointments.find("t1", start=T0 + timedelta(minutes=10), end=T0 + timedelta(hours=3))
    assert [x.id for x in window] == [a.id, c.id]
    assert [x.id for x in store.appointments.find("t1", statuses=[AppointmentStatus.CANCELLED])] == [c.id]
    assert store.appointments.find("t1", statuses=[]) == []
    assert [x.id for x in store.appointments.find("t1", patient_phone="+905327654321")] == [b.id]
    assert store.appointments.find_by_event("t1", "cal-1", "ev-1") == a
    assert store.appointments.find_by_event("t2", "cal-1", "ev-1") is None
    assert store.appointments.tenants() == ["t1"]


def _race(store: Any, n: int) -> list[bool]:
    barrier = threading.Barrier(n)
    results: list[bool] = [False] * n

    def worker(i: int) -> None:
        appt = make_appointment(start=T0 + timedelta(minutes=i % 3), patient_phone="+90532123456" + str(i % 10))
        barrier.wait()
        results[i] = store.appointments.book_if_free(appt)

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
            store.appointments.update(winner.model_copy(update={"status": AppointmentStatus.CANCELLED, "version": 2}),
                                      expected_version=1)
    finally:
        store.close()


def test_sqlite_file_two_stores_same_file(tmp_path: Path) -> None:
    """Two processes' worth of handles on one file still cannot double-book."""
    s1, s2 = SQLiteStore(tmp_path / "x.sqlite3"), SQLiteStore(tmp_path / "x.sqlite3")
    try:
        assert s1.appointments.book_if_free(make_appointment(start=T0))
        assert not s2.appointments.book_if_free(make_appointment(start=T0 + timedelta(minutes=5)))
    finally:
        s1.close()
        s2.close()


def test_doctors(store: Any) -> None:
    d = make_doctor(calendar_id="dr1@clinic.example", services=["İmplant"], days_off=[T0.date()])
    store.doctors.save(d)
    store.doctors.save(make_doctor(doctor_id="d0", is_active=False))
    assert store.doctors.get("t1", "d1") == d
    assert store.doctors.get("t2", "d1") is None
    assert [x.id for x in store.doctors.find("t1")] == ["d1"]
    assert [x.id for x in store.doctors.find("t1", active_only=False)] == ["d0", "d1"]
    assert store.doctors.find_by_calendar("t1", "dr1@clinic.example") == d
    store.doctors.save(d.model_copy(update={"name": "Dr. Ayşe"}))
    got = store.doctors.get("t1", "d1")
    assert got is not None and got.name == "Dr. Ayşe"


def test_doctor_validation() -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_doctor(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="weekday"):
        make_doctor(working_hours={0: [TimeRange(start=T0.time(), end=T0.time().replace(hour=10))]})


def test_service_pricing_unique_active_name(store: Any) -> None:
    s = make_service(name="İmplant")
    store.service_pricing.add(s)
    with pytest.raises(DuplicateServiceName):
        store.service_pricing.add(make_service(name="  implant "))
    store.service_pricing.add(make_service(tenant="t2", name="İmplant"))  # other tenant
    assert store.service_pricing.get_active("t1", "İMPLANT") == s
    off = s.model_copy(update={"is_active": False})
    store.service_pricing.save(off)
    assert store.service_pricing.get_active("t1", "implant") is None
    s2 = make_service(name="implant", lo="16000", hi="26000")
    store.service_pricing.add(s2)  # the name is free again
    with pytest.raises(DuplicateServiceName):
        store.service_pricing.save(off.model_copy(update={"is_active": True}))
    assert [x.id for x in store.service_pricing.find("t1")] == [s2.id]
    assert {x.id for x in store.service_pricing.find("t1", active_only=False)} == {s.id, s2.id}
    got = store.service_pricing.get("t1", s2.id)
    assert got is not None and got.price_min == Decimal("16000")
    with pytest.raises(StorageError):
        store.service_pricing.save(make_service(name="Yok"))


def _entry(phone: str, minute: int, priority: int = 0, **kw: Any) -> WaitlistEntry:
    at = T0 + timedelta(minutes=minute)
    return WaitlistEntry(id=new_id(), tenant_id="t1", patient_phone=phone, service_type="Muayene",
                         priority=priority, created_at=at, updated_at=at, **kw)


def test_waitlist_fair_order_and_status_cas(store: Any) -> None:
    e1 = _entry("+905321111111", 5)
    e2 = _entry("+905322222222", 1)
    window = TimeRange(start=T0.time(), end=T0.time().replace(hour=9))
    e3 = _entry("+905323333333", 9, priority=2, time_windows=[window],
                preferred_date=T0.date())
    for e in (e1, e2, e3):
        store.waitlist.add(e)
    assert [e.id for e in store.waitlist.find("t1")] == [e3.id, e2.id, e1.id]
    assert store.waitlist.get("t1", e3.id) == e3
    got = store.waitlist.set_status("t1", e2.id, [WaitlistStatus.WAITING], WaitlistStatus.OFFERED, T0)
    assert got is not None and got.status == WaitlistStatus.OFFERED
    assert store.waitlist.set_status("t1", e2.id, [WaitlistStatus.WAITING], WaitlistStatus.OFFERED, T0) is None
    assert [e.id for e in store.waitlist.find("t1", statuses=[WaitlistStatus.WAITING])] == [e3.id, e1.id]
    assert [e.id for e in store.waitlist.find("t1", patient_phone="+905321111111")] == [e1.id]


def _offer(entry: WaitlistEntry, source: str, minute: int = 0) -> WaitlistOffer:
    return WaitlistOffer(id=new_id(), tenant_id="t1", entry_id=entry.id, patient_phone=entry.patient_phone,
                         doctor_id="d1", service_name="Muayene", starts_at=T0 + timedelta(days=1),
                         ends_at=T0 + timedelta(days=1, minutes=30), source_appointment_id=source,
                         expires_at=T0 + timedelta(minutes=30 + minute), created_at=T0 + timedelta(minutes=minute))


def test_offers_one_pending_per_entry_and_cas(store: Any) -> None:
    e = _entry("+905321111111", 0)
    store.waitlist.add(e)
    o1 = _offer(e, "a1")
    assert store.waitlist.add_offer(o1)
    assert not store.waitlist.add_offer(_offer(e, "a2"))  # one pending offer per entry
    assert not store.waitlist.add_offer(_offer(e, "a1"))
    done = store.waitlist.resolve_offer("t1", o1.id, [OfferStatus.PENDING], OfferStatus.ACCEPTED, T0,
                                        appointment_id="ap1")
    assert done is not None and done.status == OfferStatus.ACCEPTED and done.appointment_id == "ap1"
    assert store.waitlist.resolve_offer("t1", o1.id, [OfferStatus.PENDING], OfferStatus.EXPIRED, T0) is None
    assert not store.waitlist.add_offer(_offer(e, "a1"))  # never the same slot twice
    o2 = _offer(e, "a2", minute=5)
    assert store.waitlist.add_offer(o2)
    store.waitlist.set_offer_message("t1", o2.id, "msg-1")
    got = store.waitlist.get_offer("t1", o2.id)
    assert got is not None and got.message_id == "msg-1"
    # a late offer's hold moves later, never earlier; a resolved offer's never
    later = got.expires_at + timedelta(minutes=20)
    moved = store.waitlist.extend_offer("t1", o2.id, later)
    assert moved is not None and moved.expires_at == later
    kept = store.waitlist.extend_offer("t1", o2.id, later - timedelta(minutes=40))
    assert kept is not None and kept.expires_at == later
    assert store.waitlist.extend_offer("t1", o1.id, later) is None
    assert store.waitlist.extend_offer("t2", o2.id, later) is None
    assert [o.id for o in store.waitlist.find_offers("t1")] == [o1.id, o2.id]
    assert [o.id for o in store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING])] == [o2.id]
    assert [o.id for o in store.waitlist.find_offers("t1", source_appointment_id="a1")] == [o1.id]
    assert store.waitlist.find_offers("t1", expires_before=T0 + timedelta(minutes=34)) == [done]
    assert [o.id for o in store.waitlist.find_offers("t1", patient_phone=e.patient_phone)] == [o1.id, o2.id]
    assert store.waitlist.tenants() == ["t1"]
    # tenant isolation
    assert store.waitlist.find_offers("t2") == [] and store.waitlist.get_offer("t2", o2.id) is None
    assert store.waitlist.find("t2") == [] and store.waitlist.get("t2", e.id) is None
    assert store.waitlist.resolve_offer("t2", o2.id, [OfferStatus.PENDING], OfferStatus.EXPIRED, T0) is None


@pytest.mark.parametrize("kind", ["memory", "sqlite-file"])
def test_offer_resolution_race_has_one_winner(kind: str, tmp_path: Path) -> None:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "o.sqlite3")
    try:
        e = _entry("+905321111111", 0)
        store.waitlist.add(e)
        o = _offer(e, "a1")
        store.waitlist.add_offer(o)
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
