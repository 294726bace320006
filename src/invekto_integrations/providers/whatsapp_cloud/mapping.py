"""WhatsApp Cloud raw codes → unified types: delivery statuses and Graph error codes.

Error codes come from Meta's error-code page and BSP docs (see docs/messaging.md for which are
unverified). Each `GraphErrorKind` member lists the raw codes it covers.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from invekto_integrations.core.errors import (
    AccountRestricted,
    AuthenticationError,
    InvalidParameter,
    InvalidRequest,
    OutsideServiceWindow,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RecipientUnavailable,
    TemplateUnavailable,
)
from invekto_integrations.models.messaging import DeliveryStatus

__all__ = ["PROVIDER", "GraphErrorKind", "WireDeliveryStatus", "error_from_graph"]

PROVIDER = "whatsapp_cloud"


class WireDeliveryStatus(StrEnum):
    """``statuses[].status`` as sent; each maps to one `DeliveryStatus`."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"

    @property
    def unified(self) -> DeliveryStatus:
        return DeliveryStatus(self.value)


class GraphErrorKind(Enum):
    """Graph error codes by what the connector does about them."""

    OUTSIDE_WINDOW = (131047,)
    UNDELIVERABLE = (131026, 131030, 131049, 131050)
    RATE_LIMIT = (4, 80007, 130429, 131048, 131056)
    INVALID_PARAMETER = (100, 131008, 131009, 131051, 131052, 131053, 132000, 132005, 132007, 132012)
    TEMPLATE = (132001, 132015, 132016)
    AUTH = (190,)
    ACCOUNT = (131031, 131042, 133010, 368)
    SERVER = (1, 2, 131000, 131016)

    @classmethod
    def of(cls, code: int | None) -> GraphErrorKind | None:
        if code is None:
            return None
        for kind in cls:
            if code in kind.value:
                return kind
        return None


_ERROR_CLASS: dict[GraphErrorKind, type[ProviderError]] = {
    GraphErrorKind.OUTSIDE_WINDOW: OutsideServiceWindow,
    GraphErrorKind.UNDELIVERABLE: RecipientUnavailable,
    GraphErrorKind.RATE_LIMIT: RateLimited,
    GraphErrorKind.INVALID_PARAMETER: InvalidParameter,
    GraphErrorKind.TEMPLATE: TemplateUnavailable,
    GraphErrorKind.AUTH: AuthenticationError,
    GraphErrorKind.ACCOUNT: AccountRestricted,
    GraphErrorKind.SERVER: ProviderUnavailable,
}


def _int(code: int | str | None) -> int | None:
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def error_from_graph(
    *,
    http_status: int | None,
    code: int | str | None,
    message: str,
    operation: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """The typed error for a Graph error code (falls back on the HTTP status)."""
    numeric = _int(code)
    kind = GraphErrorKind.of(numeric)
    kw: dict[str, object] = {
        "provider": PROVIDER, "operation": operation, "status": http_status,
        "code": str(code) if code is not None else None, "request_id": request_id,
    }
    if kind is not None:
        cls = _ERROR_CLASS[kind]
    elif http_status == 429:
        cls = RateLimited
    elif http_status in (401, 403):
        cls = AuthenticationError
    elif http_status is not None and http_status >= 500:
        cls = ProviderUnavailable
    else:
        cls = InvalidRequest
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after, **kw)
    if cls is ProviderUnavailable and (http_status is None or http_status < 500):
        kw["status"] = 503  # a Graph "temporary" code: transient like a 5xx
    return cls(message, **kw)  # type: ignore[arg-type]
