from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from invekto_integrations.appointments.models import (
    AppointmentStatus,
    OfferStatus,
    TimeRange,
    WaitlistStatus,
)
from invekto_integrations.appointments.waitlist import ReplyOutcome, WaitlistEngine, WaitlistSettings, parse_answer
from invekto_integrations.messaging.base import MessageCategory, RecordingSink
from invekto_integrations.storage import SQLiteStore

from .conftest import Clinic

IST = ZoneInfo("Europe/Istanbul")
MON = date(2026, 3, 2)
P0, P1, P2, P3, P4, P5 = (f"+90532111111{i}" for i in range(6))


def ist(day: date, h: int, m: int = 0) -> datetime:
    return datetime.combine(day, time(h, m), tzinfo=IST).astimezone(UTC)


@pytest.mark.parametrize(("text", "answer"), [
    ("evet", True), ("EVET", True), ("Evet.", True), ("  tamam ", True), ("1", True), ("Evet, geliyorum", True),
    ("hayır", False), ("HAYIR", False), ("Hayir", False), ("yok", False), ("YOK!", False), ("2", False),
    ("belki", None), ("", None), ("?", None), ("İptal", None),
])
def test_parse_answer(text: str, answer: bool | None) -> None:
    assert parse_answer(text) is answer


class Setup:
    def __init__(self, store: Any, **settings: Any) -> None:
        self.clinic = Clinic(store)
        self.sink = RecordingSink()
        self.engine = WaitlistEngine(store.waitlist, self.clinic.book, self.sink, store.events,
                                     clock=self.clinic.clock, settings=WaitlistSettings(**settings))
        self.store = store

    def cancelled_slot(self, start: datetime | None = None, *, source: str = "local") -> Any:
        a = self.clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=start or ist(MON, 10),
                                  patient_phone=P0)
        self.clinic.book.cancel("t1", a.id, source=source)  # type: ignore[arg-type]
        return a


def test_cancellation_offers_slot_in_fair_order_and_passes_on(store: Any) -> None:
    s = Setup(store, template_name=None, clinic_name="Gülüş Diş")
    e = s.engine
    e1 = e.join("t1", P1, "Muayene", patient_name="Ali")
    s.clinic.clock.advance(60)
    e2 = e.join("t1", P2, "muayene", patient_name="Zeynep", priority=1)
    e3 = e.join("t1", P3, "İmplant")  # needs a specialist and 75 minutes: never fits
    e4 = e.join("t1", P4, "Muayene", doctor_id="d2")  # another doctor
    e5 = e.join("t1", P5, "Muayene", preferred_date=MON + timedelta(days=1))  # another day
    a = s.cancelled_slot()
    assert e.poll("t1") == 1
    offers = store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING])
    assert [o.entry_id for o in offers] == [e2.id]  # priority first
    assert store.waitlist.get("t1", e2.id).status == WaitlistStatus.OFFERED
    msg = s.sink.messages[-1]
    assert msg.to_phone == P2 and msg.category == MessageCategory.UTILITY and msg.purpose == "waitlist_offer"
    assert msg.idempotency_key == f"waitlist_offer:{offers[0].id}"
    assert msg.text == ("Gülüş Diş - Merhaba Zeynep, Dr. Genel ile 2 Mart 2026 Pazartesi 10:00 için Muayene randevusu "
                        "açıldı. Almak isterseniz 30 dakika içinde EVET, istemezseniz HAYIR yazın.")
    # the offer holds the slot
    free = {x.starts_at for x in s.clinic.slots.free_slots("t1", "Muayene", ist(MON, 9), ist(MON, 12),
                                                          doctor_id="d1")}
    assert ist(MON, 10) not in free and ist(MON, 9, 30) in free
    assert e.poll("t1") == 0  # the cursor moved on
    assert e.handle_reply("t1", "0532 111 11 12", "HAYIR") == ReplyOutcome.DECLINED
    offers = store.waitlist.find_offers("t1", source_appointment_id=a.id)
    assert [(o.entry_id, o.status) for o in offers] == [(e2.id, OfferStatus.DECLINED), (e1.id, OfferStatus.PENDING)]
    assert store.waitlist.get("t1", e2.id).status == WaitlistStatus.WAITING
    # no answer within the hold: expired, and nobody else matches
    s.clinic.clock.advance(minutes=29)
    assert e.expire_due("t1") == 0
    s.clinic.clock.advance(minutes=2)
    assert e.expire_due("t1") == 1
    assert store.waitlist.get("t1", e1.id).status == WaitlistStatus.WAITING
    assert store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING]) == []
    assert e.handle_reply("t1", P1, "evet") == ReplyOutcome.EXPIRED
    assert s.sink.messages[-1].purpose == "waitlist_late"
    assert {x.entry_id for x in offers} | {e3.id, e4.id, e5.id} == {e1.id, e2.id, e3.id, e4.id, e5.id}
    resolved = [ev.data["status"] for ev in store.events.read("t1", types=["waitlist.offer_resolved"])]
    assert resolved == ["declined", "expired"]
    assert e.handle_reply("t1", P3, "evet") == ReplyOutcome.NO_OFFER
    # the slot is free again for everyone
    assert ist(MON, 10) in {x.starts_at for x in s.clinic.slots.free_slots("t1", "Muayene", ist(MON, 9),
                                                                            ist(MON, 12), doctor_id="d1")}


