"""Campaign send throughput: engine + send pipeline + WhatsApp client → the WhatsApp fake over loopback.

See bench_campaigns.py. The WhatsApp fake enforces its published limit (80 messages/s per phone
number) on real time and the client's token bucket is configured alike; consent comes from the İYS
fake through one multi-query per page. Time on the messages' side is a frozen clock at noon in
Istanbul (outside quiet hours), rate limiting runs on real time.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

from invekto_integrations.campaigns import ABSettings, CampaignEngine, CustomerFacts, OneShotTrigger, Variant
from invekto_integrations.core.clock import FrozenClock, SystemClock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.messaging import ConsentService, MessagingSettings, RecordingSink, SendPipeline
from invekto_integrations.providers.iys import IysClient, IysSettings
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.iys import IysFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import FakeTemplate, WhatsAppCloudFake

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
T = "tenant-bench"
VARIANTS = [Variant(name="A", template_name="kis_a", body_params=["name", "last_product"]),
            Variant(name="B", template_name="kis_b", body_params=["name", '"15"'])]


def _seed(store: SQLiteStore, n: int) -> list[str]:
    phones = [f"+9053{i:08d}" for i in range(n)]
    for i, phone in enumerate(phones):
        store.contact_profiles.record_order(T, phone, order_ref=f"o{i}", at=NOW - timedelta(days=1 + i % 60),
                                            total=Decimal(100), platform="trendyol", products=[f"Ürün {i % 50}"],
                                            name=f"Müşteri{i} Soyad")
    return phones


def _engine(store: SQLiteStore, sink: object, clock: FrozenClock, consent: ConsentService | None, *,
            senders: int = 1) -> CampaignEngine:
    return CampaignEngine(campaigns=store.campaigns, recipients=store.campaign_recipients,
                          conversions=store.campaign_conversions, profiles=store.contact_profiles,
                          sink=sink,  # type: ignore[arg-type]
                          facts=CustomerFacts(contacts=store.messaging_contacts, clock=clock), clock=clock,
                          consent=consent, senders=senders)


def _launch(engine: CampaignEngine) -> str:
    c = engine.manager.create(T, "bench", trigger=OneShotTrigger(at=NOW), variants=VARIANTS,
                              ab=ABSettings(holdout=Decimal("0.1")))
    engine.manager.schedule(T, c.id)
    return c.id


def run_send(quick: bool) -> list[str]:
    n = 400 if quick else 2_000
    out = ["Sending: one-shot campaign, 2 variants + 10 % holdout, every customer with İYS consent, SQLite file store.",
           "", "| path | recipients | messages sent | time (s) | messages/s | limit (msg/s) | use of limit | 429s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    # 1. The engine alone (assignment, entry, personalization) into a RecordingSink.
    with tempfile.TemporaryDirectory() as tmp:
        clock = FrozenClock(NOW)
        store = SQLiteStore(Path(tmp) / "rec.db")
        _seed(store, n * 5)
        engine = _engine(store, RecordingSink(), clock, None)
        cid = _launch(engine)
        t0 = time.perf_counter()
        rep = engine.run_occurrence(T, cid, "once")
        dt = time.perf_counter() - t0
        out.append(f"| engine only (RecordingSink) | {rep.entered:,} | {rep.submitted:,} | {dt:.2f} | "
                   f"{rep.submitted / dt:,.0f} | – | – | – |")
        store.close()
    # 2. Through the pipeline to the fake over loopback at the published limit.
    for senders in (1, 4):
        out.append(_through_pipeline(n, senders))
    return out


def _through_pipeline(n: int, senders: int) -> str:
    clock = FrozenClock(NOW)
    wa = WhatsAppCloudFake(clock=clock)
    iys = IysFake(clock=clock)
    limit = WhatsAppCloudFake.published_rate_limit
    assert limit is not None
    wa.add_template("waba-a", FakeTemplate("kis_a", "tr", "MARKETING", "Merhaba {{1}}, {{2}} için yeni sezon!"))
    wa.add_template("waba-a", FakeTemplate("kis_b", "tr", "MARKETING", "{{1}}, size özel %{{2}} indirim"))
    with tempfile.TemporaryDirectory() as tmp, Sandbox([wa, iys], clock=clock) as sb:
        store = SQLiteStore(Path(tmp) / "send.db")
        phones = _seed(store, n)
        for phone in phones:
            iys.seed_consent("700001", "700001", phone, "ONAY")
        wa.faults.configure(rate_limit=limit, seed=3)
        real = SystemClock()
        limiters = RateLimiterRegistry(real)
        retry = RetryPolicy(max_attempts=5, base_seconds=0.05, max_backoff_seconds=1.0, clock=real,
                            rng=random.Random(1))
        wa_client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001", "waba-a"), SecretStr("wa-token-a"),
                                        base_url=sb.url("whatsapp_cloud"), clock=clock, retry=retry,
                                        limiter_registry=limiters, timeout=10)
        iys_client = IysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("iys-pass-a"),
                               base_url=sb.url("iys"), clock=clock, retry=retry, limiter_registry=limiters,
                               timeout=10)
        consent = ConsentService(store.consents, store.messaging_contacts, checkpoints=store.checkpoints,
                                 clock=clock)
        consent.configure(T, source=iys_client, brand_code="700001")
        pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, {T: wa_client},
                                events=EventBus(store.events, clock), clock=clock,
                                default_settings=MessagingSettings(frequency_cap=None))
        engine = _engine(store, pipeline, clock, consent, senders=senders)
        cid = _launch(engine)
        t0 = time.perf_counter()
        rep = engine.run_occurrence(T, cid, "once")
        dt = time.perf_counter() - t0
        sent = len([r for r in wa.requests if r.path.endswith("/messages") and r.outcome == "ok"])
        throttled = wa.faults.counts["rate_limit"]
        assert rep.submitted == sent, (rep.submitted, sent, rep.refused, rep.failed)
        rate = sent / dt
        wa_client.close()
        iys_client.close()
        store.close()
    return (f"| engine → SendPipeline → WhatsApp fake (loopback), {senders} sender(s) | {rep.entered:,} | {sent:,} | "
            f"{dt:.2f} | {rate:,.1f} | {limit.rate:g} | {rate / limit.rate:.0%} | {throttled} |")
