"""WhatsApp Cloud API connector (Meta's hosted Cloud API): sends, templates, webhooks.

Account settings: ``phone_number_id`` (the Graph id of the sending number), ``waba_id``,
``api_version`` (default v25.0), ``display_phone_number``. Secrets: ``api_key`` = System User
token; ``extra["app_secret"]`` (webhook signatures) and ``extra["verify_token"]`` (handshake).
"""

from __future__ import annotations

from typing import Any

from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers._common import connectors, lazy
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo, ProviderKind

from .client import (
    DEFAULT_API_VERSION,
    GRAPH_BASE_URL,
    SERVICE_WINDOW,
    AsyncWhatsAppCloudClient,
    WhatsAppCloudClient,
    WhatsAppCloudEndpoints,
    WhatsAppCloudSettings,
    check_service_window,
    to_wa_id,
)
from .mapping import GraphErrorKind, error_from_graph
from .webhooks import SIGNATURE_HEADER, WhatsAppWebhooks, sign_body

__all__ = [
    "DEFAULT_API_VERSION",
    "GRAPH_BASE_URL",
    "PROVIDER",
    "SERVICE_WINDOW",
    "SIGNATURE_HEADER",
    "AsyncWhatsAppCloudClient",
    "GraphErrorKind",
    "WhatsAppCloudClient",
    "WhatsAppCloudEndpoints",
    "WhatsAppCloudSettings",
    "WhatsAppWebhooks",
    "check_service_window",
    "error_from_graph",
    "sign_body",
    "to_wa_id",
]


def _settings(account: IntegrationAccount) -> WhatsAppCloudSettings:
    s = account.settings
    return WhatsAppCloudSettings(phone_number_id=str(s.get("phone_number_id", "")), waba_id=str(s.get("waba_id", "")),
                                 api_version=str(s.get("api_version", DEFAULT_API_VERSION)))


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    return {"settings": _settings(account), "token": credentials.api_key, "base_url": options.base_url,
            "clock": options.clock, "retry": options.retry, "limiter_registry": options.limiter_registry,
            "timeout": options.timeout}


_connect, _connect_async = connectors(WhatsAppCloudClient, AsyncWhatsAppCloudClient, _kwargs)
_fake = lazy("invekto_integrations.testing.sandbox.fakes.whatsapp_cloud", "WhatsAppCloudFake")


PROVIDER = ProviderInfo(
    name="whatsapp_cloud",
    kind=ProviderKind.MESSAGING,
    label="WhatsApp Cloud API",
    docs_url="https://developers.facebook.com/docs/whatsapp/cloud-api",
    connect=_connect,
    connect_async=_connect_async,
    fake=_fake,
    contract=lazy("invekto_integrations.testing.contracts.whatsapp_cloud", "WhatsAppCloudContract"),
    settings_keys=("phone_number_id", "waba_id", "api_version", "display_phone_number"),
    secret_keys=("api_key", "app_secret", "verify_token"),
)
