"""The Google Calendar connector against its sandbox fake, in-process: sync and async clients run
the same scenarios and must give the same answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import (
    AlreadyExists,
    AuthenticationError,
    InvalidParameter,
    InvalidRequest,
    NotFound,
    PayloadError,
    PermissionDenied,
    PreconditionFailed,
    ProviderUnavailable,
    RateLimited,
    SyncTokenExpired,
)
from invekto_integrations.providers.base import (
    AsyncCalendar,
    Calendar,
    CalendarEvent,
    CalendarLookupError,
    EventChanges,
)
from invekto_integrations.providers.google_calendar import (
    PROVIDER,
    GoogleCalendarClient,
    error_from_google,
    event_id_for,
    is_valid_event_id,
    parse_notification,
)
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.google_calendar import GoogleCalendarFake

from .gcal_fixtures import ACCOUNT, AYSE, MEHMET, START, async_client, ist, make_sandbox, oauth, sync_client


class Runner:
    """Runs a client method the same way for the sync and the async client."""

    def __init__(self, client: Any, is_async: bool) -> None:
        self.client = client
        self.is_async = is_async

    def __call__(self, name: str, *args: Any, **kw: Any) -> Any:
        result = getattr(self.client, name)(*args, **kw)
        if self.is_async:
            return asyncio.run(_await(result))
        return result


async def _await(x: Any) -> Any:
    return await x


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def sandbox(clock: FrozenClock) -> tuple[Sandbox, GoogleCalendarFake]:
    return make_sandbox(clock)


@pytest.fixture
def fake(sandbox: tuple[Sandbox, GoogleCalendarFake]) -> GoogleCalendarFake:
    return sandbox[1]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, sandbox: tuple[Sandbox, GoogleCalendarFake],
        clock: FrozenClock) -> Iterator[Runner]:
    sb, _ = sandbox
    if request.param == "sync":
        client: Any = sync_client(sb, clock)
        yield Runner(client, False)
        client.close()
    else:
        # One client across calls, each call in its own asyncio.run(): the in-process transport keeps
        # no connections, so nothing is bound to a finished loop.
        aclient = async_client(sb, clock)
        yield Runner(aclient, True)
        asyncio.run(aclient.aclose())


def _event(event_id: str, start_h: int, **kw: Any) -> CalendarEvent:
    return CalendarEvent(id=event_id, summary="Randevu", start=ist(2, start_h), end=ist(2, start_h, 30),
                         time_zone="Europe/Istanbul", private={"clinicApptId": f"A-{start_h}"}, **kw)


def test_clients_implement_the_calendar_protocols(sandbox: tuple[Sandbox, GoogleCalendarFake],
                                                  clock: FrozenClock) -> None:
    sync_c: Calendar = sync_client(sandbox[0], clock)
    async_c: AsyncCalendar = async_client(sandbox[0], clock)
    assert sync_c.provider == async_c.provider == PROVIDER.name
    assert "rt-klinik-a" not in repr(sync_c) and "secret" not in repr(sync_c.auth)  # type: ignore[attr-defined]
    sync_c.close()


def test_full_sync_pages_and_ends_with_a_sync_token(run: Runner, fake: GoogleCalendarFake) -> None:
    for h in (9, 10, 11):
        run("insert_event", AYSE, _event(event_id_for("t1", f"a{h}"), h))
    first = run("list_events", AYSE, max_results=1)
    assert len(first.items) == 1 and first.has_next_page and first.info["next_sync_token"] is None
    changes = run("list_changes", AYSE, None, max_results=1)
    assert changes.full_sync and len(changes.events) == 3 and changes.next_sync_token
    pages = fake.requests_to(f"/calendars/{AYSE}/events", "GET")[-3:]
    assert [("pageToken" in r.query) for r in pages] == [False, True, True]
    assert all(r.query["singleEvents"] == "true" and r.query["showDeleted"] == "true" for r in pages)


def test_incremental_sync_returns_changes_and_minimal_tombstones(run: Runner, fake: GoogleCalendarFake) -> None:
    keep = run("insert_event", AYSE, _event(event_id_for("t1", "keep"), 9))
    gone = run("insert_event", AYSE, _event(event_id_for("t1", "gone"), 10))
    token = run("list_changes", AYSE).next_sync_token
    assert run("list_changes", AYSE, token).events == []
    run("delete_event", AYSE, gone.id, etag=gone.etag)
    moved = run("patch_event", AYSE, keep.id, EventChanges(start=ist(2, 12), end=ist(2, 12, 30),
                                                         time_zone="Europe/Istanbul"), etag=keep.etag)
    changes = run("list_changes", AYSE, token)
    by_id = {e.id: e for e in changes.events}
    assert not changes.full_sync and set(by_id) == {keep.id, gone.id}
    assert by_id[gone.id].cancelled and by_id[gone.id].start is None and by_id[gone.id].private == {}
    assert by_id[keep.id].start == ist(2, 12) and by_id[keep.id].etag == moved.etag != keep.etag
    # a deleted event stays readable as cancelled; deleting it again is done, not an error
    assert run("get_event", AYSE, gone.id).cancelled
    run("delete_event", AYSE, gone.id)


def test_expired_sync_token_raises_sync_token_expired(run: Runner, fake: GoogleCalendarFake) -> None:
    token = run("list_changes", AYSE).next_sync_token
    fake.expire_sync_tokens(ACCOUNT, AYSE)
    with pytest.raises(SyncTokenExpired) as info:
        run("list_changes", AYSE, token)
    assert info.value.status == 410 and info.value.code == "fullSyncRequired"
    assert run("list_changes", AYSE).full_sync  # a full sync works again


def test_writes_etags_and_preconditions(run: Runner) -> None:
    eid = event_id_for("t1", "A-1")
    created = run("insert_event", AYSE, _event(eid, 9))
    assert created.id == eid and created.etag and created.updated == START
    assert created.private["clinicApptId"] == "A-9" and created.time_zone == "Europe/Istanbul"
    with pytest.raises(AlreadyExists):
        run("insert_event", AYSE, _event(eid, 9))
    patched = run("patch_event", AYSE, eid, EventChanges(summary="Randevu: Muayene"), etag=created.etag)
    assert patched.etag != created.etag and patched.private == created.private  # other fields kept
    with pytest.raises(PreconditionFailed) as info:
        run("patch_event", AYSE, eid, EventChanges(summary="stale"), etag=created.etag)
    assert info.value.status == 412 and eid in str(info.value)
    with pytest.raises(PreconditionFailed):
        run("delete_event", AYSE, eid, etag=created.etag)
    run("delete_event", AYSE, eid, etag=patched.etag)
    with pytest.raises(AlreadyExists):  # deleted ids stay reserved
        run("insert_event", AYSE, _event(eid, 9))
    with pytest.raises(NotFound):
        run("get_event", AYSE, "nosuchevent0")
    with pytest.raises(NotFound):
        run("list_events", "nobody@klinik-a.example")


def test_invalid_requests_are_refused_before_any_call(sandbox: tuple[Sandbox, GoogleCalendarFake],
                                                      clock: FrozenClock) -> None:
    client = sync_client(sandbox[0], clock)
    fake = sandbox[1]
    with pytest.raises(InvalidParameter):
        client.insert_event(AYSE, _event("Not_Base32!", 9))
    with pytest.raises(InvalidParameter):
        client.list_events(AYSE, sync_token="x", time_min=ist(1, 0))
    with pytest.raises(InvalidParameter):
        client.free_busy([AYSE], ist(2, 10), ist(2, 9))
    with pytest.raises(InvalidParameter):
        client.patch_event(AYSE, "abcdef", EventChanges())
    assert fake.requests == []
    client.close()


def test_the_fake_refuses_filters_google_forbids_with_a_sync_token(sandbox: tuple[Sandbox, GoogleCalendarFake],
                                                                   clock: FrozenClock) -> None:
    sb, _fake = sandbox
    client = sync_client(sb, clock)
    token = client.list_changes(AYSE).next_sync_token
    bearer = client.auth.token_sync()
    with httpx.Client(transport=sb.transport(), base_url=sb.inprocess_url("google_calendar")) as raw:
        answer = raw.get(f"/calendar/v3/calendars/{AYSE}/events", params={"syncToken": token,
                                                                           "timeMin": "2026-03-01T00:00:00Z"},
                         headers={"Authorization": f"Bearer {bearer}"})
        assert answer.status_code == 400 and answer.json()["error"]["errors"][0]["location"] == "timeMin"
        bad_id = raw.post(f"/calendar/v3/calendars/{AYSE}/events", json={"id": "UPPER_case", "start": {},
                                                                          "end": {}},
                          headers={"Authorization": f"Bearer {bearer}"})
        assert bad_id.status_code == 400
    client.close()


def test_free_busy_reports_busy_time_and_calendar_errors(run: Runner, fake: GoogleCalendarFake) -> None:
    run("insert_event", AYSE, _event(event_id_for("t1", "x"), 10))
    fake.human_insert(ACCOUNT, AYSE, ist(2, 10, 15), ist(2, 11))  # overlaps: merged
    fake.human_insert(ACCOUNT, AYSE, ist(2, 13), ist(2, 14), transparency="transparent")  # free
    fake.human_insert(ACCOUNT, MEHMET, ist(2, 8), ist(2, 9, 30))  # clipped at timeMin
    answer = run("free_busy", [AYSE, MEHMET, "room9@resource.calendar.google.com"], ist(2, 9), ist(2, 18),
                 time_zone="Europe/Istanbul")
    assert [(b.start, b.end) for b in answer[AYSE]] == [(ist(2, 10), ist(2, 11))]
    assert [(b.start, b.end) for b in answer[MEHMET]] == [(ist(2, 9), ist(2, 9, 30))]
    missing = answer["room9@resource.calendar.google.com"]
    assert isinstance(missing, CalendarLookupError) and missing.reasons == ("notFound",)


def test_watch_and_stop_a_channel(run: Runner, fake: GoogleCalendarFake) -> None:
    channel = run("watch", AYSE, "https://hooks.example/gcal", channel_id="ch-1", token="t=42",
                  expiration=START + timedelta(days=30))
    assert channel.expiration == START + timedelta(days=7)  # the server shortened it
    assert channel.resource_id and channel.calendar_id == AYSE
    sent = fake.webhooks.drain()
    assert sent and sent[0].headers["X-Goog-Resource-State"] == "sync"
    note = parse_notification(sent[0].headers)
    assert (note.channel_id, note.token, note.message_number, note.expiration) == ("ch-1", "t=42", 1,
                                                                                    START + timedelta(days=7))
    run("stop_channel", "ch-1", channel.resource_id)
    assert fake.channels["ch-1"].stopped
    run("stop_channel", "ch-1", "wrong-resource")  # unknown to Google: already stopped
    with pytest.raises(InvalidRequest):
        run("watch", AYSE, "http://not-https.example/gcal", channel_id="ch-2")


def test_rate_limits_are_retried_with_backoff(run: Runner, fake: GoogleCalendarFake, clock: FrozenClock) -> None:
    run("list_events", AYSE)  # token first
    fake.faults.configure(script=["rate_limit", "rate_limit", "ok"], retry_after_seconds=None)
    before = clock.now()
    run("list_events", AYSE)
    assert fake.faults.counts["rate_limit"] == 2 and clock.now() > before  # waited on the clock, not for real
    fake.rate_limit_status = 429
    fake.faults.configure(script=["rate_limit"], retry_after_seconds=3)
    run("list_events", AYSE)
    assert fake.faults.counts["rate_limit"] == 3
    fake.faults.configure(script=["error", "error", "error", "error"])
    with pytest.raises(ProviderUnavailable) as info:
        run("list_events", AYSE)
    assert info.value.status == 503 and info.value.code == "backendError"


def test_an_expired_access_token_is_refreshed_once(run: Runner, fake: GoogleCalendarFake) -> None:
    run("list_events", AYSE)
    assert fake.token_grants == ["refresh_token"]
    fake.expire_access_tokens()
    run("list_events", AYSE)
    assert fake.token_grants == ["refresh_token", "refresh_token"]
    statuses = [r.outcome for r in fake.requests if r.path.endswith("/events")]
    assert statuses == ["ok", "auth_failed", "ok"]


def test_a_revoked_refresh_token_is_an_authentication_error(run: Runner, fake: GoogleCalendarFake,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    fake.revoke_refresh_token("rt-klinik-a")
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        run("list_events", AYSE)
    assert info.value.operation == "token_refresh" and "invalid_grant" in str(info.value)
    for text in (str(info.value), repr(info.value), caplog.text):
        assert "rt-klinik-a" not in text and "sandbox-client-secret" not in text


def test_malformed_events_are_set_aside_with_their_id_and_field(run: Runner, fake: GoogleCalendarFake) -> None:
    fake.human_insert(ACCOUNT, AYSE, ist(2, 9), ist(2, 10))
    run("list_events", AYSE)
    fake.faults.configure(script=["malformed"])
    changes = run("list_changes", AYSE)
    [bad] = changes.errors
    assert isinstance(bad.error, PayloadError) and bad.error.record and bad.error.field == "start.dateTime"
    assert bad.raw is not None and bad.raw["id"] == bad.error.record


def test_second_account_sees_only_its_calendars(sandbox: tuple[Sandbox, GoogleCalendarFake],
                                                clock: FrozenClock) -> None:
    sb, _fake = sandbox
    a = sync_client(sb, clock)
    b = sync_client(sb, clock, oauth(sb, "rt-klinik-b"))
    a.insert_event(AYSE, _event(event_id_for("t1", "z"), 9))
    with pytest.raises(NotFound):
        b.list_events(AYSE)
    assert b.list_changes("primary").events == []  # its own primary calendar
    a.close()
    b.close()


def test_google_error_table() -> None:
    def body(reason: str, code: int) -> dict[str, Any]:
        return {"error": {"errors": [{"domain": "usageLimits", "reason": reason, "message": "x"}], "code": code,
                          "message": "Rate Limit Exceeded"}}

    assert isinstance(error_from_google(403, body("rateLimitExceeded", 403), operation="x"), RateLimited)
    assert isinstance(error_from_google(403, body("userRateLimitExceeded", 403), operation="x"), RateLimited)
    assert isinstance(error_from_google(429, body("rateLimitExceeded", 429), operation="x"), RateLimited)
    forbidden = error_from_google(403, body("forbiddenForNonOrganizer", 403), operation="x")
    # one resource, not the credentials (issue 13): never an AuthenticationError
    assert isinstance(forbidden, PermissionDenied) and not isinstance(forbidden, AuthenticationError)
    assert isinstance(error_from_google(401, body("authError", 401), operation="x"), AuthenticationError)
    # a 410 on a list is a sync-token expiry whatever the reason; on an event it is "gone"
    assert isinstance(error_from_google(410, None, operation="list_events"), SyncTokenExpired)
    gone = error_from_google(410, {"error": {"errors": [{"domain": "global", "reason": "deleted",
                                                          "message": "Resource has been deleted"}],
                                             "code": 410, "message": "Resource has been deleted"}},
                             operation="patch_event")
    assert isinstance(gone, NotFound) and not isinstance(gone, SyncTokenExpired)
    assert gone.status == 410 and gone.code == "deleted" and "Resource has been deleted" in gone.message
    assert isinstance(error_from_google(412, body("conditionNotMet", 412), operation="x"), PreconditionFailed)
    assert isinstance(error_from_google(409, body("duplicate", 409), operation="x"), AlreadyExists)
    assert isinstance(error_from_google(400, body("timeRangeEmpty", 400), operation="x"), InvalidRequest)
    assert isinstance(error_from_google(502, "<html>", operation="x"), ProviderUnavailable)


def test_event_ids_are_deterministic_and_valid() -> None:
    first = event_id_for("t1", "01J00000000000000000000000")
    assert first == event_id_for("t1", "01J00000000000000000000000") and len(first) == 26
    assert first != event_id_for("t2", "01J00000000000000000000000")
    second = event_id_for("t1", "01J00000000000000000000000", 2)
    assert second.startswith(first) and is_valid_event_id(second) and is_valid_event_id(first)
    assert not is_valid_event_id("abcd") and not is_valid_event_id("ABCDEF") and not is_valid_event_id("wxyz12")


def test_the_registry_connects_an_account(sandbox: tuple[Sandbox, GoogleCalendarFake], clock: FrozenClock) -> None:
    from pydantic import SecretStr

    from invekto_integrations.models.accounts import Credentials, IntegrationAccount
    from invekto_integrations.providers.base import ConnectOptions, ProviderKind
    from invekto_integrations.providers.registry import ProviderRegistry

    sb, _ = sandbox
    registry = ProviderRegistry.load()
    info = registry.get("google_calendar")
    assert info.kind == ProviderKind.CALENDAR and info.fake is not None
    account = IntegrationAccount(id="acc-1", tenant_id="t1", provider="google_calendar",
                                 settings={"auth": "oauth", "client_id": "sandbox-client.apps.googleusercontent.com"},
                                 api_key_encrypted="-", created_at=START, updated_at=START)
    creds = Credentials(api_key=SecretStr("rt-klinik-a"), api_secret=SecretStr("sandbox-client-secret"))
    options = ConnectOptions(base_url=sb.inprocess_url("google_calendar"), transport=sb.transport(), clock=clock)
    client = registry.connect(account, creds, options)
    assert isinstance(client, GoogleCalendarClient)
    assert client.list_changes(AYSE).full_sync
    client.close()
    # typed per kind: the calendar protocol, with the provider's id and push conventions
    calendar = registry.calendar(account, creds, options)
    assert calendar.list_changes(AYSE).full_sync
    assert calendar.event_id_for("t1", "01J00000000000000000000000") == event_id_for("t1", "01J00000000000000000000000")
    note = calendar.parse_notification({"X-Goog-Channel-ID": "ch-1", "X-Goog-Resource-State": "exists",
                                        "X-Goog-Message-Number": "3"})
    assert (note.channel_id, note.resource_state, note.message_number) == ("ch-1", "exists", 3)
    calendar.close()
    from invekto_integrations.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="calendar provider, not marketplace"):
        registry.marketplace(account, creds, options)


def test_token_endpoint_outages_are_retried_by_our_policy(sandbox: tuple[Sandbox, GoogleCalendarFake],
                                                          clock: FrozenClock) -> None:
    sb, fake = sandbox
    fake.faults.configure(script=["error"])  # the first request is the token exchange
    client = sync_client(sb, clock)
    client.list_events(AYSE)
    assert [r.outcome for r in fake.requests] == ["error", "ok", "ok"] and fake.token_grants == ["refresh_token"]
    fake.faults.configure(error_rate=1.0)
    other = sync_client(sb, clock, attempts=3)
    with pytest.raises(ProviderUnavailable) as info:
        other.list_events(AYSE)
    assert (info.value.operation, info.value.status) == ("token_refresh", 503)
    assert [r.outcome for r in fake.requests[3:]] == ["error"] * 3  # no hidden retries inside google-auth
    client.close()
    other.close()


def test_updated_min_lists_only_what_changed_since(run: Runner, fake: GoogleCalendarFake,
                                                   clock: FrozenClock) -> None:
    old = run("insert_event", AYSE, _event(event_id_for("t1", "old"), 9))
    gone = run("insert_event", AYSE, _event(event_id_for("t1", "gone"), 10))
    clock.advance(3600)
    since = clock.now()
    new = run("insert_event", AYSE, _event(event_id_for("t1", "new"), 11))
    run("delete_event", AYSE, gone.id, etag=gone.etag)
    changes = run("list_changes", AYSE, updated_min=since, max_results=1)
    by_id = {e.id: e for e in changes.events}
    assert set(by_id) == {new.id, gone.id} and old.id not in by_id and by_id[gone.id].cancelled
    assert not changes.full_sync and changes.next_sync_token
    assert fake.requests_to(f"/calendars/{AYSE}/events", "GET")[-1].query["updatedMin"].startswith("2026-02-26T07")
    with pytest.raises(InvalidParameter):  # Google refuses updatedMin with a sync token; so do we, before calling
        run("list_changes", AYSE, changes.next_sync_token, updated_min=since)
