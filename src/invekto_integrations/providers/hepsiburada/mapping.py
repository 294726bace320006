"""Hepsiburada wire → unified models; the status tables as enums of raw codes.

Hepsiburada exposes status mostly by *which feed* an item is in; items also carry a free-text
``status`` whose spellings are unverified. The raw status of an order is the item's ``status``
when present, else the feed's stage name (`HepsiburadaStatus`); lookups ignore case and
underscores, and an unknown value maps to ``UNKNOWN`` (logged), never to an error.

One unified `Order` per order number (``external_id = orderNumber``): the orders feeds list line
items, the packages feeds list packages, the thin feeds list packages by number; all are folded
into the order they belong to. When several feeds mention one order, the most advanced stage
wins (`STAGE_RANK`), then the latest ``updated_at``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Any

from invekto_integrations.models.claims import ClaimLine, ClaimStatus, ReturnClaim
from invekto_integrations.models.orders import CargoInfo, Customer, Order, OrderLine, OrderStatus
from invekto_integrations.providers._common import log_unknown_status
from invekto_integrations.providers._marketplace import read_phone

from .wire import HbAddress, HbClaim, HbLine, HbOrderDetail, HbPackage, HbPackageDetail

__all__ = [
    "CLAIM_STATUS",
    "ORDER_STATUS",
    "STAGE_RANK",
    "HepsiburadaClaimStatus",
    "HepsiburadaStatus",
    "claim_status",
    "order_from_detail",
    "order_from_lines",
    "order_from_package",
    "order_status",
    "to_claim",
]

log = logging.getLogger("invekto_integrations.providers.hepsiburada")
PROVIDER = "hepsiburada"


class HepsiburadaStatus(StrEnum):
    """Order stages (feed names and the ``status`` spellings seen in payloads)."""

    PAYMENT_AWAITING = "PaymentAwaiting"
    OPEN = "Open"
    UNPACKED = "Unpacked"
    PACKAGED = "Packaged"
    MISSING_INVOICE = "MissingInvoice"
    IN_TRANSIT = "InTransit"
    SHIPPED = "Shipped"
    DELIVERED = "Delivered"
    UNDELIVERED = "Undelivered"
    CANCELLED = "Cancelled"
    CANCELLED_BY_MERCHANT = "CancelledByMerchant"
    CANCELLED_BY_CUSTOMER = "CancelledByCustomer"
    CANCELLED_BY_SAP = "CancelledBySap"
    RETURNED = "Returned"


ORDER_STATUS: dict[HepsiburadaStatus, OrderStatus] = {
    HepsiburadaStatus.PAYMENT_AWAITING: OrderStatus.CREATED,
    HepsiburadaStatus.OPEN: OrderStatus.CREATED,
    HepsiburadaStatus.UNPACKED: OrderStatus.PROCESSING,
    HepsiburadaStatus.PACKAGED: OrderStatus.PROCESSING,
    HepsiburadaStatus.MISSING_INVOICE: OrderStatus.PROCESSING,
    HepsiburadaStatus.IN_TRANSIT: OrderStatus.SHIPPED,
    HepsiburadaStatus.SHIPPED: OrderStatus.SHIPPED,
    HepsiburadaStatus.DELIVERED: OrderStatus.DELIVERED,
    HepsiburadaStatus.UNDELIVERED: OrderStatus.UNDELIVERED,
    HepsiburadaStatus.CANCELLED: OrderStatus.CANCELLED,
    HepsiburadaStatus.CANCELLED_BY_MERCHANT: OrderStatus.CANCELLED,
    HepsiburadaStatus.CANCELLED_BY_CUSTOMER: OrderStatus.CANCELLED,
    HepsiburadaStatus.CANCELLED_BY_SAP: OrderStatus.CANCELLED,
    HepsiburadaStatus.RETURNED: OrderStatus.RETURNED,
}

STAGE_RANK: dict[OrderStatus, int] = {
    OrderStatus.UNKNOWN: 0,
    OrderStatus.CREATED: 1,
    OrderStatus.PROCESSING: 2,
    OrderStatus.SHIPPED: 3,
    OrderStatus.UNDELIVERED: 4,
    OrderStatus.DELIVERED: 5,
    OrderStatus.CANCELLED: 6,
    OrderStatus.RETURNED: 7,
}


def _key(raw: str) -> str:
    return raw.replace("_", "").replace(" ", "").lower()


_BY_KEY = {_key(s.value): s for s in HepsiburadaStatus}


def order_status(raw: str) -> OrderStatus:
    found = _BY_KEY.get(_key(raw))
    if found is None:
        log_unknown_status(log, "hepsiburada", "order status", raw)
        return OrderStatus.UNKNOWN
    return ORDER_STATUS[found]


class HepsiburadaClaimStatus(StrEnum):
    NEW_REQUEST = "NewRequest"
    AWAITING_ACTION = "AwaitingAction"
    AWAITING_PRE_APPROVAL = "AwaitingPreApproval"
    IN_DISPUTE = "InDispute"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REFUNDED = "Refunded"
    CANCELLED = "Cancelled"


CLAIM_STATUS: dict[HepsiburadaClaimStatus, ClaimStatus] = {
    HepsiburadaClaimStatus.NEW_REQUEST: ClaimStatus.REQUESTED,
    HepsiburadaClaimStatus.AWAITING_ACTION: ClaimStatus.REQUESTED,
    HepsiburadaClaimStatus.AWAITING_PRE_APPROVAL: ClaimStatus.REQUESTED,
    HepsiburadaClaimStatus.IN_DISPUTE: ClaimStatus.IN_DISPUTE,
    HepsiburadaClaimStatus.ACCEPTED: ClaimStatus.ACCEPTED,
    HepsiburadaClaimStatus.REJECTED: ClaimStatus.REJECTED,
    HepsiburadaClaimStatus.REFUNDED: ClaimStatus.REFUNDED,
    HepsiburadaClaimStatus.CANCELLED: ClaimStatus.CANCELLED,
}
_CLAIM_BY_KEY = {_key(s.value): s for s in HepsiburadaClaimStatus}


def claim_status(raw: str) -> ClaimStatus:
    found = _CLAIM_BY_KEY.get(_key(raw))
    if found is None:
        log_unknown_status(log, "hepsiburada", "claim status", raw)
        return ClaimStatus.UNKNOWN
    return CLAIM_STATUS[found]


def aware(dt: datetime | None, zone: tzinfo) -> datetime | None:
    """An offset-less response date is read in ``zone`` (UTC by default; see the client)."""
    if dt is None:
        return None
    return (dt.replace(tzinfo=zone) if dt.tzinfo is None else dt).astimezone(UTC)


def _customer(name: str | None, address: HbAddress | None, phone: str | None = None,
              email: str | None = None, city: str | None = None, district: str | None = None) -> Customer:
    raw_phone = phone
    if raw_phone is None and address is not None:
        raw_phone = address.phoneNumber or address.alternatePhoneNumber
    number, state = read_phone(raw_phone)
    return Customer(
        name=name or (address.name if address else None),
        phone=number,
        phone_state=state,
        email=email or (address.email if address else None),
        city=city or (address.city if address else None),
        district=district or ((address.town or address.district) if address else None),
    )


def _line(line: HbLine) -> OrderLine:
    discount = Decimal(0)
    for d in (line.hbDiscount, line.merchantDiscount):
        if d is not None and d.totalPrice is not None:
            discount += d.totalPrice.amount
    return OrderLine(
        sku=line.merchantSKU or line.sku,
        barcode=line.productBarcode,
        name=line.name or line.productName or line.sku or line.id,
        quantity=line.quantity,
        unit_price=line.unitPrice.amount,
        discount=discount,
        currency=line.unitPrice.currency,
    )


def _line_total(line: HbLine) -> Decimal:
    return line.totalPrice.amount if line.totalPrice is not None else line.unitPrice.amount * line.quantity


def order_from_lines(order_number: str, lines: Sequence[HbLine], *, stage: HepsiburadaStatus, zone: tzinfo,
                     raw: dict[str, Any] | None = None) -> Order:
    """Line items of one order from an orders feed (Open, PaymentAwaiting, Cancelled)."""
    first = lines[0]
    raw_status = first.status or stage.value
    status = order_status(raw_status)
    if status is OrderStatus.UNKNOWN:
        status = ORDER_STATUS[stage]
    ordered = [aware(ln.orderDate, zone) for ln in lines if ln.orderDate is not None]
    changed = [aware(ln.cancelDate or ln.lastStatusUpdateDate, zone) for ln in lines]
    ordered_at = min(d for d in ordered if d is not None) if any(ordered) else None
    if ordered_at is None:
        raise ValueError("orderDate is missing on every line")
    updated_at = max((d for d in changed if d is not None), default=ordered_at)
    cargo = first.cargoCompanyModel
    return Order(
        provider=PROVIDER,
        external_id=order_number,
        order_number=order_number,
        status=status,
        raw_status=raw_status,
        ordered_at=ordered_at,
        updated_at=updated_at,
        customer=_customer(first.customerName, first.shippingAddress),
        cargo=CargoInfo(company=first.cargoCompany or (cargo.name if cargo else None),
                        tracking_url=None),
        lines=[_line(ln) for ln in lines],
        total=sum((_line_total(ln) for ln in lines), Decimal(0)),
        currency=first.unitPrice.currency,
        raw=raw,
    )


def order_from_package(order_number: str, pkg: HbPackage, *, stage: HepsiburadaStatus, zone: tzinfo,
                       seen_from: datetime | None = None, raw: dict[str, Any] | None = None) -> Order:
    """The part of a package (packages / unpacked feeds) that belongs to ``order_number``.

    Packages carry no change date; ``updated_at`` is ``lastStatusUpdateDate`` when sent, else the
    start of the date window the package was listed in (``seen_from``: it entered the bucket then
    or later), else the order date.
    """
    items = [i for i in pkg.items if i.orderNumber == order_number]
    raw_status = pkg.status or stage.value
    status = order_status(raw_status)
    if status is OrderStatus.UNKNOWN:
        status = ORDER_STATUS[stage]
    ordered_at = aware(pkg.orderDate, zone)
    if ordered_at is None:
        raise ValueError("orderDate is missing")
    lines = []
    for item in items:
        discount = sum((m.amount for m in (item.totalHBDiscount, item.totalMerchantDiscount) if m is not None),
                       Decimal(0))
        lines.append(OrderLine(sku=item.merchantSku or item.hbSku, barcode=None,
                               name=item.productName or item.hbSku or "", quantity=item.quantity,
                               unit_price=item.price.amount, discount=discount, currency=item.price.currency))
    total = sum(((i.totalPrice.amount if i.totalPrice else i.price.amount * i.quantity) for i in items), Decimal(0))
    return Order(
        provider=PROVIDER,
        external_id=order_number,
        order_number=order_number,
        status=status,
        raw_status=raw_status,
        ordered_at=ordered_at,
        updated_at=aware(pkg.lastStatusUpdateDate, zone) or max(ordered_at, seen_from or ordered_at),
        customer=_customer(pkg.customerName or pkg.recipientName, None, phone=pkg.phoneNumber, email=pkg.email,
                           city=pkg.shippingCity, district=pkg.shippingTown or pkg.shippingDistrict),
        cargo=CargoInfo(company=pkg.cargoCompany),
        lines=lines,
        total=total,
        raw=raw,
    )


def order_from_detail(detail: HbOrderDetail, *, zone: tzinfo, stage: HepsiburadaStatus | None = None,
                      raw_status: str | None = None, updated_at: datetime | None = None,
                      package: HbPackageDetail | None = None, package_number: str | None = None,
                      raw: dict[str, Any] | None = None) -> Order:
    """An order's detail as an `Order`; ``stage``/``raw_status`` override the items' statuses (a thin
    feed or a claim says where the order is), ``package`` adds its tracking."""
    items = list(detail.items)
    if package_number is not None:
        mine = [i for i in items if i.packageNumber == package_number]
        items = mine or items
    if raw_status is None:
        if stage is not None:
            raw_status = stage.value
        else:
            statuses = [i.status for i in items if i.status]
            raw_status = max(statuses, key=lambda s: STAGE_RANK[order_status(s)]) if statuses else "Open"
    status = order_status(raw_status)
    if status is OrderStatus.UNKNOWN and stage is not None:
        status = ORDER_STATUS[stage]
    ordered_at = aware(detail.orderDate, zone)
    assert ordered_at is not None
    changed = [aware(i.cancelDate or i.lastStatusUpdateDate, zone) for i in items]
    last = updated_at or max((d for d in changed if d is not None), default=ordered_at)
    first = items[0]
    cargo_model = first.cargoCompanyModel
    company = (package.cargoCompany if package else None) or first.cargoCompany or (
        cargo_model.name if cargo_model else None)
    return Order(
        provider=PROVIDER,
        external_id=detail.orderNumber,
        order_number=detail.orderNumber,
        status=status,
        raw_status=raw_status,
        ordered_at=ordered_at,
        updated_at=last,
        customer=_customer(detail.customer.name if detail.customer else first.customerName,
                           detail.deliveryAddress or first.shippingAddress),
        cargo=CargoInfo(company=company, tracking_number=package.trackingInfoCode if package else None,
                        tracking_url=package.trackingInfoUrl if package else None),
        lines=[_line(i) for i in items],
        total=sum((_line_total(i) for i in items), Decimal(0)),
        currency=first.unitPrice.currency,
        raw=raw,
    )


def to_claim(claim: HbClaim, *, zone: tzinfo, raw: dict[str, Any] | None = None) -> ReturnClaim:
    created = aware(claim.claimDate, zone)
    assert created is not None
    return ReturnClaim(
        provider=PROVIDER,
        external_id=claim.number or claim.id,
        order_number=claim.orderNumber,
        status=claim_status(claim.status),
        raw_status=claim.status,
        created_at=created,
        updated_at=aware(claim.refundDate, zone) or created,
        customer_name=claim.customerName,
        lines=[ClaimLine(sku=claim.sku, quantity=claim.quantity, reason=claim.explanation,
                         raw_status=claim.status)],
        refund_amount=claim.refundAmount,
        currency=claim.refundCurrency or "TRY",
        raw=raw,
    )
