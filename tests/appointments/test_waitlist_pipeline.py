"""The waitlist over the real send pipeline and the WhatsApp Cloud fake: the offer goes out as the
approved ``bekleme_listesi_teklif`` template, the patient's "Evet" comes back as a signed
webhook, and the engine books the slot from the event log."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
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
    yield from wire(store, sleepless, datetime(2026, 2, 27, 9, 0, tzinfo=UTC))  # Friday 12:00 Istanbul


def wire(store: Any, sleepless: Any,
         now: datetime) -> Iterator[tuple[Clinic, WaitlistEngine, WhatsAppCloudFake, SendPipeline]]:
    clinic = Clinic(store, now=now)
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
    sandbox.stop()  # closes the fake's webhook dispatcher: no webhook thread touches the store after this
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


@pytest.fixture
def late_evening(store: Any, sleepless: Any) -> Iterator[tuple[Clinic, WaitlistEngine, WhatsAppCloudFake,
                                                             SendPipeline]]:
    # Sunday 2026-03-01 23:30 Istanbul: inside the pipeline's quiet hours (21:00-09:00)
    yield from wire(store, sleepless, datetime(2026, 3, 1, 23, 30, tzinfo=IST).astimezone(UTC))


def at(clinic: Clinic, day: int, hour: int, minute: int = 0, second: int = 0) -> None:
    clinic.clock.set(datetime(2026, 3, day, hour, minute, second, tzinfo=IST))


def cancel_monday_11(clinic: Clinic, engine: WaitlistEngine) -> Any:
    engine.join("t1", PATIENT, "Muayene", patient_name="Ali")
    start = datetime.combine(date(2026, 3, 2), time(11), tzinfo=IST)
    a = clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=start, patient_phone="+905320000000")
    clinic.book.cancel("t1", a.id)
    return start


def test_a_slot_freed_at_2330_is_held_from_0900_when_the_offer_goes_out(late_evening: Any, store: Any) -> None:
    clinic, engine, fake, pipeline = late_evening
    cancel_monday_11(clinic, engine)
    engine.run_once("t1")
    [offer] = store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING])
    row = store.outbox.get("t1", offer.message_id)
    assert row.status == OutboxStatus.SCHEDULED  # quiet hours: the message waits for 09:00
    assert row.due_at == datetime(2026, 3, 2, 9, 0, tzinfo=IST)
    # the 30-minute hold counts from 09:00, when the patient can see the offer
    assert offer.expires_at == datetime(2026, 3, 2, 9, 30, tzinfo=IST)
    at(clinic, 2, 0, 5)
    engine.run_once("t1")
    assert store.waitlist.get_offer("t1", offer.id).status == OfferStatus.PENDING
    at(clinic, 2, 9, 0)
    assert pipeline.dispatch_due().accepted == 1
    at(clinic, 2, 9, 20)
    fake.tick()
    fake.inject_inbound("905321111111", "Evet")
    fake.webhooks.drain()
    engine.run_once("t1")
    done = store.waitlist.get_offer("t1", offer.id)
    assert done.status == OfferStatus.ACCEPTED and done.appointment_id is not None


def test_an_offer_delayed_further_by_the_provider_is_held_from_its_acceptance(late_evening: Any,
                                                                               store: Any) -> None:
    clinic, engine, fake, pipeline = late_evening
    cancel_monday_11(clinic, engine)
    engine.run_once("t1")
    [offer] = store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING])
    # at 09:00 WhatsApp throttles for 10 minutes (too long for the client to wait): the pipeline queues
    # the message again
    fake.faults.configure(script=["rate_limit"], retry_after_seconds=600)
    at(clinic, 2, 9, 0)
    report = pipeline.dispatch_due()
    assert report.deferred == 1
    at(clinic, 2, 9, 31)  # past expires_at, but the patient has not seen the offer yet
    engine.run_once("t1")
    waiting = store.waitlist.get_offer("t1", offer.id)
    assert waiting.status == OfferStatus.PENDING
    assert waiting.expires_at >= clinic.clock.now() + timedelta(minutes=30)  # the stored hold moved too
    at(clinic, 2, 9, 40)
    assert pipeline.dispatch_due().accepted == 1
    accepted_at = store.outbox.get("t1", offer.message_id).accepted_at
    clinic.clock.set(accepted_at + timedelta(minutes=29))
    engine.run_once("t1")
    held = store.waitlist.get_offer("t1", offer.id)
    assert held.status == OfferStatus.PENDING
    assert held.expires_at >= accepted_at + timedelta(minutes=30)  # what the slot finder reads
    clinic.clock.set(accepted_at + timedelta(minutes=30, seconds=1))
    engine.run_once("t1")
    assert store.waitlist.get_offer("t1", offer.id).status == OfferStatus.EXPIRED


def test_no_offer_when_the_message_could_not_reach_the_patient_in_time(late_evening: Any, store: Any) -> None:
    clinic, engine, _fake, _pipeline = late_evening
    engine.join("t1", PATIENT, "Muayene", patient_name="Ali")
    # Monday 09:30: the offer could go out at 09:00 only, less than min_notice (1 h) before the slot
    start = datetime.combine(date(2026, 3, 2), time(9, 30), tzinfo=IST)
    a = clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=start, patient_phone="+905320000000")
    clinic.book.cancel("t1", a.id)
    engine.run_once("t1")
    assert store.waitlist.find_offers("t1") == []
    assert store.outbox.status_counts("t1") == {}
    assert [e.status for e in store.waitlist.find("t1")] == ["waiting"]
