"""Plans with `Gather`: independent sub-plans run one by one under `drive` and up to ``concurrency`` at
once under `adrive`, results in the sub-plans' order; a handled error stays in its sub-plan, an
unhandled one cancels the rest and is thrown into the plan. Then the Hepsiburada connector over HTTP:
concurrent enrichment gives the same listing as the sync client, and one failed enrichment is one
quarantined item."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from invekto_integrations.core.errors import NotFound, ProviderUnavailable
from invekto_integrations.core.http import Call
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.providers._marketplace import Fetch, Gather, Plan, adrive, drive
from invekto_integrations.providers.hepsiburada import AsyncHepsiburadaClient, HepsiburadaClient
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake

from .conftest import HB_AGENT, HB_KEY, MERCHANT, NOW

# Orders added in a stage get their stage time a second after creation: end the range later.
RANGE = (NOW - timedelta(days=12), NOW + timedelta(minutes=5))


def _call(key: str) -> Call[str]:
    return Call(key, "GET", f"/{key}", lambda r: r.text)


class Runner:
    """A stand-in runner answering ``Call.operation``: ``missing-*`` is `NotFound`, ``down-*`` an outage;
    ``slow-N`` takes N scheduler turns, so later sub-plans may finish first."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.in_flight = 0
        self.peak = 0

    def _answer(self, key: str) -> str:
        if key.startswith("missing"):
            raise NotFound(key, provider="test")
        if key.startswith("down"):
            raise ProviderUnavailable(key, provider="test")
        return key.upper()

    def run(self, call: Call[Any]) -> Any:
        self.calls.append(call.operation)
        return self._answer(call.operation)

    async def arun(self, call: Call[Any]) -> Any:
        self.calls.append(call.operation)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            turns = int(call.operation.split("-")[1]) if call.operation.startswith("slow") else 1
            for _ in range(turns):
                await asyncio.sleep(0)
            return self._answer(call.operation)
        finally:
            self.in_flight -= 1


def lookup(*keys: str) -> Generator[Any, Any, str]:
    """A sub-plan: fetch each key in turn; a `NotFound` is its own answer, anything else escapes."""
    got = []
    for key in keys:
        try:
            got.append((yield Fetch(_call(key))))
        except NotFound:
            got.append(f"none:{key}")
    return "+".join(got)


def parent(subs: list[Generator[Any, Any, Any]]) -> Plan:
    try:
        results = yield Gather(subs)
    except ProviderUnavailable as exc:
        yield f"failed:{exc.message}"
        return
    yield from results
    yield "after"


SUBS = [("slow-9",), ("a", "b"), ("missing-1", "c"), ("slow-3", "d"), ("e",), ("f",)]
EXPECTED = ["SLOW-9", "A+B", "none:missing-1+C", "SLOW-3+D", "E", "F", "after"]


async def _alist(items: AsyncIterator[Any]) -> list[Any]:
    return [i async for i in items]


async def test_gather_results_keep_their_order_sync_and_async() -> None:
    sync = Runner()
    assert list(drive(parent([lookup(*k) for k in SUBS]), sync.run)) == EXPECTED
    for concurrency in (1, 2, 8):
        runner = Runner()
        got = await _alist(adrive(parent([lookup(*k) for k in SUBS]), runner.arun, concurrency=concurrency))
        assert got == EXPECTED
        assert sorted(runner.calls) == sorted(sync.calls)
        assert runner.peak == min(concurrency, len(SUBS))


async def test_an_unhandled_error_cancels_the_rest_and_reaches_the_plan() -> None:
    subs = [("slow-50", "never"), ("down-1",), ("slow-50", "never-2"), ("x",)]
    runner = Runner()
    got = await _alist(adrive(parent([lookup(*k) for k in subs]), runner.arun, concurrency=4))
    assert got == ["failed:down-1"]
    assert "never" not in runner.calls and "never-2" not in runner.calls  # the slow ones were cancelled
    sync = Runner()
    assert list(drive(parent([lookup(*k) for k in subs]), sync.run)) == ["failed:down-1"]
    assert "x" not in sync.calls  # one by one: nothing after the failure starts


