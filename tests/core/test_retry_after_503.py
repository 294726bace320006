"""A 503 that says how long it will be unavailable (RFC 9110 Retry-After) is waited out, like a 429."""

from __future__ import annotations

import httpx
import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import ProviderUnavailable
from invekto_integrations.core.http import Call, ProviderConfig, SyncRunner
from invekto_integrations.core.retry import RetryPolicy


def _runner(answers: list[httpx.Response], clock: FrozenClock) -> tuple[SyncRunner, list[int]]:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(len(seen))
        return answers[min(len(seen) - 1, len(answers) - 1)]

    config = ProviderConfig(provider="p", base_url="http://p.invalid", clock=clock,
                            retry=RetryPolicy(clock=clock, max_retry_after_seconds=60))
    return SyncRunner(config, transport=httpx.MockTransport(handler)), seen


CALL = Call("read", "GET", "/x", lambda r: r.json())


def test_503_retry_after_is_honoured() -> None:
    clock = FrozenClock()
    runner, seen = _runner([httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})],
                           clock)
    assert runner.run(CALL) == {"ok": 1}
    assert len(seen) == 2 and clock.slept == [7.0]


def test_503_without_hint_backs_off_and_carries_none() -> None:
    clock = FrozenClock()
    runner, seen = _runner([httpx.Response(503)], clock)
    with pytest.raises(ProviderUnavailable) as info:
        runner.run(CALL)
    assert info.value.retry_after is None and len(seen) == 4
    assert all(0 < s <= 8 for s in clock.slept)


def test_503_hint_beyond_the_cap_gives_up_at_once() -> None:
    clock = FrozenClock()
    runner, seen = _runner([httpx.Response(503, headers={"Retry-After": "3600"})], clock)
    with pytest.raises(ProviderUnavailable) as info:
        runner.run(CALL)
    assert info.value.retry_after == 3600.0 and len(seen) == 1 and clock.slept == []
