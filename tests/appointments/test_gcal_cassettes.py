"""vcrpy cassettes hand-written from the Google Calendar fact sheet's examples: the exact requests our
client sends (path, query, JSON body, token grant) and the documented answers it must parse.
``record_mode="none"``: no network, ever."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import vcr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import PreconditionFailed, SyncTokenExpired
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.base import CalendarEvent, CalendarLookupError, EventChanges
from invekto_integrations.providers.google_calendar import GoogleCalendarClient, GoogleCredentials

CASSETTES = Path(__file__).parent.parent / "cassettes" / "google_calendar"
CAL = "dr.x@clinic.com"
EVENT_ID = "7c29h11k6hccfbsrcr1goeh9is"


def _body(request: Any) -> Any:
    raw = request.body or b""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith(("{", "[")):
        return json.loads(text)
    form = {k: v[0] for k, v in parse_qs(text).items()}
    for secret in ("client_secret", "refresh_token"):  # filtered in the cassette; must be sent
        if secret in form:
            form[secret] = "FILTERED" if form[secret] else ""
    return form


def body_matcher(r1: Any, r2: Any) -> None:
    assert _body(r1) == _body(r2), f"{_body(r1)!r} != {_body(r2)!r}"


def _if_match(request: Any) -> str | None:
    return next((v for k, v in request.headers.items() if k.lower() == "if-match"), None)


def if_match_matcher(r1: Any, r2: Any) -> None:
    assert _if_match(r1) == _if_match(r2), f"If-Match {_if_match(r1)!r} != {_if_match(r2)!r}"


def recorder() -> vcr.VCR:
    v = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none", filter_headers=["authorization"],
                match_on=["method", "scheme", "host", "port", "path", "query", "body_matcher", "if_match"])
    v.register_matcher("body_matcher", body_matcher)
    v.register_matcher("if_match", if_match_matcher)
    return v


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


def client(clock: FrozenClock, attempts: int = 1) -> GoogleCalendarClient:
    creds = GoogleCredentials.oauth("clinic-client.apps.googleusercontent.com", "client-secret", "1//refresh-token")
    retry = RetryPolicy(max_attempts=attempts, clock=clock) if attempts > 1 else RetryPolicy.disabled()
    return GoogleCalendarClient(creds, clock=clock, retry=retry, limiter_registry=RateLimiterRegistry(clock))


def test_incremental_list_cassette(clock: FrozenClock) -> None:
    with recorder().use_cassette("incremental_list.yaml") as cassette, client(clock) as c:
        changes = c.list_changes(CAL, "CPDAlvWDx70CEPDAlvWDx70CGAU=")
        assert cassette.play_count == 2
    [gone] = changes.events
    assert (gone.id, gone.status, gone.start, gone.private) == (EVENT_ID, "cancelled", None, {})
    assert changes.next_sync_token == "CPDAlvWDx70CEPDAlvWDx70CGAU=" and not changes.full_sync


def test_gone_sync_token_cassette(clock: FrozenClock) -> None:
    with recorder().use_cassette("sync_token_gone.yaml"), client(clock) as c, \
            pytest.raises(SyncTokenExpired) as info:
        c.list_changes(CAL, "CPDAlvWDx70CEPDAlvWDx70CGAU=")
    assert info.value.status == 410 and info.value.code == "fullSyncRequired"


def test_insert_cassette(clock: FrozenClock) -> None:
    event = CalendarEvent(id=EVENT_ID, summary="Appointment", start=datetime(2025, 3, 10, 11, 0, tzinfo=UTC),
                          end=datetime(2025, 3, 10, 11, 30, tzinfo=UTC), time_zone="Europe/Istanbul",
                          private={"clinicApptId": "A-10293", "clinicOrigin": "sdk", "clinicRev": "7"})
    with recorder().use_cassette("insert_event.yaml") as cassette, client(clock) as c:
        created = c.insert_event(CAL, event)
        assert cassette.play_count == 2
    assert created.etag == '"3181161784712000"' and created.updated == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert created.start == event.start and created.private == event.private


def test_conditional_patch_cassette(clock: FrozenClock) -> None:
    changes = EventChanges(start=datetime(2025, 3, 10, 12, 0, tzinfo=UTC),
                           end=datetime(2025, 3, 10, 12, 30, tzinfo=UTC), time_zone="Europe/Istanbul")
    with recorder().use_cassette("patch_precondition_failed.yaml") as cassette, client(clock) as c, \
            pytest.raises(PreconditionFailed) as info:
        c.patch_event(CAL, EVENT_ID, changes, etag='"3181161784712000"')  # If-Match is matched too
    assert info.value.code == "conditionNotMet" and cassette.play_count == 2


def test_free_busy_cassette(clock: FrozenClock) -> None:
    room = "room2@resource.calendar.google.com"
    with recorder().use_cassette("free_busy.yaml"), client(clock) as c:
        answer = c.free_busy([CAL, room], datetime(2025, 3, 10, 6, tzinfo=UTC), datetime(2025, 3, 10, 18, tzinfo=UTC),
                             time_zone="Europe/Istanbul")
    [busy] = answer[CAL]  # type: ignore[misc]
    assert (busy.start, busy.end) == (datetime(2025, 3, 10, 7, tzinfo=UTC), datetime(2025, 3, 10, 7, 30, tzinfo=UTC))
    assert answer[room] == CalendarLookupError(room, ("notFound",))


def test_watch_and_stop_cassette(clock: FrozenClock) -> None:
    with recorder().use_cassette("watch.yaml") as cassette, client(clock) as c:
        channel = c.watch(CAL, "https://hooks.example.com/gcal", channel_id="5f0c7a8e-2c1d-4b55-9d6e-3a1e0b7c9f10",
                          token="t=42;cal=dr-x;sig=...", expiration=datetime.fromtimestamp(1741600000, UTC))
        c.stop_channel(channel.id, channel.resource_id)
        assert cassette.play_count == 3
    assert channel.resource_id == "ret08u3rv24htgh289g"
    assert channel.expiration == datetime.fromtimestamp(1741590000, UTC)  # shortened by the server


def test_rate_limit_cassette(clock: FrozenClock) -> None:
    with recorder().use_cassette("rate_limited.yaml") as cassette, client(clock, attempts=3) as c:
        event = c.get_event(CAL, EVENT_ID)
        assert cassette.play_count == 3
    assert event.id == EVENT_ID and len([s for s in clock.slept if s > 0]) == 1  # one backoff
