"""Every panel computed from the seeded dataset (tests/dashboard/seed.py) against figures worked
out by hand, on the memory and the SQLite store alike."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.dashboard import (
    Rate,
    ReportPeriod,
    clinic_panel,
    ecommerce_panel,
    returns_panel,
    reviews_panel,
)

from .seed import PERIOD


def R(n: int, d: int) -> Rate:
    return Rate(numerator=n, denominator=d)


def test_ecommerce_panel(seeded: Any) -> None:
    p = ecommerce_panel(seeded.reports, seeded.return_cases, PERIOD)
    # o1, o2 (00:30 local on 03-03), o3, h1, h2 (23:30 local on 03-08); o4/o5 fall on 03-09/03-01 local.
    assert p.orders == 5
    assert p.revenue == Decimal("420.75")  # 100.50 + 200 + 120.25: cancelled o3 and returned h1 left out
    rows = {r.provider: r for r in p.by_platform}
    assert rows["trendyol"].orders == 3 and rows["trendyol"].revenue == Decimal("300.50")
    assert rows["trendyol"].cancelled == 1 and rows["trendyol"].returned == 0
    assert rows["trendyol"].return_claims == 3
    assert rows["hepsiburada"].orders == 2 and rows["hepsiburada"].revenue == Decimal("120.25")
    assert rows["hepsiburada"].return_rate == R(1, 2) and rows["hepsiburada"].return_claims == 2
    assert p.return_rate == R(1, 5) and p.return_rate.value == Decimal("0.2000")
    assert {r.key: r.count for r in p.order_status} == {"cancelled": 1, "delivered": 2, "returned": 1, "shipped": 1}
    assert {r.key: r.count for r in p.cargo_status} == {"delivered": 3, "in_transit": 1}
    # 24 h, 10 h, 96 h
    assert p.delivery.delivered == 3
    assert p.delivery.average_hours == Decimal("43.3") and p.delivery.median_hours == Decimal("24.0")
    assert {b.key: b.count for b in p.delivery.buckets} == {"<1 gün/day": 1, "1–2": 1, "2–3": 0, "3–5": 1, "5+": 0}
    assert p.return_claims == 5
    daily = {d.day: (d.orders, d.revenue) for d in p.daily}
    assert len(p.daily) == 7
    assert daily[date(2026, 3, 2)] == (1, Decimal("100.50"))
    assert daily[date(2026, 3, 3)] == (1, Decimal("200.00"))
    assert daily[date(2026, 3, 4)] == (2, Decimal("0.00"))
    assert daily[date(2026, 3, 8)] == (1, Decimal("120.25"))
    assert daily[date(2026, 3, 5)] == (0, Decimal("0.00"))
    assert not p.is_empty


def test_returns_panel(seeded: Any) -> None:
    p = returns_panel(seeded.return_cases, PERIOD)
    t = p.totals
    assert (t.claims, t.contacted, t.exchanged, t.kept, t.refunded, t.cancelled, t.pending) == (5, 3, 1, 1, 1, 1, 1)
    assert t.recovery_rate == R(2, 3) and t.recovery_rate.value == Decimal("0.6667")
    assert t.contact_rate == R(3, 5)
    assert t.claim_amount == Decimal("480.50")
    assert t.recovered_amount == Decimal("280.50")  # c1 100.50 exchanged + c2 200 kept with a 20 concession
    assert t.refunded_amount == Decimal("80.00")
    hb, ty = p.by_provider
    assert hb.provider == "hepsiburada" and (hb.claims, hb.refunded, hb.cancelled) == (2, 1, 1)
    assert hb.recovery_rate == R(0, 1) and hb.recovered_amount == Decimal("0.00")
    assert ty.provider == "trendyol" and ty.recovery_rate == R(2, 2) and ty.claim_amount == Decimal("340.50")
    assert [(d.day.day, d.opened, d.recovered) for d in p.daily if d.opened] == [(2, 1, 1), (3, 1, 1), (4, 1, 0),
                                                                                 (5, 1, 0), (6, 1, 0)]


def test_reviews_panel(seeded: Any) -> None:
    p = reviews_panel(seeded.review_cases, PERIOD)
    t = p.totals
    assert (t.reviews, t.negative, t.followed_up, t.improved, t.removed, t.unchanged) == (7, 4, 3, 1, 1, 1)
    assert t.follow_up_rate == R(3, 4) and t.recovery_rate == R(2, 3)
    assert t.average_before == Decimal("2.86")  # (1+2+2+1+5+4+5) / 7
    assert t.average_now == Decimal("3.50")  # r1 now 4, r2 removed: (4+2+1+5+4+5) / 6
    assert t.average_effect == Decimal("0.64")
    assert p.ratings_before == [2, 2, 0, 1, 2] and p.ratings_now == [1, 1, 0, 2, 2]
    platforms = {r.platform: r for r in p.by_platform}
    assert platforms["trendyol"].recovery_rate == R(2, 2) and platforms["trendyol"].average_now == Decimal("4.33")
    assert platforms["hepsiburada"].recovery_rate == R(0, 1) and platforms["hepsiburada"].follow_up_rate == R(1, 2)


def test_clinic_panel(seeded: Any) -> None:
    p = clinic_panel(seeded.reports, PERIOD, niche="dental")
    assert p.appointments == 7
    assert p.status_counts == {"booked": 1, "confirmed": 0, "cancelled": 1, "completed": 4, "no_show": 1}
    assert p.no_show_rate == R(1, 5) and p.cancellation_rate == R(1, 7)
    assert (p.offers, p.offers_accepted, p.fill_rate) == (4, 2, R(2, 4))
    assert p.waitlist_joined == 2
    # Muayene 500 + İmplant 25.000 (midpoint) + Diş Beyazlatma 4.000 (midpoint); Kanal Tedavisi has no price.
    assert p.revenue == Decimal("29500.00")
    assert (p.revenue_min, p.revenue_max) == (Decimal("23500.00"), Decimal("35500.00"))
    services = {r.service: r for r in p.by_service}
    assert set(services) == {"Muayene", "İmplant", "Diş Beyazlatma", "Kanal Tedavisi"}
    assert (services["Diş Beyazlatma"].appointments, services["Diş Beyazlatma"].completed) == (2, 1)
    assert services["Muayene"].no_show == 1 and services["Kanal Tedavisi"].price_band == "fiyatsız / unpriced"
    assert p.by_service[0].service == "İmplant"
    assert [(b.band, b.completed, b.revenue) for b in p.by_price_band] == [
        ("< 1.000", 1, Decimal("500.00")), ("1.000–5.000", 1, Decimal("4000.00")),
        ("20.000+", 1, Decimal("25000.00")), ("fiyatsız / unpriced", 1, Decimal("0.00"))]
    assert [(r.treatment, r.leads, r.from_appointments, r.from_waitlist) for r in p.leads] == [
        ("İmplant", 2, 1, 2), ("Muayene", 2, 2, 0), ("Diş Beyazlatma", 1, 1, 0), ("Kanal Tedavisi", 1, 1, 0)]
    days = {d.day.day: (d.completed, d.no_show, d.cancelled, d.upcoming) for d in p.daily}
    assert days[2] == (1, 1, 0, 0) and days[6] == (1, 0, 0, 1) and days[8] == (0, 0, 0, 0)


def test_other_tenant_and_empty_period_give_empty_panels(seeded: Any) -> None:
    for period in (ReportPeriod("nobody", date(2026, 3, 2), date(2026, 3, 8)),
                   ReportPeriod("t1", date(2025, 1, 1), date(2025, 1, 31))):
        panels = [ecommerce_panel(seeded.reports, seeded.return_cases, period),
                  returns_panel(seeded.return_cases, period), reviews_panel(seeded.review_cases, period),
                  clinic_panel(seeded.reports, period)]
        assert all(p.is_empty for p in panels)
        assert all(p.daily == [] for p in panels)
        assert panels[1].totals.recovery_rate.value is None and panels[0].revenue == 0


def test_timezone_moves_the_day_edges(seeded: Any) -> None:
    # In UTC the 03-08 20:30Z order is on 03-08 and the 03-08 21:10Z one too (o4 joins, still 5 + 1);
    # o2 (03-02 21:30Z) moves to 03-02 and o5 (03-01 20:59Z) stays out.
    utc = ReportPeriod("t1", date(2026, 3, 2), date(2026, 3, 8), "UTC")
    p = ecommerce_panel(seeded.reports, seeded.return_cases, utc)
    assert p.orders == 6
    assert {d.day.day: d.orders for d in p.daily if d.orders} == {2: 2, 4: 2, 8: 2}


def test_period_validation() -> None:
    with pytest.raises(InvalidArgument, match="before"):
        ReportPeriod("t1", date(2026, 3, 8), date(2026, 3, 2))
    with pytest.raises(InvalidArgument, match="timezone"):
        ReportPeriod("t1", date(2026, 3, 2), date(2026, 3, 8), "Mars/Base")
    with pytest.raises(InvalidArgument, match="tenant"):
        ReportPeriod(" ", date(2026, 3, 2), date(2026, 3, 8))
