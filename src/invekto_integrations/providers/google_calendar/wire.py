"""Google Calendar API v3 payloads as sent on the wire (field names exactly as Google spells them).

Unknown fields are kept (``extra="allow"``): Google adds fields over time and we never drop them.
Docs: https://developers.google.com/calendar/api/v3/reference/events
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "WireChannel",
    "WireError",
    "WireErrorBody",
    "WireErrorItem",
    "WireEvent",
    "WireEventDateTime",
    "WireEventList",
    "WireExtendedProperties",
    "WireFreeBusyCalendar",
    "WireFreeBusyResponse",
    "WireTimePeriod",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class WireEventDateTime(_Wire):
    """``{"dateTime": RFC3339 with offset, "timeZone": IANA}`` or ``{"date": "yyyy-mm-dd"}``."""

    dateTime: str | None = None
    date: str | None = None
    timeZone: str | None = None


class WireExtendedProperties(_Wire):
    private: dict[str, str] | None = None
    shared: dict[str, str] | None = None


class WireEvent(_Wire):
    """An event resource. A cancelled (deleted) event may carry only ``id`` and ``status``."""

    kind: str | None = None
    id: str
    status: str | None = None
    etag: str | None = None
    summary: str | None = None
    description: str | None = None
    start: WireEventDateTime | None = None
    end: WireEventDateTime | None = None
    updated: str | None = None
    transparency: str | None = None
    extendedProperties: WireExtendedProperties | None = None
    recurringEventId: str | None = None
    iCalUID: str | None = None
    attendees: list[dict[str, Any]] | None = None


class WireEventList(_Wire):
    """``events.list``: items of one page; ``nextPageToken`` or, on the last page, ``nextSyncToken``.

    ``items`` stay raw dicts so one malformed event is quarantined instead of failing the page.
    """

    kind: str | None = None
    timeZone: str | None = None
    items: list[dict[str, Any]] = Field(default_factory=list)
    nextPageToken: str | None = None
    nextSyncToken: str | None = None


class WireTimePeriod(_Wire):
    start: str
    end: str


class WireErrorItem(_Wire):
    domain: str | None = None
    reason: str | None = None
    message: str | None = None
    location: str | None = None
    locationType: str | None = None


class WireFreeBusyCalendar(_Wire):
    busy: list[WireTimePeriod] = Field(default_factory=list)
    errors: list[WireErrorItem] | None = None


class WireFreeBusyResponse(_Wire):
    kind: str | None = None
    timeMin: str | None = None
    timeMax: str | None = None
    calendars: dict[str, WireFreeBusyCalendar] = Field(default_factory=dict)


class WireChannel(_Wire):
    """``events.watch`` answer; ``expiration`` is milliseconds since the epoch, as a string."""

    kind: str | None = None
    id: str
    resourceId: str
    resourceUri: str | None = None
    token: str | None = None
    expiration: str | int | None = None


class WireError(_Wire):
    code: int | None = None
    message: str | None = None
    errors: list[WireErrorItem] = Field(default_factory=list)
    status: str | None = None


class WireErrorBody(_Wire):
    """``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}``."""

    error: WireError
