"""What every provider plugin exposes: its `ProviderInfo` (kind, factories, fake) and options.

A provider package's ``__init__`` defines one `ProviderInfo` named ``PROVIDER`` and registers it
under the entry-point group ``invekto_integrations.providers``. Areas add the protocol their
engines need (`Marketplace`, `Carrier`, ...) beside this module; engines depend on those
protocols, never on a concrete provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import PayloadError
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.models.consent import ConsentChanges, ConsentRecord, ConsentType, RecipientType
from invekto_integrations.models.messaging import SentMessage, WebhookBatch
from invekto_integrations.models.orders import Order
from invekto_integrations.models.shipments import Shipment

if TYPE_CHECKING:
    from invekto_integrations.testing.sandbox import FakeProvider

__all__ = [
    "AsyncCarrier",
    "AsyncMarketplace",
    "Carrier",
    "ConnectOptions",
    "ConsentSource",
    "Environment",
    "Marketplace",
    "MessagingProvider",
    "MessagingWebhooks",
    "OrderOrError",
    "ProviderInfo",
    "ProviderKind",
]


class ProviderKind(StrEnum):
    MARKETPLACE = "marketplace"
    CARRIER = "carrier"
    CALENDAR = "calendar"
    MESSAGING = "messaging"
    CONSENT = "consent"
    ADS = "ads"
    OTHER = "other"


class Environment(StrEnum):
    PRODUCTION = "production"
    TEST = "test"


@dataclass(frozen=True)
class ConnectOptions:
    """How to build a connector: where to send requests and with which shared policies.

    ``base_url`` overrides the provider's documented host (the sandbox sets it); ``transport``
    and ``async_transport`` are the httpx seam for in-process fakes.
    """

    environment: Environment = Environment.PRODUCTION
    base_url: str | None = None
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None
    clock: Clock = field(default_factory=SystemClock)
    retry: RetryPolicy | None = None
    limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY
    timeout: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Overrides the provider's published client-side rate limit (tests, negotiated quotas).
    rate_limit: RateLimit | None = None


ConnectorFactory = Callable[[IntegrationAccount, Credentials, ConnectOptions], Any]


@dataclass(frozen=True)
class ProviderInfo:
    """A provider plugin's description and factories."""

    name: str
    kind: ProviderKind
    label: str
    docs_url: str = ""
    connect: ConnectorFactory | None = None
    connect_async: ConnectorFactory | None = None
    fake: Callable[..., FakeProvider] | None = None
    settings_keys: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = ()
    # A factory of the provider's `testing.conformance.ProviderContract` (imported lazily, so the
    # provider does not import pytest); the conformance suite runs over every provider that has one.
    contract: Callable[[], Any] | None = None


# --- marketplace protocol (issue 5) ---------------------------------------------------------
# Declared here so engines (sync/) and connectors can be written against it independently.


class OrderOrError:
    """One item of an order listing: a parsed `Order`, or the `PayloadError` of a malformed record
    together with its raw JSON, so a sync can quarantine it and go on (nothing is lost)."""

    __slots__ = ("error", "order", "raw")

    def __init__(self, order: Order | None = None, error: PayloadError | None = None,
                 raw: dict[str, Any] | None = None) -> None:
        self.order = order
        self.error = error
        self.raw = raw


class Marketplace(Protocol):
    """What the order sync needs from a marketplace connector (sync flavour)."""

    provider: str

    def iter_orders_changed(self, since: datetime, until: datetime) -> Iterator[OrderOrError]:
        """Every order changed in [since, until), paging to the end and splitting the range
        into the provider's allowed windows."""
        ...

    def get_order(self, order_number: str) -> list[Order]:
        """One order by its number (Trendyol may return several packages)."""
        ...

    def close(self) -> None: ...


class AsyncMarketplace(Protocol):
    provider: str

    def iter_orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderOrError]: ...
    async def get_order(self, order_number: str) -> list[Order]: ...
    async def aclose(self) -> None: ...


# --- carrier protocol (issue 6) -------------------------------------------------------------


class Carrier(Protocol):
    """What the shipment watcher needs from a cargo carrier connector (sync flavour).

    A parcel the carrier has not scanned yet comes back as a `Shipment` with status ``pending``,
    not as an error; `NotFound` means the carrier denies knowing the key at all.
    """

    provider: str

    def track(self, tracking_number: str) -> Shipment:
        """The parcel's current status and movement history by the carrier's tracking key."""
        ...

    def track_by_reference(self, reference: str) -> Shipment:
        """The same by the seller's own reference (Aras IntegrationCode, Yurtiçi invoiceKey)."""
        ...

    def close(self) -> None: ...


class AsyncCarrier(Protocol):
    provider: str

    async def track(self, tracking_number: str) -> Shipment: ...
    async def track_by_reference(self, reference: str) -> Shipment: ...
    async def aclose(self) -> None: ...


# --- messaging and consent protocols (issue 7) ------------------------------------------------
# The send pipeline (messaging/) depends on these; WhatsApp Cloud and İYS implement them.


class MessagingProvider(Protocol):
    """What the send pipeline needs from a messaging connector (sync flavour)."""

    provider: str

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        *,
        body_params: Sequence[str] = (),
        header_params: Sequence[str] = (),
        header_type: str = "text",
        button_params: Sequence[str] = (),
        button_sub_type: str = "url",
        body_param_names: Sequence[str] = (),
    ) -> SentMessage:
        """Send an approved template; returns the provider's message id."""
        ...

    def send_text(self, to: str, body: str, *, last_inbound_at: datetime | None,
                  preview_url: bool = False) -> SentMessage:
        """Send free-form text; raises `OutsideServiceWindow` before any call outside the window."""
        ...


class MessagingWebhooks(Protocol):
    """How a messaging provider's webhooks are verified and read (no I/O)."""

    provider: str

    def handshake(self, query: Mapping[str, str], verify_token: str) -> tuple[int, str]: ...
    def verify_signature(self, raw_body: bytes, headers: Mapping[str, str], app_secret: str) -> bool: ...
    def channel_ids(self, raw_body: bytes) -> list[str]:
        """The receiving channel ids named in the body (untrusted: for picking the secret only)."""
        ...

    def parse(self, raw_body: bytes) -> WebhookBatch: ...


class ConsentSource(Protocol):
    """The consent registry (İYS) of one brand, as the consent service uses it."""

    provider: str

    def query_consent(self, recipient: str, *, type: ConsentType = ConsentType.MESAJ,
                      recipient_type: RecipientType = RecipientType.BIREYSEL) -> ConsentRecord | None:
        """The registry's record for a recipient, or ``None`` when it has none (no consent)."""
        ...

    def add_consent(self, consent: ConsentRecord) -> str:
        """Register one consent or rejection; returns the registry's transaction id."""
        ...

    def pull_changes(self, *, source: str = "IYS", after: str | None = None, limit: int = 100) -> ConsentChanges:
        """One page of the change feed after ``after``."""
        ...
