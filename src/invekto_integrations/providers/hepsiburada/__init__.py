"""Hepsiburada marketplace connector: orders and packages across the OMS status buckets, claims.

The only names other packages import: `PROVIDER` (registered under the entry-point group
``invekto_integrations.providers``), the clients and their options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers.base import (
    AsyncMarketplace,
    ConnectOptions,
    Marketplace,
    ProviderInfo,
    ProviderKind,
)

from .client import (
    DEFAULT_CHANGE_FEEDS,
    FEEDS,
    PRODUCTION_URL,
    SIT_URL,
    AsyncHepsiburadaClient,
    FeedItem,
    HepsiburadaClient,
    HepsiburadaEndpoints,
    HepsiburadaFeed,
)
from .mapping import HepsiburadaClaimStatus, HepsiburadaStatus

__all__ = [
    "DEFAULT_CHANGE_FEEDS",
    "FEEDS",
    "PRODUCTION_URL",
    "PROVIDER",
    "SIT_URL",
    "AsyncHepsiburadaClient",
    "FeedItem",
    "HepsiburadaClaimStatus",
    "HepsiburadaClient",
    "HepsiburadaEndpoints",
    "HepsiburadaFeed",
    "HepsiburadaStatus",
]


if TYPE_CHECKING:  # mypy checks that both clients satisfy the marketplace protocols

    def _conforms(sync: HepsiburadaClient, asyn: AsyncHepsiburadaClient) -> tuple[Marketplace, AsyncMarketplace]:
        return sync, asyn


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    settings = account.settings
    merchant_id = settings.get("merchant_id") or credentials.api_key.get_secret_value()
    integrator = settings.get("integrator_name")
    if not integrator:
        raise ConfigurationError(
            f"hepsiburada account {account.id!r}: settings.integrator_name (User-Agent) is missing")
    # api_key = merchant id and api_secret = service key; a lone api_key is the service key.
    service_key = credentials.api_secret if credentials.api_secret is not None else credentials.api_key
    if not settings.get("merchant_id") and credentials.api_secret is None:
        raise ConfigurationError(f"hepsiburada account {account.id!r}: settings.merchant_id is missing")
    kw: dict[str, Any] = {
        "merchant_id": str(merchant_id),
        "service_key": service_key,
        "integrator_name": str(integrator),
        "environment": settings.get("environment") or options.environment,
        "base_url": options.base_url,
        "clock": options.clock,
        "retry": options.retry,
        "limiter_registry": options.limiter_registry,
        "timeout": options.timeout,
        "rate_limit": options.rate_limit,
    }
    kw.update({k: v for k, v in options.extra.items() if k in ("naive_zone", "change_feeds", "include_returns")})
    return kw


def connect(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> HepsiburadaClient:
    """A `HepsiburadaClient` for ``account`` (settings: ``merchant_id``, ``integrator_name``, ``environment``)."""
    return HepsiburadaClient(transport=options.transport, **_kwargs(account, credentials, options))


def connect_async(account: IntegrationAccount, credentials: Credentials,
                  options: ConnectOptions) -> AsyncHepsiburadaClient:
    return AsyncHepsiburadaClient(transport=options.async_transport, **_kwargs(account, credentials, options))


def _fake(**kw: Any) -> Any:
    from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake

    return HepsiburadaFake(**kw)


def _contract() -> Any:
    from invekto_integrations.testing.contracts.hepsiburada import HepsiburadaContract

    return HepsiburadaContract()


PROVIDER = ProviderInfo(
    name="hepsiburada",
    kind=ProviderKind.MARKETPLACE,
    label="Hepsiburada",
    docs_url="https://developers.hepsiburada.com",
    connect=connect,
    connect_async=connect_async,
    fake=_fake,
    contract=_contract,
    settings_keys=("merchant_id", "integrator_name", "environment"),
    secret_keys=("api_key", "api_secret"),
)
