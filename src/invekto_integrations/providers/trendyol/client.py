"""Trendyol Seller API: shipment packages (orders) and claims, sync and async.

Each endpoint is described once in `TrendyolEndpoints` (a `Call` builder with its parser); the
listing logic (14-day windows, narrowing a window that holds more than the 10,000 reachable rows)
is one plan in `orders_plan`; `TrendyolClient` and `AsyncTrendyolClient` only run them.

Docs: https://developers.trendyol.com/docs/sipariş-paketlerini-çekme-getshipmentpackages
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict, Unpack

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.errors import ConfigurationError, InvalidArgument, PayloadError
from invekto_integrations.core.http import AsyncRunner, Call, ErrorDetails, SyncRunner
from invekto_integrations.core.paging import Page, aiter_items, iter_items
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.claims import ReturnClaim
from invekto_integrations.models.orders import Order
from invekto_integrations.providers._common import AsyncConnector, ProviderDefaults, SyncConnector, reveal
from invekto_integrations.providers._marketplace import (
    Fetch,
    Plan,
    adrive,
    check_identifier,
    check_window,
    drive,
    order_not_found,
    payload_error,
    split_windows,
    to_epoch_ms,
)
from invekto_integrations.providers.base import Environment, OrderOrError

from .mapping import OrderDateEncoding, order_from, to_claim
from .wire import TrendyolClaim, TrendyolPageEnvelope, validate_package

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_REACHABLE",
    "MAX_WINDOW",
    "ORDERS_RATE_LIMIT",
    "PRODUCTION_URL",
    "STAGE_URL",
    "AsyncTrendyolClient",
    "OrderBy",
    "TrendyolClient",
    "TrendyolEndpoints",
    "trendyol_error_details",
]

log = logging.getLogger("invekto_integrations.providers.trendyol")

PROVIDER = "trendyol"
PRODUCTION_URL = "https://apigw.trendyol.com/integration"
STAGE_URL = "https://stageapigw.trendyol.com/integration"
ORDERS_RATE_LIMIT = RateLimit.per_minute(1000)  # getShipmentPackages, per seller
MAX_PAGE_SIZE = 200
MAX_WINDOW = timedelta(days=14)
MAX_REACHABLE = 10_000
HISTORY = timedelta(days=90)
MIN_WINDOW = timedelta(minutes=1)
MAX_SPLITS = 64  # narrowings per listing: a server that always claims "too many" cannot multiply requests
_INTEGRATOR = re.compile(r"^[A-Za-z0-9]{1,30}$")


class OrderBy(StrEnum):
    LAST_MODIFIED = "PackageLastModifiedDate"
    CREATED = "CreatedDate"


def trendyol_error_details(response: httpx.Response) -> ErrorDetails:
    """Trendyol error bodies: ``{"exception": ..., "message": ...}`` or ``{"errors": [{key, message}]}``."""
    try:
        body = response.json()
    except ValueError:
        return ErrorDetails(message=response.text.strip()[:300] or None)
    if not isinstance(body, dict):
        return ErrorDetails(message=str(body)[:300])
    code = body.get("exception")
    message = body.get("message") or body.get("errorMessage")
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = code or errors[0].get("key")
        message = message or errors[0].get("message")
    return ErrorDetails(code=str(code) if code else None, message=str(message) if message else None)


DEFAULTS = ProviderDefaults(PROVIDER, {"production": PRODUCTION_URL, "test": STAGE_URL},
                            rate_limit=ORDERS_RATE_LIMIT, error_details=trendyol_error_details)


def _record_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        for key in ("id", "shipmentPackageId", "orderNumber"):
            if raw.get(key) is not None:
                return str(raw[key])
    return None


@dataclass(frozen=True)
class TrendyolEndpoints:
    """The endpoints of one seller: each a `Call` builder plus its parser."""

    seller_id: str
    order_date_encoding: OrderDateEncoding = OrderDateEncoding.UTC
    page_size: int = MAX_PAGE_SIZE
    max_reachable: int = MAX_REACHABLE
    keep_raw: bool = True

    @property
    def _orders_path(self) -> str:
        return f"/order/sellers/{self.seller_id}/orders"

    def parse_package(self, raw: Any, operation: str = "list_packages") -> OrderOrError:
        """One ``content[]`` item → `Order`, or the `PayloadError` that names the bad field."""
        try:
            if not isinstance(raw, dict):
                raise PayloadError("a package is not a JSON object", provider=PROVIDER)
            pkg = validate_package(raw)
            return OrderOrError(order=order_from(pkg, raw if self.keep_raw else None, self.order_date_encoding),
                                raw=raw)
        except (ValueError, TypeError, PayloadError) as exc:
            err = payload_error(PROVIDER, exc, _record_of(raw), operation)
            return OrderOrError(error=err, raw=raw if isinstance(raw, dict) else {"value": raw})

    def list_packages(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        status: str | None = None,
        order_number: str | None = None,
        page: int = 0,
        size: int | None = None,
        order_by: OrderBy = OrderBy.LAST_MODIFIED,
        direction: str = "ASC",
    ) -> Call[Page[OrderOrError]]:
        """GET /order/sellers/{sellerId}/orders (getShipmentPackages), one page.

        ``end`` is exclusive: it is sent as ``endDate = end - 1 ms`` (Trendyol's bound is inclusive).
        """
        size = min(size or self.page_size, MAX_PAGE_SIZE)
        params: dict[str, Any] = {
            "startDate": to_epoch_ms(start) if start else None,
            "endDate": to_epoch_ms(end) - 1 if end else None,
            "status": status,
            "orderNumber": order_number,
            "page": page,
            "size": size,
            "orderByField": order_by.value,
            "orderByDirection": direction,
        }

        def parse(response: httpx.Response) -> Page[OrderOrError]:
            env = TrendyolPageEnvelope.model_validate(response.json())
            items = [self.parse_package(raw) for raw in env.content]
            # An empty page ends the listing whatever the totals claim (a page claiming 10**30
            # elements with no content must not cost thousands of requests).
            more = bool(items) and page + 1 < env.totalPages and (page + 1) * size < self.max_reachable
            nxt = self.list_packages(start=start, end=end, status=status, order_number=order_number, page=page + 1,
                                     size=size, order_by=order_by, direction=direction) if more else None
            return Page(items=items, next_call=nxt, total=env.totalElements,
                        info={"page": env.page, "totalPages": env.totalPages})

        return Call("list_packages", "GET", self._orders_path, parse, params=params, record=order_number)

    def list_claims(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        status: str | None = None,
        order_number: str | None = None,
        page: int = 0,
        size: int | None = None,
    ) -> Call[Page[ReturnClaim]]:
        """GET /order/sellers/{sellerId}/claims (getClaims), one page; a malformed claim raises."""
        size = min(size or self.page_size, MAX_PAGE_SIZE)
        params: dict[str, Any] = {
            "claimItemStatus": status,
            "startDate": to_epoch_ms(start) if start else None,
            "endDate": to_epoch_ms(end) - 1 if end else None,
            "orderNumber": order_number,
            "page": page,
            "size": size,
        }

        def parse(response: httpx.Response) -> Page[ReturnClaim]:
            env = TrendyolPageEnvelope.model_validate(response.json())
            claims: list[ReturnClaim] = []
            for raw in env.content:
                try:
                    claims.append(to_claim(TrendyolClaim.model_validate(raw), raw if self.keep_raw else None))
                except ValueError as exc:
                    raise payload_error(PROVIDER, exc, _record_of(raw), "list_claims") from exc
            more = bool(claims) and page + 1 < env.totalPages
            nxt = self.list_claims(start=start, end=end, status=status, order_number=order_number, page=page + 1,
                                   size=size) if more else None
            return Page(items=claims, next_call=nxt, total=env.totalElements)

        return Call("list_claims", "GET", f"/order/sellers/{self.seller_id}/claims", parse, params=params)


def orders_plan(
    ep: TrendyolEndpoints,
    since: datetime,
    until: datetime,
    *,
    now: datetime,
    status: str | None = None,
    order_by: OrderBy = OrderBy.LAST_MODIFIED,
    window: timedelta = MAX_WINDOW,
    history: timedelta = HISTORY,
) -> Plan:
    """Every package in ``[since, until)``: ≤14-day windows, each paged to the end, and a window
    whose ``totalElements`` exceeds the reachable 10,000 split in halves until it fits."""
    since, until = check_window(PROVIDER, since, until)
    oldest = now - history
    if since < oldest:
        log.warning("trendyol: history is limited to %s; listing from %s instead of %s", history, oldest, since)
        since = oldest
    seen: set[tuple[str, datetime]] = set()
    budget = [MAX_SPLITS]
    for start, end in split_windows(since, until, window):
        window_plan = _window_plan(ep, start, end, status, order_by, budget)
        value: Any = None
        while True:
            try:
                step = window_plan.send(value)
            except StopIteration:
                break
            if isinstance(step, Fetch):
                value = yield step
                continue
            value = None
            if step.order is not None:
                # A package modified while we page moves to a later page: yield each version once.
                key = (step.order.external_id, step.order.updated_at)
                if key in seen:
                    continue
                seen.add(key)
            yield step


def _window_plan(ep: TrendyolEndpoints, start: datetime, end: datetime, status: str | None,
                 order_by: OrderBy, budget: list[int]) -> Plan:
    page: Page[OrderOrError] = yield Fetch(ep.list_packages(start=start, end=end, status=status, order_by=order_by))
    # Narrow only a window whose first page is full: a short page holds every row whatever the total says.
    full = len(page.items) >= min(ep.page_size, MAX_PAGE_SIZE)
    if (page.total or 0) > ep.max_reachable and full:
        if end - start > MIN_WINDOW and budget[0] > 0:
            budget[0] -= 1
            mid = start + (end - start) / 2
            yield from _window_plan(ep, start, mid, status, order_by, budget)
            yield from _window_plan(ep, mid, end, status, order_by, budget)
            return
        log.warning("trendyol: %s rows claimed in a %s window; only %s are reachable",
                    str(page.total)[:24], end - start, ep.max_reachable)
    yield from page.items
    while page.next_call is not None:
        page = yield Fetch(page.next_call)
        yield from page.items


def order_plan(ep: TrendyolEndpoints, order_number: str) -> Plan:
    """All packages of one order number (errors raised, not quarantined: the caller asked for it).

    The documented lookup (getShipmentPackages ``?orderNumber=``) answers an unknown number with an
    empty page, not a 404: that is raised as `NotFound`, as `Marketplace.get_order` promises.
    """
    order_number = check_identifier(PROVIDER, "order_number", order_number)
    found = False
    call: Call[Page[OrderOrError]] | None = ep.list_packages(order_number=order_number)
    while call is not None:
        page: Page[OrderOrError] = yield Fetch(call)
        for item in page.items:
            if item.error is not None:
                raise item.error
            found = True
            yield item.order
        call = page.next_call
    if not found:
        raise order_not_found(PROVIDER, order_number)


class TrendyolOptions(TypedDict, total=False):
    """The keyword options of `TrendyolClient` / `AsyncTrendyolClient` (see `_TrendyolBase`)."""

    integrator_name: str | None
    environment: Environment | str
    base_url: str | None
    clock: Clock | None
    retry: RetryPolicy | None
    limiter_registry: RateLimiterRegistry | None
    timeout: float | None
    order_date_encoding: OrderDateEncoding | str
    page_size: int
    max_reachable: int
    history: timedelta
    rate_limit: RateLimit | None


class _TrendyolBase:
    provider = PROVIDER

    def __init__(
        self,
        seller_id: str,
        api_key: str | SecretStr,
        api_secret: str | SecretStr,
        *,
        integrator_name: str | None = None,
        environment: Environment | str = Environment.PRODUCTION,
        base_url: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        limiter_registry: RateLimiterRegistry | None = None,
        timeout: float | None = None,
        order_date_encoding: OrderDateEncoding | str = OrderDateEncoding.UTC,
        page_size: int = MAX_PAGE_SIZE,
        max_reachable: int = MAX_REACHABLE,
        history: timedelta = HISTORY,
        rate_limit: RateLimit | None = None,
    ) -> None:
        seller_id = str(seller_id).strip()
        if not seller_id:
            raise ConfigurationError("trendyol: seller_id is required")
        if integrator_name is not None and not _INTEGRATOR.match(integrator_name):
            raise ConfigurationError("trendyol: integrator_name must be alphanumeric, at most 30 characters")
        key, secret = reveal(api_key), reveal(api_secret)
        if not key or not secret:
            raise ConfigurationError("trendyol: api_key and api_secret are required")
        try:
            encoding = OrderDateEncoding(order_date_encoding)
        except ValueError as exc:
            raise InvalidArgument(
                f"unknown order_date_encoding {order_date_encoding!r} "
                f"(one of {', '.join(e.value for e in OrderDateEncoding)})",
                provider=PROVIDER, field="order_date_encoding",
            ) from exc
        for name, value in (("page_size", page_size), ("max_reachable", max_reachable)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(f"{name} must be a positive integer, got {value!r}", provider=PROVIDER,
                                      field=name)
        self.seller_id = seller_id
        self.history = history
        self.user_agent = f"{seller_id} - {integrator_name or 'SelfIntegration'}"
        self.endpoints = TrendyolEndpoints(seller_id, encoding, min(page_size, MAX_PAGE_SIZE), max_reachable)
        self.config = DEFAULTS.config(
            account_key=seller_id, auth=httpx.BasicAuth(key, secret), user_agent=self.user_agent,
            environment=environment, base_url=base_url, clock=clock, retry=retry,
            limiter_registry=limiter_registry, timeout=timeout, rate_limit=rate_limit,
        )
        self.clock: Clock = self.config.clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seller_id={self.seller_id!r}, base_url={self.config.base_url!r})"

    def _orders_plan(self, since: datetime, until: datetime, status: str | None, order_by: OrderBy) -> Plan:
        return orders_plan(self.endpoints, since, until, now=self.clock.now(), status=status, order_by=order_by,
                           history=self.history)


class TrendyolClient(_TrendyolBase, SyncConnector):
    """Trendyol Seller API for one seller (sync). Implements `providers.base.Marketplace`.

    Args: ``seller_id``, ``api_key``, ``api_secret`` (Basic auth), ``integrator_name`` (User-Agent
    ``"{sellerId} - {name}"``, default ``SelfIntegration``), ``environment`` (production|test),
    ``base_url`` (overrides the host, e.g. the sandbox), ``transport``, ``clock``, ``retry``,
    ``limiter_registry``, ``timeout``, ``order_date_encoding`` (see `mapping.OrderDateEncoding`),
    ``rate_limit`` (overrides the published 1000 requests/minute, e.g. a negotiated quota).
    Raises `AuthenticationError` (401/403), `RateLimited` after retries, `ProviderUnavailable`,
    `InvalidRequest` (400, e.g. a window over 14 days), `PayloadError`.
    """

    def __init__(self, seller_id: str, api_key: str | SecretStr, api_secret: str | SecretStr, *,
                 transport: httpx.BaseTransport | None = None, **kw: Unpack[TrendyolOptions]) -> None:
        super().__init__(seller_id, api_key, api_secret, **kw)
        self._runner = SyncRunner(self.config, transport=transport)

    def list_packages(self, *, start: datetime | None = None, end: datetime | None = None, status: str | None = None,
                      order_number: str | None = None, page: int = 0, size: int | None = None,
                      order_by: OrderBy = OrderBy.LAST_MODIFIED, direction: str = "ASC") -> Page[OrderOrError]:
        """One page of getShipmentPackages (arguments of `TrendyolEndpoints.list_packages`)."""
        return self._runner.run(self.endpoints.list_packages(
            start=start, end=end, status=status, order_number=order_number, page=page, size=size,
            order_by=order_by, direction=direction))

    def iter_packages(self, since: datetime, until: datetime, *, status: str | None = None,
                      order_by: OrderBy = OrderBy.LAST_MODIFIED) -> Iterator[OrderOrError]:
        """Every package in ``[since, until)`` (by last modification, or creation with ``order_by``)."""
        return drive(self._orders_plan(since, until, status, order_by), self._runner.run)

    def iter_orders_changed(self, since: datetime, until: datetime) -> Iterator[OrderOrError]:
        """Every package modified in ``[since, until)``, oldest change first, malformed ones as errors."""
        return self.iter_packages(since, until)

    def get_order(self, order_number: str) -> list[Order]:
        """The packages of one order number (GET .../orders?orderNumber=); `NotFound` when it has none."""
        return list(drive(order_plan(self.endpoints, order_number), self._runner.run))

    def iter_claims(self, since: datetime, until: datetime, *, status: str | None = None) -> Iterator[ReturnClaim]:
        """Claims (returns) created in ``[since, until)``, in ≤14-day windows."""
        for start, end in split_windows(*check_window(PROVIDER, since, until), MAX_WINDOW):
            yield from iter_items(self._runner.run, self.endpoints.list_claims(start=start, end=end, status=status))


class AsyncTrendyolClient(_TrendyolBase, AsyncConnector):
    """Trendyol Seller API for one seller (async); same methods and arguments as `TrendyolClient`."""

    def __init__(self, seller_id: str, api_key: str | SecretStr, api_secret: str | SecretStr, *,
                 transport: httpx.AsyncBaseTransport | None = None, **kw: Unpack[TrendyolOptions]) -> None:
        super().__init__(seller_id, api_key, api_secret, **kw)
        self._runner = AsyncRunner(self.config, transport=transport)

    async def list_packages(self, *, start: datetime | None = None, end: datetime | None = None,
                            status: str | None = None, order_number: str | None = None, page: int = 0,
                            size: int | None = None, order_by: OrderBy = OrderBy.LAST_MODIFIED,
                            direction: str = "ASC") -> Page[OrderOrError]:
        return await self._runner.run(self.endpoints.list_packages(
            start=start, end=end, status=status, order_number=order_number, page=page, size=size,
            order_by=order_by, direction=direction))

    def iter_packages(self, since: datetime, until: datetime, *, status: str | None = None,
                      order_by: OrderBy = OrderBy.LAST_MODIFIED) -> AsyncIterator[OrderOrError]:
        return adrive(self._orders_plan(since, until, status, order_by), self._runner.run)

    def iter_orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderOrError]:
        return self.iter_packages(since, until)

    async def get_order(self, order_number: str) -> list[Order]:
        return [o async for o in adrive(order_plan(self.endpoints, order_number), self._runner.run)]

    async def iter_claims(self, since: datetime, until: datetime, *,
                          status: str | None = None) -> AsyncIterator[ReturnClaim]:
        for start, end in split_windows(*check_window(PROVIDER, since, until), MAX_WINDOW):
            async for claim in aiter_items(self._runner.run,
                                           self.endpoints.list_claims(start=start, end=end, status=status)):
                yield claim
