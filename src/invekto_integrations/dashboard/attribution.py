"""The attribution panel: leads per campaign, the campaign → lead → conversion funnel, CPL and ROAS
under the chosen attribution model.

The figures come from the attribution area's reports (`attribution.funnel`,
`attribution.leads_per_campaign`): `attribution_panel_from` runs them over a store;
`attribution_panel` takes any report objects with their field names (the structural protocols
below). CPL = spend ÷ leads, ROAS = revenue ÷ spend (``None`` without spend
or leads); the panel keeps the campaign-level rows and the channel rows (organic,
unattributed, ...), and re-derives its totals from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from invekto_integrations.attribution import AttributionStore
from invekto_integrations.attribution.reports import DEFAULT_LOOKBACK, funnel, leads_per_campaign
from invekto_integrations.models.attribution import AttributionModel

from ._base import Chart, Kpi, L, Panel, Series, Table, money
from ._format import fmt_money
from ._period import ReportPeriod

__all__ = ["AttributionPanel", "AttributionRow", "FunnelReportLike", "FunnelRowLike", "LeadsReportLike",
           "LeadsRowLike", "attribution_panel", "attribution_panel_from"]


class FunnelRowLike(Protocol):
    @property
    def level(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def campaign_id(self) -> str | None: ...
    @property
    def campaign_name(self) -> str | None: ...
    @property
    def spend(self) -> Decimal | None: ...
    @property
    def leads(self) -> int: ...
    @property
    def conversions(self) -> Decimal: ...
    @property
    def revenue(self) -> Decimal: ...


class FunnelReportLike(Protocol):
    @property
    def currency(self) -> str: ...
    @property
    def rows(self) -> Sequence[FunnelRowLike]: ...


class LeadsRowLike(Protocol):
    @property
    def channel(self) -> str: ...
    @property
    def campaign_id(self) -> str | None: ...
    @property
    def campaign_name(self) -> str | None: ...
    @property
    def leads(self) -> int: ...


class LeadsReportLike(Protocol):
    @property
    def rows(self) -> Sequence[LeadsRowLike]: ...


def _ratio(a: Decimal | None, b: Decimal | int | None) -> Decimal | None:
    if a is None or b is None or b == 0:
        return None
    return (Decimal(a) / Decimal(b)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


class AttributionRow(BaseModel):
    """A campaign (``level="campaign"``) or a channel without campaign (``level="channel"``)."""

    model_config = ConfigDict(frozen=True)

    level: str
    channel: str
    campaign_id: str | None
    name: str
    spend: Decimal | None
    leads: int
    conversions: Decimal
    revenue: Decimal
    cpl: Decimal | None
    roas: Decimal | None


class AttributionPanel(Panel):
    kind = "attribution"
    title = L("Reklam ve atıf", "Attribution")

    model: str
    rows: list[AttributionRow]
    totals: AttributionRow

    @property
    def is_empty(self) -> bool:
        return not self.rows

    def kpis(self) -> list[Kpi]:
        t = self.totals
        return [
            Kpi(key="leads", label=L("Talep", "Leads"), value=str(t.leads)),
            Kpi(key="conversions", label=L("Dönüşüm", "Conversions"), value=f"{t.conversions.normalize():f}"),
            Kpi(key="cpl", label=L("Talep başı maliyet", "Cost per lead"), value=fmt_money(t.cpl, self.currency)),
            Kpi(key="roas", label=L("ROAS", "ROAS"), value="–" if t.roas is None else f"{t.roas}x".replace(".", ",")),
        ]

    def tables(self) -> list[Table]:
        return [Table(
            key="by_campaign", title=L(f"Kampanyaya göre ({self.model})", f"By campaign ({self.model})"),
            columns=[("name", L("Kampanya / kanal", "Campaign / channel")), ("channel", L("Kanal", "Channel")),
                     ("spend", L("Harcama", "Spend")), ("leads", L("Talep", "Leads")),
                     ("conversions", L("Dönüşüm", "Conversions")), ("revenue", L("Ciro", "Revenue")),
                     ("cpl", L("Talep başı maliyet", "CPL")), ("roas", L("ROAS"))],
            rows=[[r.name, r.channel, r.spend, r.leads, r.conversions, r.revenue, r.cpl, r.roas]
                  for r in [*self.rows, self.totals]])]

    def charts(self) -> list[Chart]:
        names = [r.name for r in self.rows]
        return [
            Chart(key="attribution_leads", title=L("Kampanyaya göre talepler", "Leads per campaign"), kind="barh",
                  categories=names, series=[Series(label=L("Talep", "Leads"),
                                                   values=[Decimal(r.leads) for r in self.rows])]),
            Chart(key="attribution_funnel", title=L("Huni", "Funnel"), kind="bar",
                  categories=["Talep / Leads", "Dönüşüm / Conversions"],
                  series=[Series(label=L("Toplam", "Total"),
                                 values=[Decimal(self.totals.leads), self.totals.conversions])]),
            Chart(key="attribution_spend", title=L("Harcama ve ciro", "Spend and revenue"), kind="barh",
                  categories=[r.name for r in self.rows if r.spend], value_format="money",
                  series=[Series(label=L("Harcama", "Spend"), values=[r.spend or Decimal(0) for r in self.rows
                                                                      if r.spend]),
                          Series(label=L("Ciro", "Revenue"), values=[r.revenue for r in self.rows if r.spend])]),
        ]


def attribution_panel_from(store: AttributionStore, period: ReportPeriod, *,
                           model: AttributionModel = AttributionModel.LAST_TOUCH,
                           lookback: timedelta = DEFAULT_LOOKBACK) -> AttributionPanel:
    """The panel from the attribution area's own reports over ``store`` for the period."""
    report = funnel(store, period.tenant_id, period.date_from, period.date_to, model=model, lookback=lookback,
                    timezone=period.timezone)
    leads = leads_per_campaign(store, period.tenant_id, period.date_from, period.date_to, timezone=period.timezone)
    return attribution_panel(period, report, model=model.value, leads=leads)


