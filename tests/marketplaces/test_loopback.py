"""The headline flows over a real loopback socket (uvicorn): incremental listing, lookup, throttling."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import AuthenticationError
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.orders import OrderStatus
from invekto_integrations.providers.hepsiburada import AsyncHepsiburadaClient, HepsiburadaClient
from invekto_integrations.providers.trendyol import AsyncTrendyolClient, TrendyolClient
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

from .conftest import HB_AGENT, HB_KEY, MERCHANT, NOW, SELLER, TY_KEY, TY_SECRET

pytestmark = pytest.mark.loopback


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, FrozenClock]]:
    clock = FrozenClock(NOW)
    with Sandbox([TrendyolFake(clock=clock), HepsiburadaFake(clock=clock)], clock=clock) as sb:
        yield sb, clock


def opts(clock: FrozenClock, sleepless: Any) -> dict[str, Any]:
    return {"clock": clock, "limiter_registry": RateLimiterRegistry(clock), "timeout": 5.0,
            "retry": RetryPolicy(clock=sleepless, rng=random.Random(1))}


def test_trendyol_over_loopback(served: tuple[Sandbox, FrozenClock], sleepless: Any) -> None:
    sb, clock = served
    fake = sb.fake("trendyol")
    assert isinstance(fake, TrendyolFake)
    fake.faults.configure(script=["rate_limit"])
    mark = clock.now()
    (pid,) = fake.add_orders(SELLER, 1)
    fake.advance_order(SELLER, pid, "Picking", at=mark + timedelta(seconds=1))
    with TrendyolClient(SELLER, TY_KEY, TY_SECRET, base_url=sb.url("trendyol"), **opts(clock, sleepless)) as client:
        changed = [i.order for i in client.iter_orders_changed(mark, mark + timedelta(minutes=1)) if i.order]
        assert [(o.external_id, o.status) for o in changed] == [(pid, OrderStatus.PROCESSING)]
        assert client.get_order(changed[0].order_number)[0].external_id == pid
    assert len(sleepless.slept) == 1  # the scripted 429 was retried once
    with TrendyolClient(SELLER, TY_KEY, "nope", base_url=sb.url("trendyol"), **opts(clock, sleepless)) as bad, \
            pytest.raises(AuthenticationError):
        bad.get_order("1")


async def test_async_hepsiburada_over_loopback(served: tuple[Sandbox, FrozenClock], sleepless: Any) -> None:
    sb, clock = served
    fake = sb.fake("hepsiburada")
    assert isinstance(fake, HepsiburadaFake)
    fake.faults.configure(script=["rate_limit"], retry_after_seconds=2)
    mark = clock.now()
    a, b = fake.add_orders(MERCHANT, 2)
    fake.advance_order(MERCHANT, b, "InTransit")
    async with AsyncHepsiburadaClient(MERCHANT, HB_KEY, integrator_name=HB_AGENT, base_url=sb.url("hepsiburada"),
                                      **opts(clock, sleepless)) as client:
        changed = {i.order.external_id: i.order async for i in
                   client.iter_orders_changed(mark, mark + timedelta(minutes=1)) if i.order}
    assert changed[a].status is OrderStatus.CREATED
    assert changed[b].status is OrderStatus.SHIPPED and changed[b].cargo.tracking_number
    assert sleepless.slept == [2.0]  # X-RateLimit-Reset honoured
    with HepsiburadaClient(MERCHANT, HB_KEY, integrator_name=HB_AGENT, base_url=sb.url("hepsiburada"),
                           **opts(clock, sleepless)) as sync_client:
        assert sync_client.get_order(b)[0].status is OrderStatus.SHIPPED


async def test_async_trendyol_over_loopback(served: tuple[Sandbox, FrozenClock], sleepless: Any) -> None:
    sb, clock = served
    async with AsyncTrendyolClient(SELLER, TY_KEY, TY_SECRET, base_url=sb.url("trendyol"),
                                   **opts(clock, sleepless)) as client:
        items = [i async for i in client.iter_orders_changed(NOW - timedelta(days=30), NOW + timedelta(hours=1))]
    assert len(items) >= 30 and all(i.error is None for i in items)
