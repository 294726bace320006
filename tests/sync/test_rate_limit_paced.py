"""Issue 5, "no 429 answered more than a handful of times", made to matter: the published limits are
too generous for a test-sized sync to reach, so both sides are scaled down (the fakes through
``faults.configure(rate_limit=...)``, the clients through ``ConnectOptions.rate_limit``) until the run
needs many refills. Waiting is virtual: the clients' limiter and retries sleep on a `FrozenClock` that
sleeping advances, and the fakes' buckets read that same clock (``rate_limit_clock``), as in the
conformance kit's ``test_client_rate_limit_respects_the_published_limit``. The real Trendyol and
Hepsiburada connectors run, over the sandbox's in-process transport. Virtual time needs the calls of
one account in sequence (Hepsiburada's ``enrich_concurrency=1``): with concurrent calls the clock
jumps ahead for one task while another's request is still on its way, and requests reach the fake
bunched at a later instant than they were paced for.

Negative control: with the client's limiter out of the way (a huge client limit) the same run meets
many 429s, so the first test's bound is not met by accident."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from sync_world import World, make_world

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import IntegrationAccount
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.hepsiburada import PROVIDER as HEPSIBURADA
from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync import AccountSyncStatus, OrderSyncEngine, SyncSettings

PROVIDERS = {"trendyol": TRENDYOL, "hepsiburada": HEPSIBURADA}
LIMIT = RateLimit(2, 1.0, burst=2)  # 2 requests/s, bursts of 2: every run below needs many refills
HANDFUL = 5


@dataclass
class Run:
    world: World
    pace: FrozenClock
    elapsed: float
    served: dict[str, int]  # provider -> requests the fake answered (not 429)
    throttled: dict[str, int]  # provider -> 429s
    accounts: list[IntegrationAccount]
    report: Any
    stored: dict[str, int]  # provider -> orders in the cache


async def run_sync(tmp_path: Any, market: str, client_limit: RateLimit) -> Run:
    pace = FrozenClock()  # sleeping advances it: no real waiting
    store = SQLiteStore(tmp_path / "paced.sqlite3")
    # one marketplace per run: another account's sleeps would advance the shared virtual time
    w = make_world(store, sleep_clock=pace, providers=[PROVIDERS[market]])
    accounts = [w.connect("t1", market, orders=60, days=25)]
    for name in (market,):
        fake = w.sandbox.fake(name)
        fake.rate_limit_clock = pace
        fake.faults.configure(rate_limit=LIMIT, retry_after_seconds=1)
    retry = RetryPolicy(max_attempts=10, max_total_seconds=3600, clock=pace, rng=random.Random(5))
    limiter = RateLimiterRegistry(pace)

    def options(account: IntegrationAccount) -> ConnectOptions:
        return ConnectOptions(base_url=w.sandbox.inprocess_url(account.provider),
                              async_transport=w.sandbox.async_transport(), clock=w.clock, retry=retry,
                              limiter_registry=limiter, timeout=5.0, rate_limit=client_limit,
                              extra={"enrich_concurrency": 1} if market == "hepsiburada" else {})

    engine = OrderSyncEngine(w.service, store.orders, store.checkpoints, store.quarantine,
                             EventBus(store.events, w.clock), options=options, settings=SyncSettings(),
                             clock=w.clock)
    started = pace.monotonic()
    report = await engine.run()
    elapsed = pace.monotonic() - started
    engine.close()
    fake = w.sandbox.fake(market)
    served = {market: sum(1 for r in fake.requests if r.outcome != "rate_limit")}
    throttled = {market: fake.faults.counts["rate_limit"]}
    store_counts = {market: store.orders.count("t1", provider=market)}
    store.close()
    return Run(w, pace, elapsed, served, throttled, accounts, report, store_counts)


@pytest.mark.parametrize("market", list(PROVIDERS))
async def test_scaled_down_limit_is_paced_by_the_real_connectors(tmp_path: Any, market: str) -> None:
    run = await run_sync(tmp_path, market, client_limit=LIMIT)
    assert all(r.status is AccountSyncStatus.OK for r in run.report.accounts), [r.error for r in run.report.accounts]
    assert run.stored == {market: 60}
    # the limit mattered: each account needed several refills of its bucket
    assert all(n > 3 * LIMIT.capacity for n in run.served.values()), run.served
    assert sum(run.throttled.values()) <= HANDFUL, run.throttled
    # paced: each account's bucket (one per provider + account) allows burst + rate x elapsed requests
    for name, n in run.served.items():
        minimum = (n - LIMIT.capacity) / LIMIT.rate
        assert run.elapsed >= minimum * 0.95, (name, n, run.elapsed, minimum)


@pytest.mark.parametrize("market", list(PROVIDERS))
async def test_without_the_client_limiter_the_fakes_answer_many_429s(tmp_path: Any, market: str) -> None:
    run = await run_sync(tmp_path, market, client_limit=RateLimit(100_000, 1.0, burst=100_000))
    assert run.throttled[market] > 2 * HANDFUL, run.throttled


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR")
