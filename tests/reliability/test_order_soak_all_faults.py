"""Issue 19, order sync fault soak with every kind of fault: two tenants, each with a Trendyol and a
Hepsiburada account, synced (backfill, then an incremental run) while 20 % of the requests are
throttled (429), answered 5xx, stalled past the read timeout, dropped mid-response or cut in half,
and 3 % of the records served break their documented shape.

Every order the fakes hold ends cached exactly once and whole (its line count and total are the
fake's), or, when a malformed copy of it was all the sync saw, in the quarantine under its record
id (kept whole, with the reason): nothing is silently lost, nothing half-read is cached. (The
backfill-only soak with cut bodies is tests/sync/test_fault_soak.py.)"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.clock import Clock, FrozenClock
from invekto_integrations.core.crypto import CredentialCipher, KeyRing, generate_key
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import IntegrationAccount
from invekto_integrations.models.events import OrderCreated
from invekto_integrations.models.orders import Order
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.hepsiburada import PROVIDER as HEPSIBURADA
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync import AccountSyncStatus, OrderSyncEngine, SyncSettings
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORDERS = 200
FAULTS = {"rate_limit_rate": 0.04, "error_rate": 0.05, "timeout_rate": 0.02, "drop_rate": 0.05,
          "truncate_rate": 0.04, "malformed_rate": 0.03, "retry_after_seconds": 1.0, "timeout_seconds": 3.0}


def _truth(sandbox: Sandbox, account: IntegrationAccount, key: str) -> dict[str, tuple[int, Decimal]]:
    fake = sandbox.fake(account.provider)
    if isinstance(fake, TrendyolFake):
        out = {}
        for pid in fake.package_ids(key):
            wire = fake.package(key, pid)
            out[pid] = (len(wire["lines"]), Decimal(str(wire["totalPrice"])))
        return out
    assert isinstance(fake, HepsiburadaFake)
    return {n: fake.order_truth(key, n) for n in fake.order_numbers(key)}


async def test_order_soak_with_every_fault_kind(tmp_path: Path, sleepless: Clock) -> None:
    clock = FrozenClock(START)
    sandbox = Sandbox([TRENDYOL.fake(clock=clock, seed=23), HEPSIBURADA.fake(clock=clock, seed=23)],  # type: ignore[misc]
                      clock=clock)
    store = SQLiteStore(tmp_path / "soak.sqlite3")
    ring = KeyRing({"k1": base64.urlsafe_b64decode(generate_key())})
    service = AccountService(store.accounts, CredentialCipher(ring), registry=ProviderRegistry([TRENDYOL, HEPSIBURADA]),
                             clock=clock)
    retry = RetryPolicy(max_attempts=10, max_total_seconds=10_000, base_seconds=0.01, max_backoff_seconds=0.05,
                        clock=sleepless, rng=random.Random(29))
    limiter = RateLimiterRegistry(sleepless)

    def options(account: IntegrationAccount) -> ConnectOptions:
        # a short read timeout: a stall costs a quarter second of real time, not the default's
        return ConnectOptions(base_url=sandbox.inprocess_url(account.provider),
                              async_transport=sandbox.async_transport(), clock=clock, retry=retry,
                              limiter_registry=limiter, timeout=0.25, rate_limit=RateLimit(1_000_000, 1.0))

    engine = OrderSyncEngine(service, store.orders, store.checkpoints, store.quarantine, EventBus(store.events, clock),
                             options=options, settings=SyncSettings(backfill=timedelta(days=30),
                                                                    chunk=timedelta(hours=12)), clock=clock)
    accounts: list[tuple[IntegrationAccount, str]] = []
    for tenant in ("t1", "t2"):
        for info in (TRENDYOL, HEPSIBURADA):
            fake = sandbox.fake(info.name)
            seller = fake.provision_account()  # type: ignore[attr-defined]
            accounts.append((service.add(tenant, info.name, seller.credentials, settings=seller.settings),
                             seller.account_key))
            fake.seed_orders(seller.account_key, ORDERS, start=START - timedelta(days=25),  # type: ignore[attr-defined]
                             end=START - timedelta(hours=1))
    for name in ("trendyol", "hepsiburada"):
        sandbox.fake(name).faults.configure(seed=31, **FAULTS)
    try:
        first = await engine.run()
        clock.advance(hours=1)
        second = await engine.run()
    finally:
        engine.close()
    for report in (first, second):
        assert all(r.status is AccountSyncStatus.OK for r in report.accounts), [r.error for r in report.accounts]

    quarantined_total = 0
    for account, key in accounts:
        truth = _truth(sandbox, account, key)
        assert len(truth) == ORDERS
        rows = store.orders.get_many(account.tenant_id, account.provider, account.id, list(truth))
        assert store.orders.count(account.tenant_id, provider=account.provider) == len(rows)  # once each
        wrong = {}
        for ext, row in rows.items():
            order = Order.model_validate_json(row.order_data_json)
            if (len(order.lines), order.total) != truth[ext]:
                wrong[ext] = ((len(order.lines), order.total), truth[ext])
        assert not wrong, list(wrong.items())[:5]  # nothing half-read was cached
        quarantined = [q for q in store.quarantine.find(account.tenant_id, provider=account.provider)
                       if q.account_id == account.id]
        # none silently lost: a missing order is a quarantined record, by its id or inside the record kept
        # whole (a Hepsiburada package is named by its package number; a line whose order number the
        # fault removed is named by its line id, and its other fields still name the order)
        missing = {ext for ext in set(truth) - set(rows)
                   if not any(q.record_id == ext or ext in q.raw_json for q in quarantined)}
        assert not missing, sorted(missing)[:5]
        quarantined_total += len(quarantined)
        created = [e for e in store.events.read(account.tenant_id, limit=100_000, types=[OrderCreated.TYPE])
                   if e.data.get("account_id") == account.id]
        assert len(created) == len(rows) == len({e.data["external_order_id"] for e in created})  # announced once
    assert quarantined_total > 0  # the malformed records really reached the sync
    counts = sandbox.fake("trendyol").faults.counts + sandbox.fake("hepsiburada").faults.counts
    served = len(sandbox.fake("trendyol").requests) + len(sandbox.fake("hepsiburada").requests)
    assert all(counts[kind] > 0 for kind in ("rate_limit", "error", "timeout", "drop", "truncate", "malformed")), \
        counts
    assert sum(v for k, v in counts.items() if k != "malformed") >= 0.12 * served, (counts, served)
    store.close()