def test_yes_books_the_slot(store: Any) -> None:
    s = Setup(store)
    entry = s.engine.join("t1", P1, "Muayene", patient_name="Ali", time_windows=[TimeRange(start=time(9),
                                                                                           end=time(11))])
    a = s.cancelled_slot(source="google")
    s.engine.run_once("t1")
    msg = s.sink.messages[-1]
    assert msg.template is not None and msg.template.name == "bekleme_listesi_teklif"
    assert msg.template.body_params == ["Ali", "2 Mart 2026 Pazartesi 10:00 Muayene (Dr. Genel)"]
    assert s.engine.handle_reply("t1", P1, "belki") == ReplyOutcome.NOT_UNDERSTOOD
    assert s.engine.handle_reply("t1", P1, "Evet") == ReplyOutcome.BOOKED
    offer = store.waitlist.find_offers("t1", source_appointment_id=a.id)[0]
    assert offer.status == OfferStatus.ACCEPTED and offer.appointment_id is not None
    booked = store.appointments.get("t1", offer.appointment_id)
    assert booked.patient_phone == P1 and booked.starts_at == ist(MON, 10) and booked.status == AppointmentStatus.BOOKED
    assert store.waitlist.get("t1", entry.id).status == WaitlistStatus.BOOKED
    assert s.sink.messages[-1].purpose == "waitlist_booked"
    assert s.engine.handle_reply("t1", P1, "evet") == ReplyOutcome.NO_OFFER  # nothing pending any more
    events = store.events.read("t1")
    assert [ev.type for ev in events] == ["appointment.booked", "appointment.cancelled",
                                          "appointment.status_changed", "waitlist.offer_made",
                                          "appointment.booked", "waitlist.offer_resolved"]
    assert events[-1].data["status"] == "accepted" and events[-1].data["appointment_id"] == booked.id


def test_preferences_windows_and_duration(store: Any) -> None:
    s = Setup(store)
    out_window = s.engine.join("t1", P1, "Muayene", time_windows=[TimeRange(start=time(14), end=time(17))])
    far_time = s.engine.join("t1", P2, "Muayene", preferred_time=time(16))
    near_time = s.engine.join("t1", P3, "Muayene", preferred_time=time(11, 30))
    s.cancelled_slot()
    s.engine.poll("t1")
    assert [o.entry_id for o in store.waitlist.find_offers("t1")] == [near_time.id]
    assert out_window.id != far_time.id


def test_too_short_slot_and_past_slot_are_not_offered(store: Any) -> None:
    s = Setup(store)
    s.engine.join("t1", P1, "Muayene")
    s.clinic.clock.set(ist(MON, 9, 30))
    s.clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(MON, 10), patient_phone=P0)
    soon = store.appointments.find("t1")[0]
    s.clinic.book.cancel("t1", soon.id)
    s.engine.poll("t1")  # starts in 30 minutes < min_notice
    assert store.waitlist.find_offers("t1") == []


def test_refused_send_moves_on(store: Any) -> None:
    class Refusing(RecordingSink):
        def submit(self, message: Any) -> Any:
            result = super().submit(message)
            if message.to_phone == P2:
                return result.model_copy(update={"status": "refused", "reason": "opted_out"})
            return result

    s = Setup(store)
    s.engine.sink = Refusing()
    s.engine.join("t1", P2, "Muayene")
    e1 = s.engine.join("t1", P1, "Muayene")
    s.cancelled_slot()
    s.engine.poll("t1")
    pending = store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING])
    assert [o.entry_id for o in pending] == [e1.id]
    assert [o.status for o in store.waitlist.find_offers("t1")] == [OfferStatus.WITHDRAWN, OfferStatus.PENDING]


