"""One base client over httpx: each endpoint is described once, two thin runners execute it.

A provider describes a call as a `Call[T]`: method, path, query, body, headers, whether it is safe
to repeat, and a parser from `httpx.Response` to ``T``. `SyncRunner` (httpx.Client) and
`AsyncRunner` (httpx.AsyncClient) run the same `Call` under the same rate limit, retry policy and
error translation, so `TrendyolClient` and `AsyncTrendyolClient` share every line of wire logic.

This module is the exception boundary: httpx transport errors, pydantic validation errors and
XML parse errors raised inside a parser come out as the typed errors of `core.errors`; so do a
parser's `RecursionError` (deeply nested JSON/XML), `OverflowError` and `OSError` (dates beyond
any calendar). Bodies are streamed: reading stops at ``max_body_bytes`` and at the request's total
``deadline`` (a body dripped one byte at a time never outlives it). A 2xx body that does not
decode at all (cut mid-transfer) is a transient `PayloadError` (``truncated``): a call that is
safe to repeat is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Self, TypeVar
from xml.etree.ElementTree import ParseError

import httpx
import pydantic

from invekto_integrations._version import __version__

from .clock import Clock, SystemClock
from .errors import (
    AuthenticationError,
    ConfigurationError,
    IntegrationError,
    InvalidRequest,
    NotFound,
    PayloadError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from .ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry, TokenBucket, registry_for
from .reprs import ConciseRepr
from .retry import RetryPolicy, parse_retry_after

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "AsyncRunner",
    "Call",
    "ErrorDetails",
    "ProviderConfig",
    "SyncRunner",
    "check_base_url",
    "default_error_details",
    "error_for_response",
]

T = TypeVar("T")
log = logging.getLogger("invekto_integrations.http")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024  # a page of orders is KBs to a few MB
_REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "x-fb-trace-id", "x-amzn-requestid", "x-trace-id")


@dataclass(frozen=True)
class ErrorDetails:
    """What a provider's error body says: its own code and message, and a request id when the body
    carries one (used when no response header has one)."""

    code: str | None = None
    message: str | None = None
    request_id: str | None = None


def default_error_details(response: httpx.Response) -> ErrorDetails:
    """Best effort for JSON bodies with a ``code``/``message``/``error`` key; else the text."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return ErrorDetails(message=text[:300] or None)
    if isinstance(body, Mapping):
        code = body.get("code") or body.get("errorCode") or body.get("exception")
        message = body.get("message") or body.get("error") or body.get("errorMessage")
        if isinstance(message, Mapping):
            code = code or message.get("code")
            message = message.get("message")
        return ErrorDetails(
            code=str(code) if code is not None else None,
            message=str(message) if message is not None else None,
        )
    return ErrorDetails(message=str(body)[:300])


def check_base_url(provider: str, base_url: str) -> str:
    """``base_url`` itself when it is an absolute http(s) URL with a host, else `ConfigurationError`.

    Checked when a `ProviderConfig` is built, so a typo fails at construction, naming the provider,
    instead of at the first call (or, worse, as a retried "provider unavailable").
    """
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"{provider}: base_url {base_url!r} is not a URL: {exc}") from exc
    if url.scheme not in ("http", "https"):
        raise ConfigurationError(f"{provider}: base_url {base_url!r} must start with http:// or https://")
    if not url.host:
        raise ConfigurationError(f"{provider}: base_url {base_url!r} has no host")
    return base_url


