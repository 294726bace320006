"""In-memory clinic repositories: appointments, doctors, service prices, waitlist and offers.

Thread-safe (one lock per repository guards every check-then-write), not durable.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.reprs import ConciseRepr

from ._tenant import check_tenant
from .protocols import DuplicateRecord, DuplicateServiceName, SlotConflict
from .records import (
    Appointment,
    AppointmentStatus,
    Doctor,
    OfferStatus,
    ServicePricing,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
    fold_name,
)

__all__ = ["MemoryAppointments", "MemoryDoctors", "MemoryServicePricing", "MemoryWaitlist"]


def _order(a: Appointment) -> tuple[datetime, str]:
    return (a.starts_at, a.id)


class MemoryAppointments(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Appointment] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, appointment_id: str) -> Appointment | None:
        return self._rows.get((tenant_id, appointment_id))

    def find(self, tenant_id: str, *, doctor_id: str | None = None, start: datetime | None = None,
             end: datetime | None = None, statuses: Sequence[AppointmentStatus] | None = None,
             patient_phone: str | None = None) -> list[Appointment]:
        rows = [
            a for (t, _), a in list(self._rows.items())
            if t == tenant_id and doctor_id in (None, a.doctor_id)
            and (start is None or a.blocked_until > start) and (end is None or a.starts_at < end)
            and (statuses is None or a.status in statuses) and patient_phone in (None, a.patient_phone)
        ]
        return sorted(rows, key=_order)

    def find_by_event(self, tenant_id: str, calendar_id: str, event_id: str) -> Appointment | None:
        for (t, _), a in list(self._rows.items()):
            if t == tenant_id and a.calendar_id == calendar_id and a.calendar_event_id == event_id:
                return a
        return None

    def _conflict(self, appt: Appointment) -> Appointment | None:
        for (t, aid), other in self._rows.items():
            if t == appt.tenant_id and aid != appt.id and other.doctor_id == appt.doctor_id \
                    and other.blocks(appt.starts_at, appt.blocked_until):
                return other
        return None

    def book_if_free(self, tenant_id: str, appointment: Appointment) -> bool:
        check_tenant(tenant_id, appointment.tenant_id, "appointment")
        with self._lock:
            key = (appointment.tenant_id, appointment.id)
            if key in self._rows:
                raise DuplicateRecord(f"appointment {appointment.id} exists")
            if appointment.is_active and self._conflict(appointment) is not None:
                return False
            self._rows[key] = appointment
            return True

    def update(self, tenant_id: str, appointment: Appointment, *, expected_version: int,
               allow_overlap: bool = False) -> bool:
        check_tenant(tenant_id, appointment.tenant_id, "appointment")
        with self._lock:
            key = (appointment.tenant_id, appointment.id)
            found = self._rows.get(key)
            if found is None or found.version != expected_version:
                return False
            if appointment.is_active and not allow_overlap:
                other = self._conflict(appointment)
                if other is not None:
                    raise SlotConflict(f"appointment {appointment.id} overlaps {other.id}", conflicting_id=other.id)
            self._rows[key] = appointment
            return True

    def tenants(self) -> list[str]:
        return sorted({t for t, _ in list(self._rows)})


class MemoryDoctors(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Doctor] = {}

    def save(self, tenant_id: str, doctor: Doctor) -> None:
        check_tenant(tenant_id, doctor.tenant_id, "doctor")
        self._rows[(doctor.tenant_id, doctor.id)] = doctor

    def get(self, tenant_id: str, doctor_id: str) -> Doctor | None:
        return self._rows.get((tenant_id, doctor_id))

    def find(self, tenant_id: str, *, active_only: bool = True) -> list[Doctor]:
        rows = [d for (t, _), d in list(self._rows.items()) if t == tenant_id and (d.is_active or not active_only)]
        return sorted(rows, key=lambda d: (d.name, d.id))

    def find_by_calendar(self, tenant_id: str, calendar_id: str) -> Doctor | None:
        for (t, _), d in list(self._rows.items()):
            if t == tenant_id and d.calendar_id == calendar_id:
                return d
        return None


class MemoryServicePricing(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], ServicePricing] = {}
        self._lock = threading.Lock()

    def _check_unique(self, service: ServicePricing) -> None:
        if not service.is_active:
            return
        for (t, sid), other in self._rows.items():
            if t == service.tenant_id and sid != service.id and other.is_active and other.name_key == service.name_key:
                raise DuplicateServiceName(f"an active service named {other.service_name!r} exists ({other.id})")

    def add(self, tenant_id: str, service: ServicePricing) -> None:
        check_tenant(tenant_id, service.tenant_id, "service")
        with self._lock:
            key = (service.tenant_id, service.id)
            if key in self._rows:
                raise DuplicateRecord(f"service {service.id} exists")
            self._check_unique(service)
            self._rows[key] = service

    def save(self, tenant_id: str, service: ServicePricing) -> None:
        check_tenant(tenant_id, service.tenant_id, "service")
        with self._lock:
            key = (service.tenant_id, service.id)
            if key not in self._rows:
                raise StorageError(f"no service {service.id} for this tenant")
            self._check_unique(service)
            self._rows[key] = service

    def get(self, tenant_id: str, service_id: str) -> ServicePricing | None:
        return self._rows.get((tenant_id, service_id))

    def get_active(self, tenant_id: str, service_name: str) -> ServicePricing | None:
        key = fold_name(service_name)
        for (t, _), s in list(self._rows.items()):
            if t == tenant_id and s.is_active and s.name_key == key:
                return s
        return None

    def find(self, tenant_id: str, *, active_only: bool = True) -> list[ServicePricing]:
        rows = [s for (t, _), s in list(self._rows.items()) if t == tenant_id and (s.is_active or not active_only)]
        return sorted(rows, key=lambda s: (s.name_key, s.id))


class MemoryWaitlist(ConciseRepr):
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], WaitlistEntry] = {}
        self._offers: dict[tuple[str, str], WaitlistOffer] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, entry: WaitlistEntry) -> None:
        check_tenant(tenant_id, entry.tenant_id, "waitlist entry")
        with self._lock:
            key = (entry.tenant_id, entry.id)
            if key in self._entries:
                raise DuplicateRecord(f"waitlist entry {entry.id} exists")
            self._entries[key] = entry

    def get(self, tenant_id: str, entry_id: str) -> WaitlistEntry | None:
        return self._entries.get((tenant_id, entry_id))

    def find(self, tenant_id: str, *, statuses: Sequence[WaitlistStatus] | None = None,
             patient_phone: str | None = None) -> list[WaitlistEntry]:
        rows = [e for (t, _), e in list(self._entries.items())
                if t == tenant_id and (statuses is None or e.status in statuses)
                and patient_phone in (None, e.patient_phone)]
        return sorted(rows, key=lambda e: (-e.priority, e.created_at, e.id))

    def set_status(self, tenant_id: str, entry_id: str, expected: Sequence[WaitlistStatus], new: WaitlistStatus,
                   at: datetime) -> WaitlistEntry | None:
        with self._lock:
            found = self._entries.get((tenant_id, entry_id))
            if found is None or found.status not in expected:
                return None
            updated = found.model_copy(update={"status": new, "updated_at": at})
            self._entries[(tenant_id, entry_id)] = updated
            return updated

    def add_offer(self, tenant_id: str, offer: WaitlistOffer) -> bool:
        check_tenant(tenant_id, offer.tenant_id, "offer")
        with self._lock:
            if (tenant_id, offer.id) in self._offers:
                return False
            for (t, _), o in self._offers.items():
                if t == offer.tenant_id and o.entry_id == offer.entry_id and (
                        o.status == OfferStatus.PENDING or o.source_appointment_id == offer.source_appointment_id):
                    return False
            self._offers[(offer.tenant_id, offer.id)] = offer
            return True

    def get_offer(self, tenant_id: str, offer_id: str) -> WaitlistOffer | None:
        return self._offers.get((tenant_id, offer_id))

    def find_offers(self, tenant_id: str, *, statuses: Sequence[OfferStatus] | None = None,
                    patient_phone: str | None = None, source_appointment_id: str | None = None,
                    expires_before: datetime | None = None) -> list[WaitlistOffer]:
        rows = [o for (t, _), o in list(self._offers.items())
                if t == tenant_id and (statuses is None or o.status in statuses)
                and patient_phone in (None, o.patient_phone)
                and source_appointment_id in (None, o.source_appointment_id)
                and (expires_before is None or o.expires_at <= expires_before)]
        return sorted(rows, key=lambda o: (o.created_at, o.id))

    def resolve_offer(self, tenant_id: str, offer_id: str, expected: Sequence[OfferStatus], new: OfferStatus,
                      at: datetime, *, appointment_id: str | None = None) -> WaitlistOffer | None:
        with self._lock:
            found = self._offers.get((tenant_id, offer_id))
            if found is None or found.status not in expected:
                return None
            changes: dict[str, object] = {"status": new, "responded_at": at}
            if appointment_id is not None:
                changes["appointment_id"] = appointment_id
            updated = found.model_copy(update=changes)
            self._offers[(tenant_id, offer_id)] = updated
            return updated

    def set_offer_message(self, tenant_id: str, offer_id: str, message_id: str) -> None:
        with self._lock:
            found = self._offers.get((tenant_id, offer_id))
            if found is not None:
                self._offers[(tenant_id, offer_id)] = found.model_copy(update={"message_id": message_id})

    def extend_offer(self, tenant_id: str, offer_id: str, expires_at: datetime) -> WaitlistOffer | None:
        with self._lock:
            found = self._offers.get((tenant_id, offer_id))
            if found is None or found.status != OfferStatus.PENDING:
                return None
            if expires_at > found.expires_at:
                found = found.model_copy(update={"expires_at": expires_at})
                self._offers[(tenant_id, offer_id)] = found
            return found

    def tenants(self) -> list[str]:
        return sorted({t for t, _ in list(self._entries)} | {t for t, _ in list(self._offers)})
