"""The listing's one-pass parse (`wire.validate_package` + `mapping.order_from`, plain dicts) gives
what the model path gave (`TrendyolPackage` + the mapping it replaced, kept here as the reference):
the same `Order` for every package the model accepts, and a refusal naming the same field for every
package it refuses. Packages come from the fake and are then damaged field by field."""

from __future__ import annotations

import copy
import functools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pydantic
from hypothesis import given, settings
from hypothesis import strategies as st

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.orders import CargoInfo, Customer, Order, OrderLine
from invekto_integrations.providers._marketplace import read_phone
from invekto_integrations.providers.trendyol.client import TrendyolEndpoints
from invekto_integrations.providers.trendyol.mapping import (
    PROVIDER,
    OrderDateEncoding,
    _name,
    order_date,
    order_from,
    package_status,
    stamp_of,
    to_order,
)
from invekto_integrations.providers.trendyol.wire import TrendyolPackage, validate_package
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def reference_order(pkg: TrendyolPackage, raw: dict[str, Any] | None,
                    encoding: OrderDateEncoding = OrderDateEncoding.UTC) -> Order:
    """The model-based mapping as it was before the one-pass parse."""
    address = pkg.shipmentAddress or pkg.invoiceAddress
    phone_raw = (pkg.shipmentAddress.phone if pkg.shipmentAddress else None) or (
        pkg.invoiceAddress.phone if pkg.invoiceAddress else None)
    phone, phone_state = read_phone(phone_raw)
    stamps = [d for d in (stamp_of(h.createdDate) for h in pkg.packageHistories) if d is not None]
    modified = stamp_of(pkg.lastModifiedDate)
    if pkg.orderDate:
        ordered_at = order_date(pkg.orderDate, encoding)
    elif stamps or modified:
        ordered_at = min([*stamps, *([modified] if modified else [])])
    else:
        raise ValueError("orderDate is unknown (0) and the package carries no other date")
    updated_at = modified or (max(stamps) if stamps else ordered_at)
    lines = [OrderLine(sku=line.merchantSku or line.sku, barcode=line.barcode, name=line.productName,
                       quantity=line.quantity, unit_price=line.price, discount=line.discount + line.tyDiscount,
                       currency=line.currencyCode) for line in pkg.lines]
    if pkg.totalPrice is not None:
        total = pkg.totalPrice
    elif pkg.grossAmount is not None:
        total = pkg.grossAmount - pkg.totalDiscount
    else:
        total = sum((ln.unit_price * ln.quantity for ln in lines), Decimal(0))
    return Order(
        provider=PROVIDER, external_id=pkg.id, order_number=pkg.orderNumber, status=package_status(pkg.status),
        raw_status=pkg.status, ordered_at=ordered_at, updated_at=updated_at,
        customer=Customer(
            name=_name(pkg.customerFirstName, pkg.customerLastName) or (address.fullName if address else None),
            phone=phone, phone_state=phone_state, email=pkg.customerEmail,
            city=address.city if address else None, district=address.district if address else None),
        cargo=CargoInfo(company=pkg.cargoProviderName, tracking_number=pkg.cargoTrackingNumber,
                        tracking_url=pkg.cargoTrackingLink),
        lines=lines, total=total, currency=pkg.currencyCode, raw=raw,
    )


def _outcome(parse: Any, raw: Any) -> tuple[str, Any]:
    try:
        return "ok", parse(raw)
    except pydantic.ValidationError as exc:
        return "invalid", tuple(exc.errors()[0]["loc"])
    except ValueError as exc:
        return "error", str(exc)


def _model_path(raw: Any) -> Order:
    return reference_order(TrendyolPackage.model_validate(raw), raw)


def _dict_path(raw: Any) -> Order:
    return order_from(validate_package(raw), raw)


@functools.cache
def _packages() -> list[dict[str, Any]]:
    fake = TrendyolFake(clock=FrozenClock(NOW), seed=7, orders_per_account=0)
    seller = fake.provision_account()
    fake.seed_orders(seller.account_key, 60, start=NOW - timedelta(days=13), end=NOW - timedelta(minutes=1))
    return [json.loads(json.dumps(fake.package(seller.account_key, pid)))
            for pid in fake.package_ids(seller.account_key)]


