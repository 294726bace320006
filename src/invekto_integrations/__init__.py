"""invekto-integrations: the typed integration layer of a WhatsApp-first customer platform."""

from ._version import __version__
from .core.clock import Clock, FrozenClock, SystemClock
from .core.errors import (
    AuthenticationError,
    ConfigurationError,
    ConsentError,
    IntegrationError,
    InvalidRequest,
    NotFound,
    PayloadError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StorageError,
)
from .core.money import Money
from .core.phone import normalize_phone

__all__ = [
    "AuthenticationError",
    "Clock",
    "ConfigurationError",
    "ConsentError",
    "FrozenClock",
    "IntegrationError",
    "InvalidRequest",
    "Money",
    "NotFound",
    "PayloadError",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "StorageError",
    "SystemClock",
    "__version__",
    "normalize_phone",
]
