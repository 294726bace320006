"""Hot paths against baselines measured in the same run (the ratios of issue 19's targets).

* Listing: `TrendyolClient.list_packages` page by page (request plumbing, wire model, mapping to
  `Order`) vs a raw ``httpx`` loop fetching the same pages from the same loopback fake and decoding
  the JSON; sync and async. Target: ≤ 1.2× the raw wall time.
* Commit: `OrderSyncEngine.commit_batch` of already-mapped Trendyol orders into a SQLite file store
  (cache rows, domain events, upserts), the provider out of the picture. Target: ≥ 10,000 orders/s.
* Start-up 429s: many accounts started together against a fake enforcing the same limit as the
  client. Target: 0.

Every figure is the median of several rounds (at least five); the rounds of a ratio's two sides
alternate and the ratio quoted is the median of the round-by-round ratios, with their range. The load
average (1/5/15 minutes) is printed with each table: on a shared machine it says how far to trust it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.clock import FrozenClock, SystemClock
from invekto_integrations.core.crypto import CredentialCipher, KeyRing, generate_key
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.providers.base import ConnectOptions, OrderOrError
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL
from invekto_integrations.providers.trendyol import AsyncTrendyolClient, TrendyolClient
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync import OrderSyncEngine, SyncSettings
from invekto_integrations.sync.orders import _Counters
from invekto_integrations.testing.refmarket import REFMARKET, RefMarketFake
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START = NOW - timedelta(days=13)
PAGE = 200
NO_LIMIT = RateLimit(1_000_000, 1.0, burst=1_000_000)


def load() -> str:
    """The 1/5/15-minute load average, as printed beside each table."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _pairs(a: Callable[[], float], b: Callable[[], float], rounds: int) -> list[tuple[float, float]]:
    a(), b()  # warm-up: connections, imports, caches
    return [(a(), b()) for _ in range(rounds)]


def _ratio_row(name: str, pairs: list[tuple[float, float]]) -> str:
    ratios = sorted(x / y for x, y in pairs)
    sdk = statistics.median(x for x, _ in pairs)
    raw = statistics.median(y for _, y in pairs)
    return (f"| {name} | {sdk:.3f} | {raw:.3f} | **{statistics.median(ratios):.2f}×** "
            f"| {ratios[0]:.2f}–{ratios[-1]:.2f}× | ≤ 1.2× |")


def _params(page: int) -> dict[str, Any]:
    # What TrendyolEndpoints.list_packages sends for one page of [START, NOW).
    return {"startDate": int(START.timestamp() * 1000), "endDate": int(NOW.timestamp() * 1000) - 1, "page": page,
            "size": PAGE, "orderByField": "PackageLastModifiedDate", "orderByDirection": "ASC"}


