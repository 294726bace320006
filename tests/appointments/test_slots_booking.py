from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from invekto_integrations.appointments.errors import ConcurrentModification, SlotUnavailable, UnknownService
from invekto_integrations.appointments.models import AppointmentStatus, Doctor, TimeRange
from invekto_integrations.appointments.slots import local_instant, subtract
from invekto_integrations.storage import SQLiteStore

from .conftest import T0, Clinic, make_doctor

IST = ZoneInfo("Europe/Istanbul")
MON = date(2026, 3, 2)


def ist(day: date, h: int, m: int = 0) -> datetime:
    return datetime.combine(day, time(h, m), tzinfo=IST).astimezone(UTC)


class FixedBusy:
    def __init__(self, intervals: list[tuple[datetime, datetime]]) -> None:
        self.intervals = intervals
        self.calls: list[tuple[str, str]] = []

    def busy(self, tenant_id: str, doctor: Doctor, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        self.calls.append((tenant_id, doctor.id))
        return [(s, e) for s, e in self.intervals if s < end and e > start] if doctor.id == "d1" else []


def test_subtract() -> None:
    a, b = T0, T0 + timedelta(hours=8)
    h = timedelta(hours=1)
    assert subtract([(a, b)], [(a + h, a + 2 * h), (a + 3 * h, b + h)]) == [(a, a + h), (a + 2 * h, a + 3 * h)]
    assert subtract([(a, b)], []) == [(a, b)]
    assert subtract([(a, b)], [(a - h, b + h)]) == []


def test_free_slots_working_hours_breaks_and_appointments(clinic: Clinic) -> None:
    slots = clinic.slots.free_slots("t1", "Muayene", ist(MON, 0), ist(MON, 23), doctor_id="d1")
    starts = [s.starts_at for s in slots]
    assert starts[0] == ist(MON, 9) and starts[-1] == ist(MON, 16, 30)
    assert ist(MON, 11, 30) in starts and ist(MON, 11, 45) not in starts  # would run into the 12-13 break
    assert ist(MON, 12) not in starts and ist(MON, 13) in starts
    assert len(starts) == (3 * 4 - 1) + (4 * 4 - 1)  # 15-minute grid: 9:00-11:30 and 13:00-16:30
    clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(MON, 10), patient_phone="05321234567")
    after = {s.starts_at for s in clinic.slots.free_slots("t1", "Muayene", ist(MON, 0), ist(MON, 23), doctor_id="d1")}
    assert ist(MON, 10) not in after and ist(MON, 9, 45) not in after and ist(MON, 9, 30) in after
    assert ist(MON, 10, 30) in after


def test_specialist_service_and_buffer(clinic: Clinic) -> None:
    slots = clinic.slots.free_slots("t1", "implant", ist(MON, 0), ist(MON, 23))
    assert {s.doctor_id for s in slots} == {"d2"}  # requires a specialist
    with pytest.raises(SlotUnavailable) as info:
        clinic.book.book("t1", doctor_id="d1", service_name="İmplant", starts_at=ist(MON, 9),
                         patient_phone="05321234567")
    assert info.value.reason == "not_eligible"
    a = clinic.book.book("t1", doctor_id="d2", service_name="İmplant", starts_at=ist(MON, 9),
                         patient_phone="05321234567")
    assert a.ends_at == ist(MON, 10) and a.blocked_until == ist(MON, 10, 15)
    free = {s.starts_at for s in clinic.slots.free_slots("t1", "Muayene", ist(MON, 0), ist(MON, 23), doctor_id="d2")}
    assert ist(MON, 10) not in free and ist(MON, 10, 15) in free
    with pytest.raises(UnknownService):
        clinic.slots.free_slots("t1", "Botoks", ist(MON, 0), ist(MON, 23))


