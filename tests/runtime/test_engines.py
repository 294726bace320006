"""The built-in engines hosted by the runtime (runtime.engines) against the sandbox fakes, on the
injected clock: the watcher, the waitlist (offers, answers, expiry, a stalled offer finished) and
the outbox dispatcher; and the one publish path (their events reach the bus's subscribers)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from invekto_integrations.appointments.booking import AppointmentBook
from invekto_integrations.appointments.models import Doctor, OfferStatus, TimeRange, WaitlistOffer, WaitlistStatus
from invekto_integrations.appointments.pricing import PriceCatalog
from invekto_integrations.appointments.slots import SlotFinder
from invekto_integrations.appointments.waitlist import WaitlistEngine, WaitlistSettings
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ids import new_id
from invekto_integrations.events import EventBus
from invekto_integrations.messaging.base import RecordingSink
from invekto_integrations.models.events import InboundMessageReceived, TrackingCodeAssigned
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.runtime import Runtime
from invekto_integrations.runtime.engines import (
    ShipmentWatcherEngine,
    WaitlistOfferEngine,
    WaitlistReplyEngine,
)
from invekto_integrations.sync.shipments import ShipmentWatcher
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake

IST = ZoneInfo("Europe/Istanbul")
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 09:00 in Istanbul


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def test_watcher_registers_announced_parcels_and_polls_them_on_its_timer(store: Any, clock: FrozenClock) -> None:
    fake = ArasFake(clock=clock)
    fake.register_parcel("fake_user", "3500000000017", [(timedelta(hours=1), "1"), (timedelta(hours=25), "6")])
    sandbox = Sandbox([fake], clock=clock)
    bus = EventBus(store.events, clock)
    heard: list[str] = []
    bus.subscribe(lambda e: heard.append(e.data["new_status"]), types=["shipment.status_changed"])
    with ArasClient("fake_user", "fake_pass", "1000000000001", base_url=sandbox.inprocess_url("aras"),
                    transport=sandbox.transport(), clock=clock) as aras:
        watcher = ShipmentWatcher(store.shipments, bus, lambda t, c: aras if c == "aras" else None, clock=clock)
        rt = Runtime(store, [ShipmentWatcherEngine(watcher, every="*/10 * * * *")], clock=clock, bus=bus)
        bus.publish("t1", [TrackingCodeAssigned(
            tenant_id="t1", occurred_at=clock.now(), provider="alpha", account_id="acc", external_order_id="o1",
            tracking_code="3500000000017", cargo_company="Aras Kargo", customer_phone="+905321112233")])
        assert rt.run_once().handled == 1
        assert store.shipments.get("t1", "aras", "3500000000017") is not None
        for hours in (2, 26):
            clock.set(START + timedelta(hours=hours))
            rt.run_once()  # the poll timer fires (and the watcher's own schedule says the parcel is due)
        assert heard == ["picked_up", "delivered"]  # published through the bus: subscribers hear each once
        assert store.shipments.get("t1", "aras", "3500000000017").status == "delivered"
        status = {s.engine: s for s in rt.status()}["shipments.watcher"]
        assert status.lag == 0 and status.last_error is None and status.next_timer_at is not None


class Clinic:
    def __init__(self, store: Any, clock: FrozenClock) -> None:
        self.bus = EventBus(store.events, clock)
        slots = SlotFinder(store.appointments, store.doctors, store.service_pricing, waitlist=store.waitlist,
                           clock=clock)
        self.book = AppointmentBook(store.appointments, slots, self.bus, clock=clock)
        PriceCatalog(store.service_pricing, clock=clock).create("t1", "Muayene", "500", "500", 30)
        week = {d: [TimeRange(start=time(9), end=time(17))] for d in range(1, 6)}
        store.doctors.save("t1", Doctor(id="d1", tenant_id="t1", name="Dr. Genel", working_hours=week,
                                  created_at=START, updated_at=START))
        self.sink = RecordingSink()
        self.waitlist = WaitlistEngine(store.waitlist, self.book, self.sink, self.bus, clock=clock,
                                       settings=WaitlistSettings(template_name=None))

    def cancelled(self, hour: int) -> str:
        starts = datetime(2026, 3, 2, hour, 0, tzinfo=IST).astimezone(UTC)
        appt = self.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=starts,
                              patient_phone="+905320000000")
        self.book.cancel("t1", appt.id)
        return appt.id


def test_waitlist_offers_books_on_yes_and_expires_on_its_timer(store: Any, clock: FrozenClock) -> None:
    c = Clinic(store, clock)
    rt = Runtime(store, [WaitlistOfferEngine(c.waitlist), WaitlistReplyEngine(c.waitlist)], clock=clock, bus=c.bus)
    ali = c.waitlist.join("t1", "+905321111111", "Muayene", patient_name="Ali")
    zeynep = c.waitlist.join("t1", "+905322222222", "Muayene", patient_name="Zeynep")
    first = c.cancelled(14)
    rt.run_once()
    [offer] = store.waitlist.find_offers("t1", source_appointment_id=first)
    assert offer.entry_id == ali.id and c.sink.messages[-1].to_phone == "+905321111111"
    c.bus.publish("t1", [InboundMessageReceived(tenant_id="t1", occurred_at=clock.now(), provider="whatsapp_cloud",
                                                provider_message_id="wamid.1", from_phone="905321111111", kind="text",
                                                text="Evet")])
    rt.run_once()
    assert store.waitlist.get("t1", ali.id).status == WaitlistStatus.BOOKED
    second = c.cancelled(15)
    rt.run_once()
    [offer2] = store.waitlist.find_offers("t1", source_appointment_id=second)
    assert offer2.entry_id == zeynep.id and offer2.status == OfferStatus.PENDING
    clock.advance(minutes=31)  # no answer: the expiry timer (every minute) frees the slot
    rt.run_once()
    assert store.waitlist.get_offer("t1", offer2.id).status == OfferStatus.EXPIRED
    assert store.waitlist.get("t1", zeynep.id).status == WaitlistStatus.WAITING
    types = [e.type for e in store.events.read("t1")]
    assert types.count("waitlist.offer_made") == 2 and types.count("waitlist.offer_resolved") == 2


def test_a_stalled_offer_is_finished_when_the_cancellation_is_delivered_again(store: Any,
                                                                               clock: FrozenClock) -> None:
    c = Clinic(store, clock)
    ali = c.waitlist.join("t1", "+905321111111", "Muayene", patient_name="Ali")
    source = c.cancelled(14)
    freed = store.appointments.get("t1", source)
    # A worker stored the offer and stopped before the entry, the message and the event.
    stalled = WaitlistOffer(
        id=new_id(), tenant_id="t1", entry_id=ali.id, patient_phone=ali.patient_phone, doctor_id="d1",
        service_name="Muayene", starts_at=freed.starts_at, ends_at=freed.ends_at, buffer_minutes=0,
        source_appointment_id=source, expires_at=clock.now() + timedelta(minutes=30), created_at=clock.now())
    assert store.waitlist.add_offer("t1", stalled)
    assert store.waitlist.get("t1", ali.id).status == WaitlistStatus.WAITING
    rt = Runtime(store, [WaitlistOfferEngine(c.waitlist)], clock=clock, bus=c.bus)
    rt.run_once()  # the cancellation (never marked handled) arrives again
    offers = store.waitlist.find_offers("t1", source_appointment_id=source)
    assert [o.id for o in offers] == [stalled.id] and offers[0].message_id is not None
    assert store.waitlist.get("t1", ali.id).status == WaitlistStatus.OFFERED
    assert [m.idempotency_key for m in c.sink.messages] == [f"waitlist_offer:{stalled.id}"]
    made = store.events.read("t1", types=["waitlist.offer_made"])
    assert [e.data["offer_id"] for e in made] == [stalled.id]
    c.waitlist.offer_slot("t1", source)  # again: nothing new
    assert len(c.sink.messages) == 1 and len(store.events.read("t1", types=["waitlist.offer_made"])) == 1
