"""End to end against the sandbox: a campaign with two variants and a holdout reaches a seeded audience
through the WhatsApp fake via the send pipeline (İYS consent checked against the İYS fake); status
webhooks, scripted replies and purchases come back through the event log; the A/B and ROI report
matches figures computed by hand here."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from invekto_integrations.campaigns import (
    ABSettings,
    AllOf,
    CampaignEngine,
    CampaignStatus,
    CustomerFacts,
    EventConversions,
    LastOrder,
    OneShotTrigger,
    Platform,
    RecipientStatus,
    Variant,
    assign,
    campaign_report,
    costs_from_settings,
)
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.money import Money
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus, EventConsumer
from invekto_integrations.messaging import (
    ConsentService,
    MessageCategory,
    MessagingWebhookHandler,
    SendPipeline,
    WebhookRoute,
)
from invekto_integrations.models.events import OrderCreated
from invekto_integrations.models.settings import TenantSettings
from invekto_integrations.providers.iys import IysClient, IysSettings
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings, WhatsAppWebhooks
from invekto_integrations.storage.postgres import PostgresStore
from invekto_integrations.storage.records import CachedOrder
from invekto_integrations.storage.sqlite import SQLiteStore
from invekto_integrations.testing.sandbox import Sandbox, WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.iys import IysFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import FakeTemplate, WhatsAppCloudFake

from .conftest import NOW, open_store

T = "t1"
PRICE = Decimal("1.20")  # TRY per delivered marketing template (tenant setting)
AUDIENCE = [f"+9053311100{i:02d}" for i in range(40)]
OUTSIDE = ["+905331119901", "+905331119902"]  # hepsiburada buyer; trendyol buyer 200 days ago
NO_CONSENT = set(AUDIENCE[:3])


@dataclass
class World:
    store: SQLiteStore | PostgresStore
    engine: CampaignEngine
    pipeline: SendPipeline
    wa: WhatsAppCloudFake
    clock: FrozenClock
    bus: EventBus
    consumer: EventConsumer

    def pump(self) -> None:
        """Deliver the fake's due webhooks, then let the engine read the event log."""
        self.wa.tick()
        self.wa.webhooks.drain()
        self.consumer.poll(T, lambda e: self.engine.handle(None, e))

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.pump()