def test_days_off_holidays_and_weekend(store: Any) -> None:
    clinic = Clinic(store)
    store.doctors.save("t1", make_doctor(doctor_id="d1", name="Dr. Genel", days_off=[MON],
                                   holidays=[MON + timedelta(days=1)]))
    slots = clinic.slots.free_slots("t1", "Muayene", ist(MON, 0), ist(MON + timedelta(days=7), 0), doctor_id="d1")
    days = sorted({s.starts_at.astimezone(IST).date() for s in slots})
    assert days == [MON + timedelta(days=i) for i in (2, 3, 4)]  # Wed-Fri; Sat/Sun have no hours


def test_calendar_busy_times_are_subtracted_and_checked(store: Any) -> None:
    busy = FixedBusy([(ist(MON, 14), ist(MON, 15))])
    clinic = Clinic(store, busy=busy)
    free = {s.starts_at for s in clinic.slots.free_slots("t1", "Muayene", ist(MON, 0), ist(MON, 23), doctor_id="d1")}
    assert ist(MON, 13, 30) in free and ist(MON, 13, 45) not in free and ist(MON, 14, 30) not in free
    assert ist(MON, 15) in free
    with pytest.raises(SlotUnavailable) as info:
        clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(MON, 14, 15),
                         patient_phone="05321234567")
    assert info.value.reason == "calendar_busy"
    assert ("t1", "d1") in busy.calls


def test_booking_refusals(clinic: Clinic) -> None:
    def book(start: datetime) -> Any:
        return clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=start,
                                patient_phone="05321234567")

    for start, reason in [(ist(MON, 8, 30), "outside_hours"), (ist(MON, 12, 15), "outside_hours"),
                          (ist(MON, 16, 45), "outside_hours"), (clinic.clock.now() - timedelta(hours=1), "in_past")]:
        with pytest.raises(SlotUnavailable) as info:
            book(start)
        assert info.value.reason == reason
    book(ist(MON, 9))
    with pytest.raises(SlotUnavailable) as info:
        book(ist(MON, 9, 15))
    assert info.value.reason == "taken"
    assert clinic.event_types() == ["appointment.booked"]


def test_cancel_move_emit_events_and_free_the_slot(clinic: Clinic) -> None:
    a = clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(MON, 9),
                         patient_phone="05321234567", patient_name="Ayşe Yılmaz")
    moved = clinic.book.move("t1", a.id, ist(MON, 10))
    assert moved.version == 2 and moved.ends_at == ist(MON, 10, 30) and moved.synced_version is None
    assert clinic.book.move("t1", a.id, ist(MON, 10)) == moved  # no-op, no event
    with pytest.raises(SlotUnavailable):
        clinic.book.move("t1", a.id, ist(MON, 12))  # break
    b = clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(MON, 11),
                         patient_phone="05327654321")
    with pytest.raises(SlotUnavailable) as info:
        clinic.book.move("t1", a.id, ist(MON, 11))
    assert info.value.reason == "taken"
    cancelled = clinic.book.cancel("t1", b.id, reason="hasta aradı")
    assert cancelled.status == AppointmentStatus.CANCELLED and cancelled.notes == "iptal: hasta aradı"
    assert clinic.book.cancel("t1", b.id) == cancelled  # idempotent
    assert clinic.book.move("t1", a.id, ist(MON, 11)).starts_at == ist(MON, 11)
    events = clinic.store.events.read("t1")
    assert [e.type for e in events] == ["appointment.booked", "appointment.moved", "appointment.booked",
                                        "appointment.cancelled", "appointment.status_changed",
                                        "appointment.moved"]
    assert events[3].data["source"] == "local" and events[3].data["appointment_id"] == b.id
    assert events[1].data["old_starts_at"] == ist(MON, 9).isoformat().replace("+00:00", "Z")


