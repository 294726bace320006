"""İYS consent API: endpoints described once, a cached OAuth2 token, sync and async clients.

    POST /oauth2/token                                       password / refresh_token grant
    POST /sps/{iysCode}/brands/{brandCode}/consents          add one
    POST …/consents/request        GET …/consents/request/{requestId}   add many (async batch)
    POST …/consents/status                                   query one (404 → no consent)
    POST …/consents/{recipientType}/status/{type}            query many (≤ 1,000)
    GET  …/consents/changes?source=IYS|HS&after=&limit=      change feed with cursor

The token is cached and refreshed five minutes before expiry (token requests have an hourly
limit, H084); a 401 (H351) gets one fresh token and one repeat.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidArgument,
    InvalidParameter,
    PayloadError,
    ProviderUnavailable,
    RateLimited,
)
from invekto_integrations.core.http import AsyncRunner, Call, ErrorDetails, ProviderConfig, SyncRunner
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.consent import (
    ConsentChangeProblem,
    ConsentChanges,
    ConsentReceipt,
    ConsentRecord,
    ConsentType,
    RecipientType,
)
from invekto_integrations.providers._common import AsyncConnector, SyncConnector

from .mapping import PROVIDER, IysErrorCode, iys_recipient, parse_iys_date, to_consent, to_wire
from .wire import WireBatchItem, WireBatchSubmit, WireChanges, WireConsent, WireErrorBody, WireToken, WireTransaction

__all__ = [
    "IYS_BASE_URL",
    "AsyncIysClient",
    "BatchItemResult",
    "IysAuth",
    "IysClient",
    "IysEndpoints",
    "IysSettings",
    "to_iys_recipient",
]

IYS_BASE_URL = "https://api.iys.org.tr"
MAX_BATCH = 1000
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
TOKEN_LOCKOUT = timedelta(hours=1)


def to_iys_recipient(phone: str) -> str:
    """Any phone form → ``+90XXXXXXXXXX`` (the İYS recipient format for MESAJ/ARAMA), judged by
    format: İYS's own examples use ranges libphonenumber calls unallocated."""
    try:
        return iys_recipient(phone, ConsentType.MESAJ)
    except ValueError as exc:
        raise InvalidParameter(str(exc), provider=PROVIDER, operation="consent", code="recipient") from None


@dataclass(frozen=True)
class IysSettings:
    """``iys_code`` (İYS number of the service provider) and ``brand_code``. ``sps_prefix`` is
    ``/sps``; some clients use ``/v2/sps`` (unverified), so it is configurable."""

    iys_code: str
    brand_code: str
    sps_prefix: str = "/sps"

    def __post_init__(self) -> None:
        if not self.iys_code or not self.brand_code:
            raise ConfigurationError("iys: iys_code and brand_code are required")

    @property
    def brand_path(self) -> str:
        return f"{self.sps_prefix}/{self.iys_code}/brands/{self.brand_code}"


class BatchItemResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    status: str  # success | failure | enqueue | processing
    transaction_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def pending(self) -> bool:
        return self.status in ("enqueue", "processing")


def iys_error_details(response: httpx.Response) -> ErrorDetails:
    try:
        body = WireErrorBody.model_validate(response.json())
    except (ValueError, RecursionError):
        return ErrorDetails(message=response.text[:300] or None)
    first = body.errors[0] if body.errors else None
    return ErrorDetails(code=(first.code if first else None) or body.code,
                        message=(first.message if first else None) or body.message)


def _read_token(response: httpx.Response) -> WireToken:
    """The token answer, or `PayloadError` (it is read inside the auth flow, outside the call's
    own translation of unreadable bodies)."""
    try:
        token = WireToken.model_validate(response.json())
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"unreadable token answer ({type(exc).__name__})", provider=PROVIDER,
                           operation="token", field="access_token", status=response.status_code) from None
    if not _header_safe(token.access_token):
        raise PayloadError("the access token is not a printable ASCII string", provider=PROVIDER,
                           operation="token", field="access_token", status=response.status_code)
    lifetimes = [token.expires_in, token.refresh_expires_in or 1]
    if not all(0 < seconds <= 366 * 86_400 for seconds in lifetimes):
        raise PayloadError(f"token lifetime out of range ({token.expires_in!r})", provider=PROVIDER,
                           operation="token", field="expires_in", status=response.status_code)
    return token


