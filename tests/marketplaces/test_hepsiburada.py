"""Hepsiburada connector against its fake (in-process sandbox): buckets, merge, windows, errors."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    PayloadError,
)
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.models.claims import ClaimStatus
from invekto_integrations.models.orders import OrderStatus, PhoneState
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.hepsiburada import (
    AsyncHepsiburadaClient,
    HepsiburadaClaimStatus,
    HepsiburadaClient,
    HepsiburadaFeed,
    HepsiburadaStatus,
)
from invekto_integrations.providers.hepsiburada.client import format_hb_date, hepsiburada_error_details
from invekto_integrations.providers.hepsiburada.mapping import (
    CLAIM_STATUS,
    ORDER_STATUS,
    claim_status,
    order_status,
)
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake

from .conftest import HB_AGENT, HB_KEY, MERCHANT, NOW

RANGE = (NOW - timedelta(days=12), NOW + timedelta(seconds=1))

SHEET_TABLE = {
    "PaymentAwaiting": OrderStatus.CREATED, "Open": OrderStatus.CREATED,
    "Packaged": OrderStatus.PROCESSING, "Unpacked": OrderStatus.PROCESSING, "MissingInvoice": OrderStatus.PROCESSING,
    "InTransit": OrderStatus.SHIPPED, "Shipped": OrderStatus.SHIPPED, "Delivered": OrderStatus.DELIVERED,
    "Cancelled": OrderStatus.CANCELLED, "CancelledByMerchant": OrderStatus.CANCELLED,
    "Undelivered": OrderStatus.UNDELIVERED, "Returned": OrderStatus.RETURNED,
    "OPEN": OrderStatus.CREATED, "in_transit": OrderStatus.SHIPPED,
}


def changed(client: HepsiburadaClient, since: datetime, until: datetime) -> dict[str, Any]:
    return {i.order.external_id: i.order for i in client.iter_orders_changed(since, until) if i.order}


# -- status tables -------------------------------------------------------------------------------------
def test_every_raw_status_is_mapped() -> None:
    assert set(ORDER_STATUS) == set(HepsiburadaStatus)
    assert set(CLAIM_STATUS) == set(HepsiburadaClaimStatus)


@pytest.mark.parametrize(("raw", "expected"), sorted(SHEET_TABLE.items()))
def test_status_table_matches_the_fact_sheet(raw: str, expected: OrderStatus) -> None:
    assert order_status(raw) is expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("NewRequest", ClaimStatus.REQUESTED), ("AwaitingAction", ClaimStatus.REQUESTED),
    ("AwaitingPreApproval", ClaimStatus.REQUESTED), ("InDispute", ClaimStatus.IN_DISPUTE),
    ("Accepted", ClaimStatus.ACCEPTED), ("Rejected", ClaimStatus.REJECTED), ("Refunded", ClaimStatus.REFUNDED),
    ("Cancelled", ClaimStatus.CANCELLED), ("Lost", ClaimStatus.UNKNOWN),
])
def test_claim_status_table(raw: str, expected: ClaimStatus) -> None:
    assert claim_status(raw) is expected


# -- the merged change feed ---------------------------------------------------------------------------
def test_every_order_once_with_its_current_stage(hb: HepsiburadaClient, hb_fake: HepsiburadaFake) -> None:
    orders = changed(hb, *RANGE)
    assert sorted(orders) == hb_fake.order_numbers(MERCHANT)
    for number, order in orders.items():
        assert order.status is ORDER_STATUS[HepsiburadaStatus(hb_fake.stage_of(MERCHANT, number))]
    # the seeded lifecycle leaves orders in several buckets
    assert len(Counter(o.status for o in orders.values())) >= 4


def path_of(r: Any) -> str:
    return str(r.path).removeprefix("/hepsiburada")


def test_each_bucket_is_polled_as_documented(hb: HepsiburadaClient, hb_fake: HepsiburadaFake) -> None:
    list(hb.iter_orders_changed(NOW - timedelta(days=2, hours=3), NOW))
    seen: Counter[str] = Counter()
    for r in hb_fake.requests:
        path = path_of(r)
        if path in (f"/orders/merchantid/{MERCHANT}", f"/orders/merchantid/{MERCHANT}/paymentawaiting"):
            seen["windowed orders"] += 1
            begin = datetime.strptime(r.query["begindate"], "%Y-%m-%d %H:%M")
            end = datetime.strptime(r.query["enddate"], "%Y-%m-%d %H:%M")
            assert timedelta(0) < end - begin < timedelta(hours=24)
            assert r.query["limit"] == "100" and r.query["offset"] == "0"
        elif path in (f"/packages/merchantid/{MERCHANT}", f"/packages/merchantid/{MERCHANT}/status/unpacked"):
            seen["packages" if path.endswith(MERCHANT) else "unpacked"] += 1
            assert r.query["limit"] == "10" and "Offset" in r.query
            assert "begindate" in r.query or path.endswith("/unpacked")  # unpacked: timespan only
        elif path.rsplit("/", 1)[-1] in ("cancelled", "shipped", "delivered", "undelivered"):
            seen[path.rsplit("/", 1)[-1]] += 1
            assert "begindate" not in r.query and r.query["limit"] == "50"
        elif "/ordernumber/" in path or "/packagenumber/" in path or path.startswith("/claims/"):
            seen["detail"] += 1
        else:
            raise AssertionError(f"unexpected request {path}")
    assert seen["windowed orders"] == 6  # 2 feeds × 3 windows (51 h)
    assert seen["packages"] >= 3 and seen["unpacked"] >= 1
    assert all(seen[k] == 1 for k in ("cancelled", "shipped", "delivered", "undelivered"))
    assert seen["detail"] > 0


def test_packages_feed_is_paged_by_ten(hb: HepsiburadaClient, hb_fake: HepsiburadaFake, clock: FrozenClock) -> None:
    numbers = hb_fake.add_orders(MERCHANT, 23, status="Packaged")
    orders = changed(hb, NOW - timedelta(minutes=1), NOW + timedelta(minutes=1))
    assert set(numbers) <= set(orders)
    assert all(orders[n].status is OrderStatus.PROCESSING and orders[n].raw_status == "Packaged" for n in numbers)
    offsets = [r.query["Offset"] for r in hb_fake.requests if path_of(r) == f"/packages/merchantid/{MERCHANT}"]
    assert offsets == ["0", "10", "20"]


def test_incremental_windows_see_each_transition_once(hb: HepsiburadaClient, hb_fake: HepsiburadaFake,
                                                      clock: FrozenClock) -> None:
    start = clock.now()
    (number,) = hb_fake.add_orders(MERCHANT, 1)
    clock.advance(hours=2)
    first = changed(hb, start, clock.now())
    assert first[number].status is OrderStatus.CREATED and first[number].raw_status == "Open"
    hb_fake.advance_order(MERCHANT, number, "Packaged")
    clock.advance(hours=2)
    second = changed(hb, start + timedelta(hours=2), clock.now())
    assert second[number].status is OrderStatus.PROCESSING
    assert second[number].updated_at >= start + timedelta(hours=2)
    hb_fake.advance_order(MERCHANT, number, "InTransit")
    hb_fake.set_tracking(MERCHANT, number, "HJ123456", link="https://hepsijet.example/HJ123456")
    clock.advance(hours=2)
    third = changed(hb, start + timedelta(hours=4), clock.now())
    assert third[number].status is OrderStatus.SHIPPED
    assert third[number].cargo.tracking_number == "HJ123456"
    assert third[number].cargo.tracking_url == "https://hepsijet.example/HJ123456"
    assert number not in changed(hb, clock.now(), clock.now() + timedelta(hours=1))


def test_cancelled_and_delivered_are_filtered_by_their_dates(hb: HepsiburadaClient, hb_fake: HepsiburadaFake,
                                                             clock: FrozenClock) -> None:
    a, b = hb_fake.add_orders(MERCHANT, 2)
    clock.advance(hours=1)
    mark = clock.now()
    hb_fake.advance_order(MERCHANT, a, "Cancelled")
    hb_fake.advance_order(MERCHANT, b, "Packaged", at=mark - timedelta(minutes=30))
    hb_fake.advance_order(MERCHANT, b, "InTransit", at=mark - timedelta(minutes=20))
    hb_fake.advance_order(MERCHANT, b, "Delivered")
    clock.advance(minutes=10)
    orders = changed(hb, mark, clock.now())
    assert orders[a].status is OrderStatus.CANCELLED and orders[a].raw_status == "Cancelled"
    assert orders[b].status is OrderStatus.DELIVERED
    older = changed(hb, mark - timedelta(days=1), mark - timedelta(hours=2))
    assert a not in older and b not in older


def test_accepted_return_claim_marks_the_order_returned(hb: HepsiburadaClient, hb_fake: HepsiburadaFake,
                                                        clock: FrozenClock) -> None:
    (number,) = hb_fake.add_orders(MERCHANT, 1, status="Delivered")
    clock.advance(hours=1)
    claim = hb_fake.add_claim(MERCHANT, number)
    clock.advance(hours=1)
    hb_fake.advance_claim(MERCHANT, claim, "Refunded")
    orders = changed(hb, NOW, clock.now() + timedelta(minutes=1))
    assert orders[number].status is OrderStatus.RETURNED  # merged: delivered feed + claim → one order
    assert list(orders).count(number) == 1
    claims = list(hb.iter_claims(NOW, clock.now() + timedelta(minutes=1)))
    assert [(c.external_id, c.status) for c in claims] == [(claim, ClaimStatus.REFUNDED)]
    assert claims[0].refund_amount is not None and isinstance(claims[0].refund_amount, Decimal)


def test_malformed_line_is_quarantined_and_listing_goes_on(hb: HepsiburadaClient, hb_fake: HepsiburadaFake) -> None:
    victims = hb_fake.add_orders(MERCHANT, 3)
    hb_fake.break_order(MERCHANT, victims[1])
    items = list(hb.iter_orders_changed(NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)))
    errors = [i.error for i in items if i.error]
    assert errors and all(isinstance(e, PayloadError) for e in errors)
    assert {e.record for e in errors if e} == {victims[1]}
    assert {e.field for e in errors if e} <= {"quantity", "unitPrice"}
    good = {i.order.external_id for i in items if i.order}
    assert {victims[0], victims[2]} <= good and victims[1] not in good


def test_malformed_thin_item_is_quarantined(hb: HepsiburadaClient, hb_fake: HepsiburadaFake) -> None:
    a, b = hb_fake.add_orders(MERCHANT, 2, status="InTransit")
    hb_fake.break_order(MERCHANT, a)
    items = list(hb.iter_orders_changed(NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)))
    errors = [i for i in items if i.error]
    assert any(e.error is not None and e.error.field == "OrderNumber" for e in errors)
    assert b in {i.order.external_id for i in items if i.order}


def test_get_order_with_tracking(hb: HepsiburadaClient, hb_fake: HepsiburadaFake) -> None:
    (number,) = hb_fake.add_orders(MERCHANT, 1, status="InTransit")
    (order,) = hb.get_order(number)
    assert order.status is OrderStatus.SHIPPED and order.raw_status == "InTransit"
    assert order.cargo.tracking_number and order.cargo.tracking_url
    (fresh,) = hb_fake.add_orders(MERCHANT, 1)
    (open_order,) = hb.get_order(fresh)
    assert open_order.status is OrderStatus.CREATED and open_order.cargo.tracking_number is None


def test_get_order_of_an_unknown_number_is_not_found(hb: HepsiburadaClient) -> None:
    with pytest.raises(NotFound) as info:  # the detail endpoint answers 404
        hb.get_order("1000000000")
    assert info.value.provider == "hepsiburada" and info.value.operation == "get_order"
    assert info.value.status == 404 and "order 1000000000 not found" in str(info.value)


# -- mapping -----------------------------------------------------------------------------------------------
def test_phones_and_amounts(hb: HepsiburadaClient) -> None:
    items = list(hb.iter_orders_changed(*RANGE))
    orders = [i.order for i in items if i.order]
    assert {o.customer.phone_state for o in orders} == {PhoneState.PRESENT, PhoneState.MASKED, PhoneState.ABSENT}
    for o in orders:
        if o.customer.phone_state is PhoneState.PRESENT:
            assert o.customer.phone is not None and o.customer.phone.startswith("+905") and len(o.customer.phone) == 13
        else:
            assert o.customer.phone is None
        for line in o.lines:
            assert isinstance(line.unit_price, Decimal) and line.unit_price == line.unit_price.quantize(Decimal("0.01"))
        assert o.total == sum((ln.unit_price * ln.quantity - ln.discount for ln in o.lines), Decimal(0))


def test_dates_are_sent_in_istanbul_time() -> None:
    assert format_hb_date(datetime(2024, 5, 10, 21, 0, tzinfo=UTC)) == "2024-05-11 00:00"


def test_error_bodies() -> None:
    text = httpx.Response(429, text="TooManyRequests")
    assert hepsiburada_error_details(text).code == "TooManyRequests"
    message = httpx.Response(400, json={"message": "Bad Request limit and offset parameters are required"})
    assert hepsiburada_error_details(message).message == "Bad Request limit and offset parameters are required"


# -- the fake's documented limits --------------------------------------------------------------------------
def test_fake_enforces_paging_and_window_rules(sandbox: Sandbox, hb_fake: HepsiburadaFake,
                                               clock: FrozenClock) -> None:
    (number,) = hb_fake.add_orders(MERCHANT, 1, at=NOW - timedelta(hours=10))
    base = sandbox.inprocess_url("hepsiburada")
    with httpx.Client(transport=sandbox.transport(), base_url=base, auth=(MERCHANT, HB_KEY),
                      headers={"User-Agent": HB_AGENT}) as raw:
        missing = raw.get(f"/orders/merchantid/{MERCHANT}")
        too_big = raw.get(f"/packages/merchantid/{MERCHANT}", params={"limit": 50, "Offset": 0})
        dated = raw.get(f"/packages/merchantid/{MERCHANT}/shipped",
                        params={"limit": 50, "offset": 0, "begindate": "2026-01-01 00:00"})
        # a 48 h window is cut to begindate + 24 h: the order placed 10 h ago is outside it
        cut = raw.get(f"/orders/merchantid/{MERCHANT}", params={
            "offset": 0, "limit": 100, "begindate": format_hb_date(NOW - timedelta(hours=48)),
            "enddate": format_hb_date(NOW)})
        full = raw.get(f"/orders/merchantid/{MERCHANT}", params={
            "offset": 0, "limit": 100, "begindate": format_hb_date(NOW - timedelta(hours=12)),
            "enddate": format_hb_date(NOW - timedelta(hours=1))})
    assert missing.status_code == 400
    assert missing.json()["message"] == "Bad Request limit and offset parameters are required"
    assert missing.json()["correlationId"]
    assert too_big.status_code == 400 and dated.status_code == 400 and dated.json()["message"] == "WrongDateFormat"
    assert number not in {i["orderNumber"] for i in cut.json()["items"]}
    assert number in {i["orderNumber"] for i in full.json()["items"]}
    assert set(cut.json()) == {"totalCount", "limit", "offset", "pageCount", "items"}


# -- auth, throttling ----------------------------------------------------------------------------------------
def test_wrong_service_key_is_an_authentication_error(sandbox: Sandbox, common: dict[str, Any]) -> None:
    with HepsiburadaClient(MERCHANT, "wrong-key-123", integrator_name=HB_AGENT,
                           base_url=sandbox.inprocess_url("hepsiburada"), transport=sandbox.transport(),
                           **common) as client, pytest.raises(AuthenticationError) as info:
        client.get_order("123")
    assert info.value.status == 401 and info.value.code == "Unauthorized"
    assert "wrong-key" not in str(info.value)


def test_user_agent_must_be_the_integrator_username(sandbox: Sandbox, hb_fake: HepsiburadaFake,
                                                    common: dict[str, Any]) -> None:
    with HepsiburadaClient(MERCHANT, HB_KEY, integrator_name=f"{MERCHANT} - SelfIntegration",
                           base_url=sandbox.inprocess_url("hepsiburada"), transport=sandbox.transport(),
                           **common) as client, pytest.raises(AuthenticationError):
        list(client.iter_orders_changed(NOW - timedelta(hours=1), NOW))
    with pytest.raises(ConfigurationError):
        HepsiburadaClient(MERCHANT, HB_KEY, integrator_name="")


def test_429_waits_for_x_ratelimit_reset(hb: HepsiburadaClient, hb_fake: HepsiburadaFake, sleepless: Any) -> None:
    hb_fake.faults.configure(script=["rate_limit"], retry_after_seconds=3)
    (number,) = hb_fake.add_orders(MERCHANT, 1)
    assert hb.get_order(number)[0].order_number == number
    assert sleepless.slept == [3.0]
    assert [r.outcome for r in hb_fake.requests][:2] == ["rate_limit", "ok"]


def test_429_without_retries_surfaces_the_wait(sandbox: Sandbox, hb_fake: HepsiburadaFake,
                                               clock: FrozenClock) -> None:
    from invekto_integrations.core.errors import RateLimited
    from invekto_integrations.core.retry import RetryPolicy

    hb_fake.faults.configure(script=["rate_limit"], retry_after_seconds=5)
    with HepsiburadaClient(MERCHANT, HB_KEY, integrator_name=HB_AGENT, base_url=sandbox.inprocess_url("hepsiburada"),
                           transport=sandbox.transport(), clock=clock, retry=RetryPolicy.disabled(),
                           limiter_registry=RateLimiterRegistry(clock)) as client, pytest.raises(RateLimited) as info:
        client.get_order("1")
    assert info.value.retry_after == 5.0 and info.value.code == "TooManyRequests"


def test_fake_rejects_another_merchants_path(sandbox: Sandbox) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url=sandbox.inprocess_url("hepsiburada"),
                      auth=(MERCHANT, HB_KEY), headers={"User-Agent": HB_AGENT}) as raw:
        other = raw.get("/orders/merchantid/5c3f8a21-4e6d-4b2a-9f10-7d2e6c1b9a03", params={"offset": 0, "limit": 1})
    assert other.status_code == 403


# -- parity and wiring ------------------------------------------------------------------------------------------
async def test_async_client_gives_the_same_orders(hb: HepsiburadaClient, ahb: AsyncHepsiburadaClient) -> None:
    sync = [(i.order, i.error is None) for i in hb.iter_orders_changed(*RANGE)]
    asynchronous = [(i.order, i.error is None) async for i in ahb.iter_orders_changed(*RANGE)]
    assert sync == asynchronous and len(sync) == 30
    first = sync[0][0]
    assert first is not None
    assert await ahb.get_order(first.order_number) == hb.get_order(first.order_number)
    feed = [i.raw async for i in ahb.iter_feed(HepsiburadaFeed.DELIVERED)]
    assert feed == [i.raw for i in hb.iter_feed(HepsiburadaFeed.DELIVERED)]


def test_registry_builds_a_marketplace_from_an_account(sandbox: Sandbox, clock: FrozenClock) -> None:
    account = IntegrationAccount(id="acc-2", tenant_id="t1", provider="hepsiburada",
                                 settings={"merchant_id": MERCHANT, "integrator_name": HB_AGENT},
                                 api_key_encrypted="x", created_at=NOW, updated_at=NOW)
    creds = Credentials(api_key=MERCHANT, api_secret=HB_KEY)  # type: ignore[arg-type]
    options = ConnectOptions(base_url=sandbox.inprocess_url("hepsiburada"), transport=sandbox.transport(),
                             clock=clock, limiter_registry=RateLimiterRegistry(clock))
    with ProviderRegistry.load().connect(account, creds, options) as client:
        assert isinstance(client, HepsiburadaClient)
        assert len([i for i in client.iter_orders_changed(*RANGE) if i.order]) == 30
    sit = HepsiburadaClient(MERCHANT, HB_KEY, integrator_name=HB_AGENT, environment="test")
    assert sit.config.base_url == "https://oms-external-sit.hepsiburada.com"
    with pytest.raises(ConfigurationError):
        ProviderRegistry.load().connect(account.model_copy(update={"settings": {"merchant_id": MERCHANT}}), creds,
                                        options)


def test_missing_limit_is_reported_as_invalid_request(hb: HepsiburadaClient) -> None:
    from invekto_integrations.core.http import Call

    call = Call("raw", "GET", f"/orders/merchantid/{MERCHANT}", lambda r: r.json())
    with pytest.raises(InvalidRequest) as info:
        hb._runner.run(call)
    assert info.value.status == 400 and "limit and offset" in info.value.message
