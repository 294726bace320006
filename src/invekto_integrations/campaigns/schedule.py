"""When a campaign's trigger fires, as timers of the engine runtime.

A recurring campaign is one recurring runtime timer (`to_schedule`): its cron expression, or the
RFC 5545 RRULE of its daily/weekly/monthly rule (`to_rrule`), evaluated by the runtime's
`Schedule` on the wall clock of the tenant's timezone (or the trigger's own), right across DST:
"every Monday 10:00" stays 10:00 local; a time inside the spring-forward gap fires the gap's
length later; an ambiguous autumn time fires once, at its first instant. The occurrence key is the
local wall time of the occurrence (`occurrence_key`), which names the recipients' occurrence, so an
occurrence enters each customer at most once. `next_occurrence` previews the same computation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.runtime import Schedule

from .models import OneShotTrigger, RecurringTrigger

__all__ = ["ONCE", "next_occurrence", "occurrence_key", "to_rrule", "to_schedule", "validate_trigger", "zone"]

ONCE = "once"
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(f"unknown timezone {name!r}", field="timezone") from exc


def _hm(text: str) -> tuple[int, int]:
    hh, _, mm = text.partition(":")
    return int(hh), int(mm)


def to_rrule(trigger: RecurringTrigger) -> str:
    """The RRULE of a ``frequency`` trigger (BYHOUR/BYMINUTE/BYSECOND given, so no DTSTART is needed).

    ``month_day`` 29–31 also lists the month's last day and keeps the first match: "the 31st" is the
    30th in April and the 28th (29th) in February, as people expect of "monthly".
    """
    hour, minute = _hm(trigger.at)
    parts = [f"FREQ={(trigger.frequency or 'daily').upper()}", f"BYHOUR={hour}", f"BYMINUTE={minute}", "BYSECOND=0"]
    if trigger.frequency == "weekly":
        parts.append("BYDAY=" + ",".join(_DAYS[d] for d in (trigger.weekdays or [0])))
    if trigger.frequency == "monthly":
        day = trigger.month_day or 1
        parts.append(f"BYMONTHDAY={day}" if day <= 28 else f"BYMONTHDAY={day},-1;BYSETPOS=1")
    return ";".join(parts)


def to_schedule(campaign_id: str, trigger: RecurringTrigger, payload: dict[str, Any] | None = None) -> Schedule:
    """The runtime's recurring timer of a recurring campaign (key ``campaign:<id>``)."""
    cron, rule = (trigger.cron, None) if trigger.cron is not None else (None, to_rrule(trigger))
    return Schedule(key=f"campaign:{campaign_id}", cron=cron, rrule=rule, timezone=trigger.timezone,
                    start=trigger.starts_at, payload=payload or {})


def next_occurrence(trigger: RecurringTrigger, after: datetime, tenant_timezone: str) -> datetime | None:
    """The first occurrence strictly after ``after`` (aware), in UTC; None past ``until``."""
    if trigger.starts_at is not None and after < trigger.starts_at:
        after = trigger.starts_at - timedelta(microseconds=1)
    at = to_schedule("preview", trigger).next_after(after, tenant_timezone)
    if at is None or (trigger.until is not None and at > trigger.until):
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
