"""Contract of the order-sync repositories (orders cache, checkpoints, quarantine), run on every
implementation: memory and SQLite. Includes tenant isolation."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from invekto_integrations.storage import CachedOrder, Checkpoint, QuarantinedRecord
from invekto_integrations.storage.protocols import TenantMismatch

__all__ = [
    "test_checkpoints_put_get_overwrite_and_isolation",
    "test_ordercache_find_by_phone_newest_first_with_limit",
    "test_ordercache_find_by_tracking_code",
    "test_ordercache_get_many",
    "test_ordercache_key_includes_provider_and_account",
    "test_ordercache_order_twice_in_one_batch",
    "test_ordercache_refuses_rows_of_another_tenant",
    "test_ordercache_tenant_isolation",
    "test_ordercache_update_keeps_id_and_created_at_and_refreshes_synced_at",
    "test_ordercache_upsert_counts_inserted_updated_unchanged",
    "test_quarantine_add_find_and_isolation",
]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def row(ext: str, *, tenant: str = "t1", provider: str = "trendyol", account: str = "acc1", phone: str | None = None,
        status: str = "created", tracking: str | None = None, ordered: datetime = T0, data: str = "{}",
        synced: datetime = T0, rid: str | None = None) -> CachedOrder:
    body = f'{{"ext": "{ext}", "status": "{status}", "tracking": "{tracking}", "data": {data}}}'
    return CachedOrder(
        id=rid or f"id-{tenant}-{provider}-{account}-{ext}-{status}", tenant_id=tenant, provider=provider,
        account_id=account, external_order_id=ext, customer_phone=phone, tracking_code=tracking,
        order_status=status, ordered_at=ordered, order_data_json=body, raw_json='{"raw": true}',
        content_hash=hashlib.sha256(body.encode()).hexdigest(), synced_at=synced, created_at=synced,
    )


def test_ordercache_upsert_counts_inserted_updated_unchanged(store: Any) -> None:
    r = store.orders.upsert_many("t1", [row("A"), row("B")])
    assert (r.inserted, r.updated, r.unchanged) == (2, 0, 0)
    later = T0 + timedelta(hours=1)
    r = store.orders.upsert_many("t1", [row("A", synced=later), row("B", status="shipped", synced=later),
                                        row("C", synced=later)])
    assert (r.inserted, r.updated, r.unchanged) == (1, 1, 1)
    assert store.orders.count("t1") == 3

def test_ordercache_order_twice_in_one_batch(store: Any) -> None:
    later = T0 + timedelta(hours=1)
    r = store.orders.upsert_many("t1", [row("A", rid="first"), row("B"),
                                        row("A", status="shipped", synced=later, rid="second")])
    assert (r.inserted, r.updated, r.unchanged) == (2, 1, 0)
    got = store.orders.get("t1", "trendyol", "acc1", "A")
    assert got.id == "first" and got.created_at == T0 and got.order_status == "shipped" and got.synced_at == later
    r = store.orders.upsert_many("t1", [row("A", status="shipped", synced=later), row("A", status="shipped")])
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 2)
    assert store.orders.count("t1") == 2


def test_ordercache_update_keeps_id_and_created_at_and_refreshes_synced_at(store: Any) -> None:
    store.orders.upsert_many("t1", [row("A", rid="first")])
    later = T0 + timedelta(hours=2)
    store.orders.upsert_many("t1", [row("A", status="delivered", synced=later, rid="second")])
    got = store.orders.get("t1", "trendyol", "acc1", "A")
    assert got.id == "first" and got.created_at == T0 and got.synced_at == later
    assert got.order_status == "delivered" and got.raw_json == '{"raw": true}'
    even_later = later + timedelta(hours=1)
    store.orders.upsert_many("t1", [row("A", status="delivered", synced=even_later)])
    assert store.orders.get("t1", "trendyol", "acc1", "A").synced_at == even_later

def test_ordercache_key_includes_provider_and_account(store: Any) -> None:
    r = store.orders.upsert_many("t1", [row("A"), row("A", provider="hepsiburada"), row("A", account="acc2")])
    assert r.inserted == 3
    assert store.orders.count("t1", provider="trendyol") == 2
    assert store.orders.count("t1", provider="hepsiburada") == 1

def test_ordercache_get_many(store: Any) -> None:
    store.orders.upsert_many("t1", [row(x) for x in "ABC"])
    found = store.orders.get_many("t1", "trendyol", "acc1", ["A", "C", "Z"])
    assert sorted(found) == ["A", "C"] and found["A"].external_order_id == "A"
    many = [f"X{i}" for i in range(1200)]
    store.orders.upsert_many("t1", [row(x) for x in many])
    assert len(store.orders.get_many("t1", "trendyol", "acc1", many)) == 1200

def test_ordercache_find_by_phone_newest_first_with_limit(store: Any) -> None:
    phone = "+905321112233"
    store.orders.upsert_many("t1", [
        row("old", phone=phone, ordered=T0 - timedelta(days=5)),
        row("new", phone=phone, ordered=T0, provider="hepsiburada"),
        row("mid", phone=phone, ordered=T0 - timedelta(days=1)),
        row("other", phone="+905329998877"),
        row("none"),
    ])
    assert [o.external_order_id for o in store.orders.find_by_phone("t1", phone)] == ["new", "mid", "old"]
    assert [o.external_order_id for o in store.orders.find_by_phone("t1", phone, limit=2)] == ["new", "mid"]
    assert store.orders.find_by_phone("t1", "+905000000000") == []

def test_ordercache_find_by_tracking_code(store: Any) -> None:
    store.orders.upsert_many("t1", [row("A", tracking="7330001"), row("B", tracking="7330002")])
    assert [o.external_order_id for o in store.orders.find_by_tracking_code("t1", "7330002")] == ["B"]

def test_ordercache_tenant_isolation(store: Any) -> None:
    phone = "+905321112233"
    store.orders.upsert_many("t1", [row("A", phone=phone, tracking="T1")])
    r = store.orders.upsert_many("t2", [row("A", tenant="t2", phone=phone, tracking="T1", status="shipped")])
    assert r.inserted == 1  # the same external id in another tenant is another row
    assert store.orders.get("t1", "trendyol", "acc1", "A").order_status == "created"
    assert store.orders.get("t2", "trendyol", "acc1", "A").order_status == "shipped"
    assert [o.tenant_id for o in store.orders.find_by_phone("t1", phone)] == ["t1"]
    assert [o.tenant_id for o in store.orders.find_by_tracking_code("t2", "T1")] == ["t2"]
    assert list(store.orders.get_many("t3", "trendyol", "acc1", ["A"])) == []
    assert store.orders.count("t3") == 0

def test_ordercache_refuses_rows_of_another_tenant(store: Any) -> None:
    with pytest.raises(TenantMismatch, match="another tenant"):
        store.orders.upsert_many("t1", [row("A"), row("B", tenant="t2")])
    assert store.orders.count("t2") == 0


def test_checkpoints_put_get_overwrite_and_isolation(store: Any) -> None:
    assert store.checkpoints.get("t1", "acc1", "orders") is None
    store.checkpoints.put("t1", Checkpoint(tenant_id="t1", account_id="acc1", stream="orders", position=T0,
                                     cursor="backfill", updated_at=T0))
    later = T0 + timedelta(hours=1)
    store.checkpoints.put("t1", Checkpoint(tenant_id="t1", account_id="acc1", stream="orders", position=later,
                                     cursor=None, updated_at=later))
    got = store.checkpoints.get("t1", "acc1", "orders")
    assert got.position == later and got.cursor is None and got.updated_at == later
    assert store.checkpoints.get("t2", "acc1", "orders") is None
    assert store.checkpoints.get("t1", "acc1", "shipments") is None


def test_quarantine_add_find_and_isolation(store: Any) -> None:
    def q(i: int, tenant: str, provider: str) -> QuarantinedRecord:
        return QuarantinedRecord(id=f"q{i}", tenant_id=tenant, provider=provider, account_id="acc1",
                                 record_id=f"R{i}", field="orderDate", error="[trendyol] malformed",
                                 raw_json=f'{{"id": "R{i}", "ad": "Çiğdem"}}', created_at=T0)

    store.quarantine.add("t1", q(1, "t1", "trendyol"))
    store.quarantine.add("t1", q(2, "t1", "hepsiburada"))
    store.quarantine.add("t2", q(3, "t2", "trendyol"))
    assert [r.id for r in store.quarantine.find("t1")] == ["q1", "q2"]
    assert [r.id for r in store.quarantine.find("t1", provider="hepsiburada")] == ["q2"]
    [got] = store.quarantine.find("t2")
    assert got.record_id == "R3" and got.field == "orderDate" and "Çiğdem" in got.raw_json
