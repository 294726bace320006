"""Trendyol connector against its fake (in-process sandbox): listing, windows, errors, mapping."""

from __future__ import annotations

import itertools
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
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.models.claims import ClaimStatus
from invekto_integrations.models.orders import OrderStatus, PhoneState
from invekto_integrations.providers.base import ConnectOptions, Marketplace
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.providers.trendyol import (
    AsyncTrendyolClient,
    OrderDateEncoding,
    TrendyolClaimItemStatus,
    TrendyolClient,
    TrendyolPackageStatus,
)
from invekto_integrations.providers.trendyol.mapping import (
    CLAIM_STATUS,
    PACKAGE_STATUS,
    claim_status,
    package_status,
    to_order,
)
from invekto_integrations.providers.trendyol.wire import TrendyolPackage
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

from .conftest import NOW, SELLER, TY_KEY, TY_SECRET

RANGE = (NOW - timedelta(days=30), NOW + timedelta(seconds=1))

# Fact sheet §6, every documented raw status (and the webhook spellings).
SHEET_TABLE = {
    "Awaiting": OrderStatus.CREATED, "Created": OrderStatus.CREATED,
    "Picking": OrderStatus.PROCESSING, "Invoiced": OrderStatus.PROCESSING, "Repack": OrderStatus.PROCESSING,
    "UnPacked": OrderStatus.PROCESSING, "Verified": OrderStatus.PROCESSING,
    "Shipped": OrderStatus.SHIPPED, "AtCollectionPoint": OrderStatus.SHIPPED,
    "AT_COLLECTION_POINT": OrderStatus.SHIPPED,
    "Delivered": OrderStatus.DELIVERED, "Cancelled": OrderStatus.CANCELLED, "UnSupplied": OrderStatus.CANCELLED,
    "Returned": OrderStatus.RETURNED, "UnDelivered": OrderStatus.UNDELIVERED, "UNDELIVERED": OrderStatus.UNDELIVERED,
    "CREATED": OrderStatus.CREATED, "PICKING": OrderStatus.PROCESSING, "INVOICED": OrderStatus.PROCESSING,
    "SHIPPED": OrderStatus.SHIPPED, "CANCELLED": OrderStatus.CANCELLED, "DELIVERED": OrderStatus.DELIVERED,
    "RETURNED": OrderStatus.RETURNED, "UNSUPPLIED": OrderStatus.CANCELLED, "AWAITING": OrderStatus.CREATED,
    "UNPACKED": OrderStatus.PROCESSING, "VERIFIED": OrderStatus.PROCESSING,
}


# -- status tables ----------------------------------------------------------------------------------
def test_every_raw_status_is_mapped() -> None:
    assert set(PACKAGE_STATUS) == set(TrendyolPackageStatus)
    assert set(CLAIM_STATUS) == set(TrendyolClaimItemStatus)


@pytest.mark.parametrize(("raw", "expected"), sorted(SHEET_TABLE.items()))
def test_status_table_matches_the_fact_sheet(raw: str, expected: OrderStatus) -> None:
    assert package_status(raw) is expected


def test_unknown_status_is_unknown_not_an_error() -> None:
    assert package_status("Teleported") is OrderStatus.UNKNOWN
    assert claim_status("Whatever") is ClaimStatus.UNKNOWN


@pytest.mark.parametrize(("raw", "expected"), [
    ("Created", ClaimStatus.REQUESTED), ("WaitingInAction", ClaimStatus.REQUESTED),
    ("WaitingFraudCheck", ClaimStatus.REQUESTED), ("Accepted", ClaimStatus.ACCEPTED),
    ("Cancelled", ClaimStatus.CANCELLED), ("Rejected", ClaimStatus.REJECTED),
    ("Unresolved", ClaimStatus.IN_DISPUTE), ("InAnalysis", ClaimStatus.IN_DISPUTE),
])
def test_claim_status_table(raw: str, expected: ClaimStatus) -> None:
    assert claim_status(raw) is expected


