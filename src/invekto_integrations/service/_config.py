"""`ServiceConfig` from the environment (for ``invekto-integrations serve``)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.messaging.webhook import WebhookRoute

from ._app import ServiceConfig

__all__ = ["config_from_env"]


def _pairs(name: str, text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigurationError(f"{name}: {item!r} is not key=tenant")
        out[key.strip()] = value.strip()
    return out


def config_from_env(environ: Mapping[str, str]) -> ServiceConfig:
    """``INVEKTO_WHATSAPP_VERIFY_TOKEN``, ``INVEKTO_META_APP_SECRET`` (signs WhatsApp and Meta
    webhooks), ``INVEKTO_WHATSAPP_ROUTES`` (``phone_number_id=tenant,...``),
    ``INVEKTO_WABA_TENANTS`` (``waba_id=tenant,...``), ``INVEKTO_MAX_BODY_BYTES``,
    ``INVEKTO_PUBLIC_URL`` (where Google reaches the service for calendar push; without it, polling)."""
    secret = environ.get("INVEKTO_META_APP_SECRET")
    verify = environ.get("INVEKTO_WHATSAPP_VERIFY_TOKEN")
    routes = _pairs("INVEKTO_WHATSAPP_ROUTES", environ.get("INVEKTO_WHATSAPP_ROUTES", ""))
    if routes and not secret:
        raise ConfigurationError("INVEKTO_WHATSAPP_ROUTES needs INVEKTO_META_APP_SECRET")
    limit = environ.get("INVEKTO_MAX_BODY_BYTES", "1048576")
    if not limit.isdigit():
        raise ConfigurationError(f"INVEKTO_MAX_BODY_BYTES={limit!r} is not a number")
    app_secret = SecretStr(secret) if secret else None
    return ServiceConfig(
        whatsapp_verify_token=SecretStr(verify) if verify else None,
        whatsapp_routes={pid: WebhookRoute(tenant, app_secret) for pid, tenant in routes.items()
                         if app_secret is not None},
        meta_app_secret=app_secret,
        waba_tenants=_pairs("INVEKTO_WABA_TENANTS", environ.get("INVEKTO_WABA_TENANTS", "")),
        max_body_bytes=int(limit),
        public_url=environ.get("INVEKTO_PUBLIC_URL") or None,
    )