def test_google_side_changes_go_through_the_same_path(clinic: Clinic) -> None:
    a = clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(MON, 9),
                         patient_phone="05321234567")
    assert clinic.book.record_sync("t1", a.id, version=1, calendar_event_id="ev1", calendar_etag='"e1"')
    synced = clinic.book.get("t1", a.id)
    assert synced.version == 1 and synced.synced_version == 1 and synced.calendar_event_id == "ev1"
    # the doctor moved it in Google onto a break: accepted, and marked as already synced
    moved = clinic.book.move("t1", a.id, ist(MON, 12), source="google", mark_synced=True, calendar_etag='"e2"')
    assert moved.version == 2 and moved.synced_version == 2 and moved.calendar_etag == '"e2"'
    gone = clinic.book.cancel("t1", a.id, source="google", mark_synced=True)
    assert gone.synced_version == gone.version == 3
    last, status = clinic.store.events.read("t1")[-2:]
    assert last.type == "appointment.cancelled" and last.data["source"] == "google"
    assert status.type == "appointment.status_changed" and status.data["source"] == "google"
    assert not clinic.book.record_sync("t1", a.id, version=2, calendar_event_id="ev1", calendar_etag='"x"')


def test_expected_version_detects_concurrent_edit(clinic: Clinic) -> None:
    a = clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(MON, 9),
                         patient_phone="05321234567")
    clinic.book.confirm("t1", a.id)
    with pytest.raises(ConcurrentModification):
        clinic.book.move("t1", a.id, ist(MON, 10), expected_version=1)
    confirmed = clinic.book.get("t1", a.id)
    assert confirmed.status == AppointmentStatus.CONFIRMED and confirmed.confirmed_at == clinic.clock.now()
    done = clinic.book.set_status("t1", a.id, AppointmentStatus.COMPLETED)
    with pytest.raises(SlotUnavailable):
        clinic.book.cancel("t1", done.id)


def test_concurrent_booking_through_the_book(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "c.sqlite3")
    try:
        clinic = Clinic(store)
        barrier = threading.Barrier(10)
        outcomes: list[str] = []

        def worker(i: int) -> None:
            barrier.wait()
            try:
                clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(MON, 9, 15 * (i % 2)),
                                 patient_phone=f"+9053212345{i:02d}")
                outcomes.append("ok")
            except SlotUnavailable:
                outcomes.append("taken")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes.count("ok") == 1
        assert len(store.appointments.find("t1", statuses=[AppointmentStatus.BOOKED])) == 1
        assert clinic.event_types() == ["appointment.booked"]
    finally:
        store.close()


def test_dst_zone_uses_zoneinfo(store: Any) -> None:
    """A Berlin doctor: 09:00 local is 08:00 UTC before the 2026-03-29 change and 07:00 after."""
    clinic = Clinic(store)
    store.doctors.save("t1", make_doctor(doctor_id="d1", name="Dr. Berlin", timezone="Europe/Berlin", breaks={}))
    before = clinic.slots.free_slots("t1", "Muayene", datetime(2026, 3, 27, tzinfo=UTC),
                                     datetime(2026, 3, 28, tzinfo=UTC), doctor_id="d1")
    after = clinic.slots.free_slots("t1", "Muayene", datetime(2026, 3, 30, tzinfo=UTC),
                                    datetime(2026, 3, 31, tzinfo=UTC), doctor_id="d1")
    assert before[0].starts_at == datetime(2026, 3, 27, 8, tzinfo=UTC)
    assert after[0].starts_at == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert len(before) == len(after) == 8 * 4 - 1
    # a wall time inside the spring-forward gap (02:30 on 2026-03-29) lands after the gap
    berlin = ZoneInfo("Europe/Berlin")
    assert local_instant(date(2026, 3, 29), time(2, 30), berlin) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Istanbul: fixed UTC+3
    assert local_instant(date(2026, 7, 1), time(9), IST) == datetime(2026, 7, 1, 6, tzinfo=UTC)


def test_doctor_services_list() -> None:
    d = make_doctor(services=["Diş taşı temizliği", "DOLGU"])
    assert d.performs("dolgu") and d.performs("diş taşı  temizliği") and not d.performs("İmplant")
    assert not d.performs("dolgu", requires_specialist=True)
    assert make_doctor(is_specialist=True).performs("İmplant", requires_specialist=True)
    assert TimeRange(start=time(9), end=time(10)).contains(time(9), time(9, 30))