def listing(quick: bool) -> list[str]:
    n = 2_000 if quick else 10_000
    rounds = 5 if quick else 7
    clock = FrozenClock(NOW)
    fake = TrendyolFake(clock=clock, seed=1, orders_per_account=0)
    with Sandbox([fake], clock=clock) as sandbox:
        seller = fake.provision_account()
        fake.seed_orders(seller.account_key, n, start=START, end=NOW - timedelta(minutes=1))
        key = seller.credentials.api_key.get_secret_value()
        secret = seller.credentials.api_secret.get_secret_value() if seller.credentials.api_secret else ""
        sid = seller.settings["seller_id"]
        base = sandbox.url(TRENDYOL.name)
        url = f"{base}/order/sellers/{sid}/orders"
        pages = -(-n // PAGE)
        kw: dict[str, Any] = {"base_url": base, "clock": clock, "rate_limit": NO_LIMIT,
                              "limiter_registry": RateLimiterRegistry(SystemClock())}
        client = TrendyolClient(sid, key, secret, **kw)
        raw_client = httpx.Client(auth=(key, secret), headers={"User-Agent": f"{sid} - SelfIntegration"})

        def sdk() -> float:
            t0 = time.perf_counter()
            got = 0
            for p in range(pages):
                page = client.list_packages(start=START, end=NOW, page=p, size=PAGE)
                got += sum(1 for it in page.items if it.order is not None)
            assert got == n, got
            return time.perf_counter() - t0

        def raw() -> float:
            t0 = time.perf_counter()
            got = 0
            for p in range(pages):
                r = raw_client.get(url, params=_params(p))
                r.raise_for_status()
                got += len(r.json()["content"])
            assert got == n, got
            return time.perf_counter() - t0

        before = load()
        sync_pairs = _pairs(sdk, raw, rounds)
        raw_client.close()

        async def amain() -> list[tuple[float, float]]:
            aclient = AsyncTrendyolClient(sid, key, secret, **kw)
            araw = httpx.AsyncClient(auth=(key, secret), headers={"User-Agent": f"{sid} - SelfIntegration"})
            pairs = []

            async def asdk() -> float:
                t0 = time.perf_counter()
                got = 0
                for p in range(pages):
                    page = await aclient.list_packages(start=START, end=NOW, page=p, size=PAGE)
                    got += sum(1 for it in page.items if it.order is not None)
                assert got == n, got
                return time.perf_counter() - t0

            async def araw_loop() -> float:
                t0 = time.perf_counter()
                got = 0
                for p in range(pages):
                    r = await araw.get(url, params=_params(p))
                    r.raise_for_status()
                    got += len(r.json()["content"])
                assert got == n, got
                return time.perf_counter() - t0

            await asdk()
            await araw_loop()
            for _ in range(rounds):
                pairs.append((await asdk(), await araw_loop()))
            await araw.aclose()
            return pairs

        async_pairs = asyncio.run(amain())
    return [
        f"Listing: one Trendyol seller, {n:,} packages over 13 days, {pages} pages of {PAGE}, from the Trendyol "
        f"fake on loopback (uvicorn thread in this process); {rounds} alternating rounds (SDK, raw, SDK, raw, ...) "
        f"after a warm-up; times are medians, the ratio is the median of the {rounds} round ratios. "
        f"Load average {before} before, {load()} after.",
        "",
        "| client | SDK: list_packages + mapping (s) | raw httpx loop, same pages, JSON decoded (s) | ratio "
        "| ratio range | target |",
        "|---|---:|---:|---:|---:|---|",
        _ratio_row("sync", sync_pairs),
        _ratio_row("async", async_pairs),
    ]


def mapped_orders(n: int) -> list[OrderOrError]:
    """``n`` Trendyol packages from the fake, listed and mapped by the client (outside the timing)."""
    clock = FrozenClock(NOW)
    fake = TrendyolFake(clock=clock, seed=2, orders_per_account=0)
    with Sandbox([fake], clock=clock) as sandbox:
        seller = fake.provision_account()
        fake.seed_orders(seller.account_key, n, start=START, end=NOW - timedelta(minutes=1))
        client = TrendyolClient(seller.settings["seller_id"], seller.credentials.api_key,
                                seller.credentials.api_secret or "", base_url=sandbox.url(TRENDYOL.name),
                                clock=clock, rate_limit=NO_LIMIT, limiter_registry=RateLimiterRegistry(SystemClock()))
        items = list(client.iter_packages(START, NOW))
    assert len(items) == n and all(it.order is not None for it in items)
    return items


def commit(quick: bool) -> list[str]:
    n = 5_000 if quick else 20_000
    rounds = 5
    items = mapped_orders(n)
    before = load()
    batch = 500
    times, cpu = [], []
    with tempfile.TemporaryDirectory(prefix="invekto-bench-") as tmp:
        for r in range(rounds):
            clock = FrozenClock(NOW)
            store = SQLiteStore(Path(tmp) / f"commit-{r}.sqlite3")
            ring = KeyRing({"bench": base64.urlsafe_b64decode(generate_key())})
            service = AccountService(store.accounts, CredentialCipher(ring), registry=ProviderRegistry([TRENDYOL]),
                                     clock=clock)
            account = service.add("tenant-0", "trendyol",
                                  Credentials(api_key=SecretStr("k"), api_secret=SecretStr("s")),
                                  settings={"seller_id": "1"})
            engine = OrderSyncEngine(service, store.orders, store.checkpoints, store.quarantine,
                                     EventBus(store.events, clock), clock=clock,
                                     settings=SyncSettings(batch_size=batch))
            counters = _Counters()
            t0, c0 = time.perf_counter(), time.process_time()
            for start in range(0, n, batch):
                engine.commit_batch(account, items[start:start + batch], backfill=True, counters=counters)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            assert store.orders.count("tenant-0") == n and counters.inserted == n, counters
            engine.close()
            store.close()
    med = statistics.median(times)
    med_cpu = statistics.median(cpu)
    return [
        f"Commit: `OrderSyncEngine.commit_batch` of {n:,} mapped Trendyol orders (batches of {batch}, a fresh SQLite "
        f"file store per round: cache rows, `order.created` events, upserts), the provider out of the picture; "
        f"median of {rounds} rounds (range in brackets). Load average {before} before, {load()} after.",
        "",
        "| orders | median wall time (s) | orders/s (wall) | median CPU time (s) | orders per CPU second | target |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {n:,} | {med:.3f} | **{n / med:,.0f}** [{n / max(times):,.0f}–{n / min(times):,.0f}] | {med_cpu:.3f} "
        f"| **{n / med_cpu:,.0f}** [{n / max(cpu):,.0f}–{n / min(cpu):,.0f}] | ≥ 10,000 orders/s |",
    ]


def startup_429(quick: bool, initial: float | None, runs: int = 1) -> list[str]:
    """``runs`` runs of `_startup_429`, one row: the 429 count of each run."""
    results = [_startup_429(quick, initial) for _ in range(runs)]
    accounts, per_account, requests = results[0][:3]
    seconds = statistics.median(r[3] for r in results)
    counts = ", ".join(str(r[4]) for r in results)
    start = "a full burst" if initial is None else f"{initial:g} token (as `DEFAULT_REGISTRY`)"
    return [f"| {accounts} × {per_account:,} | {start} | {runs} | {requests} | {seconds:.1f} | **{counts}** |"]


def _startup_429(quick: bool, initial: float | None) -> tuple[int, int, int, float, int]:
    accounts = 4 if quick else 8
    per_account = 1_000
    limit = RateLimit(5, 1.0)
    clock = FrozenClock(NOW)
    real = SystemClock()
    fake = RefMarketFake(clock=clock, seed=1)
    with tempfile.TemporaryDirectory(prefix="invekto-bench-") as tmp, Sandbox([fake], clock=clock) as sandbox:
        store = SQLiteStore(Path(tmp) / "429.sqlite3")
        ring = KeyRing({"bench": base64.urlsafe_b64decode(generate_key())})
        service = AccountService(store.accounts, CredentialCipher(ring), registry=ProviderRegistry([REFMARKET]),
                                 clock=clock)
        for i in range(accounts):
            seller = fake.provision_account()
            service.add(f"tenant-{i}", REFMARKET.name, seller.credentials, settings=seller.settings)
            fake.add_synthetic(seller.account_key, per_account, start=NOW - timedelta(days=20),
                               end=NOW - timedelta(minutes=1))
        fake.faults.configure(rate_limit=limit, seed=3)
        options = ConnectOptions(base_url=sandbox.url(REFMARKET.name), clock=clock, timeout=30.0,
                                 retry=RetryPolicy(max_attempts=8, base_seconds=0.05, max_backoff_seconds=0.5,
                                                   clock=real, rng=random.Random(1)),
                                 limiter_registry=RateLimiterRegistry(real, initial_tokens=initial),
                                 extra={"rate_limit": limit})
        engine = OrderSyncEngine(service, store.orders, store.checkpoints, store.quarantine,
                                 EventBus(store.events, clock), options=options, clock=clock)
        t0 = time.perf_counter()
        report = asyncio.run(engine.run())
        seconds = time.perf_counter() - t0
        engine.close()
        total = sum(store.orders.count(f"tenant-{i}") for i in range(accounts))
        store.close()
    assert not report.failed and total == accounts * per_account, (report.failed, total)
    return accounts, per_account, len(fake.requests), seconds, fake.faults.counts["rate_limit"]


def run(quick: bool) -> list[str]:
    lines = ["## Hot paths (ratios against same-run baselines)", ""]
    lines += listing(quick)
    lines += ["", *commit(quick)]
    lines += ["", "Start-up: accounts of the reference marketplace started together, fake and client both at "
              "5 requests/s per account (target: 0 × 429):", "",
              "| accounts × orders | client buckets start with | runs | requests (first run) | median time (s) "
              "| 429s in each run |",
              "|---|---|---:|---:|---:|---|",
              *startup_429(quick, None), *startup_429(quick, 1.0, runs=5)]
    return lines
