"""Yurtiçi Kargo: parcel tracking (KOPS queryShipment). Credentials: ``api_key`` = wsUserName,
``api_secret`` = wsPassword; optional account setting ``language`` (default ``TR``)."""

from __future__ import annotations

from typing import Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers._common import connect_options, connectors, lazy
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo, ProviderKind

from .client import AsyncYurticiClient, YurticiClient

__all__ = ["PROVIDER", "AsyncYurticiClient", "YurticiClient", "connect", "connect_async"]


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    if credentials.api_secret is None:
        raise ConfigurationError(f"yurtici account {account.id}: the password (api_secret) is missing")
    return {
        "username": credentials.api_key.get_secret_value(),
        "password": credentials.api_secret,
        "language": str(account.settings.get("language") or "TR"),
        **connect_options(options, account.settings),
    }


connect, connect_async = connectors(YurticiClient, AsyncYurticiClient, _kwargs)


PROVIDER = ProviderInfo(
    name="yurtici",
    kind=ProviderKind.CARRIER,
    label="Yurtiçi Kargo",
    docs_url="https://www.yurticikargo.com/tr/kurumsal/entegrasyon",
    connect=connect,
    connect_async=connect_async,
    fake=lazy("invekto_integrations.testing.sandbox.fakes.yurtici", "YurticiFake"),
    contract=lazy("invekto_integrations.testing.contracts.yurtici", "YurticiContract"),
    settings_keys=("language", "environment"),
    secret_keys=("api_key", "api_secret"),
)
