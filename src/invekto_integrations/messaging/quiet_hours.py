"""Quiet hours in the tenant's timezone: a message due inside them waits until they end."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

__all__ = ["QuietHours"]


class QuietHours(BaseModel):
    """``start``–``end`` local time (may wrap midnight, the default 21:00–09:00) in ``timezone``."""

    model_config = ConfigDict(frozen=True)

    start: time = time(21, 0)
    end: time = time(9, 0)
    timezone: str = "Europe/Istanbul"
    enabled: bool = True

    def is_quiet(self, when: datetime) -> bool:
        if not self.enabled or self.start == self.end:
            return False
        local = when.astimezone(ZoneInfo(self.timezone)).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, when: datetime) -> datetime:
        """``when`` itself if it is outside quiet hours, else the moment quiet hours end."""
        if not self.is_quiet(when):
            return when
        tz = ZoneInfo(self.timezone)
        local = when.astimezone(tz)
        end_today = datetime.combine(local.date(), self.end, tzinfo=tz)
        allowed = end_today if end_today > local else datetime.combine(local.date() + timedelta(days=1), self.end,
                                                                       tzinfo=tz)
        return allowed.astimezone(when.tzinfo)
