"""Pages that fetch their successors, and per-request options on a client (a copy sharing the pool)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from invekto_integrations import ConfigurationError
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.paging import Page
from invekto_integrations.providers.trendyol import AsyncTrendyolClient, TrendyolClient
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    clock = FrozenClock()
    fake = TrendyolFake(clock=clock, orders_per_account=23, lifecycle=False)
    yield Sandbox([fake], clock=clock)


def _client(sb: Sandbox) -> TrendyolClient:
    key, secret = sb.trendyol.credentials["100001"]
    return TrendyolClient("100001", key, secret, base_url=sb.inprocess_url("trendyol"), transport=sb.transport(),
                          clock=sb.clock)


def test_a_page_fetches_the_next_and_iterates_every_item(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        first = client.list_packages(size=5)  # the last 14 days
        total = first.total
        assert total is not None and total > 10 and len(first) == 5 and first.has_next_page
        second = first.get_next_page()
        assert second.info["page"] == 1 and len(second) == 5
        sizes = [len(p) for p in first.iter_pages()]
        assert sum(sizes) == total and len(sizes) == -(-total // 5)
        every = [item.order.external_id for item in first if item.order is not None]
        assert len(every) == len(set(every)) == total
        last = list(first.iter_pages())[-1]
        with pytest.raises(ConfigurationError, match="last page"):
            last.get_next_page()
        assert repr(first) == f"<Page items=5 total={total} has_next_page=True>"


async def test_an_async_page_fetches_the_next(sandbox: Sandbox) -> None:
    key, secret = sandbox.trendyol.credentials["100001"]
    async with AsyncTrendyolClient("100001", key, secret, base_url=sandbox.inprocess_url("trendyol"),
                                   transport=sandbox.async_transport(), clock=sandbox.clock) as client:
        first = await client.list_packages(size=5)
        assert len(await first.aget_next_page()) == 5
        assert len([item async for item in first]) == first.total
        with pytest.raises(ConfigurationError, match="use aget_next_page"):
            first.get_next_page()


def test_a_page_built_by_hand_says_it_cannot_fetch() -> None:
    from invekto_integrations.core.http import Call

    page: Page[int] = Page(items=[1], next_call=Call("x", "GET", "/", lambda r: Page(items=[])))
    with pytest.raises(ConfigurationError, match="sync client"):
        page.get_next_page()


def test_with_options_copies_the_client_and_shares_its_pool(sandbox: Sandbox) -> None:
    seen: list[httpx.Request] = []
    with _client(sandbox) as client:
        fast = client.with_options(timeout=1.5, max_retries=0)
        assert fast is not client and fast._runner.http is client._runner.http
        assert (fast.config.timeout.read, fast.config.retry.max_attempts) == (1.5, 1)
        assert client.config.timeout.read == 30.0 and client.config.retry.max_attempts == 4
        # The timeout travels with each request of the copy, not only at pool construction.
        client._runner.http.event_hooks["request"].append(seen.append)
        fast.list_packages(size=1)
        client.list_packages(size=1)
        assert [r.extensions["timeout"]["read"] for r in seen] == [1.5, 30.0]
        fast.close()  # the copy does not own the pool: the original keeps working
        assert len(client.list_packages(size=2)) == 2
        with pytest.raises(ConfigurationError):
            client.with_options(max_retries=-1)


def test_with_options_on_the_messaging_clients() -> None:
    from pydantic import SecretStr

    from invekto_integrations.providers.iys import IysClient, IysSettings
    from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings

    wa = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001"), SecretStr("t"))
    iys = IysClient(IysSettings(iys_code="700001", brand_code="700001"), "u", SecretStr("p"))
    for client in (wa, iys):
        fast = client.with_options(timeout=2.0, max_retries=1)
        assert fast._runner.config.timeout.read == 2.0 and fast._runner.config.retry.max_attempts == 2
        assert client._runner.config.timeout.read != 2.0
        assert fast._runner.http is client._runner.http
        assert "base_url=" in repr(fast)
        client.close()
