"""Trendyol marketplace connector: shipment packages (orders) and claims.

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
    MAX_WINDOW,
    PRODUCTION_URL,
    STAGE_URL,
    AsyncTrendyolClient,
    OrderBy,
    TrendyolClient,
    TrendyolEndpoints,
)
from .mapping import OrderDateEncoding, TrendyolClaimItemStatus, TrendyolPackageStatus

__all__ = [
    "MAX_WINDOW",
    "PRODUCTION_URL",
    "PROVIDER",
    "STAGE_URL",
    "AsyncTrendyolClient",
    "OrderBy",
    "OrderDateEncoding",
    "TrendyolClaimItemStatus",
    "TrendyolClient",
    "TrendyolEndpoints",
    "TrendyolPackageStatus",
    "connect",
    "connect_async",
]


if TYPE_CHECKING:  # mypy checks that both clients satisfy the marketplace protocols

    def _conforms(sync: TrendyolClient, asyn: AsyncTrendyolClient) -> tuple[Marketplace, AsyncMarketplace]:
        return sync, asyn


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    """Settings ``seller_id`` (required), ``integrator_name``, ``environment``, ``order_date_encoding``;
    ``options.extra`` may carry ``order_date_encoding``, ``page_size``, ``max_reachable``."""
    settings = account.settings
    seller_id = settings.get("seller_id") or settings.get("supplier_id")
    if not seller_id:
        raise ConfigurationError(f"trendyol account {account.id!r}: settings.seller_id is missing")
    if credentials.api_secret is None:
        raise ConfigurationError(f"trendyol account {account.id!r}: api_secret is missing")
    kw: dict[str, Any] = {
        "seller_id": str(seller_id),
        "api_key": credentials.api_key,
        "api_secret": credentials.api_secret,
        "integrator_name": settings.get("integrator_name") or None,
    }
    if "order_date_encoding" in settings:
        kw["order_date_encoding"] = settings["order_date_encoding"]
    kw.update(connect_options(options, settings, extra=("order_date_encoding", "page_size", "max_reachable")))
    return kw


connect, connect_async = connectors(TrendyolClient, AsyncTrendyolClient, _kwargs)


PROVIDER = ProviderInfo(
    name="trendyol",
    kind=ProviderKind.MARKETPLACE,
    label="Trendyol",
    docs_url="https://developers.trendyol.com",
    connect=connect,
    connect_async=connect_async,
    fake=lazy("invekto_integrations.testing.sandbox.fakes.trendyol", "TrendyolFake"),
    contract=lazy("invekto_integrations.testing.contracts.trendyol", "TrendyolContract"),
    settings_keys=("seller_id", "integrator_name", "environment", "order_date_encoding"),
    secret_keys=("api_key", "api_secret"),
)
