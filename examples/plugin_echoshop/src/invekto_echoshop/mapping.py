"""EchoShop → unified models: the status table and the order mapping."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from invekto_integrations.core.phone import is_masked, try_normalize_phone
from invekto_integrations.models.orders import CargoInfo, Customer, Order, OrderLine, OrderStatus, PhoneState

from .wire import EchoOrder

__all__ = ["EchoShopStatus", "map_status", "to_order"]


class EchoShopStatus(StrEnum):
    """Every raw order status EchoShop documents."""

    NEW = "NEW"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    UNDELIVERED = "UNDELIVERED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"


_STATUS: dict[EchoShopStatus, OrderStatus] = {
    EchoShopStatus.NEW: OrderStatus.CREATED,
    EchoShopStatus.PACKED: OrderStatus.PROCESSING,
    EchoShopStatus.SHIPPED: OrderStatus.SHIPPED,
    EchoShopStatus.DELIVERED: OrderStatus.DELIVERED,
    EchoShopStatus.UNDELIVERED: OrderStatus.UNDELIVERED,
    EchoShopStatus.CANCELLED: OrderStatus.CANCELLED,
    EchoShopStatus.RETURNED: OrderStatus.RETURNED,
}


def map_status(raw: str) -> OrderStatus:
    """The unified status of a raw one; a status EchoShop adds later maps to ``UNKNOWN``."""
    try:
        return _STATUS[EchoShopStatus(raw)]
    except ValueError:
        return OrderStatus.UNKNOWN


def _phone(raw: str | None) -> tuple[str | None, PhoneState]:
    if not raw:
        return None, PhoneState.ABSENT
    if is_masked(raw):
        return None, PhoneState.MASKED
    e164 = try_normalize_phone(raw)
    return (e164, PhoneState.PRESENT) if e164 else (None, PhoneState.INVALID)


def to_order(wire: EchoOrder, raw: dict[str, Any] | None = None) -> Order:
    phone, state = _phone(wire.customer.phone)
    return Order(
        provider="echoshop",
        external_id=wire.orderNumber,
        order_number=wire.orderNumber,
        status=map_status(wire.status),
        raw_status=wire.status,
        ordered_at=wire.createdAt,
        updated_at=wire.updatedAt,
        customer=Customer(name=wire.customer.fullName, phone=phone, phone_state=state, email=wire.customer.email,
                          city=wire.customer.city, district=wire.customer.district),
        cargo=CargoInfo(company=wire.shipment.carrier, tracking_number=wire.shipment.trackingNumber)
        if wire.shipment else CargoInfo(),
        lines=[OrderLine(sku=ln.sku, barcode=ln.barcode, name=ln.title, quantity=ln.quantity, unit_price=ln.unitPrice)
               for ln in wire.lines],
        total=wire.totalPrice,
        currency=wire.currency,
        raw=raw,
    )