def test_sink_error_releases_the_entry(store: Any) -> None:
    from invekto_integrations.core.errors import ProviderUnavailable

    class Broken(RecordingSink):
        def submit(self, message: Any) -> Any:
            if message.to_phone == P2:
                raise ProviderUnavailable("down", provider="whatsapp_cloud", operation="send")
            return super().submit(message)

    s = Setup(store)
    s.engine.sink = Broken()
    e2 = s.engine.join("t1", P2, "Muayene")
    e1 = s.engine.join("t1", P1, "Muayene")
    s.cancelled_slot()
    s.engine.poll("t1")
    assert [(o.entry_id, o.status) for o in store.waitlist.find_offers("t1")] == [
        (e2.id, OfferStatus.WITHDRAWN), (e1.id, OfferStatus.PENDING)]
    assert store.waitlist.get("t1", e2.id).status == WaitlistStatus.WAITING


def test_exactly_one_patient_gets_the_slot_with_concurrent_answers(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "wl.sqlite3")
    try:
        s = Setup(store, fanout=6)
        phones = [f"+9053222222{i:02d}" for i in range(6)]
        for p in phones:
            s.engine.join("t1", p, "Muayene")
        a = s.cancelled_slot()
        s.engine.poll("t1")
        assert len(store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING])) == 6
        barrier = threading.Barrier(12)
        outcomes: list[ReplyOutcome] = []
        lock = threading.Lock()

        def answer(phone: str) -> None:
            barrier.wait()
            result = s.engine.handle_reply("t1", phone, "EVET")
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=answer, args=(p,)) for p in phones + phones]  # each answers twice
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        booked = store.appointments.find("t1", start=ist(MON, 10), end=ist(MON, 10, 30),
                                         statuses=[AppointmentStatus.BOOKED])
        assert len(booked) == 1
        winners = [o for o in store.waitlist.find_offers("t1", source_appointment_id=a.id)
                   if o.status == OfferStatus.ACCEPTED]
        assert len(winners) == 1 and winners[0].appointment_id == booked[0].id
        assert winners[0].patient_phone == booked[0].patient_phone
        entries = store.waitlist.find("t1")
        assert [x.status for x in entries].count(WaitlistStatus.BOOKED) == 1
        assert all(x.status in (WaitlistStatus.BOOKED, WaitlistStatus.WAITING) for x in entries)
        assert [ev.type for ev in store.events.read("t1")].count("appointment.booked") == 2  # original + winner
        assert ReplyOutcome.BOOKED in outcomes
    finally:
        store.close()


def test_leave(store: Any) -> None:
    s = Setup(store)
    entry = s.engine.join("t1", P1, "Muayene")
    assert s.engine.leave("t1", entry.id)
    s.cancelled_slot()
    s.engine.poll("t1")
    assert store.waitlist.find_offers("t1") == []


def test_a_worker_stopped_after_sending_but_before_publishing_publishes_on_redelivery(store: Any) -> None:
    """The offer was stored and sent, then the worker died before `WaitlistOfferMade`; the
    cancellation is delivered again: the event is published once and nothing is sent twice."""
    s = Setup(store)
    e1 = s.engine.join("t1", P1, "Muayene")
    a = s.cancelled_slot()
    bus = s.engine.bus
    real_publish = bus.publish

    def dying_publish(tenant_id: str, events: Any) -> Any:
        if any(ev.TYPE == "waitlist.offer_made" for ev in events):
            raise KeyboardInterrupt("worker stopped")  # not an IntegrationError: nothing catches it
        return real_publish(tenant_id, events)

    bus.publish = dying_publish  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        s.engine.offer_slot("t1", a.id)
    bus.publish = real_publish  # type: ignore[method-assign]
    [offer] = store.waitlist.find_offers("t1")
    assert offer.entry_id == e1.id and offer.message_id is not None
    assert store.events.read("t1", types=["waitlist.offer_made"]) == []
    s.engine.offer_slot("t1", a.id)
    s.engine.offer_slot("t1", a.id)
    made = store.events.read("t1", types=["waitlist.offer_made"])
    assert [ev.data["offer_id"] for ev in made] == [offer.id]
    assert [m.to_phone for m in s.sink.messages] == [P1]
