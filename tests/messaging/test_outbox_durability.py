"""Early status webhooks survive another process; rows stuck in ``sending`` are reaped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.events import EventBus
from invekto_integrations.messaging import (
    ConsentService,
    MessageCategory,
    MessagingSettings,
    MessagingWebhookHandler,
    OutboundMessage,
    SendPipeline,
    TemplateRef,
    WebhookRoute,
)
from invekto_integrations.models.messaging import DeliveryStatus, StatusUpdate
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppWebhooks
from invekto_integrations.storage.records import OutboxRecord, OutboxStatus
from invekto_integrations.storage.sqlite import SQLiteStore
from invekto_integrations.testing.sandbox import WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import StatusTiming, WhatsAppCloudFake

from .conftest import PHONE, VERIFY_TOKEN, Harness, handler_transport


def cargo(key: str = "cargo-1") -> OutboundMessage:
    return OutboundMessage(tenant_id="t1", to_phone=PHONE, idempotency_key=key, category=MessageCategory.UTILITY,
                           purpose="cargo_status",
                           template=TemplateRef(name="order_shipped", body_params=["Ayşe", "#10234"]))


class WebhooksFirst:
    """The real client, but every status webhook reaches the receiver before the send returns
    (the race a separate webhook process wins)."""

    def __init__(self, real: WhatsAppCloudClient, fake: WhatsAppCloudFake) -> None:
        self.real = real
        self.fake = fake
        self.provider = real.provider

    def send_template(self, *a: Any, **kw: Any) -> Any:
        sent = self.real.send_template(*a, **kw)
        self.fake.webhooks.drain()
        return sent

    def send_text(self, *a: Any, **kw: Any) -> Any:
        sent = self.real.send_text(*a, **kw)
        self.fake.webhooks.drain()
        return sent


def stack(path: Path, clock: FrozenClock, providers: Any) -> tuple[SQLiteStore, SendPipeline]:
    store = SQLiteStore(path)
    consent = ConsentService(store.consents, store.messaging_contacts, checkpoints=store.checkpoints, clock=clock)
    pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, providers,
                            events=EventBus(store.events, clock), clock=clock)
    return store, pipeline


@pytest.fixture
def two_processes(tmp_path: Path, clock: FrozenClock, wa_client: WhatsAppCloudClient,
                  wa_fake: WhatsAppCloudFake) -> Iterator[tuple[SQLiteStore, SendPipeline, SQLiteStore, SendPipeline]]:
    wa_fake.status_timing = StatusTiming.immediate()
    path = tmp_path / "shared.sqlite3"
    # "process" A sends; "process" B only receives webhooks; they share nothing but the file
    store_a, sender = stack(path, clock, {"t1": WebhooksFirst(wa_client, wa_fake)})
    store_b, receiver = stack(path, clock, {})
    handler = MessagingWebhookHandler(receiver, WhatsAppWebhooks(), verify_token=SecretStr(VERIFY_TOKEN),
                                      routes={"1000000001": WebhookRoute("t1", SecretStr(wa_fake.app_secret))},
                                      quarantine=store_b.quarantine)
    wa_fake.webhook_url = "http://receiver.invalid/webhooks/whatsapp"
    wa_fake.webhooks = WebhookDispatcher(transport=handler_transport(handler))
    yield store_a, sender, store_b, receiver
    wa_fake.webhooks.close()
    store_a.close()
    store_b.close()


def test_statuses_received_by_another_process_before_the_id_is_stored_are_applied(
        two_processes: tuple[SQLiteStore, SendPipeline, SQLiteStore, SendPipeline]) -> None:
    store_a, sender, store_b, _ = two_processes
    result = sender.submit(cargo())
    assert result.status == "sent"
    row = store_a.outbox.get("t1", result.message_id)
    # B saw sent, delivered and read for an id it did not know; A applied them when it stored the id
    assert row is not None and row.status == OutboxStatus.READ
    assert row.sent_at and row.delivered_at and row.read_at
    assert store_b.outbox.get("t1", result.message_id) == row
    # nothing left behind in the pending table
    assert store_a.db.execute("SELECT COUNT(*) FROM pending_statuses").fetchone()[0] == 0
    assert sender.counts("t1")["cargo_status"].read == 1


def test_early_statuses_survive_a_restart_of_the_receiver(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "s.sqlite3"
    store, receiver = stack(path, clock, {})
    receiver.apply_status("t1", StatusUpdate(provider_message_id="wamid.X", channel_id="1000000001",
                                             status=DeliveryStatus.DELIVERED, timestamp=clock.now()))
    store.close()  # the webhook process restarts; the sender never shared its memory anyway
    store2, sender = stack(path, clock, {})
    now = clock.now()
    row = OutboxRecord(id="o1", tenant_id="t1", idempotency_key="k", purpose="p", category="utility",
                       to_phone=PHONE, message_json=cargo().model_dump_json(), status=OutboxStatus.SENDING,
                       due_at=now, created_at=now, updated_at=now)
    store2.outbox.insert_if_absent("t1", row)
    taken = store2.outbox.save_taking_statuses("t1", row.model_copy(update={
        "status": OutboxStatus.ACCEPTED, "provider_message_id": "wamid.X"}))
    assert [t.status for t in taken] == ["delivered"]
    # old statuses of ids never recorded here are purged by the dispatcher
    receiver2 = sender
    receiver2.apply_status("t1", StatusUpdate(provider_message_id="wamid.Y", channel_id="1000000001",
                                              status=DeliveryStatus.SENT, timestamp=clock.now()))
    clock.advance(timedelta(days=8).total_seconds())
    receiver2.dispatch_due("t1")
    assert store2.db.execute("SELECT COUNT(*) FROM pending_statuses").fetchone()[0] == 0
    store2.close()


# --- the reaper --------------------------------------------------------------------------------
def test_row_stuck_in_sending_after_a_crash_becomes_uncertain_after_the_lease(harness: Harness) -> None:
    harness.pipeline.configure("t1", MessagingSettings(sending_lease=timedelta(minutes=10)))

    class Crash(Exception):
        pass

    real = harness.pipeline._provider("t1")

    class CrashingProcess:
        provider = real.provider

        def send_template(self, *a: Any, **kw: Any) -> Any:
            raise Crash("the process dies mid-call")  # not an IntegrationError: nothing is recorded

        def send_text(self, *a: Any, **kw: Any) -> Any:
            raise Crash("the process dies mid-call")

    harness.pipeline._providers = {"t1": CrashingProcess()}  # type: ignore[dict-item]
    with pytest.raises(Crash):
        harness.pipeline.submit(cargo())
    row = harness.store.outbox.get_by_key("t1", "cargo-1")
    assert row is not None and row.status == OutboxStatus.SENDING
    harness.pipeline._providers = {"t1": real}  # a new process starts with a working provider

    harness.clock.advance(9 * 60)
    report = harness.pipeline.dispatch_due()
    assert report.reaped == 0 and report.attempted == 0
    assert harness.pipeline.counts("t1")["cargo_status"].pending == 1

    harness.clock.advance(2 * 60)
    report = harness.pipeline.dispatch_due()
    assert report.reaped == 1 and report.attempted == 0  # never resent: the call may have reached WhatsApp
    row = harness.store.outbox.get_by_key("t1", "cargo-1")
    assert row is not None and row.status == OutboxStatus.UNCERTAIN
    assert row.reason is not None and row.reason.startswith("lease_expired")
    counts = harness.pipeline.counts("t1")["cargo_status"]
    assert (counts.pending, counts.uncertain) == (0, 1)
    assert harness.pipeline.submit(cargo()).status == "duplicate"
    assert harness.pipeline.dispatch_due().reaped == 0
    assert len(harness.wa.requests_to("/messages", "POST")) == 0


def test_a_slow_send_that_answers_after_the_lease_still_records_the_message(harness: Harness) -> None:
    harness.pipeline.configure("t1", MessagingSettings(sending_lease=timedelta(minutes=1)))
    real = harness.pipeline._provider("t1")

    class Slow:
        provider = real.provider

        def send_template(self, *a: Any, **kw: Any) -> Any:
            harness.clock.advance(120)
            assert harness.pipeline.reap_stale("t1") == 1  # another worker reaps meanwhile
            return real.send_template(*a, **kw)

        def send_text(self, *a: Any, **kw: Any) -> Any:
            raise AssertionError("not expected")

    harness.pipeline._providers = {"t1": Slow()}  # type: ignore[dict-item]
    result = harness.pipeline.submit(cargo())
    assert result.status == "sent"
    row = harness.store.outbox.get("t1", result.message_id)
    assert row is not None and row.provider_message_id  # the provider's answer wins over the guess

