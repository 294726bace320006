"""Google Calendar wire ⇄ unified calendar types, Google's error table, ids and channel headers.

Pure functions, no I/O. Error table (fact sheet §7; reason in ``error.errors[0].reason``):

====================================================  ======================================
answer                                                raised as
====================================================  ======================================
401 (``authError``)                                   `AuthenticationError` (after one refresh)
403 ``rateLimitExceeded`` / ``userRateLimitExceeded``  `RateLimited` (retried with backoff)
/ ``quotaExceeded``; 429 (any reason)
403 other (``forbidden``, ``insufficientPermissions``) `PermissionDenied` (one resource; not retried,
``forbiddenForNonOrganizer``)                          never marks the account invalid_credentials)
404                                                   `NotFound`
409 (id taken, also deleted ids)                      `AlreadyExists`
410 on a list (``fullSyncRequired``, any reason)      `SyncTokenExpired`
410 on get/patch/delete (``deleted``)                 `NotFound` (status 410, Google's message)
412 (``conditionNotMet``)                             `PreconditionFailed`
5xx                                                   `ProviderUnavailable` (retried)
other 4xx                                             `InvalidRequest`
====================================================  ======================================
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from invekto_integrations.core.errors import (
    AlreadyExists,
    AuthenticationError,
    InvalidArgument,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SyncTokenExpired,
)
from invekto_integrations.providers.base import CalendarEvent, ChannelNotification, EventChanges

from .wire import WireErrorBody, WireEvent, WireEventDateTime

__all__ = [
    "PROVIDER",
    "RATE_LIMIT_REASONS",
    "WireFieldError",
    "changes_to_wire",
    "channel_expiration",
    "dt_to_ms",
    "error_from_google",
    "event_from_wire",
    "event_id_for",
    "event_to_wire",
    "is_valid_event_id",
    "parse_notification",
    "rfc3339",
]

PROVIDER = "google_calendar"
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
_BASE32HEX = frozenset("0123456789abcdefghijklmnopqrstuv")
# A fixed namespace: the same (tenant, appointment) always gives the same event id.
_NAMESPACE = uuid.UUID("6f1c8a52-4b1e-5c1a-9d0e-2b6f3e1c7a90")


def rfc3339(dt: datetime, tz: str | None = None) -> str:
    """An aware datetime as RFC 3339 with an explicit offset, in ``tz`` when given (else UTC, ``Z``)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidArgument(f"naive datetime {dt.isoformat()}: give a timezone-aware value", provider=PROVIDER)
    if tz:
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidArgument(f"unknown time zone {tz!r}", provider=PROVIDER, field="time_zone") from exc
        return dt.astimezone(zone).isoformat()
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_dt(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"datetime without an offset: {text!r}")
    return value.astimezone(UTC)


def _zone(name: str | None, fallback: str | None) -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


class WireFieldError(ValueError):
    """A field of a Google payload that does not parse; ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _edge(value: WireEventDateTime | None, calendar_tz: str | None,
          name: str = "start") -> tuple[datetime | None, bool, str | None]:
    if value is None:
        return None, False, None
    if value.dateTime:
        try:
            return _parse_dt(value.dateTime), False, value.timeZone
        except ValueError as exc:
            raise WireFieldError(f"{name}.dateTime", str(exc)) from None
    if value.date:
        try:
            day = date.fromisoformat(value.date)
        except ValueError as exc:
            raise WireFieldError(f"{name}.date", str(exc)) from None
        zone = _zone(value.timeZone, calendar_tz)
        return datetime.combine(day, time(0), zone).astimezone(UTC), True, value.timeZone or calendar_tz
    return None, False, value.timeZone


def _updated(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return _parse_dt(text)
    except ValueError as exc:
        raise WireFieldError("updated", str(exc)) from None


def event_from_wire(raw: Mapping[str, Any], *, calendar_tz: str | None = None) -> CalendarEvent:
    """A Google event resource → `CalendarEvent` (raises pydantic/ValueError on a malformed one)."""
    w = WireEvent.model_validate(raw)
    start, all_day, tz = _edge(w.start, calendar_tz)
    end, _, end_tz = _edge(w.end, calendar_tz, "end")
    if start is not None and end is not None and end < start:
        raise WireFieldError("end", f"event {w.id}: end {end.isoformat()} is before start {start.isoformat()}")
    props = w.extendedProperties
    return CalendarEvent(
        id=w.id, status=w.status or "confirmed", start=start, end=end, all_day=all_day, time_zone=tz or end_tz,
        summary=w.summary, description=w.description, transparency=w.transparency or "opaque", etag=w.etag,
        updated=_updated(w.updated),
        private=dict(props.private or {}) if props else {}, shared=dict(props.shared or {}) if props else {},
        recurring_event_id=w.recurringEventId,
    )


def _when(dt: datetime, tz: str | None) -> dict[str, str]:
    out = {"dateTime": rfc3339(dt, tz)}
    if tz:
        out["timeZone"] = tz
    return out


def event_to_wire(event: CalendarEvent) -> dict[str, Any]:
    """The insert body: explicit offsets **and** an IANA ``timeZone`` (fact sheet §8)."""
    body: dict[str, Any] = {}
    if event.id:
        body["id"] = event.id
    if event.summary is not None:
        body["summary"] = event.summary
    if event.description is not None:
        body["description"] = event.description
    if event.start is None or event.end is None:
        raise InvalidArgument("an event to insert needs start and end", provider=PROVIDER,
                              field="start" if event.start is None else "end", record=event.id)
    if event.all_day:
        zone = _zone(event.time_zone, None)
        body["start"] = {"date": event.start.astimezone(zone).date().isoformat()}
        body["end"] = {"date": event.end.astimezone(zone).date().isoformat()}
    else:
        body["start"] = _when(event.start, event.time_zone)
        body["end"] = _when(event.end, event.time_zone)
    if event.status != "confirmed":
        body["status"] = event.status
    body["transparency"] = event.transparency
    props: dict[str, dict[str, str]] = {}
    if event.private:
        props["private"] = dict(event.private)
    if event.shared:
        props["shared"] = dict(event.shared)
    if props:
        body["extendedProperties"] = props
    return body


def changes_to_wire(changes: EventChanges) -> dict[str, Any]:
    """A PATCH body with only the fields given."""
    body: dict[str, Any] = {}
    if changes.start is not None:
        body["start"] = _when(changes.start, changes.time_zone)
    if changes.end is not None:
        body["end"] = _when(changes.end, changes.time_zone)
    for name in ("summary", "description", "status", "transparency"):
        value = getattr(changes, name)
        if value is not None:
            body[name] = value
    if changes.private is not None:
        body["extendedProperties"] = {"private": dict(changes.private)}
    return body


def is_valid_event_id(event_id: str) -> bool:
    """Google's rule for client-chosen ids: base32hex characters (a-v, 0-9), length 5 to 1024."""
    return 5 <= len(event_id) <= 1024 and set(event_id) <= _BASE32HEX


