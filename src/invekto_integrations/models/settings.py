"""Per-tenant settings and the rule types they are made of (quiet hours, frequency caps, consent).

`TenantSettings` is one persisted record per tenant that every engine reads (timezone, locale,
niche, quiet hours, frequency caps, consent policy, opt-out keywords, message costs) instead of
per-engine ``configure`` dicts or the literal "Europe/Istanbul". The defaults are the safe
Turkish reading: Europe/Istanbul, tr-TR, quiet 21:00–09:00, three marketing messages per
recipient per rolling week, İYS consent required for marketing. The repository lives in
``storage.settings``; ``invekto_integrations.settings`` is the public front.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from invekto_integrations.core.money import Money

from .consent import ConsentType, MessageCategory, RecipientType

__all__ = [
    "DEFAULT_TIMEZONE",
    "ConsentPolicy",
    "FrequencyCap",
    "Niche",
    "QuietHours",
    "QuietHoursWindow",
    "TenantSettings",
]

DEFAULT_TIMEZONE = "Europe/Istanbul"


class QuietHours(BaseModel):
    """``start``–``end`` local time (may wrap midnight, the default 21:00–09:00) in ``timezone``."""

    model_config = ConfigDict(frozen=True)

    start: time = time(21, 0)
    end: time = time(9, 0)
    timezone: str = DEFAULT_TIMEZONE
    enabled: bool = True

    def is_quiet(self, when: datetime) -> bool:
        if not self.enabled or self.start == self.end:
            return False
        local = when.astimezone(ZoneInfo(self.timezone)).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, when: datetime) -> datetime:
        """``when`` itself if it is outside quiet hours, else the moment quiet hours end."""
        if not self.is_quiet(when):
            return when
        tz = ZoneInfo(self.timezone)
        local = when.astimezone(tz)
        end_today = datetime.combine(local.date(), self.end, tzinfo=tz)
        allowed = end_today if end_today > local else datetime.combine(local.date() + timedelta(days=1), self.end,
                                                                       tzinfo=tz)
        return allowed.astimezone(when.tzinfo)


class FrequencyCap(BaseModel):
    """At most ``max_messages`` of ``categories`` to one recipient per rolling ``per``."""

    model_config = ConfigDict(frozen=True)

    max_messages: int = 3
    per: timedelta = timedelta(days=7)
    categories: frozenset[MessageCategory] = frozenset({MessageCategory.MARKETING})


class ConsentPolicy(BaseModel):
    """One tenant's consent rules; every default is the fact sheet's safe reading."""

    model_config = ConfigDict(frozen=True)

    commercial_categories: frozenset[MessageCategory] = frozenset({MessageCategory.MARKETING})
    require_iys: bool = True  # False if counsel decides WhatsApp marketing is outside İYS (opt-outs still apply)
    consent_type: ConsentType = ConsentType.MESAJ
    default_recipient_type: RecipientType = RecipientType.BIREYSEL
    tacir_requires_consent: bool = False  # merchants need no prior opt-in, but their RET is honoured
    cache_ttl: timedelta = timedelta(hours=24)  # an ONAY older than this is re-checked with İYS
    query_on_miss: bool = True
    opt_out_keywords: tuple[str, ...] = ("DUR", "İPTAL", "STOP", "RET", "ABONELİK İPTAL", "ÇIK")
    opt_out_blocks_transactional: bool = False
    register_opt_out_in_iys: bool = False  # upload a RET to İYS when a chat opt-out arrives
    opt_out_iys_source: str = "HS_MESAJ"  # mapping a WhatsApp opt-out to an İYS source is unverified

    def is_commercial(self, category: MessageCategory) -> bool:
        return category in self.commercial_categories


class Niche(StrEnum):
    """What the tenant sells: decides default templates, dashboards and which engines matter."""

    ECOMMERCE = "ecommerce"
    DENTAL = "dental"
    AESTHETIC = "aesthetic"


class QuietHoursWindow(BaseModel):
    """Local ``start``–``end`` (may wrap midnight) in the tenant's timezone; no message is sent inside."""

    model_config = ConfigDict(frozen=True)

    start: time = time(21, 0)
    end: time = time(9, 0)
    enabled: bool = True


class TenantSettings(BaseModel):
    """One tenant's settings. ``consent.opt_out_keywords`` is replaced by ``opt_out_keywords``
    (one place to edit them): read the effective policy through `consent_policy`."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str = Field(min_length=1)
    timezone: str = DEFAULT_TIMEZONE
    locale: str = "tr-TR"
    niche: Niche = Niche.ECOMMERCE
    quiet_hours: QuietHoursWindow = QuietHoursWindow()
    frequency_caps: tuple[FrequencyCap, ...] = (FrequencyCap(),)
    consent: ConsentPolicy = ConsentPolicy()
    opt_out_keywords: tuple[str, ...] = ConsentPolicy().opt_out_keywords
    # What one message of a category costs the tenant (provider pricing); unknown when absent.
    message_costs: dict[MessageCategory, Money] = Field(default_factory=dict)
    updated_at: datetime | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {v!r}") from None
        return v

    @field_validator("opt_out_keywords")
    @classmethod
    def _keywords(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(k.strip() for k in v if k.strip()))
        return cleaned

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def quiet_hours_rule(self) -> QuietHours:
        """The quiet hours as the send pipeline applies them (in the tenant's timezone)."""
        q = self.quiet_hours
        return QuietHours(start=q.start, end=q.end, timezone=self.timezone, enabled=q.enabled)

    def consent_policy(self) -> ConsentPolicy:
        return self.consent.model_copy(update={"opt_out_keywords": self.opt_out_keywords})

    def message_cost(self, category: MessageCategory | str) -> Money | None:
        return self.message_costs.get(MessageCategory(category))
