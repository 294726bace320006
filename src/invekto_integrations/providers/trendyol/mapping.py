"""Trendyol wire → unified models; the status tables as enums of Trendyol's raw codes.

Timezone reading (unverified upstream): ``lastModifiedDate`` and ``packageHistories`` are taken
as true epoch milliseconds. ``orderDate`` is read according to `OrderDateEncoding`: ``UTC`` (the
documented reading, default) or ``ISTANBUL_WALL_CLOCK`` (several integrators report Istanbul
local time encoded as if it were UTC: the value is shifted by the Istanbul offset).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

from invekto_integrations.models.claims import ClaimLine, ClaimStatus, ReturnClaim
from invekto_integrations.models.orders import Order, OrderStatus
from invekto_integrations.providers._common import log_unknown_status
from invekto_integrations.providers._marketplace import from_epoch_ms, read_phone

from .wire import TrendyolClaim, TrendyolPackage, TrendyolPackageData

__all__ = [
    "CLAIM_STATUS",
    "PACKAGE_STATUS",
    "OrderDateEncoding",
    "TrendyolClaimItemStatus",
    "TrendyolPackageStatus",
    "claim_status",
    "order_from",
    "package_status",
    "to_claim",
    "to_order",
]

log = logging.getLogger("invekto_integrations.providers.trendyol")
PROVIDER = "trendyol"
ISTANBUL = ZoneInfo("Europe/Istanbul")


class TrendyolPackageStatus(StrEnum):
    """Shipment package statuses as Trendyol sends them."""

    AWAITING = "Awaiting"
    CREATED = "Created"
    PICKING = "Picking"
    INVOICED = "Invoiced"
    SHIPPED = "Shipped"
    AT_COLLECTION_POINT = "AtCollectionPoint"
    DELIVERED = "Delivered"
    UNDELIVERED = "UnDelivered"
    RETURNED = "Returned"
    CANCELLED = "Cancelled"
    UNSUPPLIED = "UnSupplied"
    REPACK = "Repack"
    UNPACKED = "UnPacked"
    VERIFIED = "Verified"


PACKAGE_STATUS: dict[TrendyolPackageStatus, OrderStatus] = {
    TrendyolPackageStatus.AWAITING: OrderStatus.CREATED,
    TrendyolPackageStatus.CREATED: OrderStatus.CREATED,
    TrendyolPackageStatus.PICKING: OrderStatus.PROCESSING,
    TrendyolPackageStatus.INVOICED: OrderStatus.PROCESSING,
    TrendyolPackageStatus.REPACK: OrderStatus.PROCESSING,
    TrendyolPackageStatus.UNPACKED: OrderStatus.PROCESSING,
    TrendyolPackageStatus.VERIFIED: OrderStatus.PROCESSING,
    TrendyolPackageStatus.SHIPPED: OrderStatus.SHIPPED,
    TrendyolPackageStatus.AT_COLLECTION_POINT: OrderStatus.SHIPPED,
    TrendyolPackageStatus.DELIVERED: OrderStatus.DELIVERED,
    TrendyolPackageStatus.CANCELLED: OrderStatus.CANCELLED,
    TrendyolPackageStatus.UNSUPPLIED: OrderStatus.CANCELLED,
    TrendyolPackageStatus.RETURNED: OrderStatus.RETURNED,
    TrendyolPackageStatus.UNDELIVERED: OrderStatus.UNDELIVERED,
}

# Webhook and v3 spellings (AT_COLLECTION_POINT, UNDELIVERED ...) compare without case/underscores.
_BY_KEY = {s.value.lower(): s for s in TrendyolPackageStatus}


def _key(raw: str) -> str:
    return raw.replace("_", "").replace(" ", "").lower()


def package_status(raw: str) -> OrderStatus:
    """The unified status of a raw package status; unknown values map to ``UNKNOWN`` (logged)."""
    found = _BY_KEY.get(_key(raw))
    if found is None:
        log_unknown_status(log, "trendyol", "package status", raw)
        return OrderStatus.UNKNOWN
    return PACKAGE_STATUS[found]


class TrendyolClaimItemStatus(StrEnum):
    CREATED = "Created"
    WAITING_IN_ACTION = "WaitingInAction"
    WAITING_FRAUD_CHECK = "WaitingFraudCheck"
    ACCEPTED = "Accepted"
    CANCELLED = "Cancelled"
    REJECTED = "Rejected"
    UNRESOLVED = "Unresolved"
    IN_ANALYSIS = "InAnalysis"


CLAIM_STATUS: dict[TrendyolClaimItemStatus, ClaimStatus] = {
    TrendyolClaimItemStatus.CREATED: ClaimStatus.REQUESTED,
    TrendyolClaimItemStatus.WAITING_IN_ACTION: ClaimStatus.REQUESTED,
    TrendyolClaimItemStatus.WAITING_FRAUD_CHECK: ClaimStatus.REQUESTED,
    TrendyolClaimItemStatus.IN_ANALYSIS: ClaimStatus.IN_DISPUTE,
    TrendyolClaimItemStatus.UNRESOLVED: ClaimStatus.IN_DISPUTE,
    TrendyolClaimItemStatus.ACCEPTED: ClaimStatus.ACCEPTED,
    TrendyolClaimItemStatus.REJECTED: ClaimStatus.REJECTED,
    TrendyolClaimItemStatus.CANCELLED: ClaimStatus.CANCELLED,
}
_CLAIM_BY_KEY = {s.value.lower(): s for s in TrendyolClaimItemStatus}


def claim_status(raw: str) -> ClaimStatus:
    found = _CLAIM_BY_KEY.get(_key(raw))
    if found is None:
        log_unknown_status(log, "trendyol", "claim item status", raw)
        return ClaimStatus.UNKNOWN
    return CLAIM_STATUS[found]


class OrderDateEncoding(StrEnum):
    """How to read ``orderDate`` (see the module docstring)."""

    UTC = "utc"
    ISTANBUL_WALL_CLOCK = "istanbul_wall_clock"


def stamp_of(ms: int | None) -> datetime | None:
    """An epoch-ms field; ``0`` is the placeholder of an unknown date (``None``), never 1970."""
    if ms is None or ms == 0:
        return None
    return from_epoch_ms(ms)


def order_date(ms: int, encoding: OrderDateEncoding) -> datetime:
    stamp = from_epoch_ms(ms)
    if encoding is OrderDateEncoding.UTC:
        return stamp
    wall = stamp.replace(tzinfo=None)
    return wall.replace(tzinfo=ISTANBUL).astimezone(UTC)


def _name(*parts: str | None) -> str | None:
    text = " ".join(p.strip() for p in parts if p and p.strip())
    return text or None


def to_order(pkg: TrendyolPackage, raw: dict[str, Any] | None = None,
             encoding: OrderDateEncoding = OrderDateEncoding.UTC) -> Order:
    """One shipment package as a unified `Order` (``external_id`` = package id)."""
    return order_from(cast(TrendyolPackageData, pkg.model_dump()), raw, encoding)


_ZERO = Decimal(0)


def order_from(pkg: TrendyolPackageData, raw: dict[str, Any] | None = None,
               encoding: OrderDateEncoding = OrderDateEncoding.UTC) -> Order:
    """`to_order` of a package checked by `wire.validate_package` (the listing's one validation pass:
    the unified order is validated once, from plain dicts)."""
    shipment, invoice = pkg.get("shipmentAddress"), pkg.get("invoiceAddress")
    address = shipment if shipment is not None else invoice
    phone_raw = (shipment.get("phone") if shipment is not None else None) or (
        invoice.get("phone") if invoice is not None else None)
    phone, phone_state = read_phone(phone_raw)
    stamps = [d for d in (stamp_of(h["createdDate"]) for h in pkg.get("packageHistories", ())) if d is not None]
    modified = stamp_of(pkg.get("lastModifiedDate"))
    if pkg["orderDate"]:
        ordered_at = order_date(pkg["orderDate"], encoding)
    elif stamps or modified:  # placeholder 0: the earliest known moment of the package
        ordered_at = min([*stamps, *([modified] if modified else [])])
    else:
        raise ValueError("orderDate is unknown (0) and the package carries no other date")
    updated_at = modified or (max(stamps) if stamps else ordered_at)
    lines = [
        {
            "sku": line.get("merchantSku") or line.get("sku"),
            "barcode": line.get("barcode"),
            "name": line["productName"],
            "quantity": line["quantity"],
            "unit_price": line["price"],
            "discount": line.get("discount", _ZERO) + line.get("tyDiscount", _ZERO),
            "currency": line.get("currencyCode", "TRY"),
        }
        for line in pkg.get("lines", ())
    ]
    total = pkg.get("totalPrice")
    if total is None:
        gross = pkg.get("grossAmount")
        if gross is not None:
            total = gross - pkg.get("totalDiscount", _ZERO)
        else:
            total = sum((line["price"] * line["quantity"] for line in pkg.get("lines", ())), _ZERO)
    status = pkg["status"]
    return Order.model_validate({
        "provider": PROVIDER,
        "external_id": pkg["id"],
        "order_number": pkg["orderNumber"],
        "status": package_status(status),
        "raw_status": status,
        "ordered_at": ordered_at,
        "updated_at": updated_at,
        "customer": {
            "name": _name(pkg.get("customerFirstName"), pkg.get("customerLastName")) or (
                address.get("fullName") if address is not None else None),
            "phone": phone,
            "phone_state": phone_state,
            "email": pkg.get("customerEmail"),
            "city": address.get("city") if address is not None else None,
            "district": address.get("district") if address is not None else None,
        },
        "cargo": {
            "company": pkg.get("cargoProviderName"),
            "tracking_number": pkg.get("cargoTrackingNumber"),
            "tracking_url": pkg.get("cargoTrackingLink"),
        },
        "lines": lines,
        "total": total,
        "currency": pkg.get("currencyCode", "TRY"),
        "raw": raw,
    })


def to_claim(claim: TrendyolClaim, raw: dict[str, Any] | None = None) -> ReturnClaim:
    """A claim as a unified `ReturnClaim`; its status is the most advanced of its items'."""
    lines: list[ClaimLine] = []
    statuses: list[str] = []
    for item in claim.items:
        for ci in item.claimItems:
            statuses.append(ci.claimItemStatus.name)
            lines.append(ClaimLine(
                sku=item.orderLine.merchantSku, barcode=item.orderLine.barcode, name=item.orderLine.productName,
                quantity=1, reason=ci.customerClaimItemReason.name if ci.customerClaimItemReason else None,
                raw_status=ci.claimItemStatus.name,
            ))
    order = [ClaimStatus.UNKNOWN, ClaimStatus.REQUESTED, ClaimStatus.IN_DISPUTE, ClaimStatus.CANCELLED,
             ClaimStatus.REJECTED, ClaimStatus.ACCEPTED, ClaimStatus.REFUNDED]
    raw_status = max(statuses, key=lambda s: order.index(claim_status(s))) if statuses else "Created"
    modified = stamp_of(claim.lastModifiedDate)
    created = stamp_of(claim.claimDate) or modified
    if created is None:
        raise ValueError("claimDate is unknown (0) and the claim carries no other date")
    return ReturnClaim(
        provider=PROVIDER,
        external_id=claim.id,
        order_number=claim.orderNumber,
        status=claim_status(raw_status),
        raw_status=raw_status,
        created_at=created,
        updated_at=modified or created,
        customer_name=_name(claim.customerFirstName, claim.customerLastName),
        lines=lines,
        cargo_company=(claim.cargoProviderName or "").strip() or None,
        tracking_number=claim.cargoTrackingNumber,
        raw=raw,
    )
