"""The base of every fake provider: an ASGI app with auth, recording, rate limit and faults.

A provider's fake subclasses `FakeProvider`, declares its routes, how it authenticates a request
(returning the account key or the provider's real 401/403 answer) and what its throttling and
server-error answers look like. State lives per account key, so two tenants with different
credentials see different data (moto's per-account backends).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.ratelimit import RateLimit, TokenBucket

from ._faults import Faults
from ._webhooks import WebhookDispatcher

__all__ = ["ConnectionDropped", "FakeProvider", "RecordedRequest"]


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


class FakeProvider:
    """Base class of the fakes. Subclasses set ``name`` and implement `routes` and `authenticate`."""

    name: ClassVar[str] = ""
    published_rate_limit: ClassVar[RateLimit | None] = None

    def __init__(self, *, clock: Clock | None = None, seed: int = 0, faults: Faults | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.seed = seed
        self.faults = faults or Faults(seed=seed)
        self.requests: list[RecordedRequest] = []
        self.webhooks = WebhookDispatcher()
        self._lock = threading.RLock()
        self._buckets: dict[str, TokenBucket] = {}
        self._app: ASGIApp | None = None

    # -- what a provider's fake defines ------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def authenticate(self, request: Request) -> str | Response:
        """Return the account key the credentials belong to, or the provider's refusal."""
        raise NotImplementedError

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else {}
        return JSONResponse({"error": "too many requests"}, status_code=429, headers=headers)

    def server_error_response(self, status: int) -> Response:
        return JSONResponse({"error": "service unavailable"}, status_code=status)

    def reset(self) -> None:
        """Forget all state, requests and faults (between tests)."""
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.faults.counts.clear()
            self._buckets.clear()

    # -- helpers for subclasses ----------------------------------------------------------------
    def account_of(self, request: Request) -> str:
        """The account key `authenticate` established for this request."""
        return str(request.scope["state"]["sandbox_account"])

    def maybe_malformed(self) -> bool:
        """True when this record should be served malformed (counted)."""
        if self.faults.roll(self.faults.malformed_rate):
            self.faults.count("malformed")
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
                bucket = TokenBucket(limit, SystemClock())
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
            outcome = "ok"
            response: Response | None = None

            auth = self.authenticate(request)
            if isinstance(auth, Response):
                response, outcome = auth, "auth_failed"
            else:
                account = auth
                response, outcome = await self._fault_response(account)

            recorded = RecordedRequest(
                method=request.method, path=scope.get("path", ""), query=dict(request.query_params),
                headers=headers, body=body, at=self.clock.now(), account=account, outcome=outcome,
            )
            with self._lock:
                self.requests.append(recorded)

            if outcome == "drop":
                raise ConnectionDropped(f"{self.name}: connection dropped by fault injection")
            if response is not None:
                await response(scope, _replay(body), send)
                return
            scope.setdefault("state", {})["sandbox_account"] = account
            truncate = self._decide("truncate", self.faults.truncate_rate)
            await inner(scope, _replay(body), _truncating(send) if truncate else send)

        return app

    def _decide(self, kind: str, rate: float) -> bool:
        if self.faults.roll(rate):
            self.faults.count(kind)
            return True
        return False

    async def _fault_response(self, account: str) -> tuple[Response | None, str]:
        f = self.faults
        if f.latency_seconds > 0:
            f.count("latency")
            await asyncio.sleep(f.latency_seconds)
        scripted = f.next_scripted()
        if scripted is not None and scripted != "ok":
            f.count(scripted)
            return await self._scripted(scripted)
        bucket = self._bucket(account)
        if bucket is not None:
            wait = bucket.reserve()
            if wait > 0:
                bucket.reserve(-1.0)  # a refused request does not consume the budget
                f.count("rate_limit")
                return self.rate_limited_response(f.retry_after_seconds), "rate_limit"
        if self._decide("timeout", f.timeout_rate):
            await asyncio.sleep(f.timeout_seconds)
            return self.server_error_response(504), "timeout"
        if self._decide("drop", f.drop_rate):
            return None, "drop"
        if self._decide("error", f.error_rate):
            return self.server_error_response(f.error_status), "error"
        return None, "ok"

    async def _scripted(self, kind: str) -> tuple[Response | None, str]:
        f = self.faults
        if kind == "rate_limit":
            return self.rate_limited_response(f.retry_after_seconds), kind
        if kind == "error":
            return self.server_error_response(f.error_status), kind
        if kind == "timeout":
            await asyncio.sleep(f.timeout_seconds)
            return self.server_error_response(504), kind
        if kind == "drop":
            return None, kind
        raise ValueError(f"unknown scripted fault {kind!r}")

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
