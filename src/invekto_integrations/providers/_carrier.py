"""Pieces the carrier connectors share: carrier time parsing, tuned HTTP policy, unknown-code logging.

Turkish carriers send local (Europe/Istanbul) wall-clock times without an offset; everything is
turned into aware UTC datetimes here. Both SOAP services answer slowly at times (responses up to
~16 s were observed for Yurtiçi), so the default read timeout is generous and reads are retried.
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.core.text import clip

__all__ = [
    "ISTANBUL",
    "carrier_retry",
    "carrier_timeout",
    "log_unknown_code",
    "parse_local_datetime",
    "parse_yyyymmdd_hhmmss",
]

ISTANBUL = ZoneInfo("Europe/Istanbul")
log = logging.getLogger("invekto_integrations.carriers")


def carrier_timeout(read_seconds: float | None = None) -> httpx.Timeout:
    """Connect fast, read slowly: a slow carrier answer is normal, a dead host is not."""
    return httpx.Timeout(read_seconds or 25.0, connect=5.0)


def carrier_retry(clock: Clock) -> RetryPolicy:
    """Tracking queries are reads: retried on timeouts/5xx, 3 tries within 90 s, backoff from 1 s."""
    return RetryPolicy(max_attempts=3, max_total_seconds=90.0, base_seconds=1.0, max_backoff_seconds=8.0,
                       clock=clock)


@functools.lru_cache(maxsize=4096)
def log_unknown_code(carrier: str, code: str) -> None:
    """Warn once per (carrier, code) per process: the table needs an entry, nothing crashes."""
    log.warning("%s: unknown status code %r mapped to 'unknown'", carrier, clip(code))


_DOTNET_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_LOCAL_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)


def parse_local_datetime(text: str | None) -> datetime | None:
    """A carrier timestamp in Istanbul time (ISO-like, ``dd.mm.yyyy``, ``dd-mm-yyyy``, ``dd/mm/yyyy``
    or .NET ``/Date(ms)/``) as aware UTC; ``None`` for empty. Raises `ValueError` when unreadable."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    m = _DOTNET_DATE.match(value)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None:
        for fmt in _LOCAL_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"unreadable date {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ISTANBUL)
    return parsed.astimezone(UTC)


def parse_yyyymmdd_hhmmss(date: str | None, time: str | None) -> datetime | None:
    """Yurtiçi's ``YYYYMMDD`` + ``HHMMSS`` (time left-padded, may be missing) in Istanbul time, as UTC.

    ``None`` for an empty or all-zero date; `ValueError` for anything else unreadable.
    """
    d = (date or "").strip()
    if not d or set(d) == {"0"}:
        return None
    if len(d) != 8 or not d.isdigit():
        raise ValueError(f"date {d!r} is not YYYYMMDD")
    t = (time or "").strip() or "0"
    if not t.isdigit() or len(t) > 6:
        raise ValueError(f"time {t!r} is not HHMMSS")
    t = t.zfill(6)
    local = datetime(int(d[:4]), int(d[4:6]), int(d[6:]), int(t[:2]), int(t[2:4]), int(t[4:]), tzinfo=ISTANBUL)
    return local.astimezone(UTC)
