"""The Integrations service (extra ``service``): a Starlette app over one `Integrations` client.

    service = IntegrationsService(client, ServiceConfig(...), runtime=runtime)
    uvicorn.run(service.app, host="127.0.0.1", port=7106)

Routes: ``/health`` and ``/ready``; webhooks (WhatsApp, Meta ``automatic_events``, Google Calendar
push), each checked on the raw bytes (signature, channel token) before anything parses them, with
a bounded body; the tracked-link redirect ``/r/{code}``; the authenticated REST API under
``/v1/tenants/{tenant_id}`` (see `_api.api_routes`) and its OpenAPI document at ``/openapi.json``.
The runtime (if given) runs in a background thread for the app's lifetime and is stopped
gracefully on shutdown (its current step finishes; no cursor is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, cast

from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from invekto_integrations._integrations import Integrations
from invekto_integrations.appointments.errors import (
    AppointmentError,
    AppointmentNotFound,
    ConcurrentModification,
    SlotUnavailable,
)
from invekto_integrations.attribution import record_automatic_events_by_waba
from invekto_integrations.attribution.links import record_click
from invekto_integrations.core.errors import (
    ConfigurationError,
    ConsentError,
    IntegrationError,
    InvalidArgument,
    NotFound,
    PayloadError,
    ProviderError,
    StorageError,
)
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.messaging.webhook import MessagingWebhookHandler, WebhookRoute
from invekto_integrations.providers.meta import parse_automatic_events
from invekto_integrations.providers.whatsapp_cloud.webhooks import WhatsAppWebhooks
from invekto_integrations.storage.api_tokens import ApiTokenRepository
from invekto_integrations.storage.protocols import DuplicateRecord, TenantMismatch

from ._api import ApiNotFound, api_routes
from ._api_ops import ops_routes
from ._openapi import openapi_document
from ._routes import ApiRequest, ApiRoute, Streamed, jsonable
from ._tokens import authenticate

if TYPE_CHECKING:
    from invekto_integrations.runtime import Runtime

__all__ = ["BodyTooLarge", "IntegrationsService", "ServiceConfig"]

log = logging.getLogger("invekto_integrations.service")

DEFAULT_PORT = 7106


@dataclass(frozen=True)
class ServiceConfig:
    """What the service needs beyond the client: webhook secrets and routing, limits.

    ``whatsapp_routes``: receiving ``phone_number_id`` → (tenant, Meta app secret);
    ``waba_tenants``: WhatsApp Business Account id → tenant (for ``automatic_events``)."""

    whatsapp_verify_token: SecretStr | None = None
    whatsapp_routes: Mapping[str, WebhookRoute] = field(default_factory=dict)
    meta_app_secret: SecretStr | None = None
    waba_tenants: Mapping[str, str] = field(default_factory=dict)
    max_body_bytes: int = 1_048_576
    public_url: str | None = None  # where providers reach the service (Google Calendar push channels)

    def __repr__(self) -> str:
        return (f"<ServiceConfig whatsapp_channels={len(self.whatsapp_routes)} wabas={len(self.waba_tenants)} "
                f"max_body_bytes={self.max_body_bytes}>")


class BodyTooLarge(InvalidArgument):
    """A request body over the configured limit (answered 413 before it is read whole)."""


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge(f"request body over {limit} bytes", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body over {limit} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message[:500], **extra}, status_code=status)


def _from_exception(exc: Exception) -> JSONResponse:
    """The one exception boundary of the service: typed errors to statuses, nothing else leaks."""
    if isinstance(exc, BodyTooLarge):
        return _error(413, "body_too_large", str(exc))
    if isinstance(exc, ApiNotFound | NotFound | AppointmentNotFound):
        return _error(404, "not_found", "no such resource")
    if isinstance(exc, TenantMismatch):
        return _error(404, "not_found", "no such resource")
    if isinstance(exc, SlotUnavailable | ConcurrentModification | DuplicateRecord):
        return _error(409, "conflict", str(exc))
    if isinstance(exc, InvalidArgument):
        return _error(400, "invalid_argument", str(exc), field=getattr(exc, "field", None))
    if isinstance(exc, AppointmentError) and isinstance(exc, ValueError):  # bad price row, unknown service
        return _error(400, "invalid_argument", str(exc), field=getattr(exc, "field", None))
    if isinstance(exc, ValidationError):
        return _error(400, "invalid_argument", str(exc).splitlines()[0])
    if isinstance(exc, ConsentError):
        return _error(409, "consent", str(exc))
    if isinstance(exc, StorageError):
        log.error("storage error: %s", str(exc)[:300])
        return _error(503, "storage_unavailable", "the store is unavailable")
    if isinstance(exc, IntegrationError) and isinstance(exc, ValueError) and not isinstance(exc, ProviderError):
        # The library's own bad-input errors (an unusable phone number, ...): the caller's to fix.
        return _error(400, "invalid_argument", str(exc), field=getattr(exc, "field", None))
    if isinstance(exc, IntegrationError):
        return _error(502, type(exc).__name__, str(exc))
    raise exc


class IntegrationsService(ConciseRepr, fields=("config",)):
    """The ASGI service over one client (and, optionally, a runtime it hosts)."""

    def __init__(self, client: Integrations, config: ServiceConfig | None = None, *,
                 runtime: Runtime | None = None, runtime_idle: float = 1.0) -> None:
        self.client = client
        self.config = config or ServiceConfig()
        self.runtime = runtime
        self.runtime_idle = runtime_idle
        self._thread: threading.Thread | None = None
        self._runtime_error: str | None = None
        self.routes = api_routes(client) + ops_routes(client, public_url=self.config.public_url)
        self.tokens = tokens_of(client)
        self._whatsapp: MessagingWebhookHandler | None = None
        if self.config.whatsapp_verify_token is not None and self.config.whatsapp_routes:
            self._whatsapp = MessagingWebhookHandler(
                client.messages.pipeline, WhatsAppWebhooks(), verify_token=self.config.whatsapp_verify_token,
                routes=self.config.whatsapp_routes, quarantine=client.store.quarantine, clock=client.clock)
        self.app = self._build_app()

    # -- hosting -------------------------------------------------------------------------------------
    def start_runtime(self) -> None:
        if self.runtime is None or self._thread is not None:
            return
        runtime = self.runtime

        def run() -> None:
            try:
                runtime.run_forever(idle=self.runtime_idle)
            except Exception as exc:  # recorded for /ready; the process stays up to answer webhooks
                self._runtime_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                log.exception("runtime stopped")

        self._thread = threading.Thread(target=run, name="invekto-runtime", daemon=True)
        self._thread.start()

    def stop_runtime(self, timeout: float = 30.0) -> None:
        """Finish the runtime's current step and release its leases (cursors are durable)."""
        if self.runtime is None or self._thread is None:
            return
        self.runtime.stop()
        self._thread.join(timeout)
        self._thread = None

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.start_runtime()
        try:
            yield
        finally:
            await run_in_threadpool(self.stop_runtime)

    # -- app -------------------------------------------------------------------------------------
    def _build_app(self) -> Starlette:
        routes = [
            Route("/health", self.health, methods=["GET"]),
            Route("/ready", self.ready, methods=["GET"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
            Route("/webhooks/whatsapp", self.whatsapp, methods=["GET", "POST"]),
            Route("/webhooks/meta/automatic-events", self.automatic_events, methods=["POST"]),
            Route("/webhooks/google-calendar/{tenant_id}", self.calendar_push, methods=["POST"]),
            Route("/r/{code}", self.redirect, methods=["GET"]),
        ]
        for spec in self.routes:
            routes.append(Route(spec.full_path, self._api_endpoint(spec), methods=[spec.method]))
        return Starlette(routes=routes, lifespan=self._lifespan)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def _ready_state(self) -> tuple[bool, dict[str, Any]]:
        body: dict[str, Any] = {}
        ok = True
        try:
            self.client.store.tenant_settings.tenants()
            body["store"] = "ok"
        except Exception as exc:  # any failure of the store means not ready
            body["store"] = f"error: {type(exc).__name__}"
            ok = False
        if self.runtime is not None:
            alive = self._thread is not None and self._thread.is_alive()
            engines = [{"engine": s.engine, "tenant": s.tenant_id, "lag": s.lag,
                        "next_timer_at": s.next_timer_at.isoformat() if s.next_timer_at else None,
                        "last_error": (s.last_error or None) and s.last_error[:200]}
                       for s in self.runtime.status()]
            body["runtime"] = {"alive": alive, "error": self._runtime_error, "engines": engines}
            ok = ok and alive
        return ok, body

    async def ready(self, request: Request) -> Response:
        ok, body = await run_in_threadpool(self._ready_state)
        body["status"] = "ready" if ok else "not_ready"
        return JSONResponse(body, status_code=200 if ok else 503)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.routes))

    # -- webhooks ----------------------------------------------------------------------------------
    async def whatsapp(self, request: Request) -> Response:
        if self._whatsapp is None:
            return _error(404, "not_configured", "WhatsApp webhooks are not configured")
        try:
            body = b"" if request.method == "GET" else await _bounded_body(request, self.config.max_body_bytes)
        except BodyTooLarge as exc:
            return _from_exception(exc)
        handler = self._whatsapp
        answer = await run_in_threadpool(handler.handle, request.method, dict(request.query_params),
                                         dict(request.headers), body)
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)

    async def automatic_events(self, request: Request) -> Response:
        secret = self.config.meta_app_secret
        if secret is None:
            return _error(404, "not_configured", "Meta webhooks are not configured")
        try:
            body = await _bounded_body(request, self.config.max_body_bytes)
        except BodyTooLarge as exc:
            return _from_exception(exc)
        if not _meta_signature_ok(body, request.headers.get("x-hub-signature-256"), secret):
            return _error(401, "invalid_signature", "bad or missing X-Hub-Signature-256")
        try:
            events, problems = parse_automatic_events(body)
        except PayloadError as exc:  # signed, yet not an envelope: the sender's error, not ours
            return _error(400, "malformed_body", str(exc)[:200])
        if not events and problems:
            return _error(400, "malformed_body", str(problems[0])[:200])
        wabas = dict(self.config.waba_tenants)
        result = await run_in_threadpool(record_automatic_events_by_waba, self.client.store, events, wabas.get)
        return JSONResponse({"stored": {t: len(c) for t, c in result.stored.items()},
                             "unrouted": len(result.unrouted), "problems": len(problems)})

    async def calendar_push(self, request: Request) -> Response:
        tenant_id = request.path_params["tenant_id"]
        try:
            await _bounded_body(request, 65_536)  # Google sends no body; read and drop what comes
        except BodyTooLarge as exc:
            return _from_exception(exc)
        engine = self.client.calendar.engine
        result = await run_in_threadpool(engine.handle_notification, tenant_id, dict(request.headers))
        if result.status == 200 and result.action == "queued":
            # An incremental sync right away: cheap when nothing changed, and the runtime's poll is the
            # safety net if this one fails.
            with contextlib.suppress(IntegrationError):
                await run_in_threadpool(engine.run_queued)
        return JSONResponse({"action": result.action}, status_code=result.status)

    # -- tracked-link redirect ---------------------------------------------------------------------
    async def redirect(self, request: Request) -> Response:
        code = request.path_params["code"]
        link = await run_in_threadpool(
            lambda: record_click(self.client.store.tracked_links, None, code, query=dict(request.query_params),
                                 user_agent=request.headers.get("user-agent"), clock=self.client.clock))
        if link is None:
            return HTMLResponse("<!doctype html><title>Not found</title><h1>Link not found</h1>"
                                f"<p>No tracked link has the code {escape(code[:40])}.</p>", status_code=404)
        # Only ever the wa.me address stored for this code: nothing from the request shapes it.
        return RedirectResponse(link.wa_url, status_code=302)

    # -- REST ------------------------------------------------------------------------------------------
    def _api_endpoint(self, spec: ApiRoute) -> Any:
        async def endpoint(request: Request) -> Response:
            token = await run_in_threadpool(authenticate, self.tokens,
                                            request.headers.get("authorization"))
            if token is None:
                return _error(401, "unauthorized", "a valid Bearer token is required")
            path = dict(request.path_params)
            if path.get("tenant_id") != token.tenant_id:
                # Another tenant's resources do not exist for this token (no hint that they do).
                return _error(404, "not_found", "no such resource")
            try:
                raw = await _bounded_body(request, self.config.max_body_bytes) if spec.method != "GET" else b""
                ctype = request.headers.get("content-type", "")
                body: Any = None
                if raw and "json" in ctype:
                    try:
                        body = json.loads(raw)
                    except (ValueError, RecursionError):
                        return _error(400, "invalid_json", "the body is not valid JSON")
                req = ApiRequest(tenant_id=token.tenant_id, path=path, query=dict(request.query_params),
                                 body=body, raw=raw, content_type=ctype)
                result = await run_in_threadpool(spec.handler, req)
            except Exception as exc:
                return _from_exception(exc)
            if isinstance(result, Streamed):
                return StreamingResponse(_ndjson(result), media_type="application/x-ndjson")
            if spec.produces == "text/html":
                return HTMLResponse(str(result))
            return JSONResponse(jsonable(result), status_code=spec.success)
        endpoint.__name__ = spec.handler.__name__
        return endpoint


