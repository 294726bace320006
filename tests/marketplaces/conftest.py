"""Fixtures for the marketplace connectors: a frozen clock, the fakes in an in-process sandbox and
clients pointed at them (sync and async). Retry sleeps are recorded by `sleepless`, never slept."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.hepsiburada import AsyncHepsiburadaClient, HepsiburadaClient
from invekto_integrations.providers.trendyol import AsyncTrendyolClient, TrendyolClient
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SELLER = "100001"
TY_KEY, TY_SECRET = "ty-key-100001", "ty-secret-100001"
MERCHANT = "b2910839-83b9-4d45-adb6-86bad457edcb"
HB_KEY, HB_AGENT = "Hb7Sk2Lm9Qx4", "invekto_dev"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def ty_fake(clock: FrozenClock) -> TrendyolFake:
    return TrendyolFake(clock=clock)


@pytest.fixture
def hb_fake(clock: FrozenClock) -> HepsiburadaFake:
    return HepsiburadaFake(clock=clock)


@pytest.fixture
def sandbox(clock: FrozenClock, ty_fake: TrendyolFake, hb_fake: HepsiburadaFake) -> Sandbox:
    return Sandbox([ty_fake, hb_fake], clock=clock)


@pytest.fixture
def retry(sleepless: Any) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, clock=sleepless, rng=random.Random(7))


@pytest.fixture
def common(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> dict[str, Any]:
    return {"clock": clock, "retry": retry, "limiter_registry": RateLimiterRegistry(clock)}


@pytest.fixture
def ty(sandbox: Sandbox, common: dict[str, Any]) -> Iterator[TrendyolClient]:
    with TrendyolClient(SELLER, TY_KEY, TY_SECRET, base_url=sandbox.inprocess_url("trendyol"),
                        transport=sandbox.transport(), **common) as client:
        yield client


@pytest.fixture
async def aty(sandbox: Sandbox, common: dict[str, Any]) -> AsyncIterator[AsyncTrendyolClient]:
    async with AsyncTrendyolClient(SELLER, TY_KEY, TY_SECRET, base_url=sandbox.inprocess_url("trendyol"),
                                   transport=sandbox.async_transport(), **common) as client:
        yield client


@pytest.fixture
def hb(sandbox: Sandbox, common: dict[str, Any]) -> Iterator[HepsiburadaClient]:
    with HepsiburadaClient(MERCHANT, HB_KEY, integrator_name=HB_AGENT, base_url=sandbox.inprocess_url("hepsiburada"),
                           transport=sandbox.transport(), **common) as client:
        yield client


@pytest.fixture
async def ahb(sandbox: Sandbox, common: dict[str, Any]) -> AsyncIterator[AsyncHepsiburadaClient]:
    async with AsyncHepsiburadaClient(MERCHANT, HB_KEY, integrator_name=HB_AGENT,
                                      base_url=sandbox.inprocess_url("hepsiburada"),
                                      transport=sandbox.async_transport(), **common) as client:
        yield client
