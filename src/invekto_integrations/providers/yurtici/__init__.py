"""Yurtiçi Kargo: parcel tracking (KOPS queryShipment). Credentials: ``api_key`` = wsUserName,
``api_secret`` = wsPassword; optional account setting ``language`` (default ``TR``)."""

from __future__ import annotations

from typing import Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
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
        "environment": options.environment.value,
        "base_url": options.base_url,
        "clock": options.clock,
        "retry": options.retry,
        "timeout": options.timeout,
        "limiter_registry": options.limiter_registry,
        "rate_limit": options.rate_limit,
    }


def connect(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> YurticiClient:
    return YurticiClient(**_kwargs(account, credentials, options), transport=options.transport)


def connect_async(account: IntegrationAccount, credentials: Credentials,
                  options: ConnectOptions) -> AsyncYurticiClient:
    return AsyncYurticiClient(**_kwargs(account, credentials, options), transport=options.async_transport)


def _fake(**kw: Any) -> Any:
    from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

    return YurticiFake(**kw)


def _contract() -> Any:
    from invekto_integrations.testing.contracts.yurtici import YurticiContract

    return YurticiContract()


PROVIDER = ProviderInfo(
    name="yurtici",
    kind=ProviderKind.CARRIER,
    label="Yurtiçi Kargo",
    docs_url="https://www.yurticikargo.com/tr/kurumsal/entegrasyon",
    connect=connect,
    connect_async=connect_async,
    fake=_fake,
    contract=_contract,
    settings_keys=("language",),
    secret_keys=("api_key", "api_secret"),
)
