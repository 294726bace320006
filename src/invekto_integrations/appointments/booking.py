"""Booking, moving, cancelling and status changes of appointments: the one write path.

Every change goes through here (local UI, waitlist acceptance and the calendar sync alike), so
each emits the same domain event: `AppointmentBooked`, `AppointmentMoved`,
`AppointmentCancelled` (with ``source`` ``"local"`` or ``"google"``), and `AppointmentStatusChanged`
for every status reached (confirmed, completed, no_show, cancelled). Availability is checked
against working hours, held offers and the calendar's busy times, and then re-checked atomically
by `AppointmentRepository.book_if_free` / `update` (the storage transaction is what prevents a
double booking; the first check only explains a refusal).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from invekto_integrations.core.clock import Clock, SystemClock, utc
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.events import EventBus
from invekto_integrations.models.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentMoved,
    AppointmentStatusChanged,
    DomainEvent,
)
from invekto_integrations.storage.protocols import AppointmentRepository, SlotConflict

from .errors import AppointmentNotFound, ConcurrentModification, SlotUnavailable
from .models import Appointment, AppointmentStatus
from .slots import SlotFinder

__all__ = ["AppointmentBook", "Source"]

Source = Literal["local", "google"]

_TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    AppointmentStatus.BOOKED: frozenset({AppointmentStatus.CONFIRMED, AppointmentStatus.CANCELLED,
                                         AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW}),
    AppointmentStatus.CONFIRMED: frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED,
                                            AppointmentStatus.NO_SHOW}),
    AppointmentStatus.CANCELLED: frozenset(),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
}


class AppointmentBook(ConciseRepr, fields=("appointments", "clock")):
    """The clinic's appointment book over the repositories, the slot finder and the event bus."""

    def __init__(self, appointments: AppointmentRepository, slots: SlotFinder, bus: EventBus, *,
                 clock: Clock | None = None, max_retries: int = 5) -> None:
        self.appointments = appointments
        self.slots = slots
        self.bus = bus
        self.clock = clock or SystemClock()
        self.max_retries = max_retries

    # --- create ------------------------------------------------------------------------------
    def book(self, tenant_id: str, *, doctor_id: str, service_name: str, starts_at: datetime, patient_phone: str,
             patient_name: str | None = None, notes: str | None = None, source: Source = "local",
             check_availability: bool = True, ignore_source: str | None = None,
             calendar_id: str | None = None, calendar_event_id: str | None = None,
             calendar_etag: str | None = None) -> Appointment:
        """Book ``service_name`` with ``doctor_id`` at ``starts_at``; raises `SlotUnavailable`
        (``reason`` says why) or `UnknownService` / `AppointmentNotFound`.

        ``check_availability=False`` skips the working-hours and calendar checks (an event the
        doctor put in their own calendar); the atomic no-overlap check always runs.
        """
        service = self.slots.service(tenant_id, service_name)
        doctor = self.slots.doctor(tenant_id, doctor_id)
        starts_at = utc(starts_at)
        if check_availability:
            reason = self.slots.check(tenant_id, doctor, service, starts_at, ignore_source=ignore_source)
            if reason is not None:
                raise SlotUnavailable(f"doctor {doctor_id} at {starts_at.isoformat()}: {reason}", reason=reason)
        now = self.clock.now()
        appt = Appointment(
            id=new_id(), tenant_id=tenant_id, doctor_id=doctor_id, patient_phone=normalize_phone(patient_phone),
            patient_name=patient_name, service_name=service.service_name, starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=service.duration_minutes), buffer_minutes=service.buffer_minutes,
            source=source, notes=notes, calendar_id=calendar_id if calendar_id is not None else doctor.calendar_id,
            calendar_event_id=calendar_event_id, calendar_etag=calendar_etag,
            synced_version=1 if source == "google" else None, booked_at=now, created_at=now, updated_at=now,
        )
        if not self.appointments.book_if_free(tenant_id, appt):
            raise SlotUnavailable(f"doctor {doctor_id} at {starts_at.isoformat()}: taken", reason="taken")
        self.bus.publish(tenant_id, [AppointmentBooked(
            tenant_id=tenant_id, occurred_at=now, dedupe_key=f"appointment.booked:{appt.id}", appointment_id=appt.id,
            doctor_id=doctor_id, patient_phone=appt.patient_phone, starts_at=appt.starts_at, ends_at=appt.ends_at,
            service_name=appt.service_name,
        )])
        return appt

    # --- change ------------------------------------------------------------------------------
    def get(self, tenant_id: str, appointment_id: str) -> Appointment:
        found = self.appointments.get(tenant_id, appointment_id)
        if found is None:
            raise AppointmentNotFound(f"no appointment {appointment_id} for tenant {tenant_id}")
        return found

    def _change(self, tenant_id: str, appointment_id: str, expected_version: int | None,
                build: Callable[[Appointment], Appointment | None], *, allow_overlap: bool = False,
                mark_synced: bool = False, calendar_etag: str | None = None) -> tuple[Appointment, Appointment] | None:
        """Read-modify-CAS loop. ``build`` returns the new row (version not yet bumped) or ``None``
        for "nothing to do". With ``expected_version`` a concurrent change raises instead of retrying."""
        for _ in range(self.max_retries):
            current = self.get(tenant_id, appointment_id)
            if expected_version is not None and current.version != expected_version:
                raise ConcurrentModification(
                    f"appointment {appointment_id} is at version {current.version}, not {expected_version}")
            new = build(current)
            if new is None:
                return None
            changes: dict[str, Any] = {"version": current.version + 1, "updated_at": self.clock.now()}
            if mark_synced:
                changes["synced_version"] = current.version + 1
            if calendar_etag is not None:
                changes["calendar_etag"] = calendar_etag
            new = new.model_copy(update=changes)
            try:
                ok = self.appointments.update(tenant_id, new, expected_version=current.version,
                                              allow_overlap=allow_overlap)
            except SlotConflict as exc:
                raise SlotUnavailable(f"appointment {appointment_id}: overlaps {exc.conflicting_id}",
                                      reason="taken") from exc
            if ok:
                return current, new
            if expected_version is not None:
                raise ConcurrentModification(f"appointment {appointment_id} changed concurrently")
        raise ConcurrentModification(f"appointment {appointment_id}: gave up after {self.max_retries} conflicts")

    def cancel(self, tenant_id: str, appointment_id: str, *, source: Source = "local",
               expected_version: int | None = None, reason: str | None = None, mark_synced: bool = False,
               calendar_etag: str | None = None) -> Appointment:
        """Cancel (idempotent: an already cancelled appointment is returned unchanged, no event).

        The calendar sync applies a cancellation made in Google with ``source="google"`` and
        ``mark_synced=True`` (the calendar already has this state). Emits `AppointmentCancelled`,
        which the waitlist engine consumes to offer the freed slot.
        """
        def build(a: Appointment) -> Appointment | None:
            if a.status == AppointmentStatus.CANCELLED:
                return None
            if AppointmentStatus.CANCELLED not in _TRANSITIONS[a.status]:
                raise SlotUnavailable(f"appointment {a.id} is {a.status.value}; cannot cancel", reason="final")
            notes = a.notes if not reason else (f"{a.notes}\n" if a.notes else "") + f"iptal: {reason}"
            return a.model_copy(update={"status": AppointmentStatus.CANCELLED, "notes": notes})

        result = self._change(tenant_id, appointment_id, expected_version, build, mark_synced=mark_synced,
                              calendar_etag=calendar_etag)
        if result is None:
            return self.get(tenant_id, appointment_id)
        old, new = result
        self.bus.publish(tenant_id, [AppointmentCancelled(
            tenant_id=tenant_id, occurred_at=new.updated_at, dedupe_key=f"appointment.cancelled:{new.id}",
            appointment_id=new.id, doctor_id=new.doctor_id, starts_at=new.starts_at, ends_at=new.ends_at,
            service_name=new.service_name, source=source,
        ), _status_changed(old, new, source)])
        return new

    def move(self, tenant_id: str, appointment_id: str, starts_at: datetime, *, ends_at: datetime | None = None,
             doctor_id: str | None = None, source: Source = "local", expected_version: int | None = None,
             check_availability: bool = True, mark_synced: bool = False,
             calendar_etag: str | None = None) -> Appointment:
        """Move to ``starts_at`` (keeping the duration unless ``ends_at`` is given), optionally to
        another doctor. A move made in the doctor's calendar (``source="google"``) skips the
        working-hours check and may overlap (the doctor decided); a local one may not. Emits
        `AppointmentMoved`; a no-op move returns the row unchanged."""
        starts_at = utc(starts_at)

        def build(a: Appointment) -> Appointment | None:
            if not a.is_active:
                raise SlotUnavailable(f"appointment {a.id} is {a.status.value}; cannot move", reason="final")
            new_end = utc(ends_at) if ends_at is not None else starts_at + (a.ends_at - a.starts_at)
            new_doctor = doctor_id or a.doctor_id
            if (a.starts_at, a.ends_at, a.doctor_id) == (starts_at, new_end, new_doctor):
                return None
            if check_availability and source == "local":
                doctor = self.slots.doctor(tenant_id, new_doctor)
                service = self.slots.service(tenant_id, a.service_name)
                why = self.slots.check(tenant_id, doctor, service, starts_at, ignore_appointment=a.id)
                if why is not None:
                    raise SlotUnavailable(f"appointment {a.id} to {starts_at.isoformat()}: {why}", reason=why)
            return a.model_copy(update={"starts_at": starts_at, "ends_at": new_end, "doctor_id": new_doctor})

        result = self._change(tenant_id, appointment_id, expected_version, build, allow_overlap=source == "google",
                              mark_synced=mark_synced, calendar_etag=calendar_etag)
        if result is None:
            return self.get(tenant_id, appointment_id)
        old, new = result
        self.bus.publish(tenant_id, [AppointmentMoved(
            tenant_id=tenant_id, occurred_at=new.updated_at, dedupe_key=f"appointment.moved:{new.id}:{new.version}",
            appointment_id=new.id, doctor_id=new.doctor_id, old_starts_at=old.starts_at, starts_at=new.starts_at,
            ends_at=new.ends_at,
        )])
        return new

    def set_status(self, tenant_id: str, appointment_id: str, status: AppointmentStatus, *,
                   expected_version: int | None = None, source: Source = "local") -> Appointment:
        """Confirm, complete or mark a no-show (cancel has its own method: it frees the slot).
        Emits `AppointmentStatusChanged`; setting the current status again is a no-op."""
        if status == AppointmentStatus.CANCELLED:
            return self.cancel(tenant_id, appointment_id, expected_version=expected_version, source=source)

        def build(a: Appointment) -> Appointment | None:
            if a.status == status:
                return None
            if status not in _TRANSITIONS[a.status]:
                raise SlotUnavailable(f"appointment {a.id}: {a.status.value} → {status.value} not allowed",
                                      reason="final")
            changes: dict[str, Any] = {"status": status}
            if status == AppointmentStatus.CONFIRMED and a.confirmed_at is None:
                changes["confirmed_at"] = self.clock.now()
            return a.model_copy(update=changes)

        result = self._change(tenant_id, appointment_id, expected_version, build, allow_overlap=True)
        if result is None:
            return self.get(tenant_id, appointment_id)
        old, new = result
        self.bus.publish(tenant_id, [_status_changed(old, new, source)])
        return new

    def confirm(self, tenant_id: str, appointment_id: str) -> Appointment:
        return self.set_status(tenant_id, appointment_id, AppointmentStatus.CONFIRMED)

    def record_sync(self, tenant_id: str, appointment_id: str, *, version: int, calendar_event_id: str,
                    calendar_etag: str | None, calendar_id: str | None = None) -> bool:
        """Sync bookkeeping (no version bump, no event): the calendar now holds ``version`` of the
        appointment as ``calendar_event_id``/``calendar_etag``. ``False`` if the row changed
        meanwhile (the sync pushes the newer version next time)."""
        current = self.appointments.get(tenant_id, appointment_id)
        if current is None or current.version != version:
            return False
        updated = current.model_copy(update={
            "calendar_event_id": calendar_event_id, "calendar_etag": calendar_etag, "synced_version": version,
            "calendar_id": calendar_id if calendar_id is not None else current.calendar_id,
        })
        return self.appointments.update(tenant_id, updated, expected_version=version, allow_overlap=True)


def _status_changed(old: Appointment, new: Appointment, source: Source) -> DomainEvent:
    # A final status is reached once, so (appointment, status) names the fact.
    return AppointmentStatusChanged(
        tenant_id=new.tenant_id, occurred_at=new.updated_at,
        dedupe_key=f"appointment.status:{new.id}:{new.status.value}", appointment_id=new.id,
        doctor_id=new.doctor_id, patient_phone=new.patient_phone, service_name=new.service_name,
        starts_at=new.starts_at, ends_at=new.ends_at, old_status=old.status.value,
        new_status=new.status.value, source=source)
