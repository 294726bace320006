"""The shipment watcher and cargo notifier against the sandbox fakes (in-process, SQLite on disk)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cargo_world import ARAS_LIFECYCLE, START, YURTICI_LIFECYCLE

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.crypto import CredentialCipher, KeyRing
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.messaging.base import OutboundMessage, RecordingSink, SubmitResult
from invekto_integrations.messaging.quiet_hours import QuietHours
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.models.events import ShipmentStatusChanged, TrackingCodeAssigned
from invekto_integrations.models.shipments import ShipmentStatus
from invekto_integrations.providers.aras import ArasClient, AsyncArasClient
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.yurtici import AsyncYurticiClient, YurticiClient
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.storage.records import CachedOrder
from invekto_integrations.sync.shipments import (
    AccountCarriers,
    AsyncShipmentWatcher,
    CargoMessageSettings,
    CargoNotifier,
    ShipmentWatcher,
    carrier_for_company,
)
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

IST = ZoneInfo("Europe/Istanbul")
PHONE = "+905321112233"


class ListSink:
    """Records every submit, without deduplication: a duplicate hand-over would show here."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    def submit(self, message: OutboundMessage) -> SubmitResult:
        self.messages.append(message)
        return SubmitResult(message_id=str(len(self.messages)), status="scheduled" if message.not_before else "queued")


