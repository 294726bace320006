"""A world of engines over one SQLite file, set up by the test and run by each runtime (a thread, or
a process started with ``python proc_world.py CONFIG``).

Two tenants; each has a reference-marketplace account ("alpha", served by the sandbox on loopback)
with orders, some of them shipped with Aras or Yurtiçi tracking codes whose parcels the carrier
fakes already delivered; and a clinic whose cancelled appointments wait for the waitlist. The
runtime hosts the order sync, the shipment watcher, the waitlist and a transactional probe that
records every event of interest and fires a delayed (1 s after each ``OrderCreated``) and a
recurring (every second) timer.
"""

from __future__ import annotations

import base64
import faulthandler
import json
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from invekto_integrations.accounts import AccountService
from invekto_integrations.appointments.booking import AppointmentBook
from invekto_integrations.appointments.models import Doctor, TimeRange
from invekto_integrations.appointments.pricing import PriceCatalog
from invekto_integrations.appointments.slots import SlotFinder
from invekto_integrations.appointments.waitlist import WaitlistEngine
from invekto_integrations.core.clock import Clock, FrozenClock, SystemClock
from invekto_integrations.core.crypto import CredentialCipher, KeyRing, generate_key
from invekto_integrations.events import EventBus
from invekto_integrations.messaging.base import RecordingSink
from invekto_integrations.models.events import (
    AppointmentCancelled,
    DomainEvent,
    OrderCreated,
    ShipmentStatusChanged,
    TrackingCodeAssigned,
    WaitlistOfferMade,
)
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.providers.yurtici import YurticiClient
from invekto_integrations.runtime import BaseEngine, Engine, EngineContext, Runtime, Schedule, Timer
from invekto_integrations.runtime.engines import OrderPollEngine, ShipmentWatcherEngine, WaitlistOfferEngine
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync.orders import OrderSyncEngine, SyncSettings
from invekto_integrations.sync.shipments import ShipmentWatcher
from invekto_integrations.testing.crashpoints import install_from_env
from invekto_integrations.testing.refmarket import RefMarketFake, make_refmarket_provider
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

TENANTS = ("t1", "t2")
ALPHA = make_refmarket_provider("alpha", "Alpha market")
IST = ZoneInfo("Europe/Istanbul")
PROBED = (OrderCreated.TYPE, TrackingCodeAssigned.TYPE, ShipmentStatusChanged.TYPE, AppointmentCancelled.TYPE,
          WaitlistOfferMade.TYPE)
DELIVERED_ARAS = [(timedelta(hours=1), "1"), (timedelta(hours=6), "2"), (timedelta(hours=25), "6")]
DELIVERED_YURTICI = [(timedelta(hours=1), "ISR"), (timedelta(hours=6), "IND"), (timedelta(hours=25), "DLV")]


@dataclass
class Expected:
    orders: dict[str, int]  # tenant -> orders in the fake
    parcels: dict[str, int]  # tenant -> parcels the carriers delivered
    cancelled: dict[str, list[str]]  # tenant -> cancelled appointment ids


# -- the test's side --------------------------------------------------------------------------------
def start_sandbox() -> Sandbox:
    clock = FrozenClock(SystemClock().now())
    sandbox = Sandbox([ALPHA.fake(clock=clock, seed=5), ArasFake(clock=clock), YurticiFake(clock=clock)],  # type: ignore[misc]
                      clock=clock)
    return sandbox.start()


