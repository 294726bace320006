"""The runtime on memory and SQLite: event delivery, failures, one-shot/delayed/recurring timers,
leases and timer claims with expiry, status, stop, the async twin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from runtime_world import START, Probe, order_event

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.events import EventBus
from invekto_integrations.models.events import DomainEvent
from invekto_integrations.runtime import AsyncRuntime, BaseEngine, Engine, EngineContext, Runtime, Schedule, Timer
from invekto_integrations.storage.runtime_protocols import TimerRecord


def publish(store: Any, clock: FrozenClock, tenant: str, *ns: int) -> None:
    EventBus(store.events, clock).publish(tenant, [order_event(tenant, n) for n in ns])


def test_a_probe_is_an_engine() -> None:
    assert isinstance(Probe(), Engine)


def test_events_are_handled_once_in_order_per_tenant(store: Any, clock: FrozenClock) -> None:
    publish(store, clock, "t1", 1, 2, 3)
    publish(store, clock, "t2", 4)
    probe = Probe()
    rt = Runtime(store, [probe], clock=clock, batch=2)
    report = rt.run_once()
    assert report.handled == 4 and not report.errors
    assert probe.events == [("t1", "o1"), ("t1", "o2"), ("t1", "o3"), ("t2", "o4")]
    assert rt.run_once().handled == 0
    publish(store, clock, "t1", 5)
    assert rt.run_once().handled == 1
    assert probe.events[-1] == ("t1", "o5")
    assert store.events.cursor("t1", "probe") == store.events.read("t1")[-1].seq


def test_a_failing_event_is_retried_then_skipped_and_reported(store: Any, clock: FrozenClock) -> None:
    publish(store, clock, "t1", 1, 2, 3)
    probe = Probe(fail_on={"o2"})
    rt = Runtime(store, [probe], clock=clock, max_attempts=3)
    first = rt.run_once()
    assert probe.events == [("t1", "o1")] and first.handled == 1
    assert "cannot handle o2" in first.errors[0]
    status = rt.status(["t1"])[0]
    assert status.lag == 2 and status.failures == 1 and status.failing_seq is not None
    assert status.last_error is not None and "o2" in status.last_error
    rt.run_once()
    third = rt.run_once()  # third failure: given up, the rest goes on
    assert third.for_pair("probe", "t1").skipped_events == 1
    assert probe.events == [("t1", "o1"), ("t1", "o3")]
    after = rt.status(["t1"])[0]
    assert after.lag == 0 and after.failures == 0 and after.failing_seq is None


def test_one_shot_timer_fires_once_when_due_and_keys_are_idempotent(store: Any, clock: FrozenClock) -> None:
    probe = Probe(consumes=())
    rt = Runtime(store, [probe], clock=clock, tenants=["t1"])
    ctx = rt.context("t1", probe)
    assert ctx.schedule("remind", START + timedelta(hours=2), {"n": 1})
    assert not ctx.schedule("remind", START + timedelta(hours=5), {"n": 2})  # same key: no-op
    assert rt.run_once().fired == 0
    assert rt.status()[0].next_timer_at == START + timedelta(hours=2)
    clock.advance(hours=2)
    assert rt.run_once().fired == 1
    assert [(t.key, dict(t.payload), t.due_at) for t in probe.timers] == [("remind", {"n": 1},
                                                                          START + timedelta(hours=2))]
    clock.advance(hours=10)
    assert rt.run_once().fired == 0
    assert not ctx.schedule("remind", START + timedelta(days=1))  # a fired key stays taken
    assert store.timers.get("t1", "probe", "remind").state == "fired"


def test_cancelled_timer_never_fires(store: Any, clock: FrozenClock) -> None:
    probe = Probe(consumes=())
    rt = Runtime(store, [probe], clock=clock, tenants=["t1"])
    ctx = rt.context("t1", probe)
    ctx.schedule("x", START + timedelta(minutes=1))
    assert ctx.cancel("x") and not ctx.cancel("x")
    clock.advance(minutes=5)
    assert rt.run_once().fired == 0 and probe.timers == []


def test_delayed_timer_keyed_by_event_is_scheduled_once_even_when_redelivered(store: Any, clock: FrozenClock) -> None:
    publish(store, clock, "t1", 1)
    probe = Probe(delay_seconds=48 * 3600)
    rt = Runtime(store, [probe], clock=clock)
    rt.run_once()
    store.events.advance("t1", "other", 0)
    # Re-delivery: the handler runs again for the same event (a cursor that did not move).
    event = rt.bus.log.read("t1")[0]
    from invekto_integrations.models.events import decode_event
    probe.handle(rt.context("t1", probe), decode_event(event.type, event.version, event.data))
    pending = store.timers.find("t1", engine="probe")
    assert len(pending) == 1 and pending[0].due_at == START + timedelta(hours=48)
    assert pending[0].key.startswith("followup:")
    clock.advance(hours=47, minutes=59)
    assert rt.run_once().fired == 0
    clock.advance(minutes=1)
    assert rt.run_once().fired == 1
    assert probe.timers[0].payload["order"] == "o1"
    clock.advance(days=3)
    assert rt.run_once().fired == 0


def test_failing_timer_is_retried_with_backoff_then_given_up(store: Any, clock: FrozenClock) -> None:
    probe = Probe(consumes=(), fail_on={"bad"})
    rt = Runtime(store, [probe], clock=clock, tenants=["t1"], max_attempts=2, retry_backoff=timedelta(minutes=1))
    rt.context("t1", probe).schedule("bad", START)
    first = rt.run_once()
    assert first.fired == 0 and "timer bad fails" in first.errors[0]
    row = store.timers.get("t1", "probe", "bad")
    assert row.state == "pending" and row.attempts == 1 and row.claim_until == START + timedelta(minutes=1)
    assert rt.run_once().errors == []  # backing off: not claimed
    clock.advance(minutes=1)
    second = rt.run_once()
    assert second.errors and store.timers.get("t1", "probe", "bad").state == "fired"  # given up


def test_recurring_schedule_fires_each_occurrence_and_coalesces_missed_ones(store: Any, clock: FrozenClock) -> None:
    probe = Probe(consumes=(), schedules=[Schedule("monday", cron="0 10 * * 1", payload={"kind": "digest"})])
    rt = Runtime(store, [probe], clock=clock, tenants=["t1"])
    rt.run_once()  # START is Monday 2026-03-02 09:00 UTC = 12:00 Istanbul: next is 9 March 07:00 UTC
    first = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    assert rt.status()[0].next_timer_at == first
    clock.set(first)
    assert rt.run_once().fired == 1
    assert probe.timers[-1].due_at == first and probe.timers[-1].recurring
    assert probe.timers[-1].occurrence == "monday@2026-03-09T07:00:00+00:00"
    assert rt.run_once().fired == 0
    clock.set(datetime(2026, 4, 1, tzinfo=UTC))  # three Mondays missed: fired once, late
    assert rt.run_once().fired == 1
    assert rt.status()[0].next_timer_at == datetime(2026, 4, 6, 7, 0, tzinfo=UTC)


def test_changed_and_removed_schedules_repoint_and_drop_their_timers(store: Any, clock: FrozenClock) -> None:
    probe = Probe(consumes=(), schedules=[Schedule("s", cron="0 10 * * *")])
    rt = Runtime(store, [probe], clock=clock, tenants=["t1"])
    rt.run_once()
    assert store.timers.get("t1", "probe", "s").due_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    probe._schedules = [Schedule("s", cron="0 10 * * *", timezone="Europe/Berlin")]
    rt.run_once()
    assert store.timers.get("t1", "probe", "s").due_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(days=1)
    probe._schedules = []
    rt.run_once()
    assert store.timers.get("t1", "probe", "s") is None


def test_tenant_timezone_comes_from_the_tenant_settings(store: Any, clock: FrozenClock) -> None:
    from invekto_integrations.models.settings import TenantSettings

    store.tenant_settings.save("t2", TenantSettings(tenant_id="t2", timezone="America/New_York"))
    probe = Probe(consumes=(), schedules=[Schedule("s", cron="0 10 * * *")])
    rt = Runtime(store, [probe], clock=clock, tenants=["t1", "t2"])
    rt.run_once()
    assert store.timers.get("t1", "probe", "s").due_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # default zone
    assert store.timers.get("t2", "probe", "s").due_at == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    store.tenant_settings.save("t3", TenantSettings(tenant_id="t3"))
    assert "t3" in Runtime(store, [probe], clock=clock).tenants()  # a tenant known by its settings alone
    store.tenant_settings.save("t2", TenantSettings(tenant_id="t2", timezone="Asia/Tokyo"))
    rt.run_once()  # a changed zone re-points the timer
    assert store.timers.get("t2", "probe", "s").due_at == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


def test_a_held_lease_blocks_another_runtime_until_it_expires(store: Any, clock: FrozenClock) -> None:
    publish(store, clock, "t1", 1)
    ttl = timedelta(seconds=30)
    # A runtime that took the lease and died (never released it).
    assert store.leases.acquire("t1", "probe", "dead-host:1", clock.now(), ttl)
    probe = Probe()
    rt = Runtime(store, [probe], clock=clock, owner="live-host:2", lease_ttl=ttl)
    report = rt.run_once()
    assert report.for_pair("probe", "t1").busy and probe.events == []
    assert rt.status()[0].lease_owner == "dead-host:1"
    clock.advance(seconds=30)
    assert rt.run_once().handled == 1 and probe.events == [("t1", "o1")]
    lease = store.leases.get("t1", "probe")
    assert lease.owner is None and lease.last_run_at == clock.now()  # released after the round


def test_a_claimed_timer_is_not_fired_by_another_runtime_until_the_claim_expires(store: Any,
                                                                                 clock: FrozenClock) -> None:
    probe = Probe(consumes=())
    ttl = timedelta(seconds=30)
    rt = Runtime(store, [probe], clock=clock, owner="b", lease_ttl=ttl, tenants=["t1"])
    rt.context("t1", probe).schedule("k", START)
    # Runtime "a" claimed the occurrence and died before recording it.
    claimed = store.timers.claim_due("t1", "probe", clock.now(), "a", clock.now() + ttl)
    assert [c.key for c in claimed] == ["k"]
    assert rt.run_once().fired == 0
    clock.advance(seconds=31)
    assert rt.run_once().fired == 1
    # "a" wakes up and tries to record its firing: refused (the occurrence is no longer its).
    assert not store.timers.complete("t1", "probe", "k", owner="a", due_at=START, at=clock.now(), next_due=None)
    assert store.timers.get("t1", "probe", "k").fire_count == 1


def test_two_runtimes_share_the_work_without_doing_anything_twice(store: Any, clock: FrozenClock) -> None:
    publish(store, clock, "t1", *range(1, 6))
    publish(store, clock, "t2", *range(6, 9))
    a, b = Probe(), Probe()
    ra = Runtime(store, [a], clock=clock, owner="a")
    rb = Runtime(store, [b], clock=clock, owner="b")
    for tenant in ("t1", "t2"):
        ra.context(tenant, a).schedule("once", START)
    ra.run_once(["t1"])
    rb.run_once()
    ra.run_once()
    handled = sorted(a.events + b.events)
    assert handled == sorted([("t1", f"o{n}") for n in range(1, 6)] + [("t2", f"o{n}") for n in range(6, 9)])
    assert len(a.timers) + len(b.timers) == 2


def test_stop_ends_run_forever_after_the_current_step(store: Any, clock: FrozenClock) -> None:
    publish(store, clock, "t1", 1, 2, 3)

    class Stopper(Probe):
        def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
            super().handle(ctx, event)
            rt.stop()

    probe = Stopper()
    rt = Runtime(store, [probe], clock=clock)
    rt.run_forever(idle=5)
    assert probe.events == [("t1", "o1")]
    assert store.events.cursor("t1", "probe") == store.events.read("t1")[0].seq  # no cursor lost
    assert store.leases.get("t1", "probe").owner is None


def test_run_forever_idles_on_the_clock_between_empty_rounds(store: Any, clock: FrozenClock) -> None:
    probe = Probe(consumes=(), schedules=[Schedule("tick", cron="*/10 * * * *")])
    rt = Runtime(store, [probe], clock=clock, tenants=["t1"])

    original = probe.on_timer

    def on_timer(ctx: EngineContext, timer: Timer) -> None:
        original(ctx, timer)
        if len(probe.timers) == 3:
            rt.stop()

    probe.on_timer = on_timer  # type: ignore[method-assign]
    rt.run_forever(idle=60)
    assert [t.due_at.minute for t in probe.timers] == [10, 20, 30]
    assert clock.now() < START + timedelta(minutes=33)


async def test_async_runtime_hosts_async_and_plain_engines(store: Any, clock: FrozenClock) -> None:
    publish(store, clock, "t1", 1, 2)
    seen: list[str] = []

    class AsyncProbe(BaseEngine):
        name = "async-probe"
        consumes = frozenset({"order.created"})

        async def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
            await asyncio.sleep(0)
            seen.append(event.event_id)

        async def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
            seen.append(timer.key)

    plain = Probe()
    rt = AsyncRuntime(store, [AsyncProbe(), plain], clock=clock)
    rt.context("t1", plain).schedule("p", START)
    rt.context("t1", AsyncProbe()).schedule("a", START)
    report = await rt.run_once()
    assert report.handled == 4 and report.fired == 2 and not report.errors
    assert len(seen) == 3 and seen[-1] == "a" and plain.events == [("t1", "o1"), ("t1", "o2")]
    async with rt.running(idle=0.01):
        await asyncio.sleep(0)
    assert rt.stopping


def test_a_sync_runtime_runs_async_handlers_to_completion(store: Any, clock: FrozenClock) -> None:
    publish(store, clock, "t1", 1)
    seen: list[str] = []

    class AsyncProbe(BaseEngine):
        name = "async-probe"
        consumes = frozenset({"order.created"})

        async def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
            await asyncio.sleep(0)
            seen.append(event.event_id)

    assert Runtime(store, [AsyncProbe()], clock=clock).run_once().handled == 1 and len(seen) == 1


def test_engines_publish_through_the_bus_and_subscribers_see_it(store: Any, clock: FrozenClock) -> None:
    class Relay(BaseEngine):
        name = "relay"
        consumes = frozenset()

        def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
            ctx.publish(order_event(ctx.tenant_id, 99))

    bus = EventBus(store.events, clock)
    heard: list[str] = []
    bus.subscribe(lambda e: heard.append(e.type))
    rt = Runtime(store, [Relay()], clock=clock, bus=bus, tenants=["t1"])
    rt.context("t1", Relay()).schedule("go", START)
    rt.run_once()
    assert heard == ["order.created"] and len(store.events.read("t1")) == 1


def test_bad_configuration_is_refused_with_invalid_argument(store: Any) -> None:
    with pytest.raises(InvalidArgument):
        Runtime(store, [Probe("x"), Probe("x")])
    with pytest.raises(InvalidArgument):
        Runtime(store, [Probe("")])
    with pytest.raises(InvalidArgument):
        Runtime(store, [Probe()], lease_ttl=timedelta(0))

    class AsyncTx(BaseEngine):
        name = "tx"
        transactional = True

        async def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
            return None

    with pytest.raises(InvalidArgument):
        Runtime(store, [AsyncTx()])
    with pytest.raises(InvalidArgument):
        Schedule("s")
    with pytest.raises(InvalidArgument):
        Schedule("s", cron="61 * * * *")
    with pytest.raises(InvalidArgument):
        Schedule("s", rrule="FREQ=SOMETIMES")
    with pytest.raises(InvalidArgument):
        Schedule("s", cron="0 10 * * *", timezone="Mars/Olympus")
    with pytest.raises(InvalidArgument):
        Schedule("s", cron="0 10 * * *", rrule="FREQ=DAILY")
    ctx = Runtime(store, [Probe()]).context("t1", Probe())
    with pytest.raises(InvalidArgument):
        ctx.schedule("", START)
    with pytest.raises(InvalidArgument):
        ctx.schedule("k", datetime(2026, 1, 1))


def test_timers_of_one_tenant_are_invisible_to_another(store: Any, clock: FrozenClock) -> None:
    from invekto_integrations.storage.protocols import TenantMismatch

    row = TimerRecord(tenant_id="t1", engine="e", key="k", due_at=START, created_at=START, updated_at=START)
    assert store.timers.add("t1", row)
    assert store.timers.get("t2", "e", "k") is None
    assert store.timers.claim_due("t2", "e", START, "o", START + timedelta(minutes=1)) == []
    with pytest.raises(TenantMismatch):
        store.timers.add("t2", row)


def test_a_slow_handler_keeps_its_lease_and_claim_alive_with_a_heartbeat(store: Any, clock: FrozenClock) -> None:
    import threading
    import time

    started, release = threading.Event(), threading.Event()

    class Slow(BaseEngine):
        name = "slow"

        def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
            clock.advance(seconds=10)  # far past the 0.3 s lease and claim
            started.set()
            assert release.wait(10)

    ttl = timedelta(seconds=0.3)  # heartbeats every 0.1 real seconds
    a = Runtime(store, [Slow()], clock=clock, owner="a", lease_ttl=ttl, tenants=["t1"])
    a.context("t1", Slow()).schedule("k", START)
    worker = threading.Thread(target=a.run_once)
    worker.start()
    try:
        assert started.wait(10)
        deadline = time.monotonic() + 5
        while store.timers.get("t1", "slow", "k").claim_until <= clock.now() and time.monotonic() < deadline:
            release.wait(0.02)
        assert store.timers.get("t1", "slow", "k").claim_until > clock.now()  # renewed while running
        b = Runtime(store, [Slow()], clock=clock, owner="b", lease_ttl=ttl, tenants=["t1"])
        assert b.run_once().for_pair("slow", "t1").busy
        assert store.timers.claim_due("t1", "slow", clock.now(), "c", clock.now() + ttl) == []
    finally:
        release.set()
        worker.join(10)
    row = store.timers.get("t1", "slow", "k")
    assert row.state == "fired" and row.fire_count == 1
