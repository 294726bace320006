"""Attribution records: tracked links and clicks, touches, leads, conversions, ad spend, tag rules,
the ad-lookup cache and Conversions API deliveries. Every record carries its ``tenant_id``.

Times are aware UTC datetimes; money is `Decimal` with a currency (TRY by default). A person is
identified by a *contact key*: the E.164 phone when the WhatsApp id parses as one, else
``wa:<wa_id>`` (Meta may send ids that are not valid numbers; see `contact_key`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from invekto_integrations.core.ids import new_id
from invekto_integrations.core.phone import try_normalize_phone

from .ads import AdsLevel

__all__ = [
    "AdCacheEntry",
    "AdRef",
    "CapiDelivery",
    "CapiStatus",
    "Channel",
    "Conversion",
    "ConversionKind",
    "ConversionOrigin",
    "Lead",
    "LinkClick",
    "SpendEntry",
    "SpendOrigin",
    "TagRule",
    "Touch",
    "TrackedLink",
    "Utm",
    "contact_key",
]


def contact_key(raw: str, region: str = "TR") -> str:
    """``905321234567`` / ``+90 532 ...`` → ``+905321234567``; an unparseable WhatsApp id → ``wa:<id>``."""
    text = raw.strip()
    if text.startswith("wa:"):
        return text
    # A WhatsApp id is the number with its country code and no plus; a local "0532..." is not.
    candidates = ["+" + text, text] if text.isdigit() and not text.startswith("0") else [text]
    for candidate in candidates:
        phone = try_normalize_phone(candidate, region)
        if phone is not None:
            return phone
    return f"wa:{text}"


class Channel(StrEnum):
    """Where a touch (and so a lead) came from."""

    CTWA = "ctwa"          # a Click-to-WhatsApp ad or boosted post (referral on the first message)
    LINK = "link"          # one of our tracked wa.me links (reference code in the first message)
    ORGANIC = "organic"    # wrote on their own
    OTHER = "other"        # a channel the tenant configured (e.g. "google", "instagram-bio")


class AdRef(BaseModel):
    """Campaign → ad set → ad, ids and names (any may be unknown)."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str | None = None
    campaign_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None


