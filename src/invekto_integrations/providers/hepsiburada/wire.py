"""Hepsiburada OMS payloads, field names exactly as sent (camelCase, and PascalCase on the thin
shipped/delivered/undelivered feeds), extra fields allowed.

Money is ``{"amount": 100.4, "currency": "TRY"}`` (a bare number is tolerated); amounts become
`Decimal` through `core.money.to_decimal`. Dates are ISO-8601 strings; a value without an offset
stays naive here and is resolved by `mapping` (see ``naive_zone``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from invekto_integrations.core.money import DecimalAmount

__all__ = [
    "HbAddress",
    "HbClaim",
    "HbLine",
    "HbMoney",
    "HbOrderDetail",
    "HbPackage",
    "HbPackageDetail",
    "HbPackageItem",
    "HbThinPackage",
]


def _id_text(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an identifier")
    if isinstance(value, int):
        return str(value)
    return value


IdText = Annotated[str, BeforeValidator(_id_text)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


def _money(value: Any) -> Any:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return {"amount": value}
    return value


class HbMoney(_Wire):
    amount: DecimalAmount
    currency: str = "TRY"


MoneyField = Annotated[HbMoney, BeforeValidator(_money)]


class HbAddress(_Wire):
    name: str | None = None
    address: str | None = None
    town: str | None = None
    district: str | None = None
    city: str | None = None
    countryCode: str | None = None
    phoneNumber: str | None = None
    alternatePhoneNumber: str | None = None
    email: str | None = None


class HbCargoCompanyModel(_Wire):
    name: str | None = None
    shortName: str | None = None
    trackingUrl: str | None = None


class HbDiscount(_Wire):
    unitPrice: MoneyField | None = None
    totalPrice: MoneyField | None = None


class HbLine(_Wire):
    """An item of the orders / paymentawaiting / cancelled feeds (``LineRepresentation``) and of an
    order's detail."""

    id: IdText
    orderNumber: IdText | None = None
    orderDate: datetime | None = None
    status: str | None = None
    sku: str | None = None
    merchantSKU: str | None = None
    productBarcode: str | None = None
    name: str | None = None
    productName: str | None = None
    quantity: int = Field(ge=0)
    unitPrice: MoneyField
    totalPrice: MoneyField | None = None
    hbDiscount: HbDiscount | None = None
    merchantDiscount: HbDiscount | None = None
    lastStatusUpdateDate: datetime | None = None
    customerId: IdText | None = None
    customerName: str | None = None
    shippingAddress: HbAddress | None = None
    cargoCompany: str | None = None
    cargoCompanyModel: HbCargoCompanyModel | None = None
    packageNumber: IdText | None = None
    cancelDate: datetime | None = None
    cancelReasonCode: IdText | None = None
    cancelledBy: str | None = None


class HbPackageItem(_Wire):
    lineItemId: IdText | None = None
    orderNumber: IdText
    hbSku: str | None = None
    merchantSku: str | None = None
    productName: str | None = None
    quantity: int = Field(ge=0)
    price: MoneyField
    totalPrice: MoneyField | None = None
    totalHBDiscount: MoneyField | None = None
    totalMerchantDiscount: MoneyField | None = None


class HbPackage(_Wire):
    """An item of the packages / unpacked feeds (``ExternalRawPackageRepresentation``)."""

    id: IdText | None = None
    packageNumber: IdText
    barcode: str | None = None
    status: str | None = None
    orderDate: datetime | None = None
    lastStatusUpdateDate: datetime | None = None
    cargoCompany: str | None = None
    customerName: str | None = None
    recipientName: str | None = None
    email: str | None = None
    phoneNumber: str | None = None
    shippingCity: str | None = None
    shippingTown: str | None = None
    shippingDistrict: str | None = None
    totalPrice: MoneyField | None = None
    items: list[HbPackageItem] = Field(min_length=1)


class HbThinPackage(_Wire):
    """An item of the shipped / delivered / undelivered feeds (thin, PascalCase)."""

    Id: IdText | None = None
    OrderNumber: IdText
    OrderNumbers: list[IdText] | None = None
    PackageNumber: IdText
    Barcode: str | None = None
    ShippedDate: datetime | None = None
    DeliveredDate: datetime | None = None
    UndeliveredDate: datetime | None = None
    UndeliveredReason: str | None = None


class HbCustomer(_Wire):
    customerId: IdText | None = None
    name: str | None = None


class HbOrderDetail(_Wire):
    """GET /orders/merchantid/{mid}/ordernumber/{orderNumber}."""

    orderNumber: IdText
    orderDate: datetime
    createdDate: datetime | None = None
    paymentStatus: str | None = None
    customer: HbCustomer | None = None
    deliveryAddress: HbAddress | None = None
    items: list[HbLine] = Field(min_length=1)


class HbPackageDetail(_Wire):
    """GET /packages/merchantid/{mid}/packagenumber/{packageNumber}."""

    packageNumber: IdText
    barcode: str | None = None
    status: str | None = None
    cargoCompany: str | None = None
    trackingInfoCode: IdText | None = None
    trackingInfoUrl: str | None = None


class HbClaim(_Wire):
    id: IdText
    number: IdText | None = None
    claimType: str | None = None
    status: str
    orderNumber: IdText
    claimDate: datetime
    sku: str | None = None
    quantity: int = 1
    customerName: str | None = None
    explanation: str | None = None
    refundAmount: DecimalAmount | None = None
    refundCurrency: str | None = None
    refundDate: datetime | None = None
