"""The outbound panel: per campaign and variant, sent → delivered → read → replied → converted,
rates with their denominators, revenue and cost; totals; a daily series of campaign messages.

The rows come from the campaigns area's ROI/A-B reports (`campaigns.campaign_report`):
`outbound_panel_from` builds them for the campaigns that sent in the period; `outbound_panel`
takes any report objects with their field names (the structural protocols below). The daily
series comes from the outbox (`ReportReader.campaign_messages`): campaign messages created on
each local day and how far each got.

Rates: delivery = delivered ÷ sent, read = read ÷ delivered, reply = replied ÷ delivered,
conversion = converted ÷ recipients (the campaigns report's A/B denominator). The holdout row,
when there is one, is shown apart and never summed into the totals.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from invekto_integrations.campaigns import MessageCosts, campaign_report
from invekto_integrations.campaigns.repository import CampaignRepository, RecipientRepository
from invekto_integrations.campaigns.repository import ConversionRepository as CampaignConversionRepository
from invekto_integrations.storage.dashboard_protocols import ReportReader
from invekto_integrations.storage.records import OutboxStatus

from ._base import Chart, Kpi, L, Panel, Rate, Series, Table, money
from ._format import fmt_money
from ._period import ReportPeriod

__all__ = ["CampaignReportLike", "OutboundDay", "OutboundPanel", "OutboundRow", "OutboundStore", "VariantReportLike",
           "outbound_panel", "outbound_panel_from"]


class VariantReportLike(Protocol):
    """The fields of one variant row the panel reads (`campaigns.VariantReport` has them)."""

    @property
    def variant(self) -> str: ...
    @property
    def is_holdout(self) -> bool: ...
    @property
    def recipients(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def delivered(self) -> int: ...
    @property
    def read(self) -> int: ...
    @property
    def replied(self) -> int: ...
    @property
    def converted(self) -> int: ...
    @property
    def revenue(self) -> Decimal: ...
    @property
    def cost(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...


class CampaignReportLike(Protocol):
    """One campaign's report (`campaigns.CampaignReport` has these fields)."""

    @property
    def campaign_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def rows(self) -> Sequence[VariantReportLike]: ...
    @property
    def holdout(self) -> VariantReportLike | None: ...


