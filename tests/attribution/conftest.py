from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.meta import MetaClient
from invekto_integrations.storage.memory import MemoryStore
from invekto_integrations.storage.sqlite import SQLiteStore
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.meta import MetaFake

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Istanbul


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def open_store(kind: str, request: pytest.FixtureRequest) -> Any:
    if kind == "postgres":  # a fresh schema of the session's throwaway cluster
        from invekto_integrations.storage.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_url"))
    return MemoryStore() if kind == "memory" else SQLiteStore()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    s = open_store(request.param, request)
    yield s
    s.close()


@pytest.fixture
def meta_fake(clock: FrozenClock) -> MetaFake:
    return MetaFake(clock=clock)


@pytest.fixture
def meta_sandbox(meta_fake: MetaFake, clock: FrozenClock) -> Sandbox:
    return Sandbox([meta_fake], clock=clock)


def meta_client(sandbox: Sandbox, clock: FrozenClock, token: str = "meta-token-a", attempts: int = 3) -> MetaClient:
    return MetaClient(SecretStr(token), base_url=sandbox.inprocess_url("meta"), transport=sandbox.transport(),
                      clock=clock, retry=RetryPolicy(max_attempts=attempts, max_total_seconds=600, clock=clock),
                      limiter_registry=RateLimiterRegistry(clock))


@pytest.fixture
def meta(meta_sandbox: Sandbox, clock: FrozenClock) -> Iterator[MetaClient]:
    client = meta_client(meta_sandbox, clock)
    yield client
    client.close()
