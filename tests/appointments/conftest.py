from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from storage.conftest import store  # tests/storage/conftest.py: the shared memory / sqlite-memory / sqlite-file fixture

from invekto_integrations.appointments.models import Appointment, Doctor, ServicePricing, TimeRange
from invekto_integrations.core.ids import new_id

__all__ = ["make_appointment", "make_doctor", "make_service", "store"]

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 09:00 Istanbul


def make_appointment(tenant: str = "t1", doctor: str = "d1", start: datetime = T0, minutes: int = 30,
                     **kw: Any) -> Appointment:
    fields: dict[str, Any] = {
        "id": new_id(), "tenant_id": tenant, "doctor_id": doctor, "patient_phone": "+905321234567",
        "service_name": "Muayene", "starts_at": start, "ends_at": start + timedelta(minutes=minutes),
        "created_at": T0 - timedelta(days=3), "updated_at": T0 - timedelta(days=3),
    }
    fields.update(kw)
    return Appointment(**fields)


def make_doctor(tenant: str = "t1", doctor_id: str = "d1", **kw: Any) -> Doctor:
    week = {d: [TimeRange(start=time(9), end=time(17))] for d in range(1, 6)}
    fields: dict[str, Any] = {
        "id": doctor_id, "tenant_id": tenant, "name": f"Dr. {doctor_id}", "working_hours": week,
        "breaks": {d: [TimeRange(start=time(12), end=time(13))] for d in range(1, 6)},
        "created_at": T0, "updated_at": T0,
    }
    fields.update(kw)
    return Doctor(**fields)


def make_service(tenant: str = "t1", name: str = "İmplant", lo: str = "15000", hi: str = "25000",
                 minutes: int = 60, **kw: Any) -> ServicePricing:
    fields: dict[str, Any] = {
        "id": new_id(), "tenant_id": tenant, "service_name": name, "price_min": Decimal(lo),
        "price_max": Decimal(hi), "duration_minutes": minutes, "created_at": T0, "updated_at": T0,
    }
    fields.update(kw)
    return ServicePricing(**fields)


@pytest.fixture
def t0() -> datetime:
    return T0


class Clinic:
    """A tenant's clinic wired over one store: catalog, slot finder, appointment book, event bus."""

    def __init__(self, store: Any, *, busy: Any = None, now: datetime = T0 - timedelta(days=3)) -> None:
        from invekto_integrations.appointments.booking import AppointmentBook
        from invekto_integrations.appointments.pricing import PriceCatalog
        from invekto_integrations.appointments.slots import SlotFinder
        from invekto_integrations.core.clock import FrozenClock
        from invekto_integrations.events import EventBus

        self.store = store
        self.clock = FrozenClock(now)
        self.bus = EventBus(store.events, clock=self.clock)
        self.catalog = PriceCatalog(store.service_pricing, clock=self.clock)
        self.slots = SlotFinder(store.appointments, store.doctors, store.service_pricing, busy=busy,
                                waitlist=store.waitlist, clock=self.clock)
        self.book = AppointmentBook(store.appointments, self.slots, self.bus, clock=self.clock)
        self.catalog.create("t1", "Muayene", "500", "500", 30)
        self.catalog.create("t1", "İmplant", "15000", "25000", 60, buffer_minutes=15, requires_specialist=True)
        store.doctors.save("t1", make_doctor(doctor_id="d1", name="Dr. Genel"))
        store.doctors.save("t1", make_doctor(doctor_id="d2", name="Dr. Uzman", is_specialist=True,
                                       specialty="Çene cerrahisi"))

    def event_types(self) -> list[str]:
        return [e.type for e in self.store.events.read("t1")]


@pytest.fixture
def clinic(store: Any) -> Clinic:
    return Clinic(store)
