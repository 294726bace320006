"""Reports (3.14.3, 3.14.7): leads per campaign over a date range in the tenant's timezone, and
the funnel campaign → ad set → ad → leads → conversions with revenue, CPL, cost per conversion and
ROAS under any attribution model (last touch by default) with a lookback window.

The stores aggregate (the SQLite store in SQL): this module only rolls their grouped rows up to
the three levels and computes the ratios. Rows are typed; ``to_pandas()`` needs the optional
``pandas`` extra (``pip install invekto-integrations[pandas]``).
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from invekto_integrations.core.errors import ConfigurationError, InvalidArgument
from invekto_integrations.models.ads import AdsLevel
from invekto_integrations.models.attribution import AttributionModel, ConversionKind, SourceKey
from invekto_integrations.storage.settings import tenant_settings

from ._store import AttributionStore

__all__ = [
    "DEFAULT_LOOKBACK",
    "FunnelReport",
    "FunnelRow",
    "LeadsPerCampaignReport",
    "LeadsPerCampaignRow",
    "funnel",
    "leads_per_campaign",
    "local_bounds",
    "tenant_zone",
]

DEFAULT_LOOKBACK = timedelta(days=7)  # Meta's CTWA click window (docs/attribution.md)
DEFAULT_HALF_LIFE = timedelta(days=7)
_CENT = Decimal("0.01")


def tenant_zone(store: AttributionStore, tenant_id: str, tz: str | ZoneInfo | None = None) -> ZoneInfo:
    """``tz`` when given, else the tenant's timezone from its settings (default Europe/Istanbul)."""
    return _zone(tz if tz is not None else tenant_settings(store.tenant_settings, tenant_id).timezone)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(f"unknown timezone {tz!r}", field="timezone") from None


