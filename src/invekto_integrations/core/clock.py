"""Injectable time: every engine asks a `Clock`, never `datetime.now()`, so tests control time."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from invekto_integrations.core.errors import InvalidArgument

__all__ = ["Clock", "FrozenClock", "SystemClock", "utc"]


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime; a naive value is refused (it has no meaning here)."""
    if dt.tzinfo is None:
        raise InvalidArgument("naive datetime: give a timezone-aware value", field="datetime")
    return dt.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """Wall time for records and monotonic time for waiting."""

    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    async def asleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def __repr__(self) -> str:
        return "SystemClock()"

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)


class FrozenClock:
    """A clock that moves only when told to; sleeping advances it instantly (no real waiting)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start) if start else datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._mono = 0.0
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def __repr__(self) -> str:
        return f"FrozenClock({self.now():%Y-%m-%d %H:%M:%S}Z)"

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        step = timedelta(seconds=seconds, **delta)
        with self._lock:
            self._now += step
            self._mono += step.total_seconds()
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            new = utc(when)
            self._mono += max(0.0, (new - self._now).total_seconds())
            self._now = new

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds > 0:
            self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