async def _ndjson(streamed: Streamed) -> AsyncIterator[bytes]:
    """Progress lines as the worker thread emits them, then its result (or the error it raised,
    as the one JSON error line: the status line has gone out already)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(item: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ("progress", item))

    def work() -> None:
        try:
            final: tuple[str, Any] = ("result", streamed.run(emit))
        except Exception as exc:  # reported in the stream; the boundary maps it like any other error
            final = ("error", exc)
        loop.call_soon_threadsafe(queue.put_nowait, final)

    task = asyncio.ensure_future(run_in_threadpool(work))
    try:
        while True:
            kind, item = await queue.get()
            if kind == "progress":
                yield (json.dumps({"progress": jsonable(item)}, ensure_ascii=False) + "\n").encode()
                continue
            if kind == "error":
                try:
                    answer = _from_exception(item)
                except Exception:  # an untyped failure: no detail leaks
                    log.exception("stream failed")
                    answer = _error(500, "internal", "internal error")
                yield (json.dumps({"error": json.loads(bytes(answer.body))}, ensure_ascii=False) + "\n").encode()
            else:
                yield (json.dumps({"result": jsonable(item)}, ensure_ascii=False) + "\n").encode()
            break
    finally:
        await task


def tokens_of(client: Integrations) -> ApiTokenRepository:
    """The store's API-token repository (both built-in stores have one)."""
    repo = getattr(client.store, "api_tokens", None)
    if repo is None:
        raise ConfigurationError(f"{type(client.store).__name__} has no api_tokens repository; the service needs one")
    return cast(ApiTokenRepository, repo)


def _meta_signature_ok(body: bytes, header: str | None, secret: SecretStr) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def not_found_page() -> PlainTextResponse:
    return PlainTextResponse("not found", status_code=404)
