"""Recurring events: the fake expands RRULE series (``singleEvents=true``) into instances with
``recurringEventId`` and ``originalStartTime``, a changed or cancelled instance is an exception, and
the sync engine treats the instances of a doctor's own series (a weekly surgery block made by hand
in Google) as busy time, instance by instance. Engine tests run on both engines and every store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.sync.calendar import FreeBusyTimes

from .gcal_fixtures import ACCOUNT, AYSE, ENGINES, START, GcalClinic, ist, make_sandbox, sync_client

SURGERY = "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"  # Tuesdays 3, 10, 17, 24 March 2026, 09:00-13:00 Istanbul


def _suffix(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@pytest.fixture
def fake_and_client() -> Iterator[tuple[Any, Any]]:
    clock = FrozenClock(START)
    sb, fake = make_sandbox(clock)
    client = sync_client(sb, clock)
    yield fake, client
    client.close()


def test_a_weekly_series_is_listed_as_instances(fake_and_client: tuple[Any, Any]) -> None:
    fake, client = fake_and_client
    series = fake.human_insert(ACCOUNT, AYSE, ist(3, 9), ist(3, 13), summary="Ameliyat", recurrence=[SURGERY])
    items = [i.event for i in client.list_changes(AYSE).items]
    assert [e.id for e in items] == [f"{series['id']}_{_suffix(ist(d, 9))}" for d in (3, 10, 17, 24)]
    assert all(e.recurring_event_id == series["id"] for e in items)
    assert [(e.start, e.end) for e in items] == [(ist(d, 9), ist(d, 13)) for d in (3, 10, 17, 24)]
    [first] = [i for i in fake.instances(ACCOUNT, AYSE, series["id"]) if i["id"].endswith(_suffix(ist(3, 9)))]
    assert first["originalStartTime"] == {"dateTime": "2026-03-03T09:00:00+03:00", "timeZone": "Europe/Istanbul"}
    assert "recurrence" not in first and first["recurringEventId"] == series["id"]
    # The instance can be read by its id, like any event.
    assert client.get_event(AYSE, items[1].id).start == ist(10, 9)


@pytest.mark.parametrize(("rule", "days"), [
    ("RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20260309", [2, 4, 6, 8]),  # UNTIL is inclusive
    ("RRULE:FREQ=DAILY;BYDAY=MO,WE,FR;COUNT=5", [2, 4, 6, 9, 11]),
    ("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20260320T060000Z", [2, 5, 16, 19]),
    ("RRULE:FREQ=WEEKLY;COUNT=3", [2, 9, 16]),  # no BYDAY: the weekday of the first start
])
def test_rrule_subset(fake_and_client: tuple[Any, Any], rule: str, days: list[int]) -> None:
    fake, client = fake_and_client
    fake.human_insert(ACCOUNT, AYSE, ist(2, 8), ist(2, 8, 30), recurrence=[rule])
    starts = [i.event.start for i in client.list_changes(AYSE).items]
    assert starts == [ist(d, 8) for d in days]


def test_unmodelled_rules_are_refused_not_expanded_wrong(fake_and_client: tuple[Any, Any]) -> None:
    fake, _ = fake_and_client
    for rule in (["RRULE:FREQ=MONTHLY;COUNT=2"], ["RRULE:FREQ=WEEKLY;BYDAY=1MO"],
                 ["RRULE:FREQ=WEEKLY;COUNT=2", "EXDATE:20260309T060000Z"]):
        with pytest.raises(ValueError):
            fake.human_insert(ACCOUNT, AYSE, ist(2, 8), ist(2, 9), recurrence=rule)


def test_a_series_without_end_stops_at_the_horizon(fake_and_client: tuple[Any, Any]) -> None:
    fake, client = fake_and_client
    fake.human_insert(ACCOUNT, AYSE, ist(2, 8), ist(2, 9), recurrence=["RRULE:FREQ=DAILY"])
    starts = [i.event.start for i in client.list_changes(AYSE).items]
    assert starts[0] == ist(2, 8) and START + timedelta(days=360) < starts[-1] <= START + timedelta(days=366)


def test_exceptions_and_deletions_come_through_the_incremental_feed(fake_and_client: tuple[Any, Any]) -> None:
    fake, client = fake_and_client
    series = fake.human_insert(ACCOUNT, AYSE, ist(3, 9), ist(3, 13), recurrence=[SURGERY])
    token = client.list_changes(AYSE).next_sync_token
    second = f"{series['id']}_{_suffix(ist(10, 9))}"
    fake.human_delete(ACCOUNT, AYSE, second)  # one Tuesday off: a cancelled exception
    changes = client.list_changes(AYSE, token)
    [gone] = [i.event for i in changes.items]
    assert (gone.id, gone.status, gone.recurring_event_id) == (second, "cancelled", series["id"])
    third = f"{series['id']}_{_suffix(ist(17, 9))}"
    fake.human_move(ACCOUNT, AYSE, third, ist(18, 9), ist(18, 13))  # one block moved to Wednesday
    [moved] = [i.event for i in client.list_changes(AYSE, changes.next_sync_token).items]
    assert (moved.id, moved.start, moved.recurring_event_id) == (third, ist(18, 9), series["id"])
    # free/busy sees the instances, less the cancelled one, with the moved one at its new time
    busy = client.free_busy([AYSE], ist(2, 0), ist(31, 0))[AYSE]
    assert [(b.start, b.end) for b in busy] == [(ist(3, 9), ist(3, 13)), (ist(18, 9), ist(18, 13)),
                                                (ist(24, 9), ist(24, 13))]


@pytest.fixture(params=ENGINES)
def gc(store: Any, request: pytest.FixtureRequest) -> Iterator[GcalClinic]:
    world = GcalClinic(store, busy="mirror", engine=request.param)
    yield world
    world.close()


def _tuesday_starts(gc: GcalClinic, day: int) -> set[datetime]:
    return {s.starts_at for s in gc.clinic.slots.free_slots("t1", "Muayene", ist(day, 9), ist(day, 17),
                                                            doctor_id="d1")}


def test_a_doctors_weekly_block_is_busy_time_instance_by_instance(gc: GcalClinic) -> None:
    series = gc.fake.human_insert(ACCOUNT, AYSE, ist(3, 9), ist(3, 13), summary="Ameliyat", recurrence=[SURGERY])
    report = gc.sync.sync_calendar("t1", AYSE)
    assert report.busy_upserted == 4 and gc.store.appointments.find("t1") == []
    blocks = gc.repo.find_busy("t1", AYSE, ist(1, 0), ist(31, 0))
    assert [(b.starts_at, b.ends_at) for b in blocks] == [(ist(d, 9), ist(d, 13)) for d in (3, 10, 17, 24)]
    for day in (3, 10, 17, 24):
        starts = _tuesday_starts(gc, day)
        assert ist(day, 9) not in starts and ist(day, 12, 30) not in starts and ist(day, 13) in starts

    # One Tuesday is cancelled in Google, another block is moved to the afternoon.
    gc.fake.human_delete(ACCOUNT, AYSE, f"{series['id']}_{_suffix(ist(10, 9))}")
    gc.fake.human_move(ACCOUNT, AYSE, f"{series['id']}_{_suffix(ist(17, 9))}", ist(17, 14), ist(17, 16))
    report = gc.sync.sync_calendar("t1", AYSE)
    assert (report.busy_removed, report.busy_upserted, report.moved, report.cancelled) == (1, 1, 0, 0)
    assert ist(10, 9) in _tuesday_starts(gc, 10)
    assert ist(17, 9) in _tuesday_starts(gc, 17) and ist(17, 14) not in _tuesday_starts(gc, 17)

    # The series is cut short (two weeks): the instances that no longer exist free their time.
    gc.fake.human_edit(ACCOUNT, AYSE, series["id"], recurrence=["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=2"])
    gc.sync.sync_calendar("t1", AYSE)
    assert ist(24, 9) in _tuesday_starts(gc, 24)
    assert ist(3, 9) not in _tuesday_starts(gc, 3)

    # The whole series is deleted: every instance (and the moved exception) frees its time.
    gc.fake.human_delete(ACCOUNT, AYSE, series["id"])
    gc.sync.sync_calendar("t1", AYSE)
    assert gc.repo.find_busy("t1", AYSE, ist(1, 0), ist(31, 0)) == []


def test_booking_into_a_recurring_block_is_refused_and_a_resync_keeps_it(gc: GcalClinic) -> None:
    from invekto_integrations.appointments.errors import SlotUnavailable

    gc.fake.human_insert(ACCOUNT, AYSE, ist(3, 9), ist(3, 13), recurrence=[SURGERY])
    gc.sync.sync_calendar("t1", AYSE)
    with pytest.raises(SlotUnavailable):
        gc.book_at(ist(10, 10))
    gc.fake.expire_sync_tokens(ACCOUNT, AYSE)
    report = gc.sync.sync_calendar("t1", AYSE)  # 410: the mirror is rebuilt from the instances
    assert report.resynced_after_410 and report.busy_upserted == 4
    assert len(gc.repo.find_busy("t1", AYSE, ist(1, 0), ist(31, 0))) == 4


def test_freebusy_times_count_recurring_instances(store: Any) -> None:
    gc = GcalClinic(store, busy="freebusy")
    try:
        gc.fake.human_insert(ACCOUNT, AYSE, ist(3, 9), ist(3, 13), recurrence=[SURGERY])
        busy = FreeBusyTimes({"t1": gc.client}, gc.store.appointments)
        doctor = gc.store.doctors.get("t1", "d1")
        assert busy.busy("t1", doctor, ist(9, 0), ist(18, 0)) == [(ist(10, 9), ist(10, 13)),
                                                                   (ist(17, 9), ist(17, 13))]
    finally:
        gc.close()


def test_the_wire_of_series_and_instances() -> None:
    import httpx

    clock = FrozenClock(START)
    sb, fake = make_sandbox(clock)
    client = sync_client(sb, clock)
    series = fake.human_insert(ACCOUNT, AYSE, ist(3, 9), ist(3, 13), recurrence=[SURGERY])
    headers = {"Authorization": f"Bearer {client.auth.token_sync()}"}
    path = f"/calendar/v3/calendars/{AYSE}/events"
    zone = "Europe/Istanbul"
    with httpx.Client(transport=sb.transport(), base_url=sb.inprocess_url("google_calendar"),
                      headers=headers) as raw:
        plain = raw.get(path, params={"singleEvents": "false"}).json()["items"]
        assert [(e["id"], e["recurrence"]) for e in plain] == [(series["id"], [SURGERY])]
        listed = raw.get(path, params={"singleEvents": "true", "maxResults": "3"}).json()
        assert len(listed["items"]) == 3 and "nextPageToken" in listed  # instances page like events
        rest = raw.get(path, params={"singleEvents": "true", "maxResults": "3",
                                     "pageToken": listed["nextPageToken"]}).json()
        assert len(rest["items"]) == 1 and "nextSyncToken" in rest
        second = listed["items"][1]
        # A write to an instance, conditional on its listed etag, makes it an exception.
        moved = raw.patch(f"{path}/{second['id']}", headers={"If-Match": second["etag"]},
                          json={"start": {"dateTime": "2026-03-10T14:00:00+03:00", "timeZone": zone},
                                "end": {"dateTime": "2026-03-10T15:00:00+03:00", "timeZone": zone}})
        assert moved.status_code == 200 and moved.json()["recurringEventId"] == series["id"]
        stale = raw.delete(f"{path}/{second['id']}", headers={"If-Match": second["etag"]})
        assert stale.status_code == 412
        monthly = raw.post(path, json={"start": {"dateTime": "2026-03-02T09:00:00+03:00", "timeZone": zone},
                                       "end": {"dateTime": "2026-03-02T10:00:00+03:00", "timeZone": zone},
                                       "recurrence": ["RRULE:FREQ=MONTHLY;COUNT=3"]})
        assert monthly.status_code == 400 and monthly.json()["error"]["errors"][0]["location"] == "recurrence"
        no_zone = raw.post(path, json={"start": {"dateTime": "2026-03-02T09:00:00+03:00"},
                                       "end": {"dateTime": "2026-03-02T10:00:00+03:00"},
                                       "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]})
        assert no_zone.status_code == 400
    starts = sorted(i.event.start for i in client.list_changes(AYSE).items)
    assert starts == [ist(3, 9), ist(10, 14), ist(17, 9), ist(24, 9)]
    client.close()
