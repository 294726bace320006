"""İYS payloads as sent (field names as on the wire, extra fields kept)."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

__all__ = [
    "WireBatchItem",
    "WireBatchSubmit",
    "WireChanges",
    "WireConsent",
    "WireError",
    "WireErrorBody",
    "WireToken",
    "WireTransaction",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class WireToken(_Wire):
    access_token: str
    refresh_token: str | None = None
    expires_in: int = 7200
    refresh_expires_in: int | None = None
    token_type: str | None = None


class WireConsent(_Wire):
    recipient: str
    type: str
    status: str
    recipientType: str = "BIREYSEL"
    source: str | None = None
    consentDate: str | None = None
    creationDate: str | None = None
    transactionId: str | None = Field(default=None, validation_alias=AliasChoices(
        "transactionId", "transaction_id"))
    retailerAccessCount: int | None = None
    retailerCode: str | None = None
    retailerAccess: list[str] | None = None


class WireTransaction(_Wire):
    transactionId: str = Field(validation_alias=AliasChoices("transactionId", "transaction_id"))
    creationDate: str | None = None


class WireBatchSubmit(_Wire):
    requestId: str
    subRequests: list[dict[str, Any]] = Field(default_factory=list)


class WireError(_Wire):
    code: str | None = None
    message: str | None = None
    index: int | None = None
    location: list[str] | None = None
    value: Any = None


class WireBatchItem(_Wire):
    subRequestId: str | None = None
    index: int
    status: str
    transactionId: str | None = Field(default=None, validation_alias=AliasChoices(
        "transactionId", "transaction_id"))
    creationDate: str | None = None
    error: WireError | None = None


class WireChanges(_Wire):
    after: str | None = None
    items: list[dict[str, Any]] = Field(default_factory=list, alias="list")


class WireErrorBody(_Wire):
    message: str | None = None
    status: int | None = None
    code: str | None = None
    errors: list[WireError] = Field(default_factory=list)
