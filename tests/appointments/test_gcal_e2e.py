"""Issue 8 "Done when", end to end against the sandbox's Google Calendar fake.

An appointment booked here appears in the doctor's calendar; one moved in the calendar moves here;
a cancellation in the calendar offers the slot to the waitlist and the first "yes" books it; a 410
resync leaves no duplicates; a concurrent edit is detected (412) and resolved by the documented rule.
Runs on every store implementation (memory, SQLite in memory, SQLite file), and with both engines:
`CalendarSync` and `AsyncCalendarSync` (over the async client; the ``gc`` fixture is parametrized,
so every scenario below that uses it is a sync/async parity test).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from invekto_integrations.appointments.models import AppointmentStatus
from invekto_integrations.appointments.waitlist import ReplyOutcome, WaitlistEngine, WaitlistSettings
from invekto_integrations.messaging.base import RecordingSink
from invekto_integrations.sync.calendar import STAMP_APPOINTMENT, STAMP_REV, ConflictPolicy

from .gcal_fixtures import ACCOUNT, AYSE, ENGINES, HOOK, MEHMET, GcalClinic, ist


@pytest.fixture(params=ENGINES)
def gc(store: Any, request: pytest.FixtureRequest) -> Iterator[GcalClinic]:
    world = GcalClinic(store, engine=request.param)
    yield world
    world.close()


def types(gc: GcalClinic) -> list[str]:
    return [e.type for e in gc.store.events.read("t1")]


def test_booked_here_appears_in_the_doctors_calendar(gc: GcalClinic) -> None:
    appt = gc.book_at(ist(2, 10))
    results = gc.sync.push_pending("t1")
    assert [r.action for r in results] == ["inserted"]
    [event] = gc.live_events()
    assert event["summary"] == "Randevu: Muayene"  # no patient data in the title
    assert event["start"] == {"dateTime": "2026-03-02T10:00:00+03:00", "timeZone": "Europe/Istanbul"}
    assert event["end"]["dateTime"] == "2026-03-02T10:30:00+03:00"
    private = event["extendedProperties"]["private"]
    assert private[STAMP_APPOINTMENT] == appt.id and private[STAMP_REV] == "1" and private["clinicOrigin"] == "sdk"
    stored = gc.book.get("t1", appt.id)
    assert stored.calendar_event_id == event["id"] and stored.calendar_etag == event["etag"]
    assert stored.synced_version == stored.version
    # Nothing more to push, and our own write coming back in the feed is not re-applied.
    assert gc.sync.push_pending("t1") == []
    report = gc.sync.sync_calendar("t1", AYSE)
    assert report.full_sync and report.echoes == 1 and report.moved == 0
    assert gc.book.get("t1", appt.id).version == stored.version
    assert gc.posts() == 1


def test_moved_in_the_calendar_moves_here_through_a_push_notification(gc: GcalClinic) -> None:
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    gc.sync.sync_calendar("t1", AYSE)  # full sync: token stored
    channel = gc.sync.watch_calendar("t1", AYSE, HOOK)
    gc.notify()
    assert [n.action for n in gc.notes] == ["sync_ack"]

    event_id = gc.book.get("t1", appt.id).calendar_event_id
    assert event_id is not None
    gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(3, 14), ist(3, 14, 30))  # the doctor drags it to Tuesday
    [report] = gc.deliver()
    assert [n.action for n in gc.notes] == ["sync_ack", "queued"]
    assert report.moved == 1 and not report.full_sync
    moved = gc.book.get("t1", appt.id)
    assert (moved.starts_at, moved.ends_at) == (ist(3, 14), ist(3, 14, 30))
    assert moved.synced_version == moved.version  # the calendar already shows it: nothing to push back
    assert "appointment.moved" in types(gc)
    patches = len(gc.fake.requests_to(f"/events/{event_id}", "PATCH"))
    assert [r.action for r in gc.sync.push_pending("t1")] == ["up_to_date"]
    assert len(gc.fake.requests_to(f"/events/{event_id}", "PATCH")) == patches
    assert gc.repo.get_channel("t1", channel.channel_id).last_message_number == 2


def test_cancellation_in_the_calendar_offers_the_slot_and_the_first_yes_books_it(gc: GcalClinic) -> None:
    sink = RecordingSink()
    waitlist = WaitlistEngine(gc.store.waitlist, gc.book, sink, gc.store.events, clock=gc.clock,
                              settings=WaitlistSettings(fanout=2, template_name=None))
    first = waitlist.join("t1", "+905321111111", "Muayene", patient_name="Ali")
    gc.clock.advance(60)
    second = waitlist.join("t1", "+905321111112", "Muayene", patient_name="Veli")
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    gc.sync.sync_calendar("t1", AYSE)
    gc.sync.watch_calendar("t1", AYSE, HOOK)

    gc.fake.human_delete(ACCOUNT, AYSE, str(gc.book.get("t1", appt.id).calendar_event_id))
    [report] = gc.deliver()
    assert report.cancelled == 1
    assert gc.book.get("t1", appt.id).status == AppointmentStatus.CANCELLED
    [cancelled] = [e for e in gc.store.events.read("t1") if e.type == "appointment.cancelled"]
    assert cancelled.data["source"] == "google"

    assert waitlist.poll("t1") == 1
    offered = [m.to_phone for m in sink.messages if m.purpose == "waitlist_offer"]
    assert offered == ["+905321111111", "+905321111112"]  # fair order: first come first
    assert waitlist.handle_reply("t1", "+905321111112", "evet") == ReplyOutcome.BOOKED
    assert waitlist.handle_reply("t1", "+905321111111", "evet") in (ReplyOutcome.LOST, ReplyOutcome.NO_OFFER)
    active = gc.store.appointments.find("t1", doctor_id="d1", statuses=[AppointmentStatus.BOOKED])
    assert [(a.patient_phone, a.starts_at) for a in active] == [("+905321111112", ist(2, 10))]
    assert gc.store.waitlist.get("t1", second.id).status.value == "booked"
    assert gc.store.waitlist.get("t1", first.id).status.value == "waiting"

    # The new booking reaches the calendar as a new event; the deleted one stays deleted.
    results = gc.sync.push_pending("t1")
    assert "inserted" in [r.action for r in results]
    [live] = gc.live_events()
    assert live["extendedProperties"]["private"][STAMP_APPOINTMENT] == active[0].id
    for r in gc.deliver():  # our insert comes back as an echo
        assert (r.moved, r.cancelled, r.echoes) == (0, 0, 1)


def test_a_410_resync_leaves_no_duplicates(gc: GcalClinic) -> None:
    appts = [gc.book_at(ist(2, h)) for h in (10, 11, 14)]
    gc.sync.push_pending("t1")
    gc.fake.human_insert(ACCOUNT, AYSE, ist(2, 15), ist(2, 16), summary="Kongre")
    first = gc.sync.sync_calendar("t1", AYSE)
    assert first.full_sync and first.busy_upserted == 1 and first.echoes == 3

    gc.fake.expire_sync_tokens(ACCOUNT, AYSE)
    event_id = str(gc.book.get("t1", appts[1].id).calendar_event_id)
    gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 16, 30), ist(2, 17))
    report = gc.sync.sync_calendar("t1", AYSE)
    assert report.resynced_after_410 and report.full_sync
    assert report.moved == 1 and report.busy_upserted == 1
    assert gc.repo.get_state("t1", AYSE).full_syncs == 2

    # Lose a link on our side too: the re-push finds our event by its deterministic id and adopts it.
    lost = gc.book.get("t1", appts[2].id)
    gc.store.appointments.update("t1", lost.model_copy(update={"calendar_event_id": None, "calendar_etag": None,
                                                          "synced_version": None}),
                                 expected_version=lost.version, allow_overlap=True)
    assert [r.action for r in gc.sync.reconcile("t1", since=ist(1, 0))] == ["adopted"]
    again = gc.sync.sync_calendar("t1", AYSE)
    assert again.moved == 0 and again.cancelled == 0

    assert len(gc.store.appointments.find("t1", doctor_id="d1", statuses=[AppointmentStatus.BOOKED])) == 3
    live = gc.live_events()
    assert len(live) == 4  # three appointments and the doctor's own event, nothing doubled
    ours = [e["extendedProperties"]["private"][STAMP_APPOINTMENT] for e in live if "extendedProperties" in e]
    assert sorted(ours) == sorted(a.id for a in appts)
    assert len(gc.repo.find_busy("t1", AYSE, ist(2, 0), ist(3, 0))) == 1
    assert len(gc.store.events.read("t1", types=["appointment.booked"])) == 3


def test_a_concurrent_edit_is_detected_and_the_calendar_wins_for_time(gc: GcalClinic) -> None:
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    event_id = str(gc.book.get("t1", appt.id).calendar_event_id)
    # Both sides change the time before the next sync: the clinic moves it to 11:00 ...
    gc.book.move("t1", appt.id, ist(2, 11))
    # ... while the doctor moves it to 15:00 in Google.
    gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))
    [result] = gc.sync.push_pending("t1")
    assert result.action == "calendar_wins"
    patch = gc.fake.requests_to(f"/events/{event_id}", "PATCH")[-1]
    assert patch.headers["if-match"]  # the write was conditional ...
    event = gc.fake.event(ACCOUNT, AYSE, event_id)
    assert event is not None and event["start"]["dateTime"] == "2026-03-02T15:00:00+03:00"  # ... and lost (412)
    now = gc.book.get("t1", appt.id)
    assert (now.starts_at, now.synced_version == now.version) == (ist(2, 15), True)
    [conflict] = gc.sync.conflicts("t1", appointment_id=appt.id)
    assert (conflict.kind, conflict.resolution) == ("moved", "calendar_wins") and "412" in conflict.detail


def test_an_edit_outside_our_fields_loses_to_our_change_after_412(gc: GcalClinic) -> None:
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    event_id = str(gc.book.get("t1", appt.id).calendar_event_id)
    gc.book.move("t1", appt.id, ist(2, 11))
    gc.fake.human_edit(ACCOUNT, AYSE, event_id, summary="Randevu: Muayene (kontrol)")
    [result] = gc.sync.push_pending("t1")
    assert result.action == "clinic_wins"
    event = gc.fake.event(ACCOUNT, AYSE, event_id)
    assert event is not None and event["start"]["dateTime"] == "2026-03-02T11:00:00+03:00"
    assert event["extendedProperties"]["private"][STAMP_REV] == "2"
    [conflict] = gc.sync.conflicts("t1")
    assert (conflict.kind, conflict.resolution) == ("precondition_failed", "clinic_wins")
    # The incremental feed then shows our write: an echo.
    gc.sync.sync_calendar("t1", AYSE)
    assert gc.sync.sync_calendar("t1", AYSE).seen == 0


def test_a_cancellation_here_wins_over_an_edit_in_the_calendar(gc: GcalClinic) -> None:
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    event_id = str(gc.book.get("t1", appt.id).calendar_event_id)
    gc.book.cancel("t1", appt.id)
    gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 12), ist(2, 12, 30))
    results = gc.sync.push_pending("t1")
    assert results[-1].action == "clinic_wins"
    assert gc.fake.event(ACCOUNT, AYSE, event_id)["status"] == "cancelled"  # type: ignore[index]
    report = gc.sync.sync_calendar("t1", AYSE)
    assert report.cancelled == 0 and report.moved == 0


def test_pull_sees_a_move_while_a_local_change_waits(gc: GcalClinic) -> None:
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    gc.sync.sync_calendar("t1", AYSE)
    event_id = str(gc.book.get("t1", appt.id).calendar_event_id)
    gc.book.move("t1", appt.id, ist(2, 11))  # not pushed yet
    gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))
    report = gc.sync.sync_calendar("t1", AYSE)
    assert report.moved == 1 and report.conflicts == 1
    assert gc.book.get("t1", appt.id).starts_at == ist(2, 15)
    assert {r.action for r in gc.sync.push_pending("t1")} == {"up_to_date"}
    assert gc.fake.event(ACCOUNT, AYSE, event_id)["start"]["dateTime"].startswith("2026-03-02T15:00")  # type: ignore[index]


def test_clinic_wins_policy_puts_the_calendar_back(store: Any) -> None:
    gc = GcalClinic(store, policy=ConflictPolicy.CLINIC_WINS)
    try:
        appt = gc.book_at(ist(2, 10))
        gc.sync.push_pending("t1")
        gc.sync.sync_calendar("t1", AYSE)
        event_id = str(gc.book.get("t1", appt.id).calendar_event_id)
        gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))
        report = gc.sync.sync_calendar("t1", AYSE)
        assert report.conflicts == 1 and report.moved == 0
        assert gc.book.get("t1", appt.id).starts_at == ist(2, 10)
        assert gc.fake.event(ACCOUNT, AYSE, event_id)["start"]["dateTime"] == "2026-03-02T10:00:00+03:00"  # type: ignore[index]
        assert gc.sync.conflicts("t1")[0].resolution == "clinic_wins"
    finally:
        gc.close()


def test_foreign_events_are_busy_time_not_appointments(store: Any) -> None:
    gc = GcalClinic(store, busy="mirror")
    try:
        gc.fake.human_insert(ACCOUNT, AYSE, ist(2, 10), ist(2, 12), summary="Özel: diş hekimi kongresi")
        gc.fake.human_insert(ACCOUNT, AYSE, ist(2, 13), ist(2, 14), summary="Serbest", transparency="transparent")
        gc.sync.sync_calendar("t1", AYSE)
        assert gc.store.appointments.find("t1") == []
        slots = gc.clinic.slots.free_slots("t1", "Muayene", ist(2, 9), ist(2, 17), doctor_id="d1")
        starts = {s.starts_at for s in slots}
        assert ist(2, 9, 30) in starts and ist(2, 10) not in starts and ist(2, 11, 30) not in starts
        assert ist(2, 12) in starts and ist(2, 13) in starts  # the transparent event does not block
        [block] = gc.repo.find_busy("t1", AYSE, ist(2, 0), ist(3, 0))
        assert not hasattr(block, "summary")  # titles are not mirrored
        # The doctor deletes it: the time frees up.
        gc.fake.human_delete(ACCOUNT, AYSE, block.event_id)
        gc.sync.sync_calendar("t1", AYSE)
        assert gc.repo.find_busy("t1", AYSE, ist(2, 0), ist(3, 0)) == []
    finally:
        gc.close()


def test_freebusy_times_block_slots_without_counting_our_own_twice(store: Any) -> None:
    gc = GcalClinic(store, busy="freebusy")
    try:
        mine = gc.book_at(ist(2, 9))
        gc.sync.push_pending("t1")
        gc.fake.human_insert(ACCOUNT, AYSE, ist(2, 10), ist(2, 11))
        busy = gc.clinic.slots.busy_times.busy("t1", gc.store.doctors.get("t1", "d1"), ist(2, 8), ist(2, 18))
        assert busy == [(ist(2, 10), ist(2, 11))]
        starts = {s.starts_at for s in gc.clinic.slots.free_slots("t1", "Muayene", ist(2, 9), ist(2, 12),
                                                                  doctor_id="d1")}
        assert ist(2, 9) not in starts and ist(2, 10) not in starts and ist(2, 11) in starts
        # Moving our own appointment by 15 minutes is not refused by its own calendar copy.
        gc.book.move("t1", mine.id, ist(2, 9, 15))
    finally:
        gc.close()


def test_channels_are_renewed_before_expiry_and_checked(gc: GcalClinic) -> None:
    old = gc.sync.watch_calendar("t1", AYSE, HOOK)
    assert gc.sync.renew_channels("t1", HOOK) == []  # fresh: kept
    gc.clock.advance(timedelta(days=6, hours=12).total_seconds())
    [new] = gc.sync.renew_channels("t1", HOOK)
    assert new.channel_id != old.channel_id
    assert gc.fake.channels[old.channel_id].stopped and not gc.fake.channels[new.channel_id].stopped
    assert gc.repo.get_channel("t1", old.channel_id).stopped_at is not None
    # A late message on the stopped channel is dropped; a forged token is refused; repeats are dropped.
    base = {"X-Goog-Channel-ID": old.channel_id, "X-Goog-Resource-State": "exists",
            "X-Goog-Resource-ID": old.resource_id, "X-Goog-Message-Number": "9"}
    assert gc.sync.handle_notification("t1", base).action == "unknown_channel"
    forged = {**base, "X-Goog-Channel-ID": new.channel_id, "X-Goog-Resource-ID": new.resource_id,
              "X-Goog-Channel-Token": "guess"}
    assert gc.sync.handle_notification("t1", forged).status == 403
    assert gc.sync.handle_notification("t1", {"X-Goog-Channel-ID": new.channel_id}).status == 400
    assert [n.action for n in gc.notify()] == ["unknown_channel", "sync_ack"]  # the old channel is stopped by now
    appt = gc.book_at(ist(9, 10))  # the next Monday (the clock moved on)
    gc.sync.push_pending("t1")  # our insert notifies too
    assert [n.action for n in gc.notify()] == ["queued"]
    replay = gc.fake.webhooks.delivered[-1]
    assert gc.sync.handle_notification("t1", replay.headers).action == "duplicate"
    assert gc.sync.queued() == [("t1", AYSE)]
    reports = gc.sync.run_queued()
    assert len(reports) == 1 and reports[0].echoes == 1 and gc.book.get("t1", appt.id).version == 1


def test_a_malformed_event_is_quarantined_and_the_rest_goes_on(gc: GcalClinic) -> None:
    gc.fake.human_insert(ACCOUNT, AYSE, ist(2, 10), ist(2, 11))
    gc.fake.human_insert(ACCOUNT, AYSE, ist(2, 12), ist(2, 13))
    gc.warm_token()  # a token first, so the scripted fault hits the listing
    gc.fake.faults.configure(script=["malformed"])
    report = gc.sync.sync_calendar("t1", AYSE)
    assert report.quarantined == 2 and report.seen == 0
    found = gc.store.quarantine.find("t1", provider="google_calendar")
    assert len(found) == 2 and found[0].record_id is not None and "start" in (found[0].field or "")
    gc.fake.human_insert(ACCOUNT, AYSE, ist(2, 14), ist(2, 15))
    after = gc.sync.sync_calendar("t1", AYSE)  # the sync goes on with the next changes
    assert (after.quarantined, after.seen, after.busy_upserted) == (0, 1, 1)


def test_an_appointment_given_to_another_doctor_moves_calendars(gc: GcalClinic) -> None:
    from .conftest import make_doctor

    gc.store.doctors.save("t1", make_doctor(doctor_id="d2", name="Dr. Mehmet", is_specialist=True, calendar_id=MEHMET))
    gc.sync.connect_doctor("t1", "d2")
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    old_event = str(gc.book.get("t1", appt.id).calendar_event_id)
    gc.sync.sync_calendar("t1", AYSE)
    gc.book.move("t1", appt.id, ist(2, 14), doctor_id="d2")
    assert [r.action for r in gc.sync.push_pending("t1")] == ["inserted"]
    assert gc.fake.event(ACCOUNT, AYSE, old_event)["status"] == "cancelled"  # type: ignore[index]
    [moved] = gc.fake.events(ACCOUNT, MEHMET)
    assert moved["extendedProperties"]["private"][STAMP_APPOINTMENT] == appt.id
    now = gc.book.get("t1", appt.id)
    assert (now.calendar_id, now.calendar_event_id, now.synced_version) == (MEHMET, moved["id"], now.version)
    # The old calendar's tombstone is not a cancellation; the new calendar shows our echo.
    assert gc.sync.sync_calendar("t1", AYSE).cancelled == 0
    assert gc.sync.sync_calendar("t1", MEHMET).echoes == 1
    assert gc.book.get("t1", appt.id).status == AppointmentStatus.BOOKED


def test_concurrent_pushes_and_syncs_apply_once() -> None:
    import threading

    from invekto_integrations.storage import MemoryStore

    gc = GcalClinic(MemoryStore())
    try:
        appts = [gc.book_at(ist(2, h)) for h in (9, 10, 11)]
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def push() -> None:
            barrier.wait()
            try:
                for a in appts:
                    gc.sync.push_appointment("t1", a.id)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=push) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(gc.live_events()) == 3 and gc.posts() == 3

        gc.sync.sync_calendar("t1", AYSE)
        event_id = str(gc.book.get("t1", appts[0].id).calendar_event_id)
        gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))
        reports: list[Any] = []
        barrier = threading.Barrier(3)

        def pull() -> None:
            barrier.wait()
            reports.append(gc.sync.sync_calendar("t1", AYSE))

        threads = [threading.Thread(target=pull) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.moved for r in reports) == 1
        assert len(gc.store.events.read("t1", types=["appointment.moved"])) == 1
    finally:
        gc.close()
