"""Turkish date/time wording for patient messages (no locale dependency)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["format_when"]

_MONTHS = ("Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım",
           "Aralık")
_DAYS = ("Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar")


def format_when(instant: datetime, timezone: str = "Europe/Istanbul") -> str:
    """``"2 Mart 2026 Pazartesi 09:00"`` in ``timezone``."""
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {_DAYS[local.weekday()]} {local:%H:%M}"
