"""The base of every fake provider: an ASGI app with auth, recording, rate limit and faults.

A provider's fake subclasses `FakeProvider`, declares its routes, how it authenticates a request
(returning the account key or the provider's real 401/403 answer) and what its throttling and
server-error answers look like. State lives per account key, so two tenants with different
credentials see different data (moto's per-account backends)::

    class ShopFake(FakeProvider):
        name = "shop"

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.tokens = {"token-a": "acct-a", "token-b": "acct-b"}
            self.shops = self.per_account(lambda account: ShopState(TurkishData(self.seed, stream=account)))

        def authenticate(self, request: Request) -> str | Response:
            account = self.tokens.get(request.headers.get("authorization", "").removeprefix("Bearer "))
            return account or JSONResponse({"message": "invalid token"}, status_code=401)

        async def list_orders(self, request: Request) -> Response:
            shop = self.shops.get(self.account_of(request))   # this account's data only
            ...

`reset()` forgets every per-account state, the recorded requests and the faults.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.ratelimit import RateLimit, TokenBucket
from invekto_integrations.core.reprs import ConciseRepr

from ._faults import Faults
from ._webhooks import WebhookDispatcher

__all__ = [
    "AccountStates",
    "ConnectionDropped",
    "FakeProvider",
    "RecordedRequest",
    "SandboxClockWarning",
    "redact_headers",
]

log = logging.getLogger("invekto_integrations.testing.sandbox")

S = TypeVar("S")
# A request arriving this close to its token is served: clocks round (FrozenClock to microseconds).
_RATE_TOLERANCE_SECONDS = 0.001
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})
_SECRET_HINTS = ("key", "secret", "token", "password", "signature", "cookie")
# Set for one request when a test scripted "malformed": every record of that answer breaks.
_FORCE_MALFORMED: contextvars.ContextVar[bool] = contextvars.ContextVar("sandbox_force_malformed", default=False)
# Marks the current request's record as "malformed" (called before the answer goes out).
_MARK_MALFORMED: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "sandbox_mark_malformed", default=None)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers safe to show: ``Authorization`` keeps only its scheme, key-like headers are masked."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low in _SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            out[name] = f"{scheme} ***" if rest else "***"
        elif any(h in low for h in _SECRET_HINTS):
            out[name] = "***"
        else:
            out[name] = value
    return out


class SandboxClockWarning(UserWarning):
    """A client asked a fake for a window its clock makes empty: the client runs on another clock.

    The usual cause: the sandbox runs a `FrozenClock` and the client (or the sync engine) the
    system clock. Connect with ``Sandbox.options(name)`` or ``Integrations.sandbox()``, which share
    the sandbox's clock."""


class ConnectionDropped(Exception):
    """Raised inside a fake to cut the connection mid-response (the transports turn it into a reset)."""


@dataclass(frozen=True)
class RecordedRequest:
    """What arrived at a fake: for assertions on auth, paths and bodies."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: datetime
    account: str | None = None
    outcome: str = "ok"

    def json(self) -> Any:
        return json.loads(self.body)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view with credentials redacted (what the control API serves)."""
        try:
            body: str | None = self.body.decode("utf-8")
        except UnicodeDecodeError:
            body = None
        return {
            "method": self.method, "path": self.path, "query": self.query,
            "headers": redact_headers(self.headers), "body": body, "at": self.at.isoformat(),
            "account": self.account, "outcome": self.outcome,
        }


class AccountStates(Generic[S], ConciseRepr):
    """State per account key, created on first use by ``factory(account)`` (moto's BackendDict)."""

    def __init__(self, factory: Callable[[str], S]) -> None:
        self._factory = factory
        self._states: dict[str, S] = {}
        self._lock = threading.RLock()

    def get(self, account: str) -> S:
        with self._lock:
            state = self._states.get(account)
            if state is None:
                state = self._factory(account)
                self._states[account] = state
            return state

    def __contains__(self, account: object) -> bool:
        return account in self._states

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._states))

    def clear(self) -> None:
        with self._lock:
            self._states.clear()


