"""EchoShop endpoints, each described once (`Call` builder + parser), run by sync and async clients.

API (the example provider's documented wire format):

- auth: ``Authorization: Bearer <api token>``; a wrong token gets 401
  ``{"error": {"code": "invalid_token", "message": ...}}``;
- ``GET /v1/orders?page=&size=&updatedSince=&updatedUntil=``: orders sorted by ``updatedAt``,
  page numbers from 0, ``size`` at most 50, ``updatedSince`` inclusive, ``updatedUntil`` exclusive;
- ``GET /v1/orders/{orderNumber}``: one order, 404 ``{"error": {"code": "not_found"}}``;
- throttling: 10 requests per second per token, 429 with ``Retry-After``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Generator, Iterator
from datetime import UTC, datetime
from typing import Any, Self

import httpx
import pydantic
from pydantic import SecretStr

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import PayloadError
from invekto_integrations.core.http import AsyncRunner, Call, ProviderConfig, SyncRunner
from invekto_integrations.core.paging import Page, aiter_items, iter_items
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.orders import Order
from invekto_integrations.providers.base import OrderOrError

from .mapping import to_order
from .wire import EchoOrder, EchoOrderPage

__all__ = ["BASE_URL", "PAGE_SIZE", "PUBLISHED_RATE_LIMIT", "AsyncEchoShopClient", "EchoShopClient"]

BASE_URL = "https://api.echoshop.example"
PAGE_SIZE = 50
PUBLISHED_RATE_LIMIT = RateLimit(10, 1.0)
PROVIDER = "echoshop"
log = logging.getLogger("invekto_echoshop")


class BearerToken(httpx.Auth):
    """Adds the API token; its repr never shows it."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(***)"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _record(raw: dict[str, Any]) -> OrderOrError:
    """One order, or the PayloadError naming its field and number (quarantined by the caller)."""
    number = raw.get("orderNumber")
    try:
        return OrderOrError(order=to_order(EchoOrder.model_validate(raw), raw))
    except (pydantic.ValidationError, ValueError) as exc:
        field, message = None, str(exc)
        if isinstance(exc, pydantic.ValidationError) and exc.errors():
            first = exc.errors()[0]
            field, message = ".".join(str(p) for p in first["loc"]), first["msg"]
        err = PayloadError(message, provider=PROVIDER, field=field, record=str(number) if number else None,
                           operation="list_orders")
        return OrderOrError(error=err, raw=raw)


def list_orders_call(page: int = 0, *, since: datetime | None = None, until: datetime | None = None,
                     size: int = PAGE_SIZE) -> Call[Page[OrderOrError]]:
    """``GET /v1/orders``: one page; ``next_call`` follows ``totalPages``."""

    def parse(response: httpx.Response) -> Page[OrderOrError]:
        body = EchoOrderPage.model_validate(response.json())
        nxt = list_orders_call(page + 1, since=since, until=until, size=size) if page + 1 < body.totalPages else None
        return Page(items=[_record(raw) for raw in body.orders], next_call=nxt, total=body.totalElements)

    params = {"page": page, "size": size, "updatedSince": _iso(since) if since else None,
              "updatedUntil": _iso(until) if until else None}
    return Call("list_orders", "GET", "/v1/orders", parse, params=params)


def get_order_call(order_number: str) -> Call[list[Order]]:
    """``GET /v1/orders/{orderNumber}``."""
    if not order_number:
        raise ValueError("order_number must not be empty")

    def parse(response: httpx.Response) -> list[Order]:
        raw = response.json()
        return [to_order(EchoOrder.model_validate(raw), raw)]

    return Call("get_order", "GET", f"/v1/orders/{order_number}", parse, record=order_number)


def _config(api_token: str | SecretStr, *, account_key: str, base_url: str | None, clock: Clock | None,
            retry: RetryPolicy | None, limiter_registry: RateLimiterRegistry | None, rate_limit: RateLimit | None,
            timeout: float | None) -> ProviderConfig:
    token = api_token if isinstance(api_token, SecretStr) else SecretStr(api_token)
    clock = clock or SystemClock()
    return ProviderConfig(
        provider=PROVIDER, base_url=base_url or BASE_URL, account_key=account_key, auth=BearerToken(token),
        timeout=httpx.Timeout(timeout or 30.0, connect=min(timeout or 10.0, 10.0)),
        rate_limit=rate_limit or PUBLISHED_RATE_LIMIT, retry=retry or RetryPolicy(clock=clock),
        limiter_registry=limiter_registry or DEFAULT_REGISTRY, clock=clock,
    )


class EchoShopClient:
    """Sync EchoShop client (implements the `Marketplace` protocol)."""

    provider = PROVIDER

    def __init__(self, api_token: str | SecretStr, *, account_key: str = "default", base_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry | None = None,
                 rate_limit: RateLimit | None = None, timeout: float | None = None) -> None:
        self._runner = SyncRunner(_config(api_token, account_key=account_key, base_url=base_url, clock=clock,
                                          retry=retry, limiter_registry=limiter_registry, rate_limit=rate_limit,
                                          timeout=timeout), transport=transport)

    def __repr__(self) -> str:
        return f"EchoShopClient(account_key={self._runner.config.account_key!r})"

    def list_orders_page(self, page: int = 0, *, since: datetime | None = None) -> Page[OrderOrError]:
        """One page of orders (``GET /v1/orders``)."""
        return self._runner.run(list_orders_call(page, since=since))

    def iter_orders(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[OrderOrError]:
        """Every order (changed in [since, until) when given), paging to the end."""
        log.debug("echoshop: listing orders since=%s until=%s", since, until)
        return iter_items(self._runner.run, list_orders_call(since=since, until=until))

    def iter_orders_changed(self, since: datetime, until: datetime) -> Iterator[OrderOrError]:
        return self.iter_orders(since, until)

    def get_order(self, order_number: str) -> list[Order]:
        """One order by number (``GET /v1/orders/{orderNumber}``); `NotFound` when unknown."""
        return self._runner.run(get_order_call(order_number))

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEchoShopClient:
    """Async EchoShop client: the same methods as `EchoShopClient`, awaited."""

    provider = PROVIDER

    def __init__(self, api_token: str | SecretStr, *, account_key: str = "default", base_url: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry | None = None,
                 rate_limit: RateLimit | None = None, timeout: float | None = None) -> None:
        self._runner = AsyncRunner(_config(api_token, account_key=account_key, base_url=base_url, clock=clock,
                                           retry=retry, limiter_registry=limiter_registry, rate_limit=rate_limit,
                                           timeout=timeout), transport=transport)

    def __repr__(self) -> str:
        return f"AsyncEchoShopClient(account_key={self._runner.config.account_key!r})"

    async def list_orders_page(self, page: int = 0, *, since: datetime | None = None) -> Page[OrderOrError]:
        return await self._runner.run(list_orders_call(page, since=since))

    def iter_orders(self, since: datetime | None = None,
                    until: datetime | None = None) -> AsyncIterator[OrderOrError]:
        log.debug("echoshop: listing orders since=%s until=%s", since, until)
        return aiter_items(self._runner.run, list_orders_call(since=since, until=until))

    def iter_orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderOrError]:
        return self.iter_orders(since, until)

    async def get_order(self, order_number: str) -> list[Order]:
        return await self._runner.run(get_order_call(order_number))

    async def aclose(self) -> None:
        await self._runner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
