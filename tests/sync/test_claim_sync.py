"""Return-claim sync over the Trendyol and Hepsiburada fakes: stored claims, opened/updated
events once per fact, accounts failing alone."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sync_world import START, World, make_world

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.events import ReturnClaimOpened, ReturnClaimUpdated, decode_event
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.hepsiburada import PROVIDER as HEPSIBURADA
from invekto_integrations.providers.trendyol import PROVIDER as TRENDYOL
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.sync.claims import ClaimAccountStatus, ClaimSyncEngine
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, sleepless: Clock) -> Iterator[World]:
    store = MemoryStore() if request.param == "memory" else SQLiteStore()
    w = make_world(store, sleep_clock=sleepless, providers=[TRENDYOL, HEPSIBURADA])
    yield w
    w.engine.close()
    store.close()


def claim_engine(w: World, sleepless: Clock) -> ClaimSyncEngine:
    retry = RetryPolicy(max_attempts=3, clock=sleepless, rng=random.Random(1))

    def options(account: IntegrationAccount) -> ConnectOptions:
        return ConnectOptions(base_url=w.sandbox.inprocess_url(account.provider), transport=w.sandbox.transport(),
                              clock=w.clock, retry=retry, limiter_registry=RateLimiterRegistry(sleepless))

    return ClaimSyncEngine(w.service, w.store.return_claims, w.store.checkpoints, EventBus(w.store.events, w.clock),
                           orders=w.store.orders, clock=w.clock, options=options)


def claim_events(w: World, tenant: str) -> list[Any]:
    return [decode_event(e.type, e.version, e.data)
            for e in w.store.events.read(tenant, types=[ReturnClaimOpened.TYPE, ReturnClaimUpdated.TYPE])]


async def test_claims_of_both_marketplaces_are_stored_with_events(world: World, sleepless: Clock) -> None:
    w = world
    ty_acc, hb_acc = w.connect("t1", "trendyol", orders=3, days=10), w.connect("t1", "hepsiburada", orders=3, days=10)
    other = w.connect("t2", "hepsiburada", orders=2, days=10)
    await w.engine.run()  # the order cache lends the customer's phone to Hepsiburada claims
    ty, hb = w.sandbox.fake("trendyol"), w.sandbox.fake("hepsiburada")
    assert isinstance(ty, TrendyolFake) and isinstance(hb, HepsiburadaFake)
    ty_claim = ty.add_claim(w.key(ty_acc), ty.package_ids(w.key(ty_acc))[0], at=START - timedelta(days=2))
    hb_order = hb.order_numbers(w.key(hb_acc))[0]
    hb_claim = hb.add_claim(w.key(hb_acc), hb_order, at=START - timedelta(days=1))
    hb.add_claim(w.key(other), hb.order_numbers(w.key(other))[0], at=START - timedelta(days=1))
    hb.add_claim(w.key(hb_acc), hb.order_numbers(w.key(hb_acc))[1], at=START - timedelta(days=45))  # out of window

    engine = claim_engine(w, sleepless)
    report = engine.run(["t1"])
    assert report.opened == 2 and report.updated == 0 and not report.failed
    stored = w.store.return_claims.find("t1")
    assert {(c.provider, c.claim_id) for c in stored} == {("trendyol", ty_claim), ("hepsiburada", hb_claim)}
    assert w.store.return_claims.find("t2") == []  # tenant t2 was not run
    events = claim_events(w, "t1")
    assert [type(e) for e in events] == [ReturnClaimOpened, ReturnClaimOpened]
    hb_event = next(e for e in events if e.provider == "hepsiburada")
    assert hb_event.claim_id == hb_claim and hb_event.external_order_id == hb_order
    assert hb_event.status == "requested" and hb_event.raw_status == "NewRequest" and hb_event.backfill
    cached = w.store.orders.get("t1", "hepsiburada", hb_acc.id, hb_order)
    assert cached is not None and hb_event.customer_phone == cached.customer_phone

    # nothing changed: no event, rows only touched
    w.clock.advance(hours=1)
    again = engine.run(["t1"])
    assert again.opened == again.updated == 0 and sum(a.unchanged for a in again.accounts) == 2
    assert len(claim_events(w, "t1")) == 2

    # the claim is refunded: one update with the refund amount; a repeat run adds nothing
    hb.advance_claim(w.key(hb_acc), hb_claim, "Refunded", at=w.clock.now())
    w.clock.advance(hours=1)
    third = engine.run(["t1"])
    assert third.updated == 1
    engine.run(["t1"])
    updated = [e for e in claim_events(w, "t1") if isinstance(e, ReturnClaimUpdated)]
    assert len(updated) == 1
    u = updated[0]
    assert (u.old_status, u.status, u.old_raw_status, u.raw_status) == ("requested", "refunded", "NewRequest",
                                                                        "Refunded")
    assert u.refund_amount is not None and u.refund_amount.amount > 0 and not u.backfill
    row = w.store.return_claims.get("t1", "hepsiburada", hb_acc.id, hb_claim)
    assert row is not None and row.status == "refunded" and row.refund_amount == u.refund_amount.amount
    assert row.first_seen_at == START  # kept across updates


async def test_refused_credentials_fail_one_account_and_the_others_go_on(world: World, sleepless: Clock) -> None:
    w = world
    ty_acc, hb_acc = w.connect("t1", "trendyol", orders=2), w.connect("t1", "hepsiburada", orders=2)
    ty = w.sandbox.fake("trendyol")
    hb = w.sandbox.fake("hepsiburada")
    assert isinstance(ty, TrendyolFake) and isinstance(hb, HepsiburadaFake)
    hb.add_claim(w.key(hb_acc), hb.order_numbers(w.key(hb_acc))[0], at=START - timedelta(days=1))
    ty.credentials[w.key(ty_acc)] = ("other-key", "other-secret")  # the seller rotated its key
    report = claim_engine(w, sleepless).run()
    by_provider = {a.provider: a for a in report.accounts}
    assert by_provider["trendyol"].status is ClaimAccountStatus.AUTH_FAILED
    assert by_provider["hepsiburada"].status is ClaimAccountStatus.OK and by_provider["hepsiburada"].opened == 1
    refreshed = w.store.accounts.get("t1", ty_acc.id)
    assert refreshed is not None and refreshed.status is AccountStatus.INVALID_CREDENTIALS
