"""vcrpy cassettes pin the documented requests and responses (hand-written, ``record_mode="none"``).

Each test asserts that the client sends exactly the documented request (host, path, query and
User-Agent; the Basic credentials are checked, then filtered out) and that the documented response
parses into the expected unified model.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vcr
import yaml

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import AuthenticationError, RateLimited
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.orders import CargoInfo, Customer, Order, OrderLine, OrderStatus, PhoneState
from invekto_integrations.providers.hepsiburada import HepsiburadaClient, HepsiburadaFeed
from invekto_integrations.providers.trendyol import AsyncTrendyolClient, TrendyolClient

CASSETTES = Path(__file__).parent.parent / "cassettes"
MERCHANT = "b2910839-83b9-4d45-adb6-86bad457edcb"


class Capture:
    """Takes the Authorization header out of every request (so nothing secret can be stored) and
    remembers it for the assertions."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, key: str, value: str, request: Any) -> None:
        self.seen.append(value)
        return None


def user_agent(r1: Any, r2: Any) -> None:
    assert r1.headers.get("User-Agent") == r2.headers.get("User-Agent"), "User-Agent differs"


def cassette_vcr(capture: Capture) -> vcr.VCR:
    recorder = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none",
                       match_on=["method", "scheme", "host", "port", "path", "query", "user_agent"],
                       filter_headers=[("authorization", capture)])
    recorder.register_matcher("user_agent", user_agent)
    return recorder


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def options(clock: FrozenClock, retry: RetryPolicy | None = None) -> dict[str, Any]:
    return {"clock": clock, "limiter_registry": RateLimiterRegistry(clock),
            "retry": retry or RetryPolicy(clock=clock)}


TRENDYOL_EXPECTED = Order(
    provider="trendyol",
    external_id="11650604",
    order_number="80869231",
    status=OrderStatus.CREATED,
    raw_status="Created",
    ordered_at=datetime(2018, 11, 21, 11, 52, 29, 863000, tzinfo=UTC),
    updated_at=datetime(2018, 11, 21, 11, 52, 38, tzinfo=UTC),
    customer=Customer(name="Trendyol Müşterisi", phone=None, phone_state=PhoneState.ABSENT,
                      email="pf+dym24k@trendyol.com", city="İstanbul", district="Şişli"),
    cargo=CargoInfo(company="Trendyol Express", tracking_number="7330000000000000", tracking_url="https://..."),
    lines=[OrderLine(sku="MS-1", barcode="8683772071724", name="Kadın Elbise", quantity=1,
                     unit_price=Decimal("400.0"), discount=Decimal("0"), currency="TRY")],
    total=Decimal("400.0"),
    currency="TRY",
)


def _without_raw(order: Order | None) -> Order:
    assert order is not None
    return order.model_copy(update={"raw": None})


def test_trendyol_documented_list_request_and_response() -> None:
    capture = Capture()
    clock = FrozenClock(datetime(2018, 11, 25, tzinfo=UTC))
    with cassette_vcr(capture).use_cassette("trendyol/get_shipment_packages.yaml") as cassette, \
            TrendyolClient("1234", "api-key", "api-secret", **options(clock)) as client:
        page = client.list_packages(start=datetime(2018, 11, 21, tzinfo=UTC), end=datetime(2018, 11, 22, tzinfo=UTC),
                                    status="Created", size=50)
    assert cassette.play_count == 1 and cassette.all_played
    assert set(capture.seen) == {basic("api-key", "api-secret")}
    assert page.total == 1 and page.next_call is None
    assert [_without_raw(i.order) for i in page.items] == [TRENDYOL_EXPECTED]
    assert page.items[0].order is not None and page.items[0].order.raw is not None



