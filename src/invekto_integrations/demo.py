"""`make demo`: the whole phase on loopback, two tenants, through the Integrations service.

    .venv/bin/python -m invekto_integrations.demo [--data-dir DIR] [--database-url URL] [--port N]

What it does, on a fresh machine and without network access:

1. starts the provider sandbox on 127.0.0.1 (Trendyol, Hepsiburada, Aras, Yurtiçi, WhatsApp Cloud,
   Meta, Google Calendar fakes) and the Integrations service on port 7106 (or a free loopback port
   when 7106 is taken; it says which), hosting the runtime (order sync, shipment watcher, cargo
   notifier, outbox dispatcher, attribution, calendar sync, waitlist);
2. connects two tenants: an e-commerce seller (Trendyol, Hepsiburada, Aras, Yurtiçi, WhatsApp,
   Meta ads) and a dental clinic (Google Calendar, WhatsApp, Meta ads); each gets an API token;
3. drives every feature through the service's REST API and its webhooks only, as the platform
   and the providers would: accounts, order sync (streamed progress), lookups, parcels, tracked
   links, spend, consent, A/B campaigns, doctors, their Google calendars (push notifications
   with channel id and token), bookings and the waitlist. WhatsApp deliveries are signed with
   ``X-Hub-Signature-256`` over the raw bytes by the WhatsApp fake, Meta's the same way here;
   the library is used only to start the sandbox and the service, and the fakes are read only
   to check what a customer or a doctor would see;
4. writes each tenant's dashboard (``GET /v1/tenants/{t}/dashboard.html``) next to the SQLite file.

It exits 0 only when every check passed. Everything is kept in an embedded SQLite file (a temporary
directory unless ``--data-dir``), or with ``--database-url postgresql://...`` in the demo's own schema
``invekto_demo`` on that server (dropped and recreated), on the sandbox's frozen clock, which the
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
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO, cast
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock

__all__ = ["CLINIC", "DEMO_PORT", "SHOP", "Check", "Demo", "choose_port", "demo_session", "main", "run_demo"]

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

    def stream(self, method: str, tenant: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[tenant]}"}
        return self.http.stream(method, f"/v1/tenants/{tenant}{path}", headers=headers, **kw)

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
    """Plain text progress of a backfill: one line per account per 25 % step (from the service's
    streamed NDJSON progress lines)."""

    def __init__(self, out: TextIO, labels: dict[str, str]) -> None:
        self.out = out
        self.labels = labels
        self.shown: dict[str, int] = {}

    def __call__(self, p: dict[str, Any]) -> None:
        fraction = float(p["fraction"])
        step = 4 if p["done"] else int(fraction * 4)
        if self.shown.get(p["account_id"], -1) >= step:
            return
        self.shown[p["account_id"]] = step
        filled = int(fraction * 20)
        self.out.write(f"    [{'#' * filled}{'.' * (20 - filled)}] {fraction:4.0%}  "
                       f"{self.labels.get(p['account_id'], p['account_id']):<26} fetched {p['fetched']:>4}, "
                       f"new {p['inserted']:>4}\n")


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


class Demo:
    """The demo's state: the sandbox's fakes and clock, the service's API, the checks. Every step
    talks to the service over HTTP; the fakes are only set up (sellers, parcels, calendars) and
    read (what a customer received, what a doctor's calendar shows)."""

    def __init__(self, fakes: Any, clock: FrozenClock, api: Api, check: Check, out: TextIO, data_dir: Path) -> None:
        self.api = api
        self.check = check
        self.out = out
        self.data_dir = data_dir
        self.clock = clock
        self.fakes = fakes
        self.reports: dict[str, Path] = {}
        self.summary: list[str] = []
        self.shop_accounts: dict[str, tuple[str, str]] = {}  # provider → (our account id, the fake's key)
        self.ready = False
        self.campaign_id: str | None = None

    def __repr__(self) -> str:
        return f"<Demo {self.api.base_url} ready={self.ready} checks={self.check.passed}/{len(self.check.failures)}>"

    def steps(self) -> list[Callable[[], None]]:
        """The demo's steps, in order (each depends on the ones before)."""
        return [self.connect_tenants, self.backfill_and_lookup, self.parcels, self.attribution, self.campaign,
                self.appointments, self.dashboards]

    def step(self, title: str) -> None:
        self.out.write(f"\n{title}\n")

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta).total_seconds())

    def add_account(self, tenant: str, provider: str, credentials: dict[str, Any], settings: dict[str, Any],
                    display_name: str = "") -> str:
        r = self.api("POST", tenant, "/accounts", json={
            "provider": provider, "credentials": {k: v for k, v in credentials.items() if v},
            "settings": settings, "display_name": display_name})
        if r.status_code != 201:
            raise RuntimeError(f"POST /accounts ({provider}) → {r.status_code} {r.text[:200]}")
        return str(r.json()["id"])

    # -- 1. tenants --------------------------------------------------------------------------------
    def connect_tenants(self) -> None:
        self.step("1) Two tenants connect their accounts through POST /accounts (credentials stored encrypted)")
        for fake in (self.fakes.trendyol, self.fakes.hepsiburada):
            seller = fake.provision_account(f"Moda İstanbul @ {fake.name}")
            account_id = self.add_account(SHOP, fake.name, seller.credentials.reveal(), seller.settings,
                                          seller.display_name)
            self.shop_accounts[fake.name] = (account_id, seller.account_key)
        self.add_account(SHOP, "aras", {"api_key": "fake_user", "api_secret": "fake_pass"},
                         {"customer_code": "1000000000001"})
        self.add_account(SHOP, "yurtici", {"api_key": "YKTEST", "api_secret": "YK"}, {})
        for tenant in (SHOP, CLINIC):
            self.add_account(tenant, "whatsapp_cloud", {"api_key": WA_TOKENS[tenant]},
                             {"phone_number_id": PHONE_IDS[tenant], "waba_id": WABAS[tenant]})
            self.add_account(tenant, "meta", {"api_key": "meta-token-a"},
                             {"ad_account_id": "1001", "waba_id": WABAS[tenant]})
        self.add_account(CLINIC, "google_calendar", {"api_key": "rt-klinik-a", "api_secret": "sandbox-client-secret"},
                         {"client_id": "sandbox-client.apps.googleusercontent.com"})
        listed: dict[str, list[str]] = {}
        for tenant, label in ((SHOP, SHOP_LABEL), (CLINIC, CLINIC_LABEL)):
            r = self.api("GET", tenant, "/accounts")
            listed[tenant] = sorted(a["provider"] for a in r.json()) if r.status_code == 200 else []
            self.out.write(f"  {label:<28} {', '.join(listed[tenant])}\n")
        self.check(listed[SHOP] == sorted(["trendyol", "hepsiburada", "aras", "yurtici", "whatsapp_cloud", "meta"]),
                   "the seller has six accounts (GET /accounts)")
        self.check(listed[CLINIC] == ["google_calendar", "meta", "whatsapp_cloud"], "the clinic has three accounts")
        leaked = [k for k in ("api_key", "api_key_encrypted", "credentials") if k in self.api("GET", SHOP,
                                                                                          "/accounts").text]
        self.check(not leaked, "GET /accounts shows no credential, sealed or not")

    # -- 2. orders ---------------------------------------------------------------------------------
    def backfill_and_lookup(self) -> None:
        self.step("2) Backfill the seller's marketplace orders (POST /orders/sync, streamed progress), then look "
                  "a customer up by phone")
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
        labels = {acc: f"{SHOP}/{name}" for name, (acc, _) in self.shop_accounts.items()}
        show = _Progress(self.out, labels)
        report: dict[str, Any] = {}
        with self.api.stream("POST", SHOP, "/orders/sync", params={"stream": "true"}) as r:
            for line in r.iter_lines():
                item = json.loads(line) if line.strip() else {}
                if "progress" in item:
                    show(item["progress"])
                report = item.get("result", report)
                if "error" in item:
                    self.out.write(f"    error: {item['error']}\n")
        self.out.write(f"    total: {report.get('fetched')} fetched, {report.get('inserted')} new, "
                       f"{report.get('quarantined')} quarantined\n")
        self.check(bool(report) and not report.get("failed"), "every account synced")
        count = _json(self.api("GET", SHOP, "/orders/count")) or {}
        cached = count.get("count")
        self.check(cached == expected, "orders cached = orders created in the fakes (GET /orders/count)",
                   f"{cached} of {expected}")
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
        """Wait until the hosted runtime caught up (``GET /ready``): no event waiting, no timer due
        at this instant."""
        now = self.clock.now()

        def idle() -> bool:
            try:
                r = self.api.http.get("/ready")
            except httpx.TransportError:
                return False
            engines = (_json(r) or {}).get("runtime", {}).get("engines", [])
            return all(e["lag"] == 0 and (e["next_timer_at"] is None
                                          or datetime.fromisoformat(e["next_timer_at"]) > now) for e in engines)

        return bool(wait_for(idle, timeout=timeout))

    def wa_texts(self, phone: str) -> list[str]:
        """What the WhatsApp fake delivered to ``phone`` (the customer's phone, in effect)."""
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
        watched = [self.api("POST", SHOP, "/shipments", json={
                       "carrier": "aras", "tracking_number": aras_tn, "reference": "demo-aras",
                       "customer_phone": CUSTOMER_PHONE}),
                   self.api("POST", SHOP, "/shipments", json={
                       "carrier": "yurtici", "tracking_number": yk_tn, "reference": "demo-yk",
                       "customer_phone": "+905330001122"})]
        self.check(all(w.status_code == 201 for w in watched), "POST /shipments watches both parcels",
                   "; ".join(w.text[:100] for w in watched if w.status_code != 201))
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
    def _funnel_rows(self, day: str) -> dict[str | None, dict[str, Any]]:
        f = self.api("GET", SHOP, "/attribution/funnel", params={"start": day, "end": day})
        rows = [row for row in f.json() if row.get("level") == "campaign"] if f.status_code == 200 else []
        return {row.get("campaign_id"): row for row in rows}

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
        signed = all(d.headers.get("X-Hub-Signature-256", "").startswith("sha256=") for d in deliveries[-2:])
        self.check(codes == [200, 200] and signed,
                   "WhatsApp webhooks signed (X-Hub-Signature-256 over the raw bytes) accepted by the service",
                   str(codes))
        ctwa_clid = next((m.get("referral", {}).get("ctwa_clid") for d in deliveries[-2:]
                          for e in json.loads(d.body).get("entry", []) for c in e.get("changes", [])
                          for m in c.get("value", {}).get("messages", []) if m.get("referral")), None)
        day = self.clock.now().date().isoformat()
        spend = [self.api("POST", SHOP, "/attribution/spend", json={
                     "date": day, "campaign_id": "utm:kis-indirimi", "campaign_name": "kis-indirimi", "amount": "300"}),
                 self.api("POST", SHOP, "/attribution/spend", json={
                     "date": day, "campaign_id": "120200000000000001", "campaign_name": "Kış Kampanyası",
                     "amount": "450.00"})]
        self.check(all(x.status_code == 201 for x in spend), "POST /attribution/spend (manual spend per campaign)",
                   "; ".join(x.text[:80] for x in spend if x.status_code != 201))
        # The runtime's attribution engine turns both first messages into leads; the funnel shows them.
        by_id = wait_for(lambda: (lambda rows: rows if all((rows.get(k) or {}).get("leads") == 1 for k in (
            "utm:kis-indirimi", "120200000000000001")) else None)(self._funnel_rows(day)), timeout=20)
        self.settle()
        by_id = by_id or self._funnel_rows(day)
        for row in by_id.values():
            self.out.write(f"    campaign {row.get('campaign_name') or row.get('campaign_id')!s:<22} "
                           f"channel {row['channel']:<5} leads {row['leads']}  spend {row['spend']}  "
                           f"cost per lead {row['cpl']}\n")
        link_row, ad_row = by_id.get("utm:kis-indirimi"), by_id.get("120200000000000001")
        self.check(link_row is not None and link_row["leads"] == 1 and link_row["cpl"] == "300.00",
                   "the link lead (UTM): campaign utm:kis-indirimi, cost per lead 300.00 (GET /attribution/funnel)")
        self.check(ad_row is not None and ad_row["leads"] == 1 and ad_row["cpl"] == "450.00",
                   "the CTWA lead: Meta campaign Kış Kampanyası (resolved from the ad id), cost per lead 450.00")
        leads = _json(self.api("GET", SHOP, "/attribution/leads", params={"start": day, "end": day})) or []
        per = {row.get("campaign_id") or row.get("channel"): int(row.get("leads", 0)) for row in leads}
        self.check(per.get("utm:kis-indirimi") == 1 and per.get("120200000000000001") == 1,
                   "GET /attribution/leads: one lead per campaign (the parcel question is an organic one)",
                   ", ".join(f"{k} {v}" for k, v in sorted(per.items(), key=str)))
        # Meta reports the CTWA conversation's purchase (automatic_events), signed with the app secret.
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": WABAS[SHOP], "changes": [{
            "field": "automatic_events", "value": {"messaging_product": "whatsapp", "automatic_events": [{
                "id": "wamid.demo-purchase", "event_name": "Purchase", "timestamp": int(self.clock.now().timestamp()),
                "ctwa_clid": ctwa_clid or "ARAkUnknown",
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
        self.step("5) An A/B campaign with a 20 % holdout, to conversions and ROI")
        wa = self.fakes.whatsapp_cloud
        r = self.api("PUT", SHOP, "/settings", json={"message_costs": {"marketing": {"amount": "1.20",
                                                                                      "currency": "TRY"}}})
        self.check(r.status_code == 200, "PUT /settings: a marketing message costs 1.20 TRY", r.text[:100]
                   if r.status_code != 200 else "")
        self.settle()  # the campaign engine projected the backfilled orders into customer profiles
        audience = {"kind": "last_order", "within_days": 90}
        preview = self.api("POST", SHOP, "/campaigns/preview", json={"audience": audience, "sample": 1000})
        found = preview.json() if preview.status_code == 200 else {}
        count = found.get("count", 0)
        self.check(count >= 20, "POST /campaigns/preview: the audience (ordered in the last 90 days)",
                   f"{count} customers" if preview.status_code == 200 else preview.text[:120])
        # Their opt-ins, as the shop collected them (POST …/consent; the demo connects no İYS account).
        consents = [self.api("POST", SHOP, f"/contacts/{p['phone']}/consent", json={"source_code": "HS_WEB"})
                    for p in found.get("sample", [])]
        self.check(bool(consents) and all(c.status_code == 201 for c in consents),
                   "POST /contacts/{phone}/consent records each customer's opt-in", f"{len(consents)} ONAY")
        r = self.api("POST", SHOP, "/campaigns", json={
            "name": "Kış indirimi", "trigger": {"type": "one_shot", "at": self.clock.now().isoformat()},
            "audience": audience, "conversion_window_days": 7,
            "variants": [{"name": "A", "template_name": "kampanya_duyurusu", "body_params": ["name", '"10"']},
                         {"name": "B", "template_name": "kampanya_duyurusu", "body_params": ["name", '"20"']}],
            "ab": {"holdout": "0.2", "metric": "purchase"}})
        self.check(r.status_code == 201 and r.json()["ab"]["holdout"] == "0.2",
                   "POST /campaigns: a draft with two variants (even split) and a 20 % holdout",
                   r.text[:160] if r.status_code != 201 else "")
        campaign = r.json()
        self.campaign_id = campaign["id"]
        r = self.api("POST", SHOP, f"/campaigns/{campaign['id']}/schedule")
        self.check(r.status_code == 200, "POST /campaigns/{id}/schedule", r.text[:120] if r.status_code != 200 else "")
        self.settle()
        recipients = wait_for(lambda: _json(self.api("GET", SHOP, f"/campaigns/{campaign['id']}/recipients")),
                              timeout=20)
        groups: dict[str, list[str]] = {}
        for rec in recipients or []:
            groups.setdefault(rec["variant"], []).append(rec["phone"])
        self.out.write("    arms: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(groups.items())) + "\n")
        self.check(all(groups.get(k) for k in ("A", "B", "holdout")),
                   "every arm has members (A, B, holdout; GET /campaigns/{id}/recipients)")
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
        stats = wait_for(lambda: self._stats(campaign["id"], expected=len(buys)), timeout=20)
        stats = stats or self._stats(campaign["id"], expected=0) or {}
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
    def _slot_starts(self, start: datetime, hours: int = 8) -> list[str]:
        r = self.api("GET", CLINIC, "/slots", params={"service": "Muayene", "start": start.isoformat(),
                                                      "end": (start + timedelta(hours=hours)).isoformat()})
        return [s["starts_at"] for s in r.json()] if r.status_code == 200 else []

    def _appointment_events(self) -> list[dict[str, Any]]:
        """The doctor's Google events the clinic made (her own "Kongre" aside)."""
        return [e for e in self.fakes.google_calendar.events("klinik-a", AYSE_CAL) if e.get("summary") != "Kongre"]

    def appointments(self) -> None:
        self.step("6) The clinic books, cancels and refills an appointment from the waitlist, through Google "
                  "Calendar (push notifications included)")
        wa, gcal = self.fakes.whatsapp_cloud, self.fakes.google_calendar
        now = self.clock.now()
        week = {str(d): [{"start": "09:00", "end": "17:00"}] for d in range(1, 6)}
        r = self.api("POST", CLINIC, "/doctors", json={"id": "dr-ayse", "name": "Dr. Ayşe Kaya",
                                                       "calendar_id": AYSE_CAL, "working_hours": week})
        self.check(r.status_code == 201, "POST /doctors saves the doctor with her working hours",
                   r.text[:120] if r.status_code != 201 else "")
        r = self.api("POST", CLINIC, "/doctors/dr-ayse/calendar")
        connected = _json(r) or {}
        self.check(r.status_code == 200 and connected.get("watching") is True,
                   "POST /doctors/{id}/calendar: a full sync and a Google push channel to the service",
                   r.text[:160] if r.status_code != 200 else f"channel {connected['push']['channel_id'][:8]}…")
        r = self.api("POST", CLINIC, "/pricing", json={"service_name": "Muayene", "price_min": "750",
                                                       "price_max": "1000", "duration_minutes": 30})
        self.check(r.status_code == 201, "POST /pricing adds the service with its price range",
                   "Muayene 750–1000 TRY, 30 min" if r.status_code == 201 else r.text[:100])
        doctors = self.api("GET", CLINIC, "/doctors").json()
        self.check([d["id"] for d in doctors] == ["dr-ayse"], "GET /doctors lists the doctor")
        tomorrow = (now + timedelta(days=1)).astimezone(IST).replace(hour=9, minute=0)
        before = self._slot_starts(tomorrow)
        # The doctor blocks her first hour tomorrow by hand in Google Calendar. Google pushes a
        # notification (channel id and token headers) to the service, which syncs incrementally.
        gcal.human_insert("klinik-a", AYSE_CAL, tomorrow, tomorrow + timedelta(hours=1), summary="Kongre")
        pushes = [d for d in gcal.webhooks.drain() if "/webhooks/google-calendar/" in d.url]
        accepted = [d for d in pushes if d.status == 200 and d.headers.get("X-Goog-Channel-Token")
                    and d.headers.get("X-Goog-Channel-ID")]
        self.check(bool(accepted), "Google's push (X-Goog-Channel-ID and -Token) accepted by the service",
                   f"{len(accepted)} of {len(pushes)} notification(s)")
        slots = wait_for(lambda: (lambda s: s if s and s != before else None)(self._slot_starts(tomorrow)),
                         timeout=15) or []
        blocked = [s for s in slots if datetime.fromisoformat(s) < tomorrow + timedelta(hours=1)]
        self.check(bool(before) and bool(slots) and not blocked and len(slots) < len(before),
                   "the incremental sync took the doctor's own event: GET /slots skips that hour",
                   f"{len(before)} → {len(slots)} free slot(s)")
        if not slots:
            return
        starts = slots[0]
        booked = self.api("POST", CLINIC, "/appointments", json={
            "doctor_id": "dr-ayse", "service_name": "Muayene", "starts_at": starts,
            "patient_phone": "+905321110001", "patient_name": "Mehmet Demir"})
        self.check(booked.status_code == 201, "POST /appointments books the first free slot", f"{starts}")
        appt = booked.json()
        self.settle()
        events = wait_for(self._appointment_events, timeout=15)
        self.check(len(events or []) == 1, "the appointment is on the doctor's Google calendar",
                   (events or [{}])[0].get("summary", "") if events else "")
        first_ids = {e["id"] for e in events or []}
        # A patient writes on WhatsApp and the clinic puts her on the waitlist for the same service.
        waiting_phone = "+905321110002"
        wa.inject_inbound(waiting_phone.lstrip("+"), "Merhaba, erken bir randevu açılırsa haber verir misiniz?",
                          phone_number_id=PHONE_IDS[CLINIC], profile_name="Zeynep")
        wa.webhooks.drain()
        r = self.api("POST", CLINIC, "/waitlist", json={"patient_phone": waiting_phone, "service_type": "Muayene",
                                                        "patient_name": "Zeynep Arslan"})
        self.check(r.status_code == 201, "POST /waitlist puts the patient on the waitlist",
                   r.text[:120] if r.status_code != 201 else "")
        entry = r.json() if r.status_code == 201 else {"id": ""}
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
                                   if w["id"] == entry["id"] and w["status"] == "booked"], timeout=15)
        self.check(bool(listed), "the patient answered yes: GET /waitlist shows the entry booked")
        self.settle()
        live = wait_for(lambda: [e for e in self._appointment_events() if e["id"] not in first_ids], timeout=15)
        all_live = self._appointment_events()
        refilled = _json(self.api("GET", CLINIC, "/appointments", params={"patient_phone": waiting_phone})) or []
        self.out.write(f"    calendar of {AYSE_CAL}: {len(all_live)} appointment event(s): "
                       f"{', '.join(str(e.get('summary')) for e in all_live)} (and the doctor's own Kongre)\n")
        self.check(len(all_live) == 1 and bool(live) and len(refilled) == 1
                   and datetime.fromisoformat(refilled[0]["starts_at"]) == datetime.fromisoformat(starts),
                   "the calendar holds the refilled appointment only (same slot, the waitlist patient; "
                   "GET /appointments)")
        self.summary.append("appointments: a push-synced block respected; booked, cancelled and refilled from the "
                            "waitlist; Google Calendar follows")

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


def _service(client: Any, base_url: str) -> tuple[Any, Any]:
    """The service as `invekto-integrations serve` builds it (the default engines), configured for
    the sandbox: the WhatsApp fake's app secret, the two tenants' numbers and WABAs, and its own
    address for Google Calendar push channels."""
    from invekto_integrations.messaging.webhook import WebhookRoute
    from invekto_integrations.service import IntegrationsService, ServiceConfig
    from invekto_integrations.service._engines import calendar_push_address, default_engines

    secret = SecretStr(APP_SECRET)
    config = ServiceConfig(
        whatsapp_verify_token=SecretStr(VERIFY_TOKEN),
        whatsapp_routes={PHONE_IDS[t]: WebhookRoute(t, secret) for t in (SHOP, CLINIC)},
        meta_app_secret=secret, waba_tenants={WABAS[t]: t for t in (SHOP, CLINIC)}, public_url=base_url)
    runtime = client.runtime(default_engines(client, calendar_push_address=calendar_push_address(base_url)),
                             owner="demo")
    return IntegrationsService(client, config, runtime=runtime, runtime_idle=0.05), runtime


@contextmanager
def demo_session(data_dir: Path, out: TextIO, *, port: int | None = None,
                 database_url: str | None = None) -> Iterator[Demo]:
    """The sandbox on loopback and the service on ``port`` (7106 if free), both tenants with an API
    token, and the `Demo` that drives them over HTTP; everything stops on exit. ``demo.ready``
    says whether the service came up with its runtime alive."""
    from invekto_integrations import Integrations
    from invekto_integrations._env import is_postgres_url
    from invekto_integrations.service import issue_token
    from invekto_integrations.storage import SQLiteStore

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
    try:
        with Integrations.sandbox(PROVIDERS, start=START, serve=True, store=store) as client:
            base = f"http://127.0.0.1:{chosen}"
            client.fakes.whatsapp_cloud.webhook_url = f"{base}/webhooks/whatsapp"
            # Google only pushes to HTTPS addresses; on loopback the fake is told to accept plain HTTP
            # (a real deployment sets INVEKTO_PUBLIC_URL to its HTTPS address).
            client.fakes.google_calendar.allow_http_addresses = True
            service, runtime = _service(client, base)
            out.write(f"Sandbox fakes on {client.fakes.base_url}: {', '.join(PROVIDERS)} (the installed providers' "
                      "own fakes)\n")
            out.write(f"Store: {where}\n")
            how = f"port {chosen}" if preferred else f"port {port or DEMO_PORT} was taken, so a free one"
            out.write(f"Service on {base} ({how}), hosting the runtime\n")
            with _serving(service.app, chosen):
                ready = wait_for(lambda: _ready(base), timeout=30)
                check(bool(ready), "the service answers /ready with the runtime alive",
                      ", ".join(e.name for e in runtime.engines) if ready else "")
                # The platform's tokens, as `invekto-integrations tokens issue TENANT` makes them.
                tokens = {t: issue_token(service.tokens, t, clock=client.clock)[0] for t in (SHOP, CLINIC)}
                api = Api(base, tokens)
                demo = Demo(client.fakes, cast(FrozenClock, client.clock), api, check, out, data_dir)
                demo.ready = bool(ready)
                try:
                    yield demo
                finally:
                    api.close()
    finally:
        store.close()


def run_demo(data_dir: Path, out: TextIO, *, port: int | None = None, database_url: str | None = None) -> int:
    """The whole demo; returns a process exit code (0 when every check passed)."""
    began = time.monotonic()
    out.write("== invekto-integrations demo: two tenants through the Integrations service ==\n")
    with demo_session(data_dir, out, port=port, database_url=database_url) as demo:
        check = demo.check
        for run in demo.steps():
            if not demo.ready:
                break
            try:
                run()
            except Exception as exc:  # a step that crashes is a failed check, the others still run
                check(False, f"{run.__name__} raised {type(exc).__name__}", str(exc)[:300])
        final = _ready(demo.api.base_url) or {}
        errors = [f"{e['engine']}/{e['tenant']}: {e['last_error'][:120]}"
                  for e in final.get("runtime", {}).get("engines", []) if e.get("last_error")]
        check(bool(final) and not errors, "GET /ready: no runtime engine reported an error", "; ".join(errors))
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

        if PostgresStore.MISSING:  # a store without every area's repositories: the order-sync part only
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
