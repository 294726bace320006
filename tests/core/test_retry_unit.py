from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidRequest, ProviderUnavailable, RateLimited
from invekto_integrations.core.retry import RetryPolicy, parse_retry_after

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("5", 5.0), (" 0 ", 0.0), ("1.5", 1.5), ("Wed, 25 Nov 2026 12:00:30 GMT", 30.0),
     ("Wed, 25 Nov 2026 11:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_backoff_grows_with_jitter_and_cap() -> None:
    policy = RetryPolicy(rng=random.Random(1))
    waits = [policy.backoff(n) for n in range(1, 8)]
    for n, w in enumerate(waits, start=1):
        ceiling = min(8.0, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= w <= ceiling


def test_gives_up_on_retry_after_beyond_cap() -> None:
    clock = FrozenClock()
    policy = RetryPolicy(clock=clock, max_retry_after_seconds=60)
    calls = 0

    def throttled() -> None:
        nonlocal calls
        calls += 1
        raise RateLimited("slow down", provider="p", status=429, retry_after=3600)

    with pytest.raises(RateLimited):
        policy.call(throttled, safe=True)
    assert calls == 1 and clock.slept == []


def test_unsafe_call_retried_only_when_unsent() -> None:
    clock = FrozenClock()
    policy = RetryPolicy(clock=clock)
    attempts = {"sent": 0, "unsent": 0}

    def sent_failure() -> None:
        attempts["sent"] += 1
        raise ProviderUnavailable("reset", provider="p")

    def unsent_failure() -> None:
        attempts["unsent"] += 1
        err = ProviderUnavailable("refused", provider="p")
        err.unsent = True
        raise err

    with pytest.raises(ProviderUnavailable):
        policy.call(sent_failure, safe=False)
    with pytest.raises(ProviderUnavailable):
        policy.call(unsent_failure, safe=False)
    assert attempts == {"sent": 1, "unsent": 4}


def test_client_errors_are_not_retried() -> None:
    policy = RetryPolicy(clock=FrozenClock())
    calls = 0

    def bad() -> None:
        nonlocal calls
        calls += 1
        raise InvalidRequest("nope", provider="p", status=400)

    with pytest.raises(InvalidRequest):
        policy.call(bad, safe=True)
    assert calls == 1


def test_total_budget_gives_up_before_a_wait_that_would_exceed_it() -> None:
    clock = FrozenClock()
    policy = RetryPolicy(max_attempts=10, max_total_seconds=5, clock=clock, rng=random.Random(1))
    calls = 0

    def throttled() -> None:
        nonlocal calls
        calls += 1
        raise RateLimited("slow down", provider="p", status=429, retry_after=100)

    with pytest.raises(RateLimited):
        policy.call(throttled, safe=True)
    assert calls == 1 and clock.slept == []  # no 100 s sleep past a 5 s budget


def test_total_budget_counts_time_on_the_injected_clock() -> None:
    clock = FrozenClock()
    policy = RetryPolicy(max_attempts=10, max_total_seconds=10, clock=clock, rng=random.Random(1))
    calls = 0

    def busy() -> None:
        nonlocal calls
        calls += 1
        raise RateLimited("slow down", provider="p", status=429, retry_after=3)

    with pytest.raises(RateLimited):
        policy.call(busy, safe=True)
    assert clock.slept == [3, 3, 3] and calls == 4  # a fourth wait would end at 12 s > 10 s


async def test_async_budget_behaves_the_same() -> None:
    clock = FrozenClock()
    policy = RetryPolicy(max_attempts=10, max_total_seconds=10, clock=clock, rng=random.Random(1))
    calls = 0

    async def busy() -> None:
        nonlocal calls
        calls += 1
        raise RateLimited("slow down", provider="p", status=429, retry_after=3)

    with pytest.raises(RateLimited):
        await policy.acall(busy, safe=True)
    assert clock.slept == [3, 3, 3] and calls == 4
