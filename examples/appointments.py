"""A dental clinic's day: prices, free slots, a booking, a cancellation offered to the waitlist,
a "yes" that books it, and reminders planned from a no-show model.

    .venv/bin/python examples/appointments.py                 # in-memory store
    .venv/bin/python examples/appointments.py clinic.sqlite3  # a SQLite file

Everything runs on a frozen clock; messages go to a `RecordingSink` (in production: the
WhatsApp send pipeline) and are printed.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from invekto_integrations.appointments.booking import AppointmentBook
from invekto_integrations.appointments.models import Doctor, TimeRange
from invekto_integrations.appointments.noshow import NoShowAdvisor, ReminderPolicy
from invekto_integrations.appointments.noshow_synth import generate_history
from invekto_integrations.appointments.pricing import PriceCatalog
from invekto_integrations.appointments.slots import SlotFinder
from invekto_integrations.appointments.waitlist import WaitlistEngine, WaitlistSettings
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.events import EventBus
from invekto_integrations.messaging.base import RecordingSink
from invekto_integrations.storage import MemoryStore, SQLiteStore

IST = ZoneInfo("Europe/Istanbul")
TENANT = "gulus-dis"


def local(day: date, h: int, m: int = 0) -> datetime:
    return datetime.combine(day, time(h, m), tzinfo=IST)


def main(path: str | None = None) -> None:
    store: Any = SQLiteStore(path) if path else MemoryStore()
    clock = FrozenClock(datetime(2026, 2, 27, 7, 0, tzinfo=UTC))  # Friday 10:00 in Istanbul
    bus = EventBus(store.events, clock=clock)
    sink = RecordingSink()

    # --- services and prices --------------------------------------------------------------------
    catalog = PriceCatalog(store.service_pricing, clock=clock)
    catalog.create(TENANT, "Muayene", "750", "750", 30)
    catalog.create(TENANT, "Diş taşı temizliği", "1500", "1500", 45, buffer_minutes=15)
    catalog.create(TENANT, "İmplant", "15000", "25000", 90, buffer_minutes=30, requires_specialist=True)
    print("Fiyat listesi:\n" + (catalog.answer(TENANT) or ""))
    print("Soru 'implant fiyatı?' →", catalog.answer(TENANT, "implant"))

    # --- doctors ----------------------------------------------------------------------------------
    week = {d: [TimeRange(start=time(9), end=time(18))] for d in range(1, 6)}
    lunch = {d: [TimeRange(start=time(12, 30), end=time(13, 30))] for d in range(1, 6)}
    for doctor_id, name, specialist in (("dr-ayse", "Dr. Ayşe Kaya", False), ("dr-mehmet", "Dr. Mehmet Demir", True)):
        store.doctors.save(TENANT, Doctor(id=doctor_id, tenant_id=TENANT, name=name, is_specialist=specialist,
                                  working_hours=week, breaks=lunch, holidays=[date(2026, 3, 20)],
                                  created_at=clock.now(), updated_at=clock.now()))

    slots = SlotFinder(store.appointments, store.doctors, store.service_pricing, waitlist=store.waitlist, clock=clock)
    book = AppointmentBook(store.appointments, slots, bus, clock=clock)
    monday = date(2026, 3, 2)
    free = slots.free_slots(TENANT, "İmplant", local(monday, 0), local(monday, 23), limit=3)
    print("\nPazartesi ilk implant saatleri:",
          ", ".join(f"{s.starts_at.astimezone(IST):%H:%M} ({s.doctor_id})" for s in free))

    # --- a booking, a waitlist, a cancellation ---------------------------------------------------
    appt = book.book(TENANT, doctor_id="dr-ayse", service_name="Muayene", starts_at=local(monday, 10),
                     patient_phone="0532 123 45 67", patient_name="Ali Yıldız")
    print(f"\nRandevu: {appt.patient_name} {appt.starts_at.astimezone(IST):%d.%m %H:%M} {appt.service_name}")
    waitlist = WaitlistEngine(store.waitlist, book, sink, store.events, clock=clock,
                              settings=WaitlistSettings(template_name=None, clinic_name="Gülüş Diş"))
    waitlist.join(TENANT, "0533 765 43 21", "Muayene", patient_name="Zeynep Arslan",
                  time_windows=[TimeRange(start=time(9), end=time(12))])
    waitlist.join(TENANT, "0544 111 22 33", "Diş taşı temizliği", patient_name="Can Öztürk")
    book.cancel(TENANT, appt.id, reason="hasta aradı")
    waitlist.run_once(TENANT)
    print("Gönderilen teklif:", sink.messages[-1].text)
    clock.advance(minutes=5)
    outcome = waitlist.handle_reply(TENANT, "+905337654321", "EVET")
    print("Zeynep 'EVET' yazdı →", outcome.value, "|", sink.messages[-1].text)

    # --- no-show model and reminders -------------------------------------------------------------
    history = generate_history(seed=1, patients=400, tenant_id=TENANT, doctor_id="dr-ayse",
                               start=datetime(2025, 2, 1, tzinfo=UTC), days=360)
    for past in history.appointments:
        store.appointments.book_if_free(TENANT, past)
    advisor = NoShowAdvisor(store.appointments, clock=clock, default_policy=ReminderPolicy(threshold=0.25))
    model = advisor.train(TENANT)
    print(f"\nNo-show modeli {model.trained_on} + {model.calibrated_on} geçmiş randevuyla eğitildi.")
    risky_phone = max(history.patient_propensity.items(), key=lambda kv: kv[1])[0]
    upcoming = book.book(TENANT, doctor_id="dr-ayse", service_name="Muayene", starts_at=local(monday, 17),
                         patient_phone=risky_phone)
    prediction = advisor.predict(TENANT, upcoming)
    assert prediction is not None
    print(f"Pazartesi 17:00 randevusu: no-show olasılığı {prediction.probability:.0%} "
          f"(geçmiş: {prediction.past_no_shows}/{prediction.past_visits} gelmedi); nedenler:",
          ", ".join(f"{k} {v:+.2f}" for k, v in prediction.top_reasons()))
    for plan in advisor.plan(TENANT, upcoming, doctor_name="Dr. Ayşe Kaya"):
        print(f"  hatırlatma ({plan.kind}) {plan.due_at.astimezone(IST):%d.%m %H:%M}: {plan.reason}")
    print("\nOlaylar:", ", ".join(e.type for e in store.events.read(TENANT)))
    store.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
