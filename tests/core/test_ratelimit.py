from __future__ import annotations

import asyncio
import threading
import time

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry, TokenBucket


def observed_rate(stamps: list[float]) -> float:
    """Least-squares slope of request index over time: robust to a few late thread wake-ups."""
    stamps = sorted(stamps)
    n = len(stamps)
    mean_t = sum(stamps) / n
    mean_i = (n - 1) / 2
    cov = sum((t - mean_t) * (i - mean_i) for i, t in enumerate(stamps))
    var = sum((t - mean_t) ** 2 for t in stamps)
    return cov / var


def test_bucket_math_on_a_frozen_clock() -> None:
    clock = FrozenClock()
    bucket = TokenBucket(RateLimit(10, 1.0, burst=2), clock)
    waits = [bucket.acquire() for _ in range(12)]
    assert waits[:2] == [0.0, 0.0]
    assert all(abs(w - 0.1) < 1e-9 for w in waits[2:])  # steady state: one token every 100 ms
    assert abs(sum(clock.slept) - 1.0) < 1e-9


def test_holds_configured_rate_within_5_percent_real_time() -> None:
    """A few seconds of real requests from 4 threads: observed rate within 5 % of the limit."""
    rate = 50.0
    bucket = TokenBucket(RateLimit(rate, 1.0, burst=1))
    stamps: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 2.5

    def worker() -> None:
        while time.monotonic() < deadline:
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    observed = observed_rate(stamps)
    assert abs(observed - rate) / rate < 0.05, observed


async def test_async_acquire_holds_the_rate() -> None:
    rate = 40.0
    bucket = TokenBucket(RateLimit(rate, 1.0, burst=1))
    stamps: list[float] = []

    async def worker() -> None:
        for _ in range(20):
            await bucket.aacquire()
            stamps.append(time.monotonic())

    await asyncio.gather(*(worker() for _ in range(4)))
    observed = observed_rate(stamps)
    assert abs(observed - rate) / rate < 0.05, observed


def test_registry_shares_a_bucket_per_provider_account() -> None:
    reg = RateLimiterRegistry(FrozenClock())
    limit = RateLimit.per_minute(1000)
    a = reg.bucket("trendyol", "seller-1", limit)
    assert reg.bucket("trendyol", "seller-1", limit) is a
    assert reg.bucket("trendyol", "seller-2", limit) is not a
    assert reg.bucket("hepsiburada", "seller-1", limit) is not a


def test_default_registry_waits_on_an_injected_fake_clock() -> None:
    # issue 13: a client given a fake clock but no registry slept on real time
    from invekto_integrations.core.http import ProviderConfig

    clock = FrozenClock()
    config = ProviderConfig(provider="p", base_url="http://p.test", rate_limit=RateLimit(1, 1.0), clock=clock)
    bucket = config.bucket()
    assert bucket is not None
    started = time.monotonic()
    waits = [bucket.acquire() for _ in range(4)]
    assert time.monotonic() - started < 0.5  # the 3 s of waiting happened on the fake clock
    assert waits == [0.0, 1.0, 1.0, 1.0] and abs(sum(clock.slept) - 3.0) < 1e-9
    again = ProviderConfig(provider="p", base_url="http://p.test", rate_limit=RateLimit(1, 1.0), clock=clock)
    assert again.bucket() is bucket  # clients on one clock still share the account's bucket