def sync_carriers(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> Callable[[str, str], Any]:
    clients: dict[str, Any] = {
        "aras": ArasClient("fake_user", "fake_pass", "1000000000001", base_url=sandbox.inprocess_url("aras"),
                           transport=sandbox.transport(), clock=clock, retry=retry),
        "yurtici": YurticiClient("YKTEST", "YK", base_url=sandbox.inprocess_url("yurtici"),
                                 transport=sandbox.transport(), clock=clock, retry=retry),
    }
    return lambda tenant, carrier: clients.get(carrier) if tenant in ("t1", "t2") else None


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cargo.sqlite"


@pytest.fixture
def parcels(aras_fake: ArasFake, yurtici_fake: YurticiFake) -> None:
    aras_fake.register_parcel("fake_user", "3500000000017", ARAS_LIFECYCLE, reference="INV2024001")
    yurtici_fake.register_parcel("YKTEST", "ORD2024001", YURTICI_LIFECYCLE)


def build(store: Any, carriers: Callable[[str, str], Any], clock: FrozenClock,
          sink: Any) -> tuple[ShipmentWatcher, CargoNotifier]:
    watcher = ShipmentWatcher(store.shipments, store.events, carriers, orders=store.orders, clock=clock)
    notifier = CargoNotifier(store.events, store.cargo_notifications, sink, {"t1": CargoMessageSettings()},
                             shipments=store.shipments, clock=clock)
    return watcher, notifier


def announce(store: Any, clock: FrozenClock) -> None:
    store.events.append("t1", [TrackingCodeAssigned(
        tenant_id="t1", occurred_at=clock.now(), provider="trendyol", account_id="acc-1",
        external_order_id="PKG-1", tracking_code="3500000000017", cargo_company="Aras Kargo Marketplace",
        customer_phone=PHONE, dedupe_key="trk:PKG-1",
    )], at=clock.now())


def status_events(store: Any, tenant: str = "t1") -> list[tuple[str, str | None, str]]:
    rows = store.events.read(tenant, types=[ShipmentStatusChanged.TYPE])
    return [(r.data["tracking_number"], r.data["old_status"], r.data["new_status"]) for r in rows]


def test_lifecycle_events_and_messages_exactly_once_across_restart(
    sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy, db_path: Path, parcels: None,
    aras_fake: ArasFake, yurtici_fake: YurticiFake,
) -> None:
    carriers = sync_carriers(sandbox, clock, retry)
    sink = ListSink()
    store = SQLiteStore(db_path)
    watcher, notifier = build(store, carriers, clock, sink)
    announce(store, clock)
    watcher.register("t1", "Yurtiçi Kargo", "ORD2024001", customer_phone=PHONE)
    for step in range(30 * 6):  # 30 hours in 10-minute ticks
        if step == 15 * 6:  # restart: new objects over the same SQLite file
            store.close()
            store = SQLiteStore(db_path)
            watcher, notifier = build(store, carriers, clock, sink)
        watcher.run_once("t1")
        notifier.poll("t1")
        clock.advance(minutes=10)

    chain = [("pending", "picked_up"), ("picked_up", "in_transit"), ("in_transit", "out_for_delivery"),
             ("out_for_delivery", "delivered")]
    events = status_events(store)
    assert len(events) == 8
    for tn in ("3500000000017", "ORD2024001"):
        assert [(old, new) for t, old, new in events if t == tn] == chain
    keys = [m.idempotency_key for m in sink.messages]
    assert sorted(keys) == sorted({
        f"cargo_status:{c}:{tn}:{s}" for c, tn in (("aras", "3500000000017"), ("yurtici", "ORD2024001"))
        for s in ("in_transit", "out_for_delivery", "delivered")
    })  # one per configured change, none duplicated
    aras_msgs = [m for m in sink.messages if m.metadata["carrier"] == "aras"]
    assert aras_msgs[0].text and "Kargonuz yola çıktı" in aras_msgs[0].text
    assert aras_msgs[0].metadata["external_order_id"] == "PKG-1"
    assert all(m.category == "utility" and m.purpose == "cargo_status" and m.to_phone == PHONE
               for m in sink.messages)
    assert [n.submit_status for n in store.cargo_notifications.find("t1")].count(None) == 0

    # Terminal: stored, history kept, and the carriers are not asked again.
    aras_row = store.shipments.get("t1", "aras", "3500000000017")
    assert aras_row.status == "delivered" and not aras_row.active and aras_row.next_poll_at is None
    assert aras_row.delivered_at == START + timedelta(hours=25)
    assert aras_row.source == "order" and aras_row.external_order_id == "PKG-1"
    assert [h.location for h in store.shipments.history("t1", "aras", "3500000000017")] == [
        "KADIKÖY", "ORHANLI TRANSFER", "ÇANKAYA", "ÇANKAYA", "ÇANKAYA"]
    calls = len(aras_fake.requests) + len(yurtici_fake.requests)
    clock.advance(hours=48)
    store.close()
    store = SQLiteStore(db_path)
    watcher, notifier = build(store, carriers, clock, sink)
    assert watcher.run_once("t1").polled == 0 and notifier.poll("t1") == 0
    assert len(aras_fake.requests) + len(yurtici_fake.requests) == calls
    store.close()


def test_overlapping_runs_emit_one_event(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy, db_path: Path,
                                         parcels: None) -> None:
    carriers = sync_carriers(sandbox, clock, retry)
    store_a, store_b = SQLiteStore(db_path), SQLiteStore(db_path)
    a = ShipmentWatcher(store_a.shipments, store_a.events, carriers, clock=clock)
    a.register("t1", "aras", "3500000000017")
    clock.advance(hours=2)
    stale = store_b.shipments.due("t1", clock.now())  # B read its batch before A saved

    class StaleDue:
        def __getattr__(self, name: str) -> Any:
            return getattr(store_b.shipments, name)

        def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[Any]:
            return stale

    b = ShipmentWatcher(StaleDue(), store_b.events, carriers, clock=clock)  # type: ignore[arg-type]
    report_a, report_b = a.poll_due("t1"), b.poll_due("t1")
    assert report_a.changed == report_b.changed == 1
    assert report_a.events + report_b.events == 1
    assert status_events(store_a) == [("3500000000017", "pending", "picked_up")]
    store_a.close()
    store_b.close()


def test_message_due_at_2330_waits_for_quiet_hours_end(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
                                                       aras_fake: ArasFake) -> None:
    night = datetime(2026, 1, 5, 23, 30, tzinfo=IST)
    clock.set(night - timedelta(hours=3))
    aras_fake.register_parcel("fake_user", "777", [(timedelta(hours=1), "1"), (timedelta(hours=3), "2")])
    store = MemoryStore()
    sink = RecordingSink()
    watcher, notifier = build(store, sync_carriers(sandbox, clock, retry), clock, sink)
    watcher.register("t1", "aras", "777", customer_phone=PHONE)
    watcher.poll_due("t1")
    clock.set(night)
    store.shipments.save("t1", store.shipments.get("t1", "aras", "777").model_copy(update={"next_poll_at": night}))
    watcher.poll_due("t1")
    assert notifier.poll("t1") == 1
    (message,) = sink.messages
    assert message.metadata["status"] == "in_transit"
    assert message.not_before == datetime(2026, 1, 6, 9, 0, tzinfo=IST)
    assert message.not_before.astimezone(UTC) == datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
    (row,) = store.cargo_notifications.find("t1")
    assert row.submit_status == "scheduled" and row.not_before == message.not_before


def test_adaptive_interval_and_stop(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy, parcels: None) -> None:
    store = MemoryStore()
    watcher = ShipmentWatcher(store.shipments, store.events, sync_carriers(sandbox, clock, retry), clock=clock)
    watcher.register("t1", "aras", "3500000000017")
    watcher.poll_due("t1")
    row = store.shipments.get("t1", "aras", "3500000000017")
    assert row.status == "pending" and row.next_poll_at == clock.now() + timedelta(hours=3)
    clock.set(START + timedelta(hours=22))
    watcher.poll_due("t1")
    row = store.shipments.get("t1", "aras", "3500000000017")
    assert row.status == "out_for_delivery" and row.next_poll_at == clock.now() + timedelta(minutes=20)
    clock.set(START + timedelta(hours=26))
    report = watcher.poll_due("t1")
    assert report.stopped == 1
    assert store.shipments.due("t1", clock.now() + timedelta(days=365)) == []


def test_unknown_carrier_is_recorded_not_polled(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
                                                aras_fake: ArasFake) -> None:
    store = MemoryStore()
    watcher = ShipmentWatcher(store.shipments, store.events, sync_carriers(sandbox, clock, retry), clock=clock)
    row = watcher.register("t1", "MNG Kargo", "MNG123")
    assert row.carrier == "unknown:mngkargo" and not row.active and row.cargo_company == "MNG Kargo"
    assert watcher.poll_due("t1").polled == 0
    assert store.shipments.find("t1") == [row]


@pytest.mark.parametrize(("name", "carrier"), [
    ("Aras Kargo", "aras"), ("Aras Kargo Marketplace", "aras"), ("ARAS", "aras"), ("ArasKargo", "aras"),
    ("Yurtiçi Kargo", "yurtici"), ("Yurtiçi Kargo Marketplace", "yurtici"), ("YURTİÇİ KARGO", "yurtici"),
    ("yurtici", "yurtici"), ("MNG Kargo", None), ("PTT Kargo", None), ("Sürat Kargo", None), ("", None), (None, None),
])
def test_carrier_for_company(name: str | None, carrier: str | None) -> None:
    assert carrier_for_company(name) == carrier


def test_tracking_events_take_the_phone_from_the_orders_cache(sandbox: Sandbox, clock: FrozenClock,
                                                              retry: RetryPolicy) -> None:
    store = MemoryStore()
    store.orders.upsert_many("t1", [CachedOrder(
        id="o1", tenant_id="t1", provider="trendyol", account_id="acc", external_order_id="PKG-9",
        customer_phone=PHONE, tracking_code="YK-55", order_status="shipped", ordered_at=clock.now(),
        order_data_json="{}", content_hash="h", synced_at=clock.now(), created_at=clock.now(),
    )])
    store.events.append("t1", [TrackingCodeAssigned(
        tenant_id="t1", occurred_at=clock.now(), provider="trendyol", account_id="acc", external_order_id="PKG-9",
        tracking_code="YK-55", cargo_company="Yurtiçi Kargo Marketplace"),
        TrackingCodeAssigned(tenant_id="t1", occurred_at=clock.now(), provider="trendyol", account_id="acc",
                             external_order_id="PKG-10", tracking_code="X1", cargo_company="Horoz Lojistik"),
    ], at=clock.now())
    watcher = ShipmentWatcher(store.shipments, store.events, sync_carriers(sandbox, clock, retry),
                              orders=store.orders, clock=clock)
    assert watcher.ingest_tracking_events("t1") == 2
    assert watcher.ingest_tracking_events("t1") == 0  # own cursor
    row = store.shipments.get("t1", "yurtici", "YK-55")
    assert row.customer_phone == PHONE and row.external_order_id == "PKG-9" and row.order_provider == "trendyol"
    assert store.shipments.get("t1", "unknown:horozlojistik", "X1") is not None
    again = watcher.register_from_orders("t1", "YK-55", "Yurtiçi Kargo")
    assert again == row


def test_errors_back_off_and_do_not_stop_the_others(sandbox: Sandbox, clock: FrozenClock, aras_fake: ArasFake,
                                                    yurtici_fake: YurticiFake, parcels: None) -> None:
    store = MemoryStore()
    no_retry = RetryPolicy.disabled()
    watcher = ShipmentWatcher(store.shipments, store.events, sync_carriers(sandbox, clock, no_retry), clock=clock)
    watcher.register("t1", "aras", "3500000000017")
    watcher.register("t1", "yurtici", "ORD2024001")
    watcher.register("t1", "yurtici", "GHOST")  # NotFound at the carrier
    clock.advance(hours=2)
    aras_fake.faults.configure(error_rate=1.0)
    report = watcher.poll_due("t1")
    assert report.polled == 3 and report.errors == 2 and report.changed == 1
    failed = store.shipments.get("t1", "aras", "3500000000017")
    assert failed.error_count == 1 and "unable to process" in (failed.last_error or "")
    assert failed.next_poll_at == clock.now() + timedelta(minutes=15)
    ghost = store.shipments.get("t1", "yurtici", "GHOST")
    assert ghost.next_poll_at == clock.now() + timedelta(hours=3) and ghost.last_error
    clock.advance(minutes=15)
    watcher.poll_due("t1")
    assert store.shipments.get("t1", "aras", "3500000000017").next_poll_at == clock.now() + timedelta(minutes=30)
    aras_fake.faults.clear()
    clock.advance(minutes=30)
    watcher.poll_due("t1")
    healed = store.shipments.get("t1", "aras", "3500000000017")
    assert healed.status == "picked_up" and healed.error_count == 0 and healed.last_error is None


def test_no_account_for_the_carrier(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> None:
    store = MemoryStore()
    watcher = ShipmentWatcher(store.shipments, store.events, sync_carriers(sandbox, clock, retry), clock=clock)
    watcher.register("t9", "aras", "1")
    report = watcher.poll_due("t9")
    assert report.errors == 1 and "no active account" in store.shipments.get("t9", "aras", "1").last_error


def test_notifier_options(clock: FrozenClock) -> None:
    store = MemoryStore()
    sink = RecordingSink()

    def change(tenant: str, tn: str, new: str, phone: str | None = PHONE, age: timedelta = timedelta()) -> None:
        store.events.append(tenant, [ShipmentStatusChanged(
            tenant_id=tenant, occurred_at=clock.now() - age, carrier="yurtici", tracking_number=tn,
            old_status="pending", new_status=new, customer_phone=phone)], at=clock.now())

    settings = {
        "t1": CargoMessageSettings(notify_on=frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.PICKED_UP}),
                                   whatsapp_templates={ShipmentStatus.PICKED_UP: "cargo_picked_up_v1"},
                                   quiet_hours=QuietHours(enabled=False)),
        "t2": CargoMessageSettings(enabled=False),
    }
    notifier = CargoNotifier(store.events, store.cargo_notifications, sink, settings, clock=clock)
    change("t1", "A", "in_transit")  # not configured
    change("t1", "B", "delivered", phone=None)  # no phone
    change("t1", "C", "delivered", age=timedelta(days=3))  # stale backfill
    change("t1", "D", "picked_up")  # template mode
    change("t1", "E", "delivered")
    change("t2", "F", "delivered")  # tenant opted out
    change("t3", "G", "delivered")  # tenant without settings
    for tenant in ("t1", "t2", "t3"):
        notifier.poll(tenant)
    assert [m.metadata["tracking_number"] for m in sink.messages] == ["D", "E"]
    template_msg, text_msg = sink.messages
    assert template_msg.text is None and template_msg.template is not None
    assert template_msg.template.name == "cargo_picked_up_v1"
    assert template_msg.template.body_params[:2] == ["Yurtiçi Kargo", "D"]
    assert text_msg.text and text_msg.text.startswith("Teslim edildi") and text_msg.not_before is None
    # Recovery: a row recorded but never handed over is submitted on request, once.
    assert notifier.resubmit_pending("t1") == 0


