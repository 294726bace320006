"""Trendyol's own payloads, field names exactly as sent (camelCase), extra fields allowed.

Amounts arrive as JSON floats and become `Decimal` through `core.money.to_decimal`; ids and
``cargoTrackingNumber`` arrive as JSON numbers and are kept as strings. A tracking number is read
from the JSON integer (exact at any length); one sent as a JSON float is refused, never rounded,
and the placeholder ``0`` of packages awaiting a parcel means "none". Address fields are trimmed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Required

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, field_validator, model_validator
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here before Python 3.12

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
    "validate_package",
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
        return _trim(value)


def _trim(value: Any) -> Any:
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
        return _package_aliases(data)


def _package_aliases(data: Any) -> Any:
    # Newer payloads name the package id `shipmentPackageId` and the status
    # `shipmentPackageStatus`; accept either spelling.
    if isinstance(data, dict):
        if data.get("id") is None and data.get("shipmentPackageId") is not None:
            data = {**data, "id": data["shipmentPackageId"]}
        if data.get("status") is None and data.get("shipmentPackageStatus") is not None:
            data = {**data, "status": data["shipmentPackageStatus"]}
    return data


# The same package as plain dicts, checked in one validation pass: what the listing parses. A model
# instance per package, address, line and history (and their extra fields) cost about as much as the
# HTTP round trip of the page. Same fields, types, trimming and spellings as `TrendyolPackage`, which
# stays the typed model of the payload; absent optional keys stay absent (`mapping` knows the
# defaults). `tests/marketplaces/test_ty_wire_paths.py` holds both to the same answers.


def _trim_address(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items()}
    return value


class TrendyolAddressData(TypedDict, total=False):
    firstName: str | None
    lastName: str | None
    fullName: str | None
    city: str | None
    district: str | None
    countryCode: str | None
    phone: str | None


class TrendyolLineData(TypedDict, total=False):
    id: IdText | None
    barcode: str | None
    merchantSku: str | None
    sku: str | None
    productName: Required[str]
    quantity: Required[Annotated[int, Field(ge=0)]]
    price: Required[DecimalAmount]
    amount: DecimalAmount | None
    discount: DecimalAmount
    tyDiscount: DecimalAmount
    currencyCode: str
    orderLineItemStatusName: str | None


class TrendyolHistoryData(TypedDict):
    createdDate: int
    status: str


_AddressField = Annotated[TrendyolAddressData | None, BeforeValidator(_trim_address)]


class TrendyolPackageData(TypedDict, total=False):
    id: Required[IdText]
    orderNumber: Required[IdText]
    status: Required[str]
    orderDate: Required[int]
    lastModifiedDate: int | None
    grossAmount: DecimalAmount | None
    totalDiscount: DecimalAmount
    totalTyDiscount: DecimalAmount
    totalPrice: DecimalAmount | None
    currencyCode: str
    customerId: IdText | None
    customerFirstName: str | None
    customerLastName: str | None
    customerEmail: str | None
    shipmentAddress: _AddressField
    invoiceAddress: _AddressField
    cargoProviderName: str | None
    cargoTrackingNumber: TrackingText
    cargoTrackingLink: str | None
    cargoSenderNumber: IdText | None
    lines: list[TrendyolLineData]
    packageHistories: list[TrendyolHistoryData]


_PACKAGE = TypeAdapter(Annotated[TrendyolPackageData, BeforeValidator(_package_aliases)])


def validate_package(raw: Any) -> TrendyolPackageData:
    """One ``content[]`` item checked as `TrendyolPackage` checks it (``ValidationError`` naming the
    field), answered as plain dicts."""
    return _PACKAGE.validate_python(raw)


class TrendyolPageEnvelope(_Wire):
    """The classic page envelope; ``content`` items are validated one by one by the client (an item
    that is no JSON object is that record's error, not the page's; nor is each item copied here)."""

    page: int = 0
    size: int = 0
    totalPages: int = 0
    totalElements: int = 0
    content: list[Any] = Field(default_factory=list)


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
