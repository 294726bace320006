"""The sandbox around the fakes: per-account state, inspection, control API, CLI, pytest plugin."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.testing.sandbox import FakeProvider, Sandbox, redact_headers
from invekto_integrations.testing.sandbox.example import EchoShopFake


def get(sb: Sandbox, path: str, token: str = "token-a", **kw: object) -> httpx.Response:
    with httpx.Client(transport=sb.transport(), base_url=sb.inprocess_url("echoshop")) as client:
        return client.get(path, headers={"Authorization": f"Bearer {token}"}, **kw)  # type: ignore[arg-type]


def test_two_accounts_see_their_own_data_and_wrong_tokens_get_the_real_401() -> None:
    sb = Sandbox([EchoShopFake(orders=3)])
    a = get(sb, "/orders").json()["content"]
    b = get(sb, "/orders", token="token-b").json()["content"]
    assert [r["id"] for r in a] == ["acct-a-0000", "acct-a-0001", "acct-a-0002"]
    assert [r["id"] for r in b] == ["acct-b-0000", "acct-b-0001", "acct-b-0002"]
    refused = get(sb, "/orders", token="stolen")
    assert refused.status_code == 401 and refused.json() == {"code": "unauthorized", "message": "invalid token"}
    assert [r.account for r in sb.fake("echoshop").requests] == ["acct-a", "acct-b", None]


def test_per_account_state_is_forgotten_on_reset() -> None:
    sb = Sandbox([EchoShopFake(orders=1)])
    with httpx.Client(transport=sb.transport(), base_url=sb.inprocess_url("echoshop")) as client:
        client.post("/orders", json={"status": "created"}, headers={"Authorization": "Bearer token-a"})
    fake = sb.fake("echoshop")
    assert len(get(sb, "/orders").json()["content"]) == 2
    assert len(get(sb, "/orders", token="token-b").json()["content"]) == 1
    sb.reset()
    assert fake.requests == [] and len(get(sb, "/orders").json()["content"]) == 1


def test_redaction_keeps_the_scheme_only() -> None:
    assert redact_headers({"Authorization": "Bearer abc.def", "X-Api-Key": "k", "Accept": "json",
                           "authorization": "opaque"}) == {
        "Authorization": "Bearer ***", "X-Api-Key": "***", "Accept": "json", "authorization": "***"}


@pytest.mark.loopback
def test_control_api_over_loopback() -> None:
    clock = FrozenClock(datetime(2026, 2, 1, 8, 0, tzinfo=UTC))
    with Sandbox([EchoShopFake(orders=2)], clock=clock) as sb, httpx.Client(base_url=sb.base_url) as http:
        assert http.get("/_sandbox/health").json() == {"fakes": ["echoshop"], "now": "2026-02-01T08:00:00+00:00"}
        # faults switched from another process, then observed by a client
        r = http.post("/_sandbox/echoshop/faults", json={"script": ["error"], "error_status": 502})
        assert r.status_code == 200 and r.json()["settings"]["script"] == ["error"]
        auth = {"Authorization": "Bearer token-a", "X-Trace": "t-1"}
        assert http.get("/echoshop/orders", headers=auth).status_code == 502
        assert http.post("/echoshop/orders", json={"note": "kapıda ödeme"}, headers=auth).status_code == 201
        assert http.get("/_sandbox/echoshop/faults").json()["counts"] == {"error": 1}
        # inspection: paths, auth (redacted), headers, bodies, outcomes
        seen = http.get("/_sandbox/echoshop/requests").json()
        assert [(s["method"], s["path"], s["outcome"], s["account"]) for s in seen] == [
            ("GET", "/orders", "error", "acct-a"), ("POST", "/orders", "ok", "acct-a")]
        assert seen[0]["headers"]["authorization"] == "Bearer ***" and seen[0]["headers"]["x-trace"] == "t-1"
        assert "token-a" not in r.text + str(seen)
        assert '"note": "kapıda ödeme"' in seen[1]["body"] or '"note":"kapıda ödeme"' in seen[1]["body"]
        assert seen[1]["at"] == "2026-02-01T08:00:00+00:00"
        # rate limit by the provider's published numbers, then clear
        r = http.post("/_sandbox/echoshop/faults", json={"published_rate_limit": True})
        assert r.json()["settings"]["rate_limit"] == {"requests": 20.0, "per_seconds": 1.0, "burst": None}
        r = http.post("/_sandbox/echoshop/faults",
                      json={"clear": True, "rate_limit": {"requests": 5, "per_seconds": 2}})
        assert r.json()["settings"]["rate_limit"]["requests"] == 5.0
        # the clock moves only when told to
        assert http.post("/_sandbox/clock/advance", json={"seconds": 90}).json()["now"] == "2026-02-01T08:01:30+00:00"
        assert http.post("/_sandbox/clock", json={"to": "2026-02-03T00:00:00+00:00"}).json()["now"].startswith(
            "2026-02-03")
        assert clock.now() == datetime(2026, 2, 3, tzinfo=UTC)
        # bad input is a 4xx, not a crash
        assert http.post("/_sandbox/echoshop/faults", json={"nonsense": 1}).status_code == 400
        assert http.post("/_sandbox/echoshop/faults", json=[1]).status_code == 400
        assert http.get("/_sandbox/nope/requests").status_code == 404
        # reset: one fake or all
        assert http.post("/_sandbox/echoshop/reset").json() == {"reset": ["echoshop"]}
        assert http.get("/_sandbox/echoshop/requests").json() == []
        assert http.get("/_sandbox/echoshop/faults").json()["counts"] == {}


def test_urls_need_a_started_sandbox() -> None:
    sb = Sandbox([EchoShopFake()])
    assert sb.inprocess_url("echoshop") == "http://sandbox.invalid/echoshop"
    with pytest.raises(ConfigurationError, match="not serving"):
        sb.url("echoshop")
    with pytest.raises(ConfigurationError, match="no fake named"):
        sb.fake("trendyol")


@pytest.mark.loopback
def test_command_line_serves_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "invekto_integrations.testing.sandbox", "--port", "0", "--seed", "3",
         "--providers", "echoshop"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        name, url = lines[0].split()
        assert name == "echoshop" and url.startswith("http://127.0.0.1:")
        assert lines[1].startswith("control http://127.0.0.1:") and lines[1].endswith("/_sandbox")
        r = httpx.get(f"{url}/orders", headers={"Authorization": "Bearer token-b"}, timeout=5)
        assert r.json()["content"][0]["id"] == "acct-b-0000"
        assert httpx.get(lines[1].split()[1] + "/health", timeout=5).json()["fakes"] == ["echoshop"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0  # generous: CI machines can be loaded


def test_command_line_rejects_unknown_fakes() -> None:
    from invekto_integrations.testing.sandbox.__main__ import main

    assert main(["--port", "0", "--providers", "no-such-provider"]) == 2


# -- the pytest plugin (entry point pytest11), used as a third party would -----------------------


@pytest.fixture
def sandbox_fakes(sandbox_clock: FrozenClock, sandbox_seed: int) -> Sequence[FakeProvider]:
    return [EchoShopFake(clock=sandbox_clock, seed=sandbox_seed, orders=2)]


@pytest.fixture(scope="module")
def live_sandbox_fakes() -> Sequence[FakeProvider]:
    return [EchoShopFake(orders=4)]


def test_plugin_sandbox_fixture_is_fresh_per_test(sandbox: Sandbox, sandbox_clock: FrozenClock) -> None:
    assert sandbox.names == ["echoshop"] and sandbox.clock is sandbox_clock and sandbox.port is None
    fake = sandbox.fake("echoshop")
    assert fake.requests == []
    fake.faults.configure(error_rate=1.0)  # must not leak into the next test
    assert get(sandbox, "/orders").status_code == 503


def test_plugin_sandbox_fixture_after_faults(sandbox: Sandbox) -> None:
    assert len(get(sandbox, "/orders").json()["content"]) == 2


@pytest.mark.loopback
def test_plugin_live_sandbox_fixture(live_sandbox: Sandbox) -> None:
    r = httpx.get(live_sandbox.url("echoshop") + "/orders", headers={"Authorization": "Bearer token-a"})
    assert r.json()["totalElements"] == 4


def test_plugin_is_registered_as_an_entry_point() -> None:
    from importlib.metadata import entry_points

    assert "invekto_integrations.testing.pytest_plugin" in {ep.value for ep in entry_points(group="pytest11")}