async def test_async_watcher_same_result(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
                                         parcels: None) -> None:
    clients: dict[str, Any] = {
        "aras": AsyncArasClient("fake_user", "fake_pass", "1000000000001", base_url=sandbox.inprocess_url("aras"),
                                transport=sandbox.async_transport(), clock=clock, retry=retry),
        "yurtici": AsyncYurticiClient("YKTEST", "YK", base_url=sandbox.inprocess_url("yurtici"),
                                      transport=sandbox.async_transport(), clock=clock, retry=retry),
    }
    store = MemoryStore()
    watcher = AsyncShipmentWatcher(store.shipments, store.events, lambda t, c: clients.get(c), clock=clock)
    watcher.register("t1", "aras", "3500000000017")
    watcher.register("t1", "yurtici", "ORD2024001")
    for _ in range(30 * 3):
        await watcher.run_once("t1")
        clock.advance(minutes=20)
    assert [e[2] for e in status_events(store)].count("delivered") == 2
    assert len(status_events(store)) == 8
    for c in clients.values():
        await c.aclose()


@pytest.fixture
def account_service(clock: FrozenClock) -> Iterator[tuple[AccountService, MemoryStore]]:
    store = MemoryStore()
    cipher = CredentialCipher(KeyRing({"k1": os.urandom(32)}))
    yield AccountService(store.accounts, cipher, clock=clock), store