class FakeProvider(ConciseRepr, fields=("name", "requests")):
    """Base class of the fakes. Subclasses set ``name`` and implement `routes` and `authenticate`."""

    name: ClassVar[str] = ""
    published_rate_limit: ClassVar[RateLimit | None] = None

    def __init__(self, *, clock: Clock | None = None, seed: int = 0, faults: Faults | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        # A fake built without a clock adopts the clock of the `Sandbox` that hosts it.
        self.clock_given = clock is not None
        self.seed = seed
        self.faults = faults or Faults(seed=seed)
        self.requests: list[RecordedRequest] = []
        self.webhooks = WebhookDispatcher()
        # The server-side rate limit runs on real time by default (clients elsewhere use real time);
        # a test whose clients sleep on a FrozenClock sets this to that clock.
        self.rate_limit_clock: Clock = SystemClock()
        self._lock = threading.RLock()
        self._buckets: dict[str, TokenBucket] = {}
        self._states: list[AccountStates[Any]] = []
        self._app: ASGIApp | None = None

    # -- what a provider's fake defines ------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def authenticate(self, request: Request) -> str | Response:
        """Return the account key the credentials belong to, or the provider's refusal."""
        raise NotImplementedError

    def authenticate_body(self, request: Request, body: bytes) -> str | Response:
        """`authenticate` with the raw request body, for services whose credentials travel in it
        (SOAP carriers: a refusal may be the provider's HTTP 200 answer). Default: `authenticate`."""
        return self.authenticate(request)

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else {}
        return JSONResponse({"error": "too many requests"}, status_code=429, headers=headers)

    def server_error_response(self, status: int) -> Response:
        return JSONResponse({"error": "service unavailable"}, status_code=status)

    def reset(self) -> None:
        """Forget all per-account state, requests and faults (between tests).

        Subclasses holding state outside `per_account` override this and call ``super().reset()``.
        """
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.faults.counts.clear()
            self._buckets.clear()
            for states in self._states:
                states.clear()

    # -- helpers for subclasses ----------------------------------------------------------------
    def account_of(self, request: Request) -> str:
        """The account key `authenticate` established for this request."""
        return str(request.scope["state"]["sandbox_account"])

    def per_account(self, factory: Callable[[str], S]) -> AccountStates[S]:
        """Declare state held per account; `reset` clears it and ``factory`` rebuilds it on use."""
        states = AccountStates(factory)
        self._states.append(states)
        return states

    def check_window(self, start: datetime, end: datetime) -> None:
        """Warn (`SandboxClockWarning`, and a log line) when ``[start, end)`` lies entirely after this
        fake's "now": no record can be there, so the listing is empty for a reason no one sees."""
        now = self.clock.now()
        if start > now:
            message = (f"{self.name} fake: the requested window {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} "
                       f"UTC lies entirely after the sandbox clock ({now:%Y-%m-%d %H:%M} UTC), so it is empty. "
                       "Is the client on another clock? Connect with Sandbox.options(name) or "
                       "Integrations.sandbox(), which share the sandbox's clock.")
            log.warning(message)
            warnings.warn(SandboxClockWarning(message), stacklevel=2)

    def maybe_malformed(self) -> bool:
        """True when this record should be served malformed (counted once per record)."""
        if _FORCE_MALFORMED.get() or self.faults.roll(self.faults.malformed_rate):
            self.faults.count("malformed")
            mark = _MARK_MALFORMED.get()
            if mark is not None:
                mark()
            return True
        return False

    # -- the ASGI app ---------------------------------------------------------------------------
    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            inner = Starlette(routes=self.routes())
            self._app = self._wrap(inner)
        return self._app

    def _bucket(self, account: str) -> TokenBucket | None:
        limit = self.faults.rate_limit
        if limit is None:
            return None
        with self._lock:
            bucket = self._buckets.get(account)
            if bucket is None or bucket.limit != limit:
                bucket = TokenBucket(limit, self.rate_limit_clock)
                self._buckets[account] = bucket
            return bucket

    def _wrap(self, inner: ASGIApp) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            body = b""
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            request = Request(scope)
            headers = {k.lower(): v for k, v in request.headers.items()}
            account: str | None = None
            auth = self.authenticate_body(request, body)
            if isinstance(auth, Response):
                outcome = "auth_failed"
            else:
                account = auth
                outcome = self._decide_outcome(account)
            recorded = RecordedRequest(
                method=request.method, path=_relative_path(scope), query=dict(request.query_params),
                headers=headers, body=body, at=self.clock.now(), account=account, outcome=outcome,
            )
            with self._lock:
                self.requests.append(recorded)

            f = self.faults
            if isinstance(auth, Response):
                await auth(scope, _replay(body), send)
                return
            if f.latency_seconds > 0 or outcome == "latency":
                f.count("latency")
                await asyncio.sleep(f.latency_seconds if f.latency_seconds > 0 else 0.05)
            response: Response | None = None
            if outcome == "rate_limit":
                response = self.rate_limited_response(f.retry_after_seconds)
            elif outcome == "error":
                response = self.server_error_response(f.error_status)
            elif outcome == "timeout":
                await asyncio.sleep(f.timeout_seconds)  # the client gives up long before
                response = self.server_error_response(504)
            elif outcome == "drop":
                # The status line goes out, then the connection closes: over a socket the client
                # sees an incomplete response (uvicorn closes the transport); in-process the
                # transports turn this exception into the same httpx error.
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
                raise ConnectionDropped(f"{self.name}: connection dropped by fault injection")
            if response is not None:
                await response(scope, _replay(body), send)
                return
            scope.setdefault("state", {})["sandbox_account"] = account
            def mark() -> None:
                with self._lock:
                    for i in range(len(self.requests) - 1, -1, -1):
                        if self.requests[i] is recorded:
                            self.requests[i] = replace(recorded, outcome="malformed")
                            return

            token = _FORCE_MALFORMED.set(outcome == "malformed")
            token_mark = _MARK_MALFORMED.set(mark if outcome == "ok" else None)
            try:
                await inner(scope, _replay(body), _truncating(send) if outcome == "truncate" else send)
            finally:
                _FORCE_MALFORMED.reset(token)
                _MARK_MALFORMED.reset(token_mark)

        return app

    def _decide(self, kind: str, rate: float) -> bool:
        if self.faults.roll(rate):
            self.faults.count(kind)
            return True
        return False

    def _decide_outcome(self, account: str) -> str:
        """What this request gets: a scripted outcome first, then the rate limit, then the rates.

        Counted here (except ``latency``, counted when applied, and ``malformed``, counted per
        malformed record by `maybe_malformed`).
        """
        f = self.faults
        scripted = f.next_scripted()
        if scripted is not None:
            if scripted not in ("ok", "latency", "malformed"):
                f.count(scripted)
            return scripted
        bucket = self._bucket(account)
        if bucket is not None:
            wait = bucket.reserve()
            if wait > _RATE_TOLERANCE_SECONDS:
                bucket.reserve(-1.0)  # a refused request does not consume the budget
                f.count("rate_limit")
                return "rate_limit"
        for kind, rate in (("rate_limit", f.rate_limit_rate), ("timeout", f.timeout_rate), ("drop", f.drop_rate),
                           ("error", f.error_rate), ("truncate", f.truncate_rate)):
            if self._decide(kind, rate):
                return kind
        return "ok"

    # -- inspection -------------------------------------------------------------------------------
    def requests_to(self, path_suffix: str = "", method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r for r in self.requests
                if r.path.endswith(path_suffix) and (method is None or r.method == method.upper())
            ]


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client is still connected: never a disconnect here
        raise AssertionError("unreachable")

    return receive


def _truncating(send: Send) -> Send:
    """Send only the first half of the body: what a connection cut mid-transfer leaves behind."""
    state: dict[str, Any] = {"chunks": []}

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            state["start"] = message
            return
        if message["type"] == "http.response.body":
            state["chunks"].append(message.get("body", b""))
            if message.get("more_body", False):
                return
            full = b"".join(state["chunks"])
            cut = full[: max(1, len(full) // 2)]
            start = dict(state["start"])
            start["headers"] = [
                (k, str(len(cut)).encode()) if k.lower() == b"content-length" else (k, v)
                for k, v in start.get("headers", [])
            ]
            await send(start)
            await send({"type": "http.response.body", "body": cut, "more_body": False})
            return
        await send(message)

    return wrapped


def _relative_path(scope: Scope) -> str:
    """The path as the provider sees it: without the sandbox's ``/<name>`` mount prefix."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    return path[len(root):] or "/" if root and path.startswith(root) else path
