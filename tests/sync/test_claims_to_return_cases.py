"""Claims end to end into the dashboard: the claims sync reads both marketplace fakes and publishes
return-claim events; the runtime hands them to `ReturnCaseEngine`, which keeps one return case per
claim; the seller's contact and outcome are recorded; a refund the marketplace reports settles the
other case; the returns panel shows the result."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sync_world import START, World, make_world

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.dashboard import (
    ReportPeriod,
    ReturnCaseEngine,
    ReturnOutcome,
    record_contact,
    record_return_outcome,
    returns_panel,
)
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import IntegrationAccount
from invekto_integrations.models.orders import Order
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.hepsiburada import PROVIDER as HEPSIBURADA
from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL
from invekto_integrations.runtime import Runtime
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.sync.claims import ClaimSyncEngine
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, sleepless: Clock) -> Iterator[World]:
    store = MemoryStore() if request.param == "memory" else SQLiteStore()
    w = make_world(store, sleep_clock=sleepless, providers=[TRENDYOL, HEPSIBURADA])
    yield w
    w.engine.close()
    store.close()


async def test_claims_become_return_cases_and_the_panel_counts_them(world: World, sleepless: Clock) -> None:
    w = world
    ty_acc, hb_acc = w.connect("t1", "trendyol", orders=3, days=10), w.connect("t1", "hepsiburada", orders=3, days=10)
    await w.engine.run()
    ty, hb = w.sandbox.fake("trendyol"), w.sandbox.fake("hepsiburada")
    assert isinstance(ty, TrendyolFake) and isinstance(hb, HepsiburadaFake)
    ty_claim = ty.add_claim(w.key(ty_acc), ty.package_ids(w.key(ty_acc))[0], at=START - timedelta(days=2))
    hb_claim = hb.add_claim(w.key(hb_acc), hb.order_numbers(w.key(hb_acc))[0], at=START - timedelta(days=1))

    retry = RetryPolicy(max_attempts=3, clock=sleepless, rng=random.Random(1))

    def options(account: IntegrationAccount) -> ConnectOptions:
        return ConnectOptions(base_url=w.sandbox.inprocess_url(account.provider), transport=w.sandbox.transport(),
                              clock=w.clock, retry=retry, limiter_registry=RateLimiterRegistry(sleepless))

    sync = ClaimSyncEngine(w.service, w.store.return_claims, w.store.checkpoints, EventBus(w.store.events, w.clock),
                           orders=w.store.orders, clock=w.clock, options=options)
    runtime = Runtime(w.store, [ReturnCaseEngine(w.store.return_cases, orders=w.store.orders)], clock=w.clock,
                      tenants=["t1"])
    assert sync.run(["t1"]).opened == 2
    runtime.run_once()
    runtime.run_once()  # nothing new: no change
    cases = {c.provider: c for c in w.store.return_cases.find("t1")}
    assert set(cases) == {"trendyol", "hepsiburada"}
    assert cases["trendyol"].claim_id == ty_claim and cases["hepsiburada"].claim_id == hb_claim
    assert all(c.outcome is ReturnOutcome.PENDING for c in cases.values())
    # No refund amount yet: the Hepsiburada case takes its cached order's total (cached by order
    # number); the Trendyol one (cached by package) waits for the marketplace's amount.
    hb_order = w.store.orders.get("t1", "hepsiburada", hb_acc.id, cases["hepsiburada"].order_number)
    assert hb_order is not None
    hb_total = Order.model_validate_json(hb_order.order_data_json).total
    assert cases["hepsiburada"].claim_amount == hb_total > 0 and cases["trendyol"].claim_amount == 0
    assert cases["hepsiburada"].customer_phone == hb_order.customer_phone

    # The seller talks the Trendyol customer into an exchange; Hepsiburada refunds the other one.
    record_contact(w.store.return_cases, "t1", "trendyol", ty_claim, at=w.clock.now())
    record_return_outcome(w.store.return_cases, "t1", "trendyol", ty_claim, ReturnOutcome.EXCHANGED,
                          at=w.clock.now())
    hb.advance_claim(w.key(hb_acc), hb_claim, "Refunded", at=w.clock.now())
    w.clock.advance(hours=1)
    assert sync.run(["t1"]).updated == 1
    runtime.run_once()
    refunded = w.store.return_cases.get("t1", "hepsiburada", hb_claim)
    assert refunded is not None and refunded.outcome is ReturnOutcome.REFUNDED and refunded.claim_status == "refunded"
    assert w.store.return_cases.get("t1", "trendyol", ty_claim).outcome is ReturnOutcome.EXCHANGED

    day = START.date()
    panel = returns_panel(w.store.return_cases, ReportPeriod("t1", day - timedelta(days=7), day))
    t = panel.totals
    assert (t.claims, t.contacted, t.exchanged, t.refunded) == (2, 1, 1, 1)
    assert t.recovery_rate.numerator == 1 and t.recovery_rate.denominator == 2
    assert t.recovered_amount == Decimal("0.00")  # the exchanged Trendyol claim never named an amount
    assert t.refunded_amount == refunded.claim_amount.quantize(Decimal("0.01")) > 0