def event_id_for(tenant_id: str, appointment_id: str, generation: int = 1) -> str:
    """A deterministic, valid event id for one of our appointments (26 characters, plus ``g<n>`` from
    the second generation: deleted ids stay reserved, so a re-booking needs a new one)."""
    raw = uuid.uuid5(_NAMESPACE, f"{tenant_id}:{appointment_id}").bytes
    base = base64.b32hexencode(raw).decode().lower().rstrip("=")
    if generation <= 1:
        return base
    # 'g' is base32hex too; the suffix keeps the id valid.
    return f"{base}g{generation}"


SYNC_TOKEN_REASONS = frozenset({"fullSyncRequired", "updatedMinTooLongAgo"})


def _reason(body: WireErrorBody | None) -> str | None:
    if body is None or not body.error.errors:
        return None
    return body.error.errors[0].reason


def error_from_google(status: int, payload: Any, *, operation: str, request_id: str | None = None,
                      retry_after: float | None = None, record: str | None = None) -> ProviderError:
    """Google's error answer → the typed hierarchy (see the table in the module docstring)."""
    body: WireErrorBody | None = None
    try:
        body = WireErrorBody.model_validate(payload)
    except ValueError:
        body = None
    reason = _reason(body)
    message = (body.error.message if body else None) or f"HTTP {status}"
    if record:
        message = f"{message} (event {record})"
    kw: dict[str, Any] = {"provider": PROVIDER, "operation": operation, "status": status, "code": reason,
                          "request_id": request_id}
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return RateLimited(message, retry_after=retry_after, **kw)
    if status == 401:
        return AuthenticationError(message, **kw)
    if status == 403:
        return PermissionDenied(message, **kw)
    if status == 404:
        return NotFound(message, **kw)
    if status == 409:
        return AlreadyExists(message, **kw)
    if status == 410:
        # Two meanings: a sync token Google no longer accepts (a list; branch on the status there,
        # the reason is not always fullSyncRequired), or an event that is gone (get/patch/delete,
        # reason ``deleted``): the latter keeps Google's message and is no sync-token expiry.
        if operation == "list_events" or reason in SYNC_TOKEN_REASONS:
            return SyncTokenExpired(message, **kw)
        kw["code"] = reason or "deleted"
        return NotFound(message, **kw)
    if status == 412:
        return PreconditionFailed(message, **kw)
    if status >= 500:
        return ProviderUnavailable(message, **kw)
    return InvalidRequest(message, **kw)


def _ms_to_dt(value: str | int | None) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def dt_to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


MAX_MESSAGE_NUMBER = 2**63 - 1  # Google's message numbers are int64


def _message_number(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or not 0 < int(text) <= MAX_MESSAGE_NUMBER:
        raise InvalidArgument(f"X-Goog-Message-Number is not a positive 64-bit integer: {text[:40]!r}",
                              provider=PROVIDER, field="x-goog-message-number")
    return int(text)


def parse_notification(headers: Mapping[str, str]) -> ChannelNotification:
    """Read the ``X-Goog-*`` headers of a push notification (header names case-insensitive).

    Raises `InvalidArgument` (a ``ValueError``) when the channel id or the resource state is missing,
    or the message number is not a positive 64-bit integer (``2**70`` is refused here, never
    handed to a store).
    """
    low = {k.lower(): v for k, v in headers.items()}
    channel_id = low.get("x-goog-channel-id", "").strip()
    state = low.get("x-goog-resource-state", "").strip()
    if not channel_id or not state:
        raise InvalidArgument("not a Google push notification: X-Goog-Channel-ID or X-Goog-Resource-State missing",
                              provider=PROVIDER,
                              field="x-goog-channel-id" if not channel_id else "x-goog-resource-state")
    return ChannelNotification(
        channel_id=channel_id, resource_state=state, resource_id=low.get("x-goog-resource-id"),
        message_number=_message_number(low.get("x-goog-message-number")),
        expiration=_http_date(low.get("x-goog-channel-expiration")), resource_uri=low.get("x-goog-resource-uri"),
        token=low.get("x-goog-channel-token"),
    )


def channel_expiration(value: str | int | None) -> datetime | None:
    return _ms_to_dt(value)

