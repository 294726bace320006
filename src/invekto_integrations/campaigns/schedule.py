"""When a campaign's trigger fires: occurrences in the tenant's timezone, right across DST.

Recurrences are computed on wall-clock times (croniter for cron expressions, dateutil.rrule for
daily/weekly/monthly rules) and only then placed in the zone: "every Monday 10:00" is 10:00 local
before and after a clock change. A wall time that does not exist (the spring-forward gap) moves
forward by the gap; an ambiguous one (the autumn fold) takes its first instant. Each occurrence
has a stable key (its local wall time), which names the runtime timer and the recipients'
occurrence, so an occurrence fires, and enters each customer, at most once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from dateutil import rrule

from invekto_integrations.core.errors import InvalidArgument

from .models import OneShotTrigger, RecurringTrigger

__all__ = ["next_occurrence", "occurrence_key", "validate_trigger", "zone"]

ONCE = "once"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(f"unknown timezone {name!r}", field="timezone") from exc


def _place(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall time in ``tz`` as an aware UTC instant.

    PEP 495's ``fold=0`` reads a wall time with the offset in force before a transition: in an
    autumn fold that is the first of the two instants; in a spring gap it is the instant the gap's
    length later on the new clock (02:30 in a 02:00→03:00 gap is 03:30), as documented above.
    """
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _hm(text: str) -> tuple[int, int]:
    hh, _, mm = text.partition(":")
    return int(hh), int(mm)


def _walls_after(trigger: RecurringTrigger, wall_after: datetime) -> datetime:
    """The first wall time of the rule strictly after ``wall_after`` (naive, local)."""
    if trigger.cron is not None:
        return croniter(trigger.cron, wall_after).get_next(datetime)  # type: ignore[no-any-return]
    hour, minute = _hm(trigger.at)
    freq = {"daily": rrule.DAILY, "weekly": rrule.WEEKLY, "monthly": rrule.MONTHLY}[trigger.frequency or "daily"]
    kwargs: dict[str, object] = {"byhour": hour, "byminute": minute, "bysecond": 0}
    if trigger.frequency == "weekly":
        kwargs["byweekday"] = trigger.weekdays or [0]
    if trigger.frequency == "monthly":
        # A month without that day (31st in April) uses its last day, as people expect of "monthly".
        day = trigger.month_day or 1
        kwargs["bymonthday"] = [day] if day <= 28 else [day, -1]
        kwargs["bysetpos"] = 1
    start = wall_after.replace(second=0, microsecond=0) - timedelta(days=1)
    rule = rrule.rrule(freq, dtstart=start, **kwargs)  # type: ignore[arg-type]
    found = rule.after(wall_after, inc=False)
    if found is None:  # pragma: no cover - unbounded rules always have a next one
        raise InvalidArgument("the recurrence has no further occurrence", field="trigger")
    return found


def next_occurrence(trigger: RecurringTrigger, after: datetime, tenant_timezone: str) -> datetime | None:
    """The first occurrence strictly after the instant ``after`` (aware UTC), or None past ``until``."""
    tz = zone(trigger.timezone or tenant_timezone)
    if trigger.starts_at is not None and after < trigger.starts_at:
        after = trigger.starts_at - timedelta(microseconds=1)
    wall = after.astimezone(tz).replace(tzinfo=None)
    while True:
        wall = _walls_after(trigger, wall)
        at = _place(wall, tz)
        if at > after:
            break
    if trigger.until is not None and at > trigger.until:
        return None
    return at


def occurrence_key(at: datetime, tz_name: str) -> str:
    """A stable name for the occurrence at ``at``: its local wall time with offset."""
    return at.astimezone(zone(tz_name)).isoformat(timespec="minutes")


def validate_trigger(trigger: object, tenant_timezone: str) -> None:
    """Fail early on a trigger that can never fire (bad cron, unknown zone)."""
    if isinstance(trigger, RecurringTrigger):
        zone(trigger.timezone or tenant_timezone)
        if trigger.cron is not None and not croniter.is_valid(trigger.cron):
            raise InvalidArgument(f"not a cron expression: {trigger.cron!r}", field="trigger.cron")
    if isinstance(trigger, OneShotTrigger) and trigger.at.tzinfo is None:  # pragma: no cover - model refuses it
        raise InvalidArgument("one_shot.at must be timezone-aware", field="trigger.at")


_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def to_rrule(trigger: RecurringTrigger) -> str:
    """The RFC 5545 RRULE of a ``frequency`` trigger (what the runtime's recurring timer evaluates)."""
    hour, minute = _hm(trigger.at)
    parts = [f"FREQ={(trigger.frequency or 'daily').upper()}", f"BYHOUR={hour}", f"BYMINUTE={minute}", "BYSECOND=0"]
    if trigger.frequency == "weekly":
        parts.append("BYDAY=" + ",".join(_DAYS[d] for d in (trigger.weekdays or [0])))
    if trigger.frequency == "monthly":
        day = trigger.month_day or 1
        parts.append(f"BYMONTHDAY={day}" if day <= 28 else f"BYMONTHDAY={day},-1;BYSETPOS=1")
    if trigger.max_occurrences is not None:
        parts.append(f"COUNT={trigger.max_occurrences}")
    return ";".join(parts)
