"""`ConflictPolicy.MANUAL`: when both sides changed an appointment's time, the conflict is recorded,
neither side is changed, and it waits in `open_conflicts` until a human settles it with
`resolve_conflict(keep="calendar" | "clinic")`. A cancellation still wins on either side. Both
engines, every store. Plus the pure conflict rule (`decide_incoming` / `decide_precondition`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from invekto_integrations.appointments.models import Appointment, AppointmentStatus
from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.providers.base import CalendarEvent
from invekto_integrations.sync.calendar import (
    ConflictPolicy,
    Incoming,
    OnPrecondition,
    decide_incoming,
    decide_precondition,
    stamps_for,
)

from .gcal_fixtures import ACCOUNT, AYSE, ENGINES, GcalClinic, ist


@pytest.fixture(params=ENGINES)
def gc(store: Any, request: pytest.FixtureRequest) -> Iterator[GcalClinic]:
    world = GcalClinic(store, policy=ConflictPolicy.MANUAL, engine=request.param)
    yield world
    world.close()


def _booked(gc: GcalClinic) -> tuple[Any, str]:
    appt = gc.book_at(ist(2, 10))
    gc.sync.push_pending("t1")
    gc.sync.sync_calendar("t1", AYSE)
    return appt, str(gc.book.get("t1", appt.id).calendar_event_id)


def _writes(gc: GcalClinic, event_id: str) -> int:
    return len([r for r in gc.fake.requests_to(f"/events/{event_id}") if r.method in ("PATCH", "PUT", "DELETE")])


def test_a_move_in_the_calendar_is_held_for_a_human(gc: GcalClinic) -> None:
    appt, event_id = _booked(gc)
    gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))
    report = gc.sync.sync_calendar("t1", AYSE)
    assert (report.moved, report.conflicts) == (0, 1)
    here = gc.book.get("t1", appt.id)
    assert (here.starts_at, here.version) == (ist(2, 10), 1)  # nothing changed here ...
    assert gc.fake.event(ACCOUNT, AYSE, event_id)["start"]["dateTime"] == "2026-03-02T15:00:00+03:00"  # type: ignore[index]
    assert [r.action for r in gc.sync.push_pending("t1")] == [] and _writes(gc, event_id) == 0  # ... nor there
    [conflict] = gc.sync.open_conflicts("t1")
    assert (conflict.kind, conflict.resolution, conflict.appointment_id) == ("moved", "manual", appt.id)
    assert "manual policy" in conflict.detail and conflict.resolved_at is None
    # The same calendar state seen again (a 410 resync) is not a second conflict.
    gc.fake.expire_sync_tokens(ACCOUNT, AYSE)
    assert gc.sync.sync_calendar("t1", AYSE).conflicts == 0
    assert len(gc.sync.conflicts("t1")) == 1


def test_a_412_with_a_local_change_writes_nothing_and_records_once(gc: GcalClinic) -> None:
    appt, event_id = _booked(gc)
    gc.book.move("t1", appt.id, ist(2, 11))
    gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))
    [result] = gc.sync.push_pending("t1")
    assert result.action == "manual"
    assert gc.fake.requests_to(f"/events/{event_id}", "PATCH")[-1].headers["if-match"]  # tried, refused (412)
    assert gc.fake.event(ACCOUNT, AYSE, event_id)["start"]["dateTime"] == "2026-03-02T15:00:00+03:00"  # type: ignore[index]
    here = gc.book.get("t1", appt.id)
    assert here.starts_at == ist(2, 11) and here.synced_version != here.version  # still ours, still pending
    assert [r.action for r in gc.sync.reconcile("t1", since=ist(1, 0))] == ["manual"]  # asked again ...
    assert len(gc.sync.open_conflicts("t1")) == 1  # ... recorded once
    gc.sync.sync_calendar("t1", AYSE)
    assert len(gc.sync.open_conflicts("t1")) == 1


def test_resolving_keep_calendar_takes_the_calendars_time(gc: GcalClinic) -> None:
    appt, event_id = _booked(gc)
    gc.book.move("t1", appt.id, ist(2, 11))
    gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))
    gc.sync.push_pending("t1")
    [conflict] = gc.sync.open_conflicts("t1")
    result = gc.sync.resolve_conflict("t1", conflict.id, keep="calendar")
    assert result.action == "calendar_wins"
    here = gc.book.get("t1", appt.id)
    assert (here.starts_at, here.synced_version == here.version) == (ist(2, 15), True)
    assert gc.sync.open_conflicts("t1") == []
    [settled] = gc.sync.conflicts("t1")
    assert settled.resolved_as == "calendar_wins" and settled.resolved_at is not None
    assert [r.action for r in gc.sync.push_pending("t1")] == ["up_to_date"]


def test_resolving_keep_clinic_puts_the_calendar_back(gc: GcalClinic) -> None:
    appt, event_id = _booked(gc)
    moved = gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))
    gc.sync.sync_calendar("t1", AYSE)
    [conflict] = gc.sync.open_conflicts("t1")
    result = gc.sync.resolve_conflict("t1", conflict.id, keep="clinic")
    assert result.action == "clinic_wins"
    event = gc.fake.event(ACCOUNT, AYSE, event_id)
    assert event is not None and event["start"]["dateTime"] == "2026-03-02T10:00:00+03:00"
    # written over the doctor's move knowingly: conditional on the etag of the version the human saw
    assert gc.fake.requests_to(f"/events/{event_id}", "PATCH")[-1].headers["if-match"] == moved["etag"]
    with pytest.raises(ValueError):
        gc.sync.resolve_conflict("t1", conflict.id, keep="both")
    with pytest.raises(ConfigurationError):  # settled once
        gc.sync.resolve_conflict("t1", conflict.id, keep="calendar")
    here = gc.book.get("t1", appt.id)
    assert here.starts_at == ist(2, 10) and here.calendar_etag == event["etag"]
    assert gc.sync.open_conflicts("t1") == [] and gc.sync.conflicts("t1")[0].resolved_as == "clinic_wins"
    assert gc.sync.sync_calendar("t1", AYSE).echoes == 1  # our write coming back


def test_a_cancellation_still_wins_under_the_manual_policy(gc: GcalClinic) -> None:
    appt, event_id = _booked(gc)
    gc.fake.human_delete(ACCOUNT, AYSE, event_id)
    assert gc.sync.sync_calendar("t1", AYSE).cancelled == 1
    assert gc.book.get("t1", appt.id).status == AppointmentStatus.CANCELLED
    assert gc.sync.open_conflicts("t1") == []


# --- the pure rule -------------------------------------------------------------------------------
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _appt(version: int = 1, synced: int | None = 1,
          status: AppointmentStatus = AppointmentStatus.BOOKED) -> Appointment:
    return Appointment(id="a1", tenant_id="t1", doctor_id="d1", service_name="Muayene", patient_phone="+905321111111",
                       starts_at=ist(2, 10), ends_at=ist(2, 10, 30), status=status, version=version,
                       synced_version=synced, calendar_id=AYSE, calendar_event_id="e1", calendar_etag='"1"',
                       created_at=NOW, updated_at=NOW)


def _event(start: datetime, end: datetime, *, written: Appointment, etag: str = '"2"',
           status: str = "confirmed") -> CalendarEvent:
    return CalendarEvent(id="e1", status=status, start=start, end=end, etag=etag,
                         private=stamps_for("t1", written))


@pytest.mark.parametrize(("policy", "expected"), [
    (ConflictPolicy.CALENDAR_WINS, Incoming.MOVE), (ConflictPolicy.CLINIC_WINS, Incoming.PUT_BACK),
    (ConflictPolicy.MANUAL, Incoming.HOLD),
])
def test_decide_incoming_a_move_by_policy(policy: ConflictPolicy, expected: Incoming) -> None:
    appt = _appt()
    assert decide_incoming(appt, _event(ist(2, 15), ist(2, 15, 30), written=appt), AYSE, policy) == expected


def test_decide_incoming_echo_pending_and_cancel() -> None:
    appt = _appt()
    assert decide_incoming(appt, _event(ist(2, 15), ist(2, 16), written=appt, etag='"1"'), AYSE,
                           ConflictPolicy.MANUAL) == Incoming.ECHO
    pending = _appt(version=2, synced=1)
    shows_our_last_write = _event(ist(2, 10), ist(2, 10, 30), written=appt).model_copy(
        update={"start": ist(2, 9), "end": ist(2, 9, 30), "private": {**stamps_for("t1", appt),
                "clinicStart": ist(2, 9).isoformat(), "clinicEnd": ist(2, 9, 30).isoformat()}})
    assert decide_incoming(pending, shows_our_last_write, AYSE, ConflictPolicy.MANUAL) == Incoming.OURS_PENDING
    gone = CalendarEvent(id="e1", status="cancelled", etag='"3"')
    assert decide_incoming(appt, gone, AYSE, ConflictPolicy.MANUAL) == Incoming.CANCEL
    assert decide_incoming(appt, gone.model_copy(update={"id": "e0"}), AYSE, ConflictPolicy.MANUAL) == Incoming.STALE


@pytest.mark.parametrize(("policy", "expected"), [
    (ConflictPolicy.CALENDAR_WINS, OnPrecondition.TAKE_CALENDAR), (ConflictPolicy.CLINIC_WINS, OnPrecondition.REAPPLY),
    (ConflictPolicy.MANUAL, OnPrecondition.HOLD),
])
def test_decide_precondition_by_policy(policy: ConflictPolicy, expected: OnPrecondition) -> None:
    written = _appt()
    ours = _appt(version=2, synced=1)
    assert decide_precondition(ours, _event(ist(2, 15), ist(2, 15, 30), written=written), policy) == expected
    cancelled_here = _appt(version=2, synced=1, status=AppointmentStatus.CANCELLED)
    assert decide_precondition(cancelled_here, _event(ist(2, 15), ist(2, 15, 30), written=written), policy) == \
        OnPrecondition.DELETE_ANYWAY


def test_keep_calendar_refuses_an_all_day_event_and_keep_clinic_repairs_it(gc: GcalClinic) -> None:
    appt, event_id = _booked(gc)
    gc.fake.human_edit(ACCOUNT, AYSE, event_id, start={"date": "2026-03-02"}, end={"date": "2026-03-03"})
    gc.sync.sync_calendar("t1", AYSE)
    [conflict] = gc.sync.open_conflicts("t1")
    assert (conflict.kind, conflict.resolution) == ("unsupported", "manual")
    with pytest.raises(ConfigurationError):
        gc.sync.resolve_conflict("t1", conflict.id, keep="calendar")
    assert gc.book.get("t1", appt.id).starts_at == ist(2, 10) and gc.sync.open_conflicts("t1") == [conflict]
    gc.sync.resolve_conflict("t1", conflict.id, keep="clinic")
    event = gc.fake.event(ACCOUNT, AYSE, event_id)
    assert event is not None and event["start"] == {"dateTime": "2026-03-02T10:00:00+03:00",
                                                     "timeZone": "Europe/Istanbul"}
    assert gc.sync.open_conflicts("t1") == []