class OutboundRow(BaseModel):
    """One campaign variant (``variant="*"``: the campaign's total; campaign ``"all"``: everything)."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    campaign: str
    variant: str
    is_holdout: bool = False
    recipients: int
    sent: int
    delivered: int
    read: int
    replied: int
    converted: int
    delivery_rate: Rate
    read_rate: Rate
    reply_rate: Rate
    conversion_rate: Rate
    revenue: Decimal
    cost: Decimal


class OutboundDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    created: int
    sent: int
    delivered: int
    read: int
    failed: int


class OutboundPanel(Panel):
    kind = "outbound"
    title = L("Giden mesajlar", "Outbound campaigns")

    rows: list[OutboundRow]  # per variant, then the campaign's total (variant "*")
    holdouts: list[OutboundRow]
    totals: OutboundRow
    daily: list[OutboundDay]

    @property
    def is_empty(self) -> bool:
        return self.totals.recipients == 0 and self.totals.sent == 0 and not any(d.created for d in self.daily)

    def kpis(self) -> list[Kpi]:
        t = self.totals
        return [
            Kpi(key="sent", label=L("Gönderilen", "Sent"), value=str(t.sent)),
            Kpi(key="read_rate", label=L("Okunma oranı", "Read rate"), value=t.read_rate.percent()),
            Kpi(key="conversion_rate", label=L("Dönüşüm oranı", "Conversion rate"), value=t.conversion_rate.percent()),
            Kpi(key="revenue", label=L("Ciro", "Revenue"), value=fmt_money(t.revenue, self.currency)),
        ]

    def tables(self) -> list[Table]:
        cols = [("campaign", L("Kampanya", "Campaign")), ("variant", L("Varyant", "Variant")),
                ("recipients", L("Alıcı", "Recipients")), ("sent", L("Gönderilen", "Sent")),
                ("delivered", L("İletilen", "Delivered")), ("read", L("Okunan", "Read")),
                ("replied", L("Yanıtlayan", "Replied")), ("converted", L("Dönüşen", "Converted")),
                ("delivery_rate", L("İletim oranı", "Delivery rate")), ("read_rate", L("Okunma oranı", "Read rate")),
                ("reply_rate", L("Yanıt oranı", "Reply rate")),
                ("conversion_rate", L("Dönüşüm oranı", "Conversion rate")),
                ("revenue", L("Ciro", "Revenue")), ("cost", L("Maliyet", "Cost"))]
        rows = [[r.campaign, r.variant, r.recipients, r.sent, r.delivered, r.read, r.replied, r.converted,
                 r.delivery_rate.value, r.read_rate.value, r.reply_rate.value, r.conversion_rate.value, r.revenue,
                 r.cost] for r in [*self.rows, *self.holdouts, self.totals]]
        return [Table(key="by_variant", title=L("Kampanya ve varyanta göre", "By campaign and variant"),
                      columns=cols, rows=rows),
                Table(key="daily", title=L("Günlük", "Daily"),
                      columns=[("day", L("Gün", "Day")), ("created", L("Oluşturulan", "Created")),
                               ("sent", L("Gönderilen", "Sent")), ("delivered", L("İletilen", "Delivered")),
                               ("read", L("Okunan", "Read")), ("failed", L("Başarısız", "Failed"))],
                      rows=[[d.day, d.created, d.sent, d.delivered, d.read, d.failed] for d in self.daily])]

    def charts(self) -> list[Chart]:
        t = self.totals
        variants = [r for r in self.rows if r.variant != "*"]
        return [
            Chart(key="outbound_funnel", title=L("Huni", "Funnel"), kind="barh",
                  categories=["Gönderilen / Sent", "İletilen / Delivered", "Okunan / Read", "Yanıtlayan / Replied",
                              "Dönüşen / Converted"],
                  series=[Series(label=L("Mesaj", "Messages"),
                                 values=[Decimal(v) for v in (t.sent, t.delivered, t.read, t.replied, t.converted)])]),
            Chart(key="outbound_variants", title=L("Varyanta göre dönüşüm", "Conversions by variant"), kind="barh",
                  categories=[f"{r.campaign} · {r.variant}" for r in variants],
                  series=[Series(label=L("Dönüşen", "Converted"), values=[Decimal(r.converted) for r in variants])]),
            Chart(key="outbound_daily", title=L("Günlük mesajlar", "Messages per day"), kind="line",
                  categories=[d.day.isoformat() for d in self.daily],
                  series=[Series(label=L("Gönderilen", "Sent"), values=[Decimal(d.sent) for d in self.daily]),
                          Series(label=L("İletilen", "Delivered"), values=[Decimal(d.delivered) for d in self.daily]),
                          Series(label=L("Okunan", "Read"), values=[Decimal(d.read) for d in self.daily])]),
        ]


def _row(campaign_id: str, campaign: str, variant: str, parts: Sequence[VariantReportLike], *,
         is_holdout: bool = False) -> OutboundRow:
    def total(field: str) -> int:
        return sum(int(getattr(p, field)) for p in parts)

    sent, delivered = total("sent"), total("delivered")
    return OutboundRow(
        campaign_id=campaign_id, campaign=campaign, variant=variant, is_holdout=is_holdout,
        recipients=total("recipients"), sent=sent, delivered=delivered, read=total("read"), replied=total("replied"),
        converted=total("converted"), delivery_rate=Rate(numerator=delivered, denominator=sent),
        read_rate=Rate(numerator=total("read"), denominator=delivered),
        reply_rate=Rate(numerator=total("replied"), denominator=delivered),
        conversion_rate=Rate(numerator=total("converted"), denominator=total("recipients")),
        revenue=money(sum((p.revenue for p in parts), Decimal(0))),
        cost=money(sum((p.cost for p in parts), Decimal(0))),
    )


_REACHED = {
    "sent": {OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ},
    "delivered": {OutboxStatus.DELIVERED, OutboxStatus.READ},
    "read": {OutboxStatus.READ},
}


def outbound_panel(period: ReportPeriod, reports: Sequence[CampaignReportLike], *,
                   reader: ReportReader | None = None) -> OutboundPanel:
    """Campaign rows from ``reports`` (the campaigns that ran in the period) and, given a
    ``reader``, the daily series of campaign messages created in the period."""
    rows: list[OutboundRow] = []
    holdouts: list[OutboundRow] = []
    every: list[VariantReportLike] = []
    currency = "TRY"
    for report in reports:
        variants = [v for v in report.rows if not v.is_holdout]
        for v in variants:
            currency = v.currency
            rows.append(_row(report.campaign_id, report.name, v.variant, [v]))
        if len(variants) > 1:
            rows.append(_row(report.campaign_id, report.name, "*", variants))
        if report.holdout is not None:
            holdouts.append(_row(report.campaign_id, report.name, report.holdout.variant, [report.holdout],
                                 is_holdout=True))
        every.extend(variants)
    daily: list[OutboundDay] = []
    if reader is not None:
        per_day: dict[date, Counter[str]] = defaultdict(Counter)
        for m in reader.campaign_messages(period.tenant_id, period.start, period.end):
            c = per_day[period.local_date(m.created_at)]
            c["created"] += 1
            for name, statuses in _REACHED.items():
                c[name] += m.status in statuses
            c["failed"] += m.status is OutboxStatus.FAILED
        if per_day:
            daily = [OutboundDay(day=d, created=per_day[d]["created"], sent=per_day[d]["sent"],
                                 delivered=per_day[d]["delivered"], read=per_day[d]["read"],
                                 failed=per_day[d]["failed"]) for d in period.days()]
    return OutboundPanel(**OutboundPanel._head(period, currency), rows=rows, holdouts=holdouts,
                         totals=_row("all", "all", "*", every), daily=daily)


class OutboundStore(Protocol):
    """What `outbound_panel_from` reads (`MemoryStore` and `SQLiteStore` have it)."""

    @property
    def reports(self) -> ReportReader: ...
    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def campaign_recipients(self) -> RecipientRepository: ...
    @property
    def campaign_conversions(self) -> CampaignConversionRepository: ...


def outbound_panel_from(store: OutboundStore, period: ReportPeriod, *,
                        costs: MessageCosts | None = None) -> OutboundPanel:
    """The panel of the campaigns that sent messages in the period: each one's ROI/A-B report
    (`campaigns.campaign_report`, with ``costs`` per message category) and the daily series."""
    messages = store.reports.campaign_messages(period.tenant_id, period.start, period.end)
    reports = []
    for campaign_id in sorted({m.campaign_id for m in messages if m.campaign_id}):
        campaign = store.campaigns.get(period.tenant_id, campaign_id)
        if campaign is None:  # deleted since: its messages still count in the daily series
            continue
        reports.append(campaign_report(campaign, tenant_id=period.tenant_id, campaigns=store.campaigns,
                                       recipients=store.campaign_recipients,
                                       conversions=store.campaign_conversions, costs=costs))
    return outbound_panel(period, reports, reader=store.reports)
