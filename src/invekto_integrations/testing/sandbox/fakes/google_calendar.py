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
  event → 410 ``deleted``.
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

Not modelled: recurring events (``singleEvents`` is accepted and ignored), attendees' copies,
``If-None-Match``/304.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
from collections.abc import Iterable
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


@dataclass
class FakeCalendar:
    id: str
    time_zone: str = "Europe/Istanbul"
    events: dict[str, FakeEvent] = field(default_factory=dict)
    seq: int = 0
    generation: int = 0


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
                     summary: str = "Özel", transparency: str = "opaque", all_day: bool = False) -> dict[str, Any]:
        """An event the doctor creates by hand in Google Calendar (no private properties of ours)."""
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
            event = cal.events[event_id]
            status = fields.pop("status", None)
            event.body.update(copy.deepcopy(fields))
            if status:
                event.status = str(status)
            self._touch(cal, event)
            self._notify(account, cal.id)
            return self._render(cal, event)

    def human_delete(self, account: str, calendar_id: str, event_id: str) -> None:
        """The doctor deletes the event (it comes back as ``cancelled`` in the sync feed)."""
        with self._lock:
            cal = self.states.get(account).calendars[calendar_id]
            event = cal.events[event_id]
            event.status = "cancelled"
            self._touch(cal, event)
            self._notify(account, cal.id)

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
            return {"kind": "calendar#event", "etag": event.etag, "id": event.id, "status": "cancelled"}
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
            chosen: list[FakeEvent] = []
            for event in sorted(cal.events.values(), key=lambda e: e.seq):
                if not state["after"] < event.seq <= state["upto"] or event.seq <= state["since"]:
                    continue
                if state["m"] == "full":
                    if umin is not None and event.updated < umin:
                        continue
                    # With updatedMin, deletions since then are listed whatever showDeleted says.
                    if event.status == "cancelled" and not state.get("deleted") and umin is None:
                        continue
                    span = event.interval(cal.time_zone)
                    if span and ((tmin and span[1] <= tmin) or (tmax and span[0] >= tmax)):
                        continue
                chosen.append(event)
            page, rest = chosen[:max_results], chosen[max_results:]
            items = []
            for event in page:
                item = self._render(cal, event, minimal=state["m"] == "inc" or event.status == "cancelled")
                if self.maybe_malformed():
                    item["start"] = {"dateTime": "not-a-time"}
                    item["end"] = {"dateTime": "also-not-a-time"}
                items.append(item)
            out: dict[str, Any] = {"kind": "calendar#events", "etag": self._next_etag(), "summary": cal.id,
                                   "updated": _rfc3339(self.clock.now()), "timeZone": cal.time_zone,
                                   "accessRole": "owner", "defaultReminders": [], "items": items}
            if rest:
                out["nextPageToken"] = _encode_token({**state, "after": page[-1].seq})
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
            problem = self._check_times(body, cal.time_zone)
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
            event = cal.events.get(str(request.path_params["eid"]))
            if event is None:
                return _google_error(404, "notFound", "Not Found")
            if request.method == "GET":
                return JSONResponse(self._render(cal, event))
            if_match = request.headers.get("if-match")
            if if_match is not None and if_match != "*" and if_match != event.etag:
                return _google_error(412, "conditionNotMet", "Precondition Failed", location="If-Match")
            if request.method == "DELETE":
                if event.status == "cancelled":
                    return _google_error(410, "deleted", "Resource has been deleted")
                event.status = "cancelled"
                self._touch(cal, event)
                self._notify(self.account_of(request), cal.id)
                return Response(status_code=204)
            assert isinstance(body, dict)
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
            problem = self._check_times(new_body, cal.time_zone)
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
                for event in cal.events.values():
                    if event.status == "cancelled" or event.body.get("transparency") == "transparent":
                        continue
                    span = event.interval(cal.time_zone)
                    if span is None or span[1] <= tmin or span[0] >= tmax:
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