def _header_safe(value: str) -> bool:
    return bool(value) and value.isascii() and value.isprintable()


class IysAuth(httpx.Auth):
    """OAuth2 password grant with a cached token, refresh grant, and a lockout after H084."""

    requires_response_body = True

    def __init__(self, token_url: str, username: str, password: SecretStr, clock: Clock) -> None:
        self.token_url = token_url
        self.username = username
        self._password = password
        self.clock = clock
        self._access: str | None = None
        self._access_until: datetime | None = None
        self._refresh: str | None = None
        self._refresh_until: datetime | None = None
        self._locked_until: datetime | None = None
        self._lock = threading.Lock()
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"IysAuth(username={self.username!r}, password=***)"

    def _valid(self) -> bool:
        return (self._access is not None and self._access_until is not None
                and self.clock.now() < self._access_until - TOKEN_REFRESH_MARGIN)

    def _token_request(self) -> httpx.Request:
        now = self.clock.now()
        if self._locked_until is not None and now < self._locked_until:
            raise RateLimited("İYS token requests are locked out after H084 (hourly limit)", provider=PROVIDER,
                              operation="token", code=IysErrorCode.TOKEN_HOURLY_LIMIT,
                              retry_after=(self._locked_until - now).total_seconds())
        if self._refresh and self._refresh_until and now < self._refresh_until:
            data = {"grant_type": "refresh_token", "refresh_token": self._refresh}
        else:
            data = {"grant_type": "password", "username": self.username,
                    "password": self._password.get_secret_value()}
        self.token_requests += 1
        return httpx.Request("POST", self.token_url, data=data, headers={"Accept": "application/json"})

    def _accept_token(self, response: httpx.Response, was_refresh: bool) -> bool:
        """Store a token; ``False`` means a failed refresh grant (retry with the password)."""
        if response.is_success:
            token = _read_token(response)
            now = self.clock.now()
            self._access = token.access_token
            self._access_until = now + timedelta(seconds=token.expires_in)
            self._refresh = token.refresh_token
            self._refresh_until = now + timedelta(seconds=token.refresh_expires_in or token.expires_in)
            return True
        details = iys_error_details(response)
        if details.code == IysErrorCode.TOKEN_HOURLY_LIMIT:
            self._locked_until = self.clock.now() + TOKEN_LOCKOUT
            raise RateLimited(details.message or "hourly token limit reached", provider=PROVIDER, operation="token",
                              status=response.status_code, code=details.code,
                              retry_after=TOKEN_LOCKOUT.total_seconds())
        if response.status_code >= 500 or response.status_code == 429:
            cls = ProviderUnavailable if response.status_code >= 500 else RateLimited
            raise cls(details.message or "İYS token endpoint unavailable", provider=PROVIDER, operation="token",
                      status=response.status_code, code=details.code)
        if was_refresh:
            self._refresh = self._refresh_until = None
            return False
        raise AuthenticationError(details.message or "İYS refused the API credentials", provider=PROVIDER,
                                  operation="token", status=response.status_code, code=details.code)

    def _obtain(self) -> Generator[httpx.Request, httpx.Response, None]:
        for _ in range(2):
            request = self._token_request()
            was_refresh = b"refresh_token" in request.content
            response = yield request
            if self._accept_token(response, was_refresh):
                return

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._valid():
            yield from self._obtain()
        request.headers["Authorization"] = f"Bearer {self._access}"
        response = yield request
        if response.status_code == 401:
            self._access = None
            self._refresh = None
            yield from self._obtain()
            request.headers["Authorization"] = f"Bearer {self._access}"
            yield request


