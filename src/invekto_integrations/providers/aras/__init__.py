"""Aras Kargo: parcel tracking (GetQueryJSON). Credentials: ``api_key`` = query-service user name,
``api_secret`` = its password; account setting ``customer_code``."""

from __future__ import annotations

from typing import Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers._common import connect_options, connectors, lazy
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo, ProviderKind

from .client import ArasClient, ArasCredentials, AsyncArasClient

__all__ = ["PROVIDER", "ArasClient", "ArasCredentials", "AsyncArasClient", "connect", "connect_async"]


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    code = account.settings.get("customer_code")
    if not code:
        raise ConfigurationError(f"aras account {account.id}: setting 'customer_code' is missing")
    if credentials.api_secret is None:
        raise ConfigurationError(f"aras account {account.id}: the password (api_secret) is missing")
    return {
        "username": credentials.api_key.get_secret_value(),
        "password": credentials.api_secret,
        "customer_code": str(code),
        **connect_options(options, account.settings),
    }


connect, connect_async = connectors(ArasClient, AsyncArasClient, _kwargs)


PROVIDER = ProviderInfo(
    name="aras",
    kind=ProviderKind.CARRIER,
    label="Aras Kargo",
    docs_url="https://www.araskargo.com.tr/entegrasyon",
    connect=connect,
    connect_async=connect_async,
    fake=lazy("invekto_integrations.testing.sandbox.fakes.aras", "ArasFake"),
    contract=lazy("invekto_integrations.testing.contracts.aras", "ArasContract"),
    settings_keys=("customer_code", "environment"),
    secret_keys=("api_key", "api_secret"),
)