def test_account_carriers_use_registered_providers(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
                                                   parcels: None,
                                                   account_service: tuple[AccountService, MemoryStore]) -> None:
    service, store = account_service
    from pydantic import SecretStr

    service.add("t1", "aras", Credentials(api_key=SecretStr("fake_user"), api_secret=SecretStr("fake_pass")),
                settings={"customer_code": "1000000000001"})
    options = ConnectOptions(base_url=sandbox.inprocess_url("aras"), transport=sandbox.transport(), clock=clock,
                             retry=retry)
    carriers = AccountCarriers(service, options)
    assert carriers("t1", "yurtici") is None
    watcher = ShipmentWatcher(store.shipments, store.events, carriers, clock=clock)
    watcher.register("t1", "aras", "3500000000017")
    clock.advance(hours=2)
    assert watcher.poll_due("t1").changed == 1
    assert carriers("t1", "aras") is carriers("t1", "aras")
    carriers.close()


def test_crash_between_event_and_save_does_not_duplicate(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
                                                         db_path: Path, parcels: None) -> None:
    from invekto_integrations.models.events import decode_event

    carriers = sync_carriers(sandbox, clock, retry)
    sink = ListSink()
    store = SQLiteStore(db_path)
    watcher, notifier = build(store, carriers, clock, sink)
    watcher.register("t1", "aras", "3500000000017", customer_phone=PHONE)
    clock.set(START + timedelta(hours=7))
    before = store.shipments.get("t1", "aras", "3500000000017")
    assert watcher.poll_due("t1").events == 1
    store.shipments.save("t1", before)  # the process died before the new status was saved
    store.close()

    store = SQLiteStore(db_path)
    watcher, notifier = build(store, carriers, clock, sink)
    report = watcher.poll_due("t1")
    assert report.changed == 1 and report.events == 0  # same dedupe key: the log refuses it
    assert status_events(store) == [("3500000000017", "pending", "in_transit")]
    assert store.shipments.get("t1", "aras", "3500000000017").status == "in_transit"

    assert notifier.poll("t1") == 1
    (stored,) = store.events.read("t1", types=[ShipmentStatusChanged.TYPE])
    notifier.handle("t1", decode_event(stored.type, stored.version, stored.data))  # delivered again
    assert len(sink.messages) == 1
    store.close()


