"""The repository contract for accounts, checkpoints, quarantine and the event log.

Runs against the memory and SQLite implementations; includes tenant isolation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.events import OrderCreated, ShipmentStatusChanged
from invekto_integrations.storage import Checkpoint, QuarantinedRecord
from invekto_integrations.storage.protocols import TenantMismatch

__all__ = [
    "test_accounts_round_trip_and_isolation",
    "test_checkpoints",
    "test_cursors_only_move_forward",
    "test_event_ids_are_never_appended_twice",
    "test_event_log_order_dedupe_and_isolation",
    "test_events_round_trip_typed",
    "test_quarantine",
]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def account(tenant: str, id_: str, provider: str = "trendyol") -> IntegrationAccount:
    return IntegrationAccount(id=id_, tenant_id=tenant, provider=provider, api_key_encrypted="v1.k.x",
                              settings={"seller_id": "42"}, created_at=T0, updated_at=T0)


def order_created(tenant: str, n: int, dedupe: str | None = None) -> OrderCreated:
    return OrderCreated(tenant_id=tenant, occurred_at=T0 + timedelta(minutes=n), provider="trendyol",
                        account_id="a1", external_order_id=f"o{n}", order_status="created", dedupe_key=dedupe)


def test_accounts_round_trip_and_isolation(store: Any) -> None:
    store.accounts.add("t1", account("t1", "a1"))
    store.accounts.add("t1", account("t1", "a2", "hepsiburada"))
    store.accounts.add("t2", account("t2", "b1"))
    assert [a.id for a in store.accounts.find("t1")] == ["a1", "a2"]
    assert [a.id for a in store.accounts.find("t1", provider="hepsiburada")] == ["a2"]
    assert store.accounts.get("t2", "a1") is None  # another tenant's id is invisible
    assert store.accounts.get("t1", "a1").settings == {"seller_id": "42"}
    store.accounts.set_status("t2", "a1", AccountStatus.PAUSED, T0)  # wrong tenant: no effect
    assert store.accounts.get("t1", "a1").status is AccountStatus.ACTIVE
    store.accounts.set_status("t1", "a1", AccountStatus.INVALID_CREDENTIALS, T0 + timedelta(hours=1))
    got = store.accounts.get("t1", "a1")
    assert got.status is AccountStatus.INVALID_CREDENTIALS and got.updated_at == T0 + timedelta(hours=1)
    assert [a.id for a in store.accounts.find("t1", status=AccountStatus.ACTIVE)] == ["a2"]
    assert store.accounts.tenants() == ["t1", "t2"]


def test_checkpoints(store: Any) -> None:
    assert store.checkpoints.get("t1", "a1", "orders") is None
    cp = Checkpoint(tenant_id="t1", account_id="a1", stream="orders", position=T0, cursor="c1", updated_at=T0)
    store.checkpoints.put("t1", cp)
    store.checkpoints.put("t1", cp.model_copy(update={"position": T0 + timedelta(days=1), "cursor": None}))
    got = store.checkpoints.get("t1", "a1", "orders")
    assert got.position == T0 + timedelta(days=1) and got.cursor is None
    assert store.checkpoints.get("t2", "a1", "orders") is None


def test_quarantine(store: Any) -> None:
    rec = QuarantinedRecord(id="q1", tenant_id="t1", provider="trendyol", account_id="a1", record_id="123",
                            field="lines.0.price", error="not a number", raw_json='{"id": 123}', created_at=T0)
    store.quarantine.add("t1", rec)
    assert store.quarantine.find("t1") == [rec]
    assert store.quarantine.find("t1", provider="hepsiburada") == []
    assert store.quarantine.find("t2") == []


def test_event_log_order_dedupe_and_isolation(store: Any) -> None:
    log = store.events
    first = log.append("t1", [order_created("t1", 1), order_created("t1", 2, dedupe="k2")], at=T0)
    assert [e.data["external_order_id"] for e in first] == ["o1", "o2"]
    again = log.append("t1", [order_created("t1", 3, dedupe="k2")], at=T0)  # same fact, other id
    assert again == []
    log.append("t2", [order_created("t2", 9, dedupe="k2")], at=T0)  # dedupe keys are per tenant
    seqs = [e.seq for e in log.read("t1")]
    assert seqs == sorted(seqs) and len(seqs) == 2
    assert [e.data["external_order_id"] for e in log.read("t2")] == ["o9"]
    assert log.read("t1", after=seqs[0])[0].seq == seqs[1]
    assert log.read("t1", types=["shipment.status_changed"]) == []
    with pytest.raises(TenantMismatch, match="another tenant"):
        log.append("t1", [order_created("t2", 5)], at=T0)
    assert sorted(log.tenants()) == ["t1", "t2"]


def test_event_ids_are_never_appended_twice(store: Any) -> None:
    event = order_created("t1", 1)
    assert len(store.events.append("t1", [event], at=T0)) == 1
    assert store.events.append("t1", [event], at=T0) == []


def test_cursors_only_move_forward(store: Any) -> None:
    log = store.events
    assert log.cursor("t1", "watcher") == 0
    log.advance("t1", "watcher", 5)
    log.advance("t1", "watcher", 3)
    assert log.cursor("t1", "watcher") == 5
    assert log.cursor("t2", "watcher") == 0
    assert log.cursor("t1", "other") == 0


def test_events_round_trip_typed(store: Any) -> None:
    from invekto_integrations.models.events import decode_event

    ev = ShipmentStatusChanged(tenant_id="t1", occurred_at=T0, carrier="aras", tracking_number="123",
                               old_status=None, new_status="in_transit")
    stored = store.events.append("t1", [ev], at=T0)[0]
    read = store.events.read("t1")[0]
    assert read == stored
    assert decode_event(read.type, read.version, read.data) == ev
