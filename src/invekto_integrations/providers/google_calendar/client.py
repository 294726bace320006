"""Google Calendar API v3 endpoints, described once, and the thin sync and async clients that run them.

    GET    /calendar/v3/calendars/{calendarId}/events               list (full, or incremental: syncToken)
    GET    /calendar/v3/calendars/{calendarId}/events/{eventId}     get
    POST   /calendar/v3/calendars/{calendarId}/events               insert (client-chosen id allowed)
    PATCH  /calendar/v3/calendars/{calendarId}/events/{eventId}     patch (If-Match: etag)
    DELETE /calendar/v3/calendars/{calendarId}/events/{eventId}     delete (If-Match: etag)
    POST   /calendar/v3/freeBusy                                    free/busy query
    POST   /calendar/v3/calendars/{calendarId}/events/watch         open a push channel
    POST   /calendar/v3/channels/stop                               close a push channel

Docs: https://developers.google.com/calendar/api/v3/reference/events and the guides ``sync``,
``push``, ``version-resources`` and ``errors``. Requests are retried on 429, rate-limit 403s and
5xx (``core.retry``) when repeating them is safe: reads, inserts with our own id (a repeat gets 409,
never a second event), patches (absolute values, guarded by If-Match) and deletes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import quote

import httpx
import pydantic

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidArgument, InvalidParameter, PayloadError
from invekto_integrations.core.http import AsyncRunner, Call, ProviderConfig, SyncRunner
from invekto_integrations.core.paging import Page, aiter_pages, iter_pages
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.core.retry import RetryPolicy, parse_retry_after
from invekto_integrations.providers.base import (
    BusyInterval,
    CalendarChanges,
    CalendarEvent,
    CalendarLookupError,
    ChannelNotification,
    EventChanges,
    EventOrError,
    WatchChannel,
)

from .auth import GoogleAuth, GoogleCredentials
from .mapping import (
    PROVIDER,
    WireFieldError,
    changes_to_wire,
    channel_expiration,
    dt_to_ms,
    error_from_google,
    event_from_wire,
    event_id_for,
    event_to_wire,
    is_valid_event_id,
    parse_notification,
    rfc3339,
)
from .wire import WireChannel, WireEventList, WireFreeBusyResponse

__all__ = [
    "API_PREFIX",
    "GOOGLE_API_BASE_URL",
    "AsyncGoogleCalendarClient",
    "GoogleCalendarClient",
    "GoogleCalendarEndpoints",
    "default_retry",
]

log = logging.getLogger("invekto_integrations.google_calendar")

GOOGLE_API_BASE_URL = "https://www.googleapis.com"
API_PREFIX = "/calendar/v3"
# 600 requests per minute per user per project (fact sheet §7); a burst of 10.
DEFAULT_RATE_LIMIT = RateLimit.per_minute(600, burst=10)
MAX_RESULTS_LIMIT = 2500
SEND_UPDATES = frozenset({"all", "externalOnly", "none"})
_ALL_ERRORS = frozenset(range(400, 600))


def default_retry(clock: Clock) -> RetryPolicy:
    """Google's advice: exponential backoff with jitter, 1 s, 2 s, 4 s ... at most ~6 tries (§7)."""
    return RetryPolicy(max_attempts=6, base_seconds=1.0, max_backoff_seconds=32.0, max_total_seconds=120.0,
                       clock=clock)


def _raise_for_google(response: httpx.Response, operation: str, record: str | None = None) -> None:
    if response.is_success:
        return
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    raise error_from_google(
        response.status_code, payload, operation=operation, record=record,
        request_id=response.headers.get("x-request-id") or response.headers.get("x-goog-request-id"),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"datetime without an offset: {text!r}")
    return value.astimezone(UTC)


def _cal(calendar_id: str) -> str:
    if not calendar_id:
        raise InvalidParameter("calendar id is empty", provider=PROVIDER, code="calendarId")
    return quote(calendar_id, safe="@")


def _evt(event_id: str) -> str:
    if not event_id:
        raise InvalidParameter("event id is empty", provider=PROVIDER, code="eventId")
    return quote(event_id, safe="")


