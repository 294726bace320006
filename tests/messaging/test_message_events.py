"""Message events v2: submitted / refused / status events carry purpose, recipient and correlation;
the outbox counts per campaign and variant."""

from __future__ import annotations

from typing import Any

import pytest

from invekto_integrations.messaging import MessageCategory, OutboundMessage, TemplateRef
from invekto_integrations.messaging.pipeline import CorrelationKey
from invekto_integrations.models.correlation import Correlation
from invekto_integrations.models.events import (
    MessageRefused,
    MessageStatusChanged,
    MessageSubmitted,
    decode_event,
)
from invekto_integrations.storage.memory import MemoryStore
from invekto_integrations.storage.records import OutboxRecord, OutboxStatus
from invekto_integrations.storage.sqlite import SQLiteStore

from .conftest import PHONE, START, Harness

OTHER = "+905329876543"


def campaign(key: str, variant: str, phone: str = PHONE) -> OutboundMessage:
    return OutboundMessage(tenant_id="t1", to_phone=phone, idempotency_key=key, category=MessageCategory.MARKETING,
                           purpose="campaign", template=TemplateRef(name="kampanya_duyurusu", body_params=["A", "1"]),
                           correlation=Correlation(campaign_id="c-7", variant=variant))


def events_of(h: Harness, cls: Any) -> list[Any]:
    return [decode_event(e.type, e.version, e.data) for e in h.store.events.read("t1", types=[cls.TYPE])]


def test_submitted_and_statuses_carry_purpose_recipient_and_correlation(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    result = harness.pipeline.submit(campaign("k1", "A"))
    assert result.status == "sent"
    harness.deliver()
    harness.advance(60)
    (submitted,) = events_of(harness, MessageSubmitted)
    assert submitted.message_id == result.message_id and submitted.status == "queued"
    assert (submitted.purpose, submitted.recipient) == ("campaign", PHONE)
    assert submitted.correlation == Correlation(campaign_id="c-7", variant="A")
    statuses = events_of(harness, MessageStatusChanged)
    assert [s.status for s in statuses][:2] == ["accepted", "sent"]
    for s in statuses:
        assert (s.purpose, s.recipient, s.correlation) == ("campaign", PHONE, submitted.correlation)
    # submitting the same key again is a duplicate: no second event
    harness.pipeline.submit(campaign("k1", "A"))
    assert len(events_of(harness, MessageSubmitted)) == 1


def test_refused_event_has_the_reason_once_per_fact(harness: Harness) -> None:
    result = harness.pipeline.submit(campaign("k2", "B"))
    assert result.status == "refused"
    harness.pipeline.submit(campaign("k2", "B"))  # refused again for the same reason: one fact
    (refused,) = events_of(harness, MessageRefused)
    assert refused.reason == "no_consent" and refused.stage == "submit" and refused.category == "marketing"
    assert refused.correlation == Correlation(campaign_id="c-7", variant="B") and refused.recipient == PHONE


def test_refused_at_dispatch_when_consent_is_withdrawn_while_waiting(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    harness.pipeline.submit(campaign("k3", "A").model_copy(update={"not_before": START.replace(hour=11)}))
    harness.consent.record_opt_out("t1", PHONE, keyword="IPTAL", at=START)
    harness.clock.advance(3 * 3600)
    harness.pipeline.dispatch_due("t1")
    (refused,) = events_of(harness, MessageRefused)
    assert (refused.stage, refused.reason) == ("dispatch", "opted_out")
    assert refused.correlation == Correlation(campaign_id="c-7", variant="A")


def test_counts_per_campaign_and_variant(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    harness.pipeline.submit(campaign("a1", "A"))
    harness.pipeline.submit(campaign("b1", "B", phone=OTHER))  # no consent: refused
    harness.pipeline.submit(OutboundMessage(
        tenant_id="t1", to_phone=PHONE, idempotency_key="cargo", category=MessageCategory.UTILITY,
        purpose="cargo_status", template=TemplateRef(name="order_shipped", body_params=["A", "1"])))
    counts = harness.pipeline.correlation_counts("t1")
    assert counts[CorrelationKey("campaign", "c-7", "A")].sent == 1
    assert counts[CorrelationKey("campaign", "c-7", "B")].refused == 1
    assert counts[CorrelationKey("cargo_status", None, None)].total == 1
    only = harness.pipeline.correlation_counts("t1", campaign_id="c-7")
    assert set(only) == {CorrelationKey("campaign", "c-7", "A"), CorrelationKey("campaign", "c-7", "B")}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_grouped_counts_agree_on_both_stores(kind: str) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    rows = [("campaign", "c1", "A", OutboxStatus.READ), ("campaign", "c1", "A", OutboxStatus.READ),
            ("campaign", "c1", "B", OutboxStatus.FAILED), ("campaign", "c2", None, OutboxStatus.QUEUED),
            ("cargo_status", None, None, OutboxStatus.SENT)]
    for i, (purpose, camp, variant, status) in enumerate(rows):
        store.outbox.insert_if_absent("t1", OutboxRecord(
            id=f"id{i}", tenant_id="t1", idempotency_key=f"k{i}", purpose=purpose, category="marketing",
            to_phone=PHONE, message_json="{}", status=status, due_at=START, created_at=START, updated_at=START,
            campaign_id=camp, variant=variant))
    store.outbox.insert_if_absent("t2", OutboxRecord(
        id="other", tenant_id="t2", idempotency_key="k", purpose="campaign", category="marketing", to_phone=PHONE,
        message_json="{}", status=OutboxStatus.READ, due_at=START, created_at=START, updated_at=START,
        campaign_id="c1", variant="A"))
    got = [(c.purpose, c.campaign_id, c.variant, c.status.value, c.count) for c in store.outbox.grouped_counts("t1")]
    assert got == [("campaign", "c1", "A", "read", 2), ("campaign", "c1", "B", "failed", 1),
                   ("campaign", "c2", None, "queued", 1), ("cargo_status", None, None, "sent", 1)]
    assert [c.count for c in store.outbox.grouped_counts("t1", campaign_id="c1")] == [2, 1]
    assert len(store.outbox.grouped_counts("t1", purpose="cargo_status")) == 1
    row = store.outbox.get("t1", "id0")
    assert row is not None and (row.campaign_id, row.variant) == ("c1", "A")
