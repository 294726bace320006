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
from typing import Any, Protocol, runtime_checkable

import httpx

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import PayloadError
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.models.claims import ReturnClaim
from invekto_integrations.models.consent import (
    ConsentChanges,
    ConsentReceipt,
    ConsentRecord,
    ConsentType,
    RecipientType,
)
from invekto_integrations.models.messaging import SentMessage, WebhookBatch
from invekto_integrations.models.orders import Order
from invekto_integrations.models.shipments import Shipment

__all__ = [
    "AsyncCarrier",
    "AsyncMarketplace",
    "Carrier",
    "ClaimSource",
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
    # ``fake(clock=..., seed=...)`` builds the provider's `testing.sandbox.FakeProvider`; typed
    # loosely because providers never import testing (the layering contract checks it).
    fake: Callable[..., Any] | None = None
    settings_keys: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = ()
    # A factory of the provider's `testing.conformance.ProviderContract` (imported lazily, so the
    # provider does not import pytest); the conformance suite runs over every provider that has one.
    contract: Callable[[], Any] | None = None

    def __repr__(self) -> str:
        return f"<ProviderInfo {self.name} {self.kind.value} {self.label!r}>"


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

    def __repr__(self) -> str:
        if self.order is not None:
            return f"OrderOrError(order={self.order!r})"
        return f"OrderOrError(error={self.error!r})"


class Marketplace(Protocol):
    """What the order sync needs from a marketplace connector (sync flavour)."""

    provider: str

    def iter_orders_changed(self, since: datetime, until: datetime) -> Iterator[OrderOrError]:
        """Every order changed in [since, until), paging to the end and splitting the range
        into the provider's allowed windows."""
        ...

    def get_order(self, order_number: str) -> list[Order]:
        """One order by its number: every record the provider keeps for it (several when it splits
        an order into shipment packages, as Trendyol does), never an empty list. An unknown number
        raises `NotFound` naming the provider and the order, whether the provider answers 404 or an
        empty lookup."""
        ...

    def close(self) -> None: ...


class AsyncMarketplace(Protocol):
    provider: str

    def iter_orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderOrError]: ...
    async def get_order(self, order_number: str) -> list[Order]: ...
    async def aclose(self) -> None: ...


@runtime_checkable
class ClaimSource(Protocol):
    """A marketplace connector that lists return claims (both built-in marketplaces do)."""

    provider: str

    def iter_claims(self, since: datetime, until: datetime, *, status: str | None = None) -> Iterator[ReturnClaim]:
        """Claims *created* in ``[since, until)``; the claim sync re-lists a window to see updates."""
        ...

    def close(self) -> None: ...


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
        biz_opaque_callback_data: str | None = None,
    ) -> SentMessage:
        """Send an approved template; returns the provider's message id. ``biz_opaque_callback_data``
        is echoed by the provider's status webhooks (`StatusUpdate.biz_opaque_callback_data`)."""
        ...

    def send_text(self, to: str, body: str, *, last_inbound_at: datetime | None,
                  preview_url: bool = False, biz_opaque_callback_data: str | None = None) -> SentMessage:
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

    def add_consent(self, consent: ConsentRecord) -> ConsentReceipt:
        """Register one consent or rejection; returns the registry's transaction id and creation date."""
        ...

    def pull_changes(self, *, source: str = "IYS", after: str | None = None, limit: int = 100) -> ConsentChanges:
        """One page of the change feed after ``after``."""
        ...


# --- calendar protocol (issue 8) ------------------------------------------------------------
# The two-way calendar sync (sync/calendar.py) depends on these; Google Calendar implements them.
# Unified calendar types live here too, so engines never import a concrete provider.

from dataclasses import field as _field  # noqa: E402

from pydantic import BaseModel as _BaseModel  # noqa: E402
from pydantic import ConfigDict as _ConfigDict  # noqa: E402
from pydantic import Field as _Field  # noqa: E402


