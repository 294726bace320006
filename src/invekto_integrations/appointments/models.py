"""The clinic's domain types: appointments, doctors and their schedules, service prices, the waitlist.

The models are defined in the domain-neutral `invekto_integrations.models.appointments` (so
storage never imports a domain package) and re-exported here, the name other code should import
them by.
"""

from __future__ import annotations

from invekto_integrations.models.appointments import (
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
    fold_name,
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
    "fold_name",
]