@dataclass(frozen=True)
class ProviderConfig:
    """Everything the runners need to talk to one provider account."""

    provider: str
    base_url: str
    account_key: str = "default"
    auth: httpx.Auth | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    user_agent: str | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(30.0, connect=10.0))
    rate_limit: RateLimit | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    error_details: Callable[[httpx.Response], ErrorDetails] = default_error_details
    # Treats some non-2xx answers as the provider's own throttling (e.g. a 200 with a code).
    limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY
    clock: Clock = field(default_factory=SystemClock)
    # Reading stops past this many bytes (checked while streaming, never after downloading it all).
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Total seconds for one attempt (connect, send, every body byte); None: see `total_deadline`.
    deadline: float | None = None

    def __post_init__(self) -> None:
        check_base_url(self.provider, self.base_url)

    def total_deadline(self) -> float:
        """``deadline``, else connecting plus one read period (so the per-phase timeouts still fire
        first on a plain stall, and a trickle is cut soon after): 4 s for ``timeout=2``."""
        if self.deadline is not None:
            return self.deadline
        t = self.timeout
        phases = [v for v in (t.read, t.write, t.pool) if v is not None]
        if t.connect is None and not phases:
            return 120.0
        return (t.connect or 0.0) + max(phases, default=60.0)

    def with_options(self, **changes: Any) -> ProviderConfig:
        """A copy with some options changed (timeout, retry, headers ...)."""
        return replace(self, **changes)

    def default_headers(self) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent or f"invekto-integrations/{__version__}"}
        headers.update(self.headers)
        return headers

    def bucket(self) -> TokenBucket | None:
        if self.rate_limit is None:
            return None
        registry = self.limiter_registry
        if registry is DEFAULT_REGISTRY:  # the real-time default: a fake clock gets its own registry
            registry = registry_for(self.clock)
        return registry.bucket(self.provider, self.account_key, self.rate_limit)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to a provider and how to read its answer.

    ``idempotent`` defaults from the method (GET/PUT/DELETE are safe to repeat, POST/PATCH are not);
    an endpoint that sends an idempotency key sets it to ``True`` explicitly.
    """

    operation: str
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: bytes | str | None = None
    headers: Mapping[str, str] | None = None
    idempotent: bool | None = None
    ok_statuses: frozenset[int] = frozenset()
    record: str | None = None

    @property
    def safe_to_repeat(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() in _SAFE_METHODS

    def map(self, fn: Callable[[T], Any]) -> Call[Any]:
        """The same request with a further transformation of the parsed result."""
        parse = self.parse
        return replace(self, parse=lambda r: fn(parse(r)))


def _request_id(response: httpx.Response) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def error_for_response(config: ProviderConfig, call: Call[Any], response: httpx.Response) -> ProviderError:
    """Translate a non-success answer into the typed hierarchy."""
    try:
        details = config.error_details(response)
    except (ValueError, TypeError, LookupError, AttributeError, RecursionError):
        # An error body no reader can make sense of (nested thousands deep, wrong types): the status
        # still says what happened, and its text is the message.
        details = ErrorDetails(message=response.text[:300] or None)
    status = response.status_code
    kw: dict[str, Any] = {
        "provider": config.provider,
        "operation": call.operation,
        "status": status,
        "code": details.code,
        "request_id": _request_id(response) or details.request_id,
    }
    message = details.message or response.reason_phrase or f"HTTP {status}"
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"), config.clock.now())
        if retry_after is None:
            retry_after = parse_retry_after(response.headers.get("x-ratelimit-reset"), config.clock.now())
        return RateLimited(message, retry_after=retry_after, **kw)
    if status in (401, 403):
        return AuthenticationError(message, **kw)
    if status == 404:
        # Name what was asked for: a 404 from a wrong base URL (a sandbox path, a missing prefix)
        # otherwise reads like a missing record.
        return NotFound(f"{message} ({_where_sent(response.request)})", **kw)
    if status >= 500:
        err = ProviderUnavailable(message, **kw)
        if status == 503:  # RFC 9110: how long the service expects to be unavailable
            err.retry_after = parse_retry_after(response.headers.get("retry-after"), config.clock.now())
        return err
    return InvalidRequest(message, **kw)


def _where_sent(request: httpx.Request) -> str:
    """``METHOD scheme://host/path`` of a request, without its query (it may carry a key)."""
    return f"{request.method} {request.url.copy_with(query=None, fragment=None)}"


def _transport_error(config: ProviderConfig, call: Call[Any], exc: httpx.TransportError) -> ProviderUnavailable:
    try:
        where = f" ({_where_sent(exc.request)})"
    except RuntimeError:  # an error raised before httpx attached the request
        where = ""
    err = ProviderUnavailable(
        (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) + where,
        provider=config.provider,
        operation=call.operation,
    )
    # Nothing reached the server: repeating even a POST cannot create a duplicate.
    err.unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    return err


