"""End to end against the sandbox's Meta fake: a tracked-link click and a CTWA referral become
leads with the right source, rules tag them, manual and Insights spend give the right CPL, and a
purchase shows in the funnel under every attribution model (numbers worked out by hand below) and
reaches the fake Conversions API once, even when the sender runs again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from invekto_integrations.attribution import (
    AdResolver,
    AttributionEngine,
    ConversionsSender,
    LeadTracker,
    add_manual_spend,
    create_link,
    funnel,
    leads_per_campaign,
    pull_insights,
    record_automatic_events,
    record_click,
    save_rule,
)
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.money import Money
from invekto_integrations.models.attribution import (
    AttributionModel,
    CapiStatus,
    Channel,
    ConversionKind,
    TagRule,
)
from invekto_integrations.models.events import InboundMessageReceived, OrderCreated
from invekto_integrations.providers.meta import MetaClient, parse_automatic_events
from invekto_integrations.testing.sandbox.fakes.meta import MetaFake

from .conftest import START

T = "klinik-a"
KIS, IMPLANT = "120200000000000001", "120200000000000002"
KIS_AD, IMPLANT_AD, OTHER_ACCOUNT_AD = "120210000000000000", "120210000000000002", "220210000000000000"
A, B, C, D = "+905321112233", "+905324445566", "+905327778899", "+905051112233"


def referral(ad_id: str, clid: str) -> dict[str, Any]:
    return {"source_url": "https://fb.me/xyz", "source_id": ad_id, "source_type": "ad", "headline": "Kış kampanyası",
            "body": "%20 indirim için yazın", "media_type": "image", "image_url": "https://scontent.xx/x.jpg",
            "ctwa_clid": clid}


def inbound(phone: str, at: Any, text: str, ref: dict[str, Any] | None = None, mid: str = "") -> InboundMessageReceived:
    return InboundMessageReceived(tenant_id=T, occurred_at=at, from_phone=phone.removeprefix("+"),
                                  provider_message_id=mid or f"wamid.{phone}.{at.timestamp()}", kind="text",
                                  text=text, ctwa_clid=ref["ctwa_clid"] if ref else None, referral=ref)


def test_links_and_ctwa_become_tagged_leads_spend_cpl_funnel_and_capi(store: Any, meta: MetaClient,
                                                                       meta_fake: MetaFake, clock: FrozenClock) -> None:
    save_rule(store, T, TagRule(tenant_id=T, name="implant", field="utm_campaign", op="contains", value="implant",
                                labels=("implant-lead",), segments=("dental",)))
    save_rule(store, T, TagRule(tenant_id=T, name="kış", field="campaign_name", op="contains", value="KIŞ",
                                labels=("kis-kampanyasi",), priority=50))
    resolver = AdResolver(store.ad_cache, lambda tenant: meta, clock=clock)
    engine = AttributionEngine(store, LeadTracker(store, resolver=resolver))

    # -- capture: a tracked-link click, then the customer writes (text edited, code lower-cased) --
    link = create_link(store.tracked_links, T, "0850 123 45 67", utm_source="instagram", utm_medium="paid_social",
                       utm_campaign="implant-mart", clock=clock)
    assert link.wa_url.startswith("https://wa.me/908501234567?text=Merhaba%2C%20bilgi")
    assert record_click(store.tracked_links, T, link.code.lower(), query={"fbclid": "IwAR0abc"},
                        user_agent="Mozilla/5.0 (iPhone)", clock=clock) == link
    assert store.tracked_links.clicks(T, link.code)[0].fbclid == "IwAR0abc"
    engine.process(T, inbound(A, START + timedelta(minutes=5), f"selam, fiyat alabilir miyim? ref:{link.code.lower()}"))
    # a CTWA referral, an organic first message, and a CTWA ad the token cannot read
    engine.process(T, inbound(B, START + timedelta(minutes=10), "Merhaba", referral(KIS_AD, "ARAkB")))
    engine.process(T, inbound(C, START + timedelta(minutes=20), "Merhaba"))
    engine.process(T, inbound(D, START + timedelta(minutes=30), "Merhaba", referral(OTHER_ACCOUNT_AD, "ARAkD")))

    lead_a, lead_b = store.leads.latest(T, A), store.leads.latest(T, B)
    assert (lead_a.channel, lead_a.link_code, lead_a.utm.campaign, lead_a.ad.campaign_id) == \
        (Channel.LINK, link.code, "implant-mart", "utm:implant-mart")
    assert (lead_a.labels, lead_a.segments) == (("implant-lead",), ("dental",))
    assert "rule 'implant' v1: utm_campaign contains 'implant' matched 'implant-mart'" in lead_a.tag_explanation[0]
    assert lead_b.channel is Channel.CTWA and lead_b.ctwa_clid == "ARAkB"
    assert (lead_b.ad.campaign_id, lead_b.ad.campaign_name, lead_b.ad.adset_name, lead_b.ad.ad_name) == \
        (KIS, "Kış Kampanyası", "İstanbul 25-45", "Kış-Video-1")
    assert lead_b.labels == ("kis-kampanyasi",)
    assert store.leads.latest(T, C).channel is Channel.ORGANIC
    lead_d = store.leads.latest(T, D)
    assert lead_d.channel is Channel.CTWA and lead_d.ad.ad_id == OTHER_ACCOUNT_AD and lead_d.ad.campaign_id is None
    assert not store.ad_cache.get(T, OTHER_ACCOUNT_AD).readable

    # -- B comes back through the link (day 3) and another ad (day 5), then buys (day 6) --
    clock.set(START + timedelta(days=2, minutes=10))
    engine.process(T, inbound(B, clock.now(), f"Tekrar ben, kod {link.code}"))
    clock.set(START + timedelta(days=4, minutes=10))
    engine.process(T, inbound(B, clock.now(), "implant fiyatı?", referral(IMPLANT_AD, "ARAkB2")))
    clock.set(START + timedelta(days=5, minutes=10))
    order = OrderCreated(tenant_id=T, occurred_at=clock.now(), provider="trendyol", account_id="acc-1",
                         external_order_id="10234", customer_phone=B, order_status="Created",
                         total=Money(amount=Decimal("1200.00")))
    engine.process(T, order)
    engine.process(T, order)  # replayed: detected once
    purchases = store.conversions.find(T, kind=ConversionKind.PURCHASE)
    assert len(purchases) == 1 and purchases[0].value == Decimal("1200.00") and purchases[0].ctwa_clid == "ARAkB"
    assert len(store.touches.find(T, B)) == 3 and store.leads.latest(T, B).lead_id == lead_b.lead_id

    # Meta's automatic events: its Purchase for B and LeadSubmitted for D are ours already
    body = {"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [{
        "field": "automatic_events", "value": {"automatic_events": [
            {"id": "wamid.P1", "event_name": "Purchase", "timestamp": str(int(clock.now().timestamp()) + 600),
             "ctwa_clid": "ARAkB", "custom_data": {"currency": "TRY", "value": 1200}},
            {"id": "wamid.L1", "event_name": "LeadSubmitted", "timestamp": str(int(START.timestamp()) + 1900),
             "ctwa_clid": "ARAkD"}]}}]}]}
    events, errors = parse_automatic_events(body)
    assert not errors
    stored = record_automatic_events(store, T, events)
    assert [(c.counted, c.duplicate_of) for c in stored] == [(False, purchases[0].conversion_id),
                                                             (False, lead_d.lead_id)]
    assert record_automatic_events(store, T, events) == []  # the webhook delivered twice

    # -- spend: Insights for six days, manual for the link campaign and one override for Kış --
    clock.set(START + timedelta(days=5, hours=1))
    pulled = pull_insights(meta, store.ad_spend, T, "1001", date(2026, 3, 10), date(2026, 3, 15), clock=clock)
    assert pulled.entries == 3 * 6 and pulled.async_run_id is None
    add_manual_spend(store.ad_spend, T, date(2026, 3, 10), "utm:implant-mart", "300,00",
                     campaign_name="implant-mart")

    days = (date(2026, 3, 10), date(2026, 3, 15))
    report = funnel(store, T, *days)
    kis, implant, link_row = report.row("campaign", KIS), report.row("campaign", IMPLANT), \
        report.row("campaign", "utm:implant-mart")
    # Kış: (150 + 50) x 6 days of Insights = 1200 for 1 lead
    assert (kis.spend, kis.leads, kis.cpl) == (Decimal("1200.00"), 1, Decimal("1200.00"))
    assert (link_row.spend, link_row.leads, link_row.cpl) == (Decimal("300.00"), 1, Decimal("300.00"))
    add_manual_spend(store.ad_spend, T, date(2026, 3, 10), KIS, "180")  # manual wins for that campaign-day
    report = funnel(store, T, *days)
    kis = report.row("campaign", KIS)
    assert (kis.spend, kis.cpl) == (Decimal("1180.00"), Decimal("1180.00"))  # 180 + 200 x 5
    assert report.row("ad", KIS_AD).spend == Decimal("750.00")  # 150 x 5: its 10 March row gave way
    assert leads_per_campaign(store, T, *days).total == 4

    # -- the purchase under each model: touches Kış (5 days before), link (3), İmplant (1) --
    def revenue(model: AttributionModel, **kw: Any) -> dict[str, Decimal]:
        r = funnel(store, T, *days, model=model, **kw)
        return {cid: r.row("campaign", cid).revenue for cid in (KIS, "utm:implant-mart", IMPLANT)}

    assert revenue(AttributionModel.LAST_TOUCH) == {KIS: 0, "utm:implant-mart": 0, IMPLANT: Decimal("1200.00")}
    assert revenue(AttributionModel.FIRST_TOUCH) == {KIS: Decimal("1200.00"), "utm:implant-mart": 0, IMPLANT: 0}
    assert revenue(AttributionModel.LINEAR) == {KIS: Decimal("400.00"), "utm:implant-mart": Decimal("400.00"),
                                                IMPLANT: Decimal("400.00")}
    assert revenue(AttributionModel.POSITION_BASED) == {KIS: Decimal("480.00"), "utm:implant-mart": Decimal("240.00"),
                                                        IMPLANT: Decimal("480.00")}
    # half-life 7 days: weights 2^(-5/7) = 0.609507, 2^(-3/7) = 0.742997, 2^(-1/7) = 0.905724 (sum 2.258228):
    # 1200 x 0.609507 / 2.258228 = 323.886, 1200 x 0.742997 / 2.258228 = 394.821, the rest 481.293
    assert revenue(AttributionModel.TIME_DECAY) == {KIS: Decimal("323.89"), "utm:implant-mart": Decimal("394.82"),
                                                    IMPLANT: Decimal("481.29")}
    # a 4-day lookback leaves the Kış touch out: first touch is then the link
    assert revenue(AttributionModel.FIRST_TOUCH, lookback=timedelta(days=4))["utm:implant-mart"] == Decimal("1200.00")
    last = funnel(store, T, *days)
    implant = last.row("campaign", IMPLANT)
    assert (implant.spend, implant.conversions, implant.cost_per_conversion, implant.roas) == \
        (Decimal("1200.00"), Decimal("1.0000"), Decimal("1200.00"), Decimal("1.00"))
    first = funnel(store, T, *days, model=AttributionModel.FIRST_TOUCH).row("campaign", KIS)
    assert first.roas == Decimal("1.02")  # 1200 / 1180
    linear = funnel(store, T, *days, model=AttributionModel.LINEAR).row("campaign", "utm:implant-mart")
    assert (linear.conversions, linear.roas) == (Decimal("0.3333"), Decimal("1.33"))

    # -- the purchase and the CTWA leads go to the fake Conversions API once --
    dataset = meta.create_dataset("waba-a")
    sender = ConversionsSender(store, meta, dataset_id=dataset, waba_id="waba-a", clock=clock,
                               partner_agent="invekto")
    first_run = sender.run(T)
    assert (first_run.sent, first_run.requests, first_run.failed) == (3, 1, 0)
    again = sender.run(T)
    assert (again.sent, again.requests, again.already_done) == (0, 0, 3)
    # even if our record of it were lost, Meta (the fake) deduplicates on (event_name, event_id)
    store.capi_deliveries.put(T, store.capi_deliveries.get(T, purchases[0].conversion_id).model_copy(
        update={"status": CapiStatus.PENDING}))
    assert sender.run(T).sent == 1
    sent = meta_fake.events(dataset)
    purchase_events = [e for e in sent if e["event_name"] == "Purchase"]
    assert len(purchase_events) == 1 and len(sent) == 3
    p = purchase_events[0]
    assert p["action_source"] == "business_messaging" and p["messaging_channel"] == "whatsapp"
    assert p["user_data"]["ctwa_clid"] == "ARAkB" and p["user_data"]["whatsapp_business_account_id"] == "waba-a"
    assert p["custom_data"] == {"value": 1200.0, "currency": "TRY"} and p["event_id"] == purchases[0].conversion_id
    assert len(meta_fake.requests_to("/events", "POST")) == 2
    assert sorted(e["event_name"] for e in sent) == ["LeadSubmitted", "LeadSubmitted", "Purchase"]
