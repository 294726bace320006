"""A world for the send-path soaks: two tenants, the Aras, Yurtiçi, WhatsApp Cloud and İYS fakes in
one in-process sandbox, and everything a deployment runs over one SQLite file: the shipment watcher,
the cargo notifier, the send pipeline, the campaign engine, and the webhook handler that the
WhatsApp fake's signed status webhooks reach (in-process).

Clients retry on a recording clock (no real sleeps); their read timeout is short, because the
sandbox transports enforce it in real time when a fake stalls on purpose."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from invekto_integrations.campaigns import CampaignEngine, CustomerFacts, EventConversions
from invekto_integrations.core.clock import Clock, FrozenClock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus, EventConsumer
from invekto_integrations.messaging import (
    ConsentService,
    MessagingSettings,
    MessagingWebhookHandler,
    SendPipeline,
    WebhookRoute,
)
from invekto_integrations.models.shipments import ShipmentStatus
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.providers.iys import IysClient, IysSettings
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings, WhatsAppWebhooks
from invekto_integrations.providers.yurtici import YurticiClient
from invekto_integrations.storage.records import OutboxStatus
from invekto_integrations.storage.sqlite import SQLiteStore
from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier, PollPolicy, ShipmentWatcher
from invekto_integrations.testing.sandbox import Sandbox, WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.iys import IysFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import FakeTemplate, WhatsAppCloudFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday, 12:00 in Istanbul
TENANTS = ("t1", "t2")
PHONE_IDS = {"t1": "1000000001", "t2": "1000000002"}
WABAS = {"t1": "waba-a", "t2": "waba-b"}
WA_TOKENS = {"t1": "wa-token-a", "t2": "wa-token-b"}
CARGO_TEMPLATES = {
    ShipmentStatus.IN_TRANSIT: "kargo_yola_cikti",
    ShipmentStatus.OUT_FOR_DELIVERY: "kargo_dagitimda",
    ShipmentStatus.DELIVERED: "kargo_teslim_edildi",
}
ARAS_LIFECYCLE = [(timedelta(hours=1), "1"), (timedelta(hours=6), "2"), (timedelta(hours=14), "3"),
                  (timedelta(hours=21), "4"), (timedelta(hours=25), "6")]
YURTICI_LIFECYCLE = [(timedelta(hours=1), "ISR"), (timedelta(hours=6), "IND"), (timedelta(hours=25), "DLV")]
POLICY = PollPolicy(intervals={s: timedelta(hours=1) for s in ShipmentStatus if not s.is_terminal},
                    error_backoff=timedelta(minutes=5), max_error_backoff=timedelta(minutes=30))
# 20 % of requests: throttled, 5xx, stalled past the read timeout, dropped, cut, or malformed records.
FAULTS: dict[str, Any] = {"rate_limit_rate": 0.04, "error_rate": 0.05, "timeout_rate": 0.01, "drop_rate": 0.04,
                          "truncate_rate": 0.03, "malformed_rate": 0.03, "retry_after_seconds": 1.0,
                          "timeout_seconds": 3.0}
CAMPAIGN_TEMPLATE = ("kis_a", "tr", "MARKETING", "Merhaba {{1}}, {{2}} için yeni sezon geldi!")


def handler_transport(handler: MessagingWebhookHandler) -> httpx.MockTransport:
    def serve(request: httpx.Request) -> httpx.Response:
        answer = handler.handle(request.method, dict(request.url.params), dict(request.headers), request.read())
        return httpx.Response(answer.status, text=answer.body)

    return httpx.MockTransport(serve)


@dataclass
class SendWorld:
    clock: FrozenClock
    sandbox: Sandbox
    store: SQLiteStore
    aras: ArasFake
    yurtici: YurticiFake
    wa: WhatsAppCloudFake
    iys: IysFake
    watcher: ShipmentWatcher
    notifier: CargoNotifier
    pipeline: SendPipeline
    campaigns: CampaignEngine
    consumer: EventConsumer
    clients: list[Any] = field(default_factory=list)

    def faults(self, on: bool, seed: int = 19) -> None:
        for fake in (self.aras, self.yurtici, self.wa, self.iys):
            fake.faults.clear()
            if on:
                fake.faults.configure(seed=seed + len(fake.name), **FAULTS)

    def pump(self) -> None:
        """The fake's due status webhooks, then the campaign engine reads the log (as the runtime would)."""
        self.wa.tick()
        self.wa.webhooks.drain()
        for tenant in TENANTS:
            self.consumer.poll(tenant, lambda e: self.campaigns.handle(None, e))

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.store.close()