def _send_error(config: ProviderConfig, call: Call[Any], exc: Exception) -> IntegrationError:
    """Any other httpx failure while sending: a bad URL is our configuration, the rest the provider's."""
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return ConfigurationError(f"{config.provider} {call.operation}: {exc}")
    return ProviderError(f"{type(exc).__name__}: {exc}", provider=config.provider, operation=call.operation)


def _payload_error(config: ProviderConfig, call: Call[Any], exc: Exception, response: httpx.Response) -> PayloadError:
    field_name: str | None = None
    message = str(exc)
    if isinstance(exc, pydantic.ValidationError):
        first = exc.errors()[0] if exc.errors() else None
        if first:
            field_name = ".".join(str(p) for p in first["loc"])
            message = first["msg"]
    return PayloadError(
        message,
        provider=config.provider,
        field=field_name,
        record=call.record,
        operation=call.operation,
        status=response.status_code,
        request_id=_request_id(response),
    )


# expat: "no element found", "unclosed token", "partial character" — what a cut document reports
_CUT_XML_CODES = frozenset({3, 5, 6})


def _cut_json(doc: str) -> bool:
    """Whether ``doc`` is a prefix of some JSON text (brackets balanced so far, then it just ends):
    a body cut mid-transfer, as opposed to one that is wrong (a mismatched bracket, an HTML page)."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in doc:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append(ch)
        elif ch in "]}" and (not stack or stack.pop() != ("[" if ch == "]" else "{")):
            return False
    return in_string or bool(stack)


def _unreadable(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is a body cut mid-transfer: JSON or XML that just ends."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, json.JSONDecodeError):
            return _cut_json(exc.doc)
        if isinstance(exc, ParseError):
            return getattr(exc, "code", None) in _CUT_XML_CODES
        if isinstance(exc, UnicodeDecodeError):
            return exc.reason == "unexpected end of data"
        exc = exc.__cause__ or exc.__context__
    return False


def _handle(config: ProviderConfig, call: Call[T], response: httpx.Response) -> T:
    if not (response.is_success or response.status_code in call.ok_statuses):
        raise error_for_response(config, call, response)
    try:
        return call.parse(response)
    except PayloadError as exc:
        exc.truncated = _unreadable(exc)
        raise
    except IntegrationError:
        raise
    except RecursionError as exc:
        raise _payload_error(config, call, ValueError("nested too deeply to read"), response) from exc
    except (pydantic.ValidationError, ValueError, KeyError, TypeError, AttributeError, LookupError,
            ArithmeticError, OSError) as exc:
        err = _payload_error(config, call, exc, response)
        err.truncated = _unreadable(exc)  # a cut body: another attempt may read it whole
        raise err from exc


def _too_large(config: ProviderConfig, call: Call[Any], response: httpx.Response) -> PayloadError:
    return PayloadError(f"response body over {config.max_body_bytes} bytes: not read further",
                        provider=config.provider, field="body", record=call.record, operation=call.operation,
                        status=response.status_code, request_id=_request_id(response))


def _overdue(config: ProviderConfig, call: Call[Any]) -> ProviderUnavailable:
    return ProviderUnavailable(f"no complete answer within the {config.total_deadline():g} s deadline",
                               provider=config.provider, operation=call.operation)


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _keep(response: httpx.Response, chunks: list[bytes]) -> httpx.Response:
    # What `Response.read()` does after iterating: the decoded body becomes `.content`.
    response._content = b"".join(chunks)
    return response


@contextlib.contextmanager
def _boundary(config: ProviderConfig, call: Call[Any]) -> Iterator[None]:
    """Translate httpx's exceptions raised while sending into the typed tree."""
    try:
        yield
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        # Our configuration, not the provider's outage: checked before `TransportError` (of which
        # `UnsupportedProtocol` is a subclass) so it is never retried as `ProviderUnavailable`.
        raise _send_error(config, call, exc) from exc
    except httpx.TransportError as exc:
        raise _transport_error(config, call, exc) from exc
    except httpx.HTTPError as exc:
        raise _send_error(config, call, exc) from exc


