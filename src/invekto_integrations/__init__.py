"""invekto-integrations: the typed integration layer of a WhatsApp-first customer platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .core.clock import Clock, FrozenClock, SystemClock
from .core.errors import (
    AccountRestricted,
    AlreadyExists,
    AuthenticationError,
    ConfigurationError,
    ConsentError,
    IntegrationError,
    InvalidArgument,
    InvalidParameter,
    InvalidRequest,
    NotFound,
    OutsideServiceWindow,
    PayloadError,
    PermissionDenied,
    PreconditionFailed,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RecipientUnavailable,
    StorageError,
    SyncTokenExpired,
    TemplateUnavailable,
)
from .core.money import Money
from .core.phone import normalize_phone

if TYPE_CHECKING:
    from ._context import ClientSettings
    from ._integrations import AsyncIntegrations, AsyncSandboxIntegrations, Integrations, SandboxIntegrations
    from .core.crypto import DecryptionError, KeyRing
    from .sync.lookup import InvalidPhoneNumber

__all__ = [
    "AccountRestricted",
    "AlreadyExists",
    "AsyncIntegrations",
    "AsyncSandboxIntegrations",
    "AuthenticationError",
    "ClientSettings",
    "Clock",
    "ConfigurationError",
    "ConsentError",
    "DecryptionError",
    "FrozenClock",
    "IntegrationError",
    "Integrations",
    "InvalidArgument",
    "InvalidParameter",
    "InvalidPhoneNumber",
    "InvalidRequest",
    "KeyRing",
    "Money",
    "NotFound",
    "OutsideServiceWindow",
    "PayloadError",
    "PermissionDenied",
    "PreconditionFailed",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "RecipientUnavailable",
    "SandboxIntegrations",
    "StorageError",
    "SyncTokenExpired",
    "SystemClock",
    "TemplateUnavailable",
    "__version__",
    "normalize_phone",
]

# The front door and the errors defined next to the code that raises them, loaded on first use:
# importing the engines (or the cipher) at package import would slow down every
# `import invekto_integrations`.
_LAZY = {
    "AsyncIntegrations": "invekto_integrations._integrations",
    "AsyncSandboxIntegrations": "invekto_integrations._integrations",
    "ClientSettings": "invekto_integrations._context",
    "DecryptionError": "invekto_integrations.core.crypto",
    "Integrations": "invekto_integrations._integrations",
    "InvalidPhoneNumber": "invekto_integrations.sync.lookup",
    "KeyRing": "invekto_integrations.core.crypto",
    "SandboxIntegrations": "invekto_integrations._integrations",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'invekto_integrations' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
