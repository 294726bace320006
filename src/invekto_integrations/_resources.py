"""The resources of the front door (``client.accounts``, ``client.orders`` ...), sync and async.

Each resource is a thin face over the lower layer that does the work (`AccountService`,
`OrderSyncEngine` + `CustomerLookup`, `ShipmentWatcher`, `SendPipeline`, `ConsentService`,
`CalendarSync`, `AppointmentBook`); the engine itself is one attribute away (``.engine``,
``.watcher``, ``.pipeline`` ...) for what the face does not cover. The async twins have the same
methods; where the lower layer is synchronous only (messaging, consent, appointments) they run it
in a worker thread so the event loop keeps going.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from invekto_integrations._context import Context
from invekto_integrations.accounts import AccountService, RotationReport
from invekto_integrations.appointments.booking import AppointmentBook
from invekto_integrations.appointments.models import Appointment
from invekto_integrations.appointments.slots import Slot, SlotFinder
from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.core.reprs import ResultList
from invekto_integrations.messaging.base import MessageCategory, MessageDelivery, OutboundMessage, SubmitResult
from invekto_integrations.messaging.consent import ConsentDecision, ConsentService
from invekto_integrations.messaging.pipeline import DispatchReport, SendPipeline
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.progress import Progress, order_sync_callback
from invekto_integrations.storage.records import TrackedShipment
from invekto_integrations.sync.calendar import AsyncCalendarSync, CalendarSync, MirrorBusyTimes, SyncReport
from invekto_integrations.sync.lookup import CustomerLookup, CustomerOrders
from invekto_integrations.sync.orders import OrderSyncEngine, ProgressCallback, SyncMode, SyncRunReport
from invekto_integrations.sync.shipments import AccountCarriers, AsyncShipmentWatcher, PollReport, ShipmentWatcher

__all__ = [
    "Accounts",
    "Appointments",
    "AsyncAccounts",
    "AsyncAppointments",
    "AsyncCalendar",
    "AsyncConsent",
    "AsyncMessages",
    "AsyncOrders",
    "AsyncShipments",
    "Calendar",
    "Consent",
    "Messages",
    "Orders",
    "Shipments",
]

WHATSAPP = "whatsapp_cloud"
IYS = "iys"
GOOGLE_CALENDAR = "google_calendar"


class _Resource:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {type(self._ctx.store).__name__}>"


def _callback(progress: Progress | ProgressCallback | None) -> ProgressCallback | None:
    if progress is None:
        return None
    if isinstance(progress, Progress):
        return order_sync_callback(progress)
    return progress


def _tenants(tenant_id: str | None, tenant_ids: Sequence[str] | None) -> Sequence[str] | None:
    if tenant_id is not None and tenant_ids is not None:
        raise ConfigurationError("give tenant_id or tenant_ids, not both")
    return [tenant_id] if tenant_id is not None else tenant_ids


def _not_in_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise ConfigurationError(f"{what} blocks; inside an event loop (a notebook cell, an async app) use "
                             "AsyncIntegrations and await it")


# -- accounts ------------------------------------------------------------------------------------
class _AccountsBase(_Resource):
    @property
    def service(self) -> AccountService:
        """The lower layer: `AccountService` (encrypted credentials, connectors, rotation)."""
        return self._ctx.service

    def add(self, tenant_id: str, provider: str, credentials: Credentials, *, settings: dict[str, Any] | None = None,
            display_name: str = "") -> IntegrationAccount:
        """Connect a provider account for a tenant; the credentials are stored encrypted."""
        self._ctx.service.registry.get(provider)  # an unknown provider fails here, naming the installed ones
        return self._ctx.service.add(tenant_id, provider, credentials, settings=settings, display_name=display_name)

    def list(self, tenant_id: str, *, provider: str | None = None) -> ResultList[IntegrationAccount]:
        """The tenant's accounts (of one provider if given)."""
        return ResultList(self._ctx.store.accounts.find(tenant_id, provider=provider))

    def get(self, tenant_id: str, account_id: str) -> IntegrationAccount | None:
        return self._ctx.store.accounts.get(tenant_id, account_id)

    def set_credentials(self, account: IntegrationAccount, credentials: Credentials) -> IntegrationAccount:
        """Replace a secret and make the account active again (after ``invalid_credentials``)."""
        return self._ctx.service.set_credentials(account, credentials)

    def rotate(self) -> RotationReport:
        """Re-encrypt every secret not under the key ring's current key (rows that cannot be opened
        are reported, the others rotated regardless)."""
        return self._ctx.service.rotate()

    def tenants(self) -> builtins.list[str]:
        return self._ctx.store.accounts.tenants()


