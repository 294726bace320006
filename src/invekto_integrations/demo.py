"""`make demo`: the whole phase on loopback, two tenants, through the Integrations service.

    .venv/bin/python -m invekto_integrations.demo [--data-dir DIR] [--database-url URL] [--port N]

What it does, on a fresh machine and without network access:

1. starts the provider sandbox on 127.0.0.1 (Trendyol, Hepsiburada, Aras, Yurtiçi, WhatsApp Cloud,
   Meta, Google Calendar fakes) and the Integrations service on port 7106 (or a free loopback port
   when 7106 is taken; it says which), hosting the runtime (order sync, shipment watcher, cargo
   notifier, outbox dispatcher, attribution, calendar sync, waitlist);
2. connects two tenants: an e-commerce seller (Trendyol, Hepsiburada, Aras, Yurtiçi, WhatsApp,
   Meta ads) and a dental clinic (Google Calendar, WhatsApp, Meta ads); each gets an API token;
3. drives each feature through the service's REST API and its webhooks (signed as the providers
   sign them) where a route exists, and through the library where none does, checking each result;
4. writes each tenant's dashboard (``GET /v1/tenants/{t}/dashboard.html``) next to the SQLite file.

It exits 0 only when every check passed. Everything is kept in an embedded SQLite file (a temporary
directory unless ``--data-dir``), or with ``--database-url postgresql://...`` in the demo's own schema
``invekto_demo`` on that server (dropped and recreated; while `PostgresStore.MISSING` names
repositories, the order-sync demo runs there instead), on the sandbox's frozen clock, which the
demo moves on explicitly.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.accounts import Credentials

__all__ = ["DEMO_PORT", "Check", "choose_port", "main", "run_demo"]

DEMO_PORT = 7106
PROVIDERS = ("trendyol", "hepsiburada", "aras", "yurtici", "whatsapp_cloud", "meta", "google_calendar")
SHOP, CLINIC = "moda-istanbul", "gulus-dis"
SHOP_LABEL, CLINIC_LABEL = "Moda İstanbul (e-commerce)", "Gülüş Diş Kliniği (dental)"
START = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Istanbul
CUSTOMER_NAME = "Ayşe Yılmaz"
CUSTOMER_PHONE = "+905324123456"
APP_SECRET = "sandbox-app-secret"  # noqa: S105 - the WhatsApp fake's fixed app secret
VERIFY_TOKEN = "demo-verify-token"  # noqa: S105 - a demo's own webhook verify token
PHONE_IDS = {SHOP: "1000000001", CLINIC: "1000000002"}
WABAS = {SHOP: "waba-a", CLINIC: "waba-b"}
IST = ZoneInfo("Europe/Istanbul")
AYSE_CAL = "dr.ayse@klinik-a.example"
WA_TOKENS = {SHOP: "wa-token-a", CLINIC: "wa-token-b"}


def choose_port(preferred: int = DEMO_PORT, host: str = "127.0.0.1") -> tuple[int, bool]:
    """``preferred`` when it is free on ``host``, else a free port the system picks; and whether it
    was the preferred one."""
    if preferred:
        with socket.socket() as s:
            try:
                s.bind((host, preferred))
                return preferred, True
            except OSError:
                pass
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1]), False


@dataclass
class Check:
    """Every verified result, in order: a step counts as failed when any of its checks failed."""

    out: TextIO
    failures: list[str] = field(default_factory=list)
    passed: int = 0

    def __call__(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            self.out.write(f"    ok    {what}{(': ' + detail) if detail else ''}\n")
        else:
            self.failures.append(what)
            self.out.write(f"    FAIL  {what}{(': ' + detail) if detail else ''}\n")
        return ok


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll ``condition`` (real time) until it returns something truthy; the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = condition()
    return value


class Api:
    """The platform's side: HTTP calls to the service with a tenant's Bearer token."""

    def __init__(self, base_url: str, tokens: dict[str, str]) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.http = httpx.Client(base_url=base_url, timeout=30.0)

    def __call__(self, method: str, tenant: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[tenant]}"}
        return self.http.request(method, f"/v1/tenants/{tenant}{path}", headers=headers, **kw)

    def close(self) -> None:
        self.http.close()


@contextmanager
def _serving(app: Any, port: int) -> Iterator[None]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="invekto-service", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(30)


class _Progress:
    """Plain text progress of a backfill: one line per account per 25 % step."""

    def __init__(self, out: TextIO, labels: dict[str, str]) -> None:
        self.out = out
        self.labels = labels
        self.shown: dict[str, int] = {}

    def __call__(self, p: Any) -> None:
        step = 4 if p.done else int(p.fraction * 4)
        if self.shown.get(p.account_id, -1) >= step:
            return
        self.shown[p.account_id] = step
        filled = int(p.fraction * 20)
        self.out.write(f"    [{'#' * filled}{'.' * (20 - filled)}] {p.fraction:4.0%}  "
                       f"{self.labels.get(p.account_id, p.account_id):<26} fetched {p.fetched:>4}, "
                       f"new {p.inserted:>4}\n")


class Demo:
    """The demo's state: the sandbox client, the service, the API, the checks."""

    def __init__(self, client: Any, api: Api, check: Check, out: TextIO, data_dir: Path) -> None:
        self.client = client
        self.api = api
        self.check = check
        self.out = out
        self.data_dir = data_dir
        self.clock: FrozenClock = client.clock
        self.store = client.store
        self.fakes = client.fakes
        self.reports: dict[str, Path] = {}
        self.runtime: Any = None
        self.waitlist: Any = None
        self.summary: list[str] = []

    def step(self, title: str) -> None:
        self.out.write(f"\n{title}\n")

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta).total_seconds())

    # -- 1. tenants --------------------------------------------------------------------------------
    def connect_tenants(self) -> None:
        self.step("1) Two tenants connect their accounts (credentials stored encrypted)")
        c = self.client
        self.shop_accounts: dict[str, Any] = {}
        for fake in (self.fakes.trendyol, self.fakes.hepsiburada):
            seller = fake.provision_account(f"Moda İstanbul @ {fake.name}")
            account = c.accounts.add(SHOP, fake.name, seller.credentials, settings=seller.settings,
                                     display_name=seller.display_name)
            self.shop_accounts[fake.name] = (account, seller.account_key)
        c.accounts.add(SHOP, "aras", Credentials(api_key=SecretStr("fake_user"), api_secret=SecretStr("fake_pass")),
                       settings={"customer_code": "1000000000001"})
        c.accounts.add(SHOP, "yurtici", Credentials(api_key=SecretStr("YKTEST"), api_secret=SecretStr("YK")))
        for tenant in (SHOP, CLINIC):
            c.accounts.add(tenant, "whatsapp_cloud", Credentials(api_key=SecretStr(WA_TOKENS[tenant])),
                           settings={"phone_number_id": PHONE_IDS[tenant], "waba_id": WABAS[tenant]})
            c.accounts.add(tenant, "meta", Credentials(api_key=SecretStr("meta-token-a")),
                           settings={"ad_account_id": "1001", "waba_id": WABAS[tenant]})
        for tenant, label in ((SHOP, SHOP_LABEL), (CLINIC, CLINIC_LABEL)):
            names = sorted(a.provider for a in c.accounts.list(tenant))
            self.out.write(f"  {label:<28} {', '.join(names)}\n")
        self.check(sorted(a.provider for a in c.accounts.list(SHOP)) ==
                   sorted(["trendyol", "hepsiburada", "aras", "yurtici", "whatsapp_cloud", "meta"]),
                   "the seller has six accounts")

    # -- 2. orders ---------------------------------------------------------------------------------
    def backfill_and_lookup(self) -> None:
        self.step("2) Backfill the seller's marketplace orders (progress), then look a customer up by phone "
                  "through the API")
        now = self.clock.now()
        expected = 0
        for name, (_, key) in self.shop_accounts.items():
            fake = getattr(self.fakes, name)
            seeded = fake.seed_orders(key, 30, start=now - timedelta(days=28), end=now - timedelta(hours=3))
            expected += len(seeded)
        first, second = self.fakes.trendyol, self.fakes.hepsiburada
        first.seed_customer_order(self.shop_accounts["trendyol"][1], "0532 412 34 56", CUSTOMER_NAME,
                                  now - timedelta(days=20))
        second.seed_customer_order(self.shop_accounts["hepsiburada"][1], "+90 532 412 3456", CUSTOMER_NAME,
                                   now - timedelta(days=2))
        expected += 2
        labels = {acc.id: f"{SHOP}/{name}" for name, (acc, _) in self.shop_accounts.items()}
        report = self.client.orders.sync(SHOP, progress=_Progress(self.out, labels))
        self.out.write(f"    total: {report.fetched} fetched, {report.inserted} new, {report.quarantined} "
                       "quarantined\n")
        self.check(not report.failed, "every account synced")
        cached = self.client.orders.count(SHOP)
        self.check(cached == expected, "orders cached = orders created in the fakes", f"{cached} of {expected}")
        r = self.api("GET", SHOP, "/customers/05324123456/orders")
        body = r.json() if r.status_code == 200 else {}
        providers = sorted({o["provider"] for o in body.get("orders", [])})
        self.out.write(f"    GET /v1/tenants/{SHOP}/customers/05324123456/orders → {r.status_code}: "
                       f"{len(body.get('orders', []))} order(s) on {', '.join(providers)}\n")
        self.check(r.status_code == 200 and body.get("phone") == CUSTOMER_PHONE
                   and providers == ["hepsiburada", "trendyol"], "the customer is found on both marketplaces")
        other = self.api("GET", CLINIC, f"/customers/{CUSTOMER_PHONE}/orders")
        cross = self.api.http.get(f"/v1/tenants/{SHOP}/customers/{CUSTOMER_PHONE}/orders",
                                  headers={"Authorization": f"Bearer {self.api.tokens[CLINIC]}"})
        self.check(cross.status_code == 404, "the clinic's token gets 404 for the seller's customer")
        self.check(other.status_code == 200 and not other.json().get("orders"),
                   "the clinic has no orders for that phone")
        self.summary.append(f"orders: {cached} backfilled; {CUSTOMER_NAME} found on {', '.join(providers)}")

    def settle(self, timeout: float = 20.0) -> bool:
        """Wait until the hosted runtime caught up: no event waiting, no timer due at this instant."""
        now = self.clock.now()

        def idle() -> bool:
            return all(s.lag == 0 and (s.next_timer_at is None or s.next_timer_at > now)
                       for s in self.runtime.status())

        return bool(wait_for(idle, timeout=timeout))

    def wa_texts(self, phone: str) -> list[str]:
        wa = self.fakes.whatsapp_cloud
        with wa._lock:
            msgs = list(wa.messages.values())
        out = []
        for m in msgs:
            if getattr(m, "to", "").lstrip("+") == phone.lstrip("+"):
                body = getattr(m, "payload", {}) or {}
                text = (body.get("text") or {}).get("body") or (body.get("template") or {}).get("name") or ""
                out.append(str(text))
        return out

    # -- 3. parcels ----------------------------------------------------------------------------------
    def parcels(self) -> None:
        self.step("3) Parcels followed to delivery (Aras and Yurtiçi), the customer told on WhatsApp as they move")
        aras_tn, yk_tn = "3500000000017", "YK2611240001"
        self.fakes.aras.register_parcel("fake_user", aras_tn, [
            (timedelta(hours=1), "1"), (timedelta(hours=2), "2"), (timedelta(hours=4), "4"), (timedelta(hours=6), "6")])
        self.fakes.yurtici.register_parcel("YKTEST", yk_tn, [
            (timedelta(hours=1), "ISR"), (timedelta(hours=3), "IND"), (timedelta(hours=7), "DLV")])
        self.client.shipments.watch(SHOP, "aras", aras_tn, reference="demo-aras", customer_phone=CUSTOMER_PHONE)
        self.client.shipments.watch(SHOP, "yurtici", yk_tn, reference="demo-yk", customer_phone="+905330001122")
        # The customer asks on WhatsApp first (a signed webhook to the service): the 24-hour window opens.
        self.fakes.whatsapp_cloud.inject_inbound(CUSTOMER_PHONE.lstrip("+"), "Merhaba, kargom ne zaman gelir?",
                                                 phone_number_id=PHONE_IDS[SHOP], profile_name="Ayşe")
        self.fakes.whatsapp_cloud.webhooks.drain()
        seen: dict[str, list[str]] = {aras_tn: [], yk_tn: []}
        for _ in range(16):  # eight hours in half-hour steps; the runtime's watcher polls on its timer
            self.advance(minutes=30)
            self.settle()
            for carrier, tn in (("aras", aras_tn), ("yurtici", yk_tn)):
                r = self.api("GET", SHOP, f"/shipments/{carrier}/{tn}")
                status = r.json()["shipment"]["status"] if r.status_code == 200 else f"HTTP {r.status_code}"
                if not seen[tn] or seen[tn][-1] != status:
                    seen[tn].append(status)
        for carrier, tn in (("aras", aras_tn), ("yurtici", yk_tn)):
            self.out.write(f"    {carrier:<8} {tn}: {' → '.join(seen[tn])}\n")
            self.check(seen[tn][-1:] == ["delivered"], f"{carrier} parcel followed to delivered (GET /shipments)")
        wait_for(lambda: sum("Teslim edildi" in t for t in self.wa_texts(CUSTOMER_PHONE)) > 0, timeout=10)
        texts = self.wa_texts(CUSTOMER_PHONE)
        for t in texts:
            self.out.write(f"    WhatsApp → {CUSTOMER_PHONE}: {t[:90]}\n")
        self.check(any("yola çıktı" in t for t in texts) and any("dağıtıma çıktı" in t for t in texts)
                   and any("Teslim edildi" in t for t in texts),
                   "proactive messages sent for in transit, out for delivery and delivered", f"{len(texts)} message(s)")
        self.summary.append(f"parcels: Aras {' → '.join(seen[aras_tn])}; {len(texts)} proactive WhatsApp message(s)")

    # -- 4. attribution ------------------------------------------------------------------------------
    def attribution(self) -> None:
        self.step("4) A tracked-link click and a Click-to-WhatsApp ad click become attributed leads, with cost "
                  "per lead")
        wa = self.fakes.whatsapp_cloud
        shop_number = wa.display_numbers[PHONE_IDS[SHOP]]
        r = self.api("POST", SHOP, "/attribution/links", json={
            "wa_number": shop_number, "utm_source": "instagram", "utm_medium": "bio", "utm_campaign": "kis-indirimi"})
        self.check(r.status_code == 201, "POST /attribution/links creates a tracked link",
                   r.json().get("code", "") if r.status_code == 201 else r.text[:120])
        link = r.json()
        code = link["code"]
        click = self.api.http.get(f"/r/{code}", params={"fbclid": "IwAR0demo"}, follow_redirects=False,
                                  headers={"User-Agent": "Mozilla/5.0 (iPhone) demo"})
        self.out.write(f"    GET /r/{code} → {click.status_code} {click.headers.get('location', '')[:70]}\n")
        self.check(click.status_code == 302 and click.headers.get("location") == link["wa_url"],
                   "the click is recorded and redirected to its wa.me link only")
        link_phone, ctwa_phone = "905551112233", "905552223344"
        wa.inject_inbound(link_phone, f"Merhaba, indirim var mı? ref:{code}", phone_number_id=PHONE_IDS[SHOP],
                          profile_name="Elif")
        wa.inject_inbound(ctwa_phone, "Merhaba, bu montun bedeni var mı?", phone_number_id=PHONE_IDS[SHOP],
                          referral={}, profile_name="Burak")
        deliveries = wa.webhooks.drain()
        codes = [d.status for d in deliveries[-2:]]
        self.check(codes == [200, 200], "signed WhatsApp webhooks accepted by the service", str(codes))
        leads = wait_for(lambda: self.store.leads.latest(SHOP, "+" + link_phone) is not None
                         and self.store.leads.latest(SHOP, "+" + ctwa_phone) is not None, timeout=20)
        self.settle()
        day = self.clock.now().date().isoformat()
        spend = [self.api("POST", SHOP, "/attribution/spend", json={
                     "date": day, "campaign_id": "utm:kis-indirimi", "campaign_name": "kis-indirimi", "amount": "300"}),
                 self.api("POST", SHOP, "/attribution/spend", json={
                     "date": day, "campaign_id": "120200000000000001", "campaign_name": "Kış Kampanyası",
                     "amount": "450.00"})]
        self.check(all(x.status_code == 201 for x in spend), "POST /attribution/spend (manual spend per campaign)",
                   "; ".join(x.text[:80] for x in spend if x.status_code != 201))
        f = self.api("GET", SHOP, "/attribution/funnel", params={"start": day, "end": day})
        rows = [row for row in f.json() if row.get("level") == "campaign"] if f.status_code == 200 else []
        for row in rows:
            self.out.write(f"    campaign {row.get('campaign_name') or row.get('campaign_id')!s:<22} "
                           f"channel {row['channel']:<5} leads {row['leads']}  spend {row['spend']}  "
                           f"cost per lead {row['cpl']}\n")
        by_id = {row.get("campaign_id"): row for row in rows}
        link_row, ad_row = by_id.get("utm:kis-indirimi"), by_id.get("120200000000000001")
        self.check(bool(leads), "both first messages became leads (the runtime's attribution engine)")
        self.check(link_row is not None and link_row["leads"] == 1 and link_row["cpl"] == "300.00",
                   "the link lead: campaign utm:kis-indirimi, cost per lead 300.00")
        self.check(ad_row is not None and ad_row["leads"] == 1 and ad_row["cpl"] == "450.00",
                   "the CTWA lead: Meta campaign Kış Kampanyası (resolved from the ad id), cost per lead 450.00")
        # Meta reports the CTWA conversation's purchase (automatic_events), signed with the app secret.
        ctwa_lead = self.store.leads.latest(SHOP, "+" + ctwa_phone)
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": WABAS[SHOP], "changes": [{
            "field": "automatic_events", "value": {"messaging_product": "whatsapp", "automatic_events": [{
                "id": "wamid.demo-purchase", "event_name": "Purchase", "timestamp": int(self.clock.now().timestamp()),
                "ctwa_clid": getattr(ctwa_lead, "ctwa_clid", None) or "ARAkUnknown",
                "custom_data": {"currency": "TRY", "value": 1250}}]}}]}]}).encode()
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        forged = self.api.http.post("/webhooks/meta/automatic-events", content=body,
                                    headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
        ae = self.api.http.post("/webhooks/meta/automatic-events", content=body,
                                headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"})
        stored = ae.json().get("stored", {}) if ae.status_code == 200 else {}
        self.check(forged.status_code == 401 and stored == {SHOP: 1},
                   "Meta automatic_events: a forged signature refused, the signed Purchase stored for the seller",
                   f"{forged.status_code}, {ae.status_code} {stored}")
        self.summary.append("attribution: 2 leads (tracked link, CTWA ad) with cost per lead 300.00 and 450.00 TRY")

    # -- 5. campaign ---------------------------------------------------------------------------------
    def campaign(self) -> None:
        from invekto_integrations.campaigns import ABSettings, LastOrder, OneShotTrigger, Variant

        self.step("5) An A/B campaign with a 20 % holdout, to conversions and ROI")
        c, wa = self.client, self.fakes.whatsapp_cloud
        r = self.api("PUT", SHOP, "/settings", json={"message_costs": {"marketing": {"amount": "1.20",
                                                                                      "currency": "TRY"}}})
        self.check(r.status_code == 200, "PUT /settings: a marketing message costs 1.20 TRY", r.text[:100]
                   if r.status_code != 200 else "")
        self.settle()  # the campaign engine projected the backfilled orders into customer profiles
        audience = LastOrder(within_days=90)
        preview = self.api("POST", SHOP, "/campaigns/preview", json={"audience": {"kind": "last_order",
                                                                                  "within_days": 90}, "sample": 3})
        count = preview.json().get("count", 0) if preview.status_code == 200 else 0
        self.check(count >= 20, "POST /campaigns/preview: the audience (ordered in the last 90 days)",
                   f"{count} customers" if preview.status_code == 200 else preview.text[:120])
        variants = [Variant(name="A", template_name="kampanya_duyurusu", body_params=["name", '"10"']),
                    Variant(name="B", template_name="kampanya_duyurusu", body_params=["name", '"20"'])]
        # No route takes A/B settings yet: the draft is made with the library, then scheduled through the API.
        campaign = c.campaigns.manager.create(
            SHOP, "Kış indirimi", trigger=OneShotTrigger(at=self.clock.now()), variants=variants, audience=audience,
            ab=ABSettings(holdout=Decimal("0.2"), metric="purchase"), conversion_window=timedelta(days=7))
        # Their opt-ins, as İYS would answer for them (the demo connects no İYS account).
        for phone in [p.phone for p in c.campaigns.manager.preview(SHOP, audience, sample=1000).sample]:
            c.consent.service.record_consent(SHOP, phone, register=False)
        r = self.api("POST", SHOP, f"/campaigns/{campaign.id}/schedule")
        self.check(r.status_code == 200, "POST /campaigns/{id}/schedule", r.text[:120] if r.status_code != 200 else "")
        self.settle()
        recipients = wait_for(lambda: self.store.campaign_recipients.find(SHOP, campaign.id), timeout=20)
        groups: dict[str, list[str]] = {}
        for rec in recipients or []:
            groups.setdefault(rec.variant, []).append(rec.phone)
        self.out.write("    arms: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(groups.items())) + "\n")
        self.check(all(groups.get(k) for k in ("A", "B", "holdout")), "every arm has members (A, B, holdout)")
        for _ in range(4):  # the outbox dispatches; sent, delivered, read come back as signed webhooks
            self.advance(seconds=60)
            self.settle()
            wa.tick()
            wa.webhooks.drain()
            self.settle()
        a, b, h = (sorted(groups.get(k, [])) for k in ("A", "B", "holdout"))
        if a:
            wa.inject_inbound(a[0].lstrip("+"), "Bu indirim mağazada da geçerli mi?", phone_number_id=PHONE_IDS[SHOP])
        wa.webhooks.drain()
        # Purchases on the marketplaces, picked up by the runtime's order poll (every five minutes).
        buys = [(x, total) for x, total in ((a[:1], "450.00"), (a[1:2], "300.00"), (b[:1], "250.00"),
                                            (h[:1], "200.00")) if x]
        ty = self.fakes.trendyol
        key = self.shop_accounts["trendyol"][1]
        for phones, _ in buys:
            ty.seed_customer_order(key, phones[0], "Kampanya Müşterisi", self.clock.now())
        self.advance(minutes=5)
        self.settle(timeout=30)
        self.advance(minutes=1)
        self.settle(timeout=30)
        stats = wait_for(lambda: self._stats(campaign.id, expected=len(buys)), timeout=20)
        stats = stats or self._stats(campaign.id, expected=0) or {}
        rows = stats.get("rows", [])
        for row in rows + ([stats["holdout"]] if stats.get("holdout") else []):
            self.out.write(f"    {row['variant']:<8} recipients {row['recipients']:>3} sent {row['sent']:>3} "
                           f"delivered {row['delivered']:>3} read {row['read']:>3} replied {row['replied']} "
                           f"converted {row['converted']} revenue {row['revenue']} cost {row.get('cost')} "
                           f"ROI {_ratio(row.get('roi'))}\n")
        arms = {row["variant"]: int(row["converted"]) for row in rows + ([stats["holdout"]] if stats.get("holdout")
                                                                        else [])}
        converted = sum(arms.values())
        expected_arms = {"A": len(a[:2]), "B": len(b[:1]), "holdout": len(h[:1])}
        self.check(bool(rows) and all(int(row["delivered"]) == int(row["sent"]) > 0 for row in rows),
                   "GET /campaigns/{id}/stats: every sent message delivered")
        self.check(arms == expected_arms, "each purchase counted once as a conversion of its own arm",
                   ", ".join(f"{k} {v}" for k, v in sorted(arms.items())))
        self.check(any(row.get("roi") is not None for row in rows), "ROI per variant against the message cost")
        self.summary.append(f"campaign: {sum(len(v) for v in groups.values())} customers in A/B/holdout; "
                            f"{converted} conversions")

    def _stats(self, campaign_id: str, *, expected: int) -> dict[str, Any] | None:
        r = self.api("GET", SHOP, f"/campaigns/{campaign_id}/stats")
        if r.status_code != 200:
            return None
        body: dict[str, Any] = r.json()
        rows = body.get("rows", []) + ([body["holdout"]] if body.get("holdout") else [])
        return body if sum(int(x.get("converted", 0)) for x in rows) >= expected else None

    # -- 6. appointments ----------------------------------------------------------------------------
    def appointments(self) -> None:
        from invekto_integrations.appointments.models import Doctor, TimeRange

        self.step("6) The clinic books, cancels and refills an appointment from the waitlist, through Google "
                  "Calendar")
        c, wa, gcal = self.client, self.fakes.whatsapp_cloud, self.fakes.google_calendar
        c.accounts.add(CLINIC, "google_calendar", Credentials(api_key=SecretStr("rt-klinik-a"),
                                                              api_secret=SecretStr("sandbox-client-secret")),
                       settings={"client_id": "sandbox-client.apps.googleusercontent.com"})
        now = self.clock.now()
        week = {d: [TimeRange(start=dtime(9), end=dtime(17))] for d in range(1, 6)}
        self.store.doctors.save(CLINIC, Doctor(id="dr-ayse", tenant_id=CLINIC, name="Dr. Ayşe Kaya",
                                               calendar_id=AYSE_CAL, working_hours=week, created_at=now,
                                               updated_at=now))
        c.calendar.engine.connect_doctor(CLINIC, "dr-ayse")
        r = self.api("POST", CLINIC, "/pricing", json={"service_name": "Muayene", "price_min": "750",
                                                       "price_max": "1000", "duration_minutes": 30})
        self.check(r.status_code == 201, "POST /pricing adds the service with its price range",
                   "Muayene 750–1000 TRY, 30 min" if r.status_code == 201 else r.text[:100])
        doctors = self.api("GET", CLINIC, "/doctors").json()
        self.check([d["id"] for d in doctors] == ["dr-ayse"], "GET /doctors lists the doctor")
        tomorrow = (now + timedelta(days=1)).astimezone(IST).replace(hour=9, minute=0)
        r = self.api("GET", CLINIC, "/slots", params={"service": "Muayene", "start": tomorrow.isoformat(),
                                                      "end": (tomorrow + timedelta(hours=8)).isoformat()})
        slots = r.json() if r.status_code == 200 else []
        self.check(bool(slots), "GET /slots finds free slots tomorrow", f"{len(slots)} slot(s)")
        if not slots:
            return
        first = slots[0]
        starts = first["starts_at"]
        booked = self.api("POST", CLINIC, "/appointments", json={
            "doctor_id": first["doctor_id"], "service_name": "Muayene", "starts_at": starts,
            "patient_phone": "+905321110001", "patient_name": "Mehmet Demir"})
        self.check(booked.status_code == 201, "POST /appointments books the first slot", f"{starts}")
        appt = booked.json()
        self.settle()
        events = wait_for(lambda: gcal.events("klinik-a", AYSE_CAL), timeout=15)
        self.check(len(events or []) == 1, "the appointment is on the doctor's Google calendar",
                   (events or [{}])[0].get("summary", "") if events else "")
        first_ids = {e["id"] for e in events or []}
        # A patient on the waitlist for the same service (no route for joining: the library).
        waiting_phone = "+905321110002"
        wa.inject_inbound(waiting_phone.lstrip("+"), "Merhaba, erken bir randevu açılırsa haber verir misiniz?",
                          phone_number_id=PHONE_IDS[CLINIC], profile_name="Zeynep")
        wa.webhooks.drain()
        entry = self.waitlist.join(CLINIC, waiting_phone, "Muayene", patient_name="Zeynep Arslan")
        cancelled = self.api("POST", CLINIC, f"/appointments/{appt['id']}/cancel")
        self.check(cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled",
                   "POST /appointments/{id}/cancel", cancelled.text[:80] if cancelled.status_code != 200 else "")
        self.settle()
        offer = wait_for(lambda: [m for m in self.wa_texts(waiting_phone) if m], timeout=15)
        self.check(bool(offer), "the freed slot is offered to the waitlist on WhatsApp",
                   f"{(offer or [''])[-1][:60]}")
        wa.inject_inbound(waiting_phone.lstrip("+"), "Evet", phone_number_id=PHONE_IDS[CLINIC], profile_name="Zeynep")
        wa.webhooks.drain()
        self.settle()
        listed = wait_for(lambda: [w for w in self.api("GET", CLINIC, "/waitlist").json()
                                   if w["id"] == entry.id and w["status"] == "booked"], timeout=15)
        self.check(bool(listed), "the patient answered yes: GET /waitlist shows the entry booked")
        self.settle()
        live = wait_for(lambda: [e for e in gcal.events("klinik-a", AYSE_CAL) if e["id"] not in first_ids],
                        timeout=15)
        all_live = gcal.events("klinik-a", AYSE_CAL)
        refilled = [a for a in self.store.appointments.find(CLINIC) if a.patient_phone == waiting_phone]
        self.out.write(f"    calendar of {AYSE_CAL}: {len(all_live)} live event(s): "
                       f"{', '.join(str(e.get('summary')) for e in all_live)}\n")
        self.check(len(all_live) == 1 and bool(live) and len(refilled) == 1
                   and refilled[0].starts_at.isoformat() == datetime.fromisoformat(starts).isoformat(),
                   "the calendar holds the refilled appointment only (same slot, the waitlist patient)")
        self.summary.append("appointments: booked, cancelled and refilled from the waitlist; Google Calendar follows")

    # -- 7. dashboard ------------------------------------------------------------------------------
    def dashboards(self) -> None:
        self.step("7) Each tenant's dashboard, as the platform fetches it (GET dashboard.html)")
        today = self.clock.now().date()
        period = {"from": (today - timedelta(days=30)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
        shows = {SHOP: ("Kış indirimi", "kis-indirimi", "Kış Kampanyası"), CLINIC: ("Muayene",)}
        for tenant, niche in ((SHOP, "ecommerce"), (CLINIC, "dental")):
            r = self.api("GET", tenant, "/dashboard.html", params={**period, "niche": niche})
            ok = r.status_code == 200 and r.text.lstrip().lower().startswith("<!doctype html")
            missing = [word for word in shows[tenant] if word not in r.text]
            self.check(ok and not missing, f"{tenant}: the dashboard shows this run's data",
                       f"missing {missing}" if missing else ", ".join(shows[tenant]))
            ok = ok and not missing
            path = self.data_dir / f"dashboard-{tenant}.html"
            if ok:
                path.write_text(r.text, encoding="utf-8")
                self.reports[tenant] = path
            self.check(ok, f"{tenant}: dashboard.html written", f"{path} ({len(r.text):,} bytes)")


def _service(client: Any, port: int) -> tuple[Any, Any, Any]:
    from invekto_integrations.messaging.webhook import WebhookRoute
    from invekto_integrations.service import IntegrationsService, ServiceConfig
    from invekto_integrations.service._engines import default_engines

    secret = SecretStr(APP_SECRET)
    config = ServiceConfig(
        whatsapp_verify_token=SecretStr(VERIFY_TOKEN),
        whatsapp_routes={PHONE_IDS[t]: WebhookRoute(t, secret) for t in (SHOP, CLINIC)},
        meta_app_secret=secret, waba_tenants={WABAS[t]: t for t in (SHOP, CLINIC)})
    from invekto_integrations.attribution import AdResolver, AttributionEngine, LeadTracker
    from invekto_integrations.runtime.engines import CargoNotifierEngine
    from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier

    store = client.store
    engines = [e for e in default_engines(client, calendar_push_address=None) if e.name != "attribution"]
    # Attribution with the ad resolver (Meta's ad → ad set → campaign, through the tenant's Meta account).
    resolver = AdResolver(store.ad_cache, lambda tenant: client._ctx.connector(tenant, "meta"), clock=client.clock)
    engines.append(AttributionEngine(store, LeadTracker(store, resolver=resolver)))
    from invekto_integrations.appointments.waitlist import WaitlistEngine
    from invekto_integrations.runtime.engines import WaitlistOfferEngine, WaitlistReplyEngine

    book = client.appointments.book_service
    waitlist = WaitlistEngine(store.waitlist, book, client.messages.pipeline, book.bus if hasattr(book, "bus")
                              else client._ctx.bus, clock=client.clock, settings_repository=store.tenant_settings)
    engines += [WaitlistOfferEngine(waitlist), WaitlistReplyEngine(waitlist), client.campaigns.engine]
    cargo = CargoMessageSettings()
    engines.append(CargoNotifierEngine(CargoNotifier(
        store.events, store.cargo_notifications, client.messages.pipeline, lambda tenant: cargo,
        shipments=store.shipments, clock=client.clock, settings_repository=store.tenant_settings)))
    runtime = client.runtime(engines, owner="demo")
    return IntegrationsService(client, config, runtime=runtime, runtime_idle=0.05), runtime, waitlist


def run_demo(data_dir: Path, out: TextIO, *, port: int | None = None, database_url: str | None = None) -> int:
    """The whole demo; returns a process exit code (0 when every check passed)."""
    from invekto_integrations import Integrations
    from invekto_integrations._env import is_postgres_url
    from invekto_integrations.service import issue_token
    from invekto_integrations.storage import SQLiteStore

    began = time.monotonic()
    out.write("== invekto-integrations demo: two tenants through the Integrations service ==\n")
    if database_url and is_postgres_url(database_url):
        from invekto_integrations.demo_orders import open_store  # the demo's own schema, recreated

        opened, where = open_store(data_dir, database_url)
        store: Any = opened  # a PostgresStore: every repository the service needs (see main)
    elif database_url:
        from invekto_integrations._integrations import _store_from_env

        store = _store_from_env({"INVEKTO_DATABASE_URL": database_url})
        where = _redacted(database_url)
    else:
        db_path = data_dir / "invekto-demo.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        store = SQLiteStore(db_path)
        where = str(db_path)
    chosen, preferred = choose_port(port or DEMO_PORT)
    check = Check(out)
    with Integrations.sandbox(PROVIDERS, start=START, serve=True, store=store) as client:
        base = f"http://127.0.0.1:{chosen}"
        client.fakes.whatsapp_cloud.webhook_url = f"{base}/webhooks/whatsapp"
        service, runtime, waitlist = _service(client, chosen)
        out.write(f"Sandbox fakes on {client.fakes.base_url}: {', '.join(PROVIDERS)} (the installed providers' "
                  "own fakes)\n")
        out.write(f"Store: {where}\n")
        how = f"port {chosen}" if preferred else f"port {port or DEMO_PORT} was taken, so a free one"
        out.write(f"Service on {base} ({how}), hosting the runtime\n")
        with _serving(service.app, chosen):
            ready = wait_for(lambda: _ready(base), timeout=30)
            check(bool(ready), "the service answers /ready with the runtime alive",
                  ", ".join(e.name for e in runtime.engines) if ready else "")
            tokens = {t: issue_token(service.tokens, t, clock=client.clock)[0] for t in (SHOP, CLINIC)}
            api = Api(base, tokens)
            demo = Demo(client, api, check, out, data_dir)
            demo.runtime = runtime
            demo.waitlist = waitlist
            steps: list[Callable[[], None]] = [demo.connect_tenants, demo.backfill_and_lookup, demo.parcels,
                                               demo.attribution, demo.campaign, demo.appointments, demo.dashboards]
            for run in steps:
                if not ready:
                    break
                try:
                    run()
                except Exception as exc:  # a step that crashes is a failed check, the others still run
                    check(False, f"{run.__name__} raised {type(exc).__name__}", str(exc)[:300])
            api.close()
            statuses = runtime.status()
            errors = [f"{s.engine}/{s.tenant_id}: {s.last_error[:120]}" for s in statuses if s.last_error]
            check(not errors, "no runtime engine reported an error", "; ".join(errors))
    store.close()
    elapsed = time.monotonic() - began
    out.write("\nSummary\n")
    for line in demo.summary:
        out.write(f"  {line}\n")
    for tenant, path in demo.reports.items():
        out.write(f"  dashboard of {tenant}: {path}\n")
    out.write(f"  {check.passed} checks passed, {len(check.failures)} failed, in {elapsed:.1f} s\n")
    out.write("\nDone: " + ("every check passed.\n" if not check.failures else
                            f"{len(check.failures)} check(s) failed: {'; '.join(check.failures)}\n"))
    return 0 if not check.failures else 1


def _ready(base: str) -> dict[str, Any] | None:
    try:
        r = httpx.get(f"{base}/ready", timeout=2)
    except httpx.TransportError:
        return None
    body: dict[str, Any] = r.json()
    return body if r.status_code == 200 and body.get("runtime", {}).get("alive") else None


def _ratio(value: Any) -> str:
    return "—" if value is None else f"{Decimal(str(value)):.2f}"


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if "@" in rest else url


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m invekto_integrations.demo", description=doc.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where to keep the SQLite file and the reports (default: a temporary directory)")
    parser.add_argument("--database-url", default=None,
                        help="a store URL instead of the embedded file (sqlite:///path.db, sqlite://, memory://, "
                             "postgresql://...: the demo's own schema invekto_demo there, recreated)")
    parser.add_argument("--port", type=int, default=None, help=f"the service's port (default {DEMO_PORT} if free)")
    args = parser.parse_args(argv)
    from invekto_integrations._env import is_postgres_url

    if args.database_url and is_postgres_url(args.database_url):
        from invekto_integrations.storage.postgres import PostgresStore

        if PostgresStore.MISSING:  # the whole demo needs every area's repositories on PostgreSQL
            import asyncio

            from invekto_integrations import demo_orders

            sys.stdout.write("PostgreSQL: running the order-sync demo (invekto_integrations.demo_orders); the whole "
                             f"demo needs repositories the PostgreSQL store does not have yet: "
                             f"{', '.join(PostgresStore.MISSING)}.\n")
            data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="invekto-demo-"))
            data_dir.mkdir(parents=True, exist_ok=True)
            return asyncio.run(demo_orders.run_demo(data_dir, sys.stdout, database_url=args.database_url))
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        return run_demo(args.data_dir, sys.stdout, port=args.port, database_url=args.database_url)
    # A fresh directory that outlives the run: the summary points at the reports in it.
    return run_demo(Path(tempfile.mkdtemp(prefix="invekto-demo-")), sys.stdout, port=args.port,
                    database_url=args.database_url)


if __name__ == "__main__":
    raise SystemExit(main())
