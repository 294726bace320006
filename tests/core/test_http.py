"""The base client against a real loopback server (the example fake), sync and async."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from invekto_integrations.core.errors import (
    AuthenticationError,
    InvalidRequest,
    NotFound,
    PayloadError,
    ProviderUnavailable,
    RateLimited,
)
from invekto_integrations.core.http import AsyncRunner, Call, ProviderConfig, SyncRunner
from invekto_integrations.core.paging import Page, aiter_items, iter_items
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.example import EchoShopFake


class Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def parse_page(size: int):  # type: ignore[no-untyped-def]
    def parse(response: httpx.Response) -> Page[dict[str, Any]]:
        body = response.json()
        items = [{"id": row["id"], "total": row["total"]} for row in body["content"]]
        page = body["page"]
        nxt = list_call(page + 1, size) if (page + 1) * size < body["totalElements"] else None
        return Page(items=items, next_call=nxt, total=body["totalElements"])

    return parse


def list_call(page: int = 0, size: int = 10) -> Call[Page[dict[str, Any]]]:
    return Call("list_orders", "GET", "/orders", parse_page(size), params={"page": page, "size": size})


@pytest.fixture(scope="module")
def sandbox():  # type: ignore[no-untyped-def]
    fake = EchoShopFake()
    with Sandbox([fake]) as sb:
        yield sb


@pytest.fixture
def fake(sandbox: Sandbox) -> EchoShopFake:
    f = sandbox.fake("echoshop")
    f.reset()
    assert isinstance(f, EchoShopFake)
    return f


def config(sandbox: Sandbox, retry: RetryPolicy, token: str = "token-a") -> ProviderConfig:
    return ProviderConfig(provider="echoshop", base_url=sandbox.url("echoshop"), auth=Bearer(token), retry=retry,
                          timeout=httpx.Timeout(2.0))


pytestmark = pytest.mark.loopback


def test_pages_to_the_end(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy) -> None:
    with SyncRunner(config(sandbox, fast_retry)) as runner:
        ids = [row["id"] for row in iter_items(runner.run, list_call())]
    assert ids == [f"acct-a-{i:04d}" for i in range(25)]
    assert [r.query["page"] for r in fake.requests] == ["0", "1", "2"]


async def test_async_runner_pages_the_same(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy) -> None:
    async with AsyncRunner(config(sandbox, fast_retry, "token-b")) as runner:
        ids = [row["id"] async for row in aiter_items(runner.run, list_call())]
    assert ids == [f"acct-b-{i:04d}" for i in range(25)]


def test_retries_429_honouring_retry_after(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy,
                                           sleepless: Any) -> None:
    fake.faults.configure(script=["rate_limit", "rate_limit"], retry_after_seconds=7)
    with SyncRunner(config(sandbox, fast_retry)) as runner:
        page = runner.run(list_call())
    assert len(page.items) == 10
    assert sleepless.slept == [7.0, 7.0]
    assert fake.faults.counts["rate_limit"] == 2
    assert [r.outcome for r in fake.requests] == ["rate_limit", "rate_limit", "ok"]


def test_retries_503_with_backoff(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy,
                                  sleepless: Any) -> None:
    fake.faults.configure(script=["error", "error"])
    with SyncRunner(config(sandbox, fast_retry)) as runner:
        runner.run(list_call())
    assert fake.faults.counts["error"] == 2
    assert len(sleepless.slept) == 2
    assert 0.25 <= sleepless.slept[0] <= 0.5 and 0.5 <= sleepless.slept[1] <= 1.0


def test_retries_a_dropped_connection(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy) -> None:
    fake.faults.configure(script=["drop"])
    with SyncRunner(config(sandbox, fast_retry)) as runner:
        page = runner.run(list_call())
    assert len(page.items) == 10
    assert [r.outcome for r in fake.requests] == ["drop", "ok"]


async def test_async_retries_a_dropped_connection(sandbox: Sandbox, fake: EchoShopFake,
                                                  fast_retry: RetryPolicy) -> None:
    fake.faults.configure(script=["drop", "error"])
    async with AsyncRunner(config(sandbox, fast_retry)) as runner:
        page = await runner.run(list_call())
    assert len(page.items) == 10
    assert [r.outcome for r in fake.requests] == ["drop", "error", "ok"]


def test_timeout_is_retried_then_reported(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy) -> None:
    fake.faults.configure(script=["timeout", "timeout", "timeout", "timeout"], timeout_seconds=3.0)
    cfg = config(sandbox, fast_retry).with_options(timeout=httpx.Timeout(0.2))
    with SyncRunner(cfg) as runner, pytest.raises(ProviderUnavailable) as info:
        runner.run(list_call())
    assert info.value.operation == "list_orders"
    assert "ReadTimeout" in str(info.value)
    assert fake.faults.counts["timeout"] == 4


def test_gives_up_after_max_attempts(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy) -> None:
    fake.faults.configure(error_rate=1.0)
    with SyncRunner(config(sandbox, fast_retry)) as runner, pytest.raises(ProviderUnavailable) as info:
        runner.run(list_call())
    assert info.value.status == 503
    assert len(fake.requests) == 4


def test_no_retry_on_400(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy, sleepless: Any) -> None:
    call = Call("fail", "GET", "/fail/400", lambda r: r.json())
    with SyncRunner(config(sandbox, fast_retry)) as runner, pytest.raises(InvalidRequest) as info:
        runner.run(call)
    err = info.value
    assert (err.provider, err.operation, err.status, err.code, err.request_id) == (
        "echoshop", "fail", 400, "E400", "req-123")
    assert str(err).startswith("Request req-123: [echoshop fail HTTP 400 code=E400]")
    assert len(fake.requests) == 1 and sleepless.slept == []


@pytest.mark.parametrize(("status", "error"), [(401, AuthenticationError), (403, AuthenticationError),
                                               (404, NotFound), (422, InvalidRequest)])
def test_status_mapping(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy, status: int,
                        error: type[Exception]) -> None:
    with SyncRunner(config(sandbox, fast_retry)) as runner, pytest.raises(error):
        runner.run(Call("fail", "GET", f"/fail/{status}", lambda r: r.json()))


def test_wrong_credentials(sandbox: Sandbox, fake: EchoShopFake, fast_retry: RetryPolicy) -> None:
    with SyncRunner(config(sandbox, fast_retry, "nope")) as runner, pytest.raises(AuthenticationError) as info:
        runner.run(list_call())
    assert info.value.code == "unauthorized"


def test_post_is_not_retried_without_idempotency(sandbox: Sandbox, fake: EchoShopFake,
                                                 fast_retry: RetryPolicy) -> None:
    fake.faults.configure(script=["error"])
    call = Call("create", "POST", "/orders", lambda r: r.json(), json={"status": "created"})
    with SyncRunner(config(sandbox, fast_retry)) as runner, pytest.raises(ProviderUnavailable):
        runner.run(call)
    assert len(fake.requests_to("/orders", "POST")) == 1


def test_post_with_idempotency_key_is_retried_once_created(sandbox: Sandbox, fake: EchoShopFake,
                                                           fast_retry: RetryPolicy) -> None:
    fake.faults.configure(script=["drop"])
    call = Call("create", "POST", "/orders", lambda r: r.json(), json={"status": "created"},
                headers={"Idempotency-Key": "k-1"}, idempotent=True)
    with SyncRunner(config(sandbox, fast_retry)) as runner:
        first = runner.run(call)
        again = runner.run(call)
    assert first["id"] == again["id"] == "new-1"
    assert len(fake.created) == 1


def test_malformed_payload_becomes_payload_error(sandbox: Sandbox, fake: EchoShopFake,
                                                 fast_retry: RetryPolicy) -> None:
    fake.faults.configure(malformed_rate=1.0)
    with SyncRunner(config(sandbox, fast_retry)) as runner, pytest.raises(PayloadError) as info:
        runner.run(list_call())
    assert info.value.provider == "echoshop"


def test_truncated_body_becomes_payload_error(sandbox: Sandbox, fake: EchoShopFake,
                                              fast_retry: RetryPolicy) -> None:
    fake.faults.configure(truncate_rate=1.0)
    with SyncRunner(config(sandbox, fast_retry)) as runner, pytest.raises(PayloadError) as info:
        runner.run(list_call())
    # a cut body is transient: the GET was repeated up to the policy's attempts, then reported
    assert fake.faults.counts["truncate"] == fast_retry.max_attempts and info.value.truncated


def test_rate_limited_error_carries_retry_after(sandbox: Sandbox, fake: EchoShopFake) -> None:
    fake.faults.configure(script=["rate_limit"], retry_after_seconds=3)
    with SyncRunner(config(sandbox, RetryPolicy.disabled())) as runner, pytest.raises(RateLimited) as info:
        runner.run(list_call())
    assert info.value.retry_after == 3.0


def test_inprocess_transport_behaves_like_the_socket(fast_retry: RetryPolicy) -> None:
    sb = Sandbox([EchoShopFake()])
    fake = sb.fake("echoshop")
    fake.faults.configure(script=["drop", "rate_limit"], retry_after_seconds=1)
    cfg = ProviderConfig(provider="echoshop", base_url=sb.inprocess_url("echoshop"), auth=Bearer("token-a"),
                         retry=fast_retry)
    with SyncRunner(cfg, transport=sb.transport()) as runner:
        ids = [row["id"] for row in iter_items(runner.run, list_call())]
    assert len(ids) == 25
    assert [r.outcome for r in fake.requests][:3] == ["drop", "rate_limit", "ok"]
