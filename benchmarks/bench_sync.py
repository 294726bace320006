"""Order-sync benchmark: throughput against the configured rate limit, and peak memory.

* Throughput: accounts of the reference marketplace served over a real loopback socket, with the
  fake enforcing a rate limit and the connectors configured with the same limit; orders/s and
  requests/s are compared with what the limit allows, also with 10 % injected 5xx.
* Memory: a backfill of 10 000 and of 100 000 orders (no rate limit) under ``tracemalloc``; the
  engine streams batches, so the peak must stay flat as the volume grows tenfold. The fake
  computes its orders from their index (no memory per order), so the figure is the client's.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.clock import FrozenClock, SystemClock
from invekto_integrations.core.crypto import CredentialCipher, KeyRing, generate_key
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo
from invekto_integrations.providers.hepsiburada import PROVIDER as HEPSIBURADA
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync import OrderSyncEngine, SyncRunReport, SyncSettings
from invekto_integrations.testing.refmarket import MAX_PAGE_SIZE, REFMARKET, RefMarketFake
from invekto_integrations.testing.sandbox import FakeProvider, Sandbox
from invekto_integrations.testing.scenarios import MarketplaceScenario

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Outcome:
    orders: int
    seconds: float
    requests: int
    throttled: int
    errors: int
    peak_bytes: int | None
    report: SyncRunReport


def _measure(info: ProviderInfo, fake: FakeProvider, clock: FrozenClock, *, accounts: int, orders_per_account: int,
             seed: Callable[[str], object], limit: RateLimit | None, error_rate: float,
             extra: dict[str, object] | None = None, trace: bool = False) -> Outcome:
    """One timed sync of ``accounts`` new accounts on ``fake`` (each seeded by ``seed(account_key)``)
    over a loopback socket into a SQLite file; checks that every order arrived exactly once."""
    assert isinstance(fake, MarketplaceScenario)
    real = SystemClock()
    with tempfile.TemporaryDirectory(prefix="invekto-bench-") as tmp, Sandbox([fake], clock=clock) as sandbox:
        store = SQLiteStore(Path(tmp) / "bench.sqlite3")
        ring = KeyRing({"bench": base64.urlsafe_b64decode(generate_key())})
        service = AccountService(store.accounts, CredentialCipher(ring), registry=ProviderRegistry([info]),
                                 clock=clock)
        for i in range(accounts):
            seller = fake.provision_account()
            service.add(f"tenant-{i % 2}", info.name, seller.credentials, settings=seller.settings)
            seed(seller.account_key)
        fake.faults.configure(rate_limit=limit, error_rate=error_rate, seed=3)
        options = ConnectOptions(
            base_url=sandbox.url(info.name), clock=clock, timeout=30.0,
            retry=RetryPolicy(max_attempts=8, base_seconds=0.05, max_backoff_seconds=0.5, clock=real,
                              rng=random.Random(1)),
            limiter_registry=RateLimiterRegistry(real), extra=extra or {},
        )
        engine = OrderSyncEngine(service, store.orders, store.checkpoints, store.quarantine,
                                 EventBus(store.events, clock), options=options, clock=clock,
                                 settings=SyncSettings(batch_size=500))
        gc.collect()
        if trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        report = asyncio.run(engine.run())
        seconds = time.perf_counter() - t0
        peak = None
        if trace:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        engine.close()
        total = sum(store.orders.count(t) for t in ("tenant-0", "tenant-1"))
        store.close()
    assert not report.failed, [r.error for r in report.failed]
    assert total == accounts * orders_per_account, (total, accounts * orders_per_account)
    return Outcome(orders=total, seconds=seconds, requests=len(fake.requests),
                   throttled=fake.faults.counts["rate_limit"], errors=fake.faults.counts["error"], peak_bytes=peak,
                   report=report)


def sync_once(*, accounts: int, orders_per_account: int, limit: RateLimit | None, error_rate: float = 0.0,
              trace: bool = False) -> Outcome:
    """The reference marketplace: computed orders (no memory per order), a configurable limit."""
    clock = FrozenClock(START)
    fake = RefMarketFake(clock=clock, seed=1)

    def seed(key: str) -> None:
        fake.add_synthetic(key, orders_per_account, start=START - timedelta(days=80), end=START - timedelta(minutes=1))

    return _measure(REFMARKET, fake, clock, accounts=accounts, orders_per_account=orders_per_account, seed=seed,
                    limit=limit, error_rate=error_rate, extra={"rate_limit": limit or RateLimit(1_000_000, 1.0)},
                    trace=trace)


def marketplace_once(info: ProviderInfo, *, accounts: int, orders_per_account: int, error_rate: float) -> Outcome:
    """A built-in connector against its own fake, at the fake's published rate limit."""
    clock = FrozenClock(START)
    assert info.fake is not None
    fake = info.fake(clock=clock, seed=1, orders_per_account=0)
    assert isinstance(fake, MarketplaceScenario)

    def seed(key: str) -> None:
        fake.seed_orders(key, orders_per_account, start=START - timedelta(days=25), end=START - timedelta(minutes=1))

    return _measure(info, fake, clock, accounts=accounts, orders_per_account=orders_per_account, seed=seed,
                    limit=type(fake).published_rate_limit, error_rate=error_rate)


