"""The service through HTTP only, on memory, SQLite and PostgreSQL: health, tokens and tenant scoping,
the REST API, webhooks signed as the providers sign them, the tracked-link redirect, the OpenAPI
document."""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

with warnings.catch_warnings():  # starlette's note about its httpx backend
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from invekto_integrations import Integrations
from invekto_integrations.service import IntegrationsService, ServiceConfig, WebhookRoute, issue_token

APP_SECRET = "meta-app-secret-for-tests"
VERIFY = "verify-me"


def _sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    store: Any = None  # the sandbox's private SQLite file
    if request.param == "memory":
        from invekto_integrations.storage.memory import MemoryStore

        store = MemoryStore()
    elif request.param == "postgres":  # a fresh schema of the session's throwaway cluster
        from invekto_integrations.storage.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_url"))
    with Integrations.sandbox(["trendyol", "hepsiburada"], store=store) as client:
        week_ago = client.clock.now() - timedelta(days=7)
        for fake in (client.fakes.trendyol, client.fakes.hepsiburada):
            seller = fake.provision_account("Moda İstanbul")
            client.accounts.add("moda", fake.name, seller.credentials, settings=seller.settings)
            fake.seed_orders(seller.account_key, 5, start=week_ago - timedelta(days=10), end=week_ago)
            fake.seed_customer_order(seller.account_key, "0532 412 34 56", "Ayşe Yılmaz", week_ago)
        client.orders.sync("moda")
        config = ServiceConfig(
            whatsapp_verify_token=SecretStr(VERIFY),
            whatsapp_routes={"1000000001": WebhookRoute("moda", SecretStr(APP_SECRET)),
                             "1000000002": WebhookRoute("klinik", SecretStr(APP_SECRET))},
            meta_app_secret=SecretStr(APP_SECRET), waba_tenants={"waba-a": "moda", "waba-b": "klinik"},
            max_body_bytes=64_000)
        service = IntegrationsService(client, config)
        tokens = {t: issue_token(service.tokens, t, clock=client.clock)[0] for t in ("moda", "klinik")}
        with TestClient(service.app) as http:
            yield {"client": client, "http": http, "tokens": tokens, "service": service}
    if store is not None:  # given to the sandbox: ours to close
        store.close()


def _auth(env: dict[str, Any], tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['tokens'][tenant]}"}


def test_health_and_ready(env: dict[str, Any]) -> None:
    http = env["http"]
    assert http.get("/health").json() == {"status": "ok"}
    ready = http.get("/ready")
    assert ready.status_code == 200 and ready.json()["store"] == "ok"


def test_tokens_are_stored_hashed_and_scope_the_tenant(env: dict[str, Any]) -> None:
    http, service = env["http"], env["service"]
    stored = service.tokens.list("moda")
    assert len(stored) == 1 and env["tokens"]["moda"] not in repr(stored) and stored[0].digest != env["tokens"]["moda"]
    assert http.get("/v1/tenants/moda/pricing").status_code == 401
    assert http.get("/v1/tenants/moda/pricing", headers={"Authorization": "Bearer inv_wrong"}).status_code == 401
    # klinik's token asking for moda's resources: 404, not 403 (nothing says they exist)
    other = http.get("/v1/tenants/moda/customers/05324123456/orders", headers=_auth(env, "klinik"))
    assert other.status_code == 404
    service.tokens.revoke("klinik", service.tokens.list("klinik")[0].token_id, env["client"].clock.now())
    assert http.get("/v1/tenants/klinik/pricing", headers=_auth(env, "klinik")).status_code == 401


def test_customer_orders_across_platforms_by_phone(env: dict[str, Any]) -> None:
    r = env["http"].get("/v1/tenants/moda/customers/+905324123456/orders", headers=_auth(env, "moda"))
    assert r.status_code == 200
    body = r.json()
    assert body["phone"] == "+905324123456"
    assert {o["provider"] for o in body["orders"]} == {"trendyol", "hepsiburada"}
    assert all(isinstance(o["order"]["total"]["amount"] if isinstance(o["order"]["total"], dict)
                          else o["order"]["total"], str) for o in body["orders"])


def test_pricing_editor_validates_and_scopes(env: dict[str, Any]) -> None:
    http, h = env["http"], _auth(env, "klinik")
    created = http.post("/v1/tenants/klinik/pricing", headers=h, json={
        "service_name": "İmplant", "price_min": "15000", "price_max": "30000", "duration_minutes": 60})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    bad = http.post("/v1/tenants/klinik/pricing", headers=h, json={
        "service_name": "Dolgu", "price_min": "3000", "price_max": "1000", "duration_minutes": 30})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_argument"
    float_price = http.post("/v1/tenants/klinik/pricing", headers=h, json={
        "service_name": "Dolgu", "price_min": 10.5, "price_max": 20, "duration_minutes": 30})
    assert float_price.status_code == 400
    changed = http.patch(f"/v1/tenants/klinik/pricing/{sid}", headers=h, json={"price_max": "32000"})
    assert changed.status_code == 200 and changed.json()["price_max"] == "32000"
    assert http.patch(f"/v1/tenants/klinik/pricing/{sid}", headers=h, json={"tenant_id": "x"}).status_code == 400
    # moda cannot see or touch klinik's service
    assert http.patch(f"/v1/tenants/moda/pricing/{sid}", headers=_auth(env, "moda"),
                      json={"price_max": "1"}).status_code == 404
    assert http.post(f"/v1/tenants/klinik/pricing/{sid}/deactivate", headers=h).json()["is_active"] is False
    listed = http.get("/v1/tenants/klinik/pricing?active_only=false", headers=h).json()
    assert [s["service_name"] for s in listed] == ["İmplant"]
    assert http.get("/v1/tenants/klinik/pricing", headers=h).json() == []