# -- listing --------------------------------------------------------------------------------------------
def test_lists_every_package_across_windows_and_pages(sandbox: Sandbox, ty_fake: TrendyolFake,
                                                      common: dict[str, Any]) -> None:
    with TrendyolClient(SELLER, TY_KEY, TY_SECRET, base_url=sandbox.inprocess_url("trendyol"),
                        transport=sandbox.transport(), page_size=4, **common) as client:
        items = list(client.iter_orders_changed(*RANGE))
    ids = [i.order.external_id for i in items if i.order]
    assert all(i.error is None for i in items)
    assert sorted(ids) == ty_fake.package_ids(SELLER)  # each package exactly once
    requests = ty_fake.requests_to("/orders")
    windows = {(int(r.query["startDate"]), int(r.query["endDate"])) for r in requests}
    assert len(windows) == 3  # 30 days → 14 + 14 + 2
    for start, end in windows:
        assert end - start < 14 * 24 * 3600 * 1000
    ordered = sorted(windows)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ordered))  # contiguous, no overlap
    assert max(int(r.query["page"]) for r in requests) >= 2  # paged inside a window
    assert all(r.query["size"] == "4" and r.query["orderByField"] == "PackageLastModifiedDate" for r in requests)


def test_oldest_change_first_within_a_window(ty: TrendyolClient) -> None:
    orders = [i.order for i in ty.iter_orders_changed(NOW - timedelta(days=10), NOW + timedelta(seconds=1))
              if i.order]
    stamps = [o.updated_at for o in orders]
    assert stamps == sorted(stamps)


def test_a_window_over_the_reachable_limit_is_narrowed(clock: FrozenClock, common: dict[str, Any]) -> None:
    fake = TrendyolFake(clock=clock, orders_per_account=40, max_reachable=12)
    sb = Sandbox([fake], clock=clock)
    with TrendyolClient(SELLER, TY_KEY, TY_SECRET, base_url=sb.inprocess_url("trendyol"), transport=sb.transport(),
                        page_size=5, max_reachable=12, **common) as client:
        ids = [i.order.external_id for i in client.iter_orders_changed(*RANGE) if i.order]
    assert sorted(ids) == fake.package_ids(SELLER)
    spans = [int(r.query["endDate"]) - int(r.query["startDate"]) for r in fake.requests]
    assert min(spans) < 3 * 24 * 3600 * 1000  # halved several times
    served = [r for r in fake.requests if int(r.query["page"]) * 5 >= 12]
    assert served == []  # never asked beyond the reachable rows


def test_history_is_clamped_to_three_months(ty: TrendyolClient, ty_fake: TrendyolFake) -> None:
    list(ty.iter_orders_changed(NOW - timedelta(days=200), NOW - timedelta(days=80)))
    first = min(int(r.query["startDate"]) for r in ty_fake.requests)
    assert first >= int((NOW - timedelta(days=90)).timestamp() * 1000)


def test_the_fake_rejects_a_window_over_14_days(ty: TrendyolClient) -> None:
    with pytest.raises(InvalidRequest) as info:
        ty.list_packages(start=NOW - timedelta(days=15), end=NOW)
    assert info.value.status == 400
    assert info.value.code == "date.range.exceeded"


def test_malformed_package_is_quarantined_and_listing_goes_on(ty: TrendyolClient, ty_fake: TrendyolFake) -> None:
    victim = ty_fake.package_ids(SELLER)[3]
    ty_fake.break_order(SELLER, victim)
    items = list(ty.iter_orders_changed(*RANGE))
    errors = [i for i in items if i.error]
    assert len(errors) == 1
    err = errors[0].error
    assert isinstance(err, PayloadError)
    assert (err.provider, err.record, err.field) == ("trendyol", victim, "orderDate")
    assert errors[0].raw is not None and errors[0].raw["id"] == int(victim)
    assert len([i for i in items if i.order]) == len(ty_fake.package_ids(SELLER)) - 1


def test_injected_malformed_records_never_abort(ty: TrendyolClient, ty_fake: TrendyolFake) -> None:
    ty_fake.faults.configure(malformed_rate=0.3)
    items = list(ty.iter_orders_changed(*RANGE))
    assert len(items) == 30
    bad = [i for i in items if i.error]
    assert len(bad) == ty_fake.faults.counts["malformed"] > 0
    assert all(i.error is not None and i.error.field == "orderNumber" for i in bad)


