"""Meta Graph error codes → the typed errors, and Graph wire rows → the unified ads types.

Codes (Meta's Graph/Marketing API error pages; the throttling list is partly unverified, see
docs/attribution.md): each `MetaErrorKind` member lists the raw codes it covers. A code decides
before the HTTP status, because Graph answers throttling with HTTP 400 as often as with 429.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from invekto_integrations.core.errors import (
    AuthenticationError,
    InvalidParameter,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from invekto_integrations.core.money import to_decimal
from invekto_integrations.models.ads import AdInfo, AdsLevel, InsightsRow

from .wire import WireAd, WireInsightsRow

__all__ = ["PROVIDER", "MetaErrorKind", "ad_info", "error_from_meta", "insights_row", "usage_retry_after"]

PROVIDER = "meta"
# Graph code 100 with this subcode: "object does not exist, cannot be loaded due to missing
# permissions, or does not support this operation".
_UNKNOWN_OBJECT_SUBCODE = 33
# The business-messaging allowlist refusal ("Messaging Event Invalid Event Type").
INVALID_EVENT_TYPE_SUBCODE = 2804066


class MetaErrorKind(Enum):
    """Graph error codes by what the connector does about them."""

    AUTH = (102, 190, 463, 467)
    PERMISSION = (3, 10, *range(200, 300))
    THROTTLED = (4, 17, 32, 341, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014)
    TRANSIENT = (1, 2)
    INVALID = (100, 803, 1487534)

    @classmethod
    def of(cls, code: int | None) -> MetaErrorKind | None:
        if code is None:
            return None
        for kind in cls:
            if code in kind.value:
                return kind
        return None


def _int(v: int | str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def usage_retry_after(header: str | None) -> float | None:
    """Seconds to wait from ``X-Business-Use-Case-Usage`` (``estimated_time_to_regain_access``, in
    minutes, per business and use case); ``None`` when absent or unreadable."""
    if not header:
        return None
    try:
        body = json.loads(header)
    except ValueError:
        return None
    minutes = [item.get("estimated_time_to_regain_access") for items in (body.values() if isinstance(body, dict)
               else []) if isinstance(items, list) for item in items if isinstance(item, dict)]
    values = [float(m) for m in minutes if isinstance(m, int | float) and m > 0]
    return max(values) * 60 if values else None


def error_from_meta(*, http_status: int, code: int | str | None, subcode: int | str | None, message: str,
                    operation: str, request_id: str | None, retry_after: float | None = None,
                    record: str | None = None) -> ProviderError:
    """The typed error of a Graph error body; ``code`` is ``"<code>"`` or ``"<code>/<subcode>"``."""
    numeric, sub = _int(code), _int(subcode)
    kind = MetaErrorKind.of(numeric)
    text_code = None if code is None else (f"{code}/{subcode}" if subcode is not None else str(code))
    if record:
        message = f"{message} ({record})"
    kw: dict[str, Any] = {"provider": PROVIDER, "operation": operation, "status": http_status, "code": text_code,
                          "request_id": request_id}
    if kind is MetaErrorKind.THROTTLED or (kind is None and http_status == 429):
        return RateLimited(message, retry_after=retry_after, **kw)
    if kind is MetaErrorKind.AUTH or (kind is None and http_status == 401):
        return AuthenticationError(message, **kw)
    if kind is MetaErrorKind.PERMISSION or (kind is None and http_status == 403):
        return PermissionDenied(message, **kw)
    if kind is MetaErrorKind.TRANSIENT or (kind is None and http_status >= 500):
        kw["status"] = http_status if http_status >= 500 else 503  # transient like a 5xx
        return ProviderUnavailable(message, **kw)
    if (numeric == 100 and sub == _UNKNOWN_OBJECT_SUBCODE) or (kind is None and http_status == 404):
        return NotFound(message, **kw)
    if kind is MetaErrorKind.INVALID:
        return InvalidParameter(message, **kw)
    return InvalidRequest(message, **kw)


def ad_info(w: WireAd) -> AdInfo:
    return AdInfo(ad_id=w.id, ad_name=w.name, adset_id=w.adset_id or (w.adset.id if w.adset else None),
                  adset_name=w.adset.name if w.adset else None,
                  campaign_id=w.campaign_id or (w.campaign.id if w.campaign else None),
                  campaign_name=w.campaign.name if w.campaign else None, account_id=w.account_id)


def _count(v: str | None) -> int | None:
    return int(v) if v else None


def insights_row(raw: dict[str, Any], level: AdsLevel) -> InsightsRow:
    """One Insights row; metric values arrive as strings (``"5339.5"``) and become Decimal/int."""
    w = WireInsightsRow.model_validate(raw)
    actions: dict[str, Decimal] = {}
    for a in w.actions or []:
        if "action_type" in a and "value" in a:
            actions[str(a["action_type"])] = to_decimal(a["value"])
    return InsightsRow(level=level, date_start=date.fromisoformat(w.date_start),
                       date_stop=date.fromisoformat(w.date_stop),
                       spend=to_decimal(w.spend) if w.spend not in (None, "") else Decimal(0),
                       currency=w.account_currency, campaign_id=w.campaign_id, campaign_name=w.campaign_name,
                       adset_id=w.adset_id, adset_name=w.adset_name, ad_id=w.ad_id, ad_name=w.ad_name,
                       impressions=_count(w.impressions), clicks=_count(w.clicks), actions=actions)
