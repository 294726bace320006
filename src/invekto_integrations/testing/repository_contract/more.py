"""Contract of the return claims, tenant settings, outbox correlation counts and calendar conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.models.settings import FrequencyCap, Niche, TenantSettings
from invekto_integrations.storage.claims import StoredClaim
from invekto_integrations.storage.protocols import DuplicateRecord, TenantMismatch
from invekto_integrations.storage.records import CalendarConflict, OutboxRecord, OutboxStatus

__all__ = [
    "test_calendar_conflict_ids_never_replace_a_row",
    "test_outbox_grouped_counts",
    "test_return_claims_upsert_find_and_isolation",
    "test_tenant_settings_round_trip_and_isolation",
]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _claim(cid: str, *, tenant: str = "t1", status: str = "requested", raw: str = "NewRequest",
           at: datetime = T0, digest: str = "h1") -> StoredClaim:
    return StoredClaim(tenant_id=tenant, provider="hepsiburada", account_id="a1", claim_id=cid,
                       external_order_id=f"o-{cid}", status=status, raw_status=raw, claimed_at=at, updated_at=at,
                       refund_amount=Decimal("149.90") if status == "refunded" else None, claim_json="{}",
                       content_hash=digest, first_seen_at=at, synced_at=at)


def test_return_claims_upsert_find_and_isolation(store: Any) -> None:
    repo = store.return_claims
    r = repo.upsert_many("t1", [_claim("c1"), _claim("c2", at=T0 + timedelta(hours=1))])
    assert (r.inserted, r.updated, r.unchanged) == (2, 0, 0)
    later = T0 + timedelta(days=1)
    r = repo.upsert_many("t1", [
        _claim("c1", status="refunded", raw="Refunded", digest="h2").model_copy(update={"first_seen_at": later}),
        _claim("c2", at=T0 + timedelta(hours=1)).model_copy(update={"synced_at": later})])
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 1)
    c1 = repo.get("t1", "hepsiburada", "a1", "c1")
    assert c1.status == "refunded" and c1.refund_amount == Decimal("149.90") and c1.first_seen_at == T0
    assert repo.get("t1", "hepsiburada", "a1", "c2").synced_at == later
    assert [c.claim_id for c in repo.find("t1")] == ["c2", "c1"]  # newest claim first
    assert [c.claim_id for c in repo.find("t1", status="refunded")] == ["c1"]
    assert [c.claim_id for c in repo.find("t1", external_order_id="o-c2")] == ["c2"]
    assert set(repo.get_many("t1", "hepsiburada", "a1", ["c1", "c2", "nope"])) == {"c1", "c2"}
    assert repo.get("t2", "hepsiburada", "a1", "c1") is None and repo.find("t2") == []
    repo.upsert_many("t2", [_claim("c1", tenant="t2")])  # the same claim id for another tenant
    assert repo.get("t1", "hepsiburada", "a1", "c1").status == "refunded"
    with pytest.raises(TenantMismatch):
        repo.upsert_many("t1", [_claim("c9", tenant="t2")])


def test_tenant_settings_round_trip_and_isolation(store: Any) -> None:
    repo = store.tenant_settings
    assert repo.get("t1") is None and repo.tenants() == []
    s = TenantSettings(tenant_id="t1", timezone="Europe/Berlin", niche=Niche.AESTHETIC,
                       frequency_caps=(FrequencyCap(max_messages=1, per=timedelta(days=1)),))
    repo.save("t1", s)
    assert repo.get("t1") == s and repo.get("t2") is None
    repo.save("t1", s.model_copy(update={"locale": "en-GB"}))
    assert repo.get("t1").locale == "en-GB" and repo.tenants() == ["t1"]
    with pytest.raises(TenantMismatch):
        repo.save("t2", s)


def test_outbox_grouped_counts(store: Any) -> None:
    def row(i: int, tenant: str, campaign: str | None, variant: str | None, status: OutboxStatus) -> OutboxRecord:
        return OutboxRecord(id=f"{tenant}-{i}", tenant_id=tenant, idempotency_key=f"k{i}", purpose="campaign",
                            category="marketing", to_phone="+905321234567", message_json="{}", status=status,
                            due_at=T0, created_at=T0, updated_at=T0, campaign_id=campaign, variant=variant)

    for i, (c, v, st) in enumerate([("c1", "A", OutboxStatus.READ), ("c1", "A", OutboxStatus.READ),
                                    ("c1", "B", OutboxStatus.REFUSED), (None, None, OutboxStatus.SENT)]):
        store.outbox.insert_if_absent("t1", row(i, "t1", c, v, st))
    store.outbox.insert_if_absent("t2", row(9, "t2", "c1", "A", OutboxStatus.READ))
    got = [(c.campaign_id, c.variant, c.status.value, c.count) for c in store.outbox.grouped_counts("t1")]
    assert got == [(None, None, "sent", 1), ("c1", "A", "read", 2), ("c1", "B", "refused", 1)]
    assert sum(c.count for c in store.outbox.grouped_counts("t1", campaign_id="c1")) == 3


def test_calendar_conflict_ids_never_replace_a_row(store: Any) -> None:
    def conflict(tenant: str, detail: str) -> CalendarConflict:
        return CalendarConflict(id="same-id", tenant_id=tenant, calendar_id="cal", event_id="e1",
                                appointment_id=None, kind="moved", resolution="calendar_wins", detail=detail,
                                created_at=T0)

    store.calendar_sync.add_conflict("t1", conflict("t1", "first"))
    with pytest.raises(DuplicateRecord):
        store.calendar_sync.add_conflict("t1", conflict("t1", "second"))
    store.calendar_sync.add_conflict("t2", conflict("t2", "other tenant"))  # its own row, t1's survives
    assert [c.detail for c in store.calendar_sync.find_conflicts("t1")] == ["first"]
    assert [c.detail for c in store.calendar_sync.find_conflicts("t2")] == ["other tenant"]
