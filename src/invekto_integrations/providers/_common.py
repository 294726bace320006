"""What every HTTP connector repeats, written once: its `ProviderConfig`, its factories, its lifecycle.

* `ProviderDefaults`: what a provider publishes (hosts per environment, rate limit, error-body
  reader) and how it is tuned (timeout, retry); `ProviderDefaults.config` builds the
  `core.http.ProviderConfig` of one account from the options every client constructor takes
  (``environment``/``base_url``, ``clock``, ``retry``, ``limiter_registry``, ``timeout``,
  ``rate_limit``) plus the account's key, auth and User-Agent.
* `connect_options`: those same options read from a `ConnectOptions` (and the account's
  ``environment`` setting); `connectors`: the ``connect``/``connect_async`` pair of a
  `ProviderInfo` from one function that turns an account into constructor arguments.
* `lazy`: a factory that imports its target on first call (fakes and contracts import pytest or
  the sandbox, which a production install must not load).
* `SyncConnector` / `AsyncConnector`: ``close``/``aclose`` and the context manager of a client
  that runs its calls on ``self._runner``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import ConfigurationError, InvalidArgument
from invekto_integrations.core.http import (
    DEFAULT_MAX_BODY_BYTES,
    AsyncRunner,
    ErrorDetails,
    ProviderConfig,
    SyncRunner,
    default_error_details,
)
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.core.text import clip
from invekto_integrations.models.accounts import Credentials, IntegrationAccount

from .base import ConnectOptions, Environment

__all__ = [
    "AsyncConnector",
    "ConnectorFactoryOf",
    "ProviderDefaults",
    "SyncConnector",
    "check_identifier",
    "check_timeout",
    "connect_options",
    "connectors",
    "default_retry",
    "lazy",
    "log_unknown_status",
    "request_timeout",
    "reveal",
]

S = TypeVar("S")
A = TypeVar("A")

ConnectorFactoryOf = Callable[[IntegrationAccount, Credentials, ConnectOptions], S]
"""A ``connect`` function returning ``S``."""
KwargsOf = Callable[[IntegrationAccount, Credentials, ConnectOptions], dict[str, Any]]


@functools.lru_cache(maxsize=4096)
def log_unknown_status(logger: logging.Logger, provider: str, what: str, raw: str) -> None:
    """Warn once per (provider, kind, value) per process, clipped: a provider that starts sending a
    new status logs it once, not once per record of every sync."""
    logger.warning("%s: undocumented %s %r (logged once)", provider, what, clip(raw))


def reveal(secret: str | SecretStr) -> str:
    """The plain value of a secret given either way (only ever handed to `httpx.BasicAuth` & co.)."""
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def check_identifier(provider: str, field: str, value: object) -> str:
    """``value`` stripped, or `InvalidArgument` naming the provider and field when it is not a
    non-empty string (an empty id would query a collection instead of one record)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"expected a string, got {type(value).__name__}", provider=provider, field=field,
                              record=repr(value))
    text = value.strip()
    if not text:
        raise InvalidArgument(f"{field} must not be empty", provider=provider, field=field, record=repr(value))
    return text


def check_timeout(seconds: object) -> None:
    """`ConfigurationError` unless ``seconds`` is None (the default) or a number >= 0 (0: the default)."""
    number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if seconds is not None and (not number or not seconds >= 0):  # type: ignore[operator]
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {seconds!r}")


def request_timeout(seconds: float | None) -> httpx.Timeout:
    """``seconds`` for the whole request, connecting within at most 10 s; 30 s when not given."""
    check_timeout(seconds)
    if not seconds:
        return httpx.Timeout(30.0, connect=10.0)
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def default_retry(clock: Clock) -> RetryPolicy:
    """`RetryPolicy`'s defaults (429, 5xx, timeouts; 0.5 s → 8 s), sleeping on ``clock``."""
    return RetryPolicy(clock=clock)


