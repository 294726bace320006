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
    from .core.crypto import DecryptionError
    from .sync.lookup import InvalidPhoneNumber

__all__ = [
    "AccountRestricted",
    "AlreadyExists",
    "AuthenticationError",
    "Clock",
    "ConfigurationError",
    "ConsentError",
    "DecryptionError",
    "FrozenClock",
    "IntegrationError",
    "InvalidArgument",
    "InvalidParameter",
    "InvalidPhoneNumber",
    "InvalidRequest",
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
    "StorageError",
    "SyncTokenExpired",
    "SystemClock",
    "TemplateUnavailable",
    "__version__",
    "normalize_phone",
]

# Errors defined next to the code that raises them, loaded on first use: importing the sync
# engines (or the cipher) at package import would slow down every `import invekto_integrations`.
_LAZY = {
    "DecryptionError": "invekto_integrations.core.crypto",
    "InvalidPhoneNumber": "invekto_integrations.sync.lookup",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'invekto_integrations' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
