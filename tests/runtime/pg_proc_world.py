"""A world of engines over one PostgreSQL database and the provider sandbox on loopback, set up by
the test and run by each runtime process (``python pg_proc_world.py CONFIG OWNER``).

Three tenants, each with a Trendyol and a Hepsiburada seller (orders seeded in the fakes, some
shipped with Aras or Yurtiçi, whose parcels the carrier fakes move to delivered), Aras, Yurtiçi and
WhatsApp Cloud accounts. Each runtime process hosts what a service hosts, over HTTP to the fakes:

- the order sync (`OrderPollEngine`, every 2 s): ``OrderCreated`` / ``TrackingCodeAssigned`` events;
- the shipment watcher (`ShipmentWatcherEngine`): registers announced parcels, polls the carriers;
- the cargo notifier: a WhatsApp template per parcel status change, through the send pipeline;
- the outbox dispatcher (`OutboxDispatchEngine`, every second): sends rows a killed process left queued;
- ``confirm``: on each ``OrderCreated`` a delayed timer (1 s) that sends an order confirmation;
- a transactional ``probe``: records every order and shipment event and every timer occurrence,
  schedules a delayed timer per order (1 s) and beats every second. What it writes commits with the
  runtime's cursor move or timer firing, so ``probe_seen`` says exactly what was done, and how often.

Sends are at-most-once by the pipeline's design (a row is claimed ``sending`` before the call and a
row stuck there is never resent): the WhatsApp fake's received-message log is the proof.
"""

from __future__ import annotations

import base64
import faulthandler
import json
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from invekto_integrations import Integrations
from invekto_integrations.core.clock import FrozenClock, SystemClock
from invekto_integrations.core.crypto import KeyRing, generate_key
from invekto_integrations.messaging.base import OutboundMessage, TemplateRef
from invekto_integrations.messaging.pipeline import MessagingSettings
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.models.consent import MessageCategory
from invekto_integrations.models.events import (
    DomainEvent,
    OrderCreated,
    ShipmentStatusChanged,
    TrackingCodeAssigned,
)
from invekto_integrations.models.settings import QuietHours
from invekto_integrations.models.shipments import ShipmentStatus
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.runtime import BaseEngine, Engine, EngineContext, Runtime, Schedule, Timer
from invekto_integrations.runtime.engines import (
    CargoNotifierEngine,
    OrderPollEngine,
    OutboxDispatchEngine,
    ShipmentWatcherEngine,
)
from invekto_integrations.storage.postgres import PostgresStore
from invekto_integrations.storage.postgres.messaging import PostgresOutbox
from invekto_integrations.storage.records import OutboxRecord
from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier, carrier_for_company
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import WhatsAppCloudFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

TENANTS = ("t1", "t2", "t3")
PROBED = (OrderCreated.TYPE, TrackingCodeAssigned.TYPE, ShipmentStatusChanged.TYPE)
WA = {t: (f"wa-token-{t}", f"100000000{n}", f"waba-{t}") for n, t in enumerate(TENANTS, start=1)}
DELIVERED_ARAS = [(timedelta(hours=1), "1"), (timedelta(hours=2), "2"), (timedelta(hours=3), "6")]
DELIVERED_YURTICI = [(timedelta(hours=1), "ISR"), (timedelta(hours=2), "IND"), (timedelta(hours=3), "DLV")]
CARGO_TEMPLATES = {ShipmentStatus.IN_TRANSIT: "kargo_yola_cikti", ShipmentStatus.OUT_FOR_DELIVERY: "kargo_dagitimda",
                   ShipmentStatus.DELIVERED: "kargo_teslim_edildi"}


@dataclass
class Expected:
    orders: dict[str, int]  # tenant -> orders in the fakes
    parcels: dict[str, set[str]]  # tenant -> tracking numbers the carriers delivered


# -- the test's side --------------------------------------------------------------------------------
def start_sandbox() -> Sandbox:
    clock = FrozenClock(SystemClock().now())
    whatsapp = WhatsAppCloudFake(clock=clock, tokens={tok: waba for tok, _, waba in WA.values()},
                                 phone_numbers={pid: waba for _, pid, waba in WA.values()})
    fakes = [TrendyolFake(clock=clock, seed=3), HepsiburadaFake(clock=clock, seed=4), ArasFake(clock=clock),
             YurticiFake(clock=clock), whatsapp]
    return Sandbox(fakes, clock=clock).start()  # type: ignore[arg-type]


