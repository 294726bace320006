"""Rows the repositories store, as pydantic models (the shapes both implementations agree on)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invekto_integrations.core.money import Money
from invekto_integrations.core.reprs import fields_repr
from invekto_integrations.core.text import fold
from invekto_integrations.models.shipments import ShipmentStatus

__all__ = [
    "CachedOrder",
    "CargoNotification",
    "Checkpoint",
    "ConsentCacheRecord",
    "MessagingContact",
    "OutboxCount",
    "OutboxRecord",
    "OutboxStatus",
    "QuarantinedRecord",
    "ShipmentHistoryEntry",
    "StoredEvent",
    "TrackedShipment",
]


class CachedOrder(BaseModel):
    """A row of ``orders_cache``: one marketplace order (or package) of one tenant's account."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: str
    account_id: str
    external_order_id: str
    customer_phone: str | None = None
    tracking_code: str | None = None
    order_status: str
    ordered_at: datetime
    order_data_json: str
    raw_json: str | None = None
    content_hash: str
    synced_at: datetime
    created_at: datetime

    def __repr__(self) -> str:
        return fields_repr(self, "provider", "external_order_id", "order_status", "customer_phone", "ordered_at")

    __str__ = __repr__


class Checkpoint(BaseModel):
    """Where an incremental sync of one (tenant, account, stream) got to."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    account_id: str
    stream: str
    position: datetime | None = None
    cursor: str | None = None
    updated_at: datetime


class StoredEvent(BaseModel):
    """A domain event as the log holds it; ``seq`` orders a tenant's events."""

    model_config = ConfigDict(frozen=True)

    seq: int
    event_id: str
    tenant_id: str
    type: str
    version: int
    occurred_at: datetime
    recorded_at: datetime
    dedupe_key: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def __repr__(self) -> str:
        return fields_repr(self, "seq", "type", "occurred_at", "dedupe_key")

    __str__ = __repr__


class QuarantinedRecord(BaseModel):
    """A provider record that failed validation, kept whole with the reason (nothing is lost)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: str
    account_id: str
    record_id: str | None
    field: str | None
    error: str
    raw_json: str
    created_at: datetime

    def __repr__(self) -> str:
        return fields_repr(self, "provider", "record_id", "field", "error")

    __str__ = __repr__


# --- shipments (issue 6) ---------------------------------------------------------------------
class TrackedShipment(BaseModel):
    """A row of ``shipments``: one parcel a tenant watches, keyed by (tenant, carrier, tracking_number).

    ``carrier`` is a provider name (``aras``, ``yurtici``) or ``unknown:<company>`` for a cargo
    company with no connector (recorded, never polled). ``status`` is a unified `ShipmentStatus`
    value; ``status_at`` when the carrier says it was reached. ``next_poll_at`` is ``None`` once
    polling stopped (terminal status, unknown carrier, given up).
    """

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    carrier: str
    tracking_number: str
    reference: str | None = None
    cargo_company: str | None = None
    source: str = "manual"  # manual | order
    order_provider: str | None = None
    external_order_id: str | None = None
    customer_phone: str | None = None
    status: ShipmentStatus = ShipmentStatus.PENDING
    raw_status_code: str | None = None
    raw_status_text: str | None = None
    status_at: datetime | None = None
    tracking_url: str | None = None
    delivered_at: datetime | None = None
    active: bool = True
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_error: str | None = None
    error_count: int = 0
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return fields_repr(self, "carrier", "tracking_number", "status", "source", "next_poll_at")

    __str__ = __repr__


class ShipmentHistoryEntry(BaseModel):
    """One carrier movement of a watched parcel (deduplicated by time, place and description)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    carrier: str
    tracking_number: str
    occurred_at: datetime | None
    location: str | None = None
    description: str
    code: str | None = None


class CargoNotification(BaseModel):
    """A cargo status message the notifier rendered (its outbox row), unique per idempotency key."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    idempotency_key: str
    carrier: str
    tracking_number: str
    status: str
    to_phone: str
    message_json: str
    not_before: datetime | None = None
    created_at: datetime
    submitted_at: datetime | None = None
    submit_status: str | None = None  # what the MessageSink answered (queued, scheduled, duplicate, ...)


# --- messaging (issue 7) ---------------------------------------------------------------------
class OutboxStatus(StrEnum):
    """Where an outbound message is. Refused/failed end it; accepted → sent → delivered → read."""

    REFUSED = "refused"  # consent, opt-out or frequency cap said no (reason says which)
    SCHEDULED = "scheduled"  # held until due_at (quiet hours, not_before)
    QUEUED = "queued"  # due; waiting to be sent (or to be retried after a transient failure)
    SENDING = "sending"  # claimed by a dispatcher; the provider call is in flight
    UNCERTAIN = "uncertain"  # the call may have reached the provider (timeout): never resent automatically
    ACCEPTED = "accepted"  # the provider accepted it and gave its message id
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class OutboxRecord(BaseModel):
    """A row of ``outbox``: one logical message, unique by (tenant_id, idempotency_key)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    idempotency_key: str
    purpose: str
    category: str
    to_phone: str
    message_json: str  # the OutboundMessage as submitted
    status: OutboxStatus
    reason: str | None = None
    due_at: datetime
    attempts: int = 0
    provider: str | None = None
    provider_message_id: str | None = None
    recipient_id: str | None = None
    error_code: str | None = None
    error_title: str | None = None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    # The message's campaign correlation (queryable columns; ``purpose`` is the third key).
    campaign_id: str | None = None
    variant: str | None = None