def _send_updates(value: str) -> str:
    if value not in SEND_UPDATES:
        raise InvalidParameter(f"sendUpdates must be one of {sorted(SEND_UPDATES)}", provider=PROVIDER,
                               code="sendUpdates")
    return value


def _payload_error(exc: Exception, record: str | None, operation: str) -> PayloadError:
    field_name = None
    message = str(exc)
    if isinstance(exc, WireFieldError):
        field_name, message = exc.field, str(exc)
    elif isinstance(exc, pydantic.ValidationError) and exc.errors():
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"])
        message = first["msg"]
    return PayloadError(message, provider=PROVIDER, field=field_name, record=record, operation=operation)


def _event(response: httpx.Response, operation: str, record: str | None) -> CalendarEvent:
    _raise_for_google(response, operation, record)
    return event_from_wire(response.json())


class GoogleCalendarEndpoints(ConciseRepr):
    """Request builders and parsers; no I/O (the clients run them)."""

    def list_events(self, calendar_id: str, *, sync_token: str | None = None, page_token: str | None = None,
                    max_results: int = 250, time_min: datetime | None = None, time_max: datetime | None = None,
                    single_events: bool = True, show_deleted: bool = True,
                    updated_min: datetime | None = None) -> Call[Page[EventOrError]]:
        """One page of ``events.list``. With ``sync_token`` the filters Google forbids with it
        (``timeMin``, ``timeMax``, ``updatedMin``, ...) are refused here, before any call.
        ``updated_min``: only events changed at or after it (deletions since then included)."""
        if not 1 <= max_results <= MAX_RESULTS_LIMIT:
            raise InvalidParameter(f"maxResults must be 1..{MAX_RESULTS_LIMIT}", provider=PROVIDER, code="maxResults")
        if sync_token is not None and (time_min is not None or time_max is not None or updated_min is not None):
            raise InvalidParameter("timeMin/timeMax/updatedMin cannot be combined with syncToken", provider=PROVIDER,
                                   operation="list_events", code="syncToken")
        params: dict[str, Any] = {
            "singleEvents": "true" if single_events else "false",
            "showDeleted": "true" if show_deleted else "false",
            "maxResults": max_results, "syncToken": sync_token, "pageToken": page_token,
            "timeMin": rfc3339(time_min) if time_min else None, "timeMax": rfc3339(time_max) if time_max else None,
            "updatedMin": rfc3339(updated_min) if updated_min else None,
        }
        operation = "list_events"

        def parse(response: httpx.Response) -> Page[EventOrError]:
            _raise_for_google(response, operation)  # 410 → SyncTokenExpired (on the status, not the reason)
            body = WireEventList.model_validate(response.json())
            items: list[EventOrError] = []
            for raw in body.items:
                record = str(raw.get("id")) if isinstance(raw, Mapping) and raw.get("id") is not None else None
                try:
                    items.append(EventOrError(event_from_wire(raw, calendar_tz=body.timeZone), raw=raw))
                except (pydantic.ValidationError, ValueError, TypeError) as exc:
                    items.append(EventOrError(error=_payload_error(exc, record, operation), raw=dict(raw)))
            nxt = None
            if body.nextPageToken:
                nxt = self.list_events(calendar_id, sync_token=sync_token, page_token=body.nextPageToken,
                                       max_results=max_results, time_min=time_min, time_max=time_max,
                                       single_events=single_events, show_deleted=show_deleted,
                                       updated_min=updated_min)
            return Page(items=items, next_call=nxt,
                        info={"next_sync_token": body.nextSyncToken, "time_zone": body.timeZone})

        return Call(operation, "GET", f"{API_PREFIX}/calendars/{_cal(calendar_id)}/events", parse, params=params,
                    ok_statuses=_ALL_ERRORS)

    def get_event(self, calendar_id: str, event_id: str) -> Call[CalendarEvent]:
        def parse(response: httpx.Response) -> CalendarEvent:
            # a 410 (deleted) becomes `NotFound` with Google's own message, through the error table
            return _event(response, "get_event", event_id)

        return Call("get_event", "GET", f"{API_PREFIX}/calendars/{_cal(calendar_id)}/events/{_evt(event_id)}",
                    parse, ok_statuses=_ALL_ERRORS, record=event_id)

    def insert_event(self, calendar_id: str, event: CalendarEvent, *,
                     send_updates: str = "none") -> Call[CalendarEvent]:
        """``events.insert``; with our own ``event.id`` (base32hex, 5-1024 chars) a repeat cannot
        create a second event (409 → `AlreadyExists`), so the call is retried like a read."""
        if event.id and not is_valid_event_id(event.id):
            raise InvalidParameter(f"event id {event.id!r} is not base32hex (a-v, 0-9) of length 5-1024",
                                   provider=PROVIDER, operation="insert_event", code="id")
        try:
            body = event_to_wire(event)
        except ValueError as exc:
            raise InvalidParameter(str(exc), provider=PROVIDER, operation="insert_event", code="start") from None
        return Call("insert_event", "POST", f"{API_PREFIX}/calendars/{_cal(calendar_id)}/events",
                    lambda r: _event(r, "insert_event", event.id or None), json=body,
                    params={"sendUpdates": _send_updates(send_updates)}, idempotent=bool(event.id),
                    ok_statuses=_ALL_ERRORS, record=event.id or None)

    def patch_event(self, calendar_id: str, event_id: str, changes: EventChanges, *, etag: str | None = None,
                    send_updates: str = "none") -> Call[CalendarEvent]:
        """``events.patch``; with ``etag`` it carries ``If-Match`` and a concurrent edit gives 412
        (`PreconditionFailed`) instead of being overwritten."""
        body = changes_to_wire(changes)
        if not body:
            raise InvalidParameter("nothing to change", provider=PROVIDER, operation="patch_event")
        return Call("patch_event", "PATCH",
                    f"{API_PREFIX}/calendars/{_cal(calendar_id)}/events/{_evt(event_id)}",
                    lambda r: _event(r, "patch_event", event_id), json=body,
                    params={"sendUpdates": _send_updates(send_updates)},
                    headers={"If-Match": etag} if etag else None, idempotent=True, ok_statuses=_ALL_ERRORS,
                    record=event_id)

    def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                     send_updates: str = "none") -> Call[None]:
        """``events.delete``; an event already gone (404/410) counts as deleted."""

        def parse(response: httpx.Response) -> None:
            if response.status_code in (404, 410):
                return None
            _raise_for_google(response, "delete_event", event_id)
            return None

        return Call("delete_event", "DELETE", f"{API_PREFIX}/calendars/{_cal(calendar_id)}/events/{_evt(event_id)}",
                    parse, params={"sendUpdates": _send_updates(send_updates)},
                    headers={"If-Match": etag} if etag else None, ok_statuses=_ALL_ERRORS, record=event_id)

    def free_busy(self, calendar_ids: Sequence[str], start: datetime, end: datetime, *,
                  time_zone: str = "UTC") -> Call[dict[str, list[BusyInterval] | CalendarLookupError]]:
        """``freeBusy.query``: busy intervals per calendar, or that calendar's errors (Google reports
        them inside the 200 answer: an empty ``busy`` with ``errors`` is *not* free)."""
        if not calendar_ids:
            raise InvalidParameter("no calendar ids", provider=PROVIDER, operation="free_busy", code="items")
        for name, value in (("start", start), ("end", end)):
            if value.tzinfo is None or value.utcoffset() is None:
                raise InvalidArgument(f"naive datetime {value.isoformat()}: give a timezone-aware value",
                                      provider=PROVIDER, field=name)
        if end <= start:
            raise InvalidParameter("timeMax must be after timeMin", provider=PROVIDER, operation="free_busy",
                                   code="timeRangeEmpty")
        body = {"timeMin": rfc3339(start), "timeMax": rfc3339(end), "timeZone": time_zone,
                "items": [{"id": c} for c in calendar_ids]}

        def parse(response: httpx.Response) -> dict[str, list[BusyInterval] | CalendarLookupError]:
            _raise_for_google(response, "free_busy")
            answer = WireFreeBusyResponse.model_validate(response.json())
            out: dict[str, list[BusyInterval] | CalendarLookupError] = {}
            for cid in calendar_ids:
                found = answer.calendars.get(cid)
                if found is None:
                    out[cid] = CalendarLookupError(cid, ("missing",))
                elif found.errors:
                    out[cid] = CalendarLookupError(cid, tuple(e.reason or "unknown" for e in found.errors))
                else:
                    out[cid] = [BusyInterval(_utc(b.start), _utc(b.end)) for b in found.busy]
            return out

        return Call("free_busy", "POST", f"{API_PREFIX}/freeBusy", parse, json=body, idempotent=True,
                    ok_statuses=_ALL_ERRORS)

    def watch(self, calendar_id: str, address: str, *, channel_id: str, token: str | None = None,
              expiration: datetime | None = None) -> Call[WatchChannel]:
        """``events.watch``: a ``web_hook`` channel to ``address``. Google may shorten the expiration;
        the returned `WatchChannel` has the real one and the ``resourceId`` needed to stop it."""
        if not channel_id or len(channel_id) > 64:
            raise InvalidParameter("channel id must be 1-64 characters", provider=PROVIDER, operation="watch",
                                   code="id")
        body: dict[str, Any] = {"id": channel_id, "type": "web_hook", "address": address}
        if token is not None:
            body["token"] = token
        if expiration is not None:
            body["expiration"] = dt_to_ms(expiration)

        def parse(response: httpx.Response) -> WatchChannel:
            _raise_for_google(response, "watch")
            w = WireChannel.model_validate(response.json())
            return WatchChannel(id=w.id, resource_id=w.resourceId, calendar_id=calendar_id,
                                expiration=channel_expiration(w.expiration), resource_uri=w.resourceUri,
                                token=token)

        return Call("watch", "POST", f"{API_PREFIX}/calendars/{_cal(calendar_id)}/events/watch", parse, json=body,
                    idempotent=False, ok_statuses=_ALL_ERRORS)

    def stop_channel(self, channel_id: str, resource_id: str) -> Call[None]:
        """``channels.stop``; a channel Google no longer knows (404) counts as stopped."""

        def parse(response: httpx.Response) -> None:
            if response.status_code == 404:
                return None
            _raise_for_google(response, "stop_channel")
            return None

        return Call("stop_channel", "POST", f"{API_PREFIX}/channels/stop", parse,
                    json={"id": channel_id, "resourceId": resource_id}, idempotent=True, ok_statuses=_ALL_ERRORS)


