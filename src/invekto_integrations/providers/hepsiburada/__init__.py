"""Hepsiburada marketplace connector: orders and packages across the OMS status buckets, claims.

The only names other packages import: `PROVIDER` (registered under the entry-point group
``invekto_integrations.providers``), the clients and their options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers._common import connect_options, connectors, lazy
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
    "connect",
    "connect_async",
]


if TYPE_CHECKING:  # mypy checks that both clients satisfy the marketplace protocols

    def _conforms(sync: HepsiburadaClient, asyn: AsyncHepsiburadaClient) -> tuple[Marketplace, AsyncMarketplace]:
        return sync, asyn


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    """Settings ``merchant_id``, ``integrator_name`` (required: the User-Agent), ``environment``;
    ``options.extra`` may carry ``naive_zone``, ``change_feeds``, ``include_returns``, ``enrich_concurrency``."""
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
    return {
        "merchant_id": str(merchant_id),
        "service_key": service_key,
        "integrator_name": str(integrator),
        **connect_options(options, settings,
                          extra=("naive_zone", "change_feeds", "include_returns", "enrich_concurrency")),
    }


connect, connect_async = connectors(HepsiburadaClient, AsyncHepsiburadaClient, _kwargs)


PROVIDER = ProviderInfo(
    name="hepsiburada",
    kind=ProviderKind.MARKETPLACE,
    label="Hepsiburada",
    docs_url="https://developers.hepsiburada.com",
    connect=connect,
    connect_async=connect_async,
    fake=lazy("invekto_integrations.testing.sandbox.fakes.hepsiburada", "HepsiburadaFake"),
    contract=lazy("invekto_integrations.testing.contracts.hepsiburada", "HepsiburadaContract"),
    settings_keys=("merchant_id", "integrator_name", "environment"),
    secret_keys=("api_key", "api_secret"),
)
