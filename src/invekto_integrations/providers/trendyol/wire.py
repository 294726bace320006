"""Trendyol's own payloads, field names exactly as sent (camelCase), extra fields allowed.

Amounts arrive as JSON floats and become `Decimal` through `core.money.to_decimal`; ids and
``cargoTrackingNumber`` arrive as JSON numbers and are kept as strings. A tracking number is read
from the JSON integer (exact at any length); one sent as a JSON float is refused, never rounded,
and the placeholder ``0`` of packages awaiting a parcel means "none". Address fields are trimmed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from invekto_integrations.core.money import DecimalAmount

__all__ = [
    "TrendyolAddress",
    "TrendyolClaim",
    "TrendyolClaimItem",
    "TrendyolClaimLine",
    "TrendyolLine",
    "TrendyolPackage",
    "TrendyolPackageHistory",
    "TrendyolPageEnvelope",
]


def _id_text(value: Any) -> Any:
    """JSON numbers used as identifiers become their exact decimal text (never ``1e15``)."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an identifier")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"not an integral identifier: {value!r}")
        return str(int(value))
    return value


IdText = Annotated[str, BeforeValidator(_id_text)]


def _tracking_text(value: Any) -> Any:
    """A tracking number: the exact digits of a JSON integer (or the string sent); ``0`` / ``"0"`` is
    the placeholder of a package awaiting its parcel (``None``). A float has lost digits: refused."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a tracking number")
    if isinstance(value, float):
        raise ValueError("a tracking number sent as a JSON float cannot be read exactly (refused, not rounded)")
    if isinstance(value, int):
        return str(value) if value != 0 else None
    if isinstance(value, str):
        text = value.strip()
        return None if text in ("", "0") else text
    return value


TrackingText = Annotated[str | None, BeforeValidator(_tracking_text)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class TrendyolAddress(_Wire):
    firstName: str | None = None
    lastName: str | None = None
    fullName: str | None = None
    city: str | None = None
    district: str | None = None
    countryCode: str | None = None
    phone: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _trim(cls, value: Any) -> Any:
        # Published payloads pad some fields (" İstanbul "); an all-blank field is absent.
        if isinstance(value, str):
            return value.strip() or None
        return value


class TrendyolLine(_Wire):
    id: IdText | None = None
    barcode: str | None = None
    merchantSku: str | None = None
    sku: str | None = None
    productName: str
    quantity: int = Field(ge=0)
    price: DecimalAmount
    amount: DecimalAmount | None = None
    discount: DecimalAmount = Decimal(0)
    tyDiscount: DecimalAmount = Decimal(0)
    currencyCode: str = "TRY"
    orderLineItemStatusName: str | None = None


class TrendyolPackageHistory(_Wire):
    createdDate: int
    status: str


class TrendyolPackage(_Wire):
    """One ``content[]`` item of getShipmentPackages (also the webhook payload)."""

    id: IdText
    orderNumber: IdText
    status: str
    orderDate: int
    lastModifiedDate: int | None = None
    grossAmount: DecimalAmount | None = None
    totalDiscount: DecimalAmount = Decimal(0)
    totalTyDiscount: DecimalAmount = Decimal(0)
    totalPrice: DecimalAmount | None = None
    currencyCode: str = "TRY"
    customerId: IdText | None = None
    customerFirstName: str | None = None
    customerLastName: str | None = None
    customerEmail: str | None = None
    shipmentAddress: TrendyolAddress | None = None
    invoiceAddress: TrendyolAddress | None = None
    cargoProviderName: str | None = None
    cargoTrackingNumber: TrackingText = None
    cargoTrackingLink: str | None = None
    cargoSenderNumber: IdText | None = None
    lines: list[TrendyolLine] = Field(default_factory=list)
    packageHistories: list[TrendyolPackageHistory] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        # Newer payloads name the package id `shipmentPackageId` and the status
        # `shipmentPackageStatus`; accept either spelling.
        if isinstance(data, dict):
            if data.get("id") is None and data.get("shipmentPackageId") is not None:
                data = {**data, "id": data["shipmentPackageId"]}
            if data.get("status") is None and data.get("shipmentPackageStatus") is not None:
                data = {**data, "status": data["shipmentPackageStatus"]}
        return data


class TrendyolPageEnvelope(_Wire):
    """The classic page envelope; ``content`` items are validated one by one by the client."""

    page: int = 0
    size: int = 0
    totalPages: int = 0
    totalElements: int = 0
    content: list[dict[str, Any]] = Field(default_factory=list)


class TrendyolClaimItemStatus(_Wire):
    name: str


class TrendyolClaimReason(_Wire):
    name: str | None = None
    code: str | None = None


class TrendyolClaimItem(_Wire):
    id: IdText
    claimItemStatus: TrendyolClaimItemStatus
    customerClaimItemReason: TrendyolClaimReason | None = None


class TrendyolClaimOrderLine(_Wire):
    id: IdText | None = None
    productName: str | None = None
    barcode: str | None = None
    merchantSku: str | None = None
    price: DecimalAmount | None = None


class TrendyolClaimLine(_Wire):
    orderLine: TrendyolClaimOrderLine
    claimItems: list[TrendyolClaimItem] = Field(default_factory=list)


class TrendyolClaim(_Wire):
    """One ``content[]`` item of getClaims."""

    id: IdText
    orderNumber: IdText
    claimDate: int
    lastModifiedDate: int | None = None
    customerFirstName: str | None = None
    customerLastName: str | None = None
    cargoProviderName: str | None = None
    cargoTrackingNumber: TrackingText = None
    items: list[TrendyolClaimLine] = Field(default_factory=list)