@pytest.mark.parametrize("name", sorted(str(p.relative_to(CASSETTES)) for p in CASSETTES.rglob("*.yaml")))
def test_no_cassette_stores_credentials(name: str) -> None:
    # Marketplace cassettes keep only the User-Agent; every cassette drops credential headers.
    data = yaml.safe_load((CASSETTES / name).read_text())
    for interaction in data["interactions"]:
        headers = {h.lower() for h in interaction["request"]["headers"]}
        assert not headers & {"authorization", "cookie", "x-api-key", "x-hub-signature-256"}
        if name.startswith(("trendyol/", "hepsiburada/")):
            assert headers == {"user-agent"}


async def test_trendyol_async_client_sends_the_same_request() -> None:
    capture = Capture()
    clock = FrozenClock(datetime(2018, 11, 25, tzinfo=UTC))
    with cassette_vcr(capture).use_cassette("trendyol/get_shipment_packages.yaml") as cassette:
        async with AsyncTrendyolClient("1234", "api-key", "api-secret", **options(clock)) as client:
            page = await client.list_packages(start=datetime(2018, 11, 21, tzinfo=UTC),
                                              end=datetime(2018, 11, 22, tzinfo=UTC), status="Created", size=50)
    assert cassette.play_count == 1
    assert [_without_raw(i.order) for i in page.items] == [TRENDYOL_EXPECTED]


def test_trendyol_documented_authentication_failure() -> None:
    capture = Capture()
    clock = FrozenClock()
    with cassette_vcr(capture).use_cassette("trendyol/auth_failure.yaml"), \
            TrendyolClient("1234", "api-key", "bad-secret", **options(clock)) as client, \
            pytest.raises(AuthenticationError) as info:
        client.get_order("80869231")
    assert (info.value.status, info.value.code) == (401, "ClientApiAuthenticationException")
    assert set(capture.seen) == {basic("api-key", "bad-secret")}


def test_hepsiburada_documented_orders_request_and_response() -> None:
    capture = Capture()
    clock = FrozenClock(datetime(2024, 5, 12, tzinfo=UTC))
    istanbul = ZoneInfo("Europe/Istanbul")
    since = datetime(2024, 5, 11, tzinfo=istanbul)
    with cassette_vcr(capture).use_cassette("hepsiburada/list_orders.yaml") as cassette, \
            HepsiburadaClient(MERCHANT, "Hb7Sk2Lm9Qx4", integrator_name="invekto_dev", change_feeds=(
                HepsiburadaFeed.OPEN,), include_returns=False, **options(clock)) as client:
        items = list(client.iter_orders_changed(since, since + timedelta(days=1)))
    assert cassette.play_count == 1 and cassette.all_played
    assert set(capture.seen) == {basic(MERCHANT, "Hb7Sk2Lm9Qx4")}
    assert [i.error for i in items] == [None]
    order = _without_raw(items[0].order)
    assert order == Order(
        provider="hepsiburada",
        external_id="2152988946",
        order_number="2152988946",
        status=OrderStatus.CREATED,
        raw_status="Open",
        ordered_at=datetime(2021, 10, 14, 11, 0, 20, tzinfo=UTC),
        updated_at=datetime(2021, 10, 14, 11, 0, 20, tzinfo=UTC),
        customer=Customer(name="Test User", phone=None, phone_state=PhoneState.MASKED, email="...",
                          city="İstanbul", district="Şişli"),
        cargo=CargoInfo(company="HepsiJET"),
        lines=[OrderLine(sku="SDDD2-032G", barcode=None, name="SanDisk 128GB USB", quantity=1,
                         unit_price=Decimal("100.4"), discount=Decimal(0), currency="TRY")],
        total=Decimal("100.4"),
        currency="TRY",
    )


def test_hepsiburada_documented_throttling_answer() -> None:
    capture = Capture()
    clock = FrozenClock()
    with cassette_vcr(capture).use_cassette("hepsiburada/rate_limited.yaml"), \
            HepsiburadaClient(MERCHANT, "Hb7Sk2Lm9Qx4", integrator_name="invekto_dev",
                              **options(clock, RetryPolicy.disabled())) as client, \
            pytest.raises(RateLimited) as info:
        client.get_order("2152988946")
    assert info.value.retry_after == 2.0 and info.value.code == "TooManyRequests"