def _changes(pages: list[Page[EventOrError]], full: bool) -> CalendarChanges:
    items = [i for p in pages for i in p.items]
    token = pages[-1].info.get("next_sync_token") if pages else None
    if not token:
        raise PayloadError("the last page carries no nextSyncToken", provider=PROVIDER, field="nextSyncToken",
                           operation="list_events")
    return CalendarChanges(items=items, next_sync_token=str(token), full_sync=full)


def _config(credentials: GoogleCredentials, auth: GoogleAuth, base_url: str | None, clock: Clock,
            retry: RetryPolicy | None, limiter_registry: RateLimiterRegistry, timeout: float | None,
            rate_limit: RateLimit | None) -> ProviderConfig:
    config = ProviderConfig(
        provider=PROVIDER, base_url=base_url or GOOGLE_API_BASE_URL, account_key=credentials.principal, auth=auth,
        rate_limit=rate_limit or DEFAULT_RATE_LIMIT, retry=retry or default_retry(clock),
        limiter_registry=limiter_registry, clock=clock,
    )
    return config.with_options(timeout=httpx.Timeout(timeout)) if timeout else config


class GoogleCalendarClient:
    """Sync Google Calendar connector (implements `providers.base.Calendar`)."""

    provider = PROVIDER

    def __init__(self, credentials: GoogleCredentials, *, base_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY,
                 timeout: float | None = None, rate_limit: RateLimit | None = None) -> None:
        self.clock = clock or SystemClock()
        self.endpoints = GoogleCalendarEndpoints()
        self.auth = GoogleAuth(credentials, transport=transport, timeout=timeout or 30.0)
        self._runner = SyncRunner(_config(credentials, self.auth, base_url, self.clock, retry, limiter_registry,
                                          timeout, rate_limit), transport=transport)

    def __repr__(self) -> str:
        return f"GoogleCalendarClient(principal={self.auth.credentials.principal!r})"

    # -- provider conventions the calendar sync needs (no I/O) ------------------------------------
    def event_id_for(self, tenant_id: str, appointment_id: str, generation: int = 1) -> str:
        """The deterministic Google event id of one of our appointments (base32hex)."""
        return event_id_for(tenant_id, appointment_id, generation)

    def parse_notification(self, headers: Mapping[str, str]) -> ChannelNotification:
        """Read a push notification's ``X-Goog-*`` headers (`InvalidArgument` when it is none)."""
        return parse_notification(headers)

    def list_events(self, calendar_id: str, *, sync_token: str | None = None, page_token: str | None = None,
                    max_results: int = 250, time_min: datetime | None = None,
                    time_max: datetime | None = None) -> Page[EventOrError]:
        """One page of events (``Page.info["next_sync_token"]`` on the last page)."""
        return self._runner.run(self.endpoints.list_events(calendar_id, sync_token=sync_token, page_token=page_token,
                                                           max_results=max_results, time_min=time_min,
                                                           time_max=time_max))

    def list_changes(self, calendar_id: str, sync_token: str | None = None, *, time_min: datetime | None = None,
                     max_results: int = 250, updated_min: datetime | None = None) -> CalendarChanges:
        """A full sync (``sync_token=None``) or the changes since ``sync_token``, paged to the end.
        Raises `SyncTokenExpired` (410) when the token must be dropped for a full sync. Without a
        token, ``updated_min`` lists only what changed since then (deletions included; not a full sync)."""
        first = self.endpoints.list_events(calendar_id, sync_token=sync_token, max_results=max_results,
                                           time_min=time_min if sync_token is None else None,
                                           updated_min=updated_min)
        return _changes(list(iter_pages(self._runner.run, first)), sync_token is None and updated_min is None)

    def get_event(self, calendar_id: str, event_id: str) -> CalendarEvent:
        """One event (a deleted one comes back ``cancelled``, or raises `NotFound`)."""
        return self._runner.run(self.endpoints.get_event(calendar_id, event_id))

    def insert_event(self, calendar_id: str, event: CalendarEvent, *, send_updates: str = "none") -> CalendarEvent:
        """Create an event; raises `AlreadyExists` when its id is taken (also by a deleted event)."""
        return self._runner.run(self.endpoints.insert_event(calendar_id, event, send_updates=send_updates))

    def patch_event(self, calendar_id: str, event_id: str, changes: EventChanges, *, etag: str | None = None,
                    send_updates: str = "none") -> CalendarEvent:
        """Partial update; raises `PreconditionFailed` when ``etag`` no longer matches."""
        return self._runner.run(self.endpoints.patch_event(calendar_id, event_id, changes, etag=etag,
                                                           send_updates=send_updates))

    def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                     send_updates: str = "none") -> None:
        self._runner.run(self.endpoints.delete_event(calendar_id, event_id, etag=etag, send_updates=send_updates))

    def free_busy(self, calendar_ids: Sequence[str], start: datetime, end: datetime, *,
                  time_zone: str = "UTC") -> dict[str, list[BusyInterval] | CalendarLookupError]:
        return self._runner.run(self.endpoints.free_busy(calendar_ids, start, end, time_zone=time_zone))

    def watch(self, calendar_id: str, address: str, *, channel_id: str, token: str | None = None,
              expiration: datetime | None = None) -> WatchChannel:
        return self._runner.run(self.endpoints.watch(calendar_id, address, channel_id=channel_id, token=token,
                                                     expiration=expiration))

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        self._runner.run(self.endpoints.stop_channel(channel_id, resource_id))

    def close(self) -> None:
        self._runner.close()
        self.auth.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncGoogleCalendarClient:
    """Async twin of `GoogleCalendarClient` (same methods, awaited; token refresh off the event loop)."""

    provider = PROVIDER

    def __init__(self, credentials: GoogleCredentials, *, base_url: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY,
                 timeout: float | None = None, rate_limit: RateLimit | None = None) -> None:
        self.clock = clock or SystemClock()
        self.endpoints = GoogleCalendarEndpoints()
        self.auth = GoogleAuth(credentials, async_transport=transport, timeout=timeout or 30.0)
        self._runner = AsyncRunner(_config(credentials, self.auth, base_url, self.clock, retry, limiter_registry,
                                           timeout, rate_limit), transport=transport)

    def __repr__(self) -> str:
        return f"AsyncGoogleCalendarClient(principal={self.auth.credentials.principal!r})"

    # -- provider conventions the calendar sync needs (no I/O) ------------------------------------
    def event_id_for(self, tenant_id: str, appointment_id: str, generation: int = 1) -> str:
        """The deterministic Google event id of one of our appointments (base32hex)."""
        return event_id_for(tenant_id, appointment_id, generation)

    def parse_notification(self, headers: Mapping[str, str]) -> ChannelNotification:
        """Read a push notification's ``X-Goog-*`` headers (`InvalidArgument` when it is none)."""
        return parse_notification(headers)

    async def list_events(self, calendar_id: str, *, sync_token: str | None = None, page_token: str | None = None,
                          max_results: int = 250, time_min: datetime | None = None,
                          time_max: datetime | None = None) -> Page[EventOrError]:
        return await self._runner.run(self.endpoints.list_events(
            calendar_id, sync_token=sync_token, page_token=page_token, max_results=max_results, time_min=time_min,
            time_max=time_max))

    async def list_changes(self, calendar_id: str, sync_token: str | None = None, *,
                           time_min: datetime | None = None, max_results: int = 250,
                           updated_min: datetime | None = None) -> CalendarChanges:
        first = self.endpoints.list_events(calendar_id, sync_token=sync_token, max_results=max_results,
                                           time_min=time_min if sync_token is None else None,
                                           updated_min=updated_min)
        pages = [p async for p in aiter_pages(self._runner.run, first)]
        return _changes(pages, sync_token is None and updated_min is None)

    async def get_event(self, calendar_id: str, event_id: str) -> CalendarEvent:
        return await self._runner.run(self.endpoints.get_event(calendar_id, event_id))

    async def insert_event(self, calendar_id: str, event: CalendarEvent, *,
                           send_updates: str = "none") -> CalendarEvent:
        return await self._runner.run(self.endpoints.insert_event(calendar_id, event, send_updates=send_updates))

    async def patch_event(self, calendar_id: str, event_id: str, changes: EventChanges, *,
                          etag: str | None = None, send_updates: str = "none") -> CalendarEvent:
        return await self._runner.run(self.endpoints.patch_event(calendar_id, event_id, changes, etag=etag,
                                                                 send_updates=send_updates))

    async def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                           send_updates: str = "none") -> None:
        await self._runner.run(self.endpoints.delete_event(calendar_id, event_id, etag=etag,
                                                           send_updates=send_updates))

    async def free_busy(self, calendar_ids: Sequence[str], start: datetime, end: datetime, *,
                        time_zone: str = "UTC") -> dict[str, list[BusyInterval] | CalendarLookupError]:
        return await self._runner.run(self.endpoints.free_busy(calendar_ids, start, end, time_zone=time_zone))

    async def watch(self, calendar_id: str, address: str, *, channel_id: str, token: str | None = None,
                    expiration: datetime | None = None) -> WatchChannel:
        return await self._runner.run(self.endpoints.watch(calendar_id, address, channel_id=channel_id, token=token,
                                                           expiration=expiration))

    async def stop_channel(self, channel_id: str, resource_id: str) -> None:
        await self._runner.run(self.endpoints.stop_channel(channel_id, resource_id))

    async def aclose(self) -> None:
        await self._runner.aclose()
        await self.auth.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