def _client(store: PostgresStore, key: str, urls: dict[str, str]) -> Integrations:
    ring = KeyRing({"k1": base64.urlsafe_b64decode(key)})

    def options(account: IntegrationAccount) -> ConnectOptions:
        return ConnectOptions(base_url=urls[account.provider], timeout=5.0)

    return Integrations(store, ring, clock=SystemClock(), registry=ProviderRegistry.load(), connect_options=options,
                        environ={})


def setup(url: str, sandbox: Sandbox, orders_per_account: int) -> tuple[dict[str, Any], Expected]:
    """Accounts, orders and parcels; returns the runtime processes' config and what must happen."""
    key = generate_key()
    urls = {name: sandbox.url(name) for name in ("trendyol", "hepsiburada", "aras", "yurtici", "whatsapp_cloud")}
    store = PostgresStore(url)
    client = _client(store, key, urls)
    expected = Expected({}, {})
    try:
        store.db.execute("CREATE TABLE IF NOT EXISTS probe_seen (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, "
                         "key TEXT NOT NULL, owner TEXT NOT NULL)")
        now = sandbox.clock.now()
        trendyol, hepsiburada = sandbox.fake("trendyol"), sandbox.fake("hepsiburada")
        aras, yurtici = sandbox.fake("aras"), sandbox.fake("yurtici")
        assert isinstance(trendyol, TrendyolFake) and isinstance(hepsiburada, HepsiburadaFake)
        assert isinstance(aras, ArasFake) and isinstance(yurtici, YurticiFake)
        for tenant in TENANTS:
            expected.orders[tenant] = 0
            expected.parcels[tenant] = set()
            for fake in (trendyol, hepsiburada):
                seller = fake.provision_account(f"{tenant} @ {fake.name}")
                client.accounts.add(tenant, fake.name, seller.credentials, settings=seller.settings)
                ids = fake.seed_orders(seller.account_key, orders_per_account, start=now - timedelta(days=10),
                                       end=now - timedelta(hours=4))
                expected.orders[tenant] += len(ids)
                for company, tracking in _parcels(fake, seller.account_key, ids):
                    carrier = carrier_for_company(company)
                    if carrier == "aras":
                        aras.register_parcel("fake_user", tracking, DELIVERED_ARAS, start=now - timedelta(hours=4))
                    elif carrier == "yurtici":
                        yurtici.register_parcel("YKTEST", tracking, DELIVERED_YURTICI, start=now - timedelta(hours=4))
                    else:
                        continue
                    expected.parcels[tenant].add(tracking)
            client.accounts.add(tenant, "aras", Credentials(api_key=SecretStr("fake_user"),
                                                            api_secret=SecretStr("fake_pass")),
                                settings={"customer_code": "1000000000001"})
            client.accounts.add(tenant, "yurtici", Credentials(api_key=SecretStr("YKTEST"), api_secret=SecretStr("YK")))
            token, pid, waba = WA[tenant]
            client.accounts.add(tenant, "whatsapp_cloud", Credentials(api_key=SecretStr(token)),
                                settings={"phone_number_id": pid, "waba_id": waba})
    finally:
        client.close()
        store.close()
    return {"url": url, "key": key, "urls": urls}, expected


def _parcels(fake: TrendyolFake | HepsiburadaFake, account: str, ids: list[str]) -> list[tuple[str, str]]:
    """(cargo company, tracking number) of the shipped orders, as the marketplace reports them."""
    out = []
    with fake._lock:
        if isinstance(fake, TrendyolFake):
            for i in ids:
                pkg = fake._account(account).packages[int(i)]
                if pkg.tracking_number is not None:
                    out.append((pkg.carrier, str(pkg.tracking_number)))
        else:
            for i in ids:
                order = fake._merchant(account).orders[i]
                if order.tracking_code:
                    out.append((order.cargo, order.tracking_code))
    return out


# -- the runtime's side -----------------------------------------------------------------------------
class Probe(BaseEngine):
    name = "probe"
    consumes = frozenset(PROBED)
    transactional = True

    def __init__(self, store: PostgresStore, owner: str) -> None:
        self.store = store
        self.owner = owner

    def _seen(self, tenant: str, kind: str, key: str) -> None:
        self.store.db.execute("INSERT INTO probe_seen VALUES (%s, %s, %s, %s)", (tenant, kind, key, self.owner))

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        self._seen(ctx.tenant_id, "event", event.event_id)
        if isinstance(event, OrderCreated):
            ctx.schedule(f"delayed:{event.event_id}", ctx.now() + timedelta(seconds=1))

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self._seen(ctx.tenant_id, "timer", timer.occurrence)

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [Schedule("beat", cron="* * * * * *")]  # every second