def setup(path: Path, sandbox: Sandbox) -> tuple[dict[str, Any], Expected]:
    """Create the world in the file; returns the runtime processes' config and what must happen."""
    key = generate_key()
    store = SQLiteStore(path)
    store.db.execute("CREATE TABLE IF NOT EXISTS probe_seen (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, "
                     "key TEXT NOT NULL, owner TEXT NOT NULL)")
    now = SystemClock().now()
    service = _accounts(store, key, SystemClock())
    alpha = sandbox.fake("alpha")
    assert isinstance(alpha, RefMarketFake)
    aras, yurtici = sandbox.fake("aras"), sandbox.fake("yurtici")
    assert isinstance(aras, ArasFake) and isinstance(yurtici, YurticiFake)
    expected = Expected({}, {}, {})
    for tenant in TENANTS:
        seller = alpha.provision_account()
        service.add(tenant, "alpha", seller.credentials, settings=seller.settings)
        alpha.seed_orders(seller.account_key, 12, start=now - timedelta(days=20), end=now - timedelta(hours=2))
        ids = alpha.order_ids(seller.account_key)
        expected.orders[tenant] = len(ids)
        parcels = 0
        for order_id in ids:
            cargo = alpha.order(seller.account_key, order_id)["cargo"]
            tracking = cargo.get("trackingNumber")
            if not tracking:
                continue
            if cargo["provider"] == "Aras Kargo":
                aras.register_parcel("fake_user", str(tracking), DELIVERED_ARAS, start=now - timedelta(days=3))
                parcels += 1
            elif cargo["provider"] == "Yurtiçi Kargo":
                yurtici.register_parcel("YKTEST", str(tracking), DELIVERED_YURTICI, start=now - timedelta(days=3))
                parcels += 1
        expected.parcels[tenant] = parcels
        expected.cancelled[tenant] = _clinic_with_cancellations(store, tenant, now)
    store.close()
    config = {"db": str(path), "key": key, "alpha": sandbox.url("alpha"), "aras": sandbox.url("aras"),
              "yurtici": sandbox.url("yurtici")}
    return config, expected


def _accounts(store: SQLiteStore, key: str, clock: Clock) -> AccountService:
    ring = KeyRing({"k1": base64.urlsafe_b64decode(key)})
    return AccountService(store.accounts, CredentialCipher(ring), registry=ProviderRegistry([ALPHA]), clock=clock)


def _book(store: SQLiteStore, clock: Clock) -> AppointmentBook:
    slots = SlotFinder(store.appointments, store.doctors, store.service_pricing, waitlist=store.waitlist, clock=clock)
    return AppointmentBook(store.appointments, slots, EventBus(store.events, clock), clock=clock)


def _clinic_with_cancellations(store: SQLiteStore, tenant: str, now: datetime) -> list[str]:
    clock = SystemClock()
    PriceCatalog(store.service_pricing, clock=clock).create(tenant, "Muayene", "500", "500", 30)
    week = {d: [TimeRange(start=time(9), end=time(17))] for d in range(1, 6)}
    store.doctors.save(tenant, Doctor(id="d1", tenant_id=tenant, name="Dr. Genel", working_hours=week, created_at=now,
                              updated_at=now))
    book = _book(store, clock)
    waitlist = WaitlistEngine(store.waitlist, book, RecordingSink(), store.events, clock=clock)
    day = (now + timedelta(days=3)).astimezone(IST).date()
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    cancelled = []
    for i, hour in enumerate((10, 11, 14)):
        starts = datetime.combine(day, time(hour), tzinfo=IST).astimezone(UTC)
        appt = book.book(tenant, doctor_id="d1", service_name="Muayene", starts_at=starts,
                         patient_phone=f"+9053212300{i}0")
        waitlist.join(tenant, f"+9053298700{i}0", "Muayene", patient_name=f"Hasta {i}")
        book.cancel(tenant, appt.id)
        cancelled.append(appt.id)
    return cancelled


# -- the runtime's side -----------------------------------------------------------------------------
class Probe(BaseEngine):
    """Records each event of interest and each timer occurrence in ``probe_seen``, in the runtime's
    transaction (so a record exists exactly when the cursor moved or the occurrence was recorded)."""

    name = "probe"
    consumes = frozenset(PROBED)
    transactional = True

    def __init__(self, store: SQLiteStore, owner: str) -> None:
        self.store = store
        self.owner = owner

    def _seen(self, tenant: str, kind: str, key: str) -> None:
        self.store.db.execute("INSERT INTO probe_seen VALUES (?, ?, ?, ?)", (tenant, kind, key, self.owner))

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        self._seen(ctx.tenant_id, "event", event.event_id)
        if isinstance(event, OrderCreated):
            ctx.schedule_after(event, timedelta(seconds=1), key="delayed")

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self._seen(ctx.tenant_id, "timer", timer.occurrence)

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [Schedule("beat", cron="* * * * * *")]  # every second