class Accounts(_AccountsBase):
    """``client.accounts``: provider accounts per tenant, credentials encrypted at rest."""

    def connect(self, account: IntegrationAccount) -> Any:
        """A sync connector (e.g. `TrendyolClient`) for ``account``, built with the client's options;
        the caller closes it."""
        return self._ctx.service.connect(account, self._ctx.connect_options(account))


class AsyncAccounts(_AccountsBase):
    """``client.accounts`` of `AsyncIntegrations` (storage calls are quick and stay synchronous)."""

    def connect(self, account: IntegrationAccount) -> Any:
        """An async connector for ``account`` (the caller awaits its ``aclose()``)."""
        return self._ctx.service.connect_async(account, self._ctx.connect_options(account))


# -- orders --------------------------------------------------------------------------------------
class _OrdersBase(_Resource):
    @property
    def engine(self) -> OrderSyncEngine:
        """The lower layer: `OrderSyncEngine` over the client's store, clock and options."""
        ctx = self._ctx

        def build() -> OrderSyncEngine:
            s = ctx.store
            engine = OrderSyncEngine(ctx.service, s.orders, s.checkpoints, s.quarantine, ctx.bus,
                                     options=ctx.connect_options, settings=ctx.settings.sync, clock=ctx.clock)
            ctx.on_close(engine.close)
            return engine

        engine: OrderSyncEngine = ctx.once("orders.engine", build)
        return engine

    @property
    def lookup_service(self) -> CustomerLookup:
        ctx = self._ctx
        lookup: CustomerLookup = ctx.once("orders.lookup",
                                          lambda: CustomerLookup(ctx.store.orders, self.engine,
                                                                 region=ctx.settings.region))
        return lookup

    def count(self, tenant_id: str, *, provider: str | None = None) -> int:
        """Orders in the tenant's cache (of one provider if given)."""
        return self._ctx.store.orders.count(tenant_id, provider=provider)

    def cached(self, tenant_id: str, phone: str, *, limit: int = 100) -> CustomerOrders:
        """A customer's orders from the cache only (no provider call), newest first."""
        return self.lookup_service.cached(tenant_id, phone, limit=limit)


class Orders(_OrdersBase):
    """``client.orders``: marketplace order sync into the cache, and customer lookup by phone."""

    def sync(self, tenant_id: str | None = None, *, tenant_ids: Sequence[str] | None = None,
             account_ids: Sequence[str] | None = None, mode: SyncMode = SyncMode.AUTO,
             progress: Progress | ProgressCallback | None = None) -> SyncRunReport:
        """Sync the marketplace accounts of one tenant (or ``tenant_ids``, or every tenant): a
        backfill on first connection, incremental afterwards. Never raises for one account's
        failure: see the report's ``failed``."""
        _not_in_loop("Integrations.orders.sync()")
        return asyncio.run(self.engine.run(tenant_ids=_tenants(tenant_id, tenant_ids), account_ids=account_ids,
                                           mode=mode, progress=_callback(progress)))

    def lookup(self, tenant_id: str, phone: str, *, refresh: bool = False, limit: int = 100) -> CustomerOrders:
        """A customer's orders on every connected marketplace by phone (any Turkish form), newest
        first; ``refresh`` runs an incremental sync of the tenant first."""
        if refresh:
            _not_in_loop("Integrations.orders.lookup(refresh=True)")
        return self.lookup_service.find(tenant_id, phone, refresh=refresh, limit=limit)


class AsyncOrders(_OrdersBase):
    """``client.orders`` of `AsyncIntegrations`."""

    async def sync(self, tenant_id: str | None = None, *, tenant_ids: Sequence[str] | None = None,
                   account_ids: Sequence[str] | None = None, mode: SyncMode = SyncMode.AUTO,
                   progress: Progress | ProgressCallback | None = None) -> SyncRunReport:
        return await self.engine.run(tenant_ids=_tenants(tenant_id, tenant_ids), account_ids=account_ids, mode=mode,
                                     progress=_callback(progress))

    async def lookup(self, tenant_id: str, phone: str, *, refresh: bool = False, limit: int = 100) -> CustomerOrders:
        return await self.lookup_service.afind(tenant_id, phone, refresh=refresh, limit=limit)