class CalendarEvent(_BaseModel):
    """One event of a calendar, provider-neutral. Times are aware datetimes in UTC.

    An all-day event has ``all_day=True`` and ``start``/``end`` at midnight of its first day and of
    the day after its last (exclusive) in the event's ``time_zone`` (the calendar's when absent).
    A deleted event comes back as ``status="cancelled"``, often with nothing but its ``id``.
    ``private`` is this calendar's copy-only key/value map (where we keep our appointment id).
    """

    model_config = _ConfigDict(frozen=True)

    id: str
    status: str = "confirmed"  # confirmed | tentative | cancelled
    start: datetime | None = None
    end: datetime | None = None
    all_day: bool = False
    time_zone: str | None = None
    summary: str | None = None
    description: str | None = None
    transparency: str = "opaque"  # opaque (busy) | transparent (free)
    etag: str | None = None
    updated: datetime | None = None
    private: dict[str, str] = _Field(default_factory=dict)
    shared: dict[str, str] = _Field(default_factory=dict)
    recurring_event_id: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    @property
    def blocks_time(self) -> bool:
        """True when the event makes its time busy (not cancelled, not transparent, has times)."""
        return not self.cancelled and self.transparency != "transparent" and self.start is not None \
            and self.end is not None


class EventChanges(_BaseModel):
    """A partial update of an event: only the fields given are sent. ``private`` replaces the whole
    private map (the connector always sends all of it, so either patch reading gives the same result)."""

    model_config = _ConfigDict(frozen=True)

    start: datetime | None = None
    end: datetime | None = None
    time_zone: str | None = None
    summary: str | None = None
    description: str | None = None
    status: str | None = None
    transparency: str | None = None
    private: dict[str, str] | None = None


class EventOrError:
    """One item of an event listing: a parsed `CalendarEvent`, or the `PayloadError` of a malformed
    record with its raw JSON, so a sync can quarantine it and go on."""

    __slots__ = ("error", "event", "raw")

    def __init__(self, event: CalendarEvent | None = None, error: PayloadError | None = None,
                 raw: dict[str, Any] | None = None) -> None:
        self.event = event
        self.error = error
        self.raw = raw

    def __repr__(self) -> str:
        if self.event is not None:
            return f"EventOrError(event={self.event.id!r})"
        return f"EventOrError(error={self.error!r})"


@dataclass(frozen=True)
class CalendarChanges:
    """Everything a full or incremental listing returned, paged to the end, and the token for next time."""

    items: list[EventOrError]
    next_sync_token: str
    full_sync: bool

    @property
    def events(self) -> list[CalendarEvent]:
        return [i.event for i in self.items if i.event is not None]

    @property
    def errors(self) -> list[EventOrError]:
        return [i for i in self.items if i.error is not None]


@dataclass(frozen=True)
class BusyInterval:
    """A busy period: ``start`` inclusive, ``end`` exclusive (aware UTC)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class CalendarLookupError:
    """A free/busy error for one calendar (Google reports these inside a 200 answer)."""

    calendar_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class WatchChannel:
    """A push-notification channel as the provider confirmed it (its expiration may be shorter than asked)."""

    id: str
    resource_id: str
    calendar_id: str
    expiration: datetime | None
    resource_uri: str | None = None
    token: str | None = _field(default=None, repr=False)


@dataclass(frozen=True)
class ChannelNotification:
    """The headers of one push notification (the body carries nothing useful)."""

    channel_id: str
    resource_state: str  # sync | exists | not_exists
    resource_id: str | None = None
    message_number: int | None = None
    expiration: datetime | None = None
    resource_uri: str | None = None
    token: str | None = _field(default=None, repr=False)


class Calendar(Protocol):
    """What the calendar sync needs from a calendar connector (sync flavour)."""

    provider: str

    def event_id_for(self, tenant_id: str, appointment_id: str, generation: int = 1) -> str:
        """The provider-valid, deterministic event id of one of our appointments (``generation``
        > 1 for a re-booking once an id is spent); no I/O."""
        ...

    def parse_notification(self, headers: Mapping[str, str]) -> ChannelNotification:
        """Read a push notification's headers; `InvalidArgument` when they are not one. No I/O."""
        ...

    def list_changes(self, calendar_id: str, sync_token: str | None = None, *,
                     time_min: datetime | None = None, max_results: int = 250) -> CalendarChanges:
        """Every event changed since ``sync_token`` (``None``: a full sync), paged to the end.
        Raises `SyncTokenExpired` when the token is no longer accepted."""
        ...

    def get_event(self, calendar_id: str, event_id: str) -> CalendarEvent: ...

    def insert_event(self, calendar_id: str, event: CalendarEvent, *, send_updates: str = "none") -> CalendarEvent:
        """Create (``event.id`` chosen by us, or empty for a provider id); `AlreadyExists` if taken."""
        ...

    def patch_event(self, calendar_id: str, event_id: str, changes: EventChanges, *, etag: str | None = None,
                    send_updates: str = "none") -> CalendarEvent:
        """Partial update; with ``etag`` only if unchanged since (`PreconditionFailed` otherwise)."""
        ...

    def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                     send_updates: str = "none") -> None:
        """Delete; an already deleted event counts as done."""
        ...

    def free_busy(self, calendar_ids: Sequence[str], start: datetime, end: datetime, *,
                  time_zone: str = "UTC") -> dict[str, list[BusyInterval] | CalendarLookupError]: ...

    def watch(self, calendar_id: str, address: str, *, channel_id: str, token: str | None = None,
              expiration: datetime | None = None) -> WatchChannel: ...

    def stop_channel(self, channel_id: str, resource_id: str) -> None: ...

    def close(self) -> None: ...


