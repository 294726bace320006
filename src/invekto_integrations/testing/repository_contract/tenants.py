"""Every write method takes ``tenant_id`` explicitly: a record of another tenant raises
``TenantMismatch`` and nothing is written, on every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from invekto_integrations.models.accounts import IntegrationAccount
from invekto_integrations.storage import Checkpoint, QuarantinedRecord
from invekto_integrations.storage.protocols import TenantMismatch
from invekto_integrations.storage.records import (
    ConsentCacheRecord,
    OutboxRecord,
    OutboxStatus,
    PendingStatusRecord,
)

__all__ = [
    "test_accounts_add_of_another_tenant",
    "test_checkpoints_put_of_another_tenant",
    "test_consents_upsert_of_another_tenant",
    "test_outbox_writes_of_another_tenant",
    "test_quarantine_add_of_another_tenant",
]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_accounts_add_of_another_tenant(store: Any) -> None:
    acc = IntegrationAccount(id="a1", tenant_id="t2", provider="trendyol", api_key_encrypted="v1.k.x",
                             created_at=T0, updated_at=T0)
    with pytest.raises(TenantMismatch):
        store.accounts.add("t1", acc)
    assert store.accounts.get("t1", "a1") is None and store.accounts.get("t2", "a1") is None
    assert store.accounts.tenants() == []


def test_checkpoints_put_of_another_tenant(store: Any) -> None:
    cp = Checkpoint(tenant_id="t2", account_id="a1", stream="orders", position=T0, cursor="c", updated_at=T0)
    with pytest.raises(TenantMismatch):
        store.checkpoints.put("t1", cp)
    assert store.checkpoints.get("t1", "a1", "orders") is None
    assert store.checkpoints.get("t2", "a1", "orders") is None


def test_quarantine_add_of_another_tenant(store: Any) -> None:
    rec = QuarantinedRecord(id="q1", tenant_id="t2", provider="trendyol", account_id="a1", record_id="1",
                            field="x", error="bad", raw_json="{}", created_at=T0)
    with pytest.raises(TenantMismatch):
        store.quarantine.add("t1", rec)
    assert store.quarantine.find("t1") == [] and store.quarantine.find("t2") == []


def test_consents_upsert_of_another_tenant(store: Any) -> None:
    rec = ConsentCacheRecord(tenant_id="t2", brand_code="700001", recipient="+905321234567", status="ONAY",
                             source="HS_WEB", consent_date=T0, synced_at=T0, updated_at=T0)
    with pytest.raises(TenantMismatch):
        store.consents.upsert("t1", rec)
    assert store.consents.get("t1", "700001", "+905321234567", "MESAJ") is None
    assert store.consents.find("t1") == [] and store.consents.find("t2") == []


def _outbox_row(tenant: str, status: OutboxStatus = OutboxStatus.QUEUED) -> OutboxRecord:
    return OutboxRecord(id="o1", tenant_id=tenant, idempotency_key="k1", purpose="campaign", category="marketing",
                        to_phone="+905321234567", message_json="{}", status=status, due_at=T0, created_at=T0,
                        updated_at=T0)


def test_outbox_writes_of_another_tenant(store: Any) -> None:
    with pytest.raises(TenantMismatch):
        store.outbox.insert_if_absent("t1", _outbox_row("t2"))
    assert store.outbox.get("t1", "o1") is None and store.outbox.get("t2", "o1") is None
    assert store.outbox.tenants() == []

    store.outbox.insert_if_absent("t1", _outbox_row("t1", OutboxStatus.SENDING))
    with pytest.raises(TenantMismatch):
        store.outbox.save("t2", _outbox_row("t1", OutboxStatus.SENT))
    with pytest.raises(TenantMismatch):
        store.outbox.save_taking_statuses(
            "t2", _outbox_row("t1", OutboxStatus.ACCEPTED).model_copy(update={"provider_message_id": "wamid.1"}))
    assert store.outbox.get("t1", "o1").status is OutboxStatus.SENDING
    assert store.outbox.get("t2", "o1") is None

    pending = PendingStatusRecord(tenant_id="t2", provider="whatsapp_cloud", provider_message_id="wamid.1",
                                  status="delivered", update_json="{}", received_at=T0)
    with pytest.raises(TenantMismatch):
        store.outbox.buffer_status("t1", pending)
    taken = store.outbox.save_taking_statuses(
        "t1", _outbox_row("t1", OutboxStatus.ACCEPTED).model_copy(update={"provider_message_id": "wamid.1"}))
    assert taken == []  # nothing was buffered for either tenant
    assert store.outbox.purge_pending_statuses("t2", T0 + timedelta(days=1)) == 0
