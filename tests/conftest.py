from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from invekto_integrations.core.clock import FrozenClock, SystemClock
from invekto_integrations.core.retry import RetryPolicy


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


pytest_plugins = ["pytester"]  # tests of the conformance kit run sabotaged contracts in an inner pytest
