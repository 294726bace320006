"""Every fault kind, as a client under test sees it: in-process and over a real socket, sync and async."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from invekto_integrations.core.errors import PayloadError, ProviderError, ProviderUnavailable, RateLimited
from invekto_integrations.core.http import AsyncRunner, Call, ProviderConfig, SyncRunner
from invekto_integrations.core.paging import Page
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.testing.sandbox import FAULT_KINDS, Sandbox
from invekto_integrations.testing.sandbox.example import EchoShopFake


class Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def parse(response: httpx.Response) -> Page[dict[str, Any]]:
    body = response.json()
    return Page(items=[{"id": row["id"], "total": row["total"]} for row in body["content"]])


LIST = Call("list_orders", "GET", "/orders", parse, params={"page": 0, "size": 10})


@pytest.fixture(scope="module")
def served() -> Iterator[Sandbox]:
    with Sandbox([EchoShopFake()]) as sb:
        yield sb


@pytest.fixture
def sb(served: Sandbox) -> Sandbox:
    served.reset()
    return served


# The read timeout: short where the timeout fault must trip it (the fake stalls 5 s), generous
# elsewhere so a loaded machine's slow answer is never mistaken for the fault under test.
TIMEOUT_FAULT_READ = 0.3
READ = 10.0


def config(sb: Sandbox, loopback: bool, kind: str = "") -> ProviderConfig:
    url = sb.url("echoshop") if loopback else sb.inprocess_url("echoshop")
    read = TIMEOUT_FAULT_READ if kind == "timeout" else READ
    return ProviderConfig(provider="echoshop", base_url=url, auth=Bearer("token-a"), retry=RetryPolicy.disabled(),
                          timeout=httpx.Timeout(read), limiter_registry=RateLimiterRegistry())


# How each kind is switched on by rate (the script way is the kind's name itself).
RATES: dict[str, dict[str, Any]] = {
    "rate_limit": {"rate_limit": RateLimit(1, 60.0)},
    "error": {"error_rate": 1.0},
    "timeout": {"timeout_rate": 1.0, "timeout_seconds": 5.0},
    "drop": {"drop_rate": 1.0},
    "truncate": {"truncate_rate": 1.0},
    "malformed": {"malformed_rate": 1.0},
    "latency": {"latency_seconds": 0.05},
}


LATENCY = 0.05  # seconds: the rate setting above, and what a scripted "latency" adds


def check(kind: str, outcome: Page[dict[str, Any]] | ProviderError, sb: Sandbox, elapsed: float) -> None:
    fake = sb.fake("echoshop")
    assert fake.faults.counts[kind] >= 1, f"{kind} was not counted"
    if kind == "latency":
        assert isinstance(outcome, Page) and len(outcome.items) == 10
        # timed, not only counted: the answer really came late (a lower bound, never a speed target)
        assert elapsed >= LATENCY * 0.9, f"latency fault answered after {elapsed:.3f} s"
        return
    assert isinstance(outcome, ProviderError), f"{kind}: the client saw no error"
    assert outcome.provider == "echoshop"
    if kind == "rate_limit":
        assert isinstance(outcome, RateLimited) and outcome.retry_after == 4.0
    elif kind == "error":
        assert isinstance(outcome, ProviderUnavailable) and outcome.status == 503
    elif kind == "timeout":
        assert isinstance(outcome, ProviderUnavailable) and isinstance(outcome.__cause__, httpx.ReadTimeout)
    elif kind == "drop":
        assert isinstance(outcome, ProviderUnavailable)
        assert isinstance(outcome.__cause__, httpx.RemoteProtocolError), repr(outcome.__cause__)
    else:  # truncate, malformed
        assert isinstance(outcome, PayloadError)
    assert fake.requests[-1].outcome == kind


def arm(sb: Sandbox, kind: str, how: str) -> None:
    faults = sb.fake("echoshop").faults
    faults.configure(retry_after_seconds=4)
    if how == "script":
        faults.configure(script=[kind], timeout_seconds=5.0)
    else:
        faults.configure(**RATES[kind])


MODES = [pytest.param(False, id="inprocess"), pytest.param(True, id="loopback", marks=pytest.mark.loopback)]


def test_every_kind_is_covered() -> None:
    assert set(RATES) == set(FAULT_KINDS)


@pytest.mark.parametrize("loopback", MODES)
@pytest.mark.parametrize("how", ["script", "rate"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_sync_client_observes_fault(sb: Sandbox, kind: str, how: str, loopback: bool) -> None:
    transport = None if loopback else sb.transport()
    with SyncRunner(config(sb, loopback, kind), transport=transport) as runner:
        arm(sb, kind, how)
        if how == "rate" and kind == "rate_limit":
            runner.run(LIST)  # the one request the minute allows
        started = time.monotonic()
        try:
            outcome: Any = runner.run(LIST)
        except ProviderError as exc:
            outcome = exc
        elapsed = time.monotonic() - started
    check(kind, outcome, sb, elapsed)


@pytest.mark.parametrize("loopback", MODES)
@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_async_client_observes_fault(sb: Sandbox, kind: str, loopback: bool) -> None:
    transport = None if loopback else sb.async_transport()
    arm(sb, kind, "script")
    async with AsyncRunner(config(sb, loopback, kind), transport=transport) as runner:
        started = time.monotonic()
        try:
            outcome: Any = await runner.run(LIST)
        except ProviderError as exc:
            outcome = exc
        elapsed = time.monotonic() - started
    check(kind, outcome, sb, elapsed)


def test_scripted_ok_passes_and_order_is_kept(sb: Sandbox) -> None:
    sb.fake("echoshop").faults.configure(script=["ok", "error", "ok"])
    outcomes = []
    with SyncRunner(config(sb, False), transport=sb.transport()) as runner:
        for _ in range(3):
            try:
                runner.run(LIST)
                outcomes.append("ok")
            except ProviderUnavailable:
                outcomes.append("error")
    assert outcomes == ["ok", "error", "ok"]
    assert sb.fake("echoshop").faults.counts == {"error": 1}


def test_unknown_fault_settings_are_refused(sb: Sandbox) -> None:
    faults = sb.fake("echoshop").faults
    with pytest.raises(ValueError, match="unknown fault setting"):
        faults.configure(error_ratio=1.0)
    with pytest.raises(ValueError, match="unknown scripted fault"):
        faults.configure(script=["explode"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        faults.configure(error_rate=2)


def test_clear_restores_defaults(sb: Sandbox) -> None:
    faults = sb.fake("echoshop").faults
    faults.configure(error_status=500, error_rate=0.5, timeout_seconds=1.0, script=["drop"])
    faults.clear()
    assert (faults.error_status, faults.error_rate, faults.timeout_seconds, list(faults.script)) == (503, 0.0, 30.0, [])


def test_error_rate_is_seeded_and_counted() -> None:
    def run(seed: int) -> list[str]:
        sb = Sandbox([EchoShopFake(seed=seed)])
        sb.fake("echoshop").faults.configure(error_rate=0.3)
        with SyncRunner(config(sb, False), transport=sb.transport()) as runner:
            for _ in range(30):
                with contextlib.suppress(ProviderUnavailable):
                    runner.run(LIST)
        fake = sb.fake("echoshop")
        assert fake.faults.counts["error"] == sum(r.outcome == "error" for r in fake.requests)
        return [r.outcome for r in fake.requests]

    first = run(5)
    assert first == run(5)
    assert 0 < first.count("error") < 30