def run(quick: bool) -> list[str]:
    lines = ["## Order sync", ""]
    per_account = 3_000 if quick else 10_000
    accounts = 2
    limit = RateLimit(5, 1.0)
    lines += [
        f"Throughput: {accounts} accounts × {per_account:,} orders over loopback, page size {MAX_PAGE_SIZE}, "
        f"rate limit {limit.requests:g} requests/s per account (fake and client configured alike).",
        "",
        "| scenario | orders | time (s) | orders/s | requests | requests/s | limit (req/s, all accounts) "
        "| use of limit | 429s | 5xx injected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, errors in (("at the rate limit", 0.0), ("at the rate limit, 10 % 5xx", 0.10)):
        o = sync_once(accounts=accounts, orders_per_account=per_account, limit=limit, error_rate=errors)
        cap = limit.rate * accounts
        rps = o.requests / o.seconds
        lines.append(f"| {name} | {o.orders:,} | {o.seconds:.1f} | {o.orders / o.seconds:,.0f} | {o.requests} "
                     f"| {rps:.1f} | {cap:g} | {rps / cap:.0%} | {o.throttled} | {o.errors} |")
    o = sync_once(accounts=accounts, orders_per_account=per_account, limit=None)
    lines.append(f"| no rate limit (CPU-bound) | {o.orders:,} | {o.seconds:.1f} | {o.orders / o.seconds:,.0f} "
                 f"| {o.requests} | {o.requests / o.seconds:.1f} | – | – | {o.throttled} | {o.errors} |")

    n = 300 if quick else 1_000
    lines += ["", f"Built-in connectors against their fakes at the published limits (2 accounts × {n:,} orders, "
              "4 weeks of history, 10 % 5xx injected; Hepsiburada fetches detail and package per shipped order):",
              "", "| connector | published limit | orders | time (s) | orders/s | requests | requests/s | 429s "
              "| 5xx injected |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for info in (TRENDYOL, HEPSIBURADA):
        o = marketplace_once(info, accounts=2, orders_per_account=n, error_rate=0.10)
        published = info.fake(clock=FrozenClock(START), seed=0, orders_per_account=0).published_rate_limit \
            if info.fake else None
        limit_text = f"{published.requests:g} per {published.per_seconds:g} s" if published else "–"
        lines.append(f"| {info.label} | {limit_text} | {o.orders:,} | {o.seconds:.1f} | {o.orders / o.seconds:,.0f} "
                     f"| {o.requests} | {o.requests / o.seconds:.1f} | {o.throttled} | {o.errors} |")

    sizes = (2_000, 20_000) if quick else (10_000, 100_000)
    lines += ["", "Peak memory (tracemalloc, whole process incl. the in-process fake) of one account's backfill:",
              "", "| orders | time (s) | orders/s | peak traced memory |", "|---:|---:|---:|---:|"]
    peaks = []
    for n in sizes:
        o = sync_once(accounts=1, orders_per_account=n, limit=None, trace=True)
        assert o.peak_bytes is not None
        peaks.append(o.peak_bytes)
        lines.append(f"| {n:,} | {o.seconds:.1f} | {o.orders / o.seconds:,.0f} (traced) | "
                     f"{o.peak_bytes / 2**20:.1f} MiB |")
    lines += ["", f"Peak memory ratio {sizes[1]:,} vs {sizes[0]:,} orders: {peaks[1] / peaks[0]:.2f}× "
              f"for {sizes[1] // sizes[0]}× the orders (flat = streaming)."]
    return lines
