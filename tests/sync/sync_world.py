"""A world for order-sync tests: two reference marketplaces ("alpha", "beta") in a sandbox, a store,
encrypted accounts, and the engine wired only through the registry (as production code is)."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.clock import Clock, FrozenClock
from invekto_integrations.core.crypto import CredentialCipher, KeyRing, generate_key
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import IntegrationAccount
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.sync import CustomerLookup, OrderSyncEngine, SyncSettings
from invekto_integrations.testing.refmarket import RefMarketFake, make_refmarket_provider
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.scenarios import MarketplaceScenario

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROVIDERS = [make_refmarket_provider("alpha", "Alpha market"), make_refmarket_provider("beta", "Beta market")]


@dataclass
class World:
    clock: FrozenClock
    sandbox: Sandbox
    store: Any
    service: AccountService
    engine: OrderSyncEngine
    lookup: CustomerLookup
    loopback: bool = False
    keys: dict[str, str] = field(default_factory=dict)  # account id -> key in the fake

    def fake(self, provider: str) -> RefMarketFake:
        fake = self.sandbox.fake(provider)
        assert isinstance(fake, RefMarketFake)
        return fake

    def scenario(self, provider: str) -> MarketplaceScenario:
        fake = self.sandbox.fake(provider)
        assert isinstance(fake, MarketplaceScenario)
        return fake

    def connect(self, tenant: str, provider: str, *, orders: int = 0, days: int = 60) -> IntegrationAccount:
        fake = self.scenario(provider)
        seller = fake.provision_account()
        account = self.service.add(tenant, provider, seller.credentials, settings=seller.settings)
        self.keys[account.id] = seller.account_key
        if orders:
            now = self.clock.now()
            fake.seed_orders(seller.account_key, orders, start=now - timedelta(days=days), end=now - timedelta(hours=1))
        return account

    def key(self, account: IntegrationAccount) -> str:
        return self.keys[account.id]

    def options_for(self, retry: RetryPolicy, limiter: RateLimiterRegistry):  # type: ignore[no-untyped-def]
        # Connectors read the world's time; retries and rate limits sleep on their own clocks.
        def options(account: IntegrationAccount) -> ConnectOptions:
            if self.loopback:
                return ConnectOptions(base_url=self.sandbox.url(account.provider), clock=self.clock, retry=retry,
                                      limiter_registry=limiter, timeout=5.0)
            return ConnectOptions(base_url=self.sandbox.inprocess_url(account.provider),
                                  async_transport=self.sandbox.async_transport(), clock=self.clock, retry=retry,
                                  limiter_registry=limiter, timeout=5.0)

        return options


def make_world(store: Any, *, sleep_clock: Clock, loopback: bool = False, settings: SyncSettings | None = None,
               retry: RetryPolicy | None = None, limiter: RateLimiterRegistry | None = None,
               providers: list[ProviderInfo] | None = None, start: datetime = START) -> World:
    """``providers``: the reference pair by default; the real marketplaces pass their `ProviderInfo`."""
    providers = providers or PROVIDERS
    clock = FrozenClock(start)
    sandbox = Sandbox([p.fake(clock=clock, seed=11) for p in providers if p.fake], clock=clock)  # type: ignore[misc]
    ring = KeyRing({"k1": base64.urlsafe_b64decode(generate_key())})
    service = AccountService(store.accounts, CredentialCipher(ring), registry=ProviderRegistry(providers), clock=clock)
    world = World(clock=clock, sandbox=sandbox, store=store, service=service, engine=None,  # type: ignore[arg-type]
                  lookup=None, loopback=loopback)  # type: ignore[arg-type]
    retry = retry or RetryPolicy(max_attempts=5, clock=sleep_clock, rng=random.Random(3))
    limiter = limiter or RateLimiterRegistry(sleep_clock)
    world.engine = OrderSyncEngine(
        service, store.orders, store.checkpoints, store.quarantine, EventBus(store.events, clock),
        options=world.options_for(retry, limiter), settings=settings or SyncSettings(), clock=clock,
    )
    world.lookup = CustomerLookup(store.orders, world.engine)
    return world


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    store = MemoryStore() if request.param == "memory" else SQLiteStore()
    yield store
    store.close()


@pytest.fixture
def world(sleepless: Clock) -> Iterator[World]:
    store = SQLiteStore()
    yield make_world(store, sleep_clock=sleepless)
    store.close()
