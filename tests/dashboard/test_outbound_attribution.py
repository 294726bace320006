"""Outbound and attribution panels over report rows shaped like the campaigns and attribution
areas' reports (plain records with the same field names), and the outbox's daily series."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from invekto_integrations.dashboard import Rate, attribution_panel, outbound_panel
from invekto_integrations.storage.records import OutboxRecord, OutboxStatus

from .seed import PERIOD, z


@dataclass(frozen=True)
class Variant:
    variant: str
    recipients: int
    sent: int
    delivered: int
    read: int
    replied: int
    converted: int
    revenue: Decimal
    cost: Decimal
    is_holdout: bool = False
    currency: str = "TRY"


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    rows: list[Variant]
    holdout: Variant | None = None


def R(n: int, d: int) -> Rate:
    return Rate(numerator=n, denominator=d)


REPORTS = [
    Campaign("k1", "Bahar indirimi", [
        Variant("A", 100, 98, 90, 60, 12, 6, Decimal("1500.00"), Decimal("40.50")),
        Variant("B", 100, 97, 95, 70, 15, 9, Decimal("2250.50"), Decimal("42.75")),
    ], holdout=Variant("holdout", 20, 0, 0, 0, 0, 1, Decimal("100"), Decimal(0), is_holdout=True)),
    Campaign("k2", "Sepet hatırlatma", [Variant("A", 50, 50, 49, 40, 10, 5, Decimal("990"), Decimal("20"))]),
]


def _message(i: int, created: str, status: OutboxStatus, purpose: str = "campaign", tenant: str = "t1") -> OutboxRecord:
    at = z(created)
    return OutboxRecord(id=f"m{i}", tenant_id=tenant, idempotency_key=f"k{i}", purpose=purpose, category="MARKETING",
                        to_phone="+905551112233", message_json="{}", status=status, due_at=at, created_at=at,
                        updated_at=at)


def test_outbound_panel(store: Any) -> None:
    for i, (created, status, purpose) in enumerate([
        ("2026-03-02T08:00", OutboxStatus.READ, "campaign"), ("2026-03-02T09:00", OutboxStatus.DELIVERED, "campaign"),
        ("2026-03-02T10:00", OutboxStatus.FAILED, "campaign"), ("2026-03-03T08:00", OutboxStatus.SENT, "campaign"),
        ("2026-03-03T09:00", OutboxStatus.ACCEPTED, "campaign"), ("2026-03-03T10:00", OutboxStatus.READ, "cargo"),
        ("2026-03-08T21:30", OutboxStatus.READ, "campaign"),  # 03-09 local: out
    ]):
        store.outbox.insert_if_absent("t1", _message(i, created, status, purpose))
    store.outbox.insert_if_absent("t2", _message(99, "2026-03-02T08:00", OutboxStatus.READ, tenant="t2"))

    p = outbound_panel(PERIOD, REPORTS, reader=store.reports)
    k1a, k1b, k1, k2a = p.rows
    assert (k1a.variant, k1a.delivery_rate) == ("A", R(90, 98))
    assert (k1.variant, k1.sent, k1.delivered, k1.read, k1.replied, k1.converted) == ("*", 195, 185, 130, 27, 15)
    assert k1.delivery_rate == R(185, 195) and k1.read_rate == R(130, 185) and k1.conversion_rate == R(15, 200)
    assert k1.revenue == Decimal("3750.50") and k1.cost == Decimal("83.25")
    assert k1b.reply_rate == R(15, 95) and k2a.campaign == "Sepet hatırlatma"
    t = p.totals  # holdout left out
    assert (t.recipients, t.sent, t.delivered, t.read, t.converted) == (250, 245, 234, 170, 20)
    assert t.revenue == Decimal("4740.50") and t.read_rate == R(170, 234)
    assert [(h.variant, h.recipients, h.converted) for h in p.holdouts] == [("holdout", 20, 1)]
    days = {d.day: (d.created, d.sent, d.delivered, d.read, d.failed) for d in p.daily}
    assert len(p.daily) == 7
    assert days[date(2026, 3, 2)] == (3, 2, 2, 1, 1)
    assert days[date(2026, 3, 3)] == (2, 1, 0, 0, 0)
    assert days[date(2026, 3, 8)] == (0, 0, 0, 0, 0)
    assert not p.is_empty and p.to_pandas().shape == (6, 14)  # 4 rows, the holdout, the totals
    assert [c.key for c in p.charts() if not c.is_empty] == ["outbound_funnel", "outbound_variants", "outbound_daily"]


def test_outbound_panel_empty(store: Any) -> None:
    p = outbound_panel(PERIOD, [], reader=store.reports)
    assert p.is_empty and p.rows == [] and p.daily == [] and p.totals.delivery_rate.value is None


@dataclass
class FunnelRow:
    level: str
    channel: str
    campaign_id: str | None = None
    campaign_name: str | None = None
    spend: Decimal | None = None
    leads: int = 0
    conversions: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)


@dataclass
class Funnel:
    currency: str = "TRY"
    rows: list[FunnelRow] = field(default_factory=list)


@dataclass(frozen=True)
class LeadRow:
    channel: str
    campaign_id: str | None
    campaign_name: str | None
    leads: int


@dataclass
class Leads:
    rows: list[LeadRow]


def test_attribution_panel() -> None:
    funnel = Funnel(rows=[
        FunnelRow("campaign", "ctwa", "c1", "Bahar CTWA", Decimal("1000"), 40, Decimal("8"), Decimal("6400")),
        FunnelRow("adset", "ctwa", "c1", "Bahar CTWA", Decimal("600"), 25, Decimal("5"), Decimal("4000")),
        FunnelRow("campaign", "link", "utm:insta", None, None, 10, Decimal("2.5"), Decimal("900")),
        FunnelRow("channel", "organic", None, None, None, 30, Decimal("3"), Decimal("1200")),
    ])
    leads = Leads([LeadRow("ctwa", "c1", "Bahar CTWA", 40), LeadRow("ctwa", "c9", "Eski kampanya", 2)])
    p = attribution_panel(PERIOD, funnel, model="linear", leads=leads)
    by = {r.name: r for r in p.rows}
    assert list(by) == ["Bahar CTWA", "organic", "utm:insta", "Eski kampanya"]  # adset rows left out
    assert by["Bahar CTWA"].cpl == Decimal("25.00") and by["Bahar CTWA"].roas == Decimal("6.40")
    assert by["utm:insta"].cpl is None and by["organic"].level == "channel"
    assert by["Eski kampanya"].leads == 2 and by["Eski kampanya"].spend is None
    t = p.totals
    assert (t.leads, t.conversions, t.revenue, t.spend) == (82, Decimal("13.5"), Decimal("8500.00"),
                                                            Decimal("1000.00"))
    assert t.cpl == Decimal("12.20") and t.roas == Decimal("8.50")  # 1000/82, 8500/1000
    assert p.model == "linear" and not p.is_empty
    assert [c.key for c in p.charts() if not c.is_empty] == ["attribution_leads", "attribution_funnel",
                                                             "attribution_spend"]
    assert attribution_panel(PERIOD, Funnel()).is_empty
