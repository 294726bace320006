"""The views without a browser: the report is one self-contained document, panels render for
Jupyter, tables become DataFrames, charts are matplotlib SVG."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.dashboard import build_panels, build_report, returns_panel
from invekto_integrations.dashboard._charts import chart_svg
from invekto_integrations.models.orders import OrderStatus

from .seed import NOW, PERIOD


def test_report_is_self_contained_and_bilingual(seeded: Any) -> None:
    html = build_report(seeded, PERIOD, clock=FrozenClock(NOW), niche="ecommerce").to_html()
    assert html.startswith("<!DOCTYPE html>")
    # No external resource of any kind: no src/href to another origin, no script, no stylesheet link.
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", html)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert "default-src 'none'" in html
    assert html.count("<section") == 5 and html.count("<svg") >= 12
    for tr, en in (("İade çevirme", "Returns recovered"), ("Yorum kurtarma", "Reviews recovered"),
                   ("E-ticaret", "E-commerce"), ("Çevirme oranı", "Recovery rate")):
        assert tr in html and en in html
    assert "280,50 ₺" in html  # recovered revenue, Turkish format
    assert 'name="viewport"' in html


def test_repr_html_and_pandas(seeded: Any) -> None:
    panel = returns_panel(seeded.return_cases, PERIOD)
    fragment = panel._repr_html_()
    assert fragment.startswith('<div class="invekto-dashboard">') and 'data-panel="returns"' in fragment
    assert fragment.count("<svg") == 2
    frame = panel.to_pandas()
    assert list(frame["provider"]) == ["hepsiburada", "trendyol", "all"]
    assert list(frame.columns)[:3] == ["provider", "claims", "contacted"]
    assert str(frame.loc[2, "recovered_amount"]) == "280.50"
    assert len(panel.to_pandas("daily")) == 7
    with pytest.raises(InvalidArgument, match="no table 'nope'"):
        panel.to_pandas("nope")


def test_chart_svg_is_deterministic_and_scales(seeded: Any) -> None:
    [chart, _] = returns_panel(seeded.return_cases, PERIOD).charts()
    svg = chart_svg(chart)
    assert svg.startswith("<svg") and 'width="100%"' in svg and "viewBox" in svg
    assert chart_svg(chart) == svg  # same data, same bytes
    assert 'aria-label="Sonuçlar / Outcomes"' in svg


def test_unknown_niche(seeded: Any) -> None:
    with pytest.raises(InvalidArgument, match="niche"):
        build_panels(seeded, PERIOD, niche="bakery")  # type: ignore[arg-type]


def test_unreadable_cached_order_is_named_not_fatal(store: Any) -> None:
    from .seed import seed_orders

    seed_orders(store)
    bad = store.orders.get("t1", "trendyol", "acc-trendyol", "o1").model_copy(
        update={"order_data_json": "{not json", "content_hash": "x"})
    store.orders.upsert_many("t1", [bad])
    report = build_report(store, PERIOD, clock=FrozenClock(NOW), niche="ecommerce")
    panel = report.panel("ecommerce")
    assert panel.orders == 4 and panel.skipped_records == ["trendyol/o1"]
    assert "trendyol/o1" in report.to_html()


def test_rows_in_another_currency_are_left_out_and_named(seeded: Any) -> None:
    from invekto_integrations.dashboard import ReturnCase

    from .seed import _order, z

    eur = _order("t1", "trendyol", "e1", z("2026-03-05T10:00"), OrderStatus.DELIVERED, "70")
    eur = eur.model_copy(update={"order_data_json": eur.order_data_json.replace('"TRY"', '"EUR"')})
    seeded.orders.upsert_many("t1", [eur])
    seeded.return_cases.add("t1", ReturnCase(
        id="x", tenant_id="t1", provider="trendyol", claim_id="ce", order_number="e1", claim_amount=Decimal(70),
        currency="EUR", opened_at=z("2026-03-05T10:00"), created_at=NOW, updated_at=NOW))
    report = build_report(seeded, PERIOD, clock=FrozenClock(NOW), niche="ecommerce")
    shop, returns = report.panel("ecommerce"), report.panel("returns")
    assert shop.orders == 5 and shop.revenue == Decimal("420.75") and shop.skipped_records == ["trendyol/e1 (EUR)"]
    assert returns.totals.claims == 5 and returns.skipped_records == ["trendyol/ce (EUR)"]
    assert "trendyol/ce (EUR)" in report.to_html()


def test_tenant_report_follows_the_tenant_settings(seeded: Any) -> None:
    from invekto_integrations.dashboard import build_tenant_report
    from invekto_integrations.models.settings import Niche, TenantSettings

    clock = FrozenClock(NOW)
    default = build_tenant_report(seeded, "t1", PERIOD.date_from, PERIOD.date_to, clock=clock)
    assert default.period.timezone == "Europe/Istanbul"  # no settings stored: the defaults (e-commerce)
    assert [p.kind for p in default.panels] == ["outbound", "attribution", "ecommerce", "returns", "reviews"]
    assert default.panel("outbound").rows == [] and sum(d.created for d in default.panel("outbound").daily) == 5
    assert default.panel("ecommerce").orders == 5
    seeded.tenant_settings.save("t1", TenantSettings(tenant_id="t1", timezone="UTC", niche=Niche.AESTHETIC))
    report = build_tenant_report(seeded, "t1", PERIOD.date_from, PERIOD.date_to, clock=clock, attribution=None)
    assert report.panels[0].kind == "outbound"
    report = report.model_copy(update={"panels": report.panels[1:]})
    assert report.period.timezone == "UTC"
    assert [p.kind for p in report.panels] == ["clinic", "reviews"]
    clinic = report.panel("clinic")
    assert clinic.heading.en == "Aesthetic clinic" and clinic.timezone == "UTC"
    # a8 (Muayene, 03-09 07:00Z) stays out; in UTC the same seven appointments fall in the period
    assert clinic.appointments == 7
