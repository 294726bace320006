"""EchoShop's own payloads, field names exactly as sent (extra fields allowed)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.money import DecimalAmount

__all__ = ["EchoCustomer", "EchoLine", "EchoOrder", "EchoOrderPage", "EchoShipment"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class EchoCustomer(_Wire):
    fullName: str
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    district: str | None = None


class EchoLine(_Wire):
    sku: str
    barcode: str | None = None
    title: str
    quantity: int
    unitPrice: DecimalAmount


class EchoShipment(_Wire):
    carrier: str
    trackingNumber: str


class EchoOrder(_Wire):
    orderNumber: str
    status: str
    createdAt: datetime
    updatedAt: datetime
    customer: EchoCustomer
    lines: list[EchoLine]
    totalPrice: DecimalAmount
    currency: str = "TRY"
    shipment: EchoShipment | None = None


class EchoOrderPage(_Wire):
    """The envelope of ``GET /v1/orders``; the orders stay raw so each is validated on its own."""

    page: int
    size: int
    totalPages: int
    totalElements: int
    orders: list[dict[str, object]]
