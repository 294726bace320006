"""The unified marketplace order: what every marketplace connector returns.

Trendyol's shipment package and Hepsiburada's order/package both map onto `Order`; the raw status
is kept beside the unified one, and the raw payload travels in ``raw`` for debugging.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.money import DecimalAmount, Money
from invekto_integrations.core.reprs import html_table

__all__ = ["CargoInfo", "Customer", "Order", "OrderLine", "OrderStatus", "PhoneState"]


class OrderStatus(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    UNKNOWN = "unknown"


class PhoneState(StrEnum):
    """Whether the provider gave a usable phone: marketplaces often mask or omit it."""

    PRESENT = "present"
    MASKED = "masked"
    ABSENT = "absent"
    INVALID = "invalid"


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str | None = None
    phone: str | None = None  # E.164 when phone_state is PRESENT, else None
    phone_state: PhoneState = PhoneState.ABSENT
    email: str | None = None
    city: str | None = None
    district: str | None = None


class CargoInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str | None = None
    barcode: str | None = None
    name: str
    quantity: int
    unit_price: DecimalAmount
    discount: DecimalAmount = Decimal(0)
    currency: str = "TRY"


class Order(BaseModel):
    """One marketplace order (for Trendyol: one shipment package, grouped by ``order_number``)."""

    model_config = ConfigDict(frozen=True)

    provider: str
    external_id: str  # the unit the cache is keyed by: package id (Trendyol), order/package (HB)
    order_number: str
    status: OrderStatus
    raw_status: str
    ordered_at: datetime
    updated_at: datetime
    customer: Customer = Field(default_factory=Customer)
    cargo: CargoInfo = Field(default_factory=CargoInfo)
    lines: list[OrderLine] = Field(default_factory=list)
    total: DecimalAmount = Decimal(0)
    currency: str = "TRY"
    raw: dict[str, Any] | None = Field(default=None, repr=False)

    def __repr__(self) -> str:
        who = f" customer={self.customer.name!r}" if self.customer.name else ""
        return (f"<Order {self.provider} #{self.order_number} {self.status.value} {self.total} {self.currency} "
                f"lines={len(self.lines)}{who} ordered={self.ordered_at:%Y-%m-%d %H:%M}>")

    def __str__(self) -> str:
        return repr(self)

    def _repr_html_(self) -> str:
        title = (f"{self.provider} order {self.order_number}: {self.status.value}, {self.total} {self.currency}, "
                 f"{self.customer.name or 'no name'} ({self.customer.city or '?'}), "
                 f"ordered {self.ordered_at:%Y-%m-%d %H:%M}")
        return html_table(title, ["sku", "name", "quantity", "unit price", "discount"],
                          ([ln.sku, ln.name, ln.quantity, ln.unit_price, ln.discount] for ln in self.lines))

    @property
    def total_money(self) -> Money:
        """``total`` with its currency (`InvalidArgument` when the provider's currency is no ISO code)."""
        return Money(amount=self.total, currency=self.currency)