@pytest.fixture(params=["sqlite", "postgres"])
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    clock = FrozenClock(NOW)
    wa = WhatsAppCloudFake(clock=clock)
    iys = IysFake(clock=clock)
    sb = Sandbox([wa, iys], clock=clock)
    wa.add_template("waba-a", FakeTemplate("kis_a", "tr", "MARKETING", "Merhaba {{1}}, {{2}} için yeni sezon geldi!"))
    wa.add_template("waba-a", FakeTemplate("kis_b", "tr", "MARKETING", "{{1}}, size özel %{{2}} indirim: {{3}}"))
    for phone in AUDIENCE + OUTSIDE:
        if phone not in NO_CONSENT:
            iys.seed_consent("700001", "700001", phone, "ONAY")
    store = open_store(request.param, request, tmp_path)
    retry = RetryPolicy(max_attempts=3, clock=clock)
    limiters = RateLimiterRegistry()
    wa_client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001", "waba-a"), SecretStr("wa-token-a"),
                                    base_url=sb.inprocess_url("whatsapp_cloud"), transport=sb.transport(),
                                    clock=clock, retry=retry, limiter_registry=limiters)
    iys_client = IysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("iys-pass-a"),
                           base_url=sb.inprocess_url("iys"), transport=sb.transport(), clock=clock, retry=retry,
                           limiter_registry=limiters)
    bus = EventBus(store.events, clock)
    consent = ConsentService(store.consents, store.messaging_contacts, checkpoints=store.checkpoints, clock=clock)
    consent.configure(T, source=iys_client, brand_code="700001")
    pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, {T: wa_client}, events=bus, clock=clock)
    handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr("v"),
                                      routes={"1000000001": WebhookRoute(T, SecretStr(wa.app_secret))},
                                      quarantine=store.quarantine)
    wa.webhook_url = "http://receiver.invalid/webhooks/whatsapp"
    wa.webhooks = WebhookDispatcher(transport=handler_transport(handler))
    engine = CampaignEngine(
        campaigns=store.campaigns, recipients=store.campaign_recipients, conversions=store.campaign_conversions,
        profiles=store.contact_profiles, sink=pipeline, clock=clock,
        facts=CustomerFacts(contacts=store.messaging_contacts, clock=clock),
        conversion_source=EventConversions(orders=store.orders), consent=consent,
        settings_repository=store.tenant_settings)
    store.tenant_settings.save(T, TenantSettings(tenant_id=T, message_costs={MessageCategory.MARKETING: Money(
        amount=PRICE)}))
    # The audience projection as the order sync would have left it.
    for i, phone in enumerate(AUDIENCE):
        store.contact_profiles.record_order(T, phone, order_ref=f"trendyol:old{i}", at=NOW - timedelta(days=5 + i),
                                            total=Decimal(100), platform="trendyol", products=[f"Ürün {i}"],
                                            name=f"Müşteri{i} Soyad")
    store.contact_profiles.record_order(T, OUTSIDE[0], order_ref="hb:1", at=NOW - timedelta(days=3),
                                        total=Decimal(50), platform="hepsiburada")
    store.contact_profiles.record_order(T, OUTSIDE[1], order_ref="trendyol:x", at=NOW - timedelta(days=200),
                                        total=Decimal(50), platform="trendyol")
    w = World(store, engine, pipeline, wa, clock, bus, EventConsumer(store.events, "campaigns",
                                                                        types=sorted(engine.consumes)))
    yield w
    wa_client.close()
    iys_client.close()
    store.close()


def handler_transport(handler: MessagingWebhookHandler) -> httpx.MockTransport:
    """Webhooks from the fake straight into the handler (in-process)."""

    def serve(request: httpx.Request) -> httpx.Response:
        answer = handler.handle(request.method, dict(request.url.params), dict(request.headers), request.read())
        return httpx.Response(answer.status, text=answer.body)

    return httpx.MockTransport(serve)


def _purchase(w: World, phone: str, ref: str, total: str, *, repeat: int = 1) -> None:
    """An order arrives from the marketplace sync: cached, then announced (maybe twice)."""
    now = w.clock.now()
    w.store.orders.upsert_many(T, [CachedOrder(
        id=f"o-{ref}", tenant_id=T, provider="trendyol", account_id="acc", external_order_id=ref,
        customer_phone=phone, order_status="created", ordered_at=now,
        order_data_json=json.dumps({"total": total, "currency": "TRY"}), content_hash=ref, synced_at=now,
        created_at=now)])
    for _ in range(repeat):
        w.bus.publish(T, [OrderCreated(tenant_id=T, occurred_at=now, provider="trendyol", account_id="acc",
                                       external_order_id=ref, customer_phone=phone, order_status="created",
                                       dedupe_key=None)])
    w.pump()