def _receipt(response: httpx.Response, record: str) -> ConsentReceipt:
    wire = WireTransaction.model_validate(response.json())
    try:
        created = parse_iys_date(wire.creationDate)
    except ValueError as exc:
        raise PayloadError(f"creationDate: {exc}", provider=PROVIDER, field="creationDate", record=record) from exc
    return ConsentReceipt(transaction_id=wire.transactionId, creation_date=created)


class IysEndpoints(ConciseRepr):
    def __init__(self, settings: IysSettings) -> None:
        self.settings = settings

    def add_consent(self, consent: ConsentRecord) -> Call[ConsentReceipt]:
        """Register one consent/rejection (with ``retailerCode``/``retailerAccess`` when set);
        returns İYS's ``transactionId`` and ``creationDate``. ``consent_date`` is required."""
        try:
            body = to_wire(consent)
        except InvalidArgument as exc:
            raise InvalidParameter(str(exc), provider=PROVIDER, operation="add_consent",
                                   code=exc.field or "consent") from None
        return Call("add_consent", "POST", f"{self.settings.brand_path}/consents",
                    lambda r: _receipt(r, consent.recipient), json=body, record=consent.recipient)

    def add_consents_batch(self, consents: Sequence[ConsentRecord]) -> Call[str]:
        """Submit up to 1,000 consents asynchronously; returns ``requestId`` (poll `batch_status`)."""
        if not consents or len(consents) > MAX_BATCH:
            raise InvalidParameter(f"a batch holds 1..{MAX_BATCH} consents", provider=PROVIDER,
                                   operation="add_consents_batch")
        body = [to_wire(c) for c in consents]
        return Call("add_consents_batch", "POST", f"{self.settings.brand_path}/consents/request",
                    lambda r: WireBatchSubmit.model_validate(r.json()).requestId, json=body)

    def batch_status(self, request_id: str) -> Call[list[BatchItemResult]]:
        def parse(response: httpx.Response) -> list[BatchItemResult]:
            items = [WireBatchItem.model_validate(x) for x in response.json()]
            return sorted((BatchItemResult(index=i.index, status=i.status, transaction_id=i.transactionId,
                                           error_code=i.error.code if i.error else None,
                                           error_message=i.error.message if i.error else None) for i in items),
                          key=lambda r: r.index)

        return Call("batch_status", "GET", f"{self.settings.brand_path}/consents/request/{request_id}", parse,
                    record=request_id)

    def query_consent(self, recipient: str, *, type: ConsentType = ConsentType.MESAJ,
                      recipient_type: RecipientType = RecipientType.BIREYSEL) -> Call[ConsentRecord | None]:
        """The İYS record of one recipient; a 404 means no record: ``None`` (no consent)."""
        target = recipient if type == ConsentType.EPOSTA else to_iys_recipient(recipient)

        def parse(response: httpx.Response) -> ConsentRecord | None:
            if response.status_code == 404 or not response.content:
                return None
            return to_consent(WireConsent.model_validate(response.json()))

        return Call("query_consent", "POST", f"{self.settings.brand_path}/consents/status", parse,
                    json={"recipient": target, "recipientType": recipient_type.value, "type": type.value},
                    idempotent=True, ok_statuses=frozenset({404}), record=target)

    def query_consents(self, recipients: Sequence[str], *, type: ConsentType = ConsentType.MESAJ,
                       recipient_type: RecipientType = RecipientType.BIREYSEL) -> Call[list[ConsentRecord]]:
        """Up to 1,000 recipients at once; recipients without a record are absent from the result.
        The answer is read as a JSON array or an object with ``list`` (shape unverified)."""
        if len(recipients) > MAX_BATCH:
            raise InvalidParameter(f"at most {MAX_BATCH} recipients per query", provider=PROVIDER,
                                   operation="query_consents")
        targets = [r if type == ConsentType.EPOSTA else to_iys_recipient(r) for r in recipients]

        def parse(response: httpx.Response) -> list[ConsentRecord]:
            if response.status_code == 404 or not response.content:
                return []
            body: Any = response.json()
            rows = body if isinstance(body, list) else (body.get("list") or body.get("recipients") or [])
            return [to_consent(WireConsent.model_validate(x)) for x in rows if isinstance(x, dict)]

        return Call("query_consents", "POST",
                    f"{self.settings.brand_path}/consents/{recipient_type.value}/status/{type.value}", parse,
                    json={"recipients": targets}, idempotent=True, ok_statuses=frozenset({404}))

    def query_consents_chunked(self, recipients: Sequence[str], *, type: ConsentType = ConsentType.MESAJ,
                               recipient_type: RecipientType = RecipientType.BIREYSEL,
                               ) -> list[Call[list[ConsentRecord]]]:
        """One `query_consents` call per 1,000 recipients (the documented maximum per request)."""
        return [self.query_consents(recipients[start:start + MAX_BATCH], type=type, recipient_type=recipient_type)
                for start in range(0, len(recipients), MAX_BATCH)]

    def pull_changes(self, *, source: str = "IYS", after: str | None = None,
                     limit: int = 100) -> Call[ConsentChanges]:
        if source not in ("IYS", "HS"):
            raise InvalidParameter("source is IYS or HS", provider=PROVIDER, operation="pull_changes")

        def parse(response: httpx.Response) -> ConsentChanges:
            body = WireChanges.model_validate(response.json()) if response.content else WireChanges(after=after)
            items: list[ConsentRecord] = []
            problems: list[ConsentChangeProblem] = []
            for index, raw in enumerate(body.items):  # one bad element never costs the rest of the page
                try:
                    items.append(to_consent(WireConsent.model_validate(raw)))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    problems.append(ConsentChangeProblem(
                        index=index, recipient=str(raw.get("recipient")) if raw.get("recipient") else None,
                        field=".".join(str(p) for p in first["loc"]), error=first["msg"], raw=raw))
                except PayloadError as exc:
                    problems.append(ConsentChangeProblem(index=index, recipient=exc.record, field=exc.field,
                                                         error=exc.message, raw=raw))
            return ConsentChanges(after=body.after or after, items=items, problems=problems)

        return Call("pull_changes", "GET", f"{self.settings.brand_path}/consents/changes", parse,
                    params={"source": source, "after": after, "limit": limit})