class OutboxCount(BaseModel):
    """How many outbox rows share (purpose, campaign, variant, status)."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    campaign_id: str | None
    variant: str | None
    status: OutboxStatus
    count: int

    def __repr__(self) -> str:
        return fields_repr(self, "purpose", "to_phone", "status", "reason", "due_at")

    __str__ = __repr__


class ConsentCacheRecord(BaseModel):
    """A row of ``consents``: the local copy of an İYS consent (İYS is the system of record)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    brand_code: str
    recipient: str  # +905XXXXXXXXX or e-mail
    type: str = "MESAJ"
    recipient_type: str = "BIREYSEL"
    status: str  # ONAY | RET
    source: str | None = None
    consent_date: datetime | None = None
    creation_date: datetime | None = None
    transaction_id: str | None = None
    origin: str = "iys_query"  # iys_query | iys_changes | local
    synced_at: datetime
    updated_at: datetime


class MessagingContact(BaseModel):
    """A row of ``messaging_contacts``: per-recipient messaging state of one tenant."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    phone: str  # E.164
    wa_id: str | None = None
    last_inbound_at: datetime | None = None
    opted_out_at: datetime | None = None
    opt_out_keyword: str | None = None
    ctwa_clid: str | None = None
    ctwa_at: datetime | None = None
    referral_json: str | None = None
    opt_changed_at: datetime | None = None  # when the opt-out state last changed (set or cleared)
    updated_at: datetime


# --- appointments (issue 8) ------------------------------------------------------------------
__all__ += [
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
# The clinic aggregates: appointments, doctors, service prices, the waitlist and its offers.
# `invekto_integrations.appointments.models` re-exports them (they live here so the storage
# layer does not import a domain package).


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


# --- calendar sync (issue 8) ------------------------------------------------------------------
class CalendarSyncState(BaseModel):
    """Where the two-way sync of one (tenant, calendar) got to: the provider's incremental-sync
    token (``None`` until the first full sync, and again after a 410)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    calendar_id: str
    doctor_id: str
    provider: str = "google_calendar"
    sync_token: str | None = None
    last_full_sync_at: datetime | None = None
    last_sync_at: datetime | None = None
    full_syncs: int = 0
    updated_at: datetime


class CalendarChannel(BaseModel):
    """A push-notification channel we opened on a calendar. The channel token is kept only as a
    SHA-256 hash (compared in constant time); ``last_message_number`` drops repeats."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    calendar_id: str
    channel_id: str
    resource_id: str
    address: str
    token_sha256: str
    expiration: datetime | None = None
    last_message_number: int = 0
    created_at: datetime
    stopped_at: datetime | None = None


class CalendarBusyBlock(BaseModel):
    """Busy time from an event that is not one of our appointments (the doctor's own entry in the
    calendar), mirrored by the sync. No title or description is kept (patient data stays out)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    calendar_id: str
    event_id: str
    starts_at: datetime
    ends_at: datetime
    all_day: bool = False
    etag: str | None = None
    updated: datetime | None = None


class CalendarConflict(BaseModel):
    """A change made on both sides (or refused by one): what happened and which side won."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    calendar_id: str
    event_id: str | None
    appointment_id: str | None
    kind: str  # moved | cancelled | precondition_failed | slot_taken | unsupported | forbidden
    resolution: str  # calendar_wins | clinic_wins | manual
    detail: str = ""
    local_version: int | None = None
    google_updated: datetime | None = None
    created_at: datetime
    # A manual conflict settled by a human (`CalendarSync.resolve_conflict`): when, and who won.
    resolved_at: datetime | None = None
    resolved_as: str | None = None  # calendar_wins | clinic_wins


__all__ += ["CalendarBusyBlock", "CalendarChannel", "CalendarConflict", "CalendarSyncState"]


# --- messaging: early status webhooks (issue 7 follow-up) -------------------------------------
class PendingStatusRecord(BaseModel):
    """A row of ``pending_statuses``: a provider status webhook that arrived before the send had
    stored the provider's message id (kept until that id is recorded, then applied and deleted)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    provider: str
    provider_message_id: str
    status: str  # sent | delivered | read | failed
    update_json: str  # the parsed StatusUpdate, as received
    received_at: datetime


__all__ += ["PendingStatusRecord"]
