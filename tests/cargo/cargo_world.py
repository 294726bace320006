"""Fixtures for the cargo tests: a frozen clock, both carrier fakes in one in-process sandbox,
and clients wired to them (retries on, sleeping skipped through the frozen clock)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.aras import ArasClient, AsyncArasClient
from invekto_integrations.providers.yurtici import AsyncYurticiClient, YurticiClient
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

# 2026-01-05 09:00 UTC = 12:00 in Istanbul (UTC+3 all year).
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

ARAS_LIFECYCLE = [
    (timedelta(hours=1), "1"),
    (timedelta(hours=6), "2"),
    (timedelta(hours=14), "3"),
    (timedelta(hours=21), "4"),
    (timedelta(hours=25), "6"),
]
YURTICI_LIFECYCLE = [
    (timedelta(hours=1), "ISR"),
    (timedelta(hours=6), "IND"),
    (timedelta(hours=21), "IND", {"cargoEventId": "YK", "cargoReasonId": "GOK"}),
    (timedelta(hours=25), "DLV"),
]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def retry(clock: FrozenClock) -> RetryPolicy:
    return RetryPolicy(max_attempts=3, clock=clock, rng=random.Random(1))


@pytest.fixture
def aras_fake(clock: FrozenClock) -> ArasFake:
    return ArasFake(clock=clock)


@pytest.fixture
def yurtici_fake(clock: FrozenClock) -> YurticiFake:
    return YurticiFake(clock=clock)


@pytest.fixture
def sandbox(aras_fake: ArasFake, yurtici_fake: YurticiFake, clock: FrozenClock) -> Sandbox:
    return Sandbox([aras_fake, yurtici_fake], clock=clock)


@pytest.fixture
def aras(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> Iterator[ArasClient]:
    with ArasClient("fake_user", "fake_pass", "1000000000001", base_url=sandbox.inprocess_url("aras"),
                    transport=sandbox.transport(), clock=clock, retry=retry) as client:
        yield client


@pytest.fixture
async def aaras(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> AsyncIterator[AsyncArasClient]:
    async with AsyncArasClient("fake_user", "fake_pass", "1000000000001", base_url=sandbox.inprocess_url("aras"),
                               transport=sandbox.async_transport(), clock=clock, retry=retry) as client:
        yield client


@pytest.fixture
def yurtici(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> Iterator[YurticiClient]:
    with YurticiClient("YKTEST", "YK", base_url=sandbox.inprocess_url("yurtici"), transport=sandbox.transport(),
                       clock=clock, retry=retry) as client:
        yield client


@pytest.fixture
async def ayurtici(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> AsyncIterator[AsyncYurticiClient]:
    async with AsyncYurticiClient("YKTEST", "YK", base_url=sandbox.inprocess_url("yurtici"),
                                  transport=sandbox.async_transport(), clock=clock, retry=retry) as client:
        yield client