async def test_sub_plans_may_only_fetch() -> None:
    def chatty() -> Generator[Any, Any, None]:
        yield "an output item"

    with pytest.raises(TypeError, match="only Fetch or Gather"):
        list(drive(parent([chatty()]), Runner().run))
    with pytest.raises(TypeError, match="only Fetch or Gather"):
        await _alist(adrive(parent([chatty()]), Runner().arun, concurrency=2))
    with pytest.raises(ValueError):
        await _alist(adrive(parent([]), Runner().arun, concurrency=0))


# -- the Hepsiburada connector over HTTP ------------------------------------------------------------------
class Watched(httpx.AsyncBaseTransport):
    """The sandbox transport, counting requests in flight; answers 404 for the detail of ``gone`` orders."""

    def __init__(self, inner: httpx.AsyncBaseTransport, gone: set[str] | None = None) -> None:
        self.inner = inner
        self.gone = gone or set()
        self.in_flight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0)  # let the other tasks send theirs
            if any(request.url.path.endswith(f"/ordernumber/{n}") for n in self.gone):
                return httpx.Response(404, json={"message": "Order not found"})
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


def _async_client(sandbox: Sandbox, common: dict[str, Any], transport: httpx.AsyncBaseTransport,
                  **kw: Any) -> AsyncHepsiburadaClient:
    options = {**common, "limiter_registry": RateLimiterRegistry(common["clock"])}
    return AsyncHepsiburadaClient(MERCHANT, HB_KEY, integrator_name=HB_AGENT,
                                  base_url=sandbox.inprocess_url("hepsiburada"), transport=transport, **options, **kw)


def _summary(items: list[Any]) -> list[tuple[Any, ...]]:
    return [(i.order, None) if i.error is None else (None, i.error.record, i.error.field) for i in items]


async def test_concurrent_enrichment_gives_the_sync_listing(sandbox: Sandbox, hb_fake: HepsiburadaFake,
                                                            hb: HepsiburadaClient, common: dict[str, Any]) -> None:
    added = hb_fake.add_orders(MERCHANT, 12, status="InTransit") + hb_fake.add_orders(MERCHANT, 12, status="Delivered")
    expected = _summary(list(hb.iter_orders_changed(*RANGE)))
    listed = {o.external_id: o for o, *_ in expected if o is not None}
    assert all(listed[n].cargo.tracking_number for n in added)  # each one enriched with its package
    peaks = {}
    for concurrency in (1, 8):
        watched = Watched(sandbox.async_transport())
        async with _async_client(sandbox, common, watched, enrich_concurrency=concurrency) as client:
            got = _summary([i async for i in client.iter_orders_changed(*RANGE)])
        assert got == expected
        peaks[concurrency] = watched.peak
    assert peaks == {1: 1, 8: 8}


async def test_one_failed_enrichment_is_one_quarantined_item(sandbox: Sandbox, hb_fake: HepsiburadaFake,
                                                             common: dict[str, Any]) -> None:
    shipped = hb_fake.add_orders(MERCHANT, 10, status="InTransit")
    watched = Watched(sandbox.async_transport(), gone={shipped[3]})
    async with _async_client(sandbox, common, watched) as client:
        items = [i async for i in client.iter_orders_changed(*RANGE)]
    errors = [i.error for i in items if i.error is not None]
    assert len(errors) == 1 and errors[0].provider == "hepsiburada" and errors[0].field == "OrderNumber"
    assert shipped[3] in str(errors[0])
    orders = {i.order.external_id for i in items if i.order is not None}
    assert set(shipped) - orders == {shipped[3]}
    assert watched.peak > 1
