"""Kill-and-resume worlds: the test sets one up (fakes on loopback in the test process, one SQLite
file), then runs ``python kill_world.py CONFIG`` until it prints ``done`` and exits 0; the test
SIGKILLs it at random moments, or starts it with ``INVEKTO_CRASH_AT_COMMIT=n`` so it kills itself
inside its n-th transaction, before COMMIT.

Time is the sandbox's frozen clock, owned by the test process: the child reads it on start and
moves it on (the control API) only after finishing a tick, so a killed child resumes at the tick it
was in, as a restarted deployment would, and an uninterrupted run goes through the same instants.

Modes (``config["mode"]``):
- ``orders``: the order sync backfills two tenants' Trendyol and Hepsiburada accounts;
- ``watcher``: the shipment watcher polls Aras and Yurtiçi parcels through their lifecycles, the
  cargo notifier announces the changes through the send pipeline to the WhatsApp fake;
- ``campaign``: each tenant's one-shot campaign runs and its messages go out through the pipeline.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from invekto_integrations.testing.crashpoints import install_from_env

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday, 12:00 in Istanbul
TENANTS = ("t1", "t2")
PHONE_IDS = {"t1": "1000000001", "t2": "1000000002"}
WABAS = {"t1": "waba-a", "t2": "waba-b"}
WA_TOKENS = {"t1": "wa-token-a", "t2": "wa-token-b"}
ARAS_LIFECYCLE = [(timedelta(hours=1), "1"), (timedelta(hours=6), "2"), (timedelta(hours=21), "4"),
                  (timedelta(hours=25), "6")]
YURTICI_LIFECYCLE = [(timedelta(hours=1), "ISR"), (timedelta(hours=6), "IND"), (timedelta(hours=25), "DLV")]
TICK = {"orders": timedelta(hours=1), "watcher": timedelta(hours=1), "campaign": timedelta(minutes=5)}
END = {"orders": START + timedelta(hours=2), "watcher": START + timedelta(hours=30),
       "campaign": START + timedelta(minutes=40)}


# -- the test's side ---------------------------------------------------------------------------------
def start_sandbox() -> Any:
    from invekto_integrations.core.clock import FrozenClock
    from invekto_integrations.testing.sandbox import Sandbox
    from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
    from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
    from invekto_integrations.testing.sandbox.fakes.iys import IysFake
    from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake
    from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import FakeTemplate, WhatsAppCloudFake
    from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

    clock = FrozenClock(START)
    wa = WhatsAppCloudFake(clock=clock)
    for waba in WABAS.values():
        wa.add_template(waba, FakeTemplate("kis_a", "tr", "MARKETING", "Merhaba {{1}}, {{2}} için yeni sezon geldi!"))
    fakes = [TrendyolFake(clock=clock, seed=11, orders_per_account=0), HepsiburadaFake(clock=clock, seed=11),
             ArasFake(clock=clock), YurticiFake(clock=clock), wa, IysFake(clock=clock)]
    return Sandbox(fakes, clock=clock).start()  # type: ignore[arg-type]


def setup(mode: str, path: Path, sandbox: Any, *, orders: int = 150, parcels: int = 4,
          audience: int = 12) -> dict[str, Any]:
    """Build the world in ``path``; returns the child's config."""
    from invekto_integrations.core.crypto import generate_key
    from invekto_integrations.storage import SQLiteStore

    key = generate_key()
    store = SQLiteStore(path)
    config: dict[str, Any] = {"mode": mode, "db": str(path), "key": key, "sandbox": sandbox.base_url,
                              "urls": {n: sandbox.url(n) for n in sandbox.names}}
    try:
        if mode == "orders":
            service = _accounts(store, key)
            for tenant in TENANTS:
                for name in ("trendyol", "hepsiburada"):
                    fake = sandbox.fake(name)
                    seller = fake.provision_account()
                    service.add(tenant, name, seller.credentials, settings=seller.settings)
                    fake.seed_orders(seller.account_key, orders, start=START - timedelta(days=25),
                                     end=START - timedelta(hours=1))
        elif mode == "watcher":
            watcher = _watcher(store, _frozen(START), {})
            for ti, tenant in enumerate(TENANTS):
                for i in range(parcels):
                    aras_no, yk_no = f"35{ti}{i:010d}", f"77{ti}{i:010d}"
                    sandbox.fake("aras").register_parcel("fake_user", aras_no, ARAS_LIFECYCLE,
                                                         start=START + timedelta(minutes=7 * i))
                    sandbox.fake("yurtici").register_parcel("YKTEST", yk_no, YURTICI_LIFECYCLE,
                                                            start=START + timedelta(minutes=7 * i))
                    for carrier, number, n in (("Aras Kargo", aras_no, 2 * i), ("Yurtiçi Kargo", yk_no, 2 * i + 1)):
                        watcher.register(tenant, carrier, number, customer_phone=f"+90532{ti}{n:06d}",
                                         external_order_id=f"O-{number}")
        elif mode == "campaign":
            from invekto_integrations.campaigns import CampaignManager, LastOrder, OneShotTrigger, Variant

            manager = CampaignManager(store.campaigns, store.contact_profiles, clock=_frozen(START))
            iys = sandbox.fake("iys")
            config["campaigns"] = {}
            for ti, tenant in enumerate(TENANTS):
                for i in range(audience):
                    phone = f"+90533{ti}{i:06d}"
                    if i:  # the first one has no consent: refused, every run alike
                        iys.seed_consent("700001", "700001", phone, "ONAY")
                    store.contact_profiles.record_order(tenant, phone, order_ref=f"trendyol:{tenant}:{i}",
                                                        at=START - timedelta(days=3 + i), total=Decimal(100),
                                                        platform="trendyol", products=[f"Ürün {i}"],
                                                        name=f"Müşteri {i}")
                c = manager.create(tenant, "Kış", trigger=OneShotTrigger(at=START),
                                   variants=[Variant(name="A", template_name="kis_a",
                                                     body_params=["name", "last_product"])],
                                   audience=LastOrder(within_days=90))
                manager.schedule(tenant, c.id)
                config["campaigns"][tenant] = c.id
        else:
            raise ValueError(mode)
    finally:
        store.close()
    return config


