"""Campaign triggers as timers of the engine runtime, with two runtimes on one SQLite file (and on
one PostgreSQL database).

A weekly campaign fires every Monday 10:00 Istanbul time and never twice for one occurrence; an
event-delayed campaign (T+48h after delivery) enters the customer once although both the order
and the shipment event announce the same delivery and both runtimes see them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from invekto_integrations.campaigns import CampaignEngine, EventTrigger, RecurringTrigger, Variant
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.events import EventBus
from invekto_integrations.messaging.base import OutboundMessage, SubmitResult
from invekto_integrations.models.events import OrderStatusChanged, ShipmentStatusChanged
from invekto_integrations.runtime import Runtime
from invekto_integrations.storage.sqlite import SQLiteStore

from .conftest import NOW

IST = ZoneInfo("Europe/Istanbul")
PHONES = [f"+90532555000{i}" for i in range(5)]
V = [Variant(name="A", template_name="haftalik", body_params=["name"])]


class CountingSink:
    """Records every submit, without deduplicating: a second send of one message would show."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.calls: list[tuple[datetime, OutboundMessage]] = []
        self._lock = threading.Lock()

    def submit(self, message: OutboundMessage) -> SubmitResult:
        with self._lock:
            self.calls.append((self.clock.now(), message))
            return SubmitResult(message_id=f"m{len(self.calls)}", status="queued")


@pytest.fixture(params=["sqlite", "postgres"])
def make_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., World]]:
    """``make_world(name, senders=1)``: a world on a fresh SQLite file or PostgreSQL schema."""
    stores: list[Any] = []

    def make(name: str, *, senders: int = 1) -> World:
        store: Any
        if request.param == "postgres":
            from invekto_integrations.storage.postgres import PostgresStore

            store = PostgresStore(request.getfixturevalue("postgres_url"))
        else:
            store = SQLiteStore(tmp_path / name)
        stores.append(store)
        return _world(store, senders=senders)

    yield make
    for store in stores:
        store.close()


World = tuple[Any, CampaignEngine, "CountingSink", FrozenClock, list[Runtime]]


def _world(store: Any, *, senders: int = 1) -> World:
    clock = FrozenClock(NOW)
    sink = CountingSink(clock)
    engine = CampaignEngine(campaigns=store.campaigns, recipients=store.campaign_recipients,
                            conversions=store.campaign_conversions, profiles=store.contact_profiles, sink=sink,
                            appointments=store.appointments, clock=clock, senders=senders)
    for i, phone in enumerate(PHONES):
        store.contact_profiles.record_order("t1", phone, order_ref=f"o{i}", at=NOW - timedelta(days=3),
                                            total=Decimal(10), platform="trendyol", name=f"Kişi{i}")
    bus = EventBus(store.events, clock)
    runtimes = [Runtime(store, [engine], clock=clock, owner=f"rt-{n}", tenants=["t1"], bus=bus) for n in "AB"]
    return store, engine, sink, clock, runtimes


def test_weekly_campaign_fires_in_istanbul_time_once_per_occurrence(make_world: Callable[..., World]) -> None:
    store, engine, sink, clock, runtimes = make_world("rt.db")
    c = engine.manager.create("t1", "Haftalık", variants=V,
                              trigger=RecurringTrigger(frequency="weekly", at="10:00", weekdays=[0]))
    engine.manager.schedule("t1", c.id)
    end = NOW + timedelta(days=15)
    while clock.now() < end:
        for rt in runtimes:
            rt.run_once()
        clock.advance(3600)
    keys = Counter(m.idempotency_key for _, m in sink.calls)
    assert all(n == 1 for n in keys.values()), keys
    occurrences = sorted({m.metadata["occurrence"] for _, m in sink.calls})
    assert occurrences == ["2026-11-30T10:00+03:00", "2026-12-07T10:00+03:00"]
    for at, m in sink.calls:  # sent on the Monday, within the hourly polling step after 10:00 local
        due = datetime.fromisoformat(m.metadata["occurrence"])
        assert due <= at < due + timedelta(hours=1)
        assert at.astimezone(IST).weekday() == 0 and at.astimezone(IST).hour == 10
    assert len(sink.calls) == 2 * len(PHONES)
    assert store.campaigns.get("t1", c.id).stats["occurrences"] == 2
    store.close()


