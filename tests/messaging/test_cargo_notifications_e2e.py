"""Cargo → messaging, end to end over real sockets.

A parcel is scripted through its lifecycle in the Aras fake; the `ShipmentWatcher` polls it over
HTTP and appends ``ShipmentStatusChanged``; the `CargoNotifier` renders the configured changes and
hands them to the real `SendPipeline`, which sends WhatsApp templates (UTILITY: no İYS check) to
the WhatsApp fake; the fake posts signed status webhooks to a loopback receiver running the
`MessagingWebhookHandler`, which moves each outbox row to ``read``. Everything is stored in one
SQLite file, and the whole service (watcher, notifier, pipeline, handler) is restarted midway.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus, decode_event
from invekto_integrations.messaging import (
    ConsentService,
    MessagingSettings,
    MessagingWebhookHandler,
    QuietHours,
    SendPipeline,
    WebhookRoute,
)
from invekto_integrations.models.events import ShipmentStatusChanged
from invekto_integrations.models.shipments import ShipmentStatus
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.providers.iys import IysClient, IysSettings
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings, WhatsAppWebhooks
from invekto_integrations.storage import MemoryStore
from invekto_integrations.storage.records import OutboxStatus
from invekto_integrations.storage.sqlite import SQLiteStore
from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier, PollPolicy, ShipmentWatcher
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.iys import IysFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import WhatsAppCloudFake

from .conftest import Receiver

pytestmark = pytest.mark.loopback

IST = ZoneInfo("Europe/Istanbul")
START = datetime(2026, 1, 5, 12, 0, tzinfo=IST)  # a Monday noon in Istanbul
PHONE = "+905321112233"
WA_ID = "905321112233"
TRACKING = "3500000000017"
# Aras DURUM_KODU: 1 at origin branch (picked_up), 2 on the way (in_transit), 4 out for delivery, 6 delivered.
LIFECYCLE = [
    (timedelta(hours=1), "1"),  # 13:00 — not announced (not in notify_on)
    (timedelta(hours=11, minutes=30), "2"),  # 23:30 — announced, held by quiet hours until 09:00
    (timedelta(hours=22), "4"),  # 10:00 next day — sent at once
    (timedelta(hours=25), "6"),  # 13:00 next day — sent at once
]
TEMPLATES = {
    ShipmentStatus.IN_TRANSIT: "kargo_yola_cikti",
    ShipmentStatus.OUT_FOR_DELIVERY: "kargo_dagitimda",
    ShipmentStatus.DELIVERED: "kargo_teslim_edildi",
}
FAST = PollPolicy(intervals={s: timedelta(minutes=10) for s in ShipmentStatus if not s.is_terminal})


@dataclass
class Service:
    """Everything a deployment would run, built over one SQLite file (rebuilt on a restart)."""

    store: SQLiteStore
    watcher: ShipmentWatcher
    notifier: CargoNotifier
    pipeline: SendPipeline
    handler: MessagingWebhookHandler
    clients: list[Any]

    def tick(self) -> None:
        self.watcher.run_once("t1")
        self.notifier.poll("t1")
        self.pipeline.dispatch_due("t1")

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.store.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    clock = FrozenClock(START.astimezone(UTC))
    aras = ArasFake(clock=clock)
    wa = WhatsAppCloudFake(clock=clock)
    iys = IysFake(clock=clock)
    with Sandbox([aras, wa, iys], clock=clock) as sb:
        receiver: Receiver | None = None

        def build() -> Service:
            store = SQLiteStore(tmp_path / "service.db")
            limiters = RateLimiterRegistry()
            retry = RetryPolicy(max_attempts=3, clock=clock, rng=random.Random(1))
            aras_client = ArasClient("fake_user", "fake_pass", "1000000000001", base_url=sb.url("aras"),
                                     clock=clock, retry=retry)
            wa_client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001", "waba-a"), SecretStr("wa-token-a"),
                                            base_url=sb.url("whatsapp_cloud"), clock=clock, retry=retry,
                                            limiter_registry=limiters, timeout=5)
            iys_client = IysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("iys-pass-a"),
                                   base_url=sb.url("iys"), clock=clock, retry=retry, limiter_registry=limiters,
                                   timeout=5)
            consent = ConsentService(store.consents, store.messaging_contacts, checkpoints=store.checkpoints,
                                     clock=clock)
            consent.configure("t1", source=iys_client, brand_code="700001")  # İYS is there, and not needed
            pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, {"t1": wa_client},
                                    events=EventBus(store.events, clock), clock=clock)
            watcher = ShipmentWatcher(store.shipments, store.events,
                                      lambda tenant, carrier: aras_client if carrier == "aras" else None,
                                      orders=store.orders, clock=clock, policy=FAST)
            notifier = CargoNotifier(store.events, store.cargo_notifications, pipeline,
                                     {"t1": CargoMessageSettings(whatsapp_templates=TEMPLATES)},
                                     shipments=store.shipments, clock=clock)
            handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr("verify-me"),
                                              routes={"1000000001": WebhookRoute("t1", SecretStr(wa.app_secret))},
                                              quarantine=store.quarantine, clock=clock)
            return Service(store, watcher, notifier, pipeline, handler, [aras_client, wa_client, iys_client])

        service = build()
        receiver = Receiver(service.handler)
        wa.webhook_url = receiver.url
        try:
            yield {"clock": clock, "aras": aras, "wa": wa, "iys": iys, "build": build, "service": service,
                   "receiver": receiver}
        finally:
            receiver.stop()


def template_sends(wa: WhatsAppCloudFake) -> list[tuple[datetime, str, list[str]]]:
    out = []
    for r in wa.requests_to("/messages", "POST"):
        body = r.json()
        if body.get("type") == "template":
            params = [p["text"] for c in body["template"]["components"] if c["type"] == "body"
                      for p in c["parameters"]]
            out.append((r.at, body["template"]["name"], params))
    return out


def test_parcel_lifecycle_to_read_whatsapp_templates(world: dict[str, Any]) -> None:
    clock: FrozenClock = world["clock"]
    aras: ArasFake = world["aras"]
    wa: WhatsAppCloudFake = world["wa"]
    iys: IysFake = world["iys"]
    receiver: Receiver = world["receiver"]
    service: Service = world["service"]

    aras.register_parcel("fake_user", TRACKING, LIFECYCLE)
    service.watcher.register("t1", "Aras Kargo", TRACKING, customer_phone=PHONE, external_order_id="PKG-1")

    restart_at = START + timedelta(hours=14)  # 02:00, while the 23:30 message is held
    end = START + timedelta(hours=27)
    restarts = 0
    while clock.now() < end:
        if clock.now() == restart_at.astimezone(UTC):  # the service restarts over the same SQLite file
            service.close()
            service = world["build"]()
            receiver.handler = service.handler
            restarts += 1
        service.tick()
        wa.tick()  # the platform's statuses that became due on the sandbox clock
        wa.webhooks.drain()
        clock.advance(minutes=10)

    assert restarts == 1
    store = service.store
    changes = [(e.data["old_status"], e.data["new_status"], e.occurred_at.astimezone(IST))
               for e in store.events.read("t1", types=[ShipmentStatusChanged.TYPE])]
    assert [(old, new) for old, new, _ in changes] == [
        ("pending", "picked_up"), ("picked_up", "in_transit"), ("in_transit", "out_for_delivery"),
        ("out_for_delivery", "delivered")]
    assert changes[1][2] == datetime(2026, 1, 5, 23, 30, tzinfo=IST)

    # exactly one template send per configured change, none duplicated across the restart
    sends = template_sends(wa)
    assert [name for _, name, _ in sends] == ["kargo_yola_cikti", "kargo_dagitimda", "kargo_teslim_edildi"]
    assert len(wa.requests_to("/messages", "POST")) == 3
    # the 23:30 change waited for the end of quiet hours: sent at 09:00 Istanbul, not before, not twice
    assert sends[0][0].astimezone(IST) == datetime(2026, 1, 6, 9, 0, tzinfo=IST)
    assert sends[1][0].astimezone(IST) == datetime(2026, 1, 6, 10, 0, tzinfo=IST)
    assert sends[2][0].astimezone(IST) == datetime(2026, 1, 6, 13, 0, tzinfo=IST)
    carrier_label, tracking, url = sends[0][2]
    assert (carrier_label, tracking) == ("Aras Kargo", TRACKING) and url.startswith("http")
    for _, name, params in sends:  # the fake refuses a template with a missing or wrong parameter count
        assert len(params) == 3 and all(params)

    # UTILITY needs no İYS consent: İYS was configured and never asked
    assert iys.requests == []

    # the signed status webhooks came back over HTTP, were verified, and every row reached read
    deliveries = wa.webhooks.delivered
    assert deliveries and all(d.status == 200 for d in deliveries)
    statuses = [json.loads(d.body)["entry"][0]["changes"][0]["value"]["statuses"][0] for d in deliveries]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"] * 3
    assert {s["pricing"]["category"] for s in statuses} == {"utility"}
    rows = [store.outbox.get_by_key("t1", CargoNotifier.idempotency_key("aras", TRACKING, s))
            for s in ("in_transit", "out_for_delivery", "delivered")]
    assert [r.status if r else None for r in rows] == [OutboxStatus.READ] * 3
    assert all(r and r.sent_at and r.delivered_at and r.read_at for r in rows)
    counts = service.pipeline.counts("t1", purpose="cargo_status")["cargo_status"]
    assert (counts.total, counts.sent, counts.delivered, counts.read, counts.failed) == (3, 3, 3, 3, 0)
    notes = store.cargo_notifications.find("t1")
    assert sorted(n.status for n in notes) == ["delivered", "in_transit", "out_for_delivery"]
    held = next(n for n in notes if n.status == "in_transit")
    assert held.submit_status == "scheduled"
    assert held.not_before == datetime(2026, 1, 6, 9, 0, tzinfo=IST)

    # the worst case at the seam: the notifier's own outbox is lost and every change is handed over
    # again: the pipeline's idempotency keys keep WhatsApp from seeing any of them twice
    amnesiac = CargoNotifier(store.events, MemoryStore().cargo_notifications, service.pipeline,
                             {"t1": CargoMessageSettings(whatsapp_templates=TEMPLATES)},
                             shipments=store.shipments, clock=clock)
    for stored in store.events.read("t1", types=[ShipmentStatusChanged.TYPE]):
        amnesiac.handle("t1", decode_event(stored.type, stored.version, stored.data))
    assert service.pipeline.dispatch_due().attempted == 0
    assert len(wa.requests_to("/messages", "POST")) == 3
    service.close()


def test_the_cargo_option_owns_quiet_hours_for_cargo_messages(world: dict[str, Any]) -> None:
    """The notifier applies the cargo option's quiet hours; the pipeline does not apply the tenant's
    (different) ones on top (they would otherwise add up to the union of both)."""
    clock: FrozenClock = world["clock"]
    aras: ArasFake = world["aras"]
    wa: WhatsAppCloudFake = world["wa"]
    service: Service = world["service"]
    # the tenant's general quiet hours cover noon; the cargo option has none
    service.pipeline.configure("t1", MessagingSettings(quiet_hours=QuietHours(start=time(12, 0), end=time(14, 0))))
    service.notifier = CargoNotifier(
        service.store.events, service.store.cargo_notifications, service.pipeline,
        {"t1": CargoMessageSettings(whatsapp_templates={ShipmentStatus.PICKED_UP: "kargo_yola_cikti"},
                                    notify_on=frozenset({ShipmentStatus.PICKED_UP}),
                                    quiet_hours=QuietHours(enabled=False))},
        shipments=service.store.shipments, clock=clock)
    aras.register_parcel("fake_user", "777", [(timedelta(minutes=30), "1")])
    service.watcher.register("t1", "aras", "777", customer_phone=PHONE)
    for _ in range(6):
        service.tick()
        clock.advance(minutes=10)
    wa.tick()
    wa.webhooks.drain()
    # picked_up at 12:30 went out at once although 12:00–14:00 is quiet for the tenant's other messages
    row = service.store.outbox.get_by_key("t1", CargoNotifier.idempotency_key("aras", "777", "picked_up"))
    assert row is not None and row.accepted_at is not None
    assert row.accepted_at.astimezone(IST) == datetime(2026, 1, 5, 12, 30, tzinfo=IST)
    assert row.status == OutboxStatus.READ
    service.close()


def test_text_notifications_need_the_customer_service_window(world: dict[str, Any]) -> None:
    """Without ``whatsapp_templates`` the notifier hands over free text: outside the 24-hour window the
    pipeline fails it with `OutsideServiceWindow` before any call; inside (the customer wrote
    "Kargom nerede?" an hour ago) it goes out as text."""
    clock: FrozenClock = world["clock"]
    aras: ArasFake = world["aras"]
    wa: WhatsAppCloudFake = world["wa"]
    service: Service = world["service"]
    service.notifier = CargoNotifier(
        service.store.events, service.store.cargo_notifications, service.pipeline,
        {"t1": CargoMessageSettings(notify_on=frozenset({ShipmentStatus.PICKED_UP, ShipmentStatus.IN_TRANSIT}))},
        shipments=service.store.shipments, clock=clock)
    aras.register_parcel("fake_user", "888", [(timedelta(minutes=30), "1"), (timedelta(hours=3), "2")])
    service.watcher.register("t1", "aras", "888", customer_phone=PHONE)
    for _ in range(6):
        service.tick()
        clock.advance(minutes=10)
    picked = service.store.outbox.get_by_key("t1", CargoNotifier.idempotency_key("aras", "888", "picked_up"))
    assert picked is not None and picked.status == OutboxStatus.FAILED and picked.reason == "OutsideServiceWindow"
    assert wa.requests_to("/messages", "POST") == []
    wa.inject_inbound(WA_ID, "Kargom nerede?")
    wa.webhooks.drain()
    for _ in range(18):
        service.tick()
        clock.advance(minutes=10)
    wa.tick()
    wa.webhooks.drain()
    moving = service.store.outbox.get_by_key("t1", CargoNotifier.idempotency_key("aras", "888", "in_transit"))
    assert moving is not None and moving.status == OutboxStatus.READ
    [sent] = wa.requests_to("/messages", "POST")
    assert sent.json()["type"] == "text" and "Kargonuz yola çıktı" in sent.json()["text"]["body"]
    service.close()