def _wilson(s: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) score interval, written out by hand."""
    p = s / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


# Arms come from hashing (campaign id, phone), and a fresh ULID would give 40 recipients a holdout
# of fewer than 5 about one run in thirteen: the campaign gets a fixed id whose arms are all populated.
E2E_CAMPAIGN_ID = "01JCAMPA1GNE2E000000000001"


def test_two_variants_and_a_holdout_end_to_end(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    w = world
    monkeypatch.setattr("invekto_integrations.campaigns.manager.new_id", lambda: E2E_CAMPAIGN_ID)
    variants = [Variant(name="A", template_name="kis_a", body_params=["name", "last_product"]),
                Variant(name="B", template_name="kis_b", body_params=["name", '"15"', '"KIS15"'])]
    campaign = w.engine.manager.create(
        T, "Kış kampanyası", trigger=OneShotTrigger(at=NOW), variants=variants,
        audience=AllOf(items=[LastOrder(within_days=90), Platform(any_of=["trendyol"])]),
        ab=ABSettings(holdout=Decimal("0.2"), metric="purchase"), conversion_window=timedelta(days=7))
    assert w.engine.manager.preview(T, campaign.audience).count == 40
    w.engine.manager.schedule(T, campaign.id)
    report = w.engine.run_occurrence(T, campaign.id, "once", at=NOW)

    arm = {p: assign(campaign.id, p, variants, holdout=Decimal("0.2")) for p in AUDIENCE}
    groups = {g: [p for p in AUDIENCE if arm[p] == g] for g in ("A", "B", "holdout")}
    assert all(len(g) >= 5 for g in groups.values())  # the seed gives every arm members
    exposed = {g: [p for p in groups[g] if p not in NO_CONSENT] for g in ("A", "B")}
    assert report.entered == 40
    assert report.holdout == len(groups["holdout"])
    refused_expected = len([p for p in NO_CONSENT if arm[p] != "holdout"])
    assert report.refused == ({"no_consent": refused_expected} if refused_expected else {})
    assert report.submitted == len(exposed["A"]) + len(exposed["B"])
    sends = [r for r in w.wa.requests if r.path.endswith("/messages")]
    assert len(sends) == report.submitted
    by_to = {r.json()["to"]: r.json() for r in sends}
    first_a = exposed["A"][0]
    a_msg = by_to[first_a.lstrip("+")]
    assert a_msg["template"]["name"] == "kis_a"
    i = AUDIENCE.index(first_a)
    assert [p["text"] for p in a_msg["template"]["components"][0]["parameters"]] == [f"Müşteri{i}", f"Ürün {i}"]
    assert all(p.lstrip("+") not in by_to for p in groups["holdout"] + sorted(NO_CONSENT) + OUTSIDE)
    assert w.store.campaigns.get(T, campaign.id).status == CampaignStatus.COMPLETED  # one-shot, no test phase

    # A second run of the same occurrence (a restart, a second runtime) enters and sends nobody twice.
    again = w.engine.run_occurrence(T, campaign.id, "once", at=NOW)
    assert again.skipped == "campaign is completed"
    w.store.campaigns.replace(T, w.store.campaigns.get(T, campaign.id).model_copy(
        update={"status": CampaignStatus.RUNNING, "version": 99}), expected_version=w.store.campaigns.get(
        T, campaign.id).version)
    again = w.engine.run_occurrence(T, campaign.id, "once", at=NOW)
    assert (again.entered, again.already_entered, again.submitted) == (0, 40, 0)
    assert len([r for r in w.wa.requests if r.path.endswith("/messages")]) == len(sends)

    # Statuses arrive (sent, delivered, read) through signed webhooks.
    w.advance(300)
    counts = w.store.campaign_recipients.counts(T, campaign.id)
    assert counts["A"].delivered == len(exposed["A"]) and counts["A"].read == len(exposed["A"])

    # Scripted replies and purchases.
    a, b, h = exposed["A"], exposed["B"], groups["holdout"]
    w.wa.inject_inbound(a[0].lstrip("+"), "Bu ürün hâlâ var mı?")
    w.wa.inject_inbound(a[0].lstrip("+"), "Beden M var mı?")  # a second reply of the same recipient
    w.wa.inject_inbound(b[0].lstrip("+"), "Kod nasıl kullanılıyor?")
    w.pump()
    w.advance(3600)
    _purchase(w, a[0], "P1", "100.00")
    _purchase(w, a[1], "P2", "200.00", repeat=2)  # announced twice: counted once
    _purchase(w, a[2], "P3", "300.50")
    _purchase(w, b[0], "P4", "450.00")
    _purchase(w, h[0], "P5", "120.00")  # the holdout buys too: the baseline
    _purchase(w, OUTSIDE[0], "P6", "999.00")  # never touched by the campaign
    w.clock.advance(9 * 86400)
    _purchase(w, a[3], "P7", "80.00")  # outside the 7-day window

    rep = campaign_report(campaign.id, tenant_id=T, campaigns=w.store.campaigns,
                          recipients=w.store.campaign_recipients, conversions=w.store.campaign_conversions,
                          costs=costs_from_settings(w.store.tenant_settings))
    ra, rb = rep.rows
    hold = rep.holdout
    assert hold is not None
    n_a, n_b, n_h = len(a), len(b), len(h)
    assert (ra.recipients, ra.sent, ra.delivered, ra.read) == (n_a, n_a, n_a, n_a)
    assert (rb.recipients, rb.sent, rb.delivered) == (n_b, n_b, n_b)
    assert ra.refused + rb.refused == refused_expected
    assert (ra.replied, rb.replied, hold.replied) == (1, 1, 0)
    assert (ra.converted, rb.converted, hold.converted) == (3, 1, 1)
    assert (ra.revenue, rb.revenue, hold.revenue) == (Decimal("600.50"), Decimal("450.00"), Decimal("120.00"))
    assert ra.cost == (PRICE * n_a).quantize(Decimal("0.01"))
    assert rb.cost == (PRICE * n_b).quantize(Decimal("0.01"))
    assert ra.revenue_per_message == (Decimal("600.50") / n_a).quantize(Decimal("0.01"))
    assert ra.roi == (Decimal("600.50") - PRICE * n_a) / (PRICE * n_a)
    assert ra.incremental_revenue == (Decimal("600.50") - Decimal("120.00") / n_h * n_a).quantize(Decimal("0.01"))
    assert rb.incremental_revenue == (Decimal("450.00") - Decimal("120.00") / n_h * n_b).quantize(Decimal("0.01"))
    assert ra.conversion_rate == 3 / n_a
    lo, hi = _wilson(3, n_a)
    assert (ra.ci_low, ra.ci_high) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
    assert rep.total_revenue == Decimal("1050.50")
    convs = w.store.campaign_conversions.find(T, campaign.id)
    assert sorted(c.source_ref for c in convs if c.conversion_type == "purchase") == [
        "order:trendyol:P1", "order:trendyol:P2", "order:trendyol:P3", "order:trendyol:P4", "order:trendyol:P5"]
    assert all(c.message_id for c in convs if c.variant != "holdout")
    r_a0 = w.store.campaign_recipients.get(T, campaign.id, "once", a[0])
    assert r_a0 is not None and r_a0.status == RecipientStatus.SUBMITTED
    # The outbox row carries the correlation (campaign, variant) for the messaging reports.
    row = w.store.outbox.get(T, r_a0.message_id or "")
    assert row is not None and (row.campaign_id, row.variant) == (campaign.id, "A")
    # The pipeline's own per-variant counts (outbox correlation columns) agree with the report.
    grouped = {(k.campaign_id, k.variant): v for k, v in w.pipeline.correlation_counts(T, purpose="campaign").items()}
    assert (grouped[(campaign.id, "A")].sent, grouped[(campaign.id, "B")].sent) == (ra.sent, rb.sent)
    assert (grouped[(campaign.id, "A")].read, grouped[(campaign.id, "B")].delivered) == (ra.read, rb.delivered)

    # The dashboard's outbound panel renders these rows as they are (its structural protocol).
    from invekto_integrations.dashboard._period import ReportPeriod
    from invekto_integrations.dashboard.outbound import outbound_panel

    panel = outbound_panel(ReportPeriod(T, NOW.date(), (NOW + timedelta(days=10)).date()), [rep])
    shown = {(r.campaign_id, r.variant): r for r in panel.rows}
    assert (shown[(campaign.id, "A")].sent, shown[(campaign.id, "A")].revenue) == (ra.sent, ra.revenue)
