"""The waitlist over the real send pipeline and the WhatsApp Cloud fake: the offer goes out as the
approved ``bekleme_listesi_teklif`` template, the patient's "Evet" comes back as a signed
webhook, and the engine books the slot from the event log."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from invekto_integrations.appointments.models import AppointmentStatus, OfferStatus
from invekto_integrations.appointments.waitlist import WaitlistEngine
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.messaging import ConsentService, MessagingWebhookHandler, SendPipeline, WebhookRoute
from invekto_integrations.providers.whatsapp_cloud import (
    WhatsAppCloudClient,
    WhatsAppCloudSettings,
    WhatsAppWebhooks,
)
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.storage.records import OutboxStatus
from invekto_integrations.testing.sandbox import Sandbox, WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import WhatsAppCloudFake

from .conftest import Clinic

IST = ZoneInfo("Europe/Istanbul")
PATIENT = "+905321111111"
_SENT = (OutboxStatus.ACCEPTED, OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ)


@pytest.fixture(params=["memory", "sqlite-file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Memory and a SQLite file. Not the shared-cache in-memory SQLite: the fake's status webhooks
    arrive on a worker thread while the pipeline writes, and shared-cache table locks
    (SQLITE_LOCKED) are not retried by busy_timeout."""
    s: Any = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "p.sqlite3")
    yield s
    s.close()


@pytest.fixture
def wired(store: Any, sleepless: Any) -> Iterator[tuple[Clinic, WaitlistEngine, WhatsAppCloudFake, SendPipeline]]:
    clinic = Clinic(store, now=datetime(2026, 2, 27, 9, 0, tzinfo=UTC))  # Friday 12:00 Istanbul
    fake = WhatsAppCloudFake(clock=clinic.clock)
    sandbox = Sandbox([fake], clock=clinic.clock)
    client = WhatsAppCloudClient(
        WhatsAppCloudSettings(phone_number_id="1000000001", waba_id="waba-a"), SecretStr("wa-token-a"),
        base_url=sandbox.inprocess_url("whatsapp_cloud"), transport=sandbox.transport(), clock=clinic.clock,
        retry=RetryPolicy(max_attempts=2, clock=clinic.clock, rng=random.Random(1)),
        limiter_registry=RateLimiterRegistry(sleepless),
    )
    consent = ConsentService(store.consents, store.messaging_contacts, clock=clinic.clock)
    pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, {"t1": client}, events=clinic.bus,
                            clock=clinic.clock)
    handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr("v"),
                                      routes={"1000000001": WebhookRoute("t1", SecretStr(fake.app_secret))},
                                      quarantine=store.quarantine)

    def serve(request: httpx.Request) -> httpx.Response:
        answer = handler.handle(request.method, dict(request.url.params), dict(request.headers), request.read())
        return httpx.Response(answer.status, text=answer.body)

    fake.webhook_url = "http://receiver.invalid/webhooks/whatsapp"
    fake.webhooks = WebhookDispatcher(transport=httpx.MockTransport(serve))
    engine = WaitlistEngine(store.waitlist, clinic.book, pipeline, store.events, clock=clinic.clock)
    yield clinic, engine, fake, pipeline
    fake.webhooks.drain()  # no webhook thread may touch the store after it is closed
    client.close()


def test_offer_sent_through_whatsapp_and_yes_books(wired: Any, store: Any) -> None:
    clinic, engine, fake, _pipeline = wired
    engine.join("t1", PATIENT, "Muayene", patient_name="Ali")
    start = datetime.combine(date(2026, 3, 2), time(10), tzinfo=IST)
    a = clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=start, patient_phone="+905320000000")
    clinic.book.cancel("t1", a.id)
    engine.run_once("t1")
    fake.webhooks.drain()  # status webhooks (sent, delivered, read) are delivered on a worker thread
    offer = store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING])[0]
    row = store.outbox.get_by_key("t1", f"waitlist_offer:{offer.id}")
    assert row is not None and row.status in _SENT and row.purpose == "waitlist_offer"
    sent = fake.messages[row.provider_message_id]
    assert sent.to == "905321111111" and sent.payload["template"]["name"] == "bekleme_listesi_teklif"
    assert offer.message_id == row.id
    fake.inject_inbound("905321111111", "Evet")
    fake.webhooks.drain()
    engine.run_once("t1")
    fake.webhooks.drain()
    done = store.waitlist.get_offer("t1", offer.id)
    assert done.status == OfferStatus.ACCEPTED
    booked = store.appointments.get("t1", done.appointment_id)
    assert booked.patient_phone == PATIENT and booked.status == AppointmentStatus.BOOKED
    assert booked.starts_at == start.astimezone(UTC)
    confirmation = store.outbox.get_by_key("t1", f"waitlist_booked:{offer.id}")
    assert confirmation is not None and confirmation.status in _SENT  # inside the 24-hour window
