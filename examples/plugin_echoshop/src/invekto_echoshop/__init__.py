"""EchoShop: an example invekto-integrations provider plugin (a small marketplace).

Registered through the entry point ``invekto_integrations.providers: echoshop`` in this
project's ``pyproject.toml``; `PROVIDER` is the only name the registry needs.
"""

from __future__ import annotations

from typing import Any

from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo, ProviderKind

from .client import AsyncEchoShopClient, EchoShopClient
from .mapping import EchoShopStatus, map_status

__all__ = ["PROVIDER", "AsyncEchoShopClient", "EchoShopClient", "EchoShopStatus", "map_status"]


def _kwargs(account: IntegrationAccount, options: ConnectOptions) -> dict[str, Any]:
    return {
        "account_key": account.id, "base_url": options.base_url, "clock": options.clock, "retry": options.retry,
        "limiter_registry": options.limiter_registry, "rate_limit": options.rate_limit, "timeout": options.timeout,
    }


def connect(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> EchoShopClient:
    return EchoShopClient(credentials.api_key, transport=options.transport, **_kwargs(account, options))


def connect_async(account: IntegrationAccount, credentials: Credentials,
                  options: ConnectOptions) -> AsyncEchoShopClient:
    return AsyncEchoShopClient(credentials.api_key, transport=options.async_transport, **_kwargs(account, options))


def _fake(**kw: Any) -> Any:
    from .fake import EchoShopFake  # the sandbox extra is only needed when the fake is used

    return EchoShopFake(**kw)


def _contract() -> Any:
    from .testing import EchoShopContract  # imports pytest: only when the conformance suite runs

    return EchoShopContract()


PROVIDER = ProviderInfo(
    name="echoshop",
    kind=ProviderKind.MARKETPLACE,
    label="EchoShop (example plugin)",
    docs_url="https://github.com/invekto/invekto-integrations/tree/main/examples/plugin_echoshop",
    connect=connect,
    connect_async=connect_async,
    fake=_fake,
    contract=_contract,
    secret_keys=("api_key",),
)
