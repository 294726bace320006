"""Hepsiburada OMS (orders, packages, claims), sync and async.

Hepsiburada has no single all-orders feed: an order moves between status buckets (payment
awaiting → open → packaged → shipped → delivered / undelivered, or cancelled). Each bucket is a
`HepsiburadaFeed` described once in `FEEDS` (path, limit cap, date filtering); `changes_plan`
polls the buckets and merges them into one `Order` per order number:

* windowed feeds (paymentawaiting, open, packages): ``begindate``/``enddate`` in Istanbul local
  time (``yyyy-MM-dd HH:mm``), windows of at most 24 hours, each paged with offset/limit;
* unwindowed feeds (cancelled, shipped, delivered, undelivered): paged without dates (dates are
  reported to fail there) and filtered client-side on ``cancelDate`` / ``ShippedDate`` /
  ``DeliveredDate`` / ``UndeliveredDate``; the thin shipped/delivered/undelivered items are
  enriched with the order detail and the package's tracking;
* accepted or refunded return claims whose status changed in the range mark the order
  ``returned`` (optional, ``include_returns``).

De-duplication: one result per order number; when several buckets mention an order, the most
advanced stage wins (`mapping.STAGE_RANK`), then the latest ``updated_at``. Results come after
the quarantined malformed records, sorted by ``updated_at``.

Docs: https://developers.hepsiburada.com/hepsiburada/reference/siparis-entegrasyonu-onemli-bilgiler
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Literal, TypedDict, Unpack
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.errors import ConfigurationError, InvalidArgument, NotFound, PayloadError
from invekto_integrations.core.http import AsyncRunner, Call, ErrorDetails, SyncRunner
from invekto_integrations.core.paging import Page
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.claims import ClaimStatus, ReturnClaim
from invekto_integrations.models.orders import Order
from invekto_integrations.providers._common import AsyncConnector, ProviderDefaults, SyncConnector, reveal
from invekto_integrations.providers._marketplace import (
    Fetch,
    Gather,
    Plan,
    adrive,
    all_pages,
    check_identifier,
    check_window,
    drive,
    order_not_found,
    payload_error,
    split_windows,
)
from invekto_integrations.providers.base import Environment, OrderOrError

from .mapping import (
    STAGE_RANK,
    HepsiburadaStatus,
    aware,
    order_from_detail,
    order_from_lines,
    order_from_package,
    to_claim,
)
from .wire import HbClaim, HbLine, HbOrderDetail, HbPackage, HbPackageDetail, HbThinPackage

__all__ = [
    "DEFAULT_CHANGE_FEEDS",
    "ENRICH_CONCURRENCY",
    "FEEDS",
    "MAX_WINDOW",
    "PRODUCTION_URL",
    "RATE_LIMIT",
    "SIT_URL",
    "AsyncHepsiburadaClient",
    "FeedItem",
    "FeedSpec",
    "HepsiburadaClient",
    "HepsiburadaEndpoints",
    "HepsiburadaFeed",
    "format_hb_date",
    "hepsiburada_error_details",
]

log = logging.getLogger("invekto_integrations.providers.hepsiburada")

PROVIDER = "hepsiburada"
PRODUCTION_URL = "https://oms-external.hepsiburada.com"
SIT_URL = "https://oms-external-sit.hepsiburada.com"
RATE_LIMIT = RateLimit(1000, 1.0)  # order integration, ~1000 req/s
MAX_WINDOW = timedelta(hours=24)
ISTANBUL = ZoneInfo("Europe/Istanbul")
CLAIMS_MAX_LIMIT = 100
# Thin shipped/delivered items enriched at once per account by the async client (each request still
# waits for the account's token bucket); the sync client enriches one after another.
ENRICH_CONCURRENCY = 8


class HepsiburadaFeed(StrEnum):
    PAYMENT_AWAITING = "paymentawaiting"
    OPEN = "open"
    CANCELLED = "cancelled"
    PACKAGES = "packages"
    UNPACKED = "unpacked"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"


Shape = Literal["lines", "package", "thin"]


@dataclass(frozen=True)
class FeedSpec:
    path: str  # with {mid}
    max_limit: int
    offset_param: str
    windowed: bool
    shape: Shape
    stage: HepsiburadaStatus
    date_field: str | None = None  # filtered client-side when not windowed


FEEDS: dict[HepsiburadaFeed, FeedSpec] = {
    HepsiburadaFeed.PAYMENT_AWAITING: FeedSpec("/orders/merchantid/{mid}/paymentawaiting", 100, "offset", True,
                                               "lines", HepsiburadaStatus.PAYMENT_AWAITING),
    HepsiburadaFeed.OPEN: FeedSpec("/orders/merchantid/{mid}", 100, "offset", True, "lines", HepsiburadaStatus.OPEN),
    HepsiburadaFeed.CANCELLED: FeedSpec("/orders/merchantid/{mid}/cancelled", 50, "offset", False, "lines",
                                        HepsiburadaStatus.CANCELLED, "cancelDate"),
    HepsiburadaFeed.PACKAGES: FeedSpec("/packages/merchantid/{mid}", 10, "Offset", True, "package",
                                       HepsiburadaStatus.PACKAGED),
    HepsiburadaFeed.UNPACKED: FeedSpec("/packages/merchantid/{mid}/status/unpacked", 10, "Offset", True, "package",
                                       HepsiburadaStatus.UNPACKED),
    HepsiburadaFeed.SHIPPED: FeedSpec("/packages/merchantid/{mid}/shipped", 50, "offset", False, "thin",
                                      HepsiburadaStatus.IN_TRANSIT, "ShippedDate"),
    HepsiburadaFeed.DELIVERED: FeedSpec("/packages/merchantid/{mid}/delivered", 50, "offset", False, "thin",
                                        HepsiburadaStatus.DELIVERED, "DeliveredDate"),
    HepsiburadaFeed.UNDELIVERED: FeedSpec("/packages/merchantid/{mid}/undelivered", 50, "offset", False, "thin",
                                          HepsiburadaStatus.UNDELIVERED, "UndeliveredDate"),
}

DEFAULT_CHANGE_FEEDS: tuple[HepsiburadaFeed, ...] = (
    HepsiburadaFeed.PAYMENT_AWAITING,
    HepsiburadaFeed.OPEN,
    HepsiburadaFeed.PACKAGES,
    # The fact sheet lists dissolved packages in their own feed; whether their lines also come back
    # to the open feed is not documented, so poll both (duplicates merge by order number).
    HepsiburadaFeed.UNPACKED,
    HepsiburadaFeed.CANCELLED,
    HepsiburadaFeed.SHIPPED,
    HepsiburadaFeed.DELIVERED,
    HepsiburadaFeed.UNDELIVERED,
)


def format_hb_date(when: datetime) -> str:
    """``yyyy-MM-dd HH:mm`` in Turkey local time, as the date filters expect."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidArgument(f"naive datetime {when.isoformat()}: give a timezone-aware value", provider=PROVIDER)
    return when.astimezone(ISTANBUL).strftime("%Y-%m-%d %H:%M")


