"""Meta Graph / Marketing API bodies, field names exactly as sent (extra fields allowed)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "WireAd",
    "WireAdAccount",
    "WireCursors",
    "WireDataset",
    "WireError",
    "WireErrorBody",
    "WireEventsResponse",
    "WireInsightsPage",
    "WireInsightsRow",
    "WireNamed",
    "WirePaging",
    "WireReportRun",
    "WireReportRunStarted",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class WireError(_Wire):
    message: str | None = None
    type: str | None = None
    code: int | str | None = None
    error_subcode: int | str | None = None
    fbtrace_id: str | None = None
    is_transient: bool | None = None
    error_user_msg: str | None = None


class WireErrorBody(_Wire):
    error: WireError


class WireAdAccount(_Wire):
    id: str
    name: str | None = None
    currency: str | None = None
    timezone_name: str | None = None


class WireNamed(_Wire):
    id: str | None = None
    name: str | None = None


class WireAd(_Wire):
    id: str
    name: str | None = None
    adset_id: str | None = None
    campaign_id: str | None = None
    account_id: str | None = None
    adset: WireNamed | None = None
    campaign: WireNamed | None = None


class WireCursors(_Wire):
    before: str | None = None
    after: str | None = None


class WirePaging(_Wire):
    cursors: WireCursors | None = None
    next: str | None = None
    previous: str | None = None


class WireInsightsRow(_Wire):
    date_start: str
    date_stop: str
    spend: str | None = None
    account_currency: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None
    impressions: str | None = None
    clicks: str | None = None
    actions: list[dict[str, Any]] | None = None


class WireInsightsPage(_Wire):
    data: list[dict[str, Any]]
    paging: WirePaging | None = None


class WireReportRunStarted(_Wire):
    report_run_id: str


class WireReportRun(_Wire):
    id: str
    async_status: str
    async_percent_completion: int | None = None


class WireEventsResponse(_Wire):
    events_received: int
    messages: list[Any] | None = None
    fbtrace_id: str | None = None


class WireDataset(_Wire):
    id: str
