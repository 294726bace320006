"""Provider accounts: which tenant is connected to which provider, and with what credentials."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from invekto_integrations.core.reprs import fields_repr

__all__ = ["AccountStatus", "Credentials", "IntegrationAccount"]


class AccountStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    INVALID_CREDENTIALS = "invalid_credentials"


class Credentials(BaseModel):
    """The secret part of an account. Every value is a `SecretStr`: never in repr or logs.

    ``api_key``/``api_secret`` cover key-pair providers (Trendyol key + secret, Hepsiburada
    merchant id + service key); ``extra`` holds anything else (app secret, refresh token, ...).
    """

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    api_secret: SecretStr | None = None
    extra: dict[str, SecretStr] = Field(default_factory=dict)

    def reveal(self) -> dict[str, Any]:
        """Plain values, for the cipher only."""
        return {
            "api_key": self.api_key.get_secret_value(),
            "api_secret": self.api_secret.get_secret_value() if self.api_secret else None,
            "extra": {k: v.get_secret_value() for k, v in self.extra.items()},
        }


class IntegrationAccount(BaseModel):
    """A row of ``integration_accounts``. ``settings`` holds non-secret ids (seller id, ...)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: str
    display_name: str = ""
    status: AccountStatus = AccountStatus.ACTIVE
    settings: dict[str, Any] = Field(default_factory=dict)
    api_key_encrypted: str = Field(repr=False)
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return fields_repr(self, "tenant_id", "provider", "id", "status", "display_name")

    __str__ = __repr__