def _config(settings: IysSettings, username: str, password: SecretStr, base_url: str | None, clock: Clock,
            retry: RetryPolicy | None, limiter_registry: RateLimiterRegistry,
            timeout: float | None) -> ProviderConfig:
    base = (base_url or IYS_BASE_URL).rstrip("/")
    config = ProviderConfig(
        provider=PROVIDER, base_url=base, account_key=f"{settings.iys_code}/{settings.brand_code}",
        auth=IysAuth(f"{base}/oauth2/token", username, password, clock),
        rate_limit=RateLimit(100, 60.0, burst=10),  # query-one ~100 req/min (unverified)
        retry=retry or RetryPolicy(clock=clock), limiter_registry=limiter_registry, clock=clock,
        error_details=iys_error_details,
    )
    return config.with_options(timeout=httpx.Timeout(timeout)) if timeout else config


class IysClient(SyncConnector):
    """Sync İYS connector for one brand (implements `providers.base.ConsentSource`)."""

    provider = PROVIDER

    def __init__(self, settings: IysSettings, username: str, password: SecretStr, *, base_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY,
                 timeout: float | None = None) -> None:
        self.clock = clock or SystemClock()
        self.settings = settings
        self.endpoints = IysEndpoints(settings)
        config = _config(settings, username, password, base_url, self.clock, retry, limiter_registry, timeout)
        assert isinstance(config.auth, IysAuth)
        self.auth = config.auth
        self._runner = SyncRunner(config, transport=transport)

    def add_consent(self, consent: ConsentRecord) -> ConsentReceipt:
        return self._runner.run(self.endpoints.add_consent(consent))

    def add_consents_batch(self, consents: Sequence[ConsentRecord]) -> str:
        return self._runner.run(self.endpoints.add_consents_batch(consents))

    def batch_status(self, request_id: str) -> list[BatchItemResult]:
        return self._runner.run(self.endpoints.batch_status(request_id))

    def query_consent(self, recipient: str, *, type: ConsentType = ConsentType.MESAJ,
                      recipient_type: RecipientType = RecipientType.BIREYSEL) -> ConsentRecord | None:
        return self._runner.run(self.endpoints.query_consent(recipient, type=type, recipient_type=recipient_type))

    def query_consents(self, recipients: Sequence[str], *, type: ConsentType = ConsentType.MESAJ,
                       recipient_type: RecipientType = RecipientType.BIREYSEL) -> list[ConsentRecord]:
        """Any number of recipients, queried in chunks of 1,000."""
        out: list[ConsentRecord] = []
        for call in self.endpoints.query_consents_chunked(recipients, type=type, recipient_type=recipient_type):
            found: list[ConsentRecord] = self._runner.run(call)
            out.extend(found)
        return out

    def pull_changes(self, *, source: str = "IYS", after: str | None = None, limit: int = 100) -> ConsentChanges:
        return self._runner.run(self.endpoints.pull_changes(source=source, after=after, limit=limit))

    def iter_changes(self, *, source: str = "IYS", after: str | None = None,
                     limit: int = 100) -> Iterator[ConsentChanges]:
        """Pages of the change feed until one comes back empty (the last page's ``after`` is the cursor)."""
        while True:
            page = self.pull_changes(source=source, after=after, limit=limit)
            yield page
            if not (page.items or page.problems) or page.after == after:
                return
            after = page.after

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncIysClient(AsyncConnector):
    """Async twin of `IysClient`."""

    provider = PROVIDER

    def __init__(self, settings: IysSettings, username: str, password: SecretStr, *, base_url: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY,
                 timeout: float | None = None) -> None:
        self.clock = clock or SystemClock()
        self.settings = settings
        self.endpoints = IysEndpoints(settings)
        config = _config(settings, username, password, base_url, self.clock, retry, limiter_registry, timeout)
        assert isinstance(config.auth, IysAuth)
        self.auth = config.auth
        self._runner = AsyncRunner(config, transport=transport)

    async def add_consent(self, consent: ConsentRecord) -> ConsentReceipt:
        return await self._runner.run(self.endpoints.add_consent(consent))

    async def add_consents_batch(self, consents: Sequence[ConsentRecord]) -> str:
        return await self._runner.run(self.endpoints.add_consents_batch(consents))

    async def batch_status(self, request_id: str) -> list[BatchItemResult]:
        return await self._runner.run(self.endpoints.batch_status(request_id))

    async def query_consent(self, recipient: str, *, type: ConsentType = ConsentType.MESAJ,
                            recipient_type: RecipientType = RecipientType.BIREYSEL) -> ConsentRecord | None:
        return await self._runner.run(self.endpoints.query_consent(recipient, type=type,
                                                                   recipient_type=recipient_type))

    async def query_consents(self, recipients: Sequence[str], *, type: ConsentType = ConsentType.MESAJ,
                             recipient_type: RecipientType = RecipientType.BIREYSEL) -> list[ConsentRecord]:
        """Any number of recipients, queried in chunks of 1,000."""
        out: list[ConsentRecord] = []
        for call in self.endpoints.query_consents_chunked(recipients, type=type, recipient_type=recipient_type):
            found: list[ConsentRecord] = await self._runner.run(call)
            out.extend(found)
        return out

    async def pull_changes(self, *, source: str = "IYS", after: str | None = None,
                           limit: int = 100) -> ConsentChanges:
        return await self._runner.run(self.endpoints.pull_changes(source=source, after=after, limit=limit))

    async def iter_changes(self, *, source: str = "IYS", after: str | None = None,
                           limit: int = 100) -> AsyncIterator[ConsentChanges]:
        while True:
            page = await self.pull_changes(source=source, after=after, limit=limit)
            yield page
            if not (page.items or page.problems) or page.after == after:
                return
            after = page.after

    async def aclose(self) -> None:
        await self._runner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