def build(config: dict[str, Any], owner: str) -> tuple[SQLiteStore, Runtime]:
    store = SQLiteStore(config["db"])
    clock = SystemClock()
    bus = EventBus(store.events, clock)
    service = _accounts(store, config["key"], clock)
    orders = OrderSyncEngine.from_store(
        store, service, options=ConnectOptions(base_url=config["alpha"], timeout=5.0),
        settings=SyncSettings(backfill=timedelta(days=30)), clock=clock)
    aras = ArasClient("fake_user", "fake_pass", "1000000000001", base_url=config["aras"], clock=clock, timeout=5.0)
    yurtici = YurticiClient("YKTEST", "YK", base_url=config["yurtici"], clock=clock, timeout=5.0)
    carriers = {"aras": aras, "yurtici": yurtici}
    watcher = ShipmentWatcher(store.shipments, bus, lambda tenant, carrier: carriers.get(carrier),
                              orders=store.orders, clock=clock)
    waitlist = WaitlistEngine(store.waitlist, _book(store, clock), RecordingSink(), bus, clock=clock)
    engines: list[Engine] = [
        OrderPollEngine(orders, every="* * * * * */2"),
        ShipmentWatcherEngine(watcher, every="* * * * * *"),
        WaitlistOfferEngine(waitlist, every="* * * * * */5"),
        Probe(store, owner),
    ]
    runtime = Runtime(store, engines, clock=clock, owner=owner, tenants=TENANTS, bus=bus,
                      lease_ttl=timedelta(seconds=2), retry_backoff=timedelta(seconds=1))
    return store, runtime


def main() -> None:
    install_from_env()  # INVEKTO_CRASH_AT_COMMIT=n: SIGKILL itself inside its n-th transaction
    config = json.loads(Path(sys.argv[1]).read_text())
    owner = sys.argv[2]
    store, runtime = build(config, owner)
    signal.signal(signal.SIGTERM, lambda *_: runtime.stop())
    faulthandler.register(signal.SIGUSR1)  # the test asks a stuck runtime where it is
    print(f"{owner} running", flush=True)
    runtime.run_forever(idle=0.05)
    store.close()
    print(f"{owner} stopped", flush=True)


def probe_rows(store: SQLiteStore) -> list[tuple[str, str, str, str]]:
    return [(r[0], r[1], r[2], r[3]) for r in store.db.execute("SELECT tenant_id, kind, key, owner FROM probe_seen")]


def done(store: SQLiteStore, expected: Expected, *, beats: int = 3) -> bool:
    """Everything that must happen has happened (checked from any process)."""
    rows = probe_rows(store)
    for tenant in TENANTS:
        if store.orders.count(tenant) < expected.orders[tenant]:
            return False
        log = store.events.read(tenant, limit=100_000, types=list(PROBED))
        delivered = [e for e in log if e.type == ShipmentStatusChanged.TYPE]
        if len(delivered) < expected.parcels[tenant]:
            return False
        if sum(1 for e in log if e.type == WaitlistOfferMade.TYPE) < len(expected.cancelled[tenant]):
            return False
        seen = {k for t, kind, k, _ in rows if t == tenant and kind == "event"}
        if not {e.event_id for e in log} <= seen:
            return False
        created = sum(1 for e in log if e.type == OrderCreated.TYPE)
        timers = [k for t, kind, k, _ in rows if t == tenant and kind == "timer"]
        if sum(1 for k in timers if k.startswith("delayed:")) < created:
            return False
        if sum(1 for k in timers if k.startswith("beat@")) < beats:
            return False
    return True


if __name__ == "__main__":
    main()
