"""İYS (İleti Yönetim Sistemi) consent connector.

Account settings: ``iys_code``, ``brand_code`` (often equal), optional ``sps_prefix``. Secrets:
``api_key`` = API user name, ``api_secret`` = API password (from the İYS panel, "Entegrasyon").
"""

from __future__ import annotations

from typing import Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers._common import connectors, lazy
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo, ProviderKind

from .client import (
    IYS_BASE_URL,
    AsyncIysClient,
    BatchItemResult,
    IysAuth,
    IysClient,
    IysEndpoints,
    IysSettings,
    to_iys_recipient,
)
from .mapping import ConsentSourceCode, IysErrorCode, format_iys_date, parse_iys_date

__all__ = [
    "IYS_BASE_URL",
    "PROVIDER",
    "AsyncIysClient",
    "BatchItemResult",
    "ConsentSourceCode",
    "IysAuth",
    "IysClient",
    "IysEndpoints",
    "IysErrorCode",
    "IysSettings",
    "format_iys_date",
    "parse_iys_date",
    "to_iys_recipient",
]


def _settings(account: IntegrationAccount) -> IysSettings:
    s = account.settings
    return IysSettings(iys_code=str(s.get("iys_code", "")), brand_code=str(s.get("brand_code", s.get("iys_code", ""))),
                       sps_prefix=str(s.get("sps_prefix", "/sps")))


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    if credentials.api_secret is None:
        raise ConfigurationError("iys: api_secret (the API user's password) is required")
    return {"settings": _settings(account), "username": credentials.api_key.get_secret_value(),
            "password": credentials.api_secret, "base_url": options.base_url, "clock": options.clock,
            "retry": options.retry, "limiter_registry": options.limiter_registry, "timeout": options.timeout}


_connect, _connect_async = connectors(IysClient, AsyncIysClient, _kwargs)
_fake = lazy("invekto_integrations.testing.sandbox.fakes.iys", "IysFake")


PROVIDER = ProviderInfo(
    name="iys",
    kind=ProviderKind.CONSENT,
    label="İYS — İleti Yönetim Sistemi",
    docs_url="https://apidocs.iys.org.tr",
    connect=_connect,
    connect_async=_connect_async,
    fake=_fake,
    contract=lazy("invekto_integrations.testing.contracts.iys", "IysContract"),
    settings_keys=("iys_code", "brand_code", "sps_prefix"),
    secret_keys=("api_key", "api_secret"),
)