class Utm(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None
    term: str | None = None

    def query(self) -> dict[str, str]:
        return {f"utm_{k}": v for k, v in self.model_dump().items() if v}


class TrackedLink(BaseModel):
    """A link for a campaign: our redirect ``/r/{code}`` ends at ``wa.me/<number>?text=...``."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    link_id: str = Field(default_factory=new_id)
    code: str
    wa_number: str  # digits with country code, no plus (wa.me's form)
    text: str       # the prefilled text; carries the code
    utm: Utm = Field(default_factory=Utm)
    ad: AdRef = Field(default_factory=AdRef)
    channel_name: str | None = None
    created_at: datetime

    @property
    def wa_url(self) -> str:
        return f"https://wa.me/{self.wa_number}?text={quote(self.text, safe='')}"


class LinkClick(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    click_id: str = Field(default_factory=new_id)
    code: str
    at: datetime
    fbclid: str | None = None
    gclid: str | None = None
    user_agent: str | None = None


class Touch(BaseModel):
    """One attributable contact moment: a CTWA referral, a tracked-link message, an organic first message."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    touch_id: str = Field(default_factory=new_id)
    contact: str
    at: datetime
    channel: Channel
    ad: AdRef = Field(default_factory=AdRef)
    utm: Utm = Field(default_factory=Utm)
    link_code: str | None = None
    channel_name: str | None = None
    ctwa_clid: str | None = None
    source_type: str | None = None
    source_id: str | None = None
    source_url: str | None = None
    headline: str | None = None
    referral: dict[str, Any] | None = None
    message_id: str | None = None


class Lead(BaseModel):
    """A person's first contact within a tenant (within the re-engagement window), with its source."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    lead_id: str = Field(default_factory=new_id)
    contact: str
    created_at: datetime
    last_touch_at: datetime
    first_touch_id: str
    channel: Channel
    ad: AdRef = Field(default_factory=AdRef)
    utm: Utm = Field(default_factory=Utm)
    link_code: str | None = None
    channel_name: str | None = None
    ctwa_clid: str | None = None
    source_type: str | None = None
    source_id: str | None = None
    headline: str | None = None
    labels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    tag_explanation: tuple[str, ...] = ()


class ConversionKind(StrEnum):
    PURCHASE = "purchase"
    APPOINTMENT = "appointment"
    REPLY = "reply"
    LEAD_SUBMITTED = "lead_submitted"


class ConversionOrigin(StrEnum):
    DETECTED = "detected"              # our engine saw it (order, appointment, reply)
    META_AUTOMATIC = "meta_automatic"  # Meta's automatic_events webhook


class Conversion(BaseModel):
    """A conversion, detected once. ``source_key`` is its natural key (``order:trendyol:A1:10234``);
    ``counted`` is false for a Meta-detected duplicate of one we detected (``duplicate_of``)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    conversion_id: str = Field(default_factory=new_id)
    source_key: str
    contact: str | None
    kind: ConversionKind
    occurred_at: datetime
    value: Decimal | None = None
    currency: str = "TRY"
    origin: ConversionOrigin = ConversionOrigin.DETECTED
    lead_id: str | None = None
    ctwa_clid: str | None = None
    counted: bool = True
    duplicate_of: str | None = None

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        if len(v) != 3 or not v.isalpha():
            raise ValueError(f"currency must be a 3-letter ISO code, got {v!r}")
        return v.upper()


class SpendOrigin(StrEnum):
    MANUAL = "manual"
    INSIGHTS = "insights"


class SpendEntry(BaseModel):
    """Spend of one campaign / ad set / ad on one day (the ad account's day)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    day: date
    level: AdsLevel
    campaign_id: str
    campaign_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None
    amount: Decimal
    currency: str = "TRY"
    origin: SpendOrigin = SpendOrigin.MANUAL

    @property
    def object_id(self) -> str:
        """The id of the object at ``level`` (the entry's key with ``day`` and ``origin``)."""
        if self.level is AdsLevel.AD:
            return self.ad_id or ""
        if self.level is AdsLevel.ADSET:
            return self.adset_id or ""
        return self.campaign_id


class TagRule(BaseModel):
    """``field op value`` → labels and segments. Fields: ``utm_source`` ... ``utm_term``,
    ``campaign_name``, ``adset_name``, ``ad_name``, ``campaign_id``, ``adset_id``, ``ad_id``,
    ``channel``, ``channel_name``, ``link_code``, ``source_type``, ``source_url``, ``headline``,
    ``referral_body``. Ops: ``equals``, ``contains``, ``starts_with``, ``regex`` (case-insensitive,
    Turkish-aware folding). Lower ``priority`` runs first; ``rule_id`` breaks ties."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    rule_id: str = Field(default_factory=new_id)
    name: str
    field: str
    op: str
    value: str
    labels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    priority: int = 100
    stop: bool = False  # no later rule applies once this one fired
    enabled: bool = True
    version: int = 1


class AdCacheEntry(BaseModel):
    """A resolved (or unreadable) ad id, cached per tenant: ads never change owner."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    ad_id: str
    ad: AdRef
    readable: bool
    error_code: str | None = None
    fetched_at: datetime


class CapiStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"              # a permanent error (code 100, bad event): not retried automatically
    SKIPPED_CONSENT = "skipped_consent"
    PENDING = "pending"            # a transient failure: retried on the next run


class CapiDelivery(BaseModel):
    """What happened to one Conversions API event (keyed by its ``event_id``)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    event_id: str
    event_name: str
    subject_id: str  # the conversion or lead it reports
    status: CapiStatus
    attempts: int = 0
    updated_at: datetime
    last_error: str | None = None
    fbtrace_id: str | None = None


# --- what the stores aggregate for the reports -----------------------------------------------
class AttributionModel(StrEnum):
    """How a conversion's credit is split over the touches in its lookback window."""

    LAST_TOUCH = "last_touch"
    FIRST_TOUCH = "first_touch"
    LINEAR = "linear"
    TIME_DECAY = "time_decay"          # weight 2^(-age / half_life), normalized
    POSITION_BASED = "position_based"  # 40 % first, 40 % last, 20 % shared by the middle


class SourceKey(BaseModel):
    """The group a report row is about: a channel and, for ads and links, campaign/ad set/ad."""

    model_config = ConfigDict(frozen=True)

    channel: str  # a `Channel` value, or "unattributed" for conversions with no touch in the window
    channel_name: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None


class CreditRow(BaseModel):
    """Credited conversions and revenue of one source under one model (fractions for split models)."""

    model_config = ConfigDict(frozen=True)

    source: SourceKey
    conversions: Decimal
    revenue: Decimal


class LeadCountRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: SourceKey
    leads: int


class SpendTotalRow(BaseModel):
    """Spend of one object (at its own level) after "manual wins" was applied."""

    model_config = ConfigDict(frozen=True)

    level: AdsLevel
    campaign_id: str
    campaign_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None
    amount: Decimal


__all__ += ["AttributionModel", "CreditRow", "LeadCountRow", "SourceKey", "SpendTotalRow"]


def credit_weights(model: AttributionModel, ages: Sequence[timedelta], half_life: timedelta) -> list[float]:
    """The share of each touch (oldest first, ``ages`` = conversion time - touch time); sums to 1.

    The reference for every store (the SQLite store computes the same in SQL).
    """
    n = len(ages)
    if n == 0:
        return []
    if model is AttributionModel.LAST_TOUCH:
        return [1.0 if i == n - 1 else 0.0 for i in range(n)]
    if model is AttributionModel.FIRST_TOUCH:
        return [1.0 if i == 0 else 0.0 for i in range(n)]
    if model is AttributionModel.LINEAR:
        return [1.0 / n] * n
    if model is AttributionModel.POSITION_BASED:
        if n == 1:
            return [1.0]
        if n == 2:
            return [0.5, 0.5]
        return [0.4 if i in (0, n - 1) else 0.2 / (n - 2) for i in range(n)]
    raw = [decay_weight(a.total_seconds(), half_life.total_seconds()) for a in ages]
    total = sum(raw)
    return [w / total for w in raw]


def decay_weight(age_seconds: float, half_life_seconds: float) -> float:
    """``2 ** (-age / half_life)``: a touch one half-life older counts half as much."""
    return float(2.0 ** (-max(0.0, age_seconds) / half_life_seconds))


__all__ += ["credit_weights", "decay_weight"]