def test_run_all_covers_every_tenant(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
                                     parcels: None) -> None:
    store = MemoryStore()
    sink = RecordingSink()
    watcher, _ = build(store, sync_carriers(sandbox, clock, retry), clock, sink)
    notifier = CargoNotifier(store.events, store.cargo_notifications, sink,
                             lambda tenant: CargoMessageSettings(quiet_hours=QuietHours(enabled=False)), clock=clock)
    watcher.register("t1", "aras", "3500000000017", customer_phone=PHONE)
    watcher.register("t2", "yurtici", "ORD2024001", customer_phone=PHONE)
    clock.set(START + timedelta(hours=7))
    reports = watcher.run_all()
    assert set(reports) == {"t1", "t2"} and all(r.changed == 1 for r in reports.values())
    assert notifier.poll_all() == {"t1": 1, "t2": 1}
    assert sorted(m.tenant_id for m in sink.messages) == ["t1", "t2"]


def test_refused_carrier_login_marks_account_and_stops_asking(
        sandbox: Sandbox, aras_fake: ArasFake, clock: FrozenClock, retry: RetryPolicy,
        account_service: tuple[AccountService, MemoryStore]) -> None:
    """Issue 3: a refused login marks the carrier account invalid_credentials, evicts the connector and
    reschedules (not errors) that carrier's other due parcels; later polls do not call the carrier until
    the credentials are replaced."""
    from pydantic import SecretStr

    from invekto_integrations.models.accounts import AccountStatus

    service, store = account_service
    numbers = ["3500000000017", "3500000000024", "3500000000031"]
    for n in numbers:
        aras_fake.register_parcel("fake_user", n, ARAS_LIFECYCLE)
    account = service.add("t1", "aras", Credentials(api_key=SecretStr("fake_user"), api_secret=SecretStr("wrong")),
                          settings={"customer_code": "1000000000001"})
    options = ConnectOptions(base_url=sandbox.inprocess_url("aras"), transport=sandbox.transport(), clock=clock,
                             retry=retry)
    carriers = AccountCarriers(service, options)
    watcher = ShipmentWatcher(store.shipments, store.events, carriers, clock=clock)
    for n in numbers:
        watcher.register("t1", "aras", n)
    clock.advance(hours=2)

    calls = len(aras_fake.requests)
    report = watcher.poll_due("t1")
    assert len(aras_fake.requests) - calls == 1  # one refused call, not one per parcel
    assert (report.errors, report.skipped) == (1, 2)
    assert store.accounts.get("t1", account.id).status == AccountStatus.INVALID_CREDENTIALS
    assert carriers("t1", "aras") is None and carriers.suspended("t1", "aras")
    rows = {n: store.shipments.get("t1", "aras", n) for n in numbers}
    skipped = [r for r in rows.values() if r.error_count == 0]
    assert len(skipped) == 2 and all(r.last_error is None and r.active and r.next_poll_at > clock.now()
                                     for r in skipped)

    clock.advance(days=1)  # everything is due again: still no call with the bad login
    calls = len(aras_fake.requests)
    report = watcher.poll_due("t1")
    assert len(aras_fake.requests) == calls
    assert (report.polled, report.errors, report.skipped) == (0, 0, 3)

    service.set_credentials(store.accounts.get("t1", account.id),
                            Credentials(api_key=SecretStr("fake_user"), api_secret=SecretStr("fake_pass")))
    assert not carriers.suspended("t1", "aras")
    clock.advance(days=1)
    report = watcher.poll_due("t1")
    assert report.skipped == 0 and report.errors == 0 and report.changed == 3
    assert store.accounts.get("t1", account.id).status == AccountStatus.ACTIVE
    carriers.close()


