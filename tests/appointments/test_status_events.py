"""`AppointmentStatusChanged` for every status an appointment reaches, once per fact."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from invekto_integrations.appointments.models import AppointmentStatus
from invekto_integrations.models.events import AppointmentStatusChanged, decode_event

from .conftest import Clinic

IST = ZoneInfo("Europe/Istanbul")
MON = date(2026, 3, 2)


def at(h: int) -> datetime:
    return datetime.combine(MON, time(h), tzinfo=IST).astimezone(UTC)


def status_events(clinic: Clinic) -> list[AppointmentStatusChanged]:
    out = []
    for e in clinic.store.events.read("t1", types=[AppointmentStatusChanged.TYPE]):
        event = decode_event(e.type, e.version, e.data)
        assert isinstance(event, AppointmentStatusChanged)
        out.append(event)
    return out


def test_confirm_complete_no_show_and_cancel_each_emit_one_event(clinic: Clinic) -> None:
    book = clinic.book
    a = book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=at(9), patient_phone="05321234567")
    b = book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=at(10), patient_phone="05321234568")
    c = book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=at(11), patient_phone="05321234569")
    book.confirm("t1", a.id)
    book.confirm("t1", a.id)  # already confirmed: no second event
    book.set_status("t1", a.id, AppointmentStatus.COMPLETED)
    book.set_status("t1", b.id, AppointmentStatus.NO_SHOW)
    book.cancel("t1", c.id, source="google")
    book.cancel("t1", c.id)  # idempotent
    got = [(e.appointment_id, e.old_status, e.new_status, e.source) for e in status_events(clinic)]
    assert got == [(a.id, "booked", "confirmed", "local"), (a.id, "confirmed", "completed", "local"),
                   (b.id, "booked", "no_show", "local"), (c.id, "booked", "cancelled", "google")]
    first = status_events(clinic)[0]
    assert first.patient_phone == "+905321234567" and first.service_name == "Muayene" and first.starts_at == at(9)
    # the cancel still emits the event the waitlist consumes
    assert "appointment.cancelled" in clinic.event_types()