class AsyncCalendar(Protocol):
    provider: str

    def event_id_for(self, tenant_id: str, appointment_id: str, generation: int = 1) -> str:
        """The provider-valid, deterministic event id of one of our appointments (``generation``
        > 1 for a re-booking once an id is spent); no I/O."""
        ...

    def parse_notification(self, headers: Mapping[str, str]) -> ChannelNotification:
        """Read a push notification's headers; `InvalidArgument` when they are not one. No I/O."""
        ...

    async def list_changes(self, calendar_id: str, sync_token: str | None = None, *,
                           time_min: datetime | None = None, max_results: int = 250) -> CalendarChanges: ...
    async def get_event(self, calendar_id: str, event_id: str) -> CalendarEvent: ...
    async def insert_event(self, calendar_id: str, event: CalendarEvent, *,
                           send_updates: str = "none") -> CalendarEvent: ...
    async def patch_event(self, calendar_id: str, event_id: str, changes: EventChanges, *,
                          etag: str | None = None, send_updates: str = "none") -> CalendarEvent: ...
    async def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                           send_updates: str = "none") -> None: ...
    async def free_busy(self, calendar_ids: Sequence[str], start: datetime, end: datetime, *,
                        time_zone: str = "UTC") -> dict[str, list[BusyInterval] | CalendarLookupError]: ...
    async def watch(self, calendar_id: str, address: str, *, channel_id: str, token: str | None = None,
                    expiration: datetime | None = None) -> WatchChannel: ...
    async def stop_channel(self, channel_id: str, resource_id: str) -> None: ...
    async def aclose(self) -> None: ...


__all__ += [
    "AsyncCalendar",
    "BusyInterval",
    "Calendar",
    "CalendarChanges",
    "CalendarEvent",
    "CalendarLookupError",
    "ChannelNotification",
    "EventChanges",
    "EventOrError",
    "WatchChannel",
]


# --- ads protocol (issue 15) ------------------------------------------------------------------
# Attribution (attribution/) depends on these; Meta implements them.

from datetime import date as _date  # noqa: E402

from invekto_integrations.models.ads import (  # noqa: E402
    AdInfo,
    AdsLevel,
    ConversionEvent,
    ConversionsResult,
    InsightsRow,
    ReportRun,
)


class AdLookup(Protocol):
    """Resolves an ad id to its ad set and campaign."""

    def get_ad(self, ad_id: str) -> AdInfo: ...


class AdsInsightsSource(Protocol):
    """Daily spend rows of an ad account, synchronously or through an async report run."""

    def iter_insights(self, ad_account_id: str, since: _date, until: _date, *,
                      level: AdsLevel = AdsLevel.AD, limit: int = 500) -> Iterator[InsightsRow]: ...
    def start_report_run(self, ad_account_id: str, since: _date, until: _date, *,
                         level: AdsLevel = AdsLevel.AD) -> str: ...
    def get_report_run(self, run_id: str) -> ReportRun: ...
    def iter_report_run_insights(self, run_id: str, *, level: AdsLevel = AdsLevel.AD,
                                 limit: int = 500) -> Iterator[InsightsRow]: ...


class ConversionsApi(Protocol):
    """Sends conversion events back to the ads platform (idempotent by event id)."""

    def send_events(self, dataset_id: str, events: Sequence[ConversionEvent], *, waba_id: str | None = None,
                    test_event_code: str | None = None, partner_agent: str | None = None) -> ConversionsResult: ...


__all__ += ["AdLookup", "AdsInsightsSource", "ConversionsApi"]