def local_bounds(start: date, end: date, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in ``tz`` as UTC instants (both dates inclusive)."""
    if end < start:
        raise InvalidArgument(f"end {end} is before start {start}", field="end")
    zone = _zone(tz)
    return (datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC))


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise ConfigurationError("to_pandas() needs pandas: pip install 'invekto-integrations[pandas]'") from None


@dataclass(frozen=True)
class LeadsPerCampaignRow:
    channel: str
    campaign_id: str | None
    campaign_name: str | None
    leads: int


@dataclass(frozen=True)
class LeadsPerCampaignReport:
    start: date
    end: date
    timezone: str
    rows: list[LeadsPerCampaignRow]

    @property
    def total(self) -> int:
        return sum(r.leads for r in self.rows)

    def to_pandas(self) -> Any:
        return _pandas().DataFrame([asdict(r) for r in self.rows])


def leads_per_campaign(store: AttributionStore, tenant_id: str, start: date, end: date, *,
                       timezone: str | ZoneInfo | None = None) -> LeadsPerCampaignReport:
    """Leads created on [start, end] (tenant's days: ``timezone``, else the tenant's settings),
    per channel and campaign, most first."""
    timezone = tenant_zone(store, tenant_id, timezone)
    since, until = local_bounds(start, end, timezone)
    counts: dict[tuple[str, str | None], int] = defaultdict(int)
    names: dict[tuple[str, str | None], str | None] = {}
    for row in store.attribution_reports.lead_counts(tenant_id, since=since, until=until):
        key = (row.source.channel if row.source.campaign_id is None else _campaign_channel(row.source),
               row.source.campaign_id)
        counts[key] += row.leads
        names[key] = names.get(key) or row.source.campaign_name or row.source.channel_name
    rows = [LeadsPerCampaignRow(channel=k[0], campaign_id=k[1], campaign_name=names[k], leads=v)
            for k, v in counts.items()]
    rows.sort(key=lambda r: (-r.leads, r.channel, r.campaign_id or ""))
    return LeadsPerCampaignReport(start, end, str(_zone(timezone)), rows)


def _campaign_channel(s: SourceKey) -> str:
    return s.channel


def _ratio(a: Decimal | None, b: Decimal | int | None) -> Decimal | None:
    if a is None or b is None or b == 0:
        return None
    return (Decimal(a) / Decimal(b)).quantize(_CENT, ROUND_HALF_EVEN)


@dataclass
class FunnelRow:
    """One line of the funnel. ``level``: campaign, adset, ad, or channel (sources without a
    campaign: organic, other channels, unattributed). Ratios are None when undefined."""

    level: str
    channel: str
    campaign_id: str | None = None
    campaign_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None
    spend: Decimal | None = None
    leads: int = 0
    conversions: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)
    cpl: Decimal | None = None
    cost_per_conversion: Decimal | None = None
    roas: Decimal | None = None

    def _finish(self) -> None:
        self.conversions = self.conversions.quantize(Decimal("0.0001"))
        self.revenue = self.revenue.quantize(_CENT)
        self.cpl = _ratio(self.spend, self.leads)
        self.cost_per_conversion = _ratio(self.spend, self.conversions)
        self.roas = _ratio(self.revenue, self.spend)


@dataclass
class FunnelReport:
    start: date
    end: date
    timezone: str
    model: AttributionModel
    lookback: timedelta
    currency: str
    rows: list[FunnelRow] = field(default_factory=list)

    def row(self, level: str, object_id: str) -> FunnelRow | None:
        """The row of a campaign/adset/ad id (or of a channel for level ``channel``)."""
        attr = {"campaign": "campaign_id", "adset": "adset_id", "ad": "ad_id", "channel": "channel"}[level]
        return next((r for r in self.rows if r.level == level and getattr(r, attr) == object_id), None)

    def to_pandas(self) -> Any:
        return _pandas().DataFrame([asdict(r) for r in self.rows])


def funnel(store: AttributionStore, tenant_id: str, start: date, end: date, *,
           model: AttributionModel = AttributionModel.LAST_TOUCH, lookback: timedelta = DEFAULT_LOOKBACK,
           half_life: timedelta = DEFAULT_HALF_LIFE, timezone: str | ZoneInfo | None = None,
           currency: str = "TRY", kinds: Sequence[ConversionKind] = (ConversionKind.PURCHASE,)) -> FunnelReport:
    """The funnel over [start, end] (tenant's days: ``timezone``, else the tenant's settings): spend
    of those days, leads created then, and conversions (of ``kinds``) that happened then, credited
    to touches in their lookback window."""
    timezone = tenant_zone(store, tenant_id, timezone)
    if lookback <= timedelta(0) or half_life <= timedelta(0):
        raise InvalidArgument("lookback and half_life must be positive", field="lookback")
    since, until = local_bounds(start, end, timezone)
    q = store.attribution_reports
    rows: dict[tuple[str, str], FunnelRow] = {}

    def bucket(level: str, s: SourceKey) -> FunnelRow:
        ids = {"campaign": s.campaign_id, "adset": s.adset_id, "ad": s.ad_id, "channel": s.channel}
        key = (level, ids[level] or "")
        row = rows.get(key)
        if row is None:
            row = FunnelRow(level=level, channel=s.channel, campaign_id=s.campaign_id,
                            campaign_name=s.campaign_name, adset_id=s.adset_id if level in ("adset", "ad") else None,
                            adset_name=s.adset_name if level in ("adset", "ad") else None,
                            ad_id=s.ad_id if level == "ad" else None, ad_name=s.ad_name if level == "ad" else None)
            if level == "channel":
                row.campaign_id = row.campaign_name = None
            rows[key] = row
        else:  # names from whichever source had them
            row.campaign_name = row.campaign_name or (s.campaign_name if level != "channel" else None)
            if level in ("adset", "ad"):
                row.adset_name = row.adset_name or s.adset_name
            if level == "ad":
                row.ad_name = row.ad_name or s.ad_name
        return row

    def levels(s: SourceKey) -> list[str]:
        if s.campaign_id is None:
            return ["channel"]
        out = ["campaign"]
        if s.adset_id:
            out.append("adset")
        if s.ad_id:
            out.append("ad")
        return out

    for lc in q.lead_counts(tenant_id, since=since, until=until):
        for level in levels(lc.source):
            bucket(level, lc.source).leads += lc.leads
    for cr in q.credit(tenant_id, since=since, until=until, model=model, lookback=lookback, half_life=half_life,
                       currency=currency, kinds=kinds):
        for level in levels(cr.source):
            row = bucket(level, cr.source)
            row.conversions += cr.conversions
            row.revenue += cr.revenue
    for sp in q.spend_totals(tenant_id, since=start, until=end, currency=currency):
        source = SourceKey(channel="ctwa" if not sp.campaign_id.startswith("utm:") else "link",
                           campaign_id=sp.campaign_id, campaign_name=sp.campaign_name, adset_id=sp.adset_id,
                           adset_name=sp.adset_name, ad_id=sp.ad_id, ad_name=sp.ad_name)
        targets = {AdsLevel.CAMPAIGN: ["campaign"], AdsLevel.ADSET: ["campaign", "adset"],
                   AdsLevel.AD: ["campaign", "adset", "ad"]}[sp.level]
        for level in targets:
            row = bucket(level, source)
            row.spend = (row.spend or Decimal(0)) + sp.amount
    out = list(rows.values())
    for r in out:
        r._finish()
    order = {"campaign": 0, "adset": 1, "ad": 2, "channel": 3}
    out.sort(key=lambda r: (r.campaign_id or "~", order[r.level], r.adset_id or "", r.ad_id or "", r.channel))
    return FunnelReport(start, end, str(_zone(timezone)), model, lookback, currency, out)