def build(path: Path, sleeper: Clock) -> SendWorld:
    clock = FrozenClock(START)
    aras, yurtici = ArasFake(clock=clock), YurticiFake(clock=clock)
    wa, iys = WhatsAppCloudFake(clock=clock), IysFake(clock=clock)
    sb = Sandbox([aras, yurtici, wa, iys], clock=clock)
    for waba in WABAS.values():
        wa.add_template(waba, FakeTemplate(*CAMPAIGN_TEMPLATE))
    store = SQLiteStore(path)
    retry = RetryPolicy(max_attempts=4, max_total_seconds=10_000, base_seconds=0.01, max_backoff_seconds=0.05,
                        clock=sleeper, rng=random.Random(5))
    limiters = RateLimiterRegistry(sleeper)
    kw: dict[str, Any] = {"transport": sb.transport(), "clock": clock, "retry": retry, "timeout": 0.25}
    aras_client = ArasClient("fake_user", "fake_pass", "1000000000001", base_url=sb.inprocess_url("aras"), **kw)
    yurtici_client = YurticiClient("YKTEST", "YK", base_url=sb.inprocess_url("yurtici"), **kw)
    carriers: dict[str, Any] = {"aras": aras_client, "yurtici": yurtici_client}
    wa_clients = {t: WhatsAppCloudClient(WhatsAppCloudSettings(PHONE_IDS[t], WABAS[t]), SecretStr(WA_TOKENS[t]),
                                         base_url=sb.inprocess_url("whatsapp_cloud"), limiter_registry=limiters, **kw)
                  for t in TENANTS}
    iys_client = IysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("iys-pass-a"),
                           base_url=sb.inprocess_url("iys"), limiter_registry=limiters, **kw)
    bus = EventBus(store.events, clock)
    consent = ConsentService(store.consents, store.messaging_contacts, checkpoints=store.checkpoints, clock=clock)
    for t in TENANTS:
        consent.configure(t, source=iys_client, brand_code="700001")
    pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, wa_clients, events=bus, clock=clock,
                            default_settings=MessagingSettings(frequency_cap=None, retry_delay=timedelta(minutes=1),
                                                               max_attempts=8))
    handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr("verify"),
                                      routes={PHONE_IDS[t]: WebhookRoute(t, SecretStr(wa.app_secret))
                                              for t in TENANTS},
                                      quarantine=store.quarantine, clock=clock)
    wa.webhook_url = "http://receiver.invalid/webhooks/whatsapp"
    wa.webhooks = WebhookDispatcher(transport=handler_transport(handler))
    watcher = ShipmentWatcher(store.shipments, bus, lambda tenant, carrier: carriers.get(carrier),
                              orders=store.orders, clock=clock, policy=POLICY)
    cargo = CargoMessageSettings(whatsapp_templates=CARGO_TEMPLATES)
    notifier = CargoNotifier(store.events, store.cargo_notifications, pipeline, lambda t: cargo,
                             shipments=store.shipments, clock=clock)
    engine = CampaignEngine(
        campaigns=store.campaigns, recipients=store.campaign_recipients, conversions=store.campaign_conversions,
        profiles=store.contact_profiles, sink=pipeline, clock=clock,
        facts=CustomerFacts(contacts=store.messaging_contacts, clock=clock),
        conversion_source=EventConversions(orders=store.orders), consent=consent,
        settings_repository=store.tenant_settings)
    consumer = EventConsumer(store.events, "campaigns", types=sorted(engine.consumes))
    return SendWorld(clock, sb, store, aras, yurtici, wa, iys, watcher, notifier, pipeline, engine, consumer,
                     [aras_client, yurtici_client, *wa_clients.values(), iys_client])


def seed_parcels(w: SendWorld, per_carrier: int) -> dict[str, str]:
    """Parcels of both tenants on both carriers, each with its own customer; tracking -> phone."""
    phones: dict[str, str] = {}
    for ti, tenant in enumerate(TENANTS):
        for i in range(per_carrier):
            aras_no = f"35{ti}{i:010d}"
            yk_no = f"77{ti}{i:010d}"
            w.aras.register_parcel("fake_user", aras_no, ARAS_LIFECYCLE, start=START + timedelta(minutes=7 * i))
            w.yurtici.register_parcel("YKTEST", yk_no, YURTICI_LIFECYCLE, start=START + timedelta(minutes=7 * i))
            for carrier, number, n in (("Aras Kargo", aras_no, 2 * i), ("Yurtiçi Kargo", yk_no, 2 * i + 1)):
                phone = f"+90532{ti}{n:06d}"
                phones[number] = phone
                w.watcher.register(tenant, carrier, number, customer_phone=phone, external_order_id=f"O-{number}")
    return phones


def seed_audience(w: SendWorld, size: int, *, no_consent: int = 3) -> dict[str, list[str]]:
    audience: dict[str, list[str]] = {}
    for ti, tenant in enumerate(TENANTS):
        phones = [f"+90533{ti}{i:06d}" for i in range(size)]
        audience[tenant] = phones
        for i, phone in enumerate(phones):
            if i >= no_consent:
                w.iys.seed_consent("700001", "700001", phone, "ONAY")
            w.store.contact_profiles.record_order(tenant, phone, order_ref=f"trendyol:{tenant}:{i}",
                                                  at=START - timedelta(days=3 + i % 20), total=Decimal(100),
                                                  platform="trendyol", products=[f"Ürün {i}"], name=f"Müşteri {i}")
    return audience


def sent_on_fake(w: SendWorld) -> Counter[tuple[str, str, str]]:
    """Messages the WhatsApp fake took in (whatever the client saw): (to, template, first params)."""
    out: Counter[tuple[str, str, str]] = Counter()
    for msg in list(w.wa.messages.values()):
        t = msg.payload.get("template") or {}
        params = [p.get("text", "") for c in t.get("components", []) if c.get("type") == "body"
                  for p in c.get("parameters", [])]
        out[(msg.to, str(t.get("name")), params[1] if len(params) > 1 else "")] += 1
    return out


LIVE = (OutboxStatus.ACCEPTED, OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ)
RECORDED_FAILURES = (OutboxStatus.FAILED, OutboxStatus.UNCERTAIN, OutboxStatus.REFUSED)
