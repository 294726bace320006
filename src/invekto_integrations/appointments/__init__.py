"""Clinic appointments: doctors' slots, booking, price ranges, the waitlist and no-show prediction.

Domain logic only (no HTTP): engines depend on `storage.protocols` and talk to other engines
through domain events. See docs/appointments.md.
"""

from __future__ import annotations

from .booking import AppointmentBook
from .errors import (
    AppointmentError,
    AppointmentNotFound,
    ConcurrentModification,
    InvalidServicePricing,
    SlotUnavailable,
    UnknownService,
)
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
from .noshow import NoShowAdvisor, NoShowModel, NoShowPrediction, ReminderPlan, ReminderPolicy, plan_reminders
from .pricing import PriceCatalog, format_price, format_price_list
from .slots import BusyTimes, NoCalendar, Slot, SlotFinder
from .waitlist import ReplyOutcome, WaitlistEngine, WaitlistSettings, parse_answer

__all__ = [
    "ACTIVE_APPOINTMENT_STATUSES",
    "Appointment",
    "AppointmentBook",
    "AppointmentError",
    "AppointmentNotFound",
    "AppointmentStatus",
    "BusyTimes",
    "ConcurrentModification",
    "Doctor",
    "InvalidServicePricing",
    "NoCalendar",
    "NoShowAdvisor",
    "NoShowModel",
    "NoShowPrediction",
    "OfferStatus",
    "PriceCatalog",
    "ReminderPlan",
    "ReminderPolicy",
    "ReplyOutcome",
    "ServicePricing",
    "Slot",
    "SlotFinder",
    "SlotUnavailable",
    "TimeRange",
    "UnknownService",
    "WaitlistEngine",
    "WaitlistEntry",
    "WaitlistOffer",
    "WaitlistSettings",
    "WaitlistStatus",
    "format_price",
    "format_price_list",
    "parse_answer",
    "plan_reminders",
]