async def test_refused_login_async_watcher(sandbox: Sandbox, aras_fake: ArasFake, clock: FrozenClock,
                                           retry: RetryPolicy,
                                           account_service: tuple[AccountService, MemoryStore]) -> None:
    from pydantic import SecretStr

    from invekto_integrations.models.accounts import AccountStatus

    service, store = account_service
    for n in ("3500000000017", "3500000000024"):
        aras_fake.register_parcel("fake_user", n, ARAS_LIFECYCLE)
    account = service.add("t1", "aras", Credentials(api_key=SecretStr("fake_user"), api_secret=SecretStr("wrong")),
                          settings={"customer_code": "1000000000001"})
    options = ConnectOptions(base_url=sandbox.inprocess_url("aras"), async_transport=sandbox.async_transport(),
                             clock=clock, retry=retry)
    carriers = AccountCarriers(service, options, use_async=True)
    watcher = AsyncShipmentWatcher(store.shipments, store.events, carriers, clock=clock)
    for n in ("3500000000017", "3500000000024"):
        watcher.register("t1", "aras", n)
    clock.advance(hours=2)
    calls = len(aras_fake.requests)
    report = await watcher.poll_due("t1")
    assert len(aras_fake.requests) - calls == 1 and (report.errors, report.skipped) == (1, 1), report
    assert store.accounts.get("t1", account.id).status == AccountStatus.INVALID_CREDENTIALS
    await carriers.aclose()


