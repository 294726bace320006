"""What every resource of the front door shares: the store, the account service, the clock and
how connectors are built. Private: `Integrations` / `AsyncIntegrations` are the public face."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from invekto_integrations.accounts import AccountService
from invekto_integrations.campaigns.repository import CampaignRepository, ContactProfileRepository, RecipientRepository
from invekto_integrations.campaigns.repository import ConversionRepository as CampaignConversionRepository
from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.crypto import CredentialCipher, KeyRing
from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.messaging.pipeline import MessagingSettings
from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.storage.store import Store
from invekto_integrations.sync.orders import SyncSettings

__all__ = ["NOT_GIVEN", "ClientSettings", "ConnectOptionsFor", "FrontStore", "NotGiven"]


class FrontStore(Store, Protocol):
    """What the front door needs of a store: a `storage.Store` (every engine's repositories) plus
    the campaigns' repositories. `SQLiteStore` and `MemoryStore` both fit."""

    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def campaign_recipients(self) -> RecipientRepository: ...
    @property
    def campaign_conversions(self) -> CampaignConversionRepository: ...
    @property
    def contact_profiles(self) -> ContactProfileRepository: ...


class NotGiven:
    """"Not passed" where ``None`` is a real value (openai's and httpx's sentinel)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

ConnectOptionsFor = Callable[[IntegrationAccount], ConnectOptions]


@dataclass(frozen=True)
class ClientSettings:
    """Options of the front door: request timeout and retries for every connector it builds
    (``None``: each provider's default), order-sync tuning, send rules and the phone region."""

    timeout: float | None = None
    max_retries: int | None = None
    sync: SyncSettings = field(default_factory=SyncSettings)
    messaging: MessagingSettings = field(default_factory=MessagingSettings)
    region: str = "TR"

    def __repr__(self) -> str:
        changed = [f"{f.name}={getattr(self, f.name)!r}" if f.name in ("timeout", "max_retries", "region")
                   else f"{f.name}=<{type(getattr(self, f.name)).__name__}>"
                   for f in dataclasses.fields(self) if getattr(self, f.name) != _DEFAULTS.get(f.name)]
        return f"ClientSettings({', '.join(changed)})"

    def __post_init__(self) -> None:
        if self.max_retries is not None and (isinstance(self.max_retries, bool) or self.max_retries < 0):
            raise ConfigurationError(f"max_retries must be 0 or more, got {self.max_retries!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {self.timeout!r}")


_DEFAULTS: dict[str, Any] = {"timeout": None, "max_retries": None, "sync": SyncSettings(),
                             "messaging": MessagingSettings(), "region": "TR"}


class Context:
    """The shared parts; resources build their engines from it, lazily and once."""

    def __init__(
        self,
        store: FrontStore,
        keyring: KeyRing,
        *,
        settings: ClientSettings,
        clock: Clock | None,
        registry: ProviderRegistry | None,
        options: ConnectOptions | ConnectOptionsFor | None,
        owns_store: bool,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.registry = registry
        self.options = options
        self.owns_store = owns_store
        self.service = AccountService(store.accounts, CredentialCipher(keyring), registry=registry, clock=self.clock)
        self.bus = EventBus(store.events, self.clock)
        self._cache: dict[str, Any] = {}
        self._closers: list[Callable[[], None]] = []
        self._async_closers: list[Callable[[], Awaitable[None]]] = []

    def derive(self, settings: ClientSettings) -> Context:
        """The same store, keys and clock with other settings (`with_options`); never closes the store."""
        return Context(self.store, self.keyring, settings=settings, clock=self.clock, registry=self.registry,
                       options=self.options, owns_store=False)

    def connect_options(self, account: IntegrationAccount) -> ConnectOptions:
        """How a connector for ``account`` is built: the given options, then timeout and retries."""
        if self.options is None:
            base = ConnectOptions(clock=self.clock)
        elif isinstance(self.options, ConnectOptions):
            base = self.options
        else:
            base = self.options(account)
        changes: dict[str, Any] = {}
        if self.settings.timeout is not None:
            changes["timeout"] = self.settings.timeout
        if self.settings.max_retries is not None:
            changes["retry"] = RetryPolicy(max_attempts=self.settings.max_retries + 1, clock=base.clock)
        return dataclasses.replace(base, **changes) if changes else base

    def active_account(self, tenant_id: str, provider: str) -> IntegrationAccount | None:
        found = self.store.accounts.find(tenant_id, provider=provider, status=AccountStatus.ACTIVE)
        return found[0] if found else None

    def connector(self, tenant_id: str, provider: str, *, use_async: bool = False) -> Any:
        """The tenant's active ``provider`` account, connected once and kept until `close`."""
        key = f"connector:{use_async}:{tenant_id}:{provider}"
        if key not in self._cache:
            account = self.active_account(tenant_id, provider)
            if account is None:
                raise ConfigurationError(f"tenant {tenant_id!r} has no active {provider} account "
                                         f"(add one with client.accounts.add)")
            options = self.connect_options(account)
            if use_async:
                connector = self.service.connect_async(account, options)
                self._cache[key] = connector
                if hasattr(connector, "aclose"):
                    self._async_closers.append(connector.aclose)
            else:
                connector = self.service.connect(account, options)
                self._cache[key] = connector
                if hasattr(connector, "close"):
                    self._closers.append(connector.close)
        return self._cache[key]

    def once(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def on_close(self, fn: Callable[[], None]) -> None:
        self._closers.append(fn)

    async def aclose(self) -> None:
        closers, self._async_closers = self._async_closers, []
        for fn in reversed(closers):
            await fn()
        self.close()

    def close(self) -> None:
        closers, self._closers = self._closers, []
        for fn in reversed(closers):
            fn()
        self._cache.clear()
        if self.owns_store:
            self.store.close()