# -- shipments -----------------------------------------------------------------------------------
class _ShipmentsBase(_Resource):
    def _carriers(self, use_async: bool) -> AccountCarriers:
        ctx = self._ctx

        def build() -> AccountCarriers:
            carriers = _OptionsCarriers(ctx, use_async=use_async)
            if not use_async:
                ctx.on_close(carriers.close)
            return carriers

        carriers: AccountCarriers = ctx.once(f"shipments.carriers:{use_async}", build)
        return carriers

    def watch(self, tenant_id: str, carrier: str, tracking_number: str, *, reference: str | None = None,
              customer_phone: str | None = None) -> TrackedShipment:
        """Watch a parcel (``carrier``: ``aras``, ``yurtici`` or a marketplace's cargo company name)."""
        watcher: ShipmentWatcher | AsyncShipmentWatcher = self._watcher()
        return watcher.register(tenant_id, carrier, tracking_number, reference=reference,
                                customer_phone=customer_phone)

    def list(self, tenant_id: str, *, carrier: str | None = None,
             active: bool | None = None) -> ResultList[TrackedShipment]:
        """The tenant's watched parcels (of one carrier, active or not, if given)."""
        return ResultList(self._ctx.store.shipments.find(tenant_id, carrier=carrier, active=active))

    def from_orders(self, tenant_id: str) -> int:
        """Watch every parcel the order sync announced (``TrackingCodeAssigned``); returns how many."""
        return self._watcher().ingest_tracking_events(tenant_id)

    def _watcher(self) -> ShipmentWatcher | AsyncShipmentWatcher:
        raise NotImplementedError


class _OptionsCarriers(AccountCarriers):
    """`AccountCarriers` with the client's per-account connect options (sandbox URL, timeouts)."""

    def __init__(self, ctx: Context, *, use_async: bool) -> None:
        super().__init__(ctx.service, None, use_async=use_async)
        self._ctx = ctx

    def __call__(self, tenant_id: str, carrier: str) -> Any:
        account = self._ctx.active_account(tenant_id, carrier)
        if account is not None:
            self.options = self._ctx.connect_options(account)
        return super().__call__(tenant_id, carrier)


class Shipments(_ShipmentsBase):
    """``client.shipments``: cargo tracking (Aras, Yurtiçi) with polling on the client's clock."""

    @property
    def watcher(self) -> ShipmentWatcher:
        ctx = self._ctx
        watcher: ShipmentWatcher = ctx.once("shipments.watcher", lambda: ShipmentWatcher(
            ctx.store.shipments, ctx.store.events, self._carriers(False), orders=ctx.store.orders, clock=ctx.clock))
        return watcher

    def _watcher(self) -> ShipmentWatcher:
        return self.watcher

    def poll(self, tenant_id: str, *, limit: int = 100) -> PollReport:
        """Ask the carriers about every parcel of the tenant that is due now."""
        return self.watcher.run_once(tenant_id, limit=limit)


class AsyncShipments(_ShipmentsBase):
    """``client.shipments`` of `AsyncIntegrations`."""

    @property
    def watcher(self) -> AsyncShipmentWatcher:
        ctx = self._ctx
        watcher: AsyncShipmentWatcher = ctx.once("shipments.async_watcher", lambda: AsyncShipmentWatcher(
            ctx.store.shipments, ctx.store.events, self._carriers(True), orders=ctx.store.orders, clock=ctx.clock))
        return watcher

    def _watcher(self) -> AsyncShipmentWatcher:
        return self.watcher

    async def poll(self, tenant_id: str, *, limit: int = 100) -> PollReport:
        return await self.watcher.run_once(tenant_id, limit=limit)


# -- consent and messages ------------------------------------------------------------------------
def _consent_service(ctx: Context) -> ConsentService:
    s = ctx.store
    service: ConsentService = ctx.once("consent.service", lambda: ConsentService(
        s.consents, s.messaging_contacts, checkpoints=s.checkpoints, clock=ctx.clock, quarantine=s.quarantine))
    return service


def _consent_for(ctx: Context, tenant_id: str) -> ConsentService:
    """The consent service with the tenant's İYS account as its source (when it has one)."""
    service = _consent_service(ctx)
    key = f"consent.configured:{tenant_id}"
    if key not in ctx._cache:
        account = ctx.active_account(tenant_id, IYS)
        if account is not None:
            service.configure(tenant_id, source=ctx.connector(tenant_id, IYS),
                              brand_code=str(account.settings.get("brand_code", "default")))
        ctx._cache[key] = True
    return service


