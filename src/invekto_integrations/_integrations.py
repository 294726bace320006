"""The front door: one object for everything, `Integrations`, and its async twin `AsyncIntegrations`.

    from invekto_integrations import Integrations

    client = Integrations.from_env()           # INVEKTO_DATABASE_URL, INVEKTO_KEYRING, INVEKTO_LOG
    client.accounts.add("moda", "trendyol", credentials, settings={"seller_id": "123"})
    report = client.orders.sync("moda")
    found = client.orders.lookup("moda", "0532 412 34 56")

    with Integrations.sandbox() as client:     # fakes of Trendyol and Hepsiburada, on one clock
        seller = client.fakes.trendyol.provision_account("Moda İstanbul")
        ...

Built from a store, a key ring and settings (or the environment), it wires the lower layers
(`AccountService`, `OrderSyncEngine`, `ShipmentWatcher`, `SendPipeline` ...) on one clock and one
set of connect options; they stay public for those who want them.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from invekto_integrations._context import (
    NOT_GIVEN,
    ClientSettings,
    ConnectOptionsFor,
    Context,
    FrontStore,
    NotGiven,
)
from invekto_integrations._env import configure_logging, database_url, is_postgres_url, sqlite_path
from invekto_integrations._resources import (
    Accounts,
    Appointments,
    AsyncAccounts,
    AsyncAppointments,
    AsyncCalendar,
    AsyncConsent,
    AsyncMessages,
    AsyncOrders,
    AsyncShipments,
    Calendar,
    Consent,
    Messages,
    Orders,
    Shipments,
)
from invekto_integrations._resources_more import (
    AsyncAttribution,
    AsyncCampaigns,
    AsyncDashboard,
    Attribution,
    Campaigns,
    Dashboard,
    runtime_kwargs,
)
from invekto_integrations.core.clock import Clock, FrozenClock
from invekto_integrations.core.crypto import KeyRing, generate_key
from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.sync.orders import SyncSettings

if TYPE_CHECKING:
    from invekto_integrations.runtime import AsyncRuntime, Engine, Runtime
    from invekto_integrations.testing.sandbox import Sandbox

__all__ = ["AsyncIntegrations", "AsyncSandboxIntegrations", "Integrations", "SandboxIntegrations"]

SANDBOX_PROVIDERS = ("trendyol", "hepsiburada")


def _store_from_env(environ: Mapping[str, str] | None) -> FrontStore:
    url = database_url(environ)
    if is_postgres_url(url):
        from invekto_integrations.storage.postgres import PostgresStore

        return PostgresStore(url)
    path = sqlite_path(url)
    if path is None:
        from invekto_integrations.storage.memory import MemoryStore

        return MemoryStore()
    from invekto_integrations.storage.sqlite import SQLiteStore

    return SQLiteStore(path)


class _Client:
    """What `Integrations` and `AsyncIntegrations` share: construction, options, closing."""

    def __init__(
        self,
        store: FrontStore | None = None,
        keyring: KeyRing | None = None,
        *,
        settings: ClientSettings | None = None,
        clock: Clock | None = None,
        registry: ProviderRegistry | None = None,
        connect_options: ConnectOptions | ConnectOptionsFor | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """``store``: a `SQLiteStore`/`MemoryStore` (else ``INVEKTO_DATABASE_URL``, default
        ``sqlite:///invekto.sqlite3``); ``keyring``: the keys that seal credentials (else
        ``INVEKTO_KEYRING``); ``connect_options``: how connectors reach their providers (one for all,
        or per account); ``clock``: the time of every engine (default: the system clock)."""
        configure_logging(environ=environ)
        ring = keyring if keyring is not None else KeyRing.from_env(environ)
        owns = store is None
        self._ctx = Context(store if store is not None else _store_from_env(environ), ring,
                            settings=settings or ClientSettings(), clock=clock, registry=registry,
                            options=connect_options, owns_store=owns)
        self._build()

    def _build(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, settings: ClientSettings | None = None) -> Self:
        """Everything from the environment: ``INVEKTO_DATABASE_URL``, ``INVEKTO_KEYRING``, ``INVEKTO_LOG``."""
        return cls(settings=settings, environ=environ)

    # -- shared parts ------------------------------------------------------------------------------
    @property
    def store(self) -> FrontStore:
        return self._ctx.store

    @property
    def clock(self) -> Clock:
        """The time every engine of this client runs on (the sandbox's clock under `sandbox`)."""
        return self._ctx.clock

    @property
    def settings(self) -> ClientSettings:
        return self._ctx.settings

    def with_options(
        self,
        *,
        timeout: float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven | None = NOT_GIVEN,
        sync: SyncSettings | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A copy with other request options (``None``: the provider's default), sharing the store,
        keys and clock: ``client.with_options(timeout=5, max_retries=0).orders.sync("moda")``."""
        changes: dict[str, Any] = {}
        if not isinstance(timeout, NotGiven):
            changes["timeout"] = timeout
        if not isinstance(max_retries, NotGiven):
            changes["max_retries"] = max_retries
        if not isinstance(sync, NotGiven):
            changes["sync"] = sync
        settings = dataclasses.replace(self._ctx.settings, **changes)
        clone = copy.copy(self)
        clone._ctx = self._ctx.derive(settings)
        clone._build()
        return clone

    def __repr__(self) -> str:
        s = self._ctx.settings
        opts = "".join(f" {k}={v}" for k, v in (("timeout", s.timeout), ("max_retries", s.max_retries))
                       if v is not None)
        return f"<{type(self).__name__} store={type(self._ctx.store).__name__} clock={type(self.clock).__name__}{opts}>"


class Integrations(_Client):
    """The synchronous front door; each resource delegates to the lower layer named in its docs."""

    accounts: Accounts
    orders: Orders
    shipments: Shipments
    messages: Messages
    consent: Consent
    calendar: Calendar
    appointments: Appointments
    attribution: Attribution
    campaigns: Campaigns
    dashboard: Dashboard

    def _build(self) -> None:
        ctx = self._ctx
        self.accounts = Accounts(ctx)
        self.orders = Orders(ctx)
        self.shipments = Shipments(ctx)
        self.messages = Messages(ctx)
        self.consent = Consent(ctx)
        self.calendar = Calendar(ctx)
        self.appointments = Appointments(ctx)
        self.attribution = Attribution(ctx)
        self.campaigns = Campaigns(ctx)
        self.dashboard = Dashboard(ctx)

    def runtime(self, engines: Sequence[Engine], *, owner: str | None = None, **kw: Any) -> Runtime:
        """A `Runtime` hosting ``engines`` over this client's store, on its clock and event bus
        (further `Runtime` options by keyword); ``run_once()``, ``run_forever()``, ``status()``."""
        from invekto_integrations.runtime import Runtime

        return Runtime(self._ctx.store, engines, **runtime_kwargs(self._ctx, owner, kw))

    def close(self) -> None:
        """Close the connectors and engines this client built (and the store, if it opened it)."""
        self._ctx.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    @contextmanager
    def sandbox(
        cls,
        providers: Sequence[str] = SANDBOX_PROVIDERS,
        *,
        start: datetime | None = None,
        seed: int = 0,
        serve: bool = False,
        store: FrontStore | None = None,
        settings: ClientSettings | None = None,
    ) -> Iterator[SandboxIntegrations]:
        """A client wired to a sandbox of ``providers``' fakes, on the sandbox's clock (a
        `FrozenClock` at ``start``): connectors, engines and fakes agree on "now". In-process by
        default; ``serve=True`` also serves the fakes on a loopback port and connects over it.
        ``store`` defaults to a private SQLite file removed on exit."""
        with _sandbox(providers, start=start, seed=seed, serve=serve) as (sb, registry):
            client = SandboxIntegrations(store, _sandbox_keyring(), settings=settings, clock=sb.clock,
                                         registry=registry, connect_options=_sandbox_options(sb), sandbox=sb)
            try:
                yield client
            finally:
                client.close()


class SandboxIntegrations(Integrations):
    """`Integrations` from `Integrations.sandbox`: ``fakes`` is the running `Sandbox`."""

    def __init__(self, store: FrontStore | None, keyring: KeyRing, *, sandbox: Sandbox, **kw: Any) -> None:
        self.fakes = sandbox
        owns = store is None
        if store is None:
            from invekto_integrations.storage.sqlite import SQLiteStore

            store = SQLiteStore(":memory:")
        super().__init__(store, keyring, environ={}, **kw)
        self._ctx.owns_store = owns


class AsyncIntegrations(_Client):
    """The asynchronous front door: the same resources as `Integrations`, awaitable."""

    accounts: AsyncAccounts
    orders: AsyncOrders
    shipments: AsyncShipments
    messages: AsyncMessages
    consent: AsyncConsent
    calendar: AsyncCalendar
    appointments: AsyncAppointments
    attribution: AsyncAttribution
    campaigns: AsyncCampaigns
    dashboard: AsyncDashboard

    def _build(self) -> None:
        ctx = self._ctx
        self.accounts = AsyncAccounts(ctx)
        self.orders = AsyncOrders(ctx)
        self.shipments = AsyncShipments(ctx)
        self.messages = AsyncMessages(ctx)
        self.consent = AsyncConsent(ctx)
        self.calendar = AsyncCalendar(ctx)
        self.appointments = AsyncAppointments(ctx)
        self.attribution = AsyncAttribution(ctx)
        self.campaigns = AsyncCampaigns(ctx)
        self.dashboard = AsyncDashboard(ctx)

    def runtime(self, engines: Sequence[Engine], *, owner: str | None = None, **kw: Any) -> AsyncRuntime:
        """An `AsyncRuntime` hosting ``engines`` over this client's store, clock and event bus."""
        from invekto_integrations.runtime import AsyncRuntime

        return AsyncRuntime(self._ctx.store, engines, **runtime_kwargs(self._ctx, owner, kw))

    async def aclose(self) -> None:
        await self._ctx.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @classmethod
    @asynccontextmanager
    async def sandbox(
        cls,
        providers: Sequence[str] = SANDBOX_PROVIDERS,
        *,
        start: datetime | None = None,
        seed: int = 0,
        serve: bool = False,
        store: FrontStore | None = None,
        settings: ClientSettings | None = None,
    ) -> AsyncIterator[AsyncSandboxIntegrations]:
        """`Integrations.sandbox` for async code: ``async with AsyncIntegrations.sandbox() as client``."""
        with _sandbox(providers, start=start, seed=seed, serve=serve) as (sb, registry):
            client = AsyncSandboxIntegrations(store, _sandbox_keyring(), settings=settings, clock=sb.clock,
                                              registry=registry, connect_options=_sandbox_options(sb), sandbox=sb)
            try:
                yield client
            finally:
                await client.aclose()


class AsyncSandboxIntegrations(AsyncIntegrations):
    """`AsyncIntegrations` from `AsyncIntegrations.sandbox`: ``fakes`` is the running `Sandbox`."""

    def __init__(self, store: FrontStore | None, keyring: KeyRing, *, sandbox: Sandbox, **kw: Any) -> None:
        self.fakes = sandbox
        owns = store is None
        if store is None:
            from invekto_integrations.storage.sqlite import SQLiteStore

            store = SQLiteStore(":memory:")
        super().__init__(store, keyring, environ={}, **kw)
        self._ctx.owns_store = owns


# -- sandbox wiring ---------------------------------------------------------------------------------
def _sandbox_keyring() -> KeyRing:
    return KeyRing({"sandbox": base64.urlsafe_b64decode(generate_key())})  # fresh per sandbox


def _sandbox_options(sb: Sandbox) -> ConnectOptionsFor:
    def options(account: Any) -> ConnectOptions:
        return sb.options(account.provider)

    return options


@contextmanager
def _sandbox(providers: Sequence[str], *, start: datetime | None, seed: int,
             serve: bool) -> Iterator[tuple[Sandbox, ProviderRegistry]]:
    from invekto_integrations.testing.sandbox import Sandbox

    installed = ProviderRegistry.load()
    clock = FrozenClock(start)
    chosen = []
    fakes = []
    for name in providers:
        info = installed.get(name)
        if info.fake is None:
            raise ConfigurationError(f"provider {name!r} has no sandbox fake")
        chosen.append(info)
        fakes.append(info.fake(clock=clock, seed=seed))
    sb = Sandbox(fakes, clock=clock, seed=seed)
    if serve:
        sb.start()
    try:
        yield sb, ProviderRegistry(chosen)
    finally:
        sb.stop()
