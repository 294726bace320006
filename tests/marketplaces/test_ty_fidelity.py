"""Trendyol against its published examples and hostile pages (issue 13): claims' return cargo,
placeholder tracking numbers and dates, padded addresses, float tracking numbers, lying totals."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.trendyol import AsyncTrendyolClient, TrendyolClient
from invekto_integrations.providers.trendyol.client import TrendyolEndpoints
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

from .conftest import NOW, SELLER, TY_KEY, TY_SECRET

WINDOW = (NOW - timedelta(hours=1), NOW + timedelta(minutes=1))


def package(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 3412345, "orderNumber": "10654411111", "status": "Awaiting", "orderDate": 1_767_600_000_000,
        "lastModifiedDate": 1_767_600_100_000, "totalPrice": 100.0, "currencyCode": "TRY",
        "cargoProviderName": "Trendyol Express", "cargoTrackingNumber": 0,
        "shipmentAddress": {"fullName": " Ayşe Yılmaz ", "city": " İstanbul ", "district": "Kadıköy  "},
        "lines": [{"productName": "Kupa", "quantity": 1, "price": 100.0}],
        "packageHistories": [{"createdDate": 1_767_600_000_000, "status": "Awaiting"}],
    }
    body.update(changes)
    return body


def parse(body: dict[str, Any]) -> Any:
    return TrendyolEndpoints(SELLER).parse_package(json.loads(json.dumps(body)))


def test_claims_carry_the_return_cargo_as_strings(ty: TrendyolClient, ty_fake: TrendyolFake) -> None:
    (pkg,) = ty_fake.add_orders(SELLER, 1, at=NOW - timedelta(days=3), status="Delivered")
    ty_fake.add_claim(SELLER, pkg, at=NOW - timedelta(minutes=10))
    (claim,) = ty.iter_claims(*WINDOW)
    raw = claim.raw or {}
    assert isinstance(raw["cargoTrackingNumber"], int) and raw["cargoTrackingNumber"] > 2**63  # 20 digits
    assert claim.tracking_number == str(raw["cargoTrackingNumber"])  # exact, never through a float
    assert claim.cargo_company == raw["cargoProviderName"] and claim.cargo_company


def test_placeholder_tracking_number_zero_is_none() -> None:
    assert parse(package()).order.cargo.tracking_number is None
    assert parse(package(cargoTrackingNumber="0")).order.cargo.tracking_number is None
    big = 73_300_000_000_000_000_123
    assert parse(package(cargoTrackingNumber=big)).order.cargo.tracking_number == str(big)


def test_fake_serves_the_placeholder_and_the_client_reads_none(ty: TrendyolClient, ty_fake: TrendyolFake) -> None:
    (pkg,) = ty_fake.add_orders(SELLER, 1, at=NOW - timedelta(minutes=5))
    assert ty_fake.package(SELLER, pkg)["cargoTrackingNumber"] == 0
    (order,) = [i.order for i in ty.iter_orders_changed(*WINDOW) if i.order and i.order.external_id == pkg]
    assert order.cargo.tracking_number is None


@pytest.mark.parametrize("value", [7.33e15, 7330000000000001.0, float("nan")])
def test_tracking_number_as_a_json_float_is_refused(value: float) -> None:
    result = TrendyolEndpoints(SELLER).parse_package(package(cargoTrackingNumber=value))
    assert result.order is None and result.error is not None
    assert result.error.field == "cargoTrackingNumber" and result.error.record == "3412345"


def test_placeholder_dates_are_unknown_not_1970() -> None:
    order = parse(package(lastModifiedDate=0)).order
    assert order.updated_at.year == 2026  # from the package history, not the epoch
    order = parse(package(orderDate=0)).order
    assert order.ordered_at == datetime.fromtimestamp(1_767_600_000, UTC)
    bad = parse(package(orderDate=0, lastModifiedDate=0, packageHistories=[]))
    assert bad.error is not None and "orderDate" in bad.error.message


def test_dates_beyond_any_calendar_are_a_payload_error() -> None:
    for ms in (10**20, -(10**20), 2**70):
        result = parse(package(orderDate=ms))
        assert result.error is not None and result.error.record == "3412345", ms


def test_address_fields_are_trimmed(ty: TrendyolClient, ty_fake: TrendyolFake) -> None:
    order = parse(package()).order
    assert (order.customer.city, order.customer.district) == ("İstanbul", "Kadıköy")
    ids = ty_fake.add_orders(SELLER, 3, at=NOW - timedelta(minutes=5))
    padded = [p for p in ids if ty_fake.package(SELLER, p)["shipmentAddress"]["city"].startswith(" ")]
    assert padded  # the fake pads as the published payloads do
    orders = {i.order.external_id: i.order for i in ty.iter_orders_changed(*WINDOW) if i.order}
    assert all(o.customer.city == o.customer.city.strip() for o in orders.values() if o.customer.city)


def test_awaiting_package_emits_no_tracking_event() -> None:
    from invekto_integrations.models.accounts import IntegrationAccount
    from invekto_integrations.sync.orders import _events_for, cached_order_from

    order = parse(package()).order
    account = IntegrationAccount(id="a1", tenant_id="t1", provider="trendyol", api_key_encrypted="x",
                                 created_at=NOW, updated_at=NOW)
    row = cached_order_from(account, order, now=NOW)
    assert row.tracking_code is None
    assert not [e for e in _events_for(account, order, row, None, backfill=False)
                if type(e).__name__ == "TrackingCodeAssigned"]


# -- defect 4: a lying page ------------------------------------------------------------------------------
def hostile_app(hits: list[str], content: list[dict[str, Any]]) -> Starlette:
    async def orders(request: Request) -> Response:
        hits.append(str(request.url.query))
        page = int(request.query_params.get("page", 0))
        return JSONResponse({"page": page, "size": 200, "totalPages": 10**28, "totalElements": 10**30,
                             "content": content if page == 0 else []})

    return Starlette(routes=[Route(f"/order/sellers/{SELLER}/orders", orders)])


@pytest.mark.parametrize("content", [[], [package()]])
async def test_a_page_claiming_1e30_elements_costs_few_requests(content: list[dict[str, Any]]) -> None:
    hits: list[str] = []
    clock = FrozenClock(NOW)
    async with AsyncTrendyolClient(SELLER, TY_KEY, TY_SECRET, base_url="http://trendyol.test",
                                   transport=httpx.ASGITransport(hostile_app(hits, content)),
                                   clock=clock, retry=RetryPolicy(clock=clock, rng=random.Random(1)),
                                   limiter_registry=RateLimiterRegistry(clock)) as client:
        items = [i async for i in client.iter_orders_changed(NOW - timedelta(hours=1), NOW)]
    assert len(items) == len(content)
    assert len(hits) <= 2, len(hits)


async def test_window_splitting_is_bounded() -> None:
    hits: list[str] = []
    full = [package(id=i) for i in range(200)]  # always a full page, always "too many"

    async def orders(request: Request) -> Response:
        hits.append(str(request.url.query))
        return JSONResponse({"page": 0, "size": 200, "totalPages": 10**28, "totalElements": 10**30,
                             "content": full if int(request.query_params.get("page", 0)) == 0 else []})

    app = Starlette(routes=[Route(f"/order/sellers/{SELLER}/orders", orders)])
    clock = FrozenClock(NOW)
    async with AsyncTrendyolClient(SELLER, TY_KEY, TY_SECRET, base_url="http://trendyol.test",
                                   transport=httpx.ASGITransport(app), clock=clock,
                                   limiter_registry=RateLimiterRegistry(clock)) as client:
        _ = [i async for i in client.iter_orders_changed(NOW - timedelta(days=13), NOW)]
    assert len(hits) < 400, len(hits)


def test_a_5000_character_unknown_status_is_logged_clipped(caplog: pytest.LogCaptureFixture) -> None:
    from invekto_integrations.models.orders import OrderStatus
    from invekto_integrations.providers._carrier import log_unknown_code
    from invekto_integrations.providers.hepsiburada.mapping import order_status
    from invekto_integrations.providers.trendyol.mapping import package_status

    huge = "Ş" * 5000
    with caplog.at_level("WARNING"):
        assert package_status(huge) is OrderStatus.UNKNOWN
        assert order_status(huge + "x") is OrderStatus.UNKNOWN
        log_unknown_code("aras", huge + "y")
    assert len(caplog.records) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert all(len(m) < 300 and " chars)" in m for m in messages), messages
