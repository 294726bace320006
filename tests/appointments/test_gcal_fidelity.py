"""Google Calendar fidelity (issue 13): a 403 about one event is not refused credentials, a 410 on
an event is "gone" (Google's message kept, no sync-token expiry), push headers that are hostile."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from invekto_integrations.accounts import AccountService
from invekto_integrations.appointments.models import AppointmentStatus
from invekto_integrations.core.crypto import CredentialCipher, KeyRing
from invekto_integrations.core.errors import AuthenticationError, NotFound, PermissionDenied, SyncTokenExpired
from invekto_integrations.models.accounts import AccountStatus, Credentials
from invekto_integrations.providers.base import EventChanges
from invekto_integrations.providers.google_calendar.client import GoogleCalendarEndpoints

from .gcal_fixtures import ACCOUNT, AYSE, ENGINES, HOOK, GcalClinic, ist

GONE = {"error": {"errors": [{"domain": "global", "reason": "deleted", "message": "Resource has been deleted"}],
                  "code": 410, "message": "Resource has been deleted"}}


@pytest.fixture(params=ENGINES)
def gc(store: Any, request: pytest.FixtureRequest) -> Iterator[GcalClinic]:
    world = GcalClinic(store, engine=request.param)
    yield world
    world.close()


def _service(gc: GcalClinic) -> tuple[AccountService, str]:
    service = AccountService(gc.store.accounts, CredentialCipher(KeyRing({"k1": os.urandom(32)})), clock=gc.clock)
    account = service.add("t1", "google_calendar", Credentials(api_key=SecretStr("client-id"),
                                                               api_secret=SecretStr("rt")))
    target = gc.sync.engine if gc.engine == "async" else gc.sync
    target.on_auth_error = service.mark_refused
    return service, account.id


# --- 403 on one event -----------------------------------------------------------------------------
def test_a_403_on_one_event_is_reported_on_it_and_the_account_stays_active(gc: GcalClinic) -> None:
    _, account_id = _service(gc)
    first, second = gc.book_at(ist(2, 10)), gc.book_at(ist(2, 11))
    gc.sync.push_pending("t1")
    first = gc.book.get("t1", first.id)
    gc.fake.forbid_event(ACCOUNT, AYSE, first.calendar_event_id)  # we are not its organizer any more
    gc.book.move("t1", first.id, ist(2, 14))
    gc.book.move("t1", second.id, ist(2, 15))
    results = {r.appointment_id: r.action for r in gc.sync.push_pending("t1")}
    assert results == {first.id: "forbidden", second.id: "patched"}  # the other appointment went on
    assert gc.store.accounts.get("t1", account_id).status == AccountStatus.ACTIVE
    [conflict] = [c for c in gc.sync.conflicts("t1") if c.kind == "forbidden"]
    assert conflict.appointment_id == first.id and "forbiddenForNonOrganizer" in conflict.detail
    gc.sync.push_pending("t1")  # pushing again records no second open conflict
    assert len([c for c in gc.sync.conflicts("t1") if c.kind == "forbidden"]) == 1


def test_watch_auth_marks_only_refused_credentials(store: Any) -> None:
    gc = GcalClinic(store)
    try:
        service, account_id = _service(gc)
        account = gc.store.accounts.get("t1", account_id)
        with pytest.raises(PermissionDenied), service.watch_auth(account):
            raise PermissionDenied("forbidden", provider="google_calendar", status=403,
                                   code="insufficientPermissions")
        assert gc.store.accounts.get("t1", account_id).status == AccountStatus.ACTIVE
        with pytest.raises(AuthenticationError), service.watch_auth(account):
            raise AuthenticationError("invalid_grant", provider="google_calendar", status=401)
        assert gc.store.accounts.get("t1", account_id).status == AccountStatus.INVALID_CREDENTIALS
    finally:
        gc.close()


# --- 410 on an event ---------------------------------------------------------------------------------
def test_get_event_410_keeps_googles_message() -> None:
    call = GoogleCalendarEndpoints().get_event(AYSE, "abcde12345")
    with pytest.raises(NotFound) as info:
        call.parse(httpx.Response(410, json=GONE))
    assert not isinstance(info.value, SyncTokenExpired)
    assert info.value.status == 410 and info.value.code == "deleted"
    assert "Resource has been deleted" in info.value.message


def test_patch_of_a_deleted_event_is_gone_not_a_sync_token_expiry(gc: GcalClinic) -> None:
    gc.warm_token()
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    gc.sync.sync_calendar("t1", AYSE)
    token_before = gc.repo.get_state("t1", AYSE).sync_token
    event_id = gc.book.get("t1", appt.id).calendar_event_id
    with pytest.raises(NotFound) as info:  # the connector itself: a tombstone answers 410 "deleted"
        gc.fake.human_delete(ACCOUNT, AYSE, event_id)
        gc.client.patch_event(AYSE, event_id, EventChanges(summary="x"))
    assert not isinstance(info.value, SyncTokenExpired) and info.value.status == 410
    assert "Resource has been deleted" in info.value.message
    gc.book.move("t1", appt.id, ist(2, 12))  # changed here before the deletion was pulled
    [result] = gc.sync.push_pending("t1")
    assert result.action == "calendar_wins"  # a deletion in the calendar wins, like after a 412
    assert gc.book.get("t1", appt.id).status == AppointmentStatus.CANCELLED
    assert gc.repo.get_state("t1", AYSE).sync_token == token_before  # no full resync was triggered
    report = gc.sync.sync_calendar("t1", AYSE)
    assert not report.resynced_after_410 and not report.full_sync


# --- defect 9: hostile push headers ----------------------------------------------------------------
def _channel_headers(gc: GcalClinic) -> dict[str, str]:
    gc.sync.watch_calendar("t1", AYSE, HOOK)
    gc.fake.webhooks.drain()
    headers = dict(gc.inbox.pop(0))
    assert gc.sync.handle_notification("t1", headers).action == "sync_ack"
    return headers


def test_non_ascii_resource_id_is_refused_without_type_error(gc: GcalClinic) -> None:
    headers = _channel_headers(gc)
    hostile = {**headers, "x-goog-resource-id": "kaynak-ıİşğ", "x-goog-resource-state": "exists",
               "x-goog-message-number": "5"}
    assert gc.sync.handle_notification("t1", hostile).action == "bad_token"
    wrong_token = {**headers, "x-goog-channel-token": "jeton-çöü", "x-goog-resource-state": "exists",
                   "x-goog-message-number": "6"}
    assert gc.sync.handle_notification("t1", wrong_token).action == "bad_token"
    good = {**headers, "x-goog-resource-state": "exists", "x-goog-message-number": "7"}
    assert gc.sync.handle_notification("t1", good).action == "queued"  # nothing was silenced


@pytest.mark.parametrize("number", [str(2**70), "-3", "0", "1e9", "١٢", "²"])
def test_message_numbers_out_of_range_are_a_typed_400(gc: GcalClinic, number: str) -> None:
    headers = _channel_headers(gc)
    answer = gc.sync.handle_notification("t1", {**headers, "x-goog-resource-state": "exists",
                                                "x-goog-message-number": number})
    assert answer.status == 400 and answer.error is not None and "X-Goog-Message-Number" in answer.error
    later = gc.sync.handle_notification("t1", {**headers, "x-goog-resource-state": "exists",
                                               "x-goog-message-number": "8"})
    assert later.action == "queued"


def test_a_huge_message_number_does_not_silence_later_notifications(gc: GcalClinic) -> None:
    headers = _channel_headers(gc)
    exists = {**headers, "x-goog-resource-state": "exists"}
    assert gc.sync.handle_notification("t1", {**exists, "x-goog-message-number": str(2**63 - 1)}).action == "queued"
    gc.sync.run_queued()
    assert gc.sync.handle_notification("t1", {**exists, "x-goog-message-number": "12"}).action == "queued"
    gc.sync.run_queued()
    assert gc.sync.handle_notification("t1", {**exists, "x-goog-message-number": "13"}).action == "queued"
    # (after such a number only exact repeats of it are dropped; the channel is renewed within a week)
    assert gc.sync.handle_notification("t1", {**exists, "x-goog-message-number": str(2**63 - 1)}).action \
        == "duplicate"
