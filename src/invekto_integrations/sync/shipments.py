"""The shipment watcher (3.6.3) and the proactive cargo notifier.

`ShipmentWatcher` keeps a tenant's parcels up to date: it learns tracking codes from
``TrackingCodeAssigned`` events (its own consumer cursor) and from manual registrations, polls each
active parcel at an interval that depends on its status (often when out for delivery, never again
after a terminal status), stores the shipment and its movement history, and appends one
``ShipmentStatusChanged`` event per real change. The event's ``dedupe_key`` (tenant, carrier,
tracking number, status, status time) makes that exactly-once across restarts and overlapping runs:
the event is appended *before* the new status is saved, so a crash in between only repeats an
append the log refuses.

`CargoNotifier` is a separate consumer of ``ShipmentStatusChanged``: for tenants that opted in it
renders a Turkish message for the configured statuses, holds it until quiet hours end
(``OutboundMessage.not_before``), records it in its outbox (unique per tenant + shipment + status)
and hands it to a `MessageSink`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import (
    AuthenticationError,
    InvalidArgument,
    NotFound,
    PayloadError,
    ProviderError,
)
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.reprs import ConciseRepr, html_table
from invekto_integrations.core.text import fold
from invekto_integrations.events import EventBus, EventConsumer
from invekto_integrations.messaging.base import MessageCategory, MessageSink, OutboundMessage, TemplateRef
from invekto_integrations.messaging.quiet_hours import QuietHours
from invekto_integrations.models.accounts import AccountStatus
from invekto_integrations.models.events import DomainEvent, ShipmentStatusChanged, TrackingCodeAssigned
from invekto_integrations.models.shipments import Shipment, ShipmentStatus
from invekto_integrations.providers.base import AsyncCarrier, Carrier, ConnectOptions
from invekto_integrations.storage.protocols import (
    CargoNotificationRepository,
    EventLog,
    OrderCacheRepository,
    ShipmentRepository,
)
from invekto_integrations.storage.records import CargoNotification, ShipmentHistoryEntry, TrackedShipment
from invekto_integrations.storage.settings import TenantSettingsRepository, tenant_settings

__all__ = [
    "CARRIER_LABELS",
    "DEFAULT_TEMPLATES",
    "AccountCarriers",
    "AsyncShipmentWatcher",
    "CargoMessageSettings",
    "CargoNotifier",
    "PollPolicy",
    "PollReport",
    "ShipmentWatcher",
    "carrier_for_company",
    "status_dedupe_key",
]

log = logging.getLogger("invekto_integrations.sync.shipments")

KNOWN_CARRIERS = frozenset({"aras", "yurtici"})
CARRIER_LABELS = {"aras": "Aras Kargo", "yurtici": "Yurtiçi Kargo"}
# Marketplace cargo company names (Trendyol "Aras Kargo Marketplace", "Yurtiçi Kargo Marketplace",
# Hepsiburada "ArasKargo", ...) → our carrier; matched on the folded, alphanumeric-only name.
_COMPANY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^aras"), "aras"),
    (re.compile(r"^(yurtici|yk$|ykmarketplace)"), "yurtici"),
)


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(name))


def carrier_for_company(name: str | None) -> str | None:
    """The carrier for a marketplace's cargo company name; ``None`` for one we do not track."""
    if not name:
        return None
    folded = _fold(name)
    if folded in KNOWN_CARRIERS:
        return folded
    for pattern, carrier in _COMPANY_PATTERNS:
        if pattern.search(folded):
            return carrier
    return None


def status_dedupe_key(tenant_id: str, carrier: str, tracking_number: str, status: str,
                      status_at: datetime | None) -> str:
    when = status_at.isoformat() if status_at else "-"
    return f"shipment.status:{tenant_id}:{carrier}:{tracking_number}:{status}:{when}"


