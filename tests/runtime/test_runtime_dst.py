"""Recurring timers at 10:00 local time in Istanbul (no DST) and in zones that change their clocks,
fired through the runtime on the injected clock across the spring and autumn changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from runtime_world import Probe

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.settings import TenantSettings
from invekto_integrations.runtime import Runtime, Schedule


def fire_until(rt: Runtime, clock: FrozenClock, probe: Probe, end: datetime) -> list[datetime]:
    """Jump the clock from timer to timer (as a runtime waking at each due time would) until ``end``."""
    rt.run_once()
    while True:
        due = min((s.next_timer_at for s in rt.status() if s.next_timer_at), default=None)
        if due is None or due > end:
            return [t.due_at for t in probe.timers]
        clock.set(due)
        assert rt.run_once().fired >= 1


ZONES = {"ist": "Europe/Istanbul", "ber": "Europe/Berlin", "nyc": "America/New_York"}


def test_daily_ten_oclock_across_the_spring_change(store: Any) -> None:
    clock = FrozenClock(datetime(2026, 3, 6, 18, 0, tzinfo=UTC))
    probes = {t: Probe(f"daily-{t}", consumes=(), schedules=[Schedule("ten", cron="0 10 * * *")]) for t in ZONES}
    fired: dict[str, list[datetime]] = {}
    for tenant, probe in probes.items():
        store.tenant_settings.save(tenant, TenantSettings(tenant_id=tenant, timezone=ZONES[tenant]))
        rt = Runtime(store, [probe], clock=FrozenClock(clock.now()), tenants=[tenant])
        fired[tenant] = fire_until(rt, rt.clock, probe, datetime(2026, 4, 1, tzinfo=UTC))  # type: ignore[arg-type]
    for tenant, instants in fired.items():
        local = [i.astimezone(ZoneInfo(ZONES[tenant])) for i in instants]
        assert all((t.hour, t.minute) == (10, 0) for t in local), tenant
        assert len({t.date() for t in local}) == len(local) == 25  # every day 7 March .. 31 March, once
    ist = {i.date(): i.hour for i in fired["ist"]}
    assert set(ist.values()) == {7}  # UTC+3 all year
    nyc = {i.date(): i.hour for i in fired["nyc"]}
    assert nyc[datetime(2026, 3, 7).date()] == 15 and nyc[datetime(2026, 3, 8).date()] == 14  # EST -> EDT
    ber = {i.date(): i.hour for i in fired["ber"]}
    assert ber[datetime(2026, 3, 28).date()] == 9 and ber[datetime(2026, 3, 29).date()] == 8  # CET -> CEST


def test_weekly_monday_ten_istanbul_and_berlin_across_the_autumn_change(store: Any) -> None:
    start = datetime(2026, 10, 13, tzinfo=UTC)
    out = {}
    for tenant, tz in (("ist", "Europe/Istanbul"), ("ber", "Europe/Berlin")):
        probe = Probe(f"weekly-{tenant}", consumes=(), schedules=[
            Schedule("monday", rrule="FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0;BYSECOND=0")])
        clock = FrozenClock(start)
        store.tenant_settings.save(tenant, TenantSettings(tenant_id=tenant, timezone=tz))
        rt = Runtime(store, [probe], clock=clock, tenants=[tenant])
        out[tenant] = fire_until(rt, clock, probe, datetime(2026, 11, 10, tzinfo=UTC))
    assert out["ist"] == [datetime(2026, 10, d, 7, 0, tzinfo=UTC) for d in (19, 26)] + [
        datetime(2026, 11, d, 7, 0, tzinfo=UTC) for d in (2, 9)]
    assert out["ber"] == [datetime(2026, 10, 19, 8, 0, tzinfo=UTC), datetime(2026, 10, 26, 9, 0, tzinfo=UTC),
                          datetime(2026, 11, 2, 9, 0, tzinfo=UTC), datetime(2026, 11, 9, 9, 0, tzinfo=UTC)]


@pytest.mark.parametrize(("day", "expected"), [
    # 02:30 does not exist on 29 March in Berlin: it fires at 03:30 CEST (01:30 UTC), once.
    (datetime(2026, 3, 29, tzinfo=UTC), [datetime(2026, 3, 29, 1, 30, tzinfo=UTC)]),
    # 02:30 happens twice on 25 October: it fires once, at the first (CEST, 00:30 UTC).
    (datetime(2026, 10, 25, tzinfo=UTC), [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]),
])
def test_a_wall_time_inside_the_change_fires_once(store: Any, day: datetime, expected: list[datetime]) -> None:
    probe = Probe("night", consumes=(), schedules=[Schedule("half-past-two", cron="30 2 * * *")])
    clock = FrozenClock(day - timedelta(hours=3))
    rt = Runtime(store, [probe], clock=clock, tenants=["ber"],
                 settings=lambda t: TenantSettings(tenant_id=t, timezone="Europe/Berlin"))
    assert fire_until(rt, clock, probe, day + timedelta(hours=12)) == expected