def test_weekly_campaign_with_two_runtimes_in_threads(make_world: Callable[..., World]) -> None:
    store, engine, sink, clock, runtimes = make_world("rt2.db", senders=4)  # and parallel sends
    c = engine.manager.create("t1", "Haftalık", variants=V,
                              trigger=RecurringTrigger(cron="0 10 * * 1"))
    engine.manager.schedule("t1", c.id)
    runtimes[0].run_once()  # the recurring timer is registered (next Monday)
    assert sink.calls == []
    clock.set(datetime(2026, 11, 30, 7, 0, 30, tzinfo=UTC))  # just after Monday 10:00 Istanbul
    for _ in range(3):
        threads = [threading.Thread(target=rt.run_once) for rt in runtimes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(m.to_phone for _, m in sink.calls) == PHONES
    store.close()


def test_t_plus_48h_after_delivery_enters_the_customer_once(make_world: Callable[..., World]) -> None:
    store, engine, sink, clock, runtimes = make_world("evt.db")
    c = engine.manager.create("t1", "Yorum iste", variants=V,
                              trigger=EventTrigger(event="order_delivered", delay=timedelta(hours=48)))
    engine.manager.schedule("t1", c.id)
    bus = EventBus(store.events, clock)
    delivered_at = clock.now()
    bus.publish("t1", [
        OrderStatusChanged(tenant_id="t1", occurred_at=delivered_at, provider="trendyol", account_id="a",
                           external_order_id="TY-1", customer_phone=PHONES[0], old_status="shipped",
                           new_status="delivered"),
        ShipmentStatusChanged(tenant_id="t1", occurred_at=delivered_at, carrier="aras", tracking_number="T1",
                              old_status="out_for_delivery", new_status="delivered", customer_phone=PHONES[0],
                              external_order_id="TY-1"),
        ShipmentStatusChanged(tenant_id="t1", occurred_at=delivered_at, carrier="aras", tracking_number="T2",
                              old_status="in_transit", new_status="in_transit", customer_phone=PHONES[1]),
    ])
    for step in range(60):
        for rt in runtimes:
            rt.run_once()
        if step < 59:
            clock.advance(3600)
    assert len(sink.calls) == 1
    at, m = sink.calls[0]
    assert m.to_phone == PHONES[0] and m.metadata["occurrence"] == "evt:order:TY-1"
    assert delivered_at + timedelta(hours=48) <= at < delivered_at + timedelta(hours=49)
    store.close()


def test_one_shot_paused_past_its_time_sends_after_resume_once(make_world: Callable[..., World]) -> None:
    from invekto_integrations.campaigns import CampaignStatus, OneShotTrigger

    store, engine, sink, clock, runtimes = make_world("once.db")
    c = engine.manager.create("t1", "Bir kez", variants=V, trigger=OneShotTrigger(at=NOW + timedelta(hours=1)))
    engine.manager.schedule("t1", c.id)
    runtimes[0].run_once()  # arms the one-shot timer
    engine.manager.pause("t1", c.id)
    for _ in range(3):
        clock.advance(3600)
        for rt in runtimes:
            rt.run_once()
    assert sink.calls == []  # it came due while paused
    engine.manager.resume("t1", c.id)
    for _ in range(3):
        for rt in runtimes:
            rt.run_once()
        clock.advance(60)
    assert sorted(m.to_phone for _, m in sink.calls) == PHONES
    assert store.campaigns.get("t1", c.id).status == CampaignStatus.COMPLETED
    store.close()


def test_t_plus_2h_after_an_appointment_is_cancelled(make_world: Callable[..., World]) -> None:
    from invekto_integrations.models.events import AppointmentCancelled
    from invekto_integrations.storage.records import Appointment, AppointmentStatus

    store, engine, sink, clock, runtimes = make_world("appt.db")
    phone = "+905327770011"
    store.contact_profiles.record_appointment("t1", phone, appointment_ref="ap1", at=NOW + timedelta(days=3),
                                              service="İmplant", name="Elif")
    starts = NOW + timedelta(days=3)
    assert store.appointments.book_if_free("t1", Appointment(
        id="ap1", tenant_id="t1", doctor_id="d1", patient_phone=phone, patient_name="Elif", service_name="İmplant",
        starts_at=starts, ends_at=starts + timedelta(hours=1), status=AppointmentStatus.CANCELLED,
        created_at=NOW, updated_at=NOW))
    c = engine.manager.create("t1", "Yeniden randevu", variants=V,
                              trigger=EventTrigger(event="appointment_cancelled", delay=timedelta(hours=2)))
    engine.manager.schedule("t1", c.id)
    cancelled = AppointmentCancelled(tenant_id="t1", occurred_at=clock.now(), appointment_id="ap1", doctor_id="d1",
                                     starts_at=starts, ends_at=starts + timedelta(hours=1), service_name="İmplant")
    EventBus(store.events, clock).publish("t1", [cancelled, cancelled.model_copy(update={"event_id": "dup"})])
    for _ in range(6):
        for rt in runtimes:
            rt.run_once()
        clock.advance(30 * 60)
    assert [(m.to_phone, m.metadata["occurrence"]) for _, m in sink.calls] == [(phone, "evt:appointment:ap1")]
    assert NOW + timedelta(hours=2) <= sink.calls[0][0] < NOW + timedelta(hours=2, minutes=30)
    store.close()
