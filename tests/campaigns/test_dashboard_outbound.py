"""The dashboard's outbound panel over a real campaign run (the campaigns e2e world: WhatsApp and
İYS fakes, signed status webhooks): `outbound_panel_from` finds the campaign from its messages in
the outbox, shows the campaigns report's rows as they are, counts the messages per local day, and
the tenant report includes the panel with the tenant's message prices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from invekto_integrations.campaigns import (
    ABSettings,
    AllOf,
    LastOrder,
    OneShotTrigger,
    Platform,
    Variant,
    campaign_report,
)
from invekto_integrations.core.money import Money
from invekto_integrations.dashboard import ReportPeriod, build_tenant_report, outbound_panel_from
from invekto_integrations.models.consent import MessageCategory
from invekto_integrations.models.settings import TenantSettings

from .conftest import NOW
from .test_campaign_e2e import PRICE, T, World, _purchase, world  # noqa: F401  (the e2e world fixture)


def test_outbound_panel_from_a_campaign_run(world: World) -> None:  # noqa: F811
    w = world
    variants = [Variant(name="A", template_name="kis_a", body_params=["name", "last_product"]),
                Variant(name="B", template_name="kis_b", body_params=["name", '"15"', '"KIS15"'])]
    campaign = w.engine.manager.create(
        T, "Kış kampanyası", trigger=OneShotTrigger(at=NOW), variants=variants,
        audience=AllOf(items=[LastOrder(within_days=90), Platform(any_of=["trendyol"])]),
        ab=ABSettings(holdout=Decimal("0.2"), metric="purchase"), conversion_window=timedelta(days=7))
    w.engine.manager.schedule(T, campaign.id)
    run = w.engine.run_occurrence(T, campaign.id, "once", at=NOW)
    w.advance(300)  # sent, delivered, read arrive through the webhooks
    buyer = w.store.campaign_recipients.find(T, campaign.id)[0]
    _purchase(w, buyer.phone, "P1", "250.00")

    period = ReportPeriod(T, NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=1))
    panel = outbound_panel_from(w.store, period, costs={"marketing": PRICE})
    rep = campaign_report(campaign.id, tenant_id=T, campaigns=w.store.campaigns,
                          recipients=w.store.campaign_recipients, conversions=w.store.campaign_conversions,
                          costs={"marketing": PRICE})
    shown = {r.variant: r for r in panel.rows if r.campaign_id == campaign.id}
    for row in rep.rows:
        s = shown[row.variant]
        assert (s.recipients, s.sent, s.delivered, s.read, s.replied, s.converted, s.revenue, s.cost) == (
            row.recipients, row.sent, row.delivered, row.read, row.replied, row.converted, row.revenue, row.cost)
    assert shown["*"].sent == sum(r.sent for r in rep.rows) == panel.totals.sent > 0
    assert panel.totals.revenue == rep.total_revenue and panel.totals.cost == rep.total_cost > 0
    assert [(h.variant, h.recipients) for h in panel.holdouts] == [("holdout", rep.holdout.recipients)]
    day = period.local_date(NOW)
    per_day = {d.day: d for d in panel.daily}
    assert per_day[day].created == run.submitted and per_day[day].read == panel.totals.read
    assert sum(d.created for d in panel.daily) == run.submitted

    # The tenant's report: outbound first, priced by the tenant's message costs.
    w.store.tenant_settings.save(T, TenantSettings(
        tenant_id=T, message_costs={MessageCategory.MARKETING: Money(amount=PRICE)}))
    report = build_tenant_report(w.store, T, period.date_from, period.date_to, clock=w.clock)
    assert [p.kind for p in report.panels][:2] == ["outbound", "attribution"]
    assert report.panel("outbound").totals == panel.totals
    assert 'data-panel="outbound"' in report.to_html()
