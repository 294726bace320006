"""Calendar sync as a runtime engine: booked/cancelled appointments are pushed to the doctor's Google
calendar as the runtime hands it the events; the safety-net poll runs on its timer."""

from __future__ import annotations

from datetime import timedelta

from invekto_integrations.runtime import Runtime
from invekto_integrations.runtime.engines import CalendarSyncEngine
from invekto_integrations.storage import MemoryStore

from .gcal_fixtures import AYSE, GcalClinic, ist


def test_pushes_follow_the_events_and_the_poll_follows_its_timer() -> None:
    gc = GcalClinic(MemoryStore())
    try:
        rt = Runtime(gc.store, [CalendarSyncEngine(gc.sync, every="*/15 * * * *")], clock=gc.clock,
                     bus=gc.clinic.bus, tenants=["t1"])
        appt = gc.book_at(ist(2, 10))
        assert rt.run_once().handled == 1
        assert gc.posts() == 1 and len(gc.live_events()) == 1
        assert rt.run_once().handled == 0  # the cursor moved: nothing pushed twice
        gc.book.cancel("t1", appt.id)
        rt.run_once()
        assert gc.live_events() == []  # the cancellation removed the event
        lists = len(gc.fake.requests_to(f"/calendars/{AYSE}/events", "GET"))
        gc.clock.advance(timedelta(minutes=15).total_seconds())
        assert rt.run_once().fired == 1  # the poll pulled the calendar
        assert len(gc.fake.requests_to(f"/calendars/{AYSE}/events", "GET")) > lists
    finally:
        gc.close()