def test_incremental_listing_finds_what_changed(ty: TrendyolClient, ty_fake: TrendyolFake, clock: FrozenClock) -> None:
    clock.advance(hours=1)
    mark = clock.now()
    (new,) = ty_fake.add_orders(SELLER, 1)
    old = ty_fake.package_ids(SELLER)[0]
    before = ty_fake.package(SELLER, old)["lastModifiedDate"]
    clock.advance(minutes=5)
    ty_fake.advance_order(SELLER, old, "Shipped")
    ty_fake.set_tracking(SELLER, old, 7330001234567890, company="Trendyol Express", link="https://t.example/1")
    after = ty_fake.package(SELLER, old)["lastModifiedDate"]
    assert after > before
    changed = {i.order.external_id: i.order for i in ty.iter_orders_changed(mark, clock.now() + timedelta(seconds=1))
               if i.order}
    assert set(changed) == {new, old}
    assert changed[old].status is OrderStatus.SHIPPED
    assert changed[old].cargo.tracking_number == "7330001234567890"
    assert changed[old].cargo.tracking_url == "https://t.example/1"
    assert changed[new].status is OrderStatus.CREATED


def test_lifecycle_follows_the_clock(ty: TrendyolClient, ty_fake: TrendyolFake, clock: FrozenClock) -> None:
    (pid,) = ty_fake.add_orders(SELLER, 1, lifecycle=True)
    seen = [ty.get_order(ty_fake.package(SELLER, pid)["orderNumber"])[0]]
    for hours in (3, 3, 20, 50, 100):
        clock.advance(hours=hours)
        seen.append(ty.get_order(seen[0].order_number)[0])
    raw = [o.raw_status for o in seen]
    assert raw[0] == "Created"
    assert raw[-1] in ("Delivered", "Cancelled", "Returned")
    assert [o.updated_at for o in seen] == sorted(o.updated_at for o in seen)


def test_get_order_by_number(ty: TrendyolClient, ty_fake: TrendyolFake) -> None:
    pid = ty_fake.package_ids(SELLER)[5]
    number = ty_fake.package(SELLER, pid)["orderNumber"]
    (order,) = ty.get_order(number)
    assert order.external_id == pid and order.order_number == number
    assert ty_fake.requests[-1].query == {"orderNumber": number, "page": "0", "size": "200",
                                         "orderByField": "PackageLastModifiedDate", "orderByDirection": "ASC"}
    with pytest.raises(NotFound) as info:  # the API answers an empty page
        ty.get_order("does-not-exist")
    assert info.value.provider == "trendyol" and info.value.operation == "get_order"
    assert "does-not-exist" in str(info.value)
    assert ty_fake.requests[-1].query["orderNumber"] == "does-not-exist"


async def test_async_get_order_of_an_unknown_number_is_not_found(aty: AsyncTrendyolClient) -> None:
    with pytest.raises(NotFound, match="order 1000000000 not found"):
        await aty.get_order("1000000000")


def test_claims(ty: TrendyolClient, ty_fake: TrendyolFake) -> None:
    pid = ty_fake.package_ids(SELLER)[0]
    cid = ty_fake.add_claim(SELLER, pid, status="WaitingInAction")
    claims = list(ty.iter_claims(NOW - timedelta(days=1), NOW + timedelta(seconds=1)))
    assert [c.external_id for c in claims] == [cid]
    assert claims[0].status is ClaimStatus.REQUESTED and claims[0].raw_status == "WaitingInAction"
    assert claims[0].lines and claims[0].lines[0].reason == "Beden uymadı"
    accepted = list(ty.iter_claims(NOW - timedelta(days=1), NOW + timedelta(seconds=1), status="Accepted"))
    assert accepted == []


