"""The operating routes through HTTP only: accounts, the streamed order sync, parcel watches,
consent, doctors and their calendars, waitlist joins, appointments, campaigns with A/B settings
and their recipients — validation (400 naming the field) and tenant scoping (404 for the other)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette's note about its httpx backend
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from invekto_integrations import Integrations
from invekto_integrations.service import IntegrationsService, ServiceConfig, issue_token


@pytest.fixture()
def env() -> Iterator[dict[str, Any]]:
    with Integrations.sandbox(["trendyol", "aras", "google_calendar"]) as client:
        service = IntegrationsService(client, ServiceConfig())
        tokens = {t: issue_token(service.tokens, t, clock=client.clock)[0] for t in ("moda", "klinik")}
        with TestClient(service.app) as http:
            yield {"client": client, "http": http, "tokens": tokens}


def _call(env: dict[str, Any], method: str, tenant: str, path: str, *, as_tenant: str | None = None,
          **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {env['tokens'][as_tenant or tenant]}"}
    return env["http"].request(method, f"/v1/tenants/{tenant}{path}", headers=headers, **kw)


def _trendyol(env: dict[str, Any]) -> tuple[Any, Any]:
    fake = env["client"].fakes.trendyol
    seller = fake.provision_account("Moda")
    return fake, seller


def test_accounts_are_added_without_echoing_secrets(env: dict[str, Any]) -> None:
    _, seller = _trendyol(env)
    creds = seller.credentials.reveal()
    r = _call(env, "POST", "moda", "/accounts", json={
        "provider": "trendyol", "credentials": {"api_key": creds["api_key"], "api_secret": creds["api_secret"]},
        "settings": seller.settings, "display_name": "Moda @ Trendyol"})
    assert r.status_code == 201, r.text
    assert creds["api_secret"] not in r.text and "api_key" not in r.json()
    listed = _call(env, "GET", "moda", "/accounts").json()
    assert [(a["provider"], a["display_name"]) for a in listed] == [("trendyol", "Moda @ Trendyol")]
    assert creds["api_key"] not in json.dumps(listed) and "encrypted" not in json.dumps(listed)
    assert _call(env, "GET", "klinik", "/accounts").json() == []
    assert _call(env, "GET", "moda", "/accounts", as_tenant="klinik").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"provider": "nope", "credentials": {"api_key": "k"}}, "provider"),
    ({"provider": "trendyol", "credentials": {}}, "credentials.api_key"),
    ({"provider": "trendyol", "credentials": {"api_key": "k", "pin": "1"}}, "credentials.pin"),
    ({"provider": "trendyol", "credentials": {"api_key": 5}}, "credentials.api_key"),
    ({"provider": "trendyol"}, "credentials"),
    ({"provider": "trendyol", "credentials": {"api_key": "k"}, "colour": "red"}, "colour"),
])
def test_bad_account_bodies_name_the_field(env: dict[str, Any], body: dict[str, Any], field: str) -> None:
    r = _call(env, "POST", "moda", "/accounts", json=body)
    assert r.status_code == 400 and r.json()["field"] == field, r.text


def test_order_sync_streams_progress_then_the_report(env: dict[str, Any]) -> None:
    fake, seller = _trendyol(env)
    now = env["client"].clock.now()
    fake.seed_orders(seller.account_key, 12, start=now - timedelta(days=20), end=now - timedelta(days=1))
    creds = seller.credentials.reveal()
    _call(env, "POST", "moda", "/accounts", json={"provider": "trendyol", "settings": seller.settings,
                                                  "credentials": {k: v for k, v in creds.items() if v}})
    with env["http"].stream("POST", "/v1/tenants/moda/orders/sync", params={"stream": "true"},
                            headers={"Authorization": f"Bearer {env['tokens']['moda']}"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line.strip()]
    progress = [x["progress"] for x in lines[:-1]]
    assert progress and all(0 <= p["fraction"] <= 1 for p in progress) and progress[-1]["done"]
    assert lines[-1]["result"]["inserted"] == 12 and lines[-1]["result"]["failed"] == []
    assert _call(env, "GET", "moda", "/orders/count").json() == {"count": 12}
    again = _call(env, "POST", "moda", "/orders/sync", params={"mode": "incremental"}).json()
    assert again["inserted"] == 0 and again["accounts"][0]["mode"] == "incremental"
    assert _call(env, "POST", "moda", "/orders/sync", params={"mode": "sometimes"}).json()["field"] == "mode"
    assert _call(env, "GET", "klinik", "/orders/count").json() == {"count": 0}


def test_parcels_are_watched_and_listed_per_tenant(env: dict[str, Any]) -> None:
    _call(env, "POST", "moda", "/accounts", json={"provider": "aras", "settings": {"customer_code": "1"},
                                                  "credentials": {"api_key": "fake_user", "api_secret": "fake_pass"}})
    r = _call(env, "POST", "moda", "/shipments", json={"carrier": "aras", "tracking_number": "3500000000017",
                                                       "customer_phone": "0532 412 34 56"})
    assert r.status_code == 201, r.text
    assert [s["tracking_number"] for s in _call(env, "GET", "moda", "/shipments").json()] == ["3500000000017"]
    assert _call(env, "GET", "klinik", "/shipments").json() == []
    assert _call(env, "GET", "klinik", "/shipments/aras/3500000000017").status_code == 404
    bad = _call(env, "POST", "moda", "/shipments", json={"carrier": "aras", "tracking_number": ""})
    assert bad.status_code == 400 and bad.json()["field"] == "tracking_number"


def test_consent_is_recorded_and_checked(env: dict[str, Any]) -> None:
    before = _call(env, "GET", "moda", "/contacts/05324123456/consent").json()
    r = _call(env, "POST", "moda", "/contacts/05324123456/consent", json={"register": False})
    assert r.status_code == 201 and r.json()["recipient"] == "+905324123456" and r.json()["status"] == "ONAY"
    after = _call(env, "GET", "moda", "/contacts/+905324123456/consent", params={"category": "marketing"}).json()
    assert after["allowed"] is True and before["allowed"] is False
    assert _call(env, "GET", "klinik", "/contacts/+905324123456/consent").json()["allowed"] is False
    bad = _call(env, "POST", "moda", "/contacts/05324123456/consent", json={"status": "MAYBE"})
    assert bad.status_code == 400 and bad.json()["field"] == "status"
    assert _call(env, "GET", "moda", "/contacts/1/consent", params={"category": "x"}).json()["field"] == "category"


def test_doctors_calendar_waitlist_and_appointments(env: dict[str, Any]) -> None:
    week = {str(d): [{"start": "09:00", "end": "17:00"}] for d in range(1, 6)}
    r = _call(env, "POST", "klinik", "/doctors", json={"id": "dr-ayse", "name": "Dr. Ayşe", "working_hours": week,
                                                        "calendar_id": "dr.ayse@klinik-a.example"})
    assert r.status_code == 201, r.text
    assert r.json()["working_hours"]["1"] == [{"start": "09:00:00", "end": "17:00:00"}]
    created = r.json()["created_at"]
    again = _call(env, "POST", "klinik", "/doctors", json={"id": "dr-ayse", "name": "Dr. Ayşe Kaya",
                                                            "working_hours": week})
    assert again.json()["created_at"] == created and again.json()["name"] == "Dr. Ayşe Kaya"
    assert _call(env, "GET", "moda", "/doctors/dr-ayse").status_code == 404
    assert _call(env, "GET", "klinik", "/doctors/dr-ayse").json()["calendar_id"] is None
    # Without a calendar id there is nothing to connect; a bad range names the day.
    assert _call(env, "POST", "klinik", "/doctors/dr-ayse/calendar").json()["field"] == "calendar_id"
    bad = _call(env, "POST", "klinik", "/doctors", json={"name": "X", "working_hours": {
        "1": [{"start": "17:00", "end": "09:00"}]}})
    assert bad.status_code == 400 and bad.json()["field"].startswith("working_hours.1")
    assert _call(env, "POST", "klinik", "/doctors", json={"name": ""}).json()["field"] == "name"
    # The waitlist needs a known service; the entry is the tenant's only.
    missing = _call(env, "POST", "klinik", "/waitlist", json={"patient_phone": "+905321110002",
                                                              "service_type": "Muayene"})
    assert missing.status_code == 400, missing.text
    _call(env, "POST", "klinik", "/pricing", json={"service_name": "Muayene", "price_min": "750",
                                                   "price_max": "1000", "duration_minutes": 30})
    joined = _call(env, "POST", "klinik", "/waitlist", json={"patient_phone": "0532 111 00 02",
                                                             "service_type": "muayene", "patient_name": "Zeynep"})
    assert joined.status_code == 201 and joined.json()["patient_phone"] == "+905321110002", joined.text
    assert [e["id"] for e in _call(env, "GET", "klinik", "/waitlist").json()] == [joined.json()["id"]]
    assert _call(env, "GET", "moda", "/waitlist").json() == []
    assert _call(env, "POST", "klinik", "/waitlist", json={"patient_phone": "+905321110002",
                                                           "service_type": "Muayene", "doctor_id": "nobody"}
                 ).json()["field"] == "doctor_id"
    assert _call(env, "GET", "klinik", "/appointments").json() == []
    assert _call(env, "GET", "klinik", "/appointments", params={"start": "yesterday"}).json()["field"] == "start"
    assert _call(env, "GET", "klinik", "/appointments/01ABC").status_code == 404


def test_campaigns_take_ab_settings_and_list_recipients(env: dict[str, Any]) -> None:
    now = env["client"].clock.now()
    body = {"name": "Kış", "trigger": {"type": "one_shot", "at": (now + timedelta(hours=1)).isoformat()},
            "variants": [{"name": "A", "template_name": "t", "weight": "3"},
                         {"name": "B", "template_name": "t", "weight": "1"}],
            "ab": {"holdout": "0.1", "metric": "reply", "auto_winner": True, "test_fraction": "0.5"},
            "conversion_window_days": 3}
    r = _call(env, "POST", "moda", "/campaigns", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["ab"]["holdout"] == "0.1" and made["ab"]["metric"] == "reply" and made["ab"]["auto_winner"]
    assert [v["weight"] for v in made["variants"]] == ["3", "1"]
    assert _call(env, "GET", "moda", f"/campaigns/{made['id']}/recipients").json() == []
    assert _call(env, "GET", "klinik", f"/campaigns/{made['id']}/recipients").status_code == 404
    for change, field in (({"ab": {"holdout": "1.5"}}, "ab.holdout"), ({"ab": {"colour": 1}}, "ab.colour"),
                          ({"conversion_window_days": 0}, "conversion_window_days"),
                          ({"category": "spam"}, "category"), ({"surprise": 1}, "surprise")):
        bad = _call(env, "POST", "moda", "/campaigns", json={**body, **change})
        assert bad.status_code == 400 and bad.json()["field"] == field, (change, bad.text)
    assert _call(env, "POST", "moda", "/campaigns/preview", json={"sample": "many"}).json()["field"] == "sample"


def test_every_new_route_is_in_the_openapi_document(env: dict[str, Any]) -> None:
    paths = env["http"].get("/openapi.json").json()["paths"]
    for path, method in (("/accounts", "post"), ("/orders/sync", "post"), ("/orders/count", "get"),
                         ("/shipments", "post"), ("/contacts/{phone}/consent", "post"), ("/doctors", "post"),
                         ("/doctors/{doctor_id}/calendar", "post"), ("/waitlist", "post"),
                         ("/appointments", "get"), ("/campaigns/{campaign_id}/recipients", "get")):
        assert method in paths[f"/v1/tenants/{{tenant_id}}{path}"], path
