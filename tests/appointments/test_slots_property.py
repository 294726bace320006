"""Property: the slot finder and the booking check agree, and a free slot never overlaps anything."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invekto_integrations.appointments.booking import AppointmentBook
from invekto_integrations.appointments.models import Doctor, TimeRange
from invekto_integrations.appointments.pricing import PriceCatalog
from invekto_integrations.appointments.slots import SlotFinder
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.events import EventBus
from invekto_integrations.storage import MemoryStore

from .conftest import make_appointment

DAY = date(2026, 3, 3)  # a Tuesday


class Busy:
    def __init__(self, intervals: list[tuple[datetime, datetime]]) -> None:
        self.intervals = intervals

    def busy(self, tenant_id: str, doctor: Doctor, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return [(s, e) for s, e in self.intervals if s < end and e > start]


minutes = st.integers(min_value=0, max_value=24 * 4 - 1).map(lambda q: q * 15)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tz=st.sampled_from(["Europe/Istanbul", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
    open_h=st.integers(6, 11), close_h=st.integers(13, 21), brk=st.integers(11, 13),
    duration=st.sampled_from([15, 20, 30, 45, 60, 90]), buffer=st.sampled_from([0, 5, 10, 15]),
    booked=st.lists(st.tuples(minutes, st.sampled_from([15, 30, 60]), st.sampled_from([0, 10])), max_size=6),
    cal=st.lists(st.tuples(minutes, st.integers(5, 120)), max_size=4),
)
def test_free_slots_are_free_and_complete(tz: str, open_h: int, close_h: int, brk: int, duration: int, buffer: int,
                                          booked: list[tuple[int, int, int]], cal: list[tuple[int, int]]) -> None:
    zone = ZoneInfo(tz)
    midnight = datetime.combine(DAY, time(0), tzinfo=zone).astimezone(UTC)
    store: Any = MemoryStore()
    clock = FrozenClock(datetime(2026, 3, 1, tzinfo=UTC))
    PriceCatalog(store.service_pricing, clock=clock).create("t1", "S", "100", "200", duration, buffer_minutes=buffer)
    store.doctors.save("t1", Doctor(
        id="d1", tenant_id="t1", name="Dr", timezone=tz,
        working_hours={2: [TimeRange(start=time(open_h), end=time(close_h))]},
        breaks={2: [TimeRange(start=time(brk), end=time(brk, 45))]}, created_at=clock.now(), updated_at=clock.now()))
    for start_min, length, buf in booked:
        store.appointments.book_if_free("t1", make_appointment(start=midnight + timedelta(minutes=start_min),
                                                               minutes=length, buffer_minutes=buf))
    calendar = Busy([(midnight + timedelta(minutes=m), midnight + timedelta(minutes=m + n)) for m, n in cal])
    finder = SlotFinder(store.appointments, store.doctors, store.service_pricing, busy=calendar, clock=clock)
    book = AppointmentBook(store.appointments, finder, EventBus(store.events, clock), clock=clock)
    day_end = midnight + timedelta(days=1)
    slots = finder.free_slots("t1", "S", midnight, day_end)
    doctor = store.doctors.get("t1", "d1")
    service = store.service_pricing.get_active("t1", "S")
    free_starts = {s.starts_at for s in slots}
    blocks = [(a.starts_at, a.blocked_until) for a in store.appointments.find("t1")] + calendar.intervals
    for s in slots:
        local_start, local_end = s.starts_at.astimezone(zone), s.ends_at.astimezone(zone)
        assert local_start.date() == DAY and time(open_h) <= local_start.time() and local_end.time() <= time(close_h)
        assert not (local_start.time() < time(brk, 45) and local_end.time() > time(brk))
        assert all(not (b0 < s.blocked_until and b1 > s.starts_at) for b0, b1 in blocks)
        assert finder.check("t1", doctor, service, s.starts_at) is None
    # completeness on the grid: every 15-minute start the check accepts is listed (the working
    # period starts on the hour and the break ends at :45, so the grid is the quarter hours)
    t = midnight
    while t < day_end:
        if finder.check("t1", doctor, service, t) is None:
            assert t in free_starts
        t += timedelta(minutes=15)
    # and booking a listed slot succeeds (then it is no longer listed)
    if slots:
        first = slots[0]
        book.book("t1", doctor_id="d1", service_name="S", starts_at=first.starts_at, patient_phone="+905321234567")
        assert first.starts_at not in {x.starts_at for x in finder.free_slots("t1", "S", midnight, day_end)}