# -- shared wiring --------------------------------------------------------------------------------------
def _frozen(at: datetime) -> Any:
    from invekto_integrations.core.clock import FrozenClock

    return FrozenClock(at)


def _accounts(store: Any, key: str, clock: Any = None) -> Any:
    from invekto_integrations.accounts import AccountService
    from invekto_integrations.core.crypto import CredentialCipher, KeyRing
    from invekto_integrations.providers.hepsiburada import PROVIDER as HEPSIBURADA
    from invekto_integrations.providers.registry import ProviderRegistry
    from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL

    ring = KeyRing({"k1": base64.urlsafe_b64decode(key)})
    return AccountService(store.accounts, CredentialCipher(ring), registry=ProviderRegistry([TRENDYOL, HEPSIBURADA]),
                          clock=clock or _frozen(START))


def _watcher(store: Any, clock: Any, carriers: dict[str, Any]) -> Any:
    from invekto_integrations.models.shipments import ShipmentStatus
    from invekto_integrations.sync.shipments import PollPolicy, ShipmentWatcher

    policy = PollPolicy(intervals={s: timedelta(hours=1) for s in ShipmentStatus if not s.is_terminal},
                        error_backoff=timedelta(minutes=30), max_error_backoff=timedelta(hours=1))
    return ShipmentWatcher(store.shipments, store.events, lambda tenant, carrier: carriers.get(carrier),
                           orders=store.orders, clock=clock, policy=policy)


def _pipeline(store: Any, clock: Any, urls: dict[str, str]) -> tuple[Any, list[Any]]:
    from invekto_integrations.messaging import ConsentService, MessagingSettings, SendPipeline
    from invekto_integrations.providers.iys import IysClient, IysSettings
    from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings

    wa = {t: WhatsAppCloudClient(WhatsAppCloudSettings(PHONE_IDS[t], WABAS[t]), SecretStr(WA_TOKENS[t]),
                                 base_url=urls["whatsapp_cloud"], clock=clock, timeout=10) for t in TENANTS}
    iys = IysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("iys-pass-a"), base_url=urls["iys"],
                    clock=clock, timeout=10)
    consent = ConsentService(store.consents, store.messaging_contacts, checkpoints=store.checkpoints, clock=clock)
    for t in TENANTS:
        consent.configure(t, source=iys, brand_code="700001")
    pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, wa, events=store.events, clock=clock,
                            default_settings=MessagingSettings(frequency_cap=None,
                                                               sending_lease=timedelta(minutes=10)))
    return pipeline, [*wa.values(), iys]


# -- the child's side -------------------------------------------------------------------------------------
def _now(http: httpx.Client) -> datetime:
    return datetime.fromisoformat(http.get("/_sandbox/clock").json()["now"])


def _ticks(config: dict[str, Any], tick: Callable[[], None], clock: Any) -> None:
    mode = config["mode"]
    with httpx.Client(base_url=config["sandbox"], timeout=10) as http:
        while True:
            now = _now(http)
            if now >= END[mode]:
                return
            clock.set(now)
            tick()
            http.post("/_sandbox/clock", json={"to": (now + TICK[mode]).isoformat()})


