"""The report period: a tenant, local dates ``date_from``–``date_to`` (both included) and the tenant's zone.

Panels read rows in the UTC bounds of those local days and bucket them by local date, so a
Tuesday 00:30 order in Istanbul counts on Tuesday, not on Monday (its UTC date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from invekto_integrations.core.errors import InvalidArgument

__all__ = ["ReportPeriod"]

_MAX_DAYS = 3660


@dataclass(frozen=True)
class ReportPeriod:
    """Whose figures, over which local days (both included), in which timezone."""

    tenant_id: str
    date_from: date
    date_to: date
    timezone: str = "Europe/Istanbul"

    def __post_init__(self) -> None:
        if not self.tenant_id.strip():
            raise InvalidArgument("tenant_id is blank", field="tenant_id")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidArgument(f"unknown timezone {self.timezone!r}", field="timezone") from exc
        if self.date_to < self.date_from:
            raise InvalidArgument(f"date_to {self.date_to} is before date_from {self.date_from}", field="date_to")
        if (self.date_to - self.date_from).days > _MAX_DAYS:
            raise InvalidArgument("a report period spans at most ten years", field="date_to")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start(self) -> datetime:
        """UTC instant of local midnight starting ``date_from``."""
        return datetime.combine(self.date_from, time(0), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """UTC instant of local midnight after ``date_to`` (exclusive bound)."""
        return datetime.combine(self.date_to + timedelta(days=1), time(0), self.zone).astimezone(UTC)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def days(self) -> list[date]:
        return [self.date_from + timedelta(days=i) for i in range((self.date_to - self.date_from).days + 1)]