class Confirm(BaseEngine):
    """An order confirmation on WhatsApp a second after each new order (a delayed timer, then a send
    through the pipeline keyed by the order: a timer fired again after a crash sends nothing twice)."""

    name = "confirm"
    consumes = frozenset({OrderCreated.TYPE})

    def __init__(self, client: Integrations) -> None:
        self.client = client

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        if isinstance(event, OrderCreated) and event.customer_phone:
            ctx.schedule(f"confirm:{event.provider}:{event.external_order_id}", ctx.now() + timedelta(seconds=1),
                         {"phone": event.customer_phone, "order": event.external_order_id})

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self.client.messages.submit(OutboundMessage(
            tenant_id=ctx.tenant_id, to_phone=str(timer.payload["phone"]), idempotency_key=timer.key,
            purpose="order_confirmation", category=MessageCategory.UTILITY,
            template=TemplateRef(name="order_shipped", language="tr",
                                 body_params=["Müşterimiz", str(timer.payload["order"])])))


def build(config: dict[str, Any], owner: str) -> tuple[Integrations, Runtime]:
    store = PostgresStore(config["url"], max_connections=4)
    client = _client(store, config["key"], config["urls"])
    pipeline = client.messages.pipeline
    for tenant in TENANTS:  # sends at any hour of the test run, no caps
        pipeline.configure(tenant, MessagingSettings(quiet_hours=QuietHours(enabled=False), frequency_cap=None))
    cargo = CargoMessageSettings(whatsapp_templates=CARGO_TEMPLATES, max_age=timedelta(days=30),
                                 quiet_hours=QuietHours(enabled=False))
    notifier = CargoNotifier(store.events, store.cargo_notifications, pipeline, lambda tenant: cargo,
                             shipments=store.shipments, clock=client.clock)
    engines: list[Engine] = [
        OrderPollEngine(client.orders.engine, every="* * * * * */2"),
        ShipmentWatcherEngine(client.shipments.watcher, every="* * * * * *"),
        CargoNotifierEngine(notifier),
        OutboxDispatchEngine(pipeline, every="* * * * * *"),
        Confirm(client),
        Probe(store, owner),
    ]
    runtime = client.runtime(engines, owner=owner, tenants=TENANTS, lease_ttl=timedelta(seconds=2),
                             retry_backoff=timedelta(seconds=1))
    return client, runtime


def probe_rows(store: PostgresStore) -> list[tuple[str, str, str, str]]:
    return [(r["tenant_id"], r["kind"], r["key"], r["owner"])
            for r in store.db.fetchall("SELECT tenant_id, kind, key, owner FROM probe_seen")]


def outbox_rows(store: PostgresStore, tenant: str) -> list[OutboxRecord]:
    return [PostgresOutbox._row(r) for r in store.db.fetchall("SELECT * FROM outbox WHERE tenant_id = %s", (tenant,))]


def done(store: PostgresStore, expected: Expected, *, beats: int = 3) -> bool:
    """Everything that must happen has happened (checked from the test process)."""
    rows = probe_rows(store)
    for tenant in TENANTS:
        if store.orders.count(tenant) < expected.orders[tenant]:
            return False
        log = store.events.read(tenant, limit=100_000, types=list(PROBED))
        delivered = {e.data["tracking_number"] for e in log if e.type == ShipmentStatusChanged.TYPE
                     and e.data["new_status"] == ShipmentStatus.DELIVERED.value}
        if delivered < expected.parcels[tenant]:
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
        if store.outbox.due(tenant, SystemClock().now() + timedelta(days=1), limit=1):
            return False  # a message still waits to be sent
        confirm = store.timers.find(tenant, engine="confirm", state="pending")
        if confirm:
            return False
        changes = [e.seq for e in log if e.type == ShipmentStatusChanged.TYPE]
        if store.events.cursor(tenant, CargoNotifier.CONSUMER) < max(changes, default=0):
            return False
    return True


def main() -> None:
    config: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
    owner = sys.argv[2]
    client, runtime = build(config, owner)
    signal.signal(signal.SIGTERM, lambda *_: runtime.stop())
    faulthandler.register(signal.SIGUSR1)  # the test asks a stuck runtime where it is
    print(f"{owner} running", flush=True)
    runtime.run_forever(idle=0.05)
    client.close()
    client.store.close()
    print(f"{owner} stopped", flush=True)


if __name__ == "__main__":
    main()