# -- mapping details -------------------------------------------------------------------------------
def test_phones_are_e164_masked_or_absent_never_invented(ty: TrendyolClient) -> None:
    orders = [i.order for i in ty.iter_orders_changed(*RANGE) if i.order]
    states = {o.customer.phone_state for o in orders}
    assert states == {PhoneState.PRESENT, PhoneState.MASKED, PhoneState.ABSENT}
    for order in orders:
        raw_phone = (order.raw or {})["shipmentAddress"]["phone"]
        if order.customer.phone_state is PhoneState.PRESENT:
            assert order.customer.phone == normalize_phone(raw_phone)
            assert order.customer.phone is not None and order.customer.phone.startswith("+905")
        else:
            assert order.customer.phone is None
            assert (raw_phone is None) == (order.customer.phone_state is PhoneState.ABSENT)


def test_amounts_are_exact_decimals(ty: TrendyolClient) -> None:
    for item in ty.iter_orders_changed(*RANGE):
        assert item.order is not None and item.raw is not None
        for line, raw in zip(item.order.lines, item.raw["lines"], strict=True):
            assert isinstance(line.unit_price, Decimal)
            assert line.unit_price == Decimal(str(raw["price"]))
        assert item.order.total == Decimal(str(item.raw["totalPrice"]))


SAMPLE: dict[str, Any] = {
    "id": 11650604, "orderNumber": "80869231", "status": "Shipped",
    "orderDate": 1542801149863, "lastModifiedDate": 1542801158000,
    "grossAmount": 400.1, "totalDiscount": 0.3, "totalPrice": 399.8, "currencyCode": "TRY",
    "customerFirstName": "Ayşe", "customerLastName": "Yılmaz",
    "cargoProviderName": "Trendyol Express", "cargoTrackingNumber": 7330000000000000123,
    "shipmentAddress": {"fullName": "Ayşe Yılmaz", "city": "İzmir", "district": "Bornova", "phone": "0532 123 45 67"},
    "lines": [{"id": 1, "barcode": "8683772071724", "merchantSku": "MS-1", "productName": "Elbise", "quantity": 2,
               "price": 200.05, "discount": 0.3, "tyDiscount": 0.0, "currencyCode": "TRY"}],
}


def test_mapping_of_a_package() -> None:
    order = to_order(TrendyolPackage.model_validate(SAMPLE), SAMPLE)
    assert order.cargo.tracking_number == "7330000000000000123"  # numeric in JSON, exact string
    assert order.customer.phone == "+905321234567" and order.customer.phone_state is PhoneState.PRESENT
    assert order.lines[0].unit_price == Decimal("200.05") and order.lines[0].discount == Decimal("0.3")
    assert order.total == Decimal("399.8")
    assert order.ordered_at == datetime(2018, 11, 21, 11, 52, 29, 863000, tzinfo=UTC)


def test_order_date_encoding_is_configurable() -> None:
    pkg = TrendyolPackage.model_validate(SAMPLE)
    utc_reading = to_order(pkg, encoding=OrderDateEncoding.UTC).ordered_at
    wall_reading = to_order(pkg, encoding=OrderDateEncoding.ISTANBUL_WALL_CLOCK).ordered_at
    assert utc_reading - wall_reading == timedelta(hours=3)
    assert to_order(pkg, encoding=OrderDateEncoding.ISTANBUL_WALL_CLOCK).updated_at == to_order(pkg).updated_at


def test_shipment_package_id_alias_and_masked_phone() -> None:
    raw = {**SAMPLE, "shipmentPackageId": 42, "shipmentAddress": {"phone": "0532***45**"}}
    raw.pop("id")
    order = to_order(TrendyolPackage.model_validate(raw))
    assert order.external_id == "42"
    assert order.customer.phone is None and order.customer.phone_state is PhoneState.MASKED


# -- auth, throttling -------------------------------------------------------------------------------
def test_wrong_credentials_are_an_authentication_error(sandbox: Sandbox, common: dict[str, Any]) -> None:
    with TrendyolClient(SELLER, TY_KEY, "wrong", base_url=sandbox.inprocess_url("trendyol"),
                        transport=sandbox.transport(), **common) as client, pytest.raises(AuthenticationError) as info:
        client.list_packages(start=NOW - timedelta(days=1), end=NOW)
    assert info.value.status == 401
    assert info.value.code == "ClientApiAuthenticationException"
    assert "wrong" not in str(info.value) and "wrong" not in repr(client.config)


