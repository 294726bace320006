"""Clinic appointments: doctors' slots, booking, price ranges, the waitlist and no-show prediction.

Domain logic only (no HTTP): engines depend on `storage.protocols` and talk to other engines
through domain events. See docs/appointments.md.
"""

from __future__ import annotations

from .models import (
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
)

__all__ = [
    "ACTIVE_APPOINTMENT_STATUSES",
    "Appointment",
    "AppointmentStatus",
    "Doctor",
    "OfferStatus",
    "ServicePricing",
    "TimeRange",
    "WaitlistEntry",
    "WaitlistOffer",
    "WaitlistStatus",
]
