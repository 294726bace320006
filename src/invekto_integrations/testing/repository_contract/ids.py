"""Ids are unique per tenant on every store: the same id under two tenants is two rows (never a
refused duplicate, never a replaced row) for accounts, quarantine, the outbox and cargo
notifications (the clinic repositories: `clinic`; the calendar conflict log: `more`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from invekto_integrations.models.accounts import IntegrationAccount
from invekto_integrations.storage.records import CargoNotification, OutboxRecord, OutboxStatus, QuarantinedRecord

__all__ = ["test_ids_are_per_tenant"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_ids_are_per_tenant(store: Any) -> None:
    for t in ("t1", "t2"):
        store.accounts.add(t, IntegrationAccount(id="same", tenant_id=t, provider=f"p-{t}",
                                                 api_key_encrypted="v1.k.x", created_at=T0, updated_at=T0))
        store.quarantine.add(t, QuarantinedRecord(id="same", tenant_id=t, provider="trendyol", account_id="a1",
                                                  record_id="1", field="x", error=f"bad {t}",
                                                  raw_json=f'{{"t": "{t}"}}', created_at=T0))
        row, created = store.outbox.insert_if_absent(t, OutboxRecord(
            id="same", tenant_id=t, idempotency_key=f"k-{t}", purpose="campaign", category="marketing",
            to_phone="+905321234567", message_json="{}", status=OutboxStatus.QUEUED, due_at=T0, created_at=T0,
            updated_at=T0))
        assert created and row.tenant_id == t
        assert store.cargo_notifications.add(t, CargoNotification(
            id="same", tenant_id=t, idempotency_key=f"k-{t}", carrier="aras", tracking_number="1", status="delivered",
            to_phone="+905321234567", message_json="{}", created_at=T0))
    for t in ("t1", "t2"):
        assert store.accounts.get(t, "same").provider == f"p-{t}"
        assert [q.error for q in store.quarantine.find(t)] == [f"bad {t}"]
        assert store.outbox.get(t, "same").idempotency_key == f"k-{t}"
        assert store.cargo_notifications.get(t, f"k-{t}").id == "same"
    assert store.accounts.tenants() == ["t1", "t2"]
    # a change of one tenant's row leaves the other's alone
    store.outbox.save("t2", store.outbox.get("t2", "same").model_copy(update={"status": OutboxStatus.SENT}))
    assert store.outbox.get("t1", "same").status is OutboxStatus.QUEUED
