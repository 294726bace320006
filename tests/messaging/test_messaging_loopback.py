"""The headline flows over real sockets: sandbox on uvicorn, webhooks to a loopback receiver.

The WhatsApp fake posts signed status and inbound webhooks to a tiny Starlette app (on its own
uvicorn server) that mounts the framework-agnostic `MessagingWebhookHandler`; the pipeline
stores everything in SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import ConsentError
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.events import EventBus
from invekto_integrations.messaging import (
    ConsentService,
    MessageCategory,
    MessagingWebhookHandler,
    OutboundMessage,
    SendPipeline,
    TemplateRef,
    WebhookRoute,
)
from invekto_integrations.models.events import InboundMessageReceived, MessageStatusChanged
from invekto_integrations.providers.iys import IysClient, IysSettings
from invekto_integrations.providers.whatsapp_cloud import (
    WhatsAppCloudClient,
    WhatsAppCloudSettings,
    WhatsAppWebhooks,
    sign_body,
)
from invekto_integrations.storage.records import OutboxStatus
from invekto_integrations.storage.sqlite import SQLiteStore
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.iys import IysFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import WhatsAppCloudFake

from .conftest import PHONE, START, WA_ID, Receiver

pytestmark = pytest.mark.loopback


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    clock = FrozenClock(START)
    wa_fake = WhatsAppCloudFake(clock=clock)
    iys_fake = IysFake(clock=clock)
    store = SQLiteStore(tmp_path / "messaging.db")
    with Sandbox([wa_fake, iys_fake], clock=clock) as sb:
        limiters = RateLimiterRegistry()
        wa = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001", "waba-a"), SecretStr("wa-token-a"),
                                 base_url=sb.url("whatsapp_cloud"), clock=clock, limiter_registry=limiters, timeout=5)
        iys = IysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("iys-pass-a"), base_url=sb.url("iys"),
                        clock=clock, limiter_registry=limiters, timeout=5)
        consent = ConsentService(store.consents, store.messaging_contacts, checkpoints=store.checkpoints, clock=clock)
        consent.configure("t1", source=iys, brand_code="700001")
        pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, {"t1": wa},
                                events=EventBus(store.events, clock), clock=clock)
        handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr("verify-me"),
                                          routes={"1000000001": WebhookRoute("t1", SecretStr(wa_fake.app_secret))},
                                          quarantine=store.quarantine)
        receiver = Receiver(handler)
        wa_fake.webhook_url = receiver.url
        try:
            yield {"pipeline": pipeline, "store": store, "wa_fake": wa_fake, "iys_fake": iys_fake,
                   "receiver": receiver, "clock": clock}
        finally:
            receiver.stop()
            wa.close()
            iys.close()
            store.close()


def msg(key: str, category: MessageCategory = MessageCategory.MARKETING) -> OutboundMessage:
    marketing = category == MessageCategory.MARKETING
    template = (TemplateRef(name="kampanya_duyurusu", body_params=["Ayşe", "20"]) if marketing
                else TemplateRef(name="order_shipped", body_params=["Ayşe", "#10234"]))
    return OutboundMessage(tenant_id="t1", to_phone=PHONE, idempotency_key=key, category=category,
                           purpose="campaign" if category == MessageCategory.MARKETING else "cargo_status",
                           template=template)


def test_headline_flows_over_real_sockets(stack: dict[str, Any]) -> None:
    pipeline: SendPipeline = stack["pipeline"]
    store: SQLiteStore = stack["store"]
    wa_fake: WhatsAppCloudFake = stack["wa_fake"]
    iys_fake: IysFake = stack["iys_fake"]

    # handshake through the receiver
    hs = httpx.get(stack["receiver"].url, params={"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                                                   "hub.challenge": "987654"})
    assert (hs.status_code, hs.text) == (200, "987654")

    # a commercial send without consent is refused, before WhatsApp is called
    with pytest.raises(ConsentError) as refused:
        pipeline.send(msg("camp-no-consent"))
    assert refused.value.reason == "no_consent"
    assert wa_fake.requests_to("/messages", "POST") == []

    # with İYS consent: a template send, its signed status webhooks received and verified → read
    iys_fake.seed_consent("700001", "700001", PHONE, "ONAY")
    sent = pipeline.send(msg("camp-1"))
    assert sent.status == "sent"
    stack["clock"].advance(120)  # sent after 1 s, delivered after 3 s, read after 2 min (the fake's spacing)
    assert wa_fake.tick() == 3
    deliveries = wa_fake.webhooks.drain()
    assert [d.status for d in deliveries] == [200, 200, 200]
    row = store.outbox.get("t1", sent.message_id)
    assert row is not None and row.status == OutboxStatus.READ and row.read_at is not None
    assert [json.loads(d.body)["entry"][0]["changes"][0]["value"]["statuses"][0]["status"]
            for d in deliveries] == ["sent", "delivered", "read"]
    logged = store.events.read("t1", types=[MessageStatusChanged.TYPE])
    assert sorted(e.data["status"] for e in logged) == ["accepted", "delivered", "read", "sent"]
    counts = pipeline.counts("t1", purpose="campaign")["campaign"]
    assert (counts.sent, counts.delivered, counts.read, counts.refused) == (1, 1, 1, 1)

    # a retried send is not duplicated (neither by the caller nor by the dispatcher)
    assert pipeline.submit(msg("camp-1")).status == "duplicate"
    assert pipeline.dispatch_due().attempted == 0
    assert len(wa_fake.requests_to("/messages", "POST")) == 1
    # ... and a send the platform throttled goes out once, later
    wa_fake.faults.configure(script=["rate_limit"])
    throttled = pipeline.submit(msg("camp-throttled"))
    assert throttled.status == "queued" and "130429" in (throttled.reason or "")
    stack["clock"].advance(2)
    assert pipeline.dispatch_due().accepted == 1
    assert pipeline.submit(msg("camp-throttled")).status == "duplicate"
    assert pipeline.dispatch_due().attempted == 0
    assert len(wa_fake.requests_to("/messages", "POST")) == 3  # camp-1, the throttled try, its one retry
    wa_fake.webhooks.drain()

    # an inbound CTWA referral is parsed with its ctwa_clid
    wa_fake.inject_inbound(WA_ID, "Merhaba, kampanya hakkında bilgi alabilir miyim?", referral={})
    wa_fake.webhooks.drain()
    [inbound] = store.events.read("t1", types=[InboundMessageReceived.TYPE])
    assert inbound.data["ctwa_clid"].startswith("ARAkSandbox")
    assert inbound.data["referral"]["source_id"] == "120210000000000000"

    # an opt-out is honoured (commercial refused, transactional still delivered)
    wa_fake.inject_inbound(WA_ID, "DUR")
    wa_fake.webhooks.drain()
    with pytest.raises(ConsentError) as opted:
        pipeline.send(msg("camp-2"))
    assert opted.value.reason == "opted_out"
    assert pipeline.send(msg("cargo-1", MessageCategory.UTILITY)).status == "sent"
    wa_fake.webhooks.drain()

    # a webhook with a wrong signature is rejected and changes nothing; the same body signed with
    # the app secret is accepted (so the rejection is what kept it out)
    stranger = "905551234567"
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
                                        "metadata": {"display_phone_number": "908500000001",
                                                     "phone_number_id": "1000000001"},
                                        "messages": [{"from": stranger, "id": "wamid.forged", "type": "text",
                                                      "timestamp": str(int(START.timestamp())),
                                                      "text": {"body": "STOP"}}]}}]}]}).encode()
    before = len(store.events.read("t1"))
    for forged in (sign_body(body, "not-the-app-secret"), "sha256=" + "0" * 64, ""):
        bad = httpx.post(stack["receiver"].url, content=body,
                         headers={"X-Hub-Signature-256": forged, "Content-Type": "application/json"})
        assert bad.status_code == 401
    assert len(store.events.read("t1")) == before
    assert store.messaging_contacts.get("t1", "+" + stranger) is None
    good = httpx.post(stack["receiver"].url, content=body,
                      headers={"X-Hub-Signature-256": sign_body(body, wa_fake.app_secret),
                               "Content-Type": "application/json"})
    assert good.status_code == 200 and json.loads(good.text)["opt_outs"] == 1
    assert len(store.events.read("t1")) == before + 1
