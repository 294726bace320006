from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHROMIUM_HOW_TO = ("headless Chromium is needed for the browser tests: `apt-get install -y chromium` (Debian; "
                   ".ci/run does it) or set INVEKTO_CHROMIUM to a Chromium binary; and `pip install playwright` "
                   "(the dev extra)")


def _chromium() -> str:
    """Debian's chromium (or INVEKTO_CHROMIUM); skipped without one, a failure under CI=true (.ci/run
    installs it, so a missing browser there is a broken set-up, not a reason to skip)."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is missing"
    candidates = [os.environ.get("INVEKTO_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")]
    path = next((c for c in candidates if c and Path(c).exists()), None)
    if path is None:
        reason = reason or "no chromium binary found"
    if reason is not None:
        message = f"{reason}: {CHROMIUM_HOW_TO}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test; {message}")
        pytest.skip(message)
    assert path is not None
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright through ``executable_path`` (nothing is downloaded)."""
    path = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()
