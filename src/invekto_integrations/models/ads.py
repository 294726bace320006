"""Unified ads types: what an ads provider (Meta's Graph/Marketing API) answers, provider-neutral.

Provider ids stay strings as sent; spend is a `Decimal` in the ad account's currency.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AdAccount",
    "AdInfo",
    "AdsLevel",
    "AutomaticEvent",
    "ConversionEvent",
    "ConversionsResult",
    "InsightsRow",
    "ReportRun",
    "ReportRunStatus",
]


class AdsLevel(StrEnum):
    """The level of an Insights row or a spend entry."""

    CAMPAIGN = "campaign"
    ADSET = "adset"
    AD = "ad"


class AdAccount(BaseModel):
    """An ad account the token can read (``act_...``), with the currency and time zone its spend
    and days are in."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None


class AdInfo(BaseModel):
    """An ad with its ad set and campaign (ids and names as the ads API returns them)."""

    model_config = ConfigDict(frozen=True)

    ad_id: str
    ad_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    account_id: str | None = None


class InsightsRow(BaseModel):
    """One Insights row: spend of one object on one day (``date_start`` == ``date_stop`` per day)."""

    model_config = ConfigDict(frozen=True)

    level: AdsLevel
    date_start: date
    date_stop: date
    spend: Decimal
    currency: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None
    impressions: int | None = None
    clicks: int | None = None
    actions: dict[str, Decimal] = Field(default_factory=dict)


class ReportRunStatus(StrEnum):
    """``async_status`` of an async Insights report run, as sent."""

    NOT_STARTED = "Job Not Started"
    STARTED = "Job Started"
    RUNNING = "Job Running"
    COMPLETED = "Job Completed"
    FAILED = "Job Failed"
    SKIPPED = "Job Skipped"

    @property
    def finished(self) -> bool:
        return self in (ReportRunStatus.COMPLETED, ReportRunStatus.FAILED, ReportRunStatus.SKIPPED)

    @classmethod
    def parse(cls, raw: str) -> ReportRunStatus:
        """The documented strings; an undocumented one is read by its words (failed / completed /
        still running), so a new wording neither crashes a pull nor ends it early."""
        try:
            return cls(raw)
        except ValueError:
            low = raw.lower()
            if "fail" in low:
                return cls.FAILED
            if "complet" in low:
                return cls.COMPLETED
            return cls.RUNNING


class ReportRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    status: ReportRunStatus
    percent: int = 0


class ConversionEvent(BaseModel):
    """One Conversions API event for business messaging (``action_source`` business_messaging).

    ``user_data`` values are already hashed where Meta requires it (``ph``, ``em``); ``ctwa_clid``
    and ``whatsapp_business_account_id`` go in clear.
    """

    model_config = ConfigDict(frozen=True)

    event_name: str
    event_time: datetime
    event_id: str
    messaging_channel: str = "whatsapp"
    ctwa_clid: str | None = None
    whatsapp_business_account_id: str | None = None
    hashed_phones: tuple[str, ...] = ()
    value: Decimal | None = None
    currency: str | None = None
    custom_data: dict[str, Any] = Field(default_factory=dict)


class ConversionsResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    events_received: int
    messages: tuple[str, ...] = ()
    fbtrace_id: str | None = None


class AutomaticEvent(BaseModel):
    """A conversion Meta detected in a Click-to-WhatsApp chat (``automatic_events`` webhook)."""

    model_config = ConfigDict(frozen=True)

    waba_id: str | None = None
    message_id: str
    event_name: str
    occurred_at: datetime
    ctwa_clid: str | None = None
    value: Decimal | None = None
    currency: str | None = None