def attribution_panel(period: ReportPeriod, funnel: FunnelReportLike, *, model: str = "last_touch",
                      leads: LeadsReportLike | None = None) -> AttributionPanel:
    """Campaign and channel rows of ``funnel`` (for the same period); ``leads`` (leads per
    campaign) fills in campaigns with leads but no funnel row."""
    rows: list[AttributionRow] = []
    seen: set[tuple[str, str | None]] = set()
    for r in funnel.rows:
        if r.level not in ("campaign", "channel"):
            continue
        key = (r.channel if r.campaign_id is None else "", r.campaign_id)
        seen.add(key)
        rows.append(AttributionRow(
            level=r.level, channel=r.channel, campaign_id=r.campaign_id,
            name=r.campaign_name or r.campaign_id or r.channel, spend=None if r.spend is None else money(r.spend),
            leads=r.leads, conversions=r.conversions, revenue=money(r.revenue), cpl=_ratio(r.spend, r.leads),
            roas=_ratio(r.revenue, r.spend)))
    for lr in leads.rows if leads is not None else []:
        key = (lr.channel if lr.campaign_id is None else "", lr.campaign_id)
        if key not in seen:
            rows.append(AttributionRow(
                level="campaign" if lr.campaign_id else "channel", channel=lr.channel, campaign_id=lr.campaign_id,
                name=lr.campaign_name or lr.campaign_id or lr.channel, spend=None, leads=lr.leads,
                conversions=Decimal(0), revenue=Decimal("0.00"), cpl=None, roas=None))
    rows.sort(key=lambda r: (-r.leads, r.name))
    spend_rows = [r.spend for r in rows if r.spend is not None]
    spend = money(sum(spend_rows, Decimal(0))) if spend_rows else None
    lead_total = sum(r.leads for r in rows)
    revenue = money(sum((r.revenue for r in rows), Decimal(0)))
    totals = AttributionRow(level="total", channel="all", campaign_id=None, name="Toplam / Total", spend=spend,
                            leads=lead_total, conversions=sum((r.conversions for r in rows), Decimal(0)),
                            revenue=revenue, cpl=_ratio(spend, lead_total), roas=_ratio(revenue, spend))
    return AttributionPanel(**AttributionPanel._head(period, funnel.currency), model=model, rows=rows, totals=totals)