def _client_options(config: ProviderConfig) -> dict[str, Any]:
    return {
        "base_url": config.base_url,
        "auth": config.auth,
        "headers": config.default_headers(),
        "timeout": config.timeout,
    }


def _build(call: Call[Any]) -> dict[str, Any]:
    return {
        "method": call.method,
        "url": call.path,
        "params": {k: v for k, v in (call.params or {}).items() if v is not None},
        "json": call.json,
        "content": call.content,
        "headers": dict(call.headers or {}),
    }


def _finish(config: ProviderConfig, call: Call[T], response: httpx.Response) -> T:
    # Log never the headers or body: they carry credentials and personal data.
    log.debug("%s %s %s -> %s", config.provider, call.operation, call.method, response.status_code)
    return _handle(config, call, response)


def _attach(result: T, **runner: Any) -> T:
    """A `Page` learns who fetched it, so ``page.get_next_page()`` works on what a client returned."""
    from .paging import Page

    if isinstance(result, Page):
        for name, fn in runner.items():
            setattr(result, name, fn)
    return result


class SyncRunner(ConciseRepr, fields=("config.provider", "config.base_url")):
    """Runs `Call`s on an `httpx.Client` (pooled connections; pass ``transport`` to use a fake)."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self._owns = http_client is None
        self._http = http_client or httpx.Client(transport=transport, **_client_options(config))

    def run(self, call: Call[T]) -> T:
        bucket = self.config.bucket()

        def once() -> T:
            if bucket is not None:
                bucket.acquire()
            with _boundary(self.config, call):
                response = self._fetch(call)
            return _finish(self.config, call, response)

        return _attach(self.config.retry.call(once, safe=call.safe_to_repeat), fetch=self.run)

    @property
    def http(self) -> httpx.Client:
        """The pooled httpx client (shared by copies from ``with_options``; closed by its owner only)."""
        return self._http

    def _fetch(self, call: Call[Any]) -> httpx.Response:
        config = self.config
        # Real time on purpose: the deadline bounds network I/O, as httpx's own timeouts do.
        deadline = time.monotonic() + config.total_deadline()
        request = self._http.build_request(**_build(call), timeout=config.timeout)
        response = self._http.send(request, stream=True)
        try:
            if (_declared_length(response) or 0) > config.max_body_bytes:
                raise _too_large(config, call, response)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > config.max_body_bytes:
                    raise _too_large(config, call, response)
                if time.monotonic() > deadline:
                    raise _overdue(config, call)
                chunks.append(chunk)
            return _keep(response, chunks)
        finally:
            response.close()

    def close(self) -> None:
        if self._owns:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRunner(ConciseRepr, fields=("config.provider", "config.base_url")):
    """Runs `Call`s on an `httpx.AsyncClient`, with the same policy as `SyncRunner`."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self._owns = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, **_client_options(config))

    async def run(self, call: Call[T]) -> T:
        bucket = self.config.bucket()

        async def once() -> T:
            if bucket is not None:
                await bucket.aacquire()
            with _boundary(self.config, call):
                try:
                    async with asyncio.timeout(self.config.total_deadline()):
                        response = await self._fetch(call)
                except TimeoutError as exc:
                    raise _overdue(self.config, call) from exc
            return _finish(self.config, call, response)

        return _attach(await self.config.retry.acall(once, safe=call.safe_to_repeat), afetch=self.run)

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http

    async def _fetch(self, call: Call[Any]) -> httpx.Response:
        config = self.config
        request = self._http.build_request(**_build(call), timeout=config.timeout)
        response = await self._http.send(request, stream=True)
        try:
            if (_declared_length(response) or 0) > config.max_body_bytes:
                raise _too_large(config, call, response)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > config.max_body_bytes:
                    raise _too_large(config, call, response)
                chunks.append(chunk)
            return _keep(response, chunks)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._owns:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
