"""Outbound and attribution panels over report rows shaped like the campaigns and attribution
areas' reports (plain records with the same field names), and the outbox's daily series."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from invekto_integrations.dashboard import Rate, ReportPeriod, attribution_panel, outbound_panel

from .seed import FUNNEL, LEADS, PERIOD, REPORTS, Funnel, seed_outbox


def R(n: int, d: int) -> Rate:
    return Rate(numerator=n, denominator=d)


def test_outbound_panel(store: Any) -> None:
    seed_outbox(store)

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


def test_attribution_panel() -> None:
    p = attribution_panel(PERIOD, FUNNEL, model="linear", leads=LEADS)
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


def test_attribution_panel_from_the_attribution_area(seeded: Any) -> None:
    from invekto_integrations.dashboard import attribution_panel_from
    from invekto_integrations.models.attribution import AttributionModel

    p = attribution_panel_from(seeded, PERIOD)
    link = next(r for r in p.rows if r.campaign_id == "utm:implant-mart")
    assert (link.spend, link.leads, link.conversions, link.revenue) == (Decimal("300.00"), 2, Decimal("1.0000"),
                                                                        Decimal("1200.00"))
    assert (link.cpl, link.roas) == (Decimal("150.00"), Decimal("4.00"))
    organic = next(r for r in p.rows if r.level == "channel")
    assert (organic.channel, organic.leads, organic.spend) == ("organic", 1, None)
    assert (p.totals.leads, p.totals.cpl, p.totals.roas) == (3, Decimal("100.00"), Decimal("4.00"))
    assert p.model == "last_touch"
    assert attribution_panel_from(seeded, PERIOD, model=AttributionModel.FIRST_TOUCH).model == "first_touch"
    other = attribution_panel_from(seeded, ReportPeriod("t2", PERIOD.date_from, PERIOD.date_to))
    assert other.is_empty