# -- polling policy ------------------------------------------------------------------------------
_DEFAULT_INTERVALS: dict[ShipmentStatus, timedelta] = {
    ShipmentStatus.PENDING: timedelta(hours=3),
    ShipmentStatus.PICKED_UP: timedelta(hours=2),
    ShipmentStatus.IN_TRANSIT: timedelta(hours=2),
    ShipmentStatus.OUT_FOR_DELIVERY: timedelta(minutes=20),
    ShipmentStatus.DELIVERY_FAILED: timedelta(hours=1),
    ShipmentStatus.ON_HOLD: timedelta(hours=2),
    ShipmentStatus.UNKNOWN: timedelta(hours=2),
}


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask the carrier, by status; terminal statuses are never polled again."""

    intervals: Mapping[ShipmentStatus, timedelta] = field(default_factory=lambda: dict(_DEFAULT_INTERVALS))
    error_backoff: timedelta = timedelta(minutes=15)
    max_error_backoff: timedelta = timedelta(hours=6)
    give_up_after: timedelta = timedelta(days=30)

    def next_poll(self, status: ShipmentStatus, now: datetime) -> datetime | None:
        if status.is_terminal:
            return None
        return now + self.intervals.get(status, timedelta(hours=2))

    def after_error(self, error_count: int, now: datetime) -> datetime:
        wait = self.error_backoff * (1 << min(20, max(0, error_count - 1)))
        return now + min(wait, self.max_error_backoff)


def _unexpected(tracked: TrackedShipment, exc: Exception) -> ProviderError:
    """A connector's untyped failure for one parcel, as that parcel's error (logged with its trace)."""
    log.exception("%s: unexpected %s tracking %s", tracked.carrier, type(exc).__name__, tracked.tracking_number)
    return PayloadError(f"unexpected {type(exc).__name__} while reading the answer", provider=tracked.carrier,
                        record=tracked.tracking_number, operation="track")


@dataclass
class PollReport:
    polled: int = 0
    changed: int = 0
    events: int = 0
    errors: int = 0
    stopped: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # tracking number -> error
    skipped: int = 0  # rescheduled without asking: the carrier account's login was refused

    def __repr__(self) -> str:
        return (f"<PollReport polled={self.polled} changed={self.changed} events={self.events} errors={self.errors} "
                f"stopped={self.stopped} skipped={self.skipped}>")

    def _repr_html_(self) -> str:
        return html_table(repr(self), ["tracking number", "error"], sorted(self.failures.items()))


CarrierFactory = Callable[[str, str], Carrier | None]
AsyncCarrierFactory = Callable[[str, str], AsyncCarrier | None]


class AccountCarriers(ConciseRepr, fields=("use_async",)):
    """A `CarrierFactory` over stored accounts: the tenant's active account of that carrier, connected
    once and cached (``close()`` closes them).

    Every ``track``/``track_by_reference`` runs under the account service's auth watch: a 401/403 or a
    refused login (`AuthenticationError`) marks the account ``invalid_credentials`` and evicts its
    connector, so the watcher stops asking the carrier with a bad login. Until the credentials are
    replaced (`AccountService.set_credentials`) the carrier is `suspended` for that tenant and the
    watcher reschedules its parcels instead of polling them."""

    def __init__(self, service: Any, options: ConnectOptions | None = None, *, use_async: bool = False) -> None:
        self.service = service  # invekto_integrations.accounts.AccountService
        self.options = options
        self.use_async = use_async
        self._cache: dict[tuple[str, str], Any] = {}
        self._retired: list[Any] = []

    def __call__(self, tenant_id: str, carrier: str) -> Any:
        key = (tenant_id, carrier)
        if key not in self._cache:
            accounts = self.service.accounts.find(tenant_id, provider=carrier, status=AccountStatus.ACTIVE)
            if not accounts:
                return None
            account = accounts[0]
            if self.use_async:
                self._cache[key] = _AsyncAuthWatched(self, key, account,
                                                     self.service.connect_async(account, self.options))
            else:
                self._cache[key] = _AuthWatched(self, key, account, self.service.connect(account, self.options))
        return self._cache[key]

    def suspended(self, tenant_id: str, carrier: str) -> bool:
        """True when the tenant has no active account of this carrier but one whose login was refused."""
        if self.service.accounts.find(tenant_id, provider=carrier, status=AccountStatus.ACTIVE):
            return False
        return bool(self.service.accounts.find(tenant_id, provider=carrier,
                                               status=AccountStatus.INVALID_CREDENTIALS))

    def _evict(self, key: tuple[str, str]) -> None:
        wrapper = self._cache.pop(key, None)
        if wrapper is not None:
            self._retired.append(wrapper.connector)

    def close(self) -> None:
        for connector in [*(w.connector for w in self._cache.values()), *self._retired]:
            if hasattr(connector, "close"):
                connector.close()
        self._cache.clear()
        self._retired.clear()

    async def aclose(self) -> None:
        for connector in [*(w.connector for w in self._cache.values()), *self._retired]:
            if hasattr(connector, "aclose"):
                await connector.aclose()
        self._cache.clear()
        self._retired.clear()


class _AuthWatched:
    """A sync carrier connector whose calls run under `AccountService.watch_auth`."""

    def __init__(self, owner: AccountCarriers, key: tuple[str, str], account: Any, connector: Any) -> None:
        self.owner, self.key, self.account, self.connector = owner, key, account, connector

    def track(self, tracking_number: str) -> Shipment:
        return self._call(lambda: self.connector.track(tracking_number))

    def track_by_reference(self, reference: str) -> Shipment:
        return self._call(lambda: self.connector.track_by_reference(reference))

    def _call(self, fn: Callable[[], Shipment]) -> Shipment:
        try:
            with self.owner.service.watch_auth(self.account):
                return fn()
        except AuthenticationError:
            self.owner._evict(self.key)
            raise

    def close(self) -> None:
        self.connector.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connector, name)


class _AsyncAuthWatched(_AuthWatched):
    """The same for an async carrier connector."""

    async def track(self, tracking_number: str) -> Shipment:  # type: ignore[override]
        return await self._acall(self.connector.track(tracking_number))

    async def track_by_reference(self, reference: str) -> Shipment:  # type: ignore[override]
        return await self._acall(self.connector.track_by_reference(reference))

    async def _acall(self, pending: Awaitable[Shipment]) -> Shipment:
        try:
            with self.owner.service.watch_auth(self.account):
                return await pending
        except AuthenticationError:
            self.owner._evict(self.key)
            raise

    async def aclose(self) -> None:
        await self.connector.aclose()


class _WatcherBase(ConciseRepr, fields=("shipments", "clock")):
    CONSUMER = "shipments.watcher"

    def __init__(
        self,
        shipments: ShipmentRepository,
        events: EventLog | EventBus,
        *,
        orders: OrderCacheRepository | None = None,
        clock: Clock | None = None,
        policy: PollPolicy | None = None,
    ) -> None:
        """``events``: the `EventBus` to publish status changes on (a bare `EventLog` gets a bus of
        its own; pass the runtime's bus so in-process subscribers hear them)."""
        self.shipments = shipments
        self.clock = clock or SystemClock()
        self.bus = events if isinstance(events, EventBus) else EventBus(events, self.clock)
        self.events = self.bus.log
        self.orders = orders
        self.policy = policy or PollPolicy()
        self.tracking_consumer = EventConsumer(self.events, self.CONSUMER, types=[TrackingCodeAssigned.TYPE])

    # -- registration -------------------------------------------------------------------------------
    def register(
        self,
        tenant_id: str,
        carrier: str,
        tracking_number: str,
        *,
        reference: str | None = None,
        customer_phone: str | None = None,
        external_order_id: str | None = None,
        order_provider: str | None = None,
        source: str = "manual",
    ) -> TrackedShipment:
        """Watch a parcel. ``carrier`` is a provider name or a marketplace cargo company name; an
        unknown carrier is recorded (``unknown:<name>``) but never polled. Registering again only
        fills in a missing phone/order."""
        tracking_number = (tracking_number or "").strip()
        if not tracking_number:
            raise InvalidArgument("tracking_number must not be empty", provider=carrier or None,
                                  field="tracking_number", record=external_order_id or reference)
        resolved = carrier_for_company(carrier)
        now = self.clock.now()
        if resolved is None:
            key = f"unknown:{_fold(carrier) or 'none'}"
            row = TrackedShipment(
                tenant_id=tenant_id, carrier=key, tracking_number=tracking_number, reference=reference,
                cargo_company=carrier, source=source, order_provider=order_provider,
                external_order_id=external_order_id, customer_phone=customer_phone, status=ShipmentStatus.UNKNOWN,
                active=False, next_poll_at=None, last_error="carrier not supported", created_at=now, updated_at=now,
            )
        else:
            row = TrackedShipment(
                tenant_id=tenant_id, carrier=resolved, tracking_number=tracking_number, reference=reference,
                cargo_company=carrier, source=source, order_provider=order_provider,
                external_order_id=external_order_id, customer_phone=customer_phone, status=ShipmentStatus.PENDING,
                active=True, next_poll_at=now, created_at=now, updated_at=now,
            )
        if self.shipments.add(tenant_id, row):
            return row
        existing = self.shipments.get(tenant_id, row.carrier, tracking_number)
        assert existing is not None
        fill = {k: v for k, v in {"customer_phone": customer_phone, "external_order_id": external_order_id,
                                  "order_provider": order_provider, "reference": reference}.items()
                if v and not getattr(existing, k)}
        if fill:
            existing = existing.model_copy(update={**fill, "updated_at": now})
            self.shipments.save(tenant_id, existing)
        return existing

    def ingest_tracking_events(self, tenant_id: str) -> int:
        """Register every parcel announced by ``TrackingCodeAssigned`` since this consumer's cursor."""

        def handle(event: DomainEvent) -> None:
            assert isinstance(event, TrackingCodeAssigned)
            self.register_announced(tenant_id, event)

        return self.tracking_consumer.poll(tenant_id, handle)

    def register_announced(self, tenant_id: str, event: TrackingCodeAssigned) -> TrackedShipment:
        """Watch the parcel a ``TrackingCodeAssigned`` announces (phone and order from the cache if
        the event has none)."""
        phone = event.customer_phone
        order_id: str | None = event.external_order_id
        if phone is None and self.orders is not None:
            for cached in self.orders.find_by_tracking_code(tenant_id, event.tracking_code):
                if cached.customer_phone:
                    phone = cached.customer_phone
                    order_id = order_id or cached.external_order_id
                    break
        return self.register(tenant_id, event.cargo_company or "", event.tracking_code, customer_phone=phone,
                             external_order_id=order_id, order_provider=event.provider, source="order")

    def register_from_orders(self, tenant_id: str, tracking_code: str, cargo_company: str) -> TrackedShipment:
        """Register a tracking code found in the orders cache (phone and order id taken from it)."""
        phone = order_id = provider = None
        if self.orders is not None:
            for cached in self.orders.find_by_tracking_code(tenant_id, tracking_code):
                phone, order_id, provider = cached.customer_phone, cached.external_order_id, cached.provider
                break
        return self.register(tenant_id, cargo_company, tracking_code, customer_phone=phone,
                             external_order_id=order_id, order_provider=provider, source="order")

    # -- applying a carrier answer -------------------------------------------------------------------
    def _apply(self, tenant_id: str, tracked: TrackedShipment, result: Shipment | ProviderError,
               report: PollReport) -> None:
        now = self.clock.now()
        report.polled += 1
        if isinstance(result, ProviderError):
            report.errors += 1
            report.failures[tracked.tracking_number] = str(result)
            count = tracked.error_count + 1
            nxt: datetime | None = self.policy.after_error(count, now)
            if isinstance(result, NotFound):  # not known to the carrier (yet): wait as if pending
                nxt = self.policy.next_poll(ShipmentStatus.PENDING, now)
            updated = tracked.model_copy(update={
                "last_polled_at": now, "last_error": str(result)[:500], "error_count": count,
                "next_poll_at": nxt, "updated_at": now,
            })
            self.shipments.save(tenant_id, self._maybe_give_up(updated, now, report))
            return
        history = [
            ShipmentHistoryEntry(tenant_id=tenant_id, carrier=tracked.carrier, tracking_number=tracked.tracking_number,
                                 occurred_at=e.occurred_at, location=e.location, description=e.description, code=e.code)
            for e in result.events
        ]
        if history:
            self.shipments.add_history(tenant_id, tracked.carrier, tracked.tracking_number, history)
        old = ShipmentStatus(tracked.status)
        new = result.status
        if new == ShipmentStatus.UNKNOWN:
            new = old  # an unmapped code is logged by the connector; never reported as a change
        changed = new != old
        if changed:
            report.changed += 1
            event = ShipmentStatusChanged(
                tenant_id=tenant_id,
                occurred_at=result.status_at or now,
                dedupe_key=status_dedupe_key(tenant_id, tracked.carrier, tracked.tracking_number, new.value,
                                             result.status_at),
                carrier=tracked.carrier,
                tracking_number=tracked.tracking_number,
                old_status=old.value,
                new_status=new.value,
                raw_status=result.raw_status_code,
                customer_phone=tracked.customer_phone,
                external_order_id=tracked.external_order_id,
            )
            report.events += len(self.bus.publish(tenant_id, [event]))
        nxt = self.policy.next_poll(new, now)
        updated = tracked.model_copy(update={
            "status": new.value,
            "raw_status_code": result.raw_status_code,
            "raw_status_text": result.raw_status_text,
            "status_at": result.status_at if changed or tracked.status_at is None else tracked.status_at,
            "tracking_url": result.tracking_url or tracked.tracking_url,
            "delivered_at": result.delivered_at,
            "reference": tracked.reference or result.reference,
            "active": nxt is not None,
            "next_poll_at": nxt,
            "last_polled_at": now,
            "last_error": None,
            "error_count": 0,
            "updated_at": now,
        })
        if not updated.active:
            report.stopped += 1
        self.shipments.save(tenant_id, self._maybe_give_up(updated, now, report))

    def _skip(self, tenant_id: str, tracked: TrackedShipment, refused: dict[str, bool], report: PollReport) -> bool:
        """Reschedule (not error) a parcel whose carrier account is refused: in this poll after an
        `AuthenticationError`, or in later polls while the factory reports the carrier `suspended`."""
        if tracked.carrier not in refused:  # asked once per poll and carrier
            suspended = getattr(self.carriers, "suspended", None)  # type: ignore[attr-defined]
            refused[tracked.carrier] = bool(callable(suspended) and suspended(tenant_id, tracked.carrier))
        if not refused[tracked.carrier]:
            return False
        now = self.clock.now()
        status = ShipmentStatus(tracked.status)
        self.shipments.save(tenant_id, tracked.model_copy(update={
            "next_poll_at": self.policy.next_poll(status, now) or now + self.policy.error_backoff,
            "updated_at": now,
        }))
        report.skipped += 1
        return True

    def _maybe_give_up(self, row: TrackedShipment, now: datetime, report: PollReport) -> TrackedShipment:
        if row.active and now - row.created_at > self.policy.give_up_after:
            report.stopped += 1
            return row.model_copy(update={"active": False, "next_poll_at": None,
                                          "last_error": row.last_error or "gave up: no final status in time"})
        return row


class ShipmentWatcher(_WatcherBase):
    """Polls carriers through sync `Carrier` connectors (``carriers(tenant_id, carrier)``)."""

    def __init__(self, shipments: ShipmentRepository, events: EventLog | EventBus, carriers: CarrierFactory, *,
                 orders: OrderCacheRepository | None = None, clock: Clock | None = None,
                 policy: PollPolicy | None = None) -> None:
        super().__init__(shipments, events, orders=orders, clock=clock, policy=policy)
        self.carriers = carriers

    def poll_due(self, tenant_id: str, *, limit: int = 100) -> PollReport:
        """Ask the carrier about every parcel due now; one failure never stops the others."""
        report = PollReport()
        refused: dict[str, bool] = {}  # carrier -> its login was refused (skip its parcels)
        for tracked in self.shipments.due(tenant_id, self.clock.now(), limit=limit):
            if self._skip(tenant_id, tracked, refused, report):
                continue
            connector = self.carriers(tenant_id, tracked.carrier)
            result: Shipment | ProviderError
            if connector is None:
                result = ProviderError("no active account for this carrier", provider=tracked.carrier)
            else:
                try:
                    result = connector.track(tracked.tracking_number)
                except AuthenticationError as exc:
                    refused[tracked.carrier] = True
                    result = exc
                except ProviderError as exc:
                    result = exc
                except Exception as exc:  # one parcel's surprise never stops the others)
                    result = _unexpected(tracked, exc)
            self._apply(tenant_id, tracked, result, report)
        return report

    def run_once(self, tenant_id: str, *, limit: int = 100) -> PollReport:
        """Register newly announced tracking codes, then poll what is due. Takes no lease: for
        scripts and tests; a deployment runs `ShipmentWatcherEngine` on a `Runtime` (same code and
        cursor), never both for one tenant (docs/runtime.md)."""
        self.ingest_tracking_events(tenant_id)
        return self.poll_due(tenant_id, limit=limit)

    def run_all(self, *, limit: int = 100) -> dict[str, PollReport]:
        """`run_once` for every tenant with events or watched parcels (a scheduler's tick).
        Takes no lease: for scripts and tests; a deployment runs `ShipmentWatcherEngine` on a `Runtime`
        (same code and cursor), never both for one tenant (docs/runtime.md)."""
        tenants = sorted(set(self.events.tenants()) | set(self.shipments.tenants()))
        return {tenant: self.run_once(tenant, limit=limit) for tenant in tenants}


class AsyncShipmentWatcher(_WatcherBase):
    """The same watcher over `AsyncCarrier` connectors."""

    def __init__(self, shipments: ShipmentRepository, events: EventLog | EventBus, carriers: AsyncCarrierFactory, *,
                 orders: OrderCacheRepository | None = None, clock: Clock | None = None,
                 policy: PollPolicy | None = None) -> None:
        super().__init__(shipments, events, orders=orders, clock=clock, policy=policy)
        self.carriers = carriers

    async def poll_due(self, tenant_id: str, *, limit: int = 100) -> PollReport:
        report = PollReport()
        refused: dict[str, bool] = {}  # carrier -> its login was refused (skip its parcels)
        for tracked in self.shipments.due(tenant_id, self.clock.now(), limit=limit):
            if self._skip(tenant_id, tracked, refused, report):
                continue
            connector = self.carriers(tenant_id, tracked.carrier)
            result: Shipment | ProviderError
            if connector is None:
                result = ProviderError("no active account for this carrier", provider=tracked.carrier)
            else:
                try:
                    result = await connector.track(tracked.tracking_number)
                except AuthenticationError as exc:
                    refused[tracked.carrier] = True
                    result = exc
                except ProviderError as exc:
                    result = exc
                except Exception as exc:  # one parcel's surprise never stops the others)
                    result = _unexpected(tracked, exc)
            self._apply(tenant_id, tracked, result, report)
        return report

    async def run_once(self, tenant_id: str, *, limit: int = 100) -> PollReport:
        """As `ShipmentWatcher.run_once`. Takes no lease: a deployment runs `AsyncShipmentWatcherEngine`."""
        self.ingest_tracking_events(tenant_id)
        return await self.poll_due(tenant_id, limit=limit)

    async def run_all(self, *, limit: int = 100) -> dict[str, PollReport]:
        """As `ShipmentWatcher.run_all`. Takes no lease: a deployment runs `AsyncShipmentWatcherEngine`."""
        tenants = sorted(set(self.events.tenants()) | set(self.shipments.tenants()))
        return {tenant: await self.run_once(tenant, limit=limit) for tenant in tenants}


# -- proactive messages ----------------------------------------------------------------------------
DEFAULT_TEMPLATES: dict[ShipmentStatus, str] = {
    ShipmentStatus.PICKED_UP: "Merhaba, siparişiniz {carrier_label} tarafından teslim alındı. "
                              "Takip numaranız: {tracking_number}",
    ShipmentStatus.IN_TRANSIT: "Kargonuz yola çıktı! {carrier_label} takip numaranız: {tracking_number}. "
                               "{tracking_url}",
    ShipmentStatus.OUT_FOR_DELIVERY: "Kargonuz dağıtıma çıktı, bugün size ulaştırılacak. "
                                     "{carrier_label} takip numaranız: {tracking_number}",
    ShipmentStatus.DELIVERED: "Teslim edildi: {carrier_label} kargonuz ({tracking_number}) teslim edildi. "
                              "İyi günlerde kullanın!",
    ShipmentStatus.DELIVERY_FAILED: "Kargonuz teslim edilemedi. {carrier_label} şubesiyle iletişime "
                                    "geçebilirsiniz. Takip numaranız: {tracking_number}",
    ShipmentStatus.RETURN_TO_SENDER: "Kargonuz göndericiye iade ediliyor. Takip numaranız: {tracking_number}",
}


class CargoMessageSettings(BaseModel):
    """A tenant's proactive cargo message option.

    ``notify_on`` picks which new statuses produce a message; ``templates`` holds the text per
    status (placeholders: ``{carrier_label}``, ``{tracking_number}``, ``{tracking_url}``,
    ``{order_id}``); ``whatsapp_templates`` names an approved WhatsApp template per status (sent
    as a `TemplateRef` with body parameters carrier label, tracking number, tracking url) instead
    of the text. Changes older than ``max_age`` (a backfill) are not announced.
    """

    model_config = ConfigDict(frozen=True)

    enabled: bool = True
    notify_on: frozenset[ShipmentStatus] = frozenset(
        {ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED}
    )
    templates: dict[ShipmentStatus, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    whatsapp_templates: dict[ShipmentStatus, str] = Field(default_factory=dict)
    quiet_hours: QuietHours | None = None  # None: the tenant's quiet hours (`TenantSettings`)
    max_age: timedelta = timedelta(days=2)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class CargoNotifier(ConciseRepr):
    """Consumer of ``ShipmentStatusChanged`` events that sends proactive cargo messages."""

    CONSUMER = "cargo.notifier"

    def __init__(
        self,
        events: EventLog,
        outbox: CargoNotificationRepository,
        sink: MessageSink,
        settings: Mapping[str, CargoMessageSettings] | Callable[[str], CargoMessageSettings | None],
        *,
        shipments: ShipmentRepository | None = None,
        clock: Clock | None = None,
        settings_repository: TenantSettingsRepository | None = None,
    ) -> None:
        self.events = events
        self.settings_repository = settings_repository
        self.outbox = outbox
        self.sink = sink
        self._settings = settings
        self.shipments = shipments
        self.clock = clock or SystemClock()
        self.consumer = EventConsumer(events, self.CONSUMER, types=[ShipmentStatusChanged.TYPE])

    def settings_for(self, tenant_id: str) -> CargoMessageSettings | None:
        if callable(self._settings):
            return self._settings(tenant_id)
        return self._settings.get(tenant_id)

    def poll(self, tenant_id: str) -> int:
        """Handle every new status change of ``tenant_id``; returns how many events were read.
        Takes no lease: for scripts and tests; a deployment runs `CargoNotifierEngine` on a `Runtime`
        (same code and cursor), never both for one tenant (docs/runtime.md)."""
        return self.consumer.poll(tenant_id, lambda e: self.handle(tenant_id, e))

    def poll_all(self) -> dict[str, int]:
        """`poll` for every tenant in the event log (no lease either: see `poll`)."""
        return {tenant: self.poll(tenant) for tenant in self.events.tenants()}

    @staticmethod
    def idempotency_key(carrier: str, tracking_number: str, status: str) -> str:
        return f"cargo_status:{carrier}:{tracking_number}:{status}"

    def render(self, event: ShipmentStatusChanged, settings: CargoMessageSettings,
               now: datetime) -> OutboundMessage | None:
        status = ShipmentStatus(event.new_status)
        if not settings.enabled or status not in settings.notify_on or not event.customer_phone:
            return None
        tracking_url = None
        if self.shipments is not None:
            row = self.shipments.get(event.tenant_id, event.carrier, event.tracking_number)
            tracking_url = row.tracking_url if row else None
        values = _Blank(
            carrier_label=CARRIER_LABELS.get(event.carrier, event.carrier),
            tracking_number=event.tracking_number,
            tracking_url=tracking_url or "",
            order_id=event.external_order_id or "",
        )
        quiet = settings.quiet_hours or tenant_settings(self.settings_repository, event.tenant_id).quiet_hours_rule()
        not_before = quiet.next_allowed(now) if quiet.is_quiet(now) else None
        template_name = settings.whatsapp_templates.get(status)
        text = template = None
        if template_name:
            template = TemplateRef(name=template_name, body_params=[values["carrier_label"],
                                                                    event.tracking_number, values["tracking_url"]])
        else:
            text = settings.templates.get(status, DEFAULT_TEMPLATES.get(status, "")).format_map(values).strip()
            if not text:
                return None
        return OutboundMessage(
            tenant_id=event.tenant_id,
            to_phone=event.customer_phone,
            idempotency_key=self.idempotency_key(event.carrier, event.tracking_number, status.value),
            category=MessageCategory.UTILITY,
            purpose="cargo_status",
            template=template,
            text=text,
            not_before=not_before,
            quiet_hours_applied=True,  # the cargo option's quiet hours above are the ones that count
            metadata={"carrier": event.carrier, "tracking_number": event.tracking_number, "status": status.value,
                      "external_order_id": event.external_order_id, "event_id": event.event_id},
        )

    def handle(self, tenant_id: str, event: DomainEvent) -> None:
        if not isinstance(event, ShipmentStatusChanged):
            return
        settings = self.settings_for(tenant_id)
        if settings is None:
            return
        now = self.clock.now()
        if now - event.occurred_at > settings.max_age:
            log.info("cargo status change of %s is too old to announce", event.tracking_number)
            return
        message = self.render(event, settings, now)
        if message is None:
            return
        note = CargoNotification(
            id=new_id(), tenant_id=tenant_id, idempotency_key=message.idempotency_key, carrier=event.carrier,
            tracking_number=event.tracking_number, status=event.new_status, to_phone=message.to_phone,
            message_json=message.model_dump_json(), not_before=message.not_before, created_at=now,
        )
        if not self.outbox.add(tenant_id, note):
            existing = self.outbox.get(tenant_id, message.idempotency_key)
            if existing is not None and existing.submitted_at is not None:
                return  # already handed over
            if existing is not None:
                message = OutboundMessage.model_validate_json(existing.message_json)
        result = self.sink.submit(message)
        self.outbox.mark_submitted(tenant_id, message.idempotency_key, result.status, now)

    def resubmit_pending(self, tenant_id: str) -> int:
        """Hand over outbox rows recorded but never submitted (a crash in between)."""
        count = 0
        for note in self.outbox.find(tenant_id, pending_only=True):
            result = self.sink.submit(OutboundMessage.model_validate_json(note.message_json))
            self.outbox.mark_submitted(tenant_id, note.idempotency_key, result.status, self.clock.now())
            count += 1
        return count

