"""Meta ads connector: Graph ads lookup (ad → ad set → campaign), Marketing API Insights (spend per
day and level, cursor paging, async report runs) and the Conversions API for business messaging.

Account settings: ``ad_account_id`` (``act_...`` or digits), ``dataset_id`` (the WABA's dataset),
``waba_id``, ``api_version`` (default v25.0). Secret: ``api_key`` = a System User token with
``ads_read`` (+ ``whatsapp_business_manage_events`` for conversions).
"""

from __future__ import annotations

from typing import Any

from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers._common import connect_options, connectors, lazy
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo, ProviderKind

from .client import (
    DEFAULT_API_VERSION,
    GRAPH_BASE_URL,
    INSIGHTS_FIELDS,
    MAX_EVENTS_PER_REQUEST,
    AsyncMetaClient,
    MetaClient,
    MetaEndpoints,
    MetaSettings,
    event_payload,
)
from .mapping import INVALID_EVENT_TYPE_SUBCODE, MetaErrorKind, error_from_meta, usage_retry_after
from .webhooks import parse_automatic_events

__all__ = [
    "DEFAULT_API_VERSION",
    "GRAPH_BASE_URL",
    "INSIGHTS_FIELDS",
    "INVALID_EVENT_TYPE_SUBCODE",
    "MAX_EVENTS_PER_REQUEST",
    "PROVIDER",
    "AsyncMetaClient",
    "MetaClient",
    "MetaEndpoints",
    "MetaErrorKind",
    "MetaSettings",
    "error_from_meta",
    "event_payload",
    "parse_automatic_events",
    "usage_retry_after",
]


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    kw = connect_options(options, account.settings)
    return {"token": credentials.api_key, "account_key": account.id,
            "settings": MetaSettings(api_version=str(account.settings.get("api_version", DEFAULT_API_VERSION))),
            **kw}


_connect, _connect_async = connectors(MetaClient, AsyncMetaClient, _kwargs)

PROVIDER = ProviderInfo(
    name="meta",
    kind=ProviderKind.ADS,
    label="Meta (ads, Insights, Conversions API)",
    docs_url="https://developers.facebook.com/docs/marketing-api",
    connect=_connect,
    connect_async=_connect_async,
    fake=lazy("invekto_integrations.testing.sandbox.fakes.meta", "MetaFake"),
    settings_keys=("ad_account_id", "dataset_id", "waba_id", "api_version"),
    secret_keys=("api_key",),
    contract=lazy("invekto_integrations.testing.contracts.meta", "MetaContract"),
)
