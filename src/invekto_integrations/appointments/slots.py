"""Free slots per doctor: working hours (doctor's timezone) minus breaks, days off and holidays,
minus our active appointments, minus held waitlist offers, minus the calendar's busy times.

Wall-clock schedules are turned into instants with `zoneinfo`, day by day, so a timezone with
DST gets the right UTC times on each side of a change (Europe/Istanbul has had none since 2016,
but a clinic abroad may). A local time skipped by a spring-forward gap is moved past the gap; an
ambiguous one takes its first occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from invekto_integrations.core.clock import Clock, SystemClock, utc
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.protocols import (
    AppointmentRepository,
    DoctorRepository,
    ServicePricingRepository,
    WaitlistRepository,
)

from .errors import AppointmentNotFound, UnknownService
from .models import ACTIVE_APPOINTMENT_STATUSES, Doctor, OfferStatus, ServicePricing

__all__ = ["BusyTimes", "Interval", "NoCalendar", "Slot", "SlotFinder", "local_instant", "subtract"]

Interval = tuple[datetime, datetime]


class BusyTimes(Protocol):
    """Busy intervals of a doctor's calendar (the Google Calendar freebusy implements this)."""

    def busy(self, tenant_id: str, doctor: Doctor, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        ...


class NoCalendar(ConciseRepr):
    """No external calendar: nothing is busy beyond our own appointments."""

    def busy(self, tenant_id: str, doctor: Doctor, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return []


@dataclass(frozen=True)
class Slot:
    """A bookable start for a service: ``[starts_at, ends_at)`` is the visit; the doctor is then
    blocked until ``blocked_until`` (the service buffer)."""

    doctor_id: str
    service_name: str
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of local ``day`` at wall-clock ``wall`` in ``zone``."""
    # PEP 495, fold=0: an ambiguous wall time (fall back) takes its first occurrence; one inside a
    # spring-forward gap is read with the offset from before the gap, i.e. it lands after the gap.
    return datetime.combine(day, wall).replace(tzinfo=zone, fold=0).astimezone(UTC)


def subtract(free: Sequence[Interval], busy: Sequence[Interval]) -> list[Interval]:
    """``free`` minus the union of ``busy`` (all half-open, any order)."""
    out: list[Interval] = []
    blocks = sorted(b for b in busy if b[1] > b[0])
    for start, end in sorted(free):
        cursor = start
        for b_start, b_end in blocks:
            if b_end <= cursor or b_start >= end:
                continue
            if b_start > cursor:
                out.append((cursor, b_start))
            cursor = max(cursor, b_end)
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


class SlotFinder(ConciseRepr, fields=("step_minutes", "clock")):
    """Free slots for a service. ``step_minutes`` is the grid starts are aligned to (from the start
    of each working period); ``min_lead`` keeps slots that start too soon out."""

    def __init__(self, appointments: AppointmentRepository, doctors: DoctorRepository,
                 services: ServicePricingRepository, *, busy: BusyTimes | None = None,
                 waitlist: WaitlistRepository | None = None, clock: Clock | None = None, step_minutes: int = 15,
                 min_lead: timedelta = timedelta(0)) -> None:
        if step_minutes <= 0:
            raise ValueError("step_minutes must be positive")
        self.appointments = appointments
        self.doctors = doctors
        self.services = services
        self.busy_times: BusyTimes = busy or NoCalendar()
        self.waitlist = waitlist
        self.clock = clock or SystemClock()
        self.step = timedelta(minutes=step_minutes)
        self.min_lead = min_lead

    # --- building blocks --------------------------------------------------------------------
    def service(self, tenant_id: str, service_name: str) -> ServicePricing:
        found = self.services.get_active(tenant_id, service_name)
        if found is None:
            raise UnknownService(f"no active service {service_name!r} for tenant {tenant_id}")
        return found

    def doctor(self, tenant_id: str, doctor_id: str) -> Doctor:
        found = self.doctors.get(tenant_id, doctor_id)
        if found is None:
            raise AppointmentNotFound(f"no doctor {doctor_id} for tenant {tenant_id}")
        return found

    def eligible_doctors(self, tenant_id: str, service: ServicePricing) -> list[Doctor]:
        return [d for d in self.doctors.find(tenant_id)
                if d.performs(service.service_name, requires_specialist=service.requires_specialist)]

    @staticmethod
    def working_periods(doctor: Doctor, start: datetime, end: datetime) -> list[Interval]:
        """Working time (breaks removed) of ``doctor`` overlapping ``[start, end)``, in UTC."""
        zone = ZoneInfo(doctor.timezone)
        first = utc(start).astimezone(zone).date() - timedelta(days=1)
        last = utc(end).astimezone(zone).date()
        off = set(doctor.days_off) | set(doctor.holidays)
        periods: list[Interval] = []
        day = first
        while day <= last:
            if day not in off:
                weekday = day.isoweekday()
                hours = [(local_instant(day, r.start, zone), local_instant(day, r.end, zone))
                         for r in doctor.working_hours.get(weekday, [])]
                breaks = [(local_instant(day, r.start, zone), local_instant(day, r.end, zone))
                          for r in doctor.breaks.get(weekday, [])]
                periods.extend(subtract(hours, breaks))
            day += timedelta(days=1)
        clipped = [(max(s, utc(start)), min(e, utc(end))) for s, e in periods]
        return [(s, e) for s, e in clipped if s < e]

    def busy(self, tenant_id: str, doctor: Doctor, start: datetime, end: datetime, *,
             ignore_appointment: str | None = None, ignore_source: str | None = None) -> list[Interval]:
        """Everything that blocks ``doctor`` in ``[start, end)``: our active appointments (with
        their buffers), pending waitlist offers (held slots) and the calendar's busy times."""
        out: list[Interval] = [
            (a.starts_at, a.blocked_until)
            for a in self.appointments.find(tenant_id, doctor_id=doctor.id, start=start, end=end,
                                            statuses=sorted(ACTIVE_APPOINTMENT_STATUSES))
            if a.id != ignore_appointment
        ]
        if self.waitlist is not None:
            out.extend((o.starts_at, o.ends_at + timedelta(minutes=o.buffer_minutes))
                       for o in self.waitlist.find_offers(tenant_id, statuses=[OfferStatus.PENDING])
                       if o.doctor_id == doctor.id and o.source_appointment_id != ignore_source
                       and o.expires_at > self.clock.now())
        out.extend((utc(s), utc(e)) for s, e in self.busy_times.busy(tenant_id, doctor, start, end))
        return out

    # --- queries -----------------------------------------------------------------------------
    def free_slots(self, tenant_id: str, service_name: str, start: datetime, end: datetime, *,
                   doctor_id: str | None = None, limit: int | None = None) -> list[Slot]:
        """Bookable starts for ``service_name`` in ``[start, end)``, earliest first (then doctor id)."""
        service = self.service(tenant_id, service_name)
        doctors = self.eligible_doctors(tenant_id, service)
        if doctor_id is not None:
            doctors = [d for d in doctors if d.id == doctor_id]
        start = max(utc(start), self.clock.now() + self.min_lead)
        end = utc(end)
        duration = timedelta(minutes=service.duration_minutes)
        blocked = duration + timedelta(minutes=service.buffer_minutes)
        slots: list[Slot] = []
        day = timedelta(days=1)
        for doctor in doctors:
            busy = self.busy(tenant_id, doctor, start - blocked, end + blocked)
            # whole working periods (the grid is anchored at each period's start)
            for p_start, p_end in self.working_periods(doctor, start - day, end + day):
                if p_end <= start or p_start >= end:
                    continue
                t = p_start
                if t < start:
                    t += self.step * -((p_start - start) // self.step)
                while t + duration <= p_end and t < end:
                    if not any(b_start < t + blocked and b_end > t for b_start, b_end in busy):
                        slots.append(Slot(doctor.id, service.service_name, t, t + duration, t + blocked))
                    t += self.step
        slots.sort(key=lambda s: (s.starts_at, s.doctor_id))
        return slots[:limit] if limit is not None else slots

    def check(self, tenant_id: str, doctor: Doctor, service: ServicePricing, starts_at: datetime, *,
              ignore_appointment: str | None = None, ignore_source: str | None = None) -> str | None:
        """Why ``starts_at`` cannot be booked (``not_eligible``, ``in_past``, ``outside_hours``,
        ``taken``, ``calendar_busy`` or ``held``), or ``None`` if it can."""
        if not doctor.performs(service.service_name, requires_specialist=service.requires_specialist):
            return "not_eligible"
        starts_at = utc(starts_at)
        if starts_at < self.clock.now() + self.min_lead:
            return "in_past"
        ends_at = starts_at + timedelta(minutes=service.duration_minutes)
        blocked_until = ends_at + timedelta(minutes=service.buffer_minutes)
        day = timedelta(days=1)
        if not any(s <= starts_at and ends_at <= e
                   for s, e in self.working_periods(doctor, starts_at - day, ends_at + day)):
            return "outside_hours"
        for a in self.appointments.find(tenant_id, doctor_id=doctor.id, start=starts_at, end=blocked_until,
                                        statuses=sorted(ACTIVE_APPOINTMENT_STATUSES)):
            if a.id != ignore_appointment:
                return "taken"
        if self.waitlist is not None:
            for o in self.waitlist.find_offers(tenant_id, statuses=[OfferStatus.PENDING]):
                held_until = o.ends_at + timedelta(minutes=o.buffer_minutes)
                if (o.doctor_id == doctor.id and o.source_appointment_id != ignore_source
                        and o.expires_at > self.clock.now() and o.starts_at < blocked_until and held_until > starts_at):
                    return "held"
        for s, e in self.busy_times.busy(tenant_id, doctor, starts_at, blocked_until):
            if utc(s) < blocked_until and utc(e) > starts_at:
                return "calendar_busy"
        return None