def test_user_agent_is_required_and_checked(sandbox: Sandbox, ty_fake: TrendyolFake, ty: TrendyolClient) -> None:
    ty.list_packages(start=NOW - timedelta(days=1), end=NOW)
    assert ty_fake.requests[-1].headers["user-agent"] == f"{SELLER} - SelfIntegration"
    with httpx.Client(transport=sandbox.transport(), base_url=sandbox.inprocess_url("trendyol"),
                      auth=(TY_KEY, TY_SECRET)) as raw:
        bare = raw.get(f"/order/sellers/{SELLER}/orders", headers={"User-Agent": ""})
        other = raw.get(f"/order/sellers/{SELLER}/orders", headers={"User-Agent": "999 - SelfIntegration"})
    assert bare.status_code == 403 and other.status_code == 403


def test_integrator_name_goes_into_the_user_agent(sandbox: Sandbox, ty_fake: TrendyolFake,
                                                  common: dict[str, Any]) -> None:
    with TrendyolClient(SELLER, TY_KEY, TY_SECRET, integrator_name="Invekto",
                        base_url=sandbox.inprocess_url("trendyol"), transport=sandbox.transport(), **common) as client:
        client.list_packages(start=NOW - timedelta(days=1), end=NOW)
    assert ty_fake.requests[-1].headers["user-agent"] == f"{SELLER} - Invekto"
    with pytest.raises(ConfigurationError):
        TrendyolClient(SELLER, TY_KEY, TY_SECRET, integrator_name="not valid!")


def test_429_is_retried_with_backoff(ty: TrendyolClient, ty_fake: TrendyolFake, sleepless: Any) -> None:
    ty_fake.faults.configure(script=["rate_limit", "rate_limit"])
    page = ty.list_packages(start=NOW - timedelta(days=3), end=NOW)
    assert page.total is not None
    assert [r.outcome for r in ty_fake.requests] == ["rate_limit", "rate_limit", "ok"]
    # No Retry-After is documented for Trendyol: exponential backoff with jitter.
    assert len(sleepless.slept) == 2
    assert 0.25 <= sleepless.slept[0] <= 0.5 and 0.5 <= sleepless.slept[1] <= 1.0


def test_client_side_rate_limit_is_the_published_one(ty: TrendyolClient) -> None:
    limit = ty.config.rate_limit
    assert limit is not None and limit.requests == 1000 and limit.per_seconds == 60


# -- parity and wiring -------------------------------------------------------------------------------
async def test_async_client_gives_the_same_orders(ty: TrendyolClient, aty: AsyncTrendyolClient) -> None:
    sync = [i.order for i in ty.iter_orders_changed(*RANGE)]
    asynchronous = [i.order async for i in aty.iter_orders_changed(*RANGE)]
    assert sync == asynchronous and len(sync) == 30
    number = sync[0].order_number if sync[0] else ""
    assert await aty.get_order(number) == ty.get_order(number)


def test_registry_builds_a_marketplace_from_an_account(sandbox: Sandbox, clock: FrozenClock) -> None:
    account = IntegrationAccount(id="acc-1", tenant_id="t1", provider="trendyol",
                                 settings={"seller_id": SELLER, "environment": "test"},
                                 api_key_encrypted="x", created_at=NOW, updated_at=NOW)
    creds = Credentials(api_key=TY_KEY, api_secret=TY_SECRET)  # type: ignore[arg-type]
    options = ConnectOptions(base_url=sandbox.inprocess_url("trendyol"), transport=sandbox.transport(), clock=clock,
                             limiter_registry=RateLimiterRegistry(clock))
    client = ProviderRegistry.load().connect(account, creds, options)
    marketplace: Marketplace = client
    try:
        assert isinstance(client, TrendyolClient)
        assert len(list(marketplace.iter_orders_changed(*RANGE))) == 30
    finally:
        marketplace.close()
    default = TrendyolClient(SELLER, TY_KEY, TY_SECRET, environment="test")
    assert default.config.base_url == "https://stageapigw.trendyol.com/integration"
    with pytest.raises(ConfigurationError):
        ProviderRegistry.load().connect(account.model_copy(update={"settings": {}}), creds, options)
