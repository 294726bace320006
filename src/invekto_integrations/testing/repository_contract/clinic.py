"""Contract of the clinic repositories: appointments, doctors, service prices, the waitlist and its
offers, and the calendar sync's own state.

Every write takes ``tenant_id`` explicitly and refuses another tenant's record (`TenantMismatch`,
nothing written); ids are unique per tenant, so the same id under two tenants is two rows on every
store (and the same id twice under one tenant is refused the same way everywhere).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.core.errors import StorageError
from invekto_integrations.storage.protocols import DuplicateRecord, DuplicateServiceName, SlotConflict, TenantMismatch
from invekto_integrations.storage.records import (
    Appointment,
    AppointmentStatus,
    CalendarBusyBlock,
    CalendarChannel,
    CalendarConflict,
    CalendarSyncState,
    Doctor,
    OfferStatus,
    ServicePricing,
    TimeRange,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)

__all__ = [
    "test_clinic_appointment_ids_are_per_tenant",
    "test_clinic_book_if_free_refuses_overlap_per_doctor",
    "test_clinic_buffer_blocks_following_time_and_cancelled_frees",
    "test_clinic_calendar_sync_keys_are_per_tenant",
    "test_clinic_doctors",
    "test_clinic_find_filters_and_event_lookup",
    "test_clinic_offers_one_pending_per_entry_and_cas",
    "test_clinic_service_pricing_unique_active_name",
    "test_clinic_update_is_compare_and_set_and_checks_overlap",
    "test_clinic_waitlist_and_pricing_ids_are_per_tenant",
    "test_clinic_waitlist_fair_order_and_status_cas",
    "test_clinic_writes_of_another_tenant",
]

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 09:00 Istanbul
_ids = iter(range(1, 10**9))


def _id(prefix: str) -> str:
    return f"{prefix}{next(_ids):06d}"


def appointment(tenant: str = "t1", doctor: str = "d1", start: datetime = T0, minutes: int = 30,
                **kw: Any) -> Appointment:
    fields: dict[str, Any] = {
        "id": _id("ap"), "tenant_id": tenant, "doctor_id": doctor, "patient_phone": "+905321234567",
        "service_name": "Muayene", "starts_at": start, "ends_at": start + timedelta(minutes=minutes),
        "created_at": T0 - timedelta(days=3), "updated_at": T0 - timedelta(days=3),
    }
    fields.update(kw)
    return Appointment(**fields)


def doctor(tenant: str = "t1", doctor_id: str = "d1", **kw: Any) -> Doctor:
    fields: dict[str, Any] = {
        "id": doctor_id, "tenant_id": tenant, "name": f"Dr. {doctor_id}",
        "working_hours": {d: [TimeRange(start=time(9), end=time(17))] for d in range(1, 6)},
        "breaks": {d: [TimeRange(start=time(12), end=time(13))] for d in range(1, 6)},
        "created_at": T0, "updated_at": T0,
    }
    fields.update(kw)
    return Doctor(**fields)


def service(tenant: str = "t1", name: str = "İmplant", lo: str = "15000", hi: str = "25000",
            **kw: Any) -> ServicePricing:
    fields: dict[str, Any] = {
        "id": _id("sv"), "tenant_id": tenant, "service_name": name, "price_min": Decimal(lo),
        "price_max": Decimal(hi), "duration_minutes": 60, "created_at": T0, "updated_at": T0,
    }
    fields.update(kw)
    return ServicePricing(**fields)


def entry(phone: str = "+905321111111", minute: int = 0, priority: int = 0, tenant: str = "t1",
          **kw: Any) -> WaitlistEntry:
    at = T0 + timedelta(minutes=minute)
    fields: dict[str, Any] = {"id": _id("wl"), "tenant_id": tenant, "patient_phone": phone,
                              "service_type": "Muayene", "priority": priority, "created_at": at, "updated_at": at}
    fields.update(kw)
    return WaitlistEntry(**fields)


def offer(of: WaitlistEntry, source: str, minute: int = 0, **kw: Any) -> WaitlistOffer:
    fields: dict[str, Any] = {
        "id": _id("of"), "tenant_id": of.tenant_id, "entry_id": of.id, "patient_phone": of.patient_phone,
        "doctor_id": "d1", "service_name": "Muayene", "starts_at": T0 + timedelta(days=1),
        "ends_at": T0 + timedelta(days=1, minutes=30), "source_appointment_id": source,
        "expires_at": T0 + timedelta(minutes=30 + minute), "created_at": T0 + timedelta(minutes=minute),
    }
    fields.update(kw)
    return WaitlistOffer(**fields)


# --- appointments -----------------------------------------------------------------------------
def test_clinic_book_if_free_refuses_overlap_per_doctor(store: Any) -> None:
    a = appointment(start=T0, minutes=30)
    assert store.appointments.book_if_free("t1", a)
    assert not store.appointments.book_if_free("t1", appointment(start=T0 + timedelta(minutes=15)))
    assert not store.appointments.book_if_free("t1", appointment(start=T0 - timedelta(minutes=15)))
    # touching intervals do not overlap; another doctor or tenant is independent
    assert store.appointments.book_if_free("t1", appointment(start=T0 + timedelta(minutes=30)))
    assert store.appointments.book_if_free("t1", appointment(doctor="d2", start=T0))
    assert store.appointments.book_if_free("t2", appointment(tenant="t2", start=T0))
    assert store.appointments.get("t1", a.id) == a
    assert store.appointments.get("t2", a.id) is None
    with pytest.raises(DuplicateRecord):
        store.appointments.book_if_free("t1", a.model_copy(update={"starts_at": T0 + timedelta(days=1),
                                                                   "ends_at": T0 + timedelta(days=1, minutes=30)}))
    assert store.appointments.get("t1", a.id) == a


def test_clinic_buffer_blocks_following_time_and_cancelled_frees(store: Any) -> None:
    a = appointment(start=T0, minutes=30, buffer_minutes=15)
    assert store.appointments.book_if_free("t1", a)
    assert not store.appointments.book_if_free("t1", appointment(start=T0 + timedelta(minutes=40)))
    assert store.appointments.book_if_free("t1", appointment(start=T0 + timedelta(minutes=45)))
    b = appointment(start=T0 + timedelta(hours=2))
    assert store.appointments.book_if_free("t1", b)
    cancelled = b.model_copy(update={"status": AppointmentStatus.CANCELLED, "version": 2})
    assert store.appointments.update("t1", cancelled, expected_version=1)
    assert store.appointments.book_if_free("t1", appointment(start=T0 + timedelta(hours=2)))
    # an inactive appointment may be stored anywhere (history)
    assert store.appointments.book_if_free("t1", appointment(start=T0, status=AppointmentStatus.NO_SHOW))


def test_clinic_update_is_compare_and_set_and_checks_overlap(store: Any) -> None:
    a = appointment(start=T0)
    b = appointment(start=T0 + timedelta(hours=1))
    assert store.appointments.book_if_free("t1", a) and store.appointments.book_if_free("t1", b)
    moved = a.model_copy(update={"starts_at": T0 + timedelta(hours=3), "ends_at": T0 + timedelta(hours=3, minutes=30),
                                 "version": 2})
    assert store.appointments.update("t1", moved, expected_version=1)
    assert not store.appointments.update("t1", moved.model_copy(update={"version": 3}), expected_version=1)  # stale
    assert store.appointments.get("t1", a.id) == moved
    clash = moved.model_copy(update={"starts_at": b.starts_at, "ends_at": b.ends_at, "version": 3})
    with pytest.raises(SlotConflict) as info:
        store.appointments.update("t1", clash, expected_version=2)
    assert info.value.conflicting_id == b.id
    assert store.appointments.get("t1", a.id) == moved  # unchanged
    assert store.appointments.update("t1", clash, expected_version=2, allow_overlap=True)
    assert not store.appointments.update("t1", appointment(), expected_version=1)  # missing


def test_clinic_find_filters_and_event_lookup(store: Any) -> None:
    a = appointment(start=T0, calendar_id="cal-1", calendar_event_id="ev-1")
    b = appointment(start=T0 + timedelta(days=1), patient_phone="0532 765 43 21")
    c = appointment(doctor="d2", start=T0 + timedelta(hours=2), status=AppointmentStatus.CANCELLED)
    for x in (b, a, c):
        assert store.appointments.book_if_free("t1", x)
    assert [x.id for x in store.appointments.find("t1")] == [a.id, c.id, b.id]
    assert [x.id for x in store.appointments.find("t1", doctor_id="d1")] == [a.id, b.id]
    window = store.appointments.find("t1", start=T0 + timedelta(minutes=10), end=T0 + timedelta(hours=3))
    assert [x.id for x in window] == [a.id, c.id]
    assert [x.id for x in store.appointments.find("t1", statuses=[AppointmentStatus.CANCELLED])] == [c.id]
    assert store.appointments.find("t1", statuses=[]) == []
    assert [x.id for x in store.appointments.find("t1", patient_phone="+905327654321")] == [b.id]
    assert store.appointments.find_by_event("t1", "cal-1", "ev-1") == a
    assert store.appointments.find_by_event("t2", "cal-1", "ev-1") is None
    assert store.appointments.tenants() == ["t1"]


def test_clinic_appointment_ids_are_per_tenant(store: Any) -> None:
    mine = appointment(start=T0).model_copy(update={"id": "same-id"})
    theirs = appointment(tenant="t2", doctor="d9", start=T0 + timedelta(days=2)).model_copy(update={"id": "same-id"})
    assert store.appointments.book_if_free("t1", mine)
    assert store.appointments.book_if_free("t2", theirs)  # its own row: t1's survives
    assert store.appointments.get("t1", "same-id") == mine and store.appointments.get("t2", "same-id") == theirs
    # a change of one tenant's row never touches the other's
    assert store.appointments.update("t2", theirs.model_copy(update={"version": 2, "notes": "t2"}),
                                     expected_version=1)
    assert store.appointments.get("t1", "same-id") == mine
    assert store.appointments.get("t2", "same-id").notes == "t2"
    assert store.appointments.tenants() == ["t1", "t2"]


# --- doctors and prices -----------------------------------------------------------------------
def test_clinic_doctors(store: Any) -> None:
    d = doctor(calendar_id="dr1@clinic.example", services=["İmplant"], days_off=[T0.date()])
    store.doctors.save("t1", d)
    store.doctors.save("t1", doctor(doctor_id="d0", is_active=False))
    assert store.doctors.get("t1", "d1") == d
    assert store.doctors.get("t2", "d1") is None
    assert [x.id for x in store.doctors.find("t1")] == ["d1"]
    assert [x.id for x in store.doctors.find("t1", active_only=False)] == ["d0", "d1"]
    assert store.doctors.find_by_calendar("t1", "dr1@clinic.example") == d
    store.doctors.save("t1", d.model_copy(update={"name": "Dr. Ayşe"}))
    assert store.doctors.get("t1", "d1").name == "Dr. Ayşe"
    # the same doctor id under another tenant is another doctor
    store.doctors.save("t2", doctor(tenant="t2", name="Dr. Başka"))
    assert store.doctors.get("t1", "d1").name == "Dr. Ayşe" and store.doctors.get("t2", "d1").name == "Dr. Başka"


def test_clinic_service_pricing_unique_active_name(store: Any) -> None:
    s = service(name="İmplant")
    store.service_pricing.add("t1", s)
    with pytest.raises(DuplicateServiceName):
        store.service_pricing.add("t1", service(name="  implant "))
    store.service_pricing.add("t2", service(tenant="t2", name="İmplant"))  # other tenant
    assert store.service_pricing.get_active("t1", "İMPLANT") == s
    off = s.model_copy(update={"is_active": False})
    store.service_pricing.save("t1", off)
    assert store.service_pricing.get_active("t1", "implant") is None
    s2 = service(name="implant", lo="16000", hi="26000")
    store.service_pricing.add("t1", s2)  # the name is free again
    with pytest.raises(DuplicateServiceName):
        store.service_pricing.save("t1", off.model_copy(update={"is_active": True}))
    assert [x.id for x in store.service_pricing.find("t1")] == [s2.id]
    assert {x.id for x in store.service_pricing.find("t1", active_only=False)} == {s.id, s2.id}
    assert store.service_pricing.get("t1", s2.id).price_min == Decimal("16000")
    with pytest.raises(StorageError):
        store.service_pricing.save("t1", service(name="Yok"))


# --- waitlist ---------------------------------------------------------------------------------
def test_clinic_waitlist_fair_order_and_status_cas(store: Any) -> None:
    e1 = entry("+905321111111", 5)
    e2 = entry("+905322222222", 1)
    window = TimeRange(start=T0.time(), end=T0.time().replace(hour=9))
    e3 = entry("+905323333333", 9, priority=2, time_windows=[window], preferred_date=T0.date())
    for e in (e1, e2, e3):
        store.waitlist.add("t1", e)
    assert [e.id for e in store.waitlist.find("t1")] == [e3.id, e2.id, e1.id]
    assert store.waitlist.get("t1", e3.id) == e3
    got = store.waitlist.set_status("t1", e2.id, [WaitlistStatus.WAITING], WaitlistStatus.OFFERED, T0)
    assert got is not None and got.status == WaitlistStatus.OFFERED
    assert store.waitlist.set_status("t1", e2.id, [WaitlistStatus.WAITING], WaitlistStatus.OFFERED, T0) is None
    assert [e.id for e in store.waitlist.find("t1", statuses=[WaitlistStatus.WAITING])] == [e3.id, e1.id]
    assert [e.id for e in store.waitlist.find("t1", patient_phone="+905321111111")] == [e1.id]
    with pytest.raises(DuplicateRecord):
        store.waitlist.add("t1", e1)


def test_clinic_offers_one_pending_per_entry_and_cas(store: Any) -> None:
    e = entry()
    store.waitlist.add("t1", e)
    o1 = offer(e, "a1")
    assert store.waitlist.add_offer("t1", o1)
    assert not store.waitlist.add_offer("t1", offer(e, "a2"))  # one pending offer per entry
    assert not store.waitlist.add_offer("t1", offer(e, "a1"))
    done = store.waitlist.resolve_offer("t1", o1.id, [OfferStatus.PENDING], OfferStatus.ACCEPTED, T0,
                                        appointment_id="ap1")
    assert done is not None and done.status == OfferStatus.ACCEPTED and done.appointment_id == "ap1"
    assert store.waitlist.resolve_offer("t1", o1.id, [OfferStatus.PENDING], OfferStatus.EXPIRED, T0) is None
    assert not store.waitlist.add_offer("t1", offer(e, "a1"))  # never the same slot twice
    assert not store.waitlist.add_offer("t1", o1.model_copy(update={"source_appointment_id": "a9"}))  # same id
    o2 = offer(e, "a2", minute=5)
    assert store.waitlist.add_offer("t1", o2)
    store.waitlist.set_offer_message("t1", o2.id, "msg-1")
    got = store.waitlist.get_offer("t1", o2.id)
    assert got is not None and got.message_id == "msg-1"
    # a late offer's hold moves later, never earlier; a resolved offer's never
    later = got.expires_at + timedelta(minutes=20)
    moved = store.waitlist.extend_offer("t1", o2.id, later)
    assert moved is not None and moved.expires_at == later
    kept = store.waitlist.extend_offer("t1", o2.id, later - timedelta(minutes=40))
    assert kept is not None and kept.expires_at == later
    assert store.waitlist.extend_offer("t1", o1.id, later) is None
    assert store.waitlist.extend_offer("t2", o2.id, later) is None
    assert [o.id for o in store.waitlist.find_offers("t1")] == [o1.id, o2.id]
    assert [o.id for o in store.waitlist.find_offers("t1", statuses=[OfferStatus.PENDING])] == [o2.id]
    assert [o.id for o in store.waitlist.find_offers("t1", source_appointment_id="a1")] == [o1.id]
    assert store.waitlist.find_offers("t1", expires_before=T0 + timedelta(minutes=34)) == [done]
    assert [o.id for o in store.waitlist.find_offers("t1", patient_phone=e.patient_phone)] == [o1.id, o2.id]
    assert store.waitlist.tenants() == ["t1"]
    # tenant isolation
    assert store.waitlist.find_offers("t2") == [] and store.waitlist.get_offer("t2", o2.id) is None
    assert store.waitlist.find("t2") == [] and store.waitlist.get("t2", e.id) is None
    assert store.waitlist.resolve_offer("t2", o2.id, [OfferStatus.PENDING], OfferStatus.EXPIRED, T0) is None


def test_clinic_waitlist_and_pricing_ids_are_per_tenant(store: Any) -> None:
    s1, s2 = (service(tenant=t, name=f"Dolgu {t}").model_copy(update={"id": "svc"}) for t in ("t1", "t2"))
    store.service_pricing.add("t1", s1)
    store.service_pricing.add("t2", s2)
    with pytest.raises(DuplicateRecord):
        store.service_pricing.add("t1", s1.model_copy(update={"service_name": "Başka"}))
    store.service_pricing.save("t2", s2.model_copy(update={"price_min": Decimal("1")}))
    assert store.service_pricing.get("t1", "svc") == s1
    assert store.service_pricing.get("t2", "svc").price_min == Decimal("1")

    e1 = entry(tenant="t1").model_copy(update={"id": "wl"})
    e2 = entry("+905329999999", tenant="t2").model_copy(update={"id": "wl"})
    store.waitlist.add("t1", e1)
    store.waitlist.add("t2", e2)
    assert store.waitlist.get("t1", "wl") == e1 and store.waitlist.get("t2", "wl") == e2
    o1 = offer(e1, "a1").model_copy(update={"id": "of"})
    o2 = offer(e2, "a1").model_copy(update={"id": "of"})
    assert store.waitlist.add_offer("t1", o1)
    assert store.waitlist.add_offer("t2", o2)  # the same offer id (and slot id) under another tenant
    assert store.waitlist.get_offer("t1", "of") == o1 and store.waitlist.get_offer("t2", "of") == o2
    assert store.waitlist.resolve_offer("t2", "of", [OfferStatus.PENDING], OfferStatus.DECLINED, T0) is not None
    assert store.waitlist.get_offer("t1", "of").status == OfferStatus.PENDING
    assert store.waitlist.tenants() == ["t1", "t2"]


# --- calendar sync ----------------------------------------------------------------------------
def test_clinic_calendar_sync_keys_are_per_tenant(store: Any) -> None:
    repo = store.calendar_sync
    for t in ("t1", "t2"):
        repo.save_state(t, CalendarSyncState(tenant_id=t, calendar_id="cal", doctor_id=f"d-{t}", updated_at=T0))
        repo.save_channel(t, CalendarChannel(tenant_id=t, calendar_id="cal", channel_id="ch", resource_id=f"r-{t}",
                                             address="https://x.example/hook", token_sha256="0" * 64, created_at=T0))
        repo.upsert_busy(t, CalendarBusyBlock(tenant_id=t, calendar_id="cal", event_id="ev", starts_at=T0,
                                              ends_at=T0 + timedelta(hours=1), etag=t))
    repo.save_state("t2", repo.get_state("t2", "cal").model_copy(update={"sync_token": "s-2"}))
    assert repo.get_state("t1", "cal").doctor_id == "d-t1" and repo.get_state("t1", "cal").sync_token is None
    assert repo.get_state("t2", "cal").sync_token == "s-2"  # noqa: S105
    assert repo.get_channel("t1", "ch").resource_id == "r-t1" and repo.get_channel("t2", "ch").resource_id == "r-t2"
    assert repo.advance_message("t2", "ch", 3) and repo.get_channel("t1", "ch").last_message_number == 0
    assert [b.etag for b in repo.find_busy("t1", "cal", T0, T0 + timedelta(hours=2))] == ["t1"]
    assert repo.clear_busy("t2", "cal") == 1
    assert [b.etag for b in repo.find_busy("t1", "cal", T0, T0 + timedelta(hours=2))] == ["t1"]


# --- tenant checks on every write ---------------------------------------------------------------
def test_clinic_writes_of_another_tenant(store: Any) -> None:
    theirs = appointment(tenant="t2")
    with pytest.raises(TenantMismatch):
        store.appointments.book_if_free("t1", theirs)
    assert store.appointments.get("t1", theirs.id) is None and store.appointments.get("t2", theirs.id) is None
    assert store.appointments.book_if_free("t2", theirs)
    with pytest.raises(TenantMismatch):
        store.appointments.update("t1", theirs.model_copy(update={"version": 2, "notes": "x"}), expected_version=1)
    assert store.appointments.get("t2", theirs.id) == theirs

    with pytest.raises(TenantMismatch):
        store.doctors.save("t1", doctor(tenant="t2"))
    assert store.doctors.get("t1", "d1") is None and store.doctors.get("t2", "d1") is None

    sv = service(tenant="t2")
    with pytest.raises(TenantMismatch):
        store.service_pricing.add("t1", sv)
    assert store.service_pricing.find("t1", active_only=False) == []
    assert store.service_pricing.find("t2", active_only=False) == []
    store.service_pricing.add("t2", sv)
    with pytest.raises(TenantMismatch):
        store.service_pricing.save("t1", sv.model_copy(update={"price_min": Decimal("1")}))
    assert store.service_pricing.get("t2", sv.id) == sv

    e = entry(tenant="t2")
    with pytest.raises(TenantMismatch):
        store.waitlist.add("t1", e)
    assert store.waitlist.get("t2", e.id) is None
    store.waitlist.add("t2", e)
    with pytest.raises(TenantMismatch):
        store.waitlist.add_offer("t1", offer(e, "a1"))
    assert store.waitlist.find_offers("t1") == [] and store.waitlist.find_offers("t2") == []

    repo = store.calendar_sync
    with pytest.raises(TenantMismatch):
        repo.save_state("t1", CalendarSyncState(tenant_id="t2", calendar_id="cal", doctor_id="d1", updated_at=T0))
    with pytest.raises(TenantMismatch):
        repo.save_channel("t1", CalendarChannel(tenant_id="t2", calendar_id="cal", channel_id="ch", resource_id="r",
                                                address="https://x.example/hook", token_sha256="0" * 64,
                                                created_at=T0))
    with pytest.raises(TenantMismatch):
        repo.upsert_busy("t1", CalendarBusyBlock(tenant_id="t2", calendar_id="cal", event_id="ev", starts_at=T0,
                                                 ends_at=T0 + timedelta(hours=1)))
    with pytest.raises(TenantMismatch):
        repo.add_conflict("t1", CalendarConflict(id="c1", tenant_id="t2", calendar_id="cal", event_id=None,
                                                 appointment_id=None, kind="moved", resolution="calendar_wins",
                                                 created_at=T0))
    for t in ("t1", "t2"):
        assert repo.find_states(t) == [] and repo.find_channels(t, active_only=False) == []
        assert repo.find_busy(t, "cal", T0 - timedelta(days=1), T0 + timedelta(days=1)) == []
        assert repo.find_conflicts(t) == []
