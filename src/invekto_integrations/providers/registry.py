"""Provider discovery through the entry-point group ``invekto_integrations.providers``.

Built-in providers register exactly as a third-party plugin does (in ``pyproject.toml``), so the
registry has no list of its own. `ProviderRegistry.register` exists for tests and notebooks.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount

from .base import ConnectOptions, ProviderInfo, ProviderKind

__all__ = ["ENTRY_POINT_GROUP", "ProviderRegistry"]

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
                options: ConnectOptions | None = None) -> Any:
        """A sync connector for ``account``."""
        info = self.get(account.provider)
        if info.connect is None:
            raise ConfigurationError(f"provider {info.name!r} has no sync connector")
        return info.connect(account, credentials, options or ConnectOptions())

    def connect_async(self, account: IntegrationAccount, credentials: Credentials,
                      options: ConnectOptions | None = None) -> Any:
        info = self.get(account.provider)
        if info.connect_async is None:
            raise ConfigurationError(f"provider {info.name!r} has no async connector")
        return info.connect_async(account, credentials, options or ConnectOptions())