def hepsiburada_error_details(response: httpx.Response) -> ErrorDetails:
    """Error bodies are typed as plain strings (``TooManyRequests``) or JSON with a ``message`` (and a
    ``correlationId``, kept as the request id)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        if not text:
            return ErrorDetails()
        code = text if text.isidentifier() else None
        return ErrorDetails(code=code, message=text[:300])
    if isinstance(body, str):
        return ErrorDetails(code=body if body.isidentifier() else None, message=body[:300])
    if isinstance(body, dict):
        code = body.get("code") or body.get("errorCode") or body.get("error")
        message = body.get("message") or body.get("errorMessage") or body.get("error") or body.get("detail") \
            or body.get("title")
        if code is None and isinstance(message, str) and message.isidentifier():
            code = message
        # Published error bodies carry `correlationId`: the request id when no header names one.
        correlation = body.get("correlationId")
        return ErrorDetails(code=str(code)[:100] if code else None, message=str(message)[:300] if message else None,
                            request_id=str(correlation)[:100] if isinstance(correlation, str | int) and correlation
                            else None)
    return ErrorDetails(message=str(body)[:300])


DEFAULTS = ProviderDefaults(PROVIDER, {"production": PRODUCTION_URL, "test": SIT_URL}, rate_limit=RATE_LIMIT,
                            error_details=hepsiburada_error_details)


@dataclass(frozen=True)
class FeedItem:
    """One item of a feed: its parsed record, or the error that names what is wrong, and the raw JSON."""

    feed: HepsiburadaFeed
    raw: dict[str, Any]
    record: HbLine | HbPackage | HbThinPackage | None = None
    error: PayloadError | None = None


def _record_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        for key in ("packageNumber", "PackageNumber", "orderNumber", "OrderNumber", "id", "Id"):
            if raw.get(key) is not None:
                return str(raw[key])
    return None


def _items_and_total(response: httpx.Response) -> tuple[list[Any], int | None, int | None]:
    """Items, total count and page count of an envelope ``{totalCount, pageCount, items}`` or a bare
    array with ``X-Total-Count``/``pageCount`` headers."""
    body = response.json()
    if isinstance(body, list):
        items, total, pages = body, response.headers.get("x-total-count"), response.headers.get("pagecount")
    elif isinstance(body, dict) and isinstance(body.get("items"), list):
        items = body["items"]
        total = body.get("totalCount", response.headers.get("x-total-count"))
        pages = body.get("pageCount", response.headers.get("pagecount"))
    else:
        raise PayloadError("expected a page envelope with `items` or a JSON array", provider=PROVIDER,
                           field="items")
    return items, int(total) if total is not None else None, int(pages) if pages is not None else None


@dataclass(frozen=True)
class HepsiburadaEndpoints:
    """The OMS endpoints of one merchant: each a `Call` builder plus its parser."""

    merchant_id: str
    naive_zone: tzinfo = UTC
    keep_raw: bool = True

    def parse_item(self, feed: HepsiburadaFeed, raw: Any) -> FeedItem:
        spec = FEEDS[feed]
        if not isinstance(raw, dict):
            err = PayloadError("a feed item is not a JSON object", provider=PROVIDER, operation=f"list_{feed}")
            return FeedItem(feed, {"value": raw}, error=err)
        try:
            record: HbLine | HbPackage | HbThinPackage
            if spec.shape == "lines":
                record = HbLine.model_validate(raw)
                if not record.orderNumber:
                    raise PayloadError("orderNumber is missing", provider=PROVIDER, field="orderNumber")
            elif spec.shape == "package":
                record = HbPackage.model_validate(raw)
            else:
                record = HbThinPackage.model_validate(raw)
                if spec.date_field and getattr(record, spec.date_field) is None:
                    raise PayloadError(f"{spec.date_field} is missing", provider=PROVIDER, field=spec.date_field)
        except (ValueError, PayloadError) as exc:
            return FeedItem(feed, raw, error=payload_error(PROVIDER, exc, _record_of(raw), f"list_{feed}"))
        return FeedItem(feed, raw, record=record)

    def list_feed(self, feed: HepsiburadaFeed, *, begin: datetime | None = None, end: datetime | None = None,
                  offset: int = 0, limit: int | None = None) -> Call[Page[FeedItem]]:
        """GET one status bucket, one page. ``end`` is exclusive (sent as the minute before it).

        Windowed feeds take ``begindate``/``enddate`` (≤ 24 h); the others ignore the bounds.
        """
        spec = FEEDS[feed]
        limit = min(limit or spec.max_limit, spec.max_limit)
        params: dict[str, Any] = {spec.offset_param: offset, "limit": limit}
        if spec.windowed and begin is not None and end is not None:
            params["begindate"] = format_hb_date(begin)
            params["enddate"] = format_hb_date(end - timedelta(minutes=1))

        def parse(response: httpx.Response) -> Page[FeedItem]:
            items, total, pages = _items_and_total(response)
            parsed = [self.parse_item(feed, raw) for raw in items]
            if total is not None:
                more = offset + limit < total
            elif pages is not None:
                more = offset // limit + 1 < pages
            else:
                more = len(items) >= limit
            more = more and bool(items)
            nxt = self.list_feed(feed, begin=begin, end=end, offset=offset + limit, limit=limit) if more else None
            return Page(items=parsed, next_call=nxt, total=total)

        return Call(f"list_{feed.value}", "GET", spec.path.format(mid=self.merchant_id), parse, params=params)

    def get_order_detail(self, order_number: str) -> Call[tuple[HbOrderDetail, dict[str, Any]]]:
        """GET /orders/merchantid/{mid}/ordernumber/{orderNumber}: one order in any status."""
        order_number = check_identifier(PROVIDER, "order_number", order_number)

        def parse(response: httpx.Response) -> tuple[HbOrderDetail, dict[str, Any]]:
            raw = response.json()
            return HbOrderDetail.model_validate(raw), raw

        return Call("get_order", "GET", f"/orders/merchantid/{self.merchant_id}/ordernumber/{order_number}", parse,
                    record=order_number)

    def get_package(self, package_number: str) -> Call[HbPackageDetail]:
        """GET /packages/merchantid/{mid}/packagenumber/{packageNumber}: status, carrier and tracking."""
        package_number = check_identifier(PROVIDER, "package_number", package_number)

        def parse(response: httpx.Response) -> HbPackageDetail:
            # The documented answer is a bare array of package objects (one for one package); an
            # object alone is accepted too.
            body = response.json()
            if isinstance(body, dict):
                return HbPackageDetail.model_validate(body)
            if not isinstance(body, list):
                raise PayloadError("expected a package object or an array of them", provider=PROVIDER,
                                   record=package_number, operation="get_package")
            if not body:
                raise NotFound(f"package {package_number} not found (empty answer)", provider=PROVIDER,
                               operation="get_package", status=response.status_code)
            packages = [HbPackageDetail.model_validate(p) for p in body]
            return next((p for p in packages if p.packageNumber == package_number), packages[0])

        return Call("get_package", "GET", f"/packages/merchantid/{self.merchant_id}/packagenumber/{package_number}",
                    parse, record=package_number)

    def list_claims(self, *, begin: datetime | None = None, end: datetime | None = None,
                    status_begin: datetime | None = None, status_end: datetime | None = None,
                    status: str | None = None, offset: int = 0,
                    limit: int = CLAIMS_MAX_LIMIT) -> Call[Page[ReturnClaim]]:
        """GET /claims/merchantId/{mid}[/status/{status}]: a bare array, paging in X-* headers."""
        if begin is not None and end is not None:
            begin, end = check_window(PROVIDER, begin, end, since_field="begin", until_field="end")
        if status_begin is not None and status_end is not None:
            status_begin, status_end = check_window(PROVIDER, status_begin, status_end,
                                                    since_field="status_begin", until_field="status_end")
        limit = min(limit, CLAIMS_MAX_LIMIT)
        params: dict[str, Any] = {
            "offset": offset, "limit": limit,
            "beginDate": format_hb_date(begin) if begin else None,
            "endDate": format_hb_date(end - timedelta(minutes=1)) if end else None,
            "statusBeginDate": format_hb_date(status_begin) if status_begin else None,
            "statusEndDate": format_hb_date(status_end - timedelta(minutes=1)) if status_end else None,
        }
        path = f"/claims/merchantId/{self.merchant_id}" + (f"/status/{status}" if status else "")

        def parse(response: httpx.Response) -> Page[ReturnClaim]:
            items, total, _ = _items_and_total(response)
            claims = []
            for raw in items:
                try:
                    claims.append(to_claim(HbClaim.model_validate(raw), zone=self.naive_zone,
                                           raw=raw if self.keep_raw else None))
                except ValueError as exc:
                    raise payload_error(PROVIDER, exc, _record_of(raw), "list_claims") from exc
            more = bool(items) and (offset + limit < total if total is not None else len(items) >= limit)
            nxt = self.list_claims(begin=begin, end=end, status_begin=status_begin, status_end=status_end,
                                   status=status, offset=offset + limit, limit=limit) if more else None
            return Page(items=claims, next_call=nxt, total=total)

        return Call("list_claims", "GET", path, parse, params=params)


def _floor_minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def _ceil_minute(when: datetime) -> datetime:
    floor = _floor_minute(when)
    return floor if floor == when else floor + timedelta(minutes=1)


def first_calls(ep: HepsiburadaEndpoints, feed: HepsiburadaFeed, begin: datetime | None,
                end: datetime | None) -> list[tuple[datetime | None, Call[Page[FeedItem]]]]:
    """The first page of each ≤24 h window of a windowed feed (with the window's start), or the one
    first page of the others."""
    spec = FEEDS[feed]
    # Checked even where a feed has no date filter: a naive or inverted bound is the caller's bug.
    if begin is not None and end is not None:
        begin, end = check_window(PROVIDER, begin, end, since_field="begin", until_field="end")
    elif begin is not None or end is not None:
        one = begin if begin is not None else end
        assert one is not None
        check_window(PROVIDER, one, one, since_field="begin" if begin is not None else "end",
                     until_field="begin" if begin is not None else "end")
    if spec.windowed and begin is not None and end is not None:
        return [(a, ep.list_feed(feed, begin=a, end=b))
                for a, b in split_windows(_floor_minute(begin), _ceil_minute(end), MAX_WINDOW)]
    return [(None, ep.list_feed(feed))]


def feed_plan(ep: HepsiburadaEndpoints, feed: HepsiburadaFeed, begin: datetime | None,
              end: datetime | None) -> Plan:
    """Every `FeedItem` of one bucket: windowed feeds in ≤24 h windows, each paged to the end."""
    for _, first in first_calls(ep, feed, begin, end):
        call: Call[Page[FeedItem]] | None = first
        while call is not None:
            page: Page[FeedItem] = yield Fetch(call)
            yield from page.items
            call = page.next_call


class _Merge:
    """One order per order number: the most advanced stage wins, then the latest change."""

    def __init__(self) -> None:
        self.best: dict[str, Order] = {}

    def offer(self, order: Order) -> None:
        found = self.best.get(order.external_id)
        if found is None or (STAGE_RANK[order.status], order.updated_at) > (STAGE_RANK[found.status],
                                                                           found.updated_at):
            self.best[order.external_id] = order

    def results(self) -> list[OrderOrError]:
        ordered = sorted(self.best.values(), key=lambda o: (o.updated_at, o.external_id))
        return [OrderOrError(order=o, raw=o.raw) for o in ordered]


def _error(message: str, *, record: str | None, field: str | None, raw: dict[str, Any],
           operation: str) -> OrderOrError:
    return OrderOrError(error=PayloadError(message, provider=PROVIDER, field=field, record=record,
                                           operation=operation), raw=raw)


def _enrich(ep: HepsiburadaEndpoints, thin: HbThinPackage, spec: FeedSpec, updated_at: datetime,
            raw: dict[str, Any]) -> Generator[Any, Any, OrderOrError]:
    """Order detail + package tracking for a thin shipped/delivered/undelivered item."""
    try:
        detail, detail_raw = yield Fetch(ep.get_order_detail(thin.OrderNumber))
    except NotFound:
        return _error(f"order {thin.OrderNumber} is in a package feed but has no detail", record=thin.PackageNumber,
                      field="OrderNumber", raw=raw, operation="get_order")
    except PayloadError as exc:
        return OrderOrError(error=exc, raw=raw)
    try:
        package = yield Fetch(ep.get_package(thin.PackageNumber))
    except NotFound as exc:
        log.warning("hepsiburada: no tracking for package %s: %s", thin.PackageNumber, exc)
        package = None
    except PayloadError as exc:
        # Never store a shipped order without the tracking its package carries: quarantine it whole
        # (a later good read of the package repairs it).
        return OrderOrError(error=payload_error(PROVIDER, exc, thin.OrderNumber, "get_package"), raw=raw)
    try:
        order = order_from_detail(detail, zone=ep.naive_zone, stage=spec.stage, updated_at=updated_at,
                                  package=package, package_number=thin.PackageNumber,
                                  raw={"feed": raw, "order": detail_raw} if ep.keep_raw else None)
    except ValueError as exc:
        return OrderOrError(error=payload_error(PROVIDER, exc, thin.OrderNumber, "get_order"), raw=raw)
    return OrderOrError(order=order, raw=raw)


def changes_plan(ep: HepsiburadaEndpoints, since: datetime, until: datetime, *,
                 feeds: tuple[HepsiburadaFeed, ...] = DEFAULT_CHANGE_FEEDS, include_returns: bool = True) -> Plan:
    """Orders that changed in ``[since, until)`` across the status buckets (see the module docstring)."""
    since, until = check_window(PROVIDER, since, until)
    merge = _Merge()

    def in_range(when: datetime | None) -> bool:
        value = aware(when, ep.naive_zone)
        return value is not None and since <= value < until

    for feed in feeds:
        spec = FEEDS[feed]
        groups: dict[str, list[tuple[HbLine, dict[str, Any]]]] = {}
        # The feed's ≤24 h windows are independent listings: read together (concurrently under `adrive`).
        calls = first_calls(ep, feed, since, until)
        windows: list[list[FeedItem]] = yield Gather([all_pages(first) for _, first in calls])
        items = [(it, start) for (start, _), window in zip(calls, windows, strict=True) for it in window]
        # The thin items in range are enriched together (concurrently under `adrive`), in feed order.
        thin: dict[int, tuple[HbThinPackage, datetime, dict[str, Any]]] = {}
        for index, (item, _) in enumerate(items):
            if isinstance(item.record, HbThinPackage):
                when = aware(getattr(item.record, spec.date_field or ""), ep.naive_zone)
                if when is not None and in_range(when):
                    thin[index] = (item.record, when, item.raw)
        enriched: list[OrderOrError] = (yield Gather([_enrich(ep, rec, spec, when, raw)
                                                      for rec, when, raw in thin.values()])) if thin else []
        results = dict(zip(thin, enriched, strict=True))
        # An order is stored whole or quarantined whole: a malformed line names its order (quarantined
        # with all its lines); a line too broken to name one makes its neighbours in feed order suspect
        # (lines of one order are listed together), re-read through the order detail.
        broken: dict[str, list[FeedItem]] = {}
        suspects: set[str] = set()
        last_number: str | None = None
        orphan_before = False
        for index, (item, window_start) in enumerate(items):
            if item.error is not None or item.record is None:
                number = _order_number_of(item.raw) if spec.shape == "lines" else None
                if number is not None:
                    broken.setdefault(number, []).append(item)
                    continue
                if spec.shape == "lines":
                    if last_number is not None:
                        suspects.add(last_number)
                    orphan_before = True
                yield OrderOrError(error=item.error, raw=item.raw)
                continue
            record = item.record
            if isinstance(record, HbLine):
                number = str(record.orderNumber)
                if orphan_before and number != last_number:
                    suspects.add(number)
                orphan_before, last_number = False, number
                if not spec.windowed and not in_range(getattr(record, spec.date_field or "", None)):
                    continue
                groups.setdefault(number, []).append((record, item.raw))
            elif isinstance(record, HbPackage):
                for number in dict.fromkeys(i.orderNumber for i in record.items):
                    try:
                        merge.offer(order_from_package(number, record, stage=spec.stage, zone=ep.naive_zone,
                                                       seen_from=window_start,
                                                       raw={"feed": feed.value, "package": item.raw}
                                                       if ep.keep_raw else None))
                    except ValueError as exc:
                        yield OrderOrError(error=payload_error(PROVIDER, exc, record.packageNumber,
                                                               f"list_{feed}"), raw=item.raw)
            elif index in results:  # a thin item in range
                result = results[index]
                if result.order is not None:
                    merge.offer(result.order)
                else:
                    yield result
        for number, bad in broken.items():
            first = bad[0].error
            assert first is not None
            yield OrderOrError(error=payload_error(PROVIDER, first, number, f"list_{feed}"),
                               raw={"feed": feed.value, "items": [r for _, r in groups.pop(number, [])]
                                    + [b.raw for b in bad]})
        for number in sorted(suspects - broken.keys()):
            if number in groups:
                del groups[number]
                yield from _reread(ep, number, spec, merge)
        for number, lines in groups.items():
            try:
                merge.offer(order_from_lines(number, [ln for ln, _ in lines], stage=spec.stage, zone=ep.naive_zone,
                                             raw={"feed": feed.value, "items": [r for _, r in lines]}
                                             if ep.keep_raw else None))
            except ValueError as exc:
                yield OrderOrError(error=payload_error(PROVIDER, exc, number, f"list_{feed}"),
                                   raw={"items": [r for _, r in lines]})
    if include_returns:
        yield from _returns(ep, since, until, merge)
    yield from merge.results()


def _order_number_of(raw: dict[str, Any]) -> str | None:
    value = raw.get("orderNumber")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _reread(ep: HepsiburadaEndpoints, number: str, spec: FeedSpec, merge: _Merge) -> Plan:
    """An order that may have lost a line in its feed, read whole through its detail (or quarantined)."""
    try:
        detail, detail_raw = yield Fetch(ep.get_order_detail(number))
        merge.offer(order_from_detail(detail, zone=ep.naive_zone, stage=spec.stage,
                                      raw={"order": detail_raw} if ep.keep_raw else None))
    except NotFound:
        yield _error(f"order {number} is listed but has no detail", record=number, field="orderNumber",
                     raw={"orderNumber": number}, operation="get_order")
    except (PayloadError, ValueError) as exc:
        yield OrderOrError(error=payload_error(PROVIDER, exc, number, "get_order"), raw={"orderNumber": number})


def _returns(ep: HepsiburadaEndpoints, since: datetime, until: datetime, merge: _Merge) -> Plan:
    call: Call[Page[ReturnClaim]] | None = ep.list_claims(status_begin=_floor_minute(since),
                                                          status_end=_ceil_minute(until))
    while call is not None:
        page: Page[ReturnClaim] = yield Fetch(call)
        for claim in page.items:
            kind = (claim.raw or {}).get("claimType") or "Return"
            if claim.status not in (ClaimStatus.ACCEPTED, ClaimStatus.REFUNDED) or kind != "Return":
                continue
            try:
                detail, detail_raw = yield Fetch(ep.get_order_detail(claim.order_number))
            except NotFound:
                continue
            merge.offer(order_from_detail(detail, zone=ep.naive_zone, raw_status=HepsiburadaStatus.RETURNED.value,
                                          updated_at=claim.updated_at,
                                          raw={"claim": claim.raw, "order": detail_raw} if ep.keep_raw else None))
        call = page.next_call


def order_plan(ep: HepsiburadaEndpoints, order_number: str) -> Plan:
    """One order with its package's tracking; the detail endpoint's 404 is `NotFound` naming the order."""
    try:
        detail, raw = yield Fetch(ep.get_order_detail(order_number))
    except NotFound as exc:
        raise order_not_found(PROVIDER, order_number, exc) from exc
    numbers = list(dict.fromkeys(i.packageNumber for i in detail.items if i.packageNumber))
    package = None
    if len(numbers) == 1:
        try:
            package = yield Fetch(ep.get_package(numbers[0]))
        except NotFound:
            package = None
    yield order_from_detail(detail, zone=ep.naive_zone, package=package, raw=raw if ep.keep_raw else None)


class HepsiburadaOptions(TypedDict, total=False):
    """The keyword options of `HepsiburadaClient` / `AsyncHepsiburadaClient` besides ``integrator_name``."""

    environment: Environment | str
    base_url: str | None
    clock: Clock | None
    retry: RetryPolicy | None
    limiter_registry: RateLimiterRegistry | None
    timeout: float | None
    naive_zone: tzinfo
    change_feeds: tuple[HepsiburadaFeed, ...]
    include_returns: bool
    rate_limit: RateLimit | None
    enrich_concurrency: int


class _HepsiburadaBase:
    provider = PROVIDER

    def __init__(
        self,
        merchant_id: str,
        service_key: str | SecretStr,
        *,
        integrator_name: str,
        environment: Environment | str = Environment.PRODUCTION,
        base_url: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        limiter_registry: RateLimiterRegistry | None = None,
        timeout: float | None = None,
        naive_zone: tzinfo = UTC,
        change_feeds: tuple[HepsiburadaFeed, ...] = DEFAULT_CHANGE_FEEDS,
        include_returns: bool = True,
        rate_limit: RateLimit | None = None,
        enrich_concurrency: int = ENRICH_CONCURRENCY,
    ) -> None:
        merchant_id = str(merchant_id).strip()
        if not merchant_id:
            raise ConfigurationError("hepsiburada: merchant_id is required")
        if not integrator_name or not integrator_name.strip():
            raise ConfigurationError("hepsiburada: integrator_name (the User-Agent) is required")
        key = reveal(service_key)
        if not key:
            raise ConfigurationError("hepsiburada: service_key is required")
        if enrich_concurrency < 1:
            raise ConfigurationError("hepsiburada: enrich_concurrency must be at least 1")
        self.enrich_concurrency = enrich_concurrency
        self.merchant_id = merchant_id
        self.user_agent = integrator_name.strip()
        self.change_feeds = change_feeds
        self.include_returns = include_returns
        self.endpoints = HepsiburadaEndpoints(merchant_id, naive_zone)
        self.config = DEFAULTS.config(
            account_key=merchant_id, auth=httpx.BasicAuth(merchant_id, key), user_agent=self.user_agent,
            environment=environment, base_url=base_url, clock=clock, retry=retry,
            limiter_registry=limiter_registry, timeout=timeout, rate_limit=rate_limit,
        )
        self.clock: Clock = self.config.clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}(merchant_id={self.merchant_id!r}, base_url={self.config.base_url!r})"

    def _changes(self, since: datetime, until: datetime) -> Plan:
        return changes_plan(self.endpoints, since, until, feeds=self.change_feeds,
                            include_returns=self.include_returns)


class HepsiburadaClient(_HepsiburadaBase, SyncConnector):
    """Hepsiburada OMS for one merchant (sync). Implements `providers.base.Marketplace`.

    Args: ``merchant_id`` (Basic user), ``service_key`` (Basic password, "Servis Anahtarı"),
    ``integrator_name`` (sent as the User-Agent; must match the registered integrator username),
    ``environment`` (production|test → SIT host), ``base_url`` (override, e.g. the sandbox),
    ``transport``, ``clock``, ``retry``, ``limiter_registry``, ``timeout``, ``naive_zone`` (zone of
    response dates sent without an offset, UTC by default), ``change_feeds``, ``include_returns``,
    ``rate_limit`` (overrides the published ~1000 requests/second), ``enrich_concurrency`` (how many
    thin items `AsyncHepsiburadaClient` enriches at once, default 8; this sync client goes one by one).
    Raises `AuthenticationError` (401/403), `RateLimited` after retries (waits ``X-RateLimit-Reset``),
    `ProviderUnavailable`, `InvalidRequest`, `NotFound`, `PayloadError`.
    """

    def __init__(self, merchant_id: str, service_key: str | SecretStr, *, integrator_name: str,
                 transport: httpx.BaseTransport | None = None, **kw: Unpack[HepsiburadaOptions]) -> None:
        super().__init__(merchant_id, service_key, integrator_name=integrator_name, **kw)
        self._runner = SyncRunner(self.config, transport=transport)

    def list_feed(self, feed: HepsiburadaFeed, *, begin: datetime | None = None, end: datetime | None = None,
                  offset: int = 0, limit: int | None = None) -> Page[FeedItem]:
        """One page of a status bucket (arguments of `HepsiburadaEndpoints.list_feed`)."""
        return self._runner.run(self.endpoints.list_feed(feed, begin=begin, end=end, offset=offset, limit=limit))

    def iter_feed(self, feed: HepsiburadaFeed, begin: datetime | None = None,
                  end: datetime | None = None) -> Iterator[FeedItem]:
        """Every item of a status bucket (windowed feeds in ≤24 h windows over ``[begin, end)``)."""
        return drive(feed_plan(self.endpoints, feed, begin, end), self._runner.run)

    def iter_orders_changed(self, since: datetime, until: datetime) -> Iterator[OrderOrError]:
        """Orders that changed in ``[since, until)``, merged across buckets; malformed ones as errors."""
        return drive(self._changes(since, until), self._runner.run)

    def get_order(self, order_number: str) -> list[Order]:
        """One order (any status) with its package's tracking: a list of one; `NotFound` when unknown."""
        return list(drive(order_plan(self.endpoints, order_number), self._runner.run))

    def get_package(self, package_number: str) -> HbPackageDetail:
        return self._runner.run(self.endpoints.get_package(package_number))

    def iter_claims(self, since: datetime, until: datetime, *, status: str | None = None) -> Iterator[ReturnClaim]:
        """Claims created in ``[since, until)`` (optionally one status: ``NewRequest``, ``Accepted`` ...)."""
        call: Call[Page[ReturnClaim]] | None = self.endpoints.list_claims(begin=since, end=until, status=status)
        while call is not None:
            page = self._runner.run(call)
            yield from page.items
            call = page.next_call


class AsyncHepsiburadaClient(_HepsiburadaBase, AsyncConnector):
    """Hepsiburada OMS for one merchant (async); same methods and arguments as `HepsiburadaClient`."""

    def __init__(self, merchant_id: str, service_key: str | SecretStr, *, integrator_name: str,
                 transport: httpx.AsyncBaseTransport | None = None, **kw: Unpack[HepsiburadaOptions]) -> None:
        super().__init__(merchant_id, service_key, integrator_name=integrator_name, **kw)
        self._runner = AsyncRunner(self.config, transport=transport)

    async def list_feed(self, feed: HepsiburadaFeed, *, begin: datetime | None = None, end: datetime | None = None,
                        offset: int = 0, limit: int | None = None) -> Page[FeedItem]:
        return await self._runner.run(
            self.endpoints.list_feed(feed, begin=begin, end=end, offset=offset, limit=limit))

    def iter_feed(self, feed: HepsiburadaFeed, begin: datetime | None = None,
                  end: datetime | None = None) -> AsyncIterator[FeedItem]:
        return adrive(feed_plan(self.endpoints, feed, begin, end), self._runner.run)

    def iter_orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderOrError]:
        """As `HepsiburadaClient.iter_orders_changed`; thin items are enriched ``enrich_concurrency`` at a time."""
        return adrive(self._changes(since, until), self._runner.run, concurrency=self.enrich_concurrency)

    async def get_order(self, order_number: str) -> list[Order]:
        return [o async for o in adrive(order_plan(self.endpoints, order_number), self._runner.run)]

    async def get_package(self, package_number: str) -> HbPackageDetail:
        return await self._runner.run(self.endpoints.get_package(package_number))

    async def iter_claims(self, since: datetime, until: datetime, *,
                          status: str | None = None) -> AsyncIterator[ReturnClaim]:
        call: Call[Page[ReturnClaim]] | None = self.endpoints.list_claims(begin=since, end=until, status=status)
        while call is not None:
            page = await self._runner.run(call)
            for claim in page.items:
                yield claim
            call = page.next_call
