"""Recurring schedules: a cron expression (croniter) or an RFC 5545 RRULE (dateutil), evaluated on
the wall clock of a timezone.

Both libraries iterate *naive local* times; we attach the zone ourselves, so DST is handled in one
place and the same way for both:

- a local time that does not exist (the spring-forward gap, e.g. 02:30 in Berlin on the last
  Sunday of March) fires at the same offset past the gap's end (03:30 CEST), zoneinfo's ``fold=0``
  reading;
- a local time that happens twice (the fall-back hour) fires once, at its first occurrence;
- an occurrence whose instant is not after the previous one (the hour repeated by a fall-back, or
  two wall times mapping to one instant around a gap) is skipped, so instants strictly increase.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from dateutil.rrule import rrule, rrulestr

from invekto_integrations.core.errors import InvalidArgument

__all__ = ["Schedule", "zone"]

_SEARCH = 2000  # wall-clock candidates examined before giving up (a rule that never matches again)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; `InvalidArgument` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(f"unknown timezone {name!r}", field="timezone") from exc


@dataclass(frozen=True)
class Schedule:
    """A recurring timer an engine declares: exactly one of ``cron`` or ``rrule``.

    ``key`` names it among the engine's timers (stable: the durable row is keyed by it).
    ``timezone`` overrides the tenant's zone. ``start`` anchors an RRULE that has no DTSTART (its
    default hour/minute/weekday come from it; default: midnight of 1 January of the year being
    searched, so give BYHOUR/BYMINUTE/BYDAY or a DTSTART for anything but daily-at-midnight).
    ``payload`` is handed to the engine with every occurrence.
    """

    key: str
    cron: str | None = None
    rrule: str | None = None
    timezone: str | None = None
    start: datetime | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key or not self.key.strip():
            raise InvalidArgument("schedule key must not be empty", field="key")
        if (self.cron is None) == (self.rrule is None):
            raise InvalidArgument("give exactly one of cron or rrule", field="cron", record=self.key)
        if self.cron is not None and not croniter.is_valid(self.cron):
            raise InvalidArgument(f"invalid cron expression {self.cron!r}", field="cron", record=self.key)
        if self.rrule is not None:
            try:
                rrulestr(self.rrule, dtstart=datetime(2000, 1, 1))
            except (ValueError, TypeError) as exc:
                raise InvalidArgument(f"invalid RRULE {self.rrule!r}: {exc}", field="rrule", record=self.key) from exc
        if self.start is not None and self.start.tzinfo is None:
            raise InvalidArgument("start must be timezone-aware", field="start", record=self.key)
        if self.timezone is not None:
            zone(self.timezone)

    def spec(self, tz: str) -> str:
        """What identifies the recurrence (stored with the timer: a change re-points it)."""
        rule = f"cron:{self.cron}" if self.cron is not None else f"rrule:{self.rrule}"
        start = f";start={self.start.isoformat()}" if self.start is not None else ""
        return f"{rule};tz={self.timezone or tz}{start}"

    def next_after(self, instant: datetime, tz: str) -> datetime | None:
        """The first occurrence strictly after ``instant`` (aware), in UTC; ``None`` if the rule has
        no further occurrence. ``tz`` is the tenant's zone (``timezone`` wins when set)."""
        if instant.tzinfo is None:
            raise InvalidArgument("instant must be timezone-aware", field="instant", record=self.key)
        where = zone(self.timezone or tz)
        local = instant.astimezone(where).replace(tzinfo=None)
        for wall in self._walls(local, where):
            at = wall.replace(tzinfo=where).astimezone(UTC)  # fold=0: see the module docstring
            if at > instant:
                return at
        return None

    def _walls(self, after: datetime, where: ZoneInfo) -> Iterator[datetime]:
        """Naive local wall times after ``after``, in order."""
        if self.cron is not None:
            it = croniter(self.cron, after)
            for _ in range(_SEARCH):
                yield it.get_next(datetime)
            return
        assert self.rrule is not None
        anchor = (self.start.astimezone(where).replace(tzinfo=None) if self.start is not None
                  else datetime(after.year, 1, 1))
        rule = rrulestr(self.rrule, dtstart=anchor, ignoretz=True)
        if not isinstance(rule, rrule):
            raise InvalidArgument("give a single RRULE (not a set)", field="rrule", record=self.key)
        yield from rule.xafter(after, count=_SEARCH, inc=False)
