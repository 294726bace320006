"""İYS (İleti Yönetim Sistemi) consent connector.

Account settings: ``iys_code``, ``brand_code`` (often equal), optional ``sps_prefix``. Secrets:
``api_key`` = API user name, ``api_secret`` = API password (from the İYS panel, "Entegrasyon").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
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

if TYPE_CHECKING:
    from invekto_integrations.testing.sandbox import FakeProvider

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


def _password(credentials: Credentials) -> Credentials:
    if credentials.api_secret is None:
        raise ConfigurationError("iys: api_secret (the API user's password) is required")
    return credentials


def _connect(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> IysClient:
    c = _password(credentials)
    assert c.api_secret is not None
    return IysClient(_settings(account), c.api_key.get_secret_value(), c.api_secret, base_url=options.base_url,
                     transport=options.transport, clock=options.clock, retry=options.retry,
                     limiter_registry=options.limiter_registry, timeout=options.timeout)


def _connect_async(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> AsyncIysClient:
    c = _password(credentials)
    assert c.api_secret is not None
    return AsyncIysClient(_settings(account), c.api_key.get_secret_value(), c.api_secret, base_url=options.base_url,
                          transport=options.async_transport, clock=options.clock, retry=options.retry,
                          limiter_registry=options.limiter_registry, timeout=options.timeout)


def _fake(**kw: Any) -> FakeProvider:
    from invekto_integrations.testing.sandbox.fakes.iys import IysFake

    return IysFake(**kw)


PROVIDER = ProviderInfo(
    name="iys",
    kind=ProviderKind.CONSENT,
    label="İYS — İleti Yönetim Sistemi",
    docs_url="https://apidocs.iys.org.tr",
    connect=_connect,
    connect_async=_connect_async,
    fake=_fake,
    settings_keys=("iys_code", "brand_code", "sps_prefix"),
    secret_keys=("api_key", "api_secret"),
)
