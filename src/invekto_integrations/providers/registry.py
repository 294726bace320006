"""Provider discovery through the entry-point group ``invekto_integrations.providers``.

Built-in providers register exactly as a third-party plugin does (in ``pyproject.toml``), so the
registry has no list of its own. `ProviderRegistry.register` exists for tests and notebooks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import cast

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount

from .base import (
    AsyncCalendar,
    AsyncCarrier,
    AsyncMarketplace,
    Calendar,
    Carrier,
    ConnectOptions,
    ConsentSource,
    Marketplace,
    MessagingProvider,
    ProviderInfo,
    ProviderKind,
)

__all__ = ["ENTRY_POINT_GROUP", "AsyncConnector", "Connector", "ProviderRegistry"]

# What `connect` returns: one of the kind protocols (narrow with the per-kind methods).
Connector = Marketplace | Carrier | Calendar | MessagingProvider | ConsentSource
AsyncConnector = AsyncMarketplace | AsyncCarrier | AsyncCalendar
_MARKETPLACE = ("iter_orders_changed", "get_order")
_CARRIER = ("track", "track_by_reference")
_CALENDAR = ("list_changes", "get_event", "insert_event", "patch_event", "delete_event", "event_id_for",
             "parse_notification")
_MESSAGING = ("send_template", "send_text")
_CONSENT = ("query_consent", "add_consent", "pull_changes")

ENTRY_POINT_GROUP = "invekto_integrations.providers"
log = logging.getLogger("invekto_integrations.registry")


class ProviderRegistry:
    def __init__(self, providers: list[ProviderInfo] | None = None) -> None:
        self._providers: dict[str, ProviderInfo] = {}
        for info in providers or []:
            self.register(info)

    @classmethod
    def load(cls) -> ProviderRegistry:
        """Every provider installed in this environment."""
        registry = cls()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                info = ep.load()
            except Exception as exc:
                raise ConfigurationError(f"provider plugin {ep.name!r} failed to load: {exc}") from exc
            if not isinstance(info, ProviderInfo):
                raise ConfigurationError(f"entry point {ep.name!r} is not a ProviderInfo")
            registry.register(info)
        return registry

    def register(self, info: ProviderInfo) -> None:
        if info.name in self._providers and self._providers[info.name] is not info:
            raise ConfigurationError(f"provider {info.name!r} registered twice")
        self._providers[info.name] = info

    def __repr__(self) -> str:
        return f"<ProviderRegistry {', '.join(sorted(self._providers)) or 'empty'}>"

    def get(self, name: str) -> ProviderInfo:
        try:
            return self._providers[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown provider {name!r}; installed: {', '.join(sorted(self._providers)) or 'none'}"
            ) from None

    def all(self) -> list[ProviderInfo]:
        return [self._providers[k] for k in sorted(self._providers)]

    def of_kind(self, kind: ProviderKind) -> list[ProviderInfo]:
        return [p for p in self.all() if p.kind == kind]

    def connect(self, account: IntegrationAccount, credentials: Credentials,
                options: ConnectOptions | None = None) -> Connector:
        """A sync connector for ``account``, typed as the union of the kind protocols; the
        per-kind methods (`marketplace`, `carrier`, `calendar`, ...) return the one protocol."""
        info = self.get(account.provider)
        if info.connect is None:
            raise ConfigurationError(f"provider {info.name!r} has no sync connector")
        connector: Connector = info.connect(account, credentials, options or ConnectOptions())
        return connector

    def connect_async(self, account: IntegrationAccount, credentials: Credentials,
                      options: ConnectOptions | None = None) -> AsyncConnector:
        info = self.get(account.provider)
        if info.connect_async is None:
            raise ConfigurationError(f"provider {info.name!r} has no async connector")
        connector: AsyncConnector = info.connect_async(account, credentials, options or ConnectOptions())
        return connector

    # -- typed per kind ---------------------------------------------------------------------------
    def marketplace(self, account: IntegrationAccount, credentials: Credentials,
                    options: ConnectOptions | None = None) -> Marketplace:
        return cast(Marketplace, self._typed(account, credentials, options, ProviderKind.MARKETPLACE, _MARKETPLACE,
                                  self.connect))

    def async_marketplace(self, account: IntegrationAccount, credentials: Credentials,
                          options: ConnectOptions | None = None) -> AsyncMarketplace:
        return cast(AsyncMarketplace, self._typed(account, credentials, options, ProviderKind.MARKETPLACE, _MARKETPLACE,
                                  self.connect_async))

    def carrier(self, account: IntegrationAccount, credentials: Credentials,
                options: ConnectOptions | None = None) -> Carrier:
        return cast(Carrier, self._typed(account, credentials, options, ProviderKind.CARRIER, _CARRIER,
                                  self.connect))

    def async_carrier(self, account: IntegrationAccount, credentials: Credentials,
                      options: ConnectOptions | None = None) -> AsyncCarrier:
        return cast(AsyncCarrier, self._typed(account, credentials, options, ProviderKind.CARRIER, _CARRIER,
                                  self.connect_async))

    def calendar(self, account: IntegrationAccount, credentials: Credentials,
                 options: ConnectOptions | None = None) -> Calendar:
        return cast(Calendar, self._typed(account, credentials, options, ProviderKind.CALENDAR, _CALENDAR,
                                  self.connect))

    def async_calendar(self, account: IntegrationAccount, credentials: Credentials,
                       options: ConnectOptions | None = None) -> AsyncCalendar:
        return cast(AsyncCalendar, self._typed(account, credentials, options, ProviderKind.CALENDAR, _CALENDAR,
                                  self.connect_async))

    def messaging(self, account: IntegrationAccount, credentials: Credentials,
                  options: ConnectOptions | None = None) -> MessagingProvider:
        return cast(MessagingProvider, self._typed(account, credentials, options, ProviderKind.MESSAGING, _MESSAGING,
                                  self.connect))

    def consent_source(self, account: IntegrationAccount, credentials: Credentials,
                       options: ConnectOptions | None = None) -> ConsentSource:
        return cast(ConsentSource, self._typed(account, credentials, options, ProviderKind.CONSENT, _CONSENT,
                                  self.connect))

    def _typed(self, account: IntegrationAccount, credentials: Credentials, options: ConnectOptions | None,
               kind: ProviderKind, members: tuple[str, ...],
               connect: Callable[[IntegrationAccount, Credentials, ConnectOptions | None], object]) -> object:
        # The casts above are only as good as this check: the plugin's kind (before building
        # anything) and the protocol's members, so a wrong plugin fails here with its name
        # instead of later with an AttributeError.
        info = self.get(account.provider)
        if info.kind is not kind:
            raise ConfigurationError(f"provider {info.name!r} is a {info.kind.value} provider, not {kind.value}")
        connector = connect(account, credentials, options)
        missing = [m for m in members if not callable(getattr(connector, m, None))]
        if missing:
            raise ConfigurationError(f"provider {info.name!r}: its connector lacks {', '.join(missing)}")
        return connector