def test_tracked_link_redirect_records_the_click_and_never_goes_elsewhere(env: dict[str, Any]) -> None:
    http = env["http"]
    link = http.post("/v1/tenants/moda/attribution/links", headers=_auth(env, "moda"),
                     json={"wa_number": "905321112233", "utm_source": "instagram", "utm_campaign": "kis"})
    assert link.status_code == 201, link.text
    code, wa_url = link.json()["code"], link.json()["wa_url"]
    assert wa_url.startswith("https://wa.me/905321112233")
    r = http.get(f"/r/{code}?fbclid=abc&next=https://evil.example", follow_redirects=False,
                 headers={"User-Agent": "test-agent"})
    assert r.status_code == 302 and r.headers["location"] == wa_url
    r = http.get(f"/r/{code.lower()}", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == wa_url
    clicks = env["client"].store.tracked_links.clicks("moda", code)
    assert [c.fbclid for c in clicks][:1] == ["abc"] and clicks[0].user_agent == "test-agent"
    missing = http.get("/r/ZZZZZZZZ", follow_redirects=False)
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert http.get("/r/%2F%2Fevil.example", follow_redirects=False).status_code == 404


def _inbound(pid: str, wa_id: str, text: str, wamid: str, ts: int) -> bytes:
    envelope = {"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "908500000001", "phone_number_id": pid},
            "contacts": [{"profile": {"name": "Ayşe"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text",
                          "text": {"body": text}}]}}]}]}
    return json.dumps(envelope).encode()


def test_whatsapp_webhook_verification_and_signature(env: dict[str, Any]) -> None:
    http = env["http"]
    ok = http.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                                                "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert http.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "no",
                                                  "hub.challenge": "1"}).status_code == 403
    ts = int(env["client"].clock.now().timestamp())
    body = _inbound("1000000001", "905324123456", "Merhaba, kargom nerede?", "wamid.T1", ts)
    assert http.post("/webhooks/whatsapp", content=body,
                     headers={"X-Hub-Signature-256": _sign(body, "wrong")}).status_code == 401
    assert http.post("/webhooks/whatsapp", content=b"{not json",
                     headers={"Content-Type": "application/json"}).status_code == 401
    r = http.post("/webhooks/whatsapp", content=body,
                  headers={"X-Hub-Signature-256": _sign(body), "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["inbound"] == 1
    events = env["client"].store.events.read("moda", types=["message.inbound"])
    assert len(events) == 1
    # Meta redelivers: nothing is applied twice
    http.post("/webhooks/whatsapp", content=body, headers={"X-Hub-Signature-256": _sign(body)})
    assert len(env["client"].store.events.read("moda", types=["message.inbound"])) == 1
    big = b"x" * 70_000
    assert http.post("/webhooks/whatsapp", content=big, headers={"X-Hub-Signature-256": _sign(big)}).status_code == 413


def test_meta_automatic_events_signed(env: dict[str, Any]) -> None:
    http = env["http"]
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [{
        "field": "automatic_events", "value": {"messaging_product": "whatsapp", "automatic_events": [{
            "id": "ae-1", "event_name": "Purchase", "timestamp": int(env["client"].clock.now().timestamp()),
            "ctwa_clid": "ARAkSandbox000001", "custom_data": {"currency": "TRY", "value": 1250}}]}}]}]}).encode()
    assert http.post("/webhooks/meta/automatic-events", content=body,
                     headers={"X-Hub-Signature-256": _sign(body, "nope")}).status_code == 401
    r = http.post("/webhooks/meta/automatic-events", content=body, headers={"X-Hub-Signature-256": _sign(body)})
    assert r.status_code == 200, r.text


def test_settings_campaigns_dashboard_and_errors(env: dict[str, Any]) -> None:
    http, h = env["http"], _auth(env, "moda")
    settings = http.get("/v1/tenants/moda/settings", headers=h).json()
    assert settings["timezone"] == "Europe/Istanbul"
    assert http.put("/v1/tenants/moda/settings", headers=h, json={"timezone": "Mars/Olympus"}).status_code == 400
    assert http.put("/v1/tenants/moda/settings", headers=h,
                    json={"timezone": "Europe/Berlin"}).json()["timezone"] == "Europe/Berlin"
    assert http.get("/v1/tenants/moda/campaigns", headers=h).json() == []
    assert http.post("/v1/tenants/moda/campaigns", headers=h, json={"name": "x"}).status_code == 400
    assert http.post("/v1/tenants/moda/campaigns", headers=h, content=b"{bad",
                     ).status_code in (400, 415)
    panels = http.get("/v1/tenants/moda/dashboard/panels?from=2026-01-01&to=2026-12-31", headers=h)
    assert panels.status_code == 200 and isinstance(panels.json(), list) and panels.json()
    html = http.get("/v1/tenants/moda/dashboard.html?from=2026-01-01&to=2026-12-31", headers=h)
    assert html.status_code == 200 and html.text.lstrip().lower().startswith("<!doctype html")
    assert http.get("/v1/tenants/moda/dashboard/panels?from=yesterday&to=x", headers=h).status_code == 400
    assert http.get("/v1/tenants/moda/shipments/aras/NOPE", headers=h).status_code == 404


def test_openapi_lists_every_route(env: dict[str, Any]) -> None:
    doc = env["http"].get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for spec in env["service"].routes:
        assert spec.method.lower() in doc["paths"][spec.full_path]
    ids = [op["operationId"] for p in doc["paths"].values() for op in p.values()]
    assert len(ids) == len(set(ids))