class Consent(_Resource):
    """``client.consent``: İYS consent checks, opt-outs and İYS change sync."""

    @property
    def service(self) -> ConsentService:
        return _consent_service(self._ctx)

    def check(self, tenant_id: str, phone: str,
              category: MessageCategory = MessageCategory.MARKETING) -> ConsentDecision:
        """May a ``category`` message go to ``phone`` now? (İYS is asked when the cache does not know.)"""
        return _consent_for(self._ctx, tenant_id).check(tenant_id, phone, category)

    def record_opt_out(self, tenant_id: str, phone: str, *, keyword: str = "manual",
                       at: datetime | None = None) -> None:
        _consent_for(self._ctx, tenant_id).record_opt_out(tenant_id, phone, keyword=keyword, at=at)

    def sync_changes(self, tenant_id: str) -> int:
        """Apply İYS's consent changes since the last call; returns how many were applied."""
        return _consent_for(self._ctx, tenant_id).sync_changes(tenant_id)


class AsyncConsent(_Resource):
    """``client.consent`` of `AsyncIntegrations` (runs the consent service in a worker thread)."""

    @property
    def service(self) -> ConsentService:
        return _consent_service(self._ctx)

    async def check(self, tenant_id: str, phone: str,
                    category: MessageCategory = MessageCategory.MARKETING) -> ConsentDecision:
        return await asyncio.to_thread(Consent(self._ctx).check, tenant_id, phone, category)

    async def record_opt_out(self, tenant_id: str, phone: str, *, keyword: str = "manual",
                             at: datetime | None = None) -> None:
        await asyncio.to_thread(Consent(self._ctx).record_opt_out, tenant_id, phone, keyword=keyword, at=at)

    async def sync_changes(self, tenant_id: str) -> int:
        return await asyncio.to_thread(Consent(self._ctx).sync_changes, tenant_id)


def _pipeline(ctx: Context) -> SendPipeline:
    def provider(tenant_id: str) -> Any:
        _consent_for(ctx, tenant_id)  # the tenant's İYS source, before the first consent check
        return ctx.connector(tenant_id, WHATSAPP)

    s = ctx.store
    pipeline: SendPipeline = ctx.once("messages.pipeline", lambda: SendPipeline(
        s.outbox, s.messaging_contacts, _consent_service(ctx), provider, events=ctx.bus, clock=ctx.clock,
        default_settings=ctx.settings.messaging))
    return pipeline


class Messages(_Resource):
    """``client.messages``: the one send path (consent, opt-out, caps, quiet hours, outbox, WhatsApp)."""

    @property
    def pipeline(self) -> SendPipeline:
        return _pipeline(self._ctx)

    def submit(self, message: OutboundMessage) -> SubmitResult:
        """Check, record in the outbox and send when due; a refusal is a result, not an error."""
        _consent_for(self._ctx, message.tenant_id)
        return self.pipeline.submit(message)

    def send(self, message: OutboundMessage) -> SubmitResult:
        """`submit`, but a refusal raises `ConsentError`."""
        _consent_for(self._ctx, message.tenant_id)
        return self.pipeline.send(message)

    def dispatch_due(self, tenant_id: str | None = None, *, limit: int = 100) -> DispatchReport:
        """Send every held or queued message whose time has come."""
        return self.pipeline.dispatch_due(tenant_id, limit=limit)

    def delivery(self, tenant_id: str, message_id: str) -> MessageDelivery | None:
        return self.pipeline.delivery(tenant_id, message_id)


class AsyncMessages(_Resource):
    """``client.messages`` of `AsyncIntegrations` (the pipeline runs in a worker thread)."""

    @property
    def pipeline(self) -> SendPipeline:
        return _pipeline(self._ctx)

    async def submit(self, message: OutboundMessage) -> SubmitResult:
        return await asyncio.to_thread(Messages(self._ctx).submit, message)

    async def send(self, message: OutboundMessage) -> SubmitResult:
        return await asyncio.to_thread(Messages(self._ctx).send, message)

    async def dispatch_due(self, tenant_id: str | None = None, *, limit: int = 100) -> DispatchReport:
        return await asyncio.to_thread(self.pipeline.dispatch_due, tenant_id, limit=limit)

    async def delivery(self, tenant_id: str, message_id: str) -> MessageDelivery | None:
        return await asyncio.to_thread(self.pipeline.delivery, tenant_id, message_id)


