"""The phase's exit criteria, done-when test of issue 18: the service on a free loopback port
against the sandbox, two tenants, and nothing but HTTP — the REST API with each tenant's token and
the webhooks signed as WhatsApp, Meta and Google sign them. The flow is the demo's (`Demo`
drives it); every assertion here is made on what the service answers.

Then a real headless Chromium (Debian's ``chromium`` through Playwright's ``executable_path``,
never a download) loads each tenant's dashboard as the service serves it and checks its panels.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from invekto_integrations.demo import APP_SECRET, CLINIC, PHONE_IDS, SHOP, VERIFY_TOKEN, Demo, demo_session

pytestmark = pytest.mark.loopback


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    out = io.StringIO()
    with demo_session(tmp_path_factory.mktemp("exit"), out, port=_free_port()) as demo:
        assert demo.ready, out.getvalue()
        for step in demo.steps():
            step()
        assert not demo.check.failures, out.getvalue()
        yield demo


def _get(demo: Demo, tenant: str, path: str, **params: str) -> Any:
    r = demo.api("GET", tenant, path, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.json()


def _period(demo: Demo) -> dict[str, str]:
    today = demo.clock.now().date()
    return {"from": (today - timedelta(days=30)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}


def test_two_tenants_each_with_their_own_accounts(served: Demo) -> None:
    shop = {a["provider"] for a in _get(served, SHOP, "/accounts")}
    clinic = {a["provider"] for a in _get(served, CLINIC, "/accounts")}
    assert shop == {"trendyol", "hepsiburada", "aras", "yurtici", "whatsapp_cloud", "meta"}
    assert clinic == {"google_calendar", "whatsapp_cloud", "meta"}
    assert "api_key" not in served.api("GET", SHOP, "/accounts").text


def test_marketplaces_connected_and_orders_synced(served: Demo) -> None:
    assert _get(served, SHOP, "/orders/count")["count"] >= 62
    assert _get(served, SHOP, "/orders/count", provider="hepsiburada")["count"] >= 31
    assert _get(served, CLINIC, "/orders/count")["count"] == 0
    found = _get(served, SHOP, "/customers/0532 412 34 56/orders")
    assert found["phone"] == "+905324123456"
    assert {o["provider"] for o in found["orders"]} == {"trendyol", "hepsiburada"}
    parcel = _get(served, SHOP, "/shipments/aras/3500000000017")
    assert parcel["shipment"]["status"] == "delivered" and len(parcel["history"]) >= 3


def test_ab_campaign_with_holdout_to_conversions_and_roi(served: Demo) -> None:
    assert served.campaign_id is not None
    campaign = _get(served, SHOP, f"/campaigns/{served.campaign_id}")
    assert campaign["ab"]["holdout"] == "0.2" and [v["name"] for v in campaign["variants"]] == ["A", "B"]
    recipients = _get(served, SHOP, f"/campaigns/{served.campaign_id}/recipients")
    arms = {r["variant"] for r in recipients}
    assert arms == {"A", "B", "holdout"}
    stats = _get(served, SHOP, f"/campaigns/{served.campaign_id}/stats")
    rows = {row["variant"]: row for row in stats["rows"]}
    assert set(rows) == {"A", "B"}
    holdout = stats["holdout"]
    assert holdout["sent"] == 0 and holdout["converted"] == 1  # the holdout got nothing and still bought
    assert rows["A"]["converted"] == 2 and rows["B"]["converted"] == 1
    for row in rows.values():
        assert row["sent"] == row["delivered"] == row["recipients"] > 0
        assert row["roi"] is not None and float(row["cost"]) > 0 and float(row["revenue"]) > 0
    assert len(recipients) == sum(r["recipients"] for r in rows.values()) + holdout["recipients"]


def test_attribution_captures_utm_and_ctwa_with_cost_per_lead(served: Demo) -> None:
    day = served.clock.now().date().isoformat()
    links = _get(served, SHOP, "/attribution/links")
    assert [(lk["utm"]["source"], lk["utm"]["medium"], lk["utm"]["campaign"]) for lk in links] == [
        ("instagram", "bio", "kis-indirimi")]
    funnel = {row["campaign_id"]: row for row in _get(served, SHOP, "/attribution/funnel", start=day, end=day)
              if row["level"] == "campaign"}
    assert funnel["utm:kis-indirimi"]["channel"] == "link" and funnel["utm:kis-indirimi"]["cpl"] == "300.00"
    ctwa = funnel["120200000000000001"]
    assert ctwa["channel"] == "ctwa" and ctwa["campaign_name"] == "Kış Kampanyası" and ctwa["cpl"] == "450.00"
    # The clinic sees only its own (organic) WhatsApp lead, none of the seller's campaigns.
    clinic = _get(served, CLINIC, "/attribution/funnel", start=day, end=day)
    assert clinic and {row["channel"] for row in clinic} == {"organic"}
    assert not {row["campaign_id"] for row in clinic} & set(funnel)


@pytest.mark.parametrize(("tenant", "niche", "kinds"), [
    (SHOP, "ecommerce", {"outbound", "attribution"}), (CLINIC, "dental", {"clinic"})])
def test_dashboard_panels_are_there_with_data(served: Demo, tenant: str, niche: str, kinds: set[str]) -> None:
    panels = _get(served, tenant, "/dashboard/panels", niche=niche, **_period(served))
    by_kind = {p["kind"]: p for p in panels}
    assert {"outbound", "attribution"} <= set(by_kind)  # visible for every tenant
    for kind in kinds:
        assert by_kind[kind]["empty"] is False, kind


def test_calendar_sync_and_waitlist_refill(served: Demo) -> None:
    entries = _get(served, CLINIC, "/waitlist")
    assert [e["status"] for e in entries] == ["booked"]
    appointments = _get(served, CLINIC, "/appointments")
    statuses = sorted((a["patient_phone"], a["status"]) for a in appointments)
    assert statuses == [("+905321110001", "cancelled"), ("+905321110002", "booked")]
    refilled = next(a for a in appointments if a["status"] == "booked")
    cancelled = next(a for a in appointments if a["status"] == "cancelled")
    assert refilled["starts_at"] == cancelled["starts_at"]
    assert refilled["calendar_event_id"]  # pushed to Google
    live = served.fakes.google_calendar.events("klinik-a", "dr.ayse@klinik-a.example")
    assert sorted(e["summary"] for e in live) == ["Kongre", "Randevu: Muayene"]


def test_webhooks_are_checked_as_the_providers_sign_them(served: Demo) -> None:
    http = served.api.http
    challenge = http.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                       "hub.challenge": "1158201444"})
    assert challenge.status_code == 200 and challenge.text == "1158201444"
    assert http.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "wrong",
                                                  "hub.challenge": "1"}).status_code == 403
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"phone_number_id": PHONE_IDS[SHOP]},
                                       "messages": [{"from": "905559990000", "id": "wamid.x", "type": "text",
                                                     "timestamp": "1764000000", "text": {"body": "hi"}}]}}]}]}
                      ).encode()
    good = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert http.post("/webhooks/whatsapp", content=body).status_code == 401
    assert http.post("/webhooks/whatsapp", content=body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
                     ).status_code == 401
    # The signature covers the raw bytes: the same JSON re-serialized is refused.
    respaced = json.dumps(json.loads(body), indent=1).encode()
    assert http.post("/webhooks/whatsapp", content=respaced, headers={"X-Hub-Signature-256": good}
                     ).status_code == 401
    assert http.post("/webhooks/whatsapp", content=body, headers={"X-Hub-Signature-256": good}).status_code == 200
    # Google: a notification with the wrong channel token is refused, an unknown channel acknowledged and dropped.
    channel = served.fakes.google_calendar.channels
    live = [c for c in channel.values() if c.address.endswith(f"/webhooks/google-calendar/{CLINIC}")]
    assert live, "the clinic's push channel"
    headers = {"X-Goog-Channel-ID": live[0].id, "X-Goog-Resource-ID": live[0].resource_id,
               "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "999999",
               "X-Goog-Channel-Token": "not-the-token"}
    assert http.post(f"/webhooks/google-calendar/{CLINIC}", headers=headers).status_code == 403
    unknown = {**headers, "X-Goog-Channel-ID": "0" * 36}
    assert http.post(f"/webhooks/google-calendar/{CLINIC}", headers=unknown).json()["action"] == "unknown_channel"


@pytest.mark.parametrize("path", ["/accounts", "/orders/count", "/attribution/links", "/campaigns",
                                  "/dashboard/panels?from=2026-11-01&to=2026-11-30"])
def test_one_tenants_token_never_reaches_the_other(served: Demo, path: str) -> None:
    other = served.api.http.get(f"/v1/tenants/{SHOP}{path}",
                                headers={"Authorization": f"Bearer {served.api.tokens[CLINIC]}"})
    assert other.status_code == 404 and other.json()["error"] == "not_found"
    assert served.api.http.get(f"/v1/tenants/{SHOP}{path}").status_code == 401


def test_a_campaign_of_one_tenant_is_not_found_for_the_other(served: Demo) -> None:
    for path in (f"/campaigns/{served.campaign_id}", f"/campaigns/{served.campaign_id}/stats",
                 f"/campaigns/{served.campaign_id}/recipients"):
        assert served.api("GET", CLINIC, path).status_code == 404


# -- the served dashboard in a real browser ---------------------------------------------------------
_INSPECT = """() => [...document.querySelectorAll('section[data-panel]')].map(s => ({
  kind: s.dataset.panel, empty: s.dataset.empty,
  charts: [...s.querySelectorAll('figure[data-chart] svg')].map(svg => {
    const box = svg.getBoundingClientRect(); return {w: box.width, h: box.height}; }),
  kpis: [...s.querySelectorAll('.kpi-value')].map(k => k.textContent.trim()),
}))"""




@pytest.mark.parametrize(("tenant", "niche", "with_data"), [
    (SHOP, "ecommerce", {"outbound", "attribution"}), (CLINIC, "dental", {"clinic"})])
def test_the_served_dashboard_renders_in_a_browser(served: Demo, browser: Any, tmp_path: Path, tenant: str,
                                                   niche: str, with_data: set[str]) -> None:
    query = httpx.QueryParams({**_period(served), "niche": niche})
    url = f"{served.api.base_url}/v1/tenants/{tenant}/dashboard.html?{query}"
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {served.api.tokens[tenant]}"},
                                  viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        answer = page.goto(url)
        assert answer is not None and answer.status == 200
        page.wait_for_load_state("load")
        panels = page.evaluate(_INSPECT)
        page.screenshot(path=str(tmp_path / f"{tenant}.png"), full_page=True)
        # Without the token the page is not served.
        bare = browser.new_page()
        assert bare.goto(url).status == 401
        bare.close()
    finally:
        context.close()
    kinds = {p["kind"]: p for p in panels}
    assert {"outbound", "attribution"} <= set(kinds)
    for kind in with_data:
        panel = kinds[kind]
        assert panel["empty"] == "false", kind
        assert panel["charts"] and all(c["w"] > 100 and c["h"] > 80 for c in panel["charts"]), panel
        assert panel["kpis"] and any(v and v != "–" for v in panel["kpis"]), panel
    assert requested == [url]  # one self-contained document: nothing else fetched
