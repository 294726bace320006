"""Contract of `ShipmentRepository` and `CargoNotificationRepository`, run on memory and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.storage.protocols import TenantMismatch
from invekto_integrations.storage.records import CargoNotification, ShipmentHistoryEntry, TrackedShipment

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s: Any = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "db.sqlite")
    yield s
    s.close()


def ship(tenant: str = "t1", tn: str = "TN1", **kw: Any) -> TrackedShipment:
    base: dict[str, Any] = {"tenant_id": tenant, "carrier": "aras", "tracking_number": tn, "next_poll_at": T0,
                            "created_at": T0, "updated_at": T0}
    base.update(kw)
    return TrackedShipment(**base)


def hist(tenant: str, when: datetime | None, desc: str, place: str | None = "KADIKÖY") -> ShipmentHistoryEntry:
    return ShipmentHistoryEntry(tenant_id=tenant, carrier="aras", tracking_number="TN1", occurred_at=when,
                                location=place, description=desc)


def test_add_get_save_roundtrip(store: Any) -> None:
    repo = store.shipments
    row = ship(customer_phone="+905321112233", status_at=T0, delivered_at=None, reference="R1", error_count=0)
    assert repo.add("t1", row) is True
    assert repo.add("t1", row.model_copy(update={"reference": "other"})) is False
    assert repo.get("t1", "aras", "TN1") == row
    changed = row.model_copy(update={"status": "delivered", "active": False, "next_poll_at": None,
                                     "delivered_at": T0 + timedelta(days=1), "error_count": 2, "last_error": "x"})
    repo.save("t1", changed)
    assert repo.get("t1", "aras", "TN1") == changed
    assert repo.get("t1", "yurtici", "TN1") is None


def test_due_is_active_and_time_ordered(store: Any) -> None:
    repo = store.shipments
    repo.add("t1", ship(tn="late", next_poll_at=T0 + timedelta(hours=2)))
    repo.add("t1", ship(tn="soon", next_poll_at=T0 - timedelta(minutes=5)))
    repo.add("t1", ship(tn="now", next_poll_at=T0))
    repo.add("t1", ship(tn="stopped", active=False, next_poll_at=None))
    repo.add("t1", ship(tn="inactive", active=False, next_poll_at=T0 - timedelta(hours=1)))
    assert [s.tracking_number for s in repo.due("t1", T0)] == ["soon", "now"]
    assert [s.tracking_number for s in repo.due("t1", T0, limit=1)] == ["soon"]
    assert len(repo.due("t1", T0 + timedelta(hours=3))) == 3
    assert [s.tracking_number for s in repo.find("t1", active=False)] == ["inactive", "stopped"]
    assert len(repo.find("t1", carrier="aras")) == 5 and repo.find("t1", carrier="yurtici") == []


def test_history_is_deduplicated_and_ordered(store: Any) -> None:
    repo = store.shipments
    a, b = hist("t1", T0 + timedelta(hours=1), "yolda"), hist("t1", T0, "çıkış")
    nameless = hist("t1", None, "not", place=None)
    assert repo.add_history("t1", "aras", "TN1", [a, b, nameless]) == 3
    assert repo.add_history("t1", "aras", "TN1", [a, b, nameless, hist("t1", T0, "çıkış", "ÇANKAYA")]) == 1
    got = repo.history("t1", "aras", "TN1")
    assert [e.description for e in got] == ["not", "çıkış", "çıkış", "yolda"]
    assert got[1].occurred_at == T0


def test_tenant_isolation(store: Any) -> None:
    repo = store.shipments
    repo.add("t1", ship("t1"))
    repo.add("t2", ship("t2", status="delivered"))
    repo.add_history("t1", "aras", "TN1", [hist("t1", T0, "a")])
    assert repo.get("t1", "aras", "TN1").status == "pending"
    assert repo.get("t2", "aras", "TN1").status == "delivered"
    assert [s.tenant_id for s in repo.due("t1", T0)] == ["t1"]
    assert repo.history("t2", "aras", "TN1") == []
    assert repo.tenants() == ["t1", "t2"]
    with pytest.raises(TenantMismatch, match="another tenant"):
        repo.add("t1", ship("t2"))
    with pytest.raises(TenantMismatch, match="another tenant"):
        repo.save("t2", ship("t1"))
    with pytest.raises(TenantMismatch, match="another tenant"):
        repo.add_history("t1", "aras", "TN1", [hist("t2", T0, "b")])
    notes = store.cargo_notifications
    assert notes.add("t1", note("t1", "k")) is True
    assert notes.get("t2", "k") is None and notes.find("t2") == []
    with pytest.raises(TenantMismatch, match="another tenant"):
        notes.add("t1", note("t2", "k2"))


def note(tenant: str, key: str, created: datetime = T0) -> CargoNotification:
    return CargoNotification(id=f"{tenant}-{key}", tenant_id=tenant, idempotency_key=key, carrier="aras",
                             tracking_number="TN1", status="delivered", to_phone="+905321112233",
                             message_json="{}", not_before=T0 + timedelta(hours=9), created_at=created)


def test_notification_outbox(store: Any) -> None:
    notes = store.cargo_notifications
    assert notes.add("t1", note("t1", "b", T0 + timedelta(minutes=1))) is True
    assert notes.add("t1", note("t1", "a")) is True
    assert notes.add("t1", note("t1", "a")) is False
    assert [n.idempotency_key for n in notes.find("t1")] == ["a", "b"]
    notes.mark_submitted("t1", "a", "scheduled", T0 + timedelta(minutes=2))
    got = notes.get("t1", "a")
    assert got.submit_status == "scheduled" and got.submitted_at == T0 + timedelta(minutes=2)
    assert got.not_before == T0 + timedelta(hours=9)
    assert [n.idempotency_key for n in notes.find("t1", pending_only=True)] == ["b"]