# -- issue 13, defect 3: one hostile answer stops nothing -------------------------------------------------
def test_a_hostile_answer_is_that_parcels_error_and_the_watcher_goes_on(
        sandbox: Sandbox, clock: FrozenClock, aras_fake: ArasFake, parcels: None) -> None:
    from invekto_integrations.testing.sandbox.fakes.aras import envelope

    store = MemoryStore()
    clients = sync_carriers(sandbox, clock, RetryPolicy.disabled())

    class Exploding:  # a connector whose parser lets a raw error out for one parcel
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def track(self, tracking_number: str) -> Any:
            if tracking_number == "BOOM":
                raise OverflowError("Python int too large to convert to C int")
            return self.inner.track(tracking_number)

    def carriers(tenant: str, carrier: str) -> Any:
        inner = clients(tenant, carrier)
        return Exploding(inner) if carrier == "yurtici" else inner

    watcher = ShipmentWatcher(store.shipments, store.events, carriers, clock=clock)
    watcher.register("t1", "aras", "3500000000017")
    watcher.register("t1", "yurtici", "BOOM")
    watcher.register("t1", "yurtici", "ORD2024001")
    clock.advance(hours=2)
    aras_fake.serve_raw(envelope("[" * 100_000 + "]" * 100_000).encode())  # nested past the recursion limit
    report = watcher.poll_due("t1")
    assert report.polled == 3 and report.errors == 2 and report.changed == 1
    nested = store.shipments.get("t1", "aras", "3500000000017")
    assert nested is not None and nested.error_count == 1 and "nested too deeply" in (nested.last_error or "")
    exotic = store.shipments.get("t1", "yurtici", "BOOM")
    assert exotic is not None and "OverflowError" in (exotic.last_error or "")
