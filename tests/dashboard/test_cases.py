"""Return and review cases: the repositories (memory, SQLite and PostgreSQL alike), the domain steps that fill
them, and the indexes the panels' range reads run on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.dashboard import (
    ReturnCase,
    ReturnOutcome,
    ReviewCase,
    ReviewInput,
    ReviewOutcome,
    ingest_reviews,
    open_return_cases,
    record_contact,
    record_follow_up,
    record_return_outcome,
    record_review_outcome,
)
from invekto_integrations.models.claims import ClaimLine, ClaimStatus, ReturnClaim
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.storage.protocols import TenantMismatch

from .seed import NOW, PERIOD, seed_all, z


def _case(tenant: str = "t1", claim: str = "c1", **kw: Any) -> ReturnCase:
    data: dict[str, Any] = dict(id=f"id-{claim}", tenant_id=tenant, provider="trendyol", claim_id=claim,
                                order_number="n1", claim_amount=Decimal("99.90"), opened_at=NOW, created_at=NOW,
                                updated_at=NOW)
    data.update(kw)
    return ReturnCase(**data)


def test_return_case_repository_round_trip_and_isolation(store: Any) -> None:
    repo = store.return_cases
    assert repo.add("t1", _case()) is True
    assert repo.add("t1", _case(claim_amount=Decimal(1))) is False  # known claim: unchanged
    got = repo.get("t1", "trendyol", "c1")
    assert got == _case() and got.claim_amount == Decimal("99.90")
    assert repo.get("t2", "trendyol", "c1") is None
    changed = _case(outcome=ReturnOutcome.KEPT, outcome_at=NOW, concession_amount=Decimal("9.99"))
    repo.save("t1", changed)
    assert repo.get("t1", "trendyol", "c1") == changed
    assert changed.recovered_amount == Decimal("89.91")
    repo.add("t2", _case("t2"))
    assert [c.tenant_id for c in repo.find("t1")] == ["t1"]
    assert repo.find("t1", opened_from=NOW + timedelta(seconds=1)) == []
    assert repo.find("t1", opened_to=NOW) == []  # half-open
    assert repo.tenants() == ["t1", "t2"]
    with pytest.raises(TenantMismatch):
        repo.add("t1", _case("t2", claim="c9"))
    with pytest.raises(TenantMismatch):
        repo.save("t1", _case("t2", claim="c9"))


def test_return_case_rules() -> None:
    with pytest.raises(ValueError, match="needs outcome_at"):
        _case(outcome=ReturnOutcome.REFUNDED)
    with pytest.raises(ValueError, match="exceeds the claim"):
        _case(concession_amount=Decimal(100))


def test_review_case_repository(store: Any, clock: FrozenClock) -> None:
    repo = store.review_cases
    ingest_reviews(repo, "t1", [ReviewInput(platform="trendyol", review_id="r1", rating=2, reviewed_at=NOW),
                                ReviewInput(platform="trendyol", review_id="r2", rating=5, reviewed_at=NOW)],
                   clock=clock)
    assert [c.negative for c in repo.find("t1")] in ([True, False], [False, True])
    assert [c.review_id for c in repo.find("t1", negative=True)] == ["r1"]
    assert repo.find("t2") == [] and repo.get("t2", "trendyol", "r1") is None
    assert repo.find("t1", platform="hepsiburada") == []
    first = repo.get("t1", "trendyol", "r1")
    assert repo.add("t1", first) is False
    with pytest.raises(TenantMismatch):
        repo.save("t2", first)


def test_open_return_cases_is_idempotent_and_follows_the_claim(store: Any, clock: FrozenClock) -> None:
    claim = ReturnClaim(provider="trendyol", external_id="c1", order_number="n1", status=ClaimStatus.REQUESTED,
                        raw_status="Created", created_at=z("2026-03-02T08:00"), updated_at=z("2026-03-02T08:00"),
                        lines=[ClaimLine(reason="Beden olmadı")], refund_amount=Decimal("149.90"))
    created = open_return_cases(store.return_cases, "t1", [claim], clock=clock, phones={"n1": "+905551112233"})
    assert len(created) == 1 and created[0].reason == "Beden olmadı"
    assert created[0].customer_phone == "+905551112233" and created[0].claim_amount == Decimal("149.90")
    assert open_return_cases(store.return_cases, "t1", [claim], clock=clock) == []  # nothing new
    record_contact(store.return_cases, "t1", "trendyol", "c1", at=z("2026-03-02T09:00"))
    record_return_outcome(store.return_cases, "t1", "trendyol", "c1", ReturnOutcome.EXCHANGED,
                          at=z("2026-03-02T10:00"))
    # A later "refunded" from the marketplace does not overwrite the seller's recorded outcome.
    refunded = claim.model_copy(update={"status": ClaimStatus.REFUNDED})
    [case] = open_return_cases(store.return_cases, "t1", [refunded], clock=clock)
    assert case.claim_status == "refunded" and case.outcome is ReturnOutcome.EXCHANGED
    assert case.contacted_at == z("2026-03-02T09:00")


def test_domain_steps_name_the_bad_record(store: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        record_contact(store.return_cases, "t1", "trendyol", "nope", at=NOW)
    assert info.value.record == "nope" and info.value.provider == "trendyol"
    store.return_cases.add("t1", _case())
    with pytest.raises(InvalidArgument, match="concession"):
        record_return_outcome(store.return_cases, "t1", "trendyol", "c1", ReturnOutcome.KEPT, at=NOW,
                              concession_amount=Decimal(500))
    with pytest.raises(InvalidArgument, match="pending"):
        record_return_outcome(store.return_cases, "t1", "trendyol", "c1", ReturnOutcome.PENDING, at=NOW)
    with pytest.raises(InvalidArgument, match="no review"):
        record_review_outcome(store.review_cases, "t1", "trendyol", "missing", ReviewOutcome.REMOVED, at=NOW)
    store.review_cases.add("t1", ReviewCase(id="x", tenant_id="t1", platform="trendyol", review_id="r1",
                                            rating_before=1, negative=True, reviewed_at=NOW, created_at=NOW,
                                            updated_at=NOW))
    with pytest.raises(InvalidArgument, match="followed-up"):
        record_review_outcome(store.review_cases, "t1", "trendyol", "r1", ReviewOutcome.REMOVED, at=NOW)


def test_review_outcomes_follow_the_platform(store: Any, clock: FrozenClock) -> None:
    repo = store.review_cases
    r = ReviewInput(platform="trendyol", review_id="r1", rating=1, reviewed_at=NOW)
    ingest_reviews(repo, "t1", [r], clock=clock)
    # Not followed up: a rating change is recorded but is no recovery.
    ingest_reviews(repo, "t1", [r.model_copy(update={"rating": 3})], clock=clock)
    case = repo.get("t1", "trendyol", "r1")
    assert case.rating_after == 3 and case.outcome is ReviewOutcome.PENDING
    record_follow_up(repo, "t1", "trendyol", "r1", at=NOW)
    ingest_reviews(repo, "t1", [r.model_copy(update={"rating": 5})], clock=clock)
    case = repo.get("t1", "trendyol", "r1")
    assert case.outcome is ReviewOutcome.IMPROVED and case.rating_after == 5 and case.recovered
    ingest_reviews(repo, "t1", [r.model_copy(update={"rating": 1})], clock=clock)
    assert repo.get("t1", "trendyol", "r1").outcome is ReviewOutcome.UNCHANGED
    with pytest.raises(InvalidArgument, match="negative_at_most"):
        ingest_reviews(repo, "t1", [r], clock=clock, negative_at_most=5)


def test_panel_reads_use_tenant_leading_indexes(clock: FrozenClock) -> None:
    store = SQLiteStore()
    try:
        seed_all(store, clock)
        for name, sql in store.reports.queries.items():
            plan = " | ".join(row[3] for row in store.db.execute(
                "EXPLAIN QUERY PLAN " + sql, ("t1", PERIOD.start.isoformat(), PERIOD.end.isoformat())))
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (name, plan)
            assert "SCAN" not in plan, (name, plan)
    finally:
        store.close()


def test_panel_reads_on_postgres_use_tenant_leading_indexes(postgres_url: str) -> None:
    """With sequential scans priced out, every range read must find an index leading with tenant_id
    (the tables are tiny here: the planner would scan them otherwise)."""
    import json

    from invekto_integrations.storage.postgres import PostgresStore

    store = PostgresStore(postgres_url)
    try:
        with store.atomic() as conn:
            conn.execute("SET LOCAL enable_seqscan = off")
            for name, sql in store.reports.queries.items():
                [row] = conn.execute("EXPLAIN (FORMAT JSON) " + sql, ("t1", PERIOD.start, PERIOD.end)).fetchall()
                plan = json.dumps(row["QUERY PLAN"])
                assert "Seq Scan" not in plan and '"Index Name"' in plan, (name, plan)
    finally:
        store.close()


def test_case_saves_of_one_tenant_never_replace_another_tenants_case(store: Any, clock: FrozenClock) -> None:
    """Same provider and claim id (or platform and review id) in two tenants: two rows, each saved apart."""
    a, b = _case(), _case("t2", id="other")
    store.return_cases.save("t1", a)
    store.return_cases.save("t2", b)
    store.return_cases.save("t2", b.model_copy(update={"note": "t2 only"}))
    assert store.return_cases.get("t1", a.provider, a.claim_id) == a
    assert store.return_cases.get("t2", a.provider, a.claim_id).note == "t2 only"
    review = ReviewCase(id="r", tenant_id="t1", platform="trendyol", review_id="r1", rating_before=2,
                        negative=True, reviewed_at=NOW, created_at=NOW, updated_at=NOW)
    store.review_cases.save("t1", review)
    store.review_cases.save("t2", review.model_copy(update={"tenant_id": "t2", "rating_before": 5,
                                                             "negative": False}))
    assert store.review_cases.get("t1", "trendyol", "r1") == review
    assert store.review_cases.find("t2", negative=False)[0].rating_before == 5
