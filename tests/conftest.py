from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from invekto_integrations.core.clock import FrozenClock, SystemClock
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.testing.postgres_cluster import PostgresCluster, postgres_cluster_or_skip


class RecordingSleepClock(SystemClock):
    """Real time for everything but sleeping: sleeps are recorded and skipped (no slow tests)."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def sleepless() -> RecordingSleepClock:
    return RecordingSleepClock()


@pytest.fixture
def fast_retry(sleepless: RecordingSleepClock) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, clock=sleepless, rng=random.Random(7))


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    yield FrozenClock()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the whole run (skips without the server binaries,
    fails under CI=true); each test takes a private schema of it (`postgres_url`)."""
    cluster = postgres_cluster_or_skip()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema (dropped after the test)."""
    schema = postgres_cluster.create_schema()
    yield postgres_cluster.schema_url(schema)
    postgres_cluster.drop_schema(schema)


pytest_plugins = ["pytester"]  # tests of the conformance kit run sabotaged contracts in an inner pytest
