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


# -- claims, order detail and packages (issue 5: every documented example pinned) --------------------
def test_trendyol_documented_claims_request_and_response() -> None:
    from invekto_integrations.models.claims import ClaimLine, ClaimStatus, ReturnClaim

    capture = Capture()
    clock = FrozenClock(datetime(2018, 11, 25, tzinfo=UTC))
    with cassette_vcr(capture).use_cassette("trendyol/get_claims.yaml") as cassette, \
            TrendyolClient("1234", "api-key", "api-secret", **options(clock)) as client:
        claims = list(client.iter_claims(datetime(2018, 11, 21, tzinfo=UTC), datetime(2018, 11, 22, tzinfo=UTC)))
    assert cassette.play_count == 1 and cassette.all_played
    assert set(capture.seen) == {basic("api-key", "api-secret")}
    assert [c.model_copy(update={"raw": None}) for c in claims] == [ReturnClaim(
        provider="trendyol", external_id="f9da2317-876b-4b86-b8f7-0535c3b65731", order_number="80869231",
        status=ClaimStatus.REQUESTED, raw_status="WaitingInAction",
        created_at=datetime(2018, 11, 21, 9, 0, tzinfo=UTC), updated_at=datetime(2018, 11, 21, 10, 0, tzinfo=UTC),
        customer_name="Trendyol Müşterisi",
        lines=[ClaimLine(sku="MS-1", barcode="8683772071724", name="Kadın Elbise", quantity=1,
                         reason="Beden büyük geldi", raw_status="WaitingInAction")],
        cargo_company="Trendyol Express", tracking_number="7330000000000001",
    )]


def test_hepsiburada_documented_order_detail_with_package_tracking() -> None:
    capture = Capture()
    clock = FrozenClock(datetime(2021, 10, 15, tzinfo=UTC))
    with cassette_vcr(capture).use_cassette("hepsiburada/get_order_detail.yaml") as cassette, \
            HepsiburadaClient(MERCHANT, "Hb7Sk2Lm9Qx4", integrator_name="invekto_dev", **options(clock)) as client:
        [order] = client.get_order("2152988946")
    assert cassette.play_count == 2 and cassette.all_played  # the detail, then its package's tracking
    assert set(capture.seen) == {basic(MERCHANT, "Hb7Sk2Lm9Qx4")}
    assert _without_raw(order) == Order(
        provider="hepsiburada", external_id="2152988946", order_number="2152988946",
        status=OrderStatus.PROCESSING, raw_status="Packaged",
        ordered_at=datetime(2021, 10, 14, 11, 0, 20, tzinfo=UTC),
        updated_at=datetime(2021, 10, 14, 15, 30, tzinfo=UTC),
        customer=Customer(name="Test User", phone="+905321112233", phone_state=PhoneState.PRESENT,
                          email="test.user@example.com", city="İstanbul", district="Şişli"),
        cargo=CargoInfo(company="HepsiJET", tracking_number="HX1234567890",
                        tracking_url="https://www.hepsijet.com/gonderi-takibi/HX1234567890"),
        lines=[OrderLine(sku="SDDD2-032G", barcode="619659161309", name="SanDisk 128GB USB", quantity=1,
                         unit_price=Decimal("100.4"), discount=Decimal("10.4"), currency="TRY")],
        total=Decimal("100.4"), currency="TRY",
    )


def test_hepsiburada_documented_packages_feed() -> None:
    from invekto_integrations.providers.hepsiburada.wire import HbPackage

    capture = Capture()
    clock = FrozenClock(datetime(2021, 10, 15, tzinfo=UTC))
    since = datetime(2021, 10, 14, tzinfo=ZoneInfo("Europe/Istanbul"))
    with cassette_vcr(capture).use_cassette("hepsiburada/list_packages.yaml") as cassette, \
            HepsiburadaClient(MERCHANT, "Hb7Sk2Lm9Qx4", integrator_name="invekto_dev", **options(clock)) as client:
        page = client.list_feed(HepsiburadaFeed.PACKAGES, begin=since, end=since + timedelta(days=1))
    assert cassette.play_count == 1 and cassette.all_played  # limit 10, `Offset`, Istanbul-local day
    assert page.total == 1 and page.next_call is None
    [item] = page.items
    assert item.error is None and isinstance(item.record, HbPackage)
    package = item.record
    assert (package.packageNumber, package.barcode, package.status, package.cargoCompany) == (
        "3401234567", "HX1234567890", "Packaged", "HepsiJET")
    assert package.orderDate == datetime(2021, 10, 14, 11, 0, 20, tzinfo=UTC)
    [line] = package.items
    assert (line.lineItemId, line.orderNumber, line.merchantSku, line.quantity) == (
        "61680dc6-b404-55fe-1171-d92506060606", "2152988946", "SDDD2-032G", 1)
    assert line.price.amount == Decimal("100.4") and line.totalMerchantDiscount is not None
    assert line.totalMerchantDiscount.amount == Decimal("10.4")


def test_hepsiburada_documented_claims_bare_array_with_paging_headers() -> None:
    from invekto_integrations.models.claims import ClaimLine, ClaimStatus, ReturnClaim

    capture = Capture()
    clock = FrozenClock(datetime(2021, 10, 25, tzinfo=UTC))
    since = datetime(2021, 10, 20, tzinfo=ZoneInfo("Europe/Istanbul"))
    with cassette_vcr(capture).use_cassette("hepsiburada/get_claims.yaml") as cassette, \
            HepsiburadaClient(MERCHANT, "Hb7Sk2Lm9Qx4", integrator_name="invekto_dev", **options(clock)) as client:
        claims = list(client.iter_claims(since, since + timedelta(days=1)))
    assert cassette.play_count == 1 and cassette.all_played  # X-Total-Count: 1 -> no second page
    assert [c.model_copy(update={"raw": None}) for c in claims] == [ReturnClaim(
        provider="hepsiburada", external_id="T12345678", order_number="2152988946",
        status=ClaimStatus.REQUESTED, raw_status="NewRequest",
        created_at=datetime(2021, 10, 20, 8, 15, tzinfo=UTC), updated_at=datetime(2021, 10, 20, 8, 15, tzinfo=UTC),
        customer_name="Test User",
        lines=[ClaimLine(sku="HBV000000SFXH", quantity=1, reason="Ürün çalışmıyor", raw_status="NewRequest")],
    )]
