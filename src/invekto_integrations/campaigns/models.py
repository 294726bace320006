"""Campaign records: the campaign, its trigger, variants, recipients and conversions.

Stored by the `CampaignRepository` family (`campaigns.repository`), in memory and on SQLite, with
the seed's ``outbound_campaigns`` / ``outbound_conversions`` columns plus the variant and recipient
tables the engine needs. Every record carries ``tenant_id``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invekto_integrations.core.money import DecimalAmount
from invekto_integrations.messaging.base import MessageCategory

from .audience import Criterion, Everyone

__all__ = [
    "ABSettings",
    "Campaign",
    "CampaignStatus",
    "Conversion",
    "ConversionType",
    "EventTrigger",
    "OneShotTrigger",
    "Recipient",
    "RecipientStatus",
    "RecurringTrigger",
    "Trigger",
    "Variant",
    "WinnerDecision",
]


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


class OneShotTrigger(BaseModel):
    """Send once, at ``at`` (aware)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["one_shot"] = "one_shot"
    at: datetime

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("one_shot.at must be timezone-aware")
        return v


class RecurringTrigger(BaseModel):
    """Send on a calendar rule in the tenant's timezone (``timezone`` overrides it).

    Either ``cron`` (5 fields, croniter) or ``frequency`` + ``at`` (+ ``weekdays`` for weekly,
    ``month_day`` for monthly; dateutil.rrule). Occurrences are wall-clock times in the zone, so
    "every Monday 10:00" stays 10:00 across a DST change; a time that does not exist that day
    (spring-forward gap) moves forward by the gap, an ambiguous one takes its first instant.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["recurring"] = "recurring"
    cron: str | None = None
    frequency: Literal["daily", "weekly", "monthly"] | None = None
    at: str = "10:00"  # HH:MM local
    weekdays: list[int] = Field(default_factory=list)  # 0 = Monday
    month_day: int | None = Field(default=None, ge=1, le=31)
    timezone: str | None = None
    starts_at: datetime | None = None
    until: datetime | None = None
    max_occurrences: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_rule(self) -> RecurringTrigger:
        if (self.cron is None) == (self.frequency is None):
            raise ValueError("recurring: give exactly one of cron or frequency")
        hh, _, mm = self.at.partition(":")
        if not (hh.isdigit() and mm.isdigit() and 0 <= int(hh) < 24 and 0 <= int(mm) < 60):
            raise ValueError(f"recurring.at must be HH:MM, got {self.at!r}")
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError("recurring.weekdays are 0 (Monday) .. 6 (Sunday)")
        return self


class EventTrigger(BaseModel):
    """Send ``delay`` after an event about a customer: an order delivered (the review request
    at T+48h) or an appointment cancelled (the rebooking offer at T+2h). Each event enters its
    customer at most once."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["event"] = "event"
    event: Literal["order_delivered", "appointment_cancelled", "appointment_completed"]
    delay: timedelta = timedelta(hours=48)


Trigger = Annotated[OneShotTrigger | RecurringTrigger | EventTrigger, Field(discriminator="type")]


class Variant(BaseModel):
    """One version of the message: an approved template and how its parameters are filled.

    ``body_params`` names personalization variables (``name``, ``last_product``, ``ai_line``, ...)
    or literal text in quotes (``'"%10"'``); see `campaigns.personalize`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    weight: Decimal = Field(default=Decimal(1), gt=0)
    template_name: str = Field(min_length=1)
    language: str = "tr"
    body_params: list[str] = Field(default_factory=list)
    # When the recipient wrote within 24 hours, send the personalized text instead of the template.
    free_text_in_window: str | None = None


class ABSettings(BaseModel):
    """How variants are compared. ``metric`` is what a conversion means for the test; the
    fixed-horizon rule decides once, after each variant reached ``min_per_variant`` recipients
    and the conversion window closed (never earlier, so peeking cannot make a false winner)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    holdout: Decimal = Field(default=Decimal(0), ge=0, lt=1)
    metric: Literal["reply", "purchase", "appointment", "any"] = "purchase"
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    power: float = Field(default=0.8, gt=0.5, lt=1)
    baseline_rate: float | None = Field(default=None, gt=0, lt=1)
    minimum_detectable_effect: float | None = Field(default=None, gt=0, lt=1)  # absolute lift
    # The share of the audience that takes part in the test; the rest waits for the winner.
    # None: everyone gets a variant and no winner is rolled out.
    test_fraction: Decimal | None = Field(default=None, gt=0, le=1)
    auto_winner: bool = False


class WinnerDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    decided_at: datetime
    winner: str | None  # None: no significant difference (the control gets the rest)
    rolled_out: str  # the variant the rest of the audience receives
    p_value: float | None
    reason: str


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    name: str = Field(min_length=1)
    trigger: Trigger
    audience: Criterion = Field(default_factory=Everyone)
    variants: list[Variant] = Field(min_length=1)
    ab: ABSettings = Field(default_factory=ABSettings)
    category: MessageCategory = MessageCategory.MARKETING
    conversion_window: timedelta = timedelta(days=7)
    status: CampaignStatus = CampaignStatus.DRAFT
    stats: dict[str, Any] = Field(default_factory=dict)
    winner: WinnerDecision | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _variants(self) -> Campaign:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        if "holdout" in names:
            raise ValueError("'holdout' is reserved")
        return self

    @property
    def trigger_type(self) -> str:
        return self.trigger.type

    @property
    def template_id(self) -> str:
        return self.variants[0].template_name

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)


class RecipientStatus(StrEnum):
    ENTERED = "entered"  # claimed for this occurrence, not submitted yet
    HOLDOUT = "holdout"  # in the control group: gets nothing
    WAITING = "waiting"  # outside the test fraction: waits for the winner
    SUBMITTED = "submitted"  # handed to the send pipeline
    REFUSED = "refused"  # the pipeline refused it (consent, opt-out, cap): reason says which
    FAILED = "failed"
    SKIPPED = "skipped"  # no longer in the audience, or campaign cancelled


HOLDOUT = "holdout"


class Recipient(BaseModel):
    """One customer entered into one occurrence of a campaign (unique per occurrence)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    campaign_id: str
    occurrence: str  # "once", a local ISO instant for recurring ones, "evt:<event id>" for event triggers
    phone: str
    variant: str  # a variant name or "holdout"
    status: RecipientStatus
    reason: str | None = None
    message_id: str | None = None  # the outbox row
    delivery: str | None = None  # latest delivery status from the pipeline (accepted, sent, delivered, read, failed)
    entered_at: datetime
    submitted_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    updated_at: datetime


class ConversionType(StrEnum):
    REPLY = "reply"
    PURCHASE = "purchase"
    APPOINTMENT = "appointment"


class Conversion(BaseModel):
    """A reply, purchase or appointment credited to the campaign message before it (seed table
    ``outbound_conversions``, plus the variant, phone and the source fact it came from)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    message_id: str | None  # None for a holdout recipient (no message was sent)
    campaign_id: str
    variant: str
    occurrence: str
    phone: str
    conversion_type: ConversionType
    value_amount: DecimalAmount = Decimal(0)
    currency: str = "TRY"
    source_ref: str  # what converted (order, appointment, inbound message); unique per tenant and type
    occurred_at: datetime
    created_at: datetime