# -- appointments and calendar --------------------------------------------------------------------
def _book(ctx: Context) -> AppointmentBook:
    s = ctx.store

    def build() -> AppointmentBook:
        # The doctors' own calendar events (mirrored by the calendar sync) are busy time too.
        mirror = getattr(s, "calendar_sync", None)
        slots = SlotFinder(s.appointments, s.doctors, s.service_pricing, waitlist=s.waitlist, clock=ctx.clock,
                           busy=MirrorBusyTimes(mirror) if mirror is not None else None)
        return AppointmentBook(s.appointments, slots, ctx.bus, clock=ctx.clock)

    book: AppointmentBook = ctx.once("appointments.book", build)
    return book


class Appointments(_Resource):
    """``client.appointments``: the clinic's appointment book (slots, booking, moves, cancellations)."""

    @property
    def book_service(self) -> AppointmentBook:
        return _book(self._ctx)

    def free_slots(self, tenant_id: str, service_name: str, start: datetime, end: datetime) -> ResultList[Slot]:
        """Free slots for a service between ``start`` and ``end``, over every eligible doctor."""
        return ResultList(self.book_service.slots.free_slots(tenant_id, service_name, start, end))

    def book(self, tenant_id: str, *, doctor_id: str, service_name: str, starts_at: datetime, patient_phone: str,
             patient_name: str | None = None) -> Appointment:
        return self.book_service.book(tenant_id, doctor_id=doctor_id, service_name=service_name, starts_at=starts_at,
                                      patient_phone=patient_phone, patient_name=patient_name)

    def get(self, tenant_id: str, appointment_id: str) -> Appointment:
        return self.book_service.get(tenant_id, appointment_id)

    def cancel(self, tenant_id: str, appointment_id: str) -> Appointment:
        return self.book_service.cancel(tenant_id, appointment_id)


class AsyncAppointments(_Resource):
    """``client.appointments`` of `AsyncIntegrations` (the book runs in a worker thread)."""

    @property
    def book_service(self) -> AppointmentBook:
        return _book(self._ctx)

    async def free_slots(self, tenant_id: str, service_name: str, start: datetime, end: datetime) -> list[Slot]:
        return await asyncio.to_thread(self.book_service.slots.free_slots, tenant_id, service_name, start, end)

    async def book(self, tenant_id: str, *, doctor_id: str, service_name: str, starts_at: datetime,
                   patient_phone: str, patient_name: str | None = None) -> Appointment:
        return await asyncio.to_thread(Appointments(self._ctx).book, tenant_id, doctor_id=doctor_id,
                                       service_name=service_name, starts_at=starts_at, patient_phone=patient_phone,
                                       patient_name=patient_name)

    async def get(self, tenant_id: str, appointment_id: str) -> Appointment:
        return await asyncio.to_thread(self.book_service.get, tenant_id, appointment_id)

    async def cancel(self, tenant_id: str, appointment_id: str) -> Appointment:
        return await asyncio.to_thread(self.book_service.cancel, tenant_id, appointment_id)


class Calendar(_Resource):
    """``client.calendar``: two-way sync of the appointment book with each tenant's Google Calendar."""

    @property
    def engine(self) -> CalendarSync:
        ctx = self._ctx
        engine: CalendarSync = ctx.once("calendar.engine", lambda: CalendarSync(
            _book(ctx), ctx.store.doctors, ctx.store.calendar_sync,
            lambda tenant: ctx.connector(tenant, GOOGLE_CALENDAR), quarantine=ctx.store.quarantine, clock=ctx.clock,
            on_auth_error=ctx.service.mark_refused))
        return engine

    def sync(self, tenant_id: str) -> list[SyncReport]:
        """Pull every connected doctor calendar of the tenant into the book."""
        return self.engine.sync_tenant(tenant_id)


class AsyncCalendar(_Resource):
    """``client.calendar`` of `AsyncIntegrations`."""

    @property
    def engine(self) -> AsyncCalendarSync:
        ctx = self._ctx
        engine: AsyncCalendarSync = ctx.once("calendar.async_engine", lambda: AsyncCalendarSync(
            _book(ctx), ctx.store.doctors, ctx.store.calendar_sync,
            lambda tenant: ctx.connector(tenant, GOOGLE_CALENDAR, use_async=True), quarantine=ctx.store.quarantine,
            clock=ctx.clock, on_auth_error=ctx.service.mark_refused))
        return engine

    async def sync(self, tenant_id: str) -> list[SyncReport]:
        return await self.engine.sync_tenant(tenant_id)