def main() -> None:
    install_from_env()
    config = json.loads(Path(sys.argv[1]).read_text())
    from invekto_integrations.storage import SQLiteStore

    store = SQLiteStore(config["db"])
    clock = _frozen(START)
    urls: dict[str, str] = config["urls"]
    closers: list[Any] = []
    mode = config["mode"]
    if mode == "orders":
        from invekto_integrations.core.ratelimit import RateLimit
        from invekto_integrations.providers.base import ConnectOptions
        from invekto_integrations.sync import OrderSyncEngine, SyncSettings

        fast = RateLimit(1_000_000, 1.0, burst=1_000_000)
        engine = OrderSyncEngine.from_store(
            store, _accounts(store, config["key"], clock),
            options=lambda account: ConnectOptions(base_url=urls[account.provider], clock=clock, timeout=10,
                                                   rate_limit=fast),
            settings=SyncSettings(backfill=timedelta(days=30), chunk=timedelta(days=2)), clock=clock)
        closers.append(engine)
        loop = asyncio.new_event_loop()  # one loop for every tick: the engine keeps its async clients
        _ticks(config, lambda: loop.run_until_complete(engine.run()), clock)
    elif mode == "watcher":
        from invekto_integrations.models.shipments import ShipmentStatus
        from invekto_integrations.providers.aras import ArasClient
        from invekto_integrations.providers.yurtici import YurticiClient
        from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier

        carriers = {"aras": ArasClient("fake_user", "fake_pass", "1000000000001", base_url=urls["aras"], clock=clock,
                                       timeout=10),
                    "yurtici": YurticiClient("YKTEST", "YK", base_url=urls["yurtici"], clock=clock, timeout=10)}
        watcher = _watcher(store, clock, carriers)
        pipeline, clients = _pipeline(store, clock, urls)
        cargo = CargoMessageSettings(whatsapp_templates={ShipmentStatus.IN_TRANSIT: "kargo_yola_cikti",
                                                         ShipmentStatus.OUT_FOR_DELIVERY: "kargo_dagitimda",
                                                         ShipmentStatus.DELIVERED: "kargo_teslim_edildi"})
        notifier = CargoNotifier(store.events, store.cargo_notifications, pipeline, lambda t: cargo,
                                 shipments=store.shipments, clock=clock)
        closers += [*carriers.values(), *clients]

        def tick() -> None:
            for tenant in TENANTS:
                watcher.run_once(tenant)
                notifier.poll(tenant)
                notifier.resubmit_pending(tenant)
                pipeline.dispatch_due(tenant)

        _ticks(config, tick, clock)
    elif mode == "campaign":
        from invekto_integrations.campaigns import CampaignEngine, CustomerFacts

        pipeline, clients = _pipeline(store, clock, urls)
        closers += clients
        engine = CampaignEngine(
            campaigns=store.campaigns, recipients=store.campaign_recipients, conversions=store.campaign_conversions,
            profiles=store.contact_profiles, sink=pipeline, clock=clock,
            facts=CustomerFacts(contacts=store.messaging_contacts, clock=clock), consent=pipeline.consent,
            settings_repository=store.tenant_settings)

        def tick() -> None:
            for tenant in TENANTS:
                engine.run_occurrence(tenant, config["campaigns"][tenant], "once", at=START)
                pipeline.dispatch_due(tenant)

        _ticks(config, tick, clock)
    for c in closers:
        c.close()
    store.close()
    print("done", flush=True)


# -- what the test compares ---------------------------------------------------------------------------------
def final_state(mode: str, path: Path, sandbox: Any) -> dict[str, Any]:
    """The state an uninterrupted and a killed run must share (normalized: no ids of ours)."""
    from invekto_integrations.storage import SQLiteStore

    store = SQLiteStore(path)
    try:
        out: dict[str, Any] = {}
        if mode == "orders":
            out["orders"] = sorted((r["tenant_id"], r["provider"], r["external_order_id"], r["content_hash"])
                                   for r in store.db.execute("SELECT tenant_id, provider, external_order_id, "
                                                             "content_hash FROM orders_cache"))
        events = Counter()
        for t in TENANTS:
            for e in store.events.read(t, limit=1_000_000):
                d = e.data
                events[(t, e.type, d.get("provider"), d.get("external_order_id"), d.get("tracking_number"),
                        d.get("old_status"), d.get("new_status"), d.get("recipient"), d.get("status"))] += 1
        out["events"] = events
        outbox: dict[tuple[str, str], tuple[str, str | None]] = {}
        for t in TENANTS:
            for r in store.db.execute("SELECT idempotency_key, status, reason FROM outbox WHERE tenant_id = ?", (t,)):
                key = r["idempotency_key"]
                if key.startswith("campaign:"):
                    key = "campaign:*:" + key.rsplit(":", 2)[-2] + ":" + key.rsplit(":", 1)[-1]
                outbox[(t, key)] = (r["status"], r["reason"])
        out["outbox"] = outbox
        if mode == "campaign":
            out["recipients"] = sorted(
                (r["tenant_id"], r["phone"], r["status"]) for r in store.db.execute(
                    "SELECT tenant_id, phone, status FROM outbound_campaign_recipients"))
        wa = sandbox.fake("whatsapp_cloud")
        sent: Counter[tuple[str, str, str]] = Counter()
        for msg in list(wa.messages.values()):
            tpl = msg.payload.get("template") or {}
            params = [p.get("text", "") for c in tpl.get("components", []) if c.get("type") == "body"
                      for p in c.get("parameters", [])]
            sent[(msg.to, str(tpl.get("name")), params[1] if len(params) > 1 else "")] += 1
        out["sent"] = sent
        return out
    finally:
        store.close()


if __name__ == "__main__":
    main()
