"""A fake Google Calendar API v3 (and its OAuth token endpoint), from the documented wire format.

- ``POST /token``: a ``refresh_token`` grant (user OAuth) or a JWT-bearer grant (service account;
  the RS256 signature is verified against the registered public key, ``aud`` must be this URL,
  ``sub`` is the delegated Workspace user; ``aud`` may also be Google's own token endpoint, which
  is what google-auth always puts there). Access tokens expire on the fake clock; every API call
  checks its bearer token (401 ``authError`` otherwise).
- Events per account and calendar, each with an ``etag`` that changes on every write and an
  ``updated`` time. ``events.list`` pages by ``maxResults``/``pageToken``; a full sync ends with
  ``nextSyncToken`` on the last page; ``syncToken`` returns what changed since, deletions as
  ``{"id", "status": "cancelled"}``; a token made stale with `expire_sync_tokens` answers 410
  ``fullSyncRequired``; filters Google forbids with ``syncToken`` answer 400.
- ``If-Match`` on patch/update/delete → 412 ``conditionNotMet`` on a mismatch; insert with an
  existing or deleted id → 409 ``duplicate``; an invalid client id → 400; delete of a deleted
  event, or a patch/update of it that does not restore it (``status``), → 410 ``deleted``;
  `forbid_event` makes writes to one event answer 403 ``forbiddenForNonOrganizer``.
- ``freeBusy``: opaque, non-cancelled events clipped to ``[timeMin, timeMax)``, merged, rendered
  in the requested zone; unknown calendars get ``errors: [{"reason": "notFound"}]`` inside the 200.
- ``events.watch`` opens a ``web_hook`` channel (expiration capped at 7 days) and sends its
  ``sync`` message, then an ``exists`` message per change of that calendar, through the
  background `WebhookDispatcher`, with the ``X-Goog-*`` headers. ``channels.stop`` ends it.
- Throttling answers 403 ``rateLimitExceeded`` (or 429, ``rate_limit_status``) in Google's
  error body; 5xx answers ``backendError``.
- Test controls act "as the doctor would in Google": `human_insert`, `human_move`,
  `human_edit`, `human_delete`; and `expire_sync_tokens`, `expire_access_tokens`,
  `revoke_refresh_token`, `register_service_account`, `add_calendar`.

- Recurring events: one ``RRULE`` with FREQ=DAILY/WEEKLY, INTERVAL, COUNT/UNTIL, BYDAY, expanded
  in the series' zone; ``singleEvents=true`` lists instances (``recurringEventId``,
  ``originalStartTime``); a written instance becomes an exception; instances a series loses are
  listed cancelled; other rules answer 400. ``updatedMin`` filters a token-less listing.
- `faults_on_token_endpoint=False` keeps the fault switches off ``POST /token``.

Not modelled: attendees' copies, ``If-None-Match``/304, ``events.instances``, EXDATE/RDATE.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.testing.sandbox import FakeProvider

__all__ = ["FakeChannel", "FakeEvent", "GoogleCalendarFake"]

_PREFIX = "/calendar/v3"
_BASE32HEX = frozenset("0123456789abcdefghijklmnopqrstuv")
_FORBIDDEN_WITH_SYNC = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin",
                        "timeMax", "updatedMin")
_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_MAX_CHANNEL_TTL = timedelta(days=7)
_OUTSIDE_HANDLER = "__oauth__"
_GOOGLE_TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL


def _is_token_request(request: Request) -> bool:
    return request.url.path.endswith("/token") and request.method == "POST"


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode_token(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_b64url_decode(text))
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _rfc3339(dt: datetime, tz: str | None = None) -> str:
    if tz:
        return dt.astimezone(ZoneInfo(tz)).isoformat()
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_rfc3339(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("no offset")
    return value.astimezone(UTC)


@dataclass
class FakeEvent:
    """One stored event: its resource body (without id/etag/updated/status) and bookkeeping."""

    id: str
    body: dict[str, Any]
    status: str
    etag: str
    created: datetime
    updated: datetime
    seq: int
    writes: int = 1
    # A series (``recurrence``): every instance it ever had, so one that no longer exists after an
    # edit or a delete is listed as cancelled.
    seen: dict[str, _Instance] = field(default_factory=dict)

    @property
    def is_series(self) -> bool:
        return "recurrence" in self.body

    def interval(self, calendar_tz: str) -> tuple[datetime, datetime] | None:
        try:
            return _edge(self.body.get("start"), calendar_tz), _edge(self.body.get("end"), calendar_tz)
        except (ValueError, TypeError, KeyError):
            return None


def _edge(value: Any, calendar_tz: str) -> datetime:
    if not isinstance(value, dict):
        raise ValueError("missing")
    if value.get("dateTime"):
        return _parse_rfc3339(str(value["dateTime"]))
    if value.get("date"):
        zone = ZoneInfo(str(value.get("timeZone") or calendar_tz))
        return datetime.combine(date.fromisoformat(str(value["date"])), time(0), zone).astimezone(UTC)
    raise ValueError("neither dateTime nor date")


@dataclass(frozen=True)
class _Item:
    """One entry of a listing: an event, or one instance of a series (``key`` orders and pages)."""

    key: tuple[int, int]
    status: str
    updated: datetime
    span: tuple[datetime, datetime] | None
    render: Callable[[bool], dict[str, Any]]


@dataclass
class FakeCalendar:
    id: str
    time_zone: str = "Europe/Istanbul"
    events: dict[str, FakeEvent] = field(default_factory=dict)
    seq: int = 0
    generation: int = 0
    # event id -> 403 reason for writes to it (an event this account may read but not change)
    forbidden: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeChannel:
    id: str
    account: str
    calendar_id: str
    resource_id: str
    address: str
    token: str | None
    expiration: datetime
    message_number: int = 0
    stopped: bool = False


@dataclass
class _AccessToken:
    account: str
    principal: str
    expires_at: datetime


@dataclass
class _ServiceAccount:
    public_key: rsa.RSAPublicKey
    account: str
    delegation: bool = True


class _AccountState:
    def __init__(self, calendars: Iterable[tuple[str, str]]) -> None:
        self.calendars: dict[str, FakeCalendar] = {cid: FakeCalendar(cid, tz) for cid, tz in calendars}


def _google_error(status: int, reason: str, message: str, *, domain: str = "global",
                  location: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    item: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    if location:
        item.update({"locationType": "header" if location[0].isupper() else "parameter", "location": location})
    return JSONResponse({"error": {"errors": [item], "code": status, "message": message}}, status_code=status,
                        headers=headers)


class GoogleCalendarFake(FakeProvider):
    name: ClassVar[str] = "google_calendar"
    # 600 requests per minute per user (fact sheet §7), burst 10 as the connector assumes.
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit.per_minute(600, burst=10)

    def __init__(
        self,
        *,
        oauth_clients: dict[str, str] | None = None,
        refresh_tokens: dict[str, tuple[str, str, str]] | None = None,
        calendars: dict[str, list[tuple[str, str]]] | None = None,
        token_lifetime: timedelta = timedelta(hours=1),
        allow_http_addresses: bool = False,
        faults_on_token_endpoint: bool = True,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        # client_id -> client_secret
        self.oauth_clients = oauth_clients or {"sandbox-client.apps.googleusercontent.com": "sandbox-client-secret"}
        # refresh token -> (client_id, account, principal e-mail)
        self.refresh_tokens = refresh_tokens or {
            "rt-klinik-a": ("sandbox-client.apps.googleusercontent.com", "klinik-a", "resepsiyon@klinik-a.example"),
            "rt-klinik-b": ("sandbox-client.apps.googleusercontent.com", "klinik-b", "resepsiyon@klinik-b.example"),
        }
        self.seed_calendars = calendars or {
            "klinik-a": [("resepsiyon@klinik-a.example", "Europe/Istanbul"),
                         ("dr.ayse@klinik-a.example", "Europe/Istanbul"),
                         ("dr.mehmet@klinik-a.example", "Europe/Istanbul")],
            "klinik-b": [("resepsiyon@klinik-b.example", "Europe/Istanbul"),
                         ("dr.zeynep@klinik-b.example", "Europe/Istanbul")],
        }
        self.token_lifetime = token_lifetime
        self.allow_http_addresses = allow_http_addresses
        self.rate_limit_status = 403
        # Fault injection reaches the OAuth token endpoint too unless switched off (the conformance
        # contract does: its probes are the API calls, the token exchange is set-up).
        self.faults_on_token_endpoint = faults_on_token_endpoint
        self.service_accounts: dict[str, _ServiceAccount] = {}
        self.revoked: set[str] = set()
        self.states = self.per_account(lambda account: _AccountState(self.seed_calendars.get(account, [])))
        self._init_runtime()

    def _init_runtime(self) -> None:
        self.access_tokens: dict[str, _AccessToken] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.token_grants: list[str] = []  # grant types served, for assertions
        self._counter = itertools.count(1)
        self._etags = itertools.count(3181161784712000)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.revoked.clear()
            self._init_runtime()

    # -- test controls ----------------------------------------------------------------------------
    def register_service_account(self, client_email: str, public_key_pem: bytes | str, account: str, *,
                                 delegation: bool = True) -> None:
        """Accept JWT grants signed by this key; ``delegation=False`` refuses any ``sub`` (no DWD)."""
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("an RSA public key is required")
        with self._lock:
            self.service_accounts[client_email] = _ServiceAccount(key, account, delegation)

    def add_calendar(self, account: str, calendar_id: str, time_zone: str = "Europe/Istanbul") -> None:
        with self._lock:
            self.states.get(account).calendars.setdefault(calendar_id, FakeCalendar(calendar_id, time_zone))

    def revoke_refresh_token(self, refresh_token: str) -> None:
        with self._lock:
            self.revoked.add(refresh_token)

    def expire_access_tokens(self) -> None:
        """Every issued access token stops working (the next call gets 401)."""
        with self._lock:
            for tok in self.access_tokens.values():
                tok.expires_at = self.clock.now() - timedelta(seconds=1)

    def expire_sync_tokens(self, account: str, calendar_id: str | None = None) -> None:
        """Sync tokens issued so far for that calendar (or all) answer 410 from now on."""
        with self._lock:
            for cal in self.states.get(account).calendars.values():
                if calendar_id in (None, cal.id):
                    cal.generation += 1

    def events(self, account: str, calendar_id: str, *, include_cancelled: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            cal = self.states.get(account).calendars[calendar_id]
            return [self._render(cal, e) for e in sorted(cal.events.values(), key=lambda e: e.seq)
                    if include_cancelled or e.status != "cancelled"]

    def event(self, account: str, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        with self._lock:
            cal = self.states.get(account).calendars[calendar_id]
            found = cal.events.get(event_id)
            return self._render(cal, found) if found else None

    def human_insert(self, account: str, calendar_id: str, start: datetime, end: datetime, *,
                     summary: str = "Özel", transparency: str = "opaque", all_day: bool = False,
                     recurrence: list[str] | None = None) -> dict[str, Any]:
        """An event the doctor creates by hand in Google Calendar (no private properties of ours);
        with ``recurrence`` (e.g. ``["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=8"]``) a series starting at
        ``start``, expanded in the calendar's zone."""
        with self._lock:
            cal = self.states.get(account).calendars[calendar_id]
            if all_day:
                zone = ZoneInfo(cal.time_zone)
                when = {"start": {"date": start.astimezone(zone).date().isoformat()},
                        "end": {"date": end.astimezone(zone).date().isoformat()}}
            else:
                when = {"start": {"dateTime": _rfc3339(start, cal.time_zone), "timeZone": cal.time_zone},
                        "end": {"dateTime": _rfc3339(end, cal.time_zone), "timeZone": cal.time_zone}}
            body = {"summary": summary, "transparency": transparency, **when}
            if recurrence is not None:
                body["recurrence"] = list(recurrence)
                _expand("check", body, cal.time_zone, self.clock.now())  # ValueError: not modelled
            event = self._store_new(cal, self._new_id(), body, "confirmed")
            self._notify(account, cal.id)
            return self._render(cal, event)

    def human_move(self, account: str, calendar_id: str, event_id: str, start: datetime,
                   end: datetime) -> dict[str, Any]:
        """The doctor drags the event to another time."""
        with self._lock:
            cal = self.states.get(account).calendars[calendar_id]
            tz = cal.time_zone
            return self.human_edit(account, calendar_id, event_id,
                                   start={"dateTime": _rfc3339(start, tz), "timeZone": tz},
                                   end={"dateTime": _rfc3339(end, tz), "timeZone": tz})

    def human_edit(self, account: str, calendar_id: str, event_id: str, **fields: Any) -> dict[str, Any]:
        """Any change made in Google's UI (fields as on the wire), without our stamps."""
        with self._lock:
            cal = self.states.get(account).calendars[calendar_id]
            event = self._event_or_instance(cal, event_id)
            status = fields.pop("status", None)
            event.body.update(copy.deepcopy(fields))
            if status:
                event.status = str(status)
            self._touch(cal, event)
            self._notify(account, cal.id)
            return self._render(cal, event)

    def human_delete(self, account: str, calendar_id: str, event_id: str) -> None:
        """The doctor deletes the event (it comes back as ``cancelled`` in the sync feed). An instance
        id deletes that one instance (an exception of the series); a series id deletes all of it."""
        with self._lock:
            cal = self.states.get(account).calendars[calendar_id]
            event = self._event_or_instance(cal, event_id)
            event.status = "cancelled"
            self._touch(cal, event)
            self._cancel_exceptions(cal, event)
            self._notify(account, cal.id)

    def forbid_event(self, account: str, calendar_id: str, event_id: str,
                     reason: str = "forbiddenForNonOrganizer") -> None:
        """Writes to this one event answer 403 ``reason`` (e.g. the account is not its organizer);
        the account's other events and its credentials are unaffected."""
        with self._lock:
            self.states.get(account).calendars[calendar_id].forbidden[event_id] = reason

    def instances(self, account: str, calendar_id: str, series_id: str) -> list[dict[str, Any]]:
        """The instances of a series as ``singleEvents=true`` lists them (exceptions included)."""
        with self._lock:
            cal = self.states.get(account).calendars[calendar_id]
            series = cal.events[series_id]
            out = []
            for inst in self._instances(cal, series):
                exception = cal.events.get(inst.id)
                out.append(self._render(cal, exception) if exception is not None
                           else self._render_instance(cal, series, inst, series.status, False))
            return out

    # -- recurring events -----------------------------------------------------------------------------
    def _instances(self, cal: FakeCalendar, series: FakeEvent) -> list[_Instance]:
        """The series' current instances (none once it is cancelled); every one is remembered."""
        if series.status == "cancelled":
            return []
        try:
            found = _expand(series.id, series.body, cal.time_zone, self.clock.now() + _HORIZON)
        except (ValueError, KeyError, TypeError):
            return []
        for inst in found:
            series.seen.setdefault(inst.id, inst)
        return found

    def _items(self, cal: FakeCalendar, event: FakeEvent, single: bool) -> list[_Item]:
        """What an event contributes to a listing: itself, or with ``singleEvents=true`` a series'
        instances (those no longer in it as cancelled; exceptions are listed as events of their own)."""
        if not (single and event.is_series):
            return [_Item((event.seq, 0), event.status, event.updated, event.interval(cal.time_zone),
                          lambda minimal: self._render(cal, event, minimal=minimal))]
        live = {i.id: i for i in self._instances(cal, event)}
        out: list[_Item] = []
        for sub, old in enumerate(sorted(event.seen.values(), key=lambda i: (i.original, i.id)), start=1):
            if old.id in cal.events:
                continue
            inst = live.get(old.id, old)
            status = event.status if old.id in live else "cancelled"
            out.append(_Item((event.seq, sub), status, event.updated, (inst.start, inst.end),
                             functools.partial(self._render_instance, cal, event, inst, status)))
        return out

    def _instance_etag(self, series: FakeEvent, inst: _Instance) -> str:
        return f'"{int(hashlib.sha256(f"{series.etag}/{inst.id}".encode()).hexdigest()[:13], 16)}"'

    @staticmethod
    def _when(dt: datetime, inst: _Instance) -> dict[str, str]:
        if inst.all_day:
            return {"date": dt.astimezone(ZoneInfo(inst.zone)).date().isoformat()}
        return {"dateTime": _rfc3339(dt, inst.zone), "timeZone": inst.zone}

    def _render_instance(self, cal: FakeCalendar, series: FakeEvent, inst: _Instance, status: str,
                         minimal: bool) -> dict[str, Any]:
        links = {"recurringEventId": series.id, "originalStartTime": self._when(inst.original, inst)}
        etag = self._instance_etag(series, inst)
        if minimal and status == "cancelled":
            return {"kind": "calendar#event", "etag": etag, "id": inst.id, "status": "cancelled", **links}
        out = self._render(cal, series)
        out.pop("recurrence", None)
        out.update(links, id=inst.id, etag=etag, status=status, start=self._when(inst.start, inst),
                   end=self._when(inst.end, inst),
                   htmlLink=f"https://www.google.com/calendar/event?eid={inst.id}")
        return out

    def _find_instance(self, cal: FakeCalendar, event_id: str) -> tuple[FakeEvent, _Instance] | None:
        series_id, sep, _ = event_id.rpartition("_")
        series = cal.events.get(series_id) if sep else None
        if series is None or not series.is_series:
            return None
        for inst in self._instances(cal, series):
            if inst.id == event_id:
                return series, inst
        return None

    def _materialize(self, cal: FakeCalendar, series: FakeEvent, inst: _Instance) -> FakeEvent:
        """An instance about to be changed becomes an exception: an event of its own with the
        instance's id, times and etag (so an If-Match with the listed etag holds)."""
        body = copy.deepcopy(series.body)
        body.pop("recurrence", None)
        body.update(recurringEventId=series.id, originalStartTime=self._when(inst.original, inst),
                    start=self._when(inst.start, inst), end=self._when(inst.end, inst))
        event = FakeEvent(inst.id, body, series.status, self._instance_etag(series, inst), series.created,
                          series.updated, series.seq)
        cal.events[inst.id] = event
        return event

    def _event_or_instance(self, cal: FakeCalendar, event_id: str) -> FakeEvent:
        found = cal.events.get(event_id)
        if found is not None:
            return found
        instance = self._find_instance(cal, event_id)
        if instance is None:
            raise KeyError(event_id)
        return self._materialize(cal, *instance)

    def _cancel_exceptions(self, cal: FakeCalendar, event: FakeEvent) -> None:
        """Deleting a series deletes its exceptions too."""
        if not event.is_series:
            return
        for other in list(cal.events.values()):
            if other.body.get("recurringEventId") == event.id and other.status != "cancelled":
                other.status = "cancelled"
                self._touch(cal, other)

    @staticmethod
    def _check_recurrence(body: dict[str, Any], calendar_tz: str) -> JSONResponse | None:
        if "recurrence" not in body:
            return None
        try:
            _expand("check", body, calendar_tz, datetime.now(UTC))
        except (ValueError, KeyError, TypeError) as exc:
            return _google_error(400, "invalid", f"Invalid recurrence rule: {exc}", location="recurrence")
        return None

    # -- framework hooks ------------------------------------------------------------------------------
    def authenticate_body(self, request: Request, body: bytes) -> str | Response:
        """A refused token grant is the auth failure of the token endpoint (recorded ``auth_failed``)."""
        if _is_token_request(request):
            checked = self._check_grant(_form(body), str(request.url).split("?")[0])
            return checked if isinstance(checked, Response) else _OUTSIDE_HANDLER
        return self.authenticate(request)

    def _decide_outcome(self, account: str) -> str:
        # Faults switched on for the sandbox act on the Calendar API; the OAuth token endpoint only
        # gets them when `faults_on_token_endpoint` is set (the default, for tests of token errors).
        if account == _OUTSIDE_HANDLER and not self.faults_on_token_endpoint:
            return "ok"
        return super()._decide_outcome(account)

    def authenticate(self, request: Request) -> str | Response:
        if _is_token_request(request):
            return _OUTSIDE_HANDLER
        header = request.headers.get("authorization", "")
        found = self.access_tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") \
            else None
        if found is None or found.expires_at <= self.clock.now():
            return _google_error(401, "authError", "Invalid Credentials", location="Authorization",
                                 headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        return found.account

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else None
        status = self.rate_limit_status
        return _google_error(status, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits",
                             headers=headers)

    def server_error_response(self, status: int) -> Response:
        return _google_error(status, "backendError", "Backend Error")

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/token", self._token, methods=["POST"]),
            Route(f"{_PREFIX}/freeBusy", self._free_busy, methods=["POST"]),
            Route(f"{_PREFIX}/channels/stop", self._stop, methods=["POST"]),
            Route(f"{_PREFIX}/calendars/{{cid}}/events/watch", self._watch, methods=["POST"]),
            Route(f"{_PREFIX}/calendars/{{cid}}/events", self._list, methods=["GET"]),
            Route(f"{_PREFIX}/calendars/{{cid}}/events", self._insert, methods=["POST"]),
            Route(f"{_PREFIX}/calendars/{{cid}}/events/{{eid}}", self._one,
                  methods=["GET", "PATCH", "PUT", "DELETE"]),
        ]

    # -- token endpoint -----------------------------------------------------------------------------
    def _issue(self, account: str, principal: str, grant: str) -> JSONResponse:
        with self._lock:
            token = f"ya29.sandbox-{next(self._counter):06d}-{self.seed}"
            self.access_tokens[token] = _AccessToken(account, principal, self.clock.now() + self.token_lifetime)
            self.token_grants.append(grant)
        return JSONResponse({"access_token": token, "expires_in": int(self.token_lifetime.total_seconds()) - 1,
                             "scope": "https://www.googleapis.com/auth/calendar.events", "token_type": "Bearer"})

    async def _token(self, request: Request) -> Response:
        checked = self._check_grant(_form(await request.body()), str(request.url).split("?")[0])
        if isinstance(checked, Response):
            return checked
        return self._issue(*checked)

    def _check_grant(self, form: dict[str, str], audience: str) -> tuple[str, str, str] | Response:
        """(account, principal, grant type) of a grant the endpoint accepts, or its refusal."""
        grant = form.get("grant_type")
        if grant == "refresh_token":
            client_id = form.get("client_id", "")
            if self.oauth_clients.get(client_id) != form.get("client_secret"):
                return JSONResponse({"error": "invalid_client", "error_description": "Unauthorized"}, status_code=401)
            entry = self.refresh_tokens.get(form.get("refresh_token", ""))
            if entry is None or form.get("refresh_token") in self.revoked or entry[0] != client_id:
                return JSONResponse({"error": "invalid_grant",
                                     "error_description": "Token has been expired or revoked."}, status_code=400)
            return entry[1], entry[2], grant
        if grant == _JWT_GRANT:
            return self._jwt_grant(form.get("assertion", ""), audience)
        return JSONResponse({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"},
                            status_code=400)

    def _jwt_grant(self, assertion: str, audience: str) -> tuple[str, str, str] | Response:
        def refuse(error: str, description: str) -> JSONResponse:
            return JSONResponse({"error": error, "error_description": description}, status_code=400)

        parts = assertion.split(".")
        if len(parts) != 3:
            return refuse("invalid_grant", "Invalid JWT: malformed")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            return refuse("invalid_grant", "Invalid JWT: undecodable")
        if header.get("alg") != "RS256":
            return refuse("invalid_grant", "Invalid JWT: alg must be RS256")
        sa = self.service_accounts.get(str(claims.get("iss", "")))
        if sa is None:
            return refuse("invalid_grant", "Invalid JWT Signature.")
        try:
            sa.public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return refuse("invalid_grant", "Invalid JWT Signature.")
        # google-auth always names Google's token endpoint as the audience; this URL is accepted too.
        if claims.get("aud") not in (audience, _GOOGLE_TOKEN_ENDPOINT):
            return refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable "
                          "timeframe (audience)")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or not 0 < exp - iat <= 3600:
            return refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)")
        scopes = str(claims.get("scope", "")).split()
        if not any(s.startswith("https://www.googleapis.com/auth/calendar") for s in scopes):
            return refuse("invalid_scope", "No calendar scope requested")
        subject = claims.get("sub")
        if subject and not sa.delegation:
            return JSONResponse({"error": "unauthorized_client", "error_description": "Client is unauthorized to "
                                 "retrieve access tokens using this method, or client not authorized for any of "
                                 "the scopes requested."}, status_code=401)
        return sa.account, str(subject or claims["iss"]), _JWT_GRANT

    # -- helpers --------------------------------------------------------------------------------------
    def _principal(self, request: Request) -> str:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        found = self.access_tokens.get(token)
        return found.principal if found else ""

    def _calendar(self, request: Request, cid: str | None = None) -> FakeCalendar | None:
        account = self.account_of(request)
        wanted = cid if cid is not None else str(request.path_params["cid"])
        if wanted == "primary":
            wanted = self._principal(request)
        return self.states.get(account).calendars.get(wanted)

    def _new_id(self) -> str:
        raw = hashlib.sha256(f"{self.seed}:{next(self._counter)}".encode()).digest()[:15]
        return base64.b32hexencode(raw).decode().lower().rstrip("=")

    def _next_etag(self) -> str:
        return f'"{next(self._etags)}"'

    def _store_new(self, cal: FakeCalendar, event_id: str, body: dict[str, Any], status: str) -> FakeEvent:
        now = self.clock.now()
        cal.seq += 1
        event = FakeEvent(event_id, body, status, self._next_etag(), now, now, cal.seq)
        cal.events[event_id] = event
        return event

    def _touch(self, cal: FakeCalendar, event: FakeEvent) -> None:
        cal.seq += 1
        event.seq = cal.seq
        event.etag = self._next_etag()
        event.updated = self.clock.now()
        event.writes += 1

    def _render(self, cal: FakeCalendar, event: FakeEvent, *, minimal: bool = False) -> dict[str, Any]:
        if minimal and event.status == "cancelled":
            # A cancelled instance of a series (an exception) still names its series.
            links: dict[str, Any] = {k: copy.deepcopy(event.body[k]) for k in ("recurringEventId",
                                                                                "originalStartTime")
                                     if k in event.body}
            return {"kind": "calendar#event", "etag": event.etag, "id": event.id, "status": "cancelled", **links}
        out: dict[str, Any] = {"kind": "calendar#event", "etag": event.etag, "id": event.id, "status": event.status,
                               "htmlLink": f"https://www.google.com/calendar/event?eid={event.id}",
                               "created": _rfc3339(event.created), "updated": _rfc3339(event.updated),
                               "creator": {"email": cal.id}, "organizer": {"email": cal.id, "self": True},
                               "iCalUID": f"{event.id}@google.com", "sequence": event.writes - 1,
                               "reminders": {"useDefault": True}, "eventType": "default"}
        out.update(copy.deepcopy(event.body))
        out["id"], out["etag"], out["status"] = event.id, event.etag, event.status
        return out

    def _notify(self, account: str, calendar_id: str) -> None:
        now = self.clock.now()
        for channel in list(self.channels.values()):
            if channel.account == account and channel.calendar_id == calendar_id and not channel.stopped \
                    and channel.expiration > now:
                self._send(channel, "exists")

    def _send(self, channel: FakeChannel, state: str) -> None:
        channel.message_number += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": format_datetime(channel.expiration.astimezone(UTC), usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": f"https://www.googleapis.com/calendar/v3/calendars/{channel.calendar_id}/events"
                                   "?alt=json",
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.message_number),
            "Content-Length": "0",
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        self.webhooks.send(channel.address, b"", headers)

    @staticmethod
    def _check_times(body: dict[str, Any], calendar_tz: str) -> JSONResponse | None:
        if "start" not in body:
            return _google_error(400, "required", "Missing start time.")
        if "end" not in body:
            return _google_error(400, "required", "Missing end time.")
        try:
            start, end = _edge(body["start"], calendar_tz), _edge(body["end"], calendar_tz)
        except (ValueError, TypeError, KeyError):
            return _google_error(400, "invalid", "Invalid start or end time.")
        if end < start:
            return _google_error(400, "timeRangeEmpty", "The specified time range is empty.", location="end")
        return None

    async def _json(self, request: Request) -> dict[str, Any] | JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _google_error(400, "parseError", "Parse Error")
        if not isinstance(body, dict):
            return _google_error(400, "parseError", "Parse Error")
        return body

    # -- events -----------------------------------------------------------------------------------------
    async def _list(self, request: Request) -> Response:
        q = request.query_params
        with self._lock:
            cal = self._calendar(request)
            if cal is None:
                return _google_error(404, "notFound", "Not Found")
            try:
                max_results = int(q.get("maxResults", "250"))
            except ValueError:
                return _google_error(400, "invalid", "Invalid value for maxResults", location="maxResults")
            if not 1 <= max_results <= 2500:
                return _google_error(400, "invalid", "Invalid value for maxResults", location="maxResults")
            if q.get("pageToken"):
                state = _decode_token(str(q["pageToken"]))
                if state is None or state.get("c") != cal.id:
                    return _google_error(400, "invalid", "Invalid page token value.", location="pageToken")
            elif q.get("syncToken"):
                bad = [name for name in _FORBIDDEN_WITH_SYNC if name in q]
                if bad:
                    return _google_error(400, "invalid", f"Sync token cannot be used with {bad[0]}.",
                                         location=bad[0])
                token = _decode_token(str(q["syncToken"]))
                if token is None or token.get("c") != cal.id or token.get("g") != cal.generation:
                    return _google_error(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is "
                                         "required.")
                state = {"c": cal.id, "m": "inc", "since": int(token["s"]), "upto": cal.seq, "after": 0,
                         "g": cal.generation}
            else:
                state = {"c": cal.id, "m": "full", "since": 0, "upto": cal.seq, "after": 0, "g": cal.generation,
                         "deleted": q.get("showDeleted") == "true", "tmin": q.get("timeMin"),
                         "tmax": q.get("timeMax"), "umin": q.get("updatedMin")}
            if state.get("g") != cal.generation:
                return _google_error(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
            try:
                tmin = _parse_rfc3339(state["tmin"]) if state.get("tmin") else None
                tmax = _parse_rfc3339(state["tmax"]) if state.get("tmax") else None
            except ValueError:
                return _google_error(400, "invalid", "Bad request: timeMin/timeMax need an offset")
            try:
                umin = _parse_rfc3339(state["umin"]) if state.get("umin") else None
            except ValueError:
                return _google_error(400, "invalid", "Invalid value for updatedMin", location="updatedMin")
            if tmin and tmax and tmax <= tmin:
                return _google_error(400, "timeRangeEmpty", "The specified time range is empty.", location="timeMax")
            single = q.get("singleEvents") == "true"
            raw_after = state["after"]
            after = (int(raw_after[0]), int(raw_after[1])) if isinstance(raw_after, list) else (int(raw_after), 0)
            chosen: list[_Item] = []
            for event in sorted(cal.events.values(), key=lambda e: e.seq):
                if not event.seq <= state["upto"] or event.seq <= state["since"]:
                    continue
                for entry in self._items(cal, event, single):
                    if entry.key <= after:
                        continue
                    if state["m"] == "full":
                        if umin is not None and entry.updated < umin:
                            continue
                        # With updatedMin, deletions since then are listed whatever showDeleted says.
                        if entry.status == "cancelled" and not state.get("deleted") and umin is None:
                            continue
                        span = entry.span
                        if span and ((tmin and span[1] <= tmin) or (tmax and span[0] >= tmax)):
                            continue
                    chosen.append(entry)
            page, rest = chosen[:max_results], chosen[max_results:]
            items = []
            for entry in page:
                item = entry.render(state["m"] == "inc" or entry.status == "cancelled")
                if self.maybe_malformed():
                    item["start"] = {"dateTime": "not-a-time"}
                    item["end"] = {"dateTime": "also-not-a-time"}
                items.append(item)
            out: dict[str, Any] = {"kind": "calendar#events", "etag": self._next_etag(), "summary": cal.id,
                                   "updated": _rfc3339(self.clock.now()), "timeZone": cal.time_zone,
                                   "accessRole": "owner", "defaultReminders": [], "items": items}
            if rest:
                out["nextPageToken"] = _encode_token({**state, "after": list(page[-1].key)})
            else:
                out["nextSyncToken"] = _encode_token({"c": cal.id, "s": state["upto"], "g": cal.generation})
            return JSONResponse(out)

    async def _insert(self, request: Request) -> Response:
        body = await self._json(request)
        if isinstance(body, JSONResponse):
            return body
        with self._lock:
            cal = self._calendar(request)
            if cal is None:
                return _google_error(404, "notFound", "Not Found")
            event_id = body.pop("id", None)
            if event_id is not None:
                event_id = str(event_id)
                if not (5 <= len(event_id) <= 1024 and set(event_id) <= _BASE32HEX):
                    return _google_error(400, "invalid", "Invalid resource id value.")
                if event_id in cal.events:
                    return _google_error(409, "duplicate", "The requested identifier already exists.")
            problem = self._check_times(body, cal.time_zone) or self._check_recurrence(body, cal.time_zone)
            if problem is not None:
                return problem
            for key in ("etag", "updated", "created", "kind", "iCalUID", "htmlLink"):
                body.pop(key, None)
            status = str(body.pop("status", "confirmed"))
            event = self._store_new(cal, event_id or self._new_id(), body, status)
            self._notify(self.account_of(request), cal.id)
            return JSONResponse(self._render(cal, event))

    async def _one(self, request: Request) -> Response:
        body: dict[str, Any] | JSONResponse = {}
        if request.method in ("PATCH", "PUT"):
            body = await self._json(request)
            if isinstance(body, JSONResponse):
                return body
        with self._lock:
            cal = self._calendar(request)
            if cal is None:
                return _google_error(404, "notFound", "Not Found")
            eid = str(request.path_params["eid"])
            event = cal.events.get(eid)
            if event is None:
                found = self._find_instance(cal, eid)
                if found is None:
                    return _google_error(404, "notFound", "Not Found")
                if request.method == "GET":
                    return JSONResponse(self._render_instance(cal, found[0], found[1], found[0].status, False))
                event = self._materialize(cal, *found)  # a write to an instance makes it an exception
            if request.method == "GET":
                return JSONResponse(self._render(cal, event))
            reason = cal.forbidden.get(eid)
            if reason is not None:
                return _google_error(403, reason, "The user must be the organizer of the event to change it."
                                     if reason == "forbiddenForNonOrganizer" else "Forbidden")
            if_match = request.headers.get("if-match")
            if if_match is not None and if_match != "*" and if_match != event.etag:
                return _google_error(412, "conditionNotMet", "Precondition Failed", location="If-Match")
            if request.method == "DELETE":
                if event.status == "cancelled":
                    return _google_error(410, "deleted", "Resource has been deleted")
                event.status = "cancelled"
                self._touch(cal, event)
                self._cancel_exceptions(cal, event)
                self._notify(self.account_of(request), cal.id)
                return Response(status_code=204)
            assert isinstance(body, dict)
            if event.status == "cancelled" and body.get("status") in (None, "cancelled"):
                return _google_error(410, "deleted", "Resource has been deleted")
            for key in ("id", "etag", "updated", "created", "kind", "iCalUID", "htmlLink"):
                body.pop(key, None)
            status = body.pop("status", None)
            if request.method == "PUT":
                new_body = body
            else:
                new_body = copy.deepcopy(event.body)
                for key, value in body.items():
                    # start/end are replaced whole (a dateTime must not keep an old date); other objects
                    # merge key by key; arrays are replaced.
                    if isinstance(value, dict) and isinstance(new_body.get(key), dict) and key not in ("start", "end"):
                        _merge(new_body[key], value)
                    else:
                        new_body[key] = value
            problem = self._check_times(new_body, cal.time_zone) or self._check_recurrence(new_body, cal.time_zone)
            if problem is not None:
                return problem
            event.body = new_body
            if status is not None:
                event.status = str(status)
            self._touch(cal, event)
            self._notify(self.account_of(request), cal.id)
            return JSONResponse(self._render(cal, event))

    # -- free/busy ----------------------------------------------------------------------------------------
    async def _free_busy(self, request: Request) -> Response:
        body = await self._json(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            tmin, tmax = _parse_rfc3339(str(body["timeMin"])), _parse_rfc3339(str(body["timeMax"]))
            zone = str(body.get("timeZone") or "UTC")
            ZoneInfo(zone)
        except (KeyError, ValueError):
            return _google_error(400, "invalid", "Invalid timeMin, timeMax or timeZone")
        if tmax <= tmin:
            return _google_error(400, "timeRangeEmpty", "The specified time range is empty.", location="timeMax")
        calendars: dict[str, Any] = {}
        with self._lock:
            for item in body.get("items") or []:
                cid = str(item.get("id", ""))
                cal = self._calendar(request, cid)
                if cal is None:
                    calendars[cid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                    continue
                spans: list[tuple[datetime, datetime]] = []
                for event in list(cal.events.values()):
                    if event.status == "cancelled" or event.body.get("transparency") == "transparent":
                        continue
                    if event.is_series:  # its instances, less the exceptions (stored as events of their own)
                        candidates = [(i.start, i.end) for i in self._instances(cal, event) if i.id not in cal.events]
                    else:
                        one = event.interval(cal.time_zone)
                        candidates = [one] if one is not None else []
                    for span in candidates:
                        if span[1] <= tmin or span[0] >= tmax:
                            continue
                        spans.append((max(span[0], tmin), min(span[1], tmax)))
                merged: list[list[datetime]] = []
                for start, end in sorted(spans):
                    if merged and start <= merged[-1][1]:
                        merged[-1][1] = max(merged[-1][1], end)
                    else:
                        merged.append([start, end])
                calendars[cid] = {"busy": [{"start": _rfc3339(s, zone), "end": _rfc3339(e, zone)} for s, e in merged]}
        return JSONResponse({"kind": "calendar#freeBusy", "timeMin": _rfc3339(tmin), "timeMax": _rfc3339(tmax),
                             "calendars": calendars})

    # -- push channels --------------------------------------------------------------------------------------
    async def _watch(self, request: Request) -> Response:
        body = await self._json(request)
        if isinstance(body, JSONResponse):
            return body
        with self._lock:
            cal = self._calendar(request)
            if cal is None:
                return _google_error(404, "notFound", "Not Found")
            channel_id = str(body.get("id") or "")
            address = str(body.get("address") or "")
            if not channel_id or len(channel_id) > 64:
                return _google_error(400, "required", "Channel id is required (at most 64 characters).")
            if body.get("type") not in ("web_hook", "webhook"):
                return _google_error(400, "invalid", "Invalid channel type.")
            if not (address.startswith("https://") or (self.allow_http_addresses and address.startswith("http://"))):
                return _google_error(400, "push.webhookUrlNotHttps", "WebHook callback must be HTTPS: " + address)
            if channel_id in self.channels:
                return _google_error(400, "channelIdNotUnique", "Channel id not unique.")
            now = self.clock.now()
            expiration = now + _MAX_CHANNEL_TTL
            if body.get("expiration") is not None:
                try:
                    asked = datetime.fromtimestamp(int(body["expiration"]) / 1000, UTC)
                except (TypeError, ValueError):
                    return _google_error(400, "invalid", "Invalid expiration.")
                expiration = min(max(asked, now + timedelta(seconds=1)), expiration)
            account = self.account_of(request)
            resource_id = hashlib.sha256(f"{account}:{cal.id}".encode()).hexdigest()[:27]
            token = body.get("token")
            channel = FakeChannel(channel_id, account, cal.id, resource_id, address,
                                  str(token) if token is not None else None, expiration)
            self.channels[channel_id] = channel
            self._send(channel, "sync")
            out: dict[str, Any] = {
                "kind": "api#channel", "id": channel_id, "resourceId": resource_id,
                "resourceUri": f"https://www.googleapis.com/calendar/v3/calendars/{cal.id}/events?alt=json",
                "expiration": str(int(expiration.timestamp() * 1000))}
            if token is not None:
                out["token"] = token
            return JSONResponse(out)

    async def _stop(self, request: Request) -> Response:
        body = await self._json(request)
        if isinstance(body, JSONResponse):
            return body
        with self._lock:
            channel = self.channels.get(str(body.get("id", "")))
            if channel is None or channel.resource_id != body.get("resourceId") \
                    or channel.account != self.account_of(request):
                return _google_error(404, "notFound", f"Channel '{body.get('id')}' not found for project")
            channel.stopped = True
        return Response(status_code=204)


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


# --- recurring events (RFC 5545 RRULE, the subset clinics use) -------------------------------------
_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_MAX_INSTANCES = 730  # a series without an end is expanded up to this many instances ...
_HORIZON = timedelta(days=366)  # ... and no further than a year past the fake clock's now


@dataclass(frozen=True)
class _Rule:
    freq: str  # DAILY | WEEKLY
    interval: int = 1
    count: int | None = None
    until: datetime | date | None = None
    byday: tuple[int, ...] | None = None


def _parse_recurrence(lines: Any) -> _Rule:
    """One ``RRULE:`` line with FREQ=DAILY/WEEKLY, INTERVAL, COUNT or UNTIL, BYDAY (plain weekdays).
    Anything else raises ValueError (the fake answers 400: not modelled, rather than expanded wrong)."""
    if not isinstance(lines, list) or len(lines) != 1 or not str(lines[0]).startswith("RRULE:"):
        raise ValueError("the fake models one RRULE line (no EXDATE/RDATE)")
    parts: dict[str, str] = {}
    for part in str(lines[0]).removeprefix("RRULE:").split(";"):
        name, sep, value = part.partition("=")
        if not sep or name in parts:
            raise ValueError(f"bad RRULE part {part!r}")
        parts[name.upper()] = value.upper()
    freq = parts.pop("FREQ", "")
    if freq not in ("DAILY", "WEEKLY"):
        raise ValueError(f"FREQ={freq or '?'} is not modelled (DAILY, WEEKLY)")
    interval = int(parts.pop("INTERVAL", "1"))
    if interval < 1:
        raise ValueError("INTERVAL must be positive")
    count = int(parts.pop("COUNT")) if "COUNT" in parts else None
    until: datetime | date | None = None
    if "UNTIL" in parts:
        raw = parts.pop("UNTIL")
        until = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if "T" in raw \
            else datetime.strptime(raw, "%Y%m%d").date()
    if count is not None and until is not None:
        raise ValueError("COUNT and UNTIL together")
    if count is not None and count < 1:
        raise ValueError("COUNT must be positive")
    byday = None
    if "BYDAY" in parts:
        names = parts.pop("BYDAY").split(",")
        if not names or any(n not in _WEEKDAYS for n in names):
            raise ValueError("BYDAY takes plain weekdays (MO..SU) in the fake")
        byday = tuple(sorted({_WEEKDAYS[n] for n in names}))
    if parts.get("WKST", "MO") == "MO":
        parts.pop("WKST", None)
    if parts:
        raise ValueError(f"RRULE parts not modelled: {', '.join(sorted(parts))}")
    return _Rule(freq, interval, count, until, byday)


def _occurrence_dates(rule: _Rule, first: date) -> Iterator[date]:
    if rule.freq == "DAILY":
        day = first
        while True:
            if rule.byday is None or day.weekday() in rule.byday:
                yield day
            day += timedelta(days=rule.interval)
    week = first - timedelta(days=first.weekday())  # WKST=MO
    days = rule.byday or (first.weekday(),)
    while True:
        for wd in days:
            day = week + timedelta(days=wd)
            if day >= first:
                yield day
        week += timedelta(weeks=rule.interval)


@dataclass(frozen=True)
class _Instance:
    id: str
    start: datetime  # UTC
    end: datetime
    original: datetime  # the start the rule gives it (UTC; midnight in the zone for all-day series)
    all_day: bool
    zone: str


def _series_start(body: dict[str, Any], calendar_tz: str) -> tuple[datetime, timedelta, bool, str]:
    """(first start in the series' zone, duration, all-day, zone) of a recurring event's body."""
    start, end = body.get("start") or {}, body.get("end") or {}
    if start.get("date"):
        zone = str(start.get("timeZone") or calendar_tz)
        first = datetime.combine(date.fromisoformat(str(start["date"])), time(0), ZoneInfo(zone))
        last = datetime.combine(date.fromisoformat(str(end["date"])), time(0), ZoneInfo(zone))
        return first, last - first, True, zone
    if not start.get("timeZone"):
        raise ValueError("a recurring event needs start.timeZone")
    zone = str(start["timeZone"])
    first = _parse_rfc3339(str(start["dateTime"])).astimezone(ZoneInfo(zone))
    return first, _parse_rfc3339(str(end["dateTime"])) - first, False, zone


def _expand(event_id: str, body: dict[str, Any], calendar_tz: str, horizon: datetime) -> list[_Instance]:
    """The instances of a series, in its own zone (wall-clock times kept across offset changes)."""
    rule = _parse_recurrence(body.get("recurrence"))
    first, duration, all_day, zone = _series_start(body, calendar_tz)
    tz = ZoneInfo(zone)
    out: list[_Instance] = []
    for day in _occurrence_dates(rule, first.date()):
        local = datetime.combine(day, first.timetz().replace(tzinfo=None), tz)
        if isinstance(rule.until, datetime) and local > rule.until:
            break
        if isinstance(rule.until, date) and not isinstance(rule.until, datetime) and day > rule.until:
            break
        if local > horizon or len(out) >= _MAX_INSTANCES:
            break
        start = local.astimezone(UTC)
        end_local = datetime.combine(day + timedelta(days=duration.days), time(0), tz) if all_day else local + duration
        end = end_local.astimezone(UTC)
        suffix = day.strftime("%Y%m%d") if all_day else start.strftime("%Y%m%dT%H%M%SZ")
        out.append(_Instance(f"{event_id}_{suffix}", start, end, start, all_day, zone))
        if rule.count is not None and len(out) >= rule.count:
            break
    return out
