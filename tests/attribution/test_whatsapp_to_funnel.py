"""The whole path through the sandbox: the WhatsApp fake delivers signed webhooks (a tracked-link
message, a Click-to-WhatsApp referral) to the messaging webhook handler, which writes inbound
events to the log; the runtime hosts the attribution engine, which resolves the ad on the Meta
fake; the leads come out with the right source and tags, and a v2 order event becomes a purchase
in the funnel."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from invekto_integrations.attribution import AdResolver, AttributionEngine, LeadTracker, create_link, funnel, save_rule
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.money import Money
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.messaging import ConsentService, MessagingWebhookHandler, SendPipeline, WebhookRoute
from invekto_integrations.models.attribution import AttributionModel, Channel, TagRule
from invekto_integrations.models.events import OrderCreated
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings, WhatsAppWebhooks
from invekto_integrations.runtime import Runtime
from invekto_integrations.testing.sandbox import Sandbox, WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.meta import MetaFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import WhatsAppCloudFake

from .conftest import meta_client

T = "t1"


def test_webhooks_to_leads_to_funnel(store: Any, clock: FrozenClock) -> None:
    wa, meta_fake = WhatsAppCloudFake(clock=clock), MetaFake(clock=clock)
    sandbox = Sandbox([wa, meta_fake], clock=clock)
    bus = EventBus(store.events, clock)
    wa_client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001", "waba-a"), SecretStr("wa-token-a"),
                                    base_url=sandbox.inprocess_url("whatsapp_cloud"), transport=sandbox.transport(),
                                    clock=clock, retry=RetryPolicy(max_attempts=2, clock=clock),
                                    limiter_registry=RateLimiterRegistry(clock))
    pipeline = SendPipeline(store.outbox, store.messaging_contacts,
                            ConsentService(store.consents, store.messaging_contacts, clock=clock), {T: wa_client},
                            events=bus, clock=clock)
    handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr("v"),
                                      routes={"1000000001": WebhookRoute(T, SecretStr(wa.app_secret))},
                                      quarantine=store.quarantine)

    def serve(request: httpx.Request) -> httpx.Response:
        answer = handler.handle(request.method, dict(request.url.params), dict(request.headers), request.read())
        return httpx.Response(answer.status, text=answer.body)

    wa.webhook_url = "http://receiver.invalid/webhooks/whatsapp"
    wa.webhooks = WebhookDispatcher(transport=httpx.MockTransport(serve))

    meta = meta_client(sandbox, clock)
    save_rule(store, T, TagRule(tenant_id=T, name="kış", field="campaign_name", op="contains", value="kış",
                                labels=("kis",), segments=("reklam",)))
    link = create_link(store.tracked_links, T, "+90 850 123 45 67", utm_source="google", utm_medium="cpc",
                       utm_campaign="bahar", clock=clock)
    engine = AttributionEngine(store, LeadTracker(store, resolver=AdResolver(store.ad_cache, lambda t: meta,
                                                                            clock=clock)))
    runtime = Runtime(store, [engine], clock=clock, tenants=[T])

    wa.inject_inbound("905321112233", f"Merhaba! kodum {link.code.lower()}")
    wa.inject_inbound("905324445566", "Kampanyayı gördüm", referral={
        "source_url": "https://fb.me/k", "source_id": "120210000000000000", "source_type": "ad",
        "headline": "Kış kampanyası", "body": "%20 indirim", "media_type": "image",
        "image_url": "https://scontent.xx/k.jpg", "ctwa_clid": "ARAkWebhook1"})
    wa.webhooks.drain()
    runtime.run_once()

    by_link, by_ad = store.leads.latest(T, "+905321112233"), store.leads.latest(T, "+905324445566")
    assert (by_link.channel, by_link.utm.source, by_link.ad.campaign_id) == (Channel.LINK, "google", "utm:bahar")
    assert (by_ad.channel, by_ad.ctwa_clid, by_ad.ad.campaign_name, by_ad.labels, by_ad.segments) == \
        (Channel.CTWA, "ARAkWebhook1", "Kış Kampanyası", ("kis",), ("reklam",))
    assert len(meta_fake.requests_to("/120210000000000000", "GET")) == 1

    clock.advance(hours=30)
    bus.publish(T, [OrderCreated(tenant_id=T, occurred_at=clock.now(), provider="hepsiburada", account_id="hb",
                                 external_order_id="HB-1", customer_phone="+905324445566", order_status="Open",
                                 total=Money(amount=Decimal("899.90")))])
    runtime.run_once()
    report = funnel(store, T, date(2026, 3, 10), date(2026, 3, 12), model=AttributionModel.FIRST_TOUCH,
                    lookback=timedelta(days=7))
    kis = report.row("campaign", "120200000000000001")
    assert (kis.leads, kis.conversions, kis.revenue) == (1, Decimal("1.0000"), Decimal("899.90"))
    assert report.row("campaign", "utm:bahar").leads == 1
    assert [e.type for e in store.events.read(T, types=["lead.created"])] == ["lead.created"] * 2
