"""The Google Calendar fake's own rules (what the connector and the sync rely on)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from invekto_integrations.core.clock import FrozenClock

from .gcal_fixtures import ACCOUNT, AYSE, START, ist, make_sandbox, sync_client


@pytest.fixture
def world() -> Any:
    clock = FrozenClock(START)
    sb, fake = make_sandbox(clock)
    client = sync_client(sb, clock)
    raw = httpx.Client(transport=sb.transport(), base_url=sb.inprocess_url("google_calendar"))
    raw.headers["Authorization"] = f"Bearer {client.auth.token_sync()}"
    yield clock, fake, client, raw
    raw.close()
    client.close()


def test_a_change_during_paging_comes_with_the_next_incremental_sync(world: Any) -> None:
    _, fake, client, _ = world
    ids = [fake.human_insert(ACCOUNT, AYSE, ist(2, h), ist(2, h, 30))["id"] for h in (9, 10, 11)]
    page = client.list_events(AYSE, max_results=2)
    fake.human_move(ACCOUNT, AYSE, ids[2], ist(2, 15), ist(2, 15, 30))  # changes after the snapshot
    assert page.next_call is not None
    last = client._runner.run(page.next_call)
    token = last.info["next_sync_token"]
    assert token and [i.event.id for i in page.items] == ids[:2]
    assert [i.event.id for i in last.items] == []  # it moved past the snapshot ...
    assert [e.id for e in client.list_changes(AYSE, token).events] == [ids[2]]  # ... and comes next time


def test_show_deleted_and_time_filters(world: Any) -> None:
    _, fake, _, raw = world
    keep = fake.human_insert(ACCOUNT, AYSE, ist(2, 9), ist(2, 10))["id"]
    gone = fake.human_insert(ACCOUNT, AYSE, ist(3, 9), ist(3, 10))["id"]
    fake.human_delete(ACCOUNT, AYSE, gone)
    path = f"/calendar/v3/calendars/{AYSE}/events"
    hidden = raw.get(path, params={"showDeleted": "false"}).json()["items"]
    assert [i["id"] for i in hidden] == [keep]
    shown = raw.get(path, params={"showDeleted": "true"}).json()["items"]
    assert {i["id"]: i["status"] for i in shown} == {keep: "confirmed", gone: "cancelled"}
    windowed = raw.get(path, params={"timeMin": "2026-03-02T06:30:00Z", "timeMax": "2026-03-02T07:00:00Z"})
    assert [i["id"] for i in windowed.json()["items"]] == [keep]
    assert raw.get(path, params={"timeMin": "2026-03-02T07:00:00"}).status_code == 400  # no offset
    assert raw.get(path, params={"maxResults": "2501"}).status_code == 400
    assert raw.get(path, params={"pageToken": "garbage"}).status_code == 400
    assert raw.get(path, params={"syncToken": "garbage"}).status_code == 410


def test_writes_change_etag_and_updated_and_validate_times(world: Any) -> None:
    clock, _fake, _, raw = world
    path = f"/calendar/v3/calendars/{AYSE}/events"
    body = {"start": {"dateTime": "2026-03-02T10:00:00+03:00"}, "end": {"dateTime": "2026-03-02T09:00:00+03:00"}}
    bad = raw.post(path, json=body)
    assert bad.status_code == 400 and bad.json()["error"]["errors"][0]["reason"] == "timeRangeEmpty"
    assert raw.post(path, json={"start": body["start"]}).status_code == 400
    made = raw.post(path, json={"start": body["start"], "end": {"dateTime": "2026-03-02T11:00:00+03:00"},
                                "extendedProperties": {"private": {"a": "1", "b": "2"}}}).json()
    clock.advance(30)
    patched = raw.patch(f"{path}/{made['id']}", json={"extendedProperties": {"private": {"b": "3"}}}).json()
    assert patched["etag"] != made["etag"] and patched["updated"] > made["updated"]
    assert patched["extendedProperties"]["private"] == {"a": "1", "b": "3"}  # objects merge on PATCH
    assert patched["start"] == made["start"]
    put = raw.put(f"{path}/{made['id']}", json={"start": made["start"], "end": made["end"]}).json()
    assert "extendedProperties" not in put  # PUT replaces the whole event
    assert raw.delete(f"{path}/{made['id']}", headers={"If-Match": '"0"'}).status_code == 412
    assert raw.delete(f"{path}/{made['id']}", headers={"If-Match": put["etag"]}).status_code == 204
    assert raw.delete(f"{path}/{made['id']}").status_code == 410


def test_every_api_call_checks_the_bearer_token(world: Any) -> None:
    clock, fake, _, raw = world
    path = f"/calendar/v3/calendars/{AYSE}/events"
    assert raw.get(path).status_code == 200
    clock.advance(3601)  # the access token's hour is over on the fake clock
    answer = raw.get(path)
    assert answer.status_code == 401 and answer.json()["error"]["errors"][0]["reason"] == "authError"
    assert raw.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    fake.reset()
    assert fake.events(ACCOUNT, AYSE) == [] and fake.channels == {}