@dataclass(frozen=True)
class ProviderDefaults:
    """What a provider publishes and how its connector is tuned, as one constant per provider."""

    provider: str
    hosts: Mapping[str, str]  # Environment value -> documented base URL
    rate_limit: RateLimit | None = None  # the published client-side limit; None: none applied
    error_details: Callable[[httpx.Response], ErrorDetails] = default_error_details
    timeout: Callable[[float | None], httpx.Timeout] = request_timeout
    retry: Callable[[Clock], RetryPolicy] = default_retry
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # reading stops past it (while streaming)

    def environment(self, value: Environment | str) -> Environment:
        """``value`` as an `Environment` this provider has a host for (`ConfigurationError` otherwise)."""
        try:
            env = Environment(value)
        except ValueError:
            env = None
        if env is None or env.value not in self.hosts:
            raise ConfigurationError(f"{self.provider}: unknown environment {value!r} "
                                     f"(one of {', '.join(sorted(self.hosts))})")
        return env

    def config(
        self,
        *,
        account_key: str,
        auth: httpx.Auth | None = None,
        user_agent: str | None = None,
        environment: Environment | str = Environment.PRODUCTION,
        base_url: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        limiter_registry: RateLimiterRegistry | None = None,
        timeout: float | None = None,
        rate_limit: RateLimit | None = None,
    ) -> ProviderConfig:
        """The `ProviderConfig` of one account: ``base_url`` overrides the environment's host,
        ``rate_limit`` the published limit, ``retry``/``timeout`` the provider's tuning."""
        env = self.environment(environment)
        clock = clock or SystemClock()
        try:
            check_timeout(timeout)
            request_timeout_ = self.timeout(timeout)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.provider}: {exc}") from exc
        return ProviderConfig(
            provider=self.provider,
            base_url=base_url or self.hosts[env.value],
            account_key=account_key,
            auth=auth,
            user_agent=user_agent,
            timeout=request_timeout_,
            rate_limit=rate_limit or self.rate_limit,
            retry=retry or self.retry(clock),
            error_details=self.error_details,
            limiter_registry=limiter_registry or DEFAULT_REGISTRY,
            clock=clock,
            max_body_bytes=self.max_body_bytes,
        )


def connect_options(options: ConnectOptions, settings: Mapping[str, Any] | None = None,
                    extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """The constructor arguments every client takes, from ``options``: the account's
    ``environment`` setting (else ``options.environment``), ``base_url``, ``clock``, ``retry``,
    ``limiter_registry``, ``timeout``, ``rate_limit``; plus the ``options.extra`` keys in ``extra``."""
    kw: dict[str, Any] = {
        "environment": (settings or {}).get("environment") or options.environment,
        "base_url": options.base_url,
        "clock": options.clock,
        "retry": options.retry,
        "limiter_registry": options.limiter_registry,
        "timeout": options.timeout,
        "rate_limit": options.rate_limit,
    }
    kw.update({k: v for k, v in options.extra.items() if k in extra})
    return kw


def connectors(sync_client: Callable[..., S], async_client: Callable[..., A],
               kwargs: KwargsOf) -> tuple[ConnectorFactoryOf[S], ConnectorFactoryOf[A]]:
    """``connect`` and ``connect_async`` for a `ProviderInfo`: both build their client from
    ``kwargs(account, credentials, options)``, with ``options.transport`` / ``async_transport``."""

    def connect(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> S:
        return sync_client(transport=options.transport, **kwargs(account, credentials, options))

    def connect_async(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> A:
        return async_client(transport=options.async_transport, **kwargs(account, credentials, options))

    for fn, client in ((connect, sync_client), (connect_async, async_client)):
        fn.__doc__ = f"A `{getattr(client, '__name__', client)}` for ``account`` (see `ConnectOptions`)."
    return connect, connect_async


def lazy(module: str, name: str) -> Callable[..., Any]:
    """A factory calling ``module.name(**kw)``, importing ``module`` only when first called."""

    def factory(*args: Any, **kw: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kw)

    factory.__doc__ = f"{module}.{name}(...), imported on first use."
    return factory


def _changed(config: ProviderConfig, timeout: float | None, max_retries: int | None) -> ProviderConfig:
    changes: dict[str, Any] = {}
    if timeout is not None:
        check_timeout(timeout)
        changes["timeout"] = request_timeout(timeout)
    if max_retries is not None:
        if isinstance(max_retries, bool) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {max_retries!r}")
        changes["retry"] = dataclasses.replace(config.retry, max_attempts=max_retries + 1)
    return config.with_options(**changes)


class SyncConnector(ConciseRepr, fields=("_runner.config.provider", "_runner.config.base_url")):
    """``close()`` and ``with`` for a sync client whose calls run on ``self._runner``."""

    _runner: SyncRunner

    def with_options(self, *, timeout: float | None = None, max_retries: int | None = None) -> Self:
        """A copy whose calls use another timeout (seconds) or retry count, sharing this client's
        connection pool (openai's ``with_options``): ``client.with_options(timeout=5).get_order(n)``."""
        clone = copy.copy(self)
        config = _changed(self._runner.config, timeout, max_retries)
        clone._runner = SyncRunner(config, http_client=self._runner.http)
        if hasattr(clone, "config"):
            clone.config = config
        return clone

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncConnector(ConciseRepr, fields=("_runner.config.provider", "_runner.config.base_url")):
    """``await aclose()`` and ``async with`` for an async client whose calls run on ``self._runner``."""

    _runner: AsyncRunner

    def with_options(self, *, timeout: float | None = None, max_retries: int | None = None) -> Self:
        """A copy with another timeout or retry count, sharing this client's connection pool."""
        clone = copy.copy(self)
        config = _changed(self._runner.config, timeout, max_retries)
        clone._runner = AsyncRunner(config, http_client=self._runner.http)
        if hasattr(clone, "config"):
            clone.config = config
        return clone

    async def aclose(self) -> None:
        await self._runner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
