"""Contract tests for the messaging repositories, run on the memory and SQLite implementations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from invekto_integrations.core.errors import StorageError
from invekto_integrations.storage.memory import MemoryStore
from invekto_integrations.storage.records import ConsentCacheRecord, OutboxRecord, OutboxStatus
from invekto_integrations.storage.sqlite import SQLiteStore

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    s: Any = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "m.db")
    yield s
    s.close()


def row(tenant: str = "t1", key: str = "k1", *, id: str = "o1", status: OutboxStatus = OutboxStatus.QUEUED,
        due: datetime = T0, phone: str = "+905321234567", category: str = "marketing", purpose: str = "campaign",
        created: datetime = T0) -> OutboxRecord:
    return OutboxRecord(id=id, tenant_id=tenant, idempotency_key=key, purpose=purpose, category=category,
                        to_phone=phone, message_json="{}", status=status, due_at=due, created_at=created,
                        updated_at=created)


def test_outbox_idempotency_key_is_unique_per_tenant(store: Any) -> None:
    _, created = store.outbox.insert_if_absent("t1", row())
    assert created
    again, created = store.outbox.insert_if_absent("t1", row(id="o2"))
    assert not created and again.id == "o1"
    other, created = store.outbox.insert_if_absent("t2", row(tenant="t2", id="o3"))
    assert created and other.tenant_id == "t2"
    assert store.outbox.get_by_key("t1", "k1").id == "o1"
    assert store.outbox.get_by_key("t2", "k1").id == "o3"
    assert store.outbox.get("t2", "o1") is None  # tenant isolation
    assert store.outbox.tenants() == ["t1", "t2"]


def test_outbox_roundtrip_save_and_provider_id(store: Any) -> None:
    store.outbox.insert_if_absent("t1", row())
    saved = row().model_copy(update={"status": OutboxStatus.DELIVERED, "provider_message_id": "wamid.1",
                                     "accepted_at": T0, "delivered_at": T0 + timedelta(seconds=5),
                                     "attempts": 1, "error_code": None, "reason": "accepted"})
    store.outbox.save("t1", saved)
    assert store.outbox.get("t1", "o1") == saved
    assert store.outbox.get_by_provider_id("t1", "wamid.1") == saved
    assert store.outbox.get_by_provider_id("t2", "wamid.1") is None
    with pytest.raises(StorageError, match="no outbox row"):
        store.outbox.save("t2", saved.model_copy(update={"tenant_id": "t2"}))


def test_outbox_claim_is_compare_and_set(store: Any) -> None:
    store.outbox.insert_if_absent("t1", row())
    got = store.outbox.claim("t1", "o1", [OutboxStatus.QUEUED], OutboxStatus.SENDING, T0)
    assert got is not None and got.status == OutboxStatus.SENDING
    assert store.outbox.claim("t1", "o1", [OutboxStatus.QUEUED], OutboxStatus.SENDING, T0) is None
    assert store.outbox.claim("t2", "o1", [OutboxStatus.SENDING], OutboxStatus.QUEUED, T0) is None


def test_outbox_claim_under_threads_has_one_winner(store: Any) -> None:
    store.outbox.insert_if_absent("t1", row())
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def go() -> None:
        barrier.wait()
        wins.append(store.outbox.claim("t1", "o1", [OutboxStatus.QUEUED], OutboxStatus.SENDING, T0) is not None)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]


def test_outbox_due_caps_and_counts(store: Any) -> None:
    store.outbox.insert_if_absent("t1", row(key="a", id="a", status=OutboxStatus.SCHEDULED,
                                            due=T0 + timedelta(hours=1)))
    store.outbox.insert_if_absent("t1", row(key="b", id="b", due=T0 - timedelta(minutes=1)))
    store.outbox.insert_if_absent("t1", row(key="c", id="c", status=OutboxStatus.REFUSED))
    store.outbox.insert_if_absent("t1", row(key="d", id="d", status=OutboxStatus.READ, purpose="cargo_status",
                                      category="utility"))
    store.outbox.insert_if_absent("t1", row(key="e", id="e", status=OutboxStatus.FAILED))
    store.outbox.insert_if_absent("t2", row(tenant="t2", key="x", id="x"))
    assert [r.id for r in store.outbox.due("t1", T0)] == ["b"]
    assert [r.id for r in store.outbox.due("t1", T0 + timedelta(hours=2))] == ["b", "a"]
    assert store.outbox.count_recent("t1", "+905321234567", ["marketing"], T0 - timedelta(days=7)) == 2
    assert store.outbox.count_recent("t1", "+905321234567", ["marketing"], T0 + timedelta(seconds=1)) == 0
    assert store.outbox.count_recent("t1", "+905321234567", ["utility"], T0 - timedelta(days=7)) == 1
    assert store.outbox.status_counts("t1") == {
        "campaign": {"scheduled": 1, "queued": 1, "refused": 1, "failed": 1}, "cargo_status": {"read": 1}}
    assert store.outbox.status_counts("t1", purpose="cargo_status") == {"cargo_status": {"read": 1}}
    assert store.outbox.status_counts("t2") == {"campaign": {"queued": 1}}


def test_consent_cache_upsert_and_isolation(store: Any) -> None:
    rec = ConsentCacheRecord(tenant_id="t1", brand_code="700001", recipient="+905321234567", status="ONAY",
                             source="HS_WEB", consent_date=T0, synced_at=T0, updated_at=T0)
    store.consents.upsert("t1", rec)
    assert store.consents.get("t1", "700001", "+905321234567", "MESAJ") == rec
    ret = rec.model_copy(update={"status": "RET", "origin": "iys_changes", "synced_at": T0 + timedelta(hours=1)})
    store.consents.upsert("t1", ret)
    assert store.consents.get("t1", "700001", "+905321234567", "MESAJ") == ret
    assert store.consents.get("t2", "700001", "+905321234567", "MESAJ") is None
    assert store.consents.find("t1", status="RET") == [ret]
    assert store.consents.find("t1", status="ONAY") == []
    assert store.consents.find("t2") == []


def test_contacts_inbound_is_monotonic_and_opt_out(store: Any) -> None:
    c = store.messaging_contacts.record_inbound("t1", "+905321234567", T0, wa_id="905321234567",
                                                ctwa_clid="ARAk1", referral_json='{"a": 1}')
    assert c.last_inbound_at == T0 and c.ctwa_clid == "ARAk1" and c.ctwa_at == T0
    c = store.messaging_contacts.record_inbound("t1", "+905321234567", T0 - timedelta(hours=1))
    assert c.last_inbound_at == T0 and c.ctwa_clid == "ARAk1"  # never moves back; click id kept
    c = store.messaging_contacts.set_opt_out("t1", "+905321234567", T0, "DUR")
    assert c.opted_out_at == T0 and c.opt_out_keyword == "DUR" and c.last_inbound_at == T0
    assert store.messaging_contacts.get("t2", "+905321234567") is None
    c = store.messaging_contacts.clear_opt_out("t1", "+905321234567", T0)
    assert c.opted_out_at is None
    assert store.messaging_contacts.get("t1", "+905321234567") == c


def test_contacts_opt_state_never_moves_back_in_time(store: Any) -> None:
    contacts, phone = store.messaging_contacts, "+905321234567"
    contacts.set_opt_out("t1", phone, T0, "DUR")
    c = contacts.clear_opt_out("t1", phone, T0 + timedelta(hours=2))  # opted in again later
    assert c.opted_out_at is None and c.opt_changed_at == T0 + timedelta(hours=2)
    c = contacts.set_opt_out("t1", phone, T0, "DUR")  # the old message, redelivered
    assert c.opted_out_at is None
    c = contacts.set_opt_out("t1", phone, T0 + timedelta(hours=3), "İPTAL")  # a newer opt-out lands
    assert c.opted_out_at == T0 + timedelta(hours=3)
    assert contacts.clear_opt_out("t1", phone, T0 + timedelta(hours=1)).opted_out_at is not None  # stale opt-in
    # the newest CTWA click is kept when an older one is redelivered
    contacts.record_inbound("t1", phone, T0 + timedelta(hours=5), ctwa_clid="NEW")
    assert contacts.record_inbound("t1", phone, T0, ctwa_clid="OLD").ctwa_clid == "NEW"


# --- pending statuses and stale rows (issue 7 follow-up) -------------------------------------------
def pending(tenant: str = "t1", wamid: str = "wamid.1", status: str = "delivered",
            at: datetime = T0) -> Any:
    from invekto_integrations.storage.records import PendingStatusRecord

    return PendingStatusRecord(tenant_id=tenant, provider="whatsapp_cloud", provider_message_id=wamid,
                               status=status, update_json=f'{{"status": "{status}"}}', received_at=at)


def test_pending_statuses_are_kept_per_tenant_once_and_taken_with_the_save(store: Any) -> None:
    assert store.outbox.buffer_status("t1", pending(status="sent")) is None
    assert store.outbox.buffer_status("t1", pending(status="delivered")) is None
    assert store.outbox.buffer_status("t1", pending(status="sent")) is None  # a repeated webhook is kept once
    assert store.outbox.buffer_status("t2", pending(tenant="t2")) is None
    store.outbox.insert_if_absent("t1", row(status=OutboxStatus.SENDING))
    taken = store.outbox.save_taking_statuses("t1", row().model_copy(update={
        "status": OutboxStatus.ACCEPTED, "provider_message_id": "wamid.1"}))
    assert [(p.tenant_id, p.status) for p in taken] == [("t1", "sent"), ("t1", "delivered")]
    assert store.outbox.get("t1", "o1").status == OutboxStatus.ACCEPTED
    # once the id is stored, a status is not buffered: the row comes back for the caller to apply
    found = store.outbox.buffer_status("t1", pending(status="read"))
    assert found is not None and found.id == "o1"
    assert store.outbox.save_taking_statuses("t1", store.outbox.get("t1", "o1")) == []
    # the other tenant's early status is still there, until purged
    assert store.outbox.purge_pending_statuses("t2", T0) == 0
    assert store.outbox.purge_pending_statuses("t2", T0 + timedelta(seconds=1)) == 1


def test_stale_rows_by_status_and_age(store: Any) -> None:
    store.outbox.insert_if_absent("t1", row(status=OutboxStatus.SENDING))
    store.outbox.insert_if_absent("t1", row(key="k2", id="o2", status=OutboxStatus.SENDING,
                                      created=T0 + timedelta(minutes=5)))
    store.outbox.insert_if_absent("t1", row(key="k3", id="o3", status=OutboxStatus.QUEUED))
    store.outbox.insert_if_absent("t2", row(tenant="t2", key="k4", id="o4", status=OutboxStatus.SENDING))
    assert [r.id for r in store.outbox.stale("t1", OutboxStatus.SENDING, T0)] == []
    assert [r.id for r in store.outbox.stale("t1", OutboxStatus.SENDING, T0 + timedelta(minutes=1))] == ["o1"]
    assert [r.id for r in store.outbox.stale("t1", OutboxStatus.SENDING, T0 + timedelta(hours=1))] == ["o1", "o2"]
    assert [r.id for r in store.outbox.stale("t1", OutboxStatus.SENDING, T0 + timedelta(hours=1), limit=1)] == ["o1"]
