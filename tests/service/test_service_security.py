"""The service's security properties, walked over its own route table so a new route is covered
without touching this file: every API route refuses a request without a token (401) and answers
404 to one tenant's token on another tenant's path or with another tenant's resource ids (never 200
with the other's data, never 500); webhooks are checked on their raw bytes and a replay changes
nothing; the tracked-link redirect only ever goes to the code's own wa.me address."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import re
import warnings
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

with warnings.catch_warnings():  # starlette's note about its httpx backend
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from invekto_integrations import Integrations
from invekto_integrations.service import IntegrationsService, ServiceConfig, WebhookRoute, issue_token
from invekto_integrations.storage.records import Doctor, TimeRange, TrackedShipment

APP_SECRET = "meta-app-secret-for-security-tests"
VERIFY = "verify-me"
A, B = "moda", "klinik"
SECRET_MARK = "GizliKlinikVerisi"  # in every name of B's resources: must never reach A


def _sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _save(method: Any, tenant: str, record: Any) -> Any:
    """Calls a repository write with the record, giving the tenant first when the method takes it."""
    params = list(inspect.signature(method).parameters)
    return method(tenant, record) if params and params[0] == "tenant_id" else method(record)


def _doctor(tenant: str, now: datetime) -> Doctor:
    week = {d: [TimeRange(start=time(0), end=time(23, 59))] for d in range(1, 8)}
    return Doctor(id="dr-1", tenant_id=tenant, name=f"Dr. {SECRET_MARK if tenant == B else 'A'}",
                  working_hours=week, created_at=now, updated_at=now)


@pytest.fixture()
def env() -> Iterator[dict[str, Any]]:
    with Integrations.sandbox(["trendyol"]) as client:
        config = ServiceConfig(
            whatsapp_verify_token=SecretStr(VERIFY),
            whatsapp_routes={"1000000001": WebhookRoute(A, SecretStr(APP_SECRET)),
                             "1000000002": WebhookRoute(B, SecretStr(APP_SECRET))},
            meta_app_secret=SecretStr(APP_SECRET), waba_tenants={"waba-a": A, "waba-b": B}, max_body_bytes=64_000)
        service = IntegrationsService(client, config)
        tokens = {t: issue_token(service.tokens, t, clock=client.clock)[0] for t in (A, B)}
        with TestClient(service.app) as http:
            world = {"client": client, "http": http, "tokens": tokens, "service": service}
            world["ids"] = {t: _resources(world, t) for t in (A, B)}
            yield world


def _auth(env: dict[str, Any], tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['tokens'][tenant]}"}


def _resources(env: dict[str, Any], tenant: str) -> dict[str, str]:
    """One resource of each kind for ``tenant``, made through the API where it can; the path
    parameters of the route table are filled from this map."""
    http, client = env["http"], env["client"]
    h = _auth(env, tenant)
    now = client.clock.now()
    mark = SECRET_MARK if tenant == B else "Moda"
    _save(client.store.doctors.save, tenant, _doctor(tenant, now))
    r = http.post(f"/v1/tenants/{tenant}/pricing", headers=h, json={
        "service_name": f"Muayene {tenant}", "price_min": "500", "price_max": "900", "duration_minutes": 30})
    assert r.status_code == 201, r.text
    service_id = r.json()["id"]
    starts = (now + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    r = http.post(f"/v1/tenants/{tenant}/appointments", headers=h, json={
        "doctor_id": "dr-1", "service_name": f"Muayene {tenant}", "starts_at": starts.isoformat(),
        "patient_phone": "+905324445566", "patient_name": mark})
    assert r.status_code == 201, r.text
    appointment_id = r.json()["id"]
    r = http.post(f"/v1/tenants/{tenant}/campaigns", headers=h, json={
        "name": f"Kampanya {mark}", "trigger": {"type": "one_shot", "at": (now + timedelta(days=3)).isoformat()},
        "variants": [{"name": "A", "template_name": "kis_a"}]})
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]
    r = http.post(f"/v1/tenants/{tenant}/attribution/links", headers=h,
                  json={"wa_number": "905321112233", "channel_name": mark})
    assert r.status_code == 201, r.text
    doctor = http.post(f"/v1/tenants/{tenant}/doctors", headers=h, json={"id": f"dr-{tenant}", "name": f"Dr. {mark}"})
    assert doctor.status_code == 201, doctor.text
    number = f"{tenant.upper()}-PARCEL-1"
    client.store.shipments.add(tenant, TrackedShipment(
        tenant_id=tenant, carrier="aras", tracking_number=number, status="in_transit", active=True,
        created_at=now, updated_at=now))
    return {"campaign_id": campaign_id, "service_id": service_id, "appointment_id": appointment_id,
            "carrier": "aras", "tracking_number": number, "phone": "+905324445566", "code": r.json()["code"],
            "service": f"Muayene {tenant}", "doctor_id": f"dr-{tenant}"}


# Path parameters that name one resource: another tenant's id must be 404. The others (a phone
# number) are search terms: the answer must just hold nothing of the other tenant.
RESOURCE_PARAMS = {"campaign_id", "service_id", "appointment_id", "tracking_number", "doctor_id"}
QUERY_VALUES = {"from": "2026-03-01", "to": "2026-03-31", "start": "2026-03-01", "end": "2026-03-31"}
INSTANTS = {"start": "2026-03-02T00:00:00+00:00", "end": "2026-03-06T00:00:00+00:00"}  # /slots takes times
B_IDS = ("campaign_id", "service_id", "appointment_id", "code")


def _url(spec: Any, tenant: str, ids: dict[str, str]) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "tenant_id":
            return tenant
        assert name in ids, f"{spec.method} {spec.full_path}: no resource for {{{name}}} in _resources (add one)"
        return quote(ids[name], safe="")

    url = re.sub(r"\{(\w+)\}", fill, spec.full_path)
    values = {**QUERY_VALUES, **(INSTANTS if spec.path.endswith("/slots") else {}), **ids}
    query = {p.name: values.get(p.name, "x") for p in spec.params if p.where == "query" and p.required}
    if query:
        url += "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
    return url


def _call(http: TestClient, spec: Any, url: str, headers: dict[str, str]) -> Any:
    body = {"name": "x", "service_name": "x"} if spec.method in ("POST", "PUT", "PATCH") else None
    return http.request(spec.method, url, headers=headers, json=body)


def test_every_route_needs_a_token(env: dict[str, Any]) -> None:
    http, routes = env["http"], env["service"].routes
    assert len(routes) >= 20
    for spec in routes:
        url = _url(spec, A, env["ids"][A])
        for headers in ({}, {"Authorization": "Bearer inv_not-a-token"}, {"Authorization": env["tokens"][A]},
                        {"Authorization": f"Basic {env['tokens'][A]}"}):
            r = _call(http, spec, url, headers)
            assert r.status_code == 401, (spec.method, spec.full_path, headers, r.status_code)


def test_another_tenants_path_is_404_on_every_route(env: dict[str, Any]) -> None:
    http = env["http"]
    for spec in env["service"].routes:
        for url in (_url(spec, B, env["ids"][B]), _url(spec, B, env["ids"][A])):
            r = _call(http, spec, url, _auth(env, A))
            assert r.status_code == 404, (spec.method, url, r.status_code, r.text[:200])
            assert SECRET_MARK not in r.text and not any(env["ids"][B][k] in r.text for k in B_IDS)


def test_another_tenants_ids_on_ones_own_path_are_404_on_every_route(env: dict[str, Any]) -> None:
    http = env["http"]
    checked = 0
    for spec in env["service"].routes:
        names = set(re.findall(r"\{(\w+)\}", spec.path))
        url = _url(spec, A, {**env["ids"][A], **env["ids"][B]})  # A's path, B's ids
        r = _call(http, spec, url, _auth(env, A))
        assert r.status_code < 500, (spec.method, url, r.status_code, r.text[:300])
        assert SECRET_MARK not in r.text, (spec.method, url, r.text[:300])
        assert not any(env["ids"][B][k] in r.text for k in B_IDS), (spec.method, url, r.text[:300])
        for name in names & RESOURCE_PARAMS:
            assert r.status_code == 404, (spec.method, url, name, r.status_code, r.text[:200])
            checked += 1
    assert checked >= 8


def test_each_tenant_still_reaches_its_own_resources(env: dict[str, Any]) -> None:
    """The 404s above are about the tenant, not broken URLs: the same URLs work for their owner."""
    http = env["http"]
    for spec in env["service"].routes:
        if spec.method != "GET":
            continue
        r = http.get(_url(spec, B, env["ids"][B]), headers=_auth(env, B))
        assert r.status_code == 200, (spec.full_path, r.status_code, r.text[:300])


def test_the_openapi_document_lists_the_same_routes(env: dict[str, Any]) -> None:
    doc = env["http"].get("/openapi.json").json()
    api = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if p.startswith("/v1/")}
    assert api == {(s.method, s.full_path) for s in env["service"].routes}
    for path, ops in doc["paths"].items():
        if path.startswith("/v1/tenants/{tenant_id}"):
            for op in ops.values():
                assert "401" in op["responses"] and "404" in op["responses"]


# -- webhooks -----------------------------------------------------------------------------------
def _inbound(pid: str, wa_id: str, text: str, wamid: str, ts: int) -> bytes:
    envelope = {"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "908500000001", "phone_number_id": pid},
            "contacts": [{"profile": {"name": "Ayşe"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text",
                          "text": {"body": text}}]}}]}]}
    return json.dumps(envelope, ensure_ascii=False).encode()


def _inbound_count(env: dict[str, Any], tenant: str) -> int:
    return len(env["client"].store.events.read(tenant, types=["message.inbound"]))


def test_whatsapp_signature_is_over_the_raw_bytes(env: dict[str, Any]) -> None:
    http = env["http"]
    ts = int(env["client"].clock.now().timestamp())
    body = _inbound("1000000001", "905324123456", "Merhaba, kargom nerede?", "wamid.S1", ts)
    sig = _sign(body)
    same_json = [
        json.dumps(json.loads(body)).encode(),  # the same document, ASCII-escaped
        json.dumps(json.loads(body), ensure_ascii=False, indent=1).encode(),  # whitespace
        body + b"\n",
        body.replace(b"kargom", b"KARGOM"),  # tampered
    ]
    for other in same_json:
        r = http.post("/webhooks/whatsapp", content=other, headers={"X-Hub-Signature-256": sig})
        assert r.status_code == 401, other[:60]
    for header in ("", "sha256=", sig.upper().replace("SHA256=", "sha1="), sig[:-2], "sha256=" + "0" * 64,
                   _sign(body, "another-app-secret")):
        assert http.post("/webhooks/whatsapp", content=body,
                         headers={"X-Hub-Signature-256": header}).status_code == 401, header
    assert _inbound_count(env, A) == 0
    r = http.post("/webhooks/whatsapp", content=body, headers={"X-Hub-Signature-256": sig})
    assert r.status_code == 200 and _inbound_count(env, A) == 1
    assert _inbound_count(env, B) == 0  # routed by the receiving number, to its tenant only


def test_a_replayed_whatsapp_webhook_is_processed_once(env: dict[str, Any]) -> None:
    http = env["http"]
    ts = int(env["client"].clock.now().timestamp())
    body = _inbound("1000000002", "905324123456", "Randevu istiyorum", "wamid.R1", ts)
    for _ in range(3):
        assert http.post("/webhooks/whatsapp", content=body, headers={"X-Hub-Signature-256": _sign(body)}
                         ).status_code == 200
    assert _inbound_count(env, B) == 1
    # The same message id inside a differently shaped (re-signed) envelope is still the same message.
    again = json.dumps(json.loads(body), indent=2).encode()
    http.post("/webhooks/whatsapp", content=again, headers={"X-Hub-Signature-256": _sign(again)})
    assert _inbound_count(env, B) == 1
    assert _inbound_count(env, A) == 0


def _automatic_event(waba: str, event_id: str, ts: int) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{
        "field": "automatic_events", "value": {"messaging_product": "whatsapp", "automatic_events": [{
            "id": event_id, "event_name": "Purchase", "timestamp": ts, "ctwa_clid": "ARAkSandbox000009",
            "custom_data": {"currency": "TRY", "value": 1250}}]}}]}]}).encode()


def test_meta_automatic_events_are_signed_and_replays_store_once(env: dict[str, Any]) -> None:
    http = env["http"]
    body = _automatic_event("waba-b", "ae-9", int(env["client"].clock.now().timestamp()))
    url = "/webhooks/meta/automatic-events"
    for content, header in ((body, None), (body, _sign(body, "nope")), (body + b" ", _sign(body)),
                            (body.replace(b"1250", b"9999"), _sign(body))):
        headers = {"X-Hub-Signature-256": header} if header else {}
        assert http.post(url, content=content, headers=headers).status_code == 401
    first = http.post(url, content=body, headers={"X-Hub-Signature-256": _sign(body)})
    assert first.status_code == 200 and first.json()["stored"] == {B: 1}, first.text
    second = http.post(url, content=body, headers={"X-Hub-Signature-256": _sign(body)})
    assert second.status_code == 200 and second.json()["stored"].get(B, 0) == 0, second.text


def test_google_push_for_another_tenants_path_or_with_a_bad_token_queues_nothing(env: dict[str, Any]) -> None:
    http = env["http"]
    headers = {"X-Goog-Channel-ID": "chan-unknown", "X-Goog-Resource-ID": "res-1", "X-Goog-Resource-State": "exists",
               "X-Goog-Message-Number": "5", "X-Goog-Channel-Token": "guess"}
    for tenant in (A, B, "nobody"):
        r = http.post(f"/webhooks/google-calendar/{tenant}", headers=headers)
        assert r.status_code in (200, 400, 403, 404) and r.json().get("action") != "queued", r.text
    # a tenant with no calendar connection has no channels: acknowledged and dropped, never a 500
    r = http.post(f"/webhooks/google-calendar/{A}", headers={"X-Goog-Channel-ID": "x"})
    assert r.status_code == 200 and r.json() == {"action": "unknown_channel"}
    assert http.post(f"/webhooks/google-calendar/{A}", content=b"x" * 70_000, headers=headers).status_code == 413
    assert env["client"].calendar.engine.queued() == []


# -- the tracked-link redirect ---------------------------------------------------------------------
HOSTILE = ["//evil.example", "/\\evil.example", "%2F%2Fevil.example", "https:%2F%2Fevil.example", "..%2F..%2F",
           "%0d%0aLocation:%20https://evil.example", "\r\nLocation: https://evil.example", "%E2%80%AE", "%00",
           "@evil.example", "evil.example%23", "%2e%2e"]


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from(HOSTILE) | st.text(max_size=30), query=st.sampled_from(
    ["", "?next=//evil.example", "?url=https%3A%2F%2Fevil.example", "?fbclid=%0d%0aSet-Cookie:x=1",
     "?%0d%0a=1", "?utm_source=" + "x" * 3000]) | st.text(max_size=20).map(lambda q: "?" + quote(q, safe="=&")),
       upper=st.booleans())
def test_the_redirect_only_goes_to_the_codes_own_wa_me_link(env: dict[str, Any], suffix: str, query: str,
                                                             upper: bool) -> None:
    http = env["http"]
    code = env["ids"][A]["code"]
    wa_url = next(link["wa_url"] for link in http.get(f"/v1/tenants/{A}/attribution/links",
                                                      headers=_auth(env, A)).json() if link["code"] == code)
    for path in (f"/r/{code}{suffix}", f"/r/{suffix}", f"/r/{code}/{suffix}", f"/r/{suffix}{code}"):
        target = (path.upper() if upper else path) + query
        try:
            r = http.get(target, follow_redirects=False)
        except Exception as exc:  # the client refuses to send it (invalid URL): nothing to check
            assert "URL" in type(exc).__name__ or "url" in str(exc).lower() or isinstance(exc, ValueError), exc
            continue
        assert r.status_code in (302, 307, 404, 405), (target, r.status_code)
        if r.status_code == 307:  # Starlette's trailing-slash redirect: to our own host, our own /r/ path
            location = httpx.URL(r.headers["location"])
            assert location.host == "testserver" and location.path.startswith("/r/"), (target, location)
            assert not location.path.startswith("//"), (target, location)
        if r.status_code == 302:
            assert r.headers["location"] == wa_url, (target, r.headers["location"])
            assert wa_url.startswith("https://wa.me/")
        assert "set-cookie" not in r.headers
        assert "evil" not in httpx.URL(r.headers.get("location", "")).host
        assert SECRET_MARK not in r.text


def test_the_redirect_knows_no_tenant_but_the_codes(env: dict[str, Any]) -> None:
    http = env["http"]
    for tenant in (A, B):
        code = env["ids"][tenant]["code"]
        r = http.get(f"/r/{code}", follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"].startswith("https://wa.me/905321112233")
    clicks = {t: len(env["client"].store.tracked_links.clicks(t, env["ids"][t]["code"])) for t in (A, B)}
    assert clicks == {A: 1, B: 1}
    # one tenant's code is never counted for the other
    assert env["client"].store.tracked_links.clicks(A, env["ids"][B]["code"]) == []