def test_fake_packages_map_alike_on_both_paths() -> None:
    packages = _packages()
    assert len(packages) == 60
    for raw in packages:
        expected = _model_path(raw)
        assert _dict_path(raw) == expected
        assert to_order(TrendyolPackage.model_validate(raw), raw) == expected
        item = TrendyolEndpoints("1").parse_package(raw)
        assert item.error is None and item.order == expected


VALUES = [None, "", "   ", " İstanbul ", "0", "12", "abc", "1.234,50", "1,5", "NaN", 0, 1, -1, 7, 10**20, 2**70,
          0.0, 1.5, 149.9, -3.25, float("inf"), True, False, [], {}, [{}], {"createdDate": 1, "status": "x"},
          "Shipped", "UnDelivered", "+90 532 123 45 67", "0532***45**", "05321234567", 1_767_600_000_000]
TOP = ["id", "shipmentPackageId", "orderNumber", "status", "shipmentPackageStatus", "orderDate", "lastModifiedDate",
       "grossAmount", "totalDiscount", "totalTyDiscount", "totalPrice", "currencyCode", "customerId",
       "customerFirstName", "customerLastName", "customerEmail", "shipmentAddress", "invoiceAddress",
       "cargoProviderName", "cargoTrackingNumber", "cargoTrackingLink", "cargoSenderNumber", "lines",
       "packageHistories", "somethingNew"]
ADDRESS = ["firstName", "lastName", "fullName", "city", "district", "countryCode", "phone", "address1"]
LINE = ["id", "barcode", "merchantSku", "sku", "productName", "quantity", "price", "amount", "discount",
        "tyDiscount", "currencyCode", "orderLineItemStatusName"]
HISTORY = ["createdDate", "status"]
DROP = object()

paths = st.one_of(
    st.tuples(st.just("top"), st.sampled_from(TOP)),
    st.tuples(st.sampled_from(["shipmentAddress", "invoiceAddress"]), st.sampled_from(ADDRESS)),
    st.tuples(st.just("lines"), st.sampled_from(LINE)),
    st.tuples(st.just("packageHistories"), st.sampled_from(HISTORY)),
)


def _damage(raw: dict[str, Any], where: str, key: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(raw)
    if where == "top":
        target: Any = body
    elif where in ("lines", "packageHistories"):
        items = body.get(where)
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            return body  # an earlier change replaced the list
        target = items[0]
    else:
        target = body.get(where)
        if not isinstance(target, dict):
            target = body[where] = {}
    if value is DROP:
        target.pop(key, None)
    else:
        target[key] = value
    return body


@settings(max_examples=400, deadline=None)
@given(index=st.integers(0, 59), changes=st.lists(st.tuples(paths, st.sampled_from([*VALUES, DROP])), max_size=3))
def test_damaged_packages_fail_or_map_alike(index: int, changes: list[tuple[tuple[str, str], Any]]) -> None:
    raw = _packages()[index]
    for (where, key), value in changes:
        raw = _damage(raw, where, key, value)
    model = _outcome(_model_path, raw)
    fast = _outcome(_dict_path, raw)
    assert fast == model
    item = TrendyolEndpoints("1").parse_package(raw)
    if model[0] == "ok":
        assert item.order == model[1]
    else:
        assert item.order is None and item.error is not None
        if model[0] == "invalid":
            assert item.error.field == ".".join(str(p) for p in model[1])


def test_an_item_that_is_no_object_is_its_own_error_and_the_page_goes_on() -> None:
    good = _packages()[0]
    call = TrendyolEndpoints("1").list_packages(page=0, size=200)
    body = {"page": 0, "size": 200, "totalPages": 1, "totalElements": 3, "content": [good, 7, "x"]}
    page = call.parse(httpx.Response(200, json=body))
    assert [it.order is not None for it in page.items] == [True, False, False]
    assert all(it.error is not None and it.error.provider == "trendyol" for it in page.items[1:])
