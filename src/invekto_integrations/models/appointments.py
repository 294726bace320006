"""The clinic's domain types: appointments, doctors and their schedules, service prices, the
waitlist and its offers.

Domain-neutral (importable by storage and by `invekto_integrations.appointments`, which
re-exports them); `storage.records` keeps the old names for compatibility.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invekto_integrations.core.money import Money
from invekto_integrations.core.text import fold

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


def fold_name(text: str) -> str:
    """Case-, Turkish-letter- and space-insensitive key of a service name (uniqueness, lookup)."""
    return fold(text)


def _aware_utc(value: datetime) -> datetime:
    from datetime import UTC

    if value.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware value")
    return value.astimezone(UTC)


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"  # the patient confirmed (a reminder reply)
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


#: Statuses that hold the doctor's time (an active appointment blocks overlapping bookings).
ACTIVE_APPOINTMENT_STATUSES: frozenset[AppointmentStatus] = frozenset(
    {AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED}
)


class Appointment(BaseModel):
    """A row of ``appointments``: one patient visit with one doctor.

    Times are aware UTC. ``version`` grows by one on every change made on our side and is the
    optimistic-concurrency token of `AppointmentRepository.update`; ``synced_version`` is the
    version last pushed to / pulled from the doctor's calendar (``version != synced_version``
    means a local change still to push). ``buffer_minutes`` (the service's clean-up time) extends
    the time the appointment blocks: ``[starts_at, ends_at + buffer)``.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    doctor_id: str
    patient_phone: str  # E.164
    patient_name: str | None = None
    service_name: str
    starts_at: datetime
    ends_at: datetime
    buffer_minutes: int = Field(default=0, ge=0)
    status: AppointmentStatus = AppointmentStatus.BOOKED
    source: Literal["local", "google"] = "local"
    notes: str | None = None
    version: int = Field(default=1, ge=1)
    calendar_id: str | None = None
    calendar_event_id: str | None = None
    calendar_etag: str | None = None
    synced_version: int | None = None
    booked_at: datetime | None = None  # when the patient booked (lead time); created_at if unset
    confirmed_at: datetime | None = None  # when the patient confirmed (kept after completion/no-show)
    created_at: datetime
    updated_at: datetime

    @field_validator("patient_phone")
    @classmethod
    def _e164(cls, v: str) -> str:
        from invekto_integrations.core.phone import normalize_phone

        return normalize_phone(v)

    @field_validator("starts_at", "ends_at", "created_at", "updated_at", "booked_at", "confirmed_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _aware_utc(v)

    @model_validator(mode="after")
    def _order(self) -> Appointment:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"appointment {self.id}: ends_at must be after starts_at")
        return self

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_APPOINTMENT_STATUSES

    @property
    def blocked_until(self) -> datetime:
        """End of the time this appointment blocks (its end plus the service buffer)."""
        from datetime import timedelta

        return self.ends_at + timedelta(minutes=self.buffer_minutes)

    def blocks(self, start: datetime, end: datetime) -> bool:
        """True if this active appointment overlaps ``[start, end)``."""
        return self.is_active and self.starts_at < end and self.blocked_until > start


class TimeRange(BaseModel):
    """A wall-clock range within one day (``start < end``), in the doctor's timezone."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _order(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError(f"time range {self.start}-{self.end}: end must be after start")
        return self

    def contains(self, start: time, end: time) -> bool:
        return self.start <= start and end <= self.end


class Doctor(BaseModel):
    """A row of ``doctors``. ``working_hours`` and ``breaks`` map ISO weekday (1 = Monday … 7 =
    Sunday) to wall-clock ranges in ``timezone``; ``days_off`` (personal) and ``holidays``
    (clinic) are local dates without work. ``services`` lists the service names the doctor
    performs (empty = every service not reserved to specialists, if ``is_specialist`` is false;
    a specialist with an empty list performs every service)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    name: str
    specialty: str | None = None
    is_specialist: bool = False
    calendar_id: str | None = None
    timezone: str = "Europe/Istanbul"
    working_hours: dict[int, list[TimeRange]] = Field(default_factory=dict)
    breaks: dict[int, list[TimeRange]] = Field(default_factory=dict)
    days_off: list[date] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    is_active: bool = True
    created_at: datetime
    updated_at: datetime

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {v!r}") from exc
        return v

    @field_validator("working_hours", "breaks")
    @classmethod
    def _weekdays(cls, v: dict[int, list[TimeRange]]) -> dict[int, list[TimeRange]]:
        for day in v:
            if not 1 <= day <= 7:
                raise ValueError(f"weekday {day} is not an ISO weekday (1 = Monday … 7 = Sunday)")
        return v

    def performs(self, service_name: str, *, requires_specialist: bool = False) -> bool:
        if requires_specialist and not self.is_specialist:
            return False
        if not self.services:
            return True
        key = fold_name(service_name)
        return any(fold_name(s) == key for s in self.services)


class ServicePricing(BaseModel):
    """A row of ``service_pricing``: a clinic service, its price range (TRY), duration and buffer."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    service_name: str
    price_min: Decimal
    price_max: Decimal
    currency: str = "TRY"
    duration_minutes: int
    buffer_minutes: int = 0
    description: str | None = None
    requires_specialist: bool = False
    is_active: bool = True
    created_at: datetime
    updated_at: datetime

    @field_validator("service_name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("service_name is empty")
        return v

    @model_validator(mode="after")
    def _check(self) -> ServicePricing:
        where = f"service {self.service_name!r}"
        if not self.price_min.is_finite() or not self.price_max.is_finite():
            raise ValueError(f"{where}: prices must be finite amounts")
        if self.price_min <= 0 or self.price_max <= 0:
            raise ValueError(f"{where}: prices must be positive")
        if self.price_min > self.price_max:
            raise ValueError(f"{where}: price_min {self.price_min} is above price_max {self.price_max}")
        if self.duration_minutes <= 0:
            raise ValueError(f"{where}: duration_minutes must be positive")
        if self.buffer_minutes < 0:
            raise ValueError(f"{where}: buffer_minutes must not be negative")
        if self.currency != "TRY":
            raise ValueError(f"{where}: only TRY prices are supported")
        return self

    @property
    def name_key(self) -> str:
        return fold_name(self.service_name)

    @property
    def min_price(self) -> Money:
        return Money(amount=self.price_min, currency=self.currency)

    @property
    def max_price(self) -> Money:
        return Money(amount=self.price_max, currency=self.currency)


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # an offer is pending (the entry is not offered another slot meanwhile)
    BOOKED = "booked"
    REMOVED = "removed"


class WaitlistEntry(BaseModel):
    """A row of ``waitlist``: a patient waiting for a slot of ``service_type``.

    Preferences (all optional): ``doctor_id``; ``preferred_date`` (that local day only) or the
    range ``date_from``–``date_to``; ``time_windows`` (the slot must lie inside one, local time)
    or ``preferred_time`` (the slot must start within the engine's flex of it). Order: higher
    ``priority`` first, then first come (``created_at``, then id).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    patient_phone: str
    patient_name: str | None = None
    service_type: str
    doctor_id: str | None = None
    preferred_date: date | None = None
    preferred_time: time | None = None
    date_from: date | None = None
    date_to: date | None = None
    time_windows: list[TimeRange] = Field(default_factory=list)
    priority: int = 0
    status: WaitlistStatus = WaitlistStatus.WAITING
    created_at: datetime
    updated_at: datetime

    @field_validator("patient_phone")
    @classmethod
    def _e164(cls, v: str) -> str:
        from invekto_integrations.core.phone import normalize_phone

        return normalize_phone(v)


class OfferStatus(StrEnum):
    PENDING = "pending"  # sent; holds the slot until expires_at
    ACCEPTED = "accepted"  # the patient said yes and the slot was booked
    DECLINED = "declined"
    EXPIRED = "expired"  # no answer within the hold
    LOST = "lost"  # said yes, but the slot was gone (taken by someone else)
    WITHDRAWN = "withdrawn"  # the slot stopped being free before an answer


class WaitlistOffer(BaseModel):
    """A row of ``waitlist_offers``: one freed slot offered to one waitlist entry."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    entry_id: str
    patient_phone: str
    doctor_id: str
    service_name: str
    starts_at: datetime
    ends_at: datetime
    buffer_minutes: int = 0
    source_appointment_id: str  # the cancelled appointment whose slot this is
    status: OfferStatus = OfferStatus.PENDING
    expires_at: datetime
    message_id: str | None = None
    appointment_id: str | None = None  # the booking made on acceptance
    created_at: datetime
    responded_at: datetime | None = None
