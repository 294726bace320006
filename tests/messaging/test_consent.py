"""Consent rules: keyword folding, the change feed, cache TTL and İYS write-back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invekto_integrations.messaging import ConsentPolicy, MessageCategory, fold_keyword
from invekto_integrations.models.consent import ConsentRecord, ConsentStatus
from invekto_integrations.storage.memory import MemoryStore

from .conftest import PHONE, Harness


@pytest.mark.parametrize("text", ["DUR", "dur", "Dur!", " İPTAL ", "iptal", "IPTAL", "ıptal", "İptal.", "stop",
                                  "Stop", "abonelik iptal", "ÇIK", "cik"])
def test_default_opt_out_keywords_fold(text: str) -> None:
    from invekto_integrations.messaging import ConsentService

    store = MemoryStore()
    service = ConsentService(store.consents, store.messaging_contacts)
    assert service.opt_out_keyword("t", text) is not None


@pytest.mark.parametrize("text", ["Kargom durdu mu?", "dur bakalım ne olacak", "iptal etmek istemiyorum", "", None,
                                  "stopaj"])
def test_sentences_are_not_opt_outs(text: str | None) -> None:
    from invekto_integrations.messaging import ConsentService

    store = MemoryStore()
    assert ConsentService(store.consents, store.messaging_contacts).opt_out_keyword("t", text) is None


def test_configurable_keywords() -> None:
    from invekto_integrations.messaging import ConsentService

    store = MemoryStore()
    service = ConsentService(store.consents, store.messaging_contacts)
    service.configure("t", policy=ConsentPolicy(opt_out_keywords=("İSTEMİYORUM",)))
    assert service.opt_out_keyword("t", "istemiyorum") == "İSTEMİYORUM"
    assert service.opt_out_keyword("t", "DUR") is None


@given(st.sampled_from(["İ", "I", "ı", "i"]), st.sampled_from(["PTAL", "ptal", "PtAl"]))
def test_turkish_i_folding(first: str, rest: str) -> None:
    assert fold_keyword(first + rest) == "iptal"


def test_apply_changes_ret_always_wins_and_older_onay_does_not(harness: Harness) -> None:
    now = harness.clock.now()
    onay = ConsentRecord(recipient=PHONE, status=ConsentStatus.ONAY, creation_date=now - timedelta(hours=2))
    ret = ConsentRecord(recipient=PHONE, status=ConsentStatus.RET, creation_date=now - timedelta(hours=1))
    harness.consent.apply_changes("t1", [onay, ret, onay])  # a late, older ONAY after the RET
    cached = harness.store.consents.get("t1", "700001", PHONE, "MESAJ")
    assert cached is not None and cached.status == "RET"
    newer = ConsentRecord(recipient=PHONE, status=ConsentStatus.ONAY, creation_date=now)
    harness.consent.apply_changes("t1", [newer])  # a later re-consent lands
    assert harness.store.consents.get("t1", "700001", PHONE, "MESAJ").status == "ONAY"  # type: ignore[union-attr]


def test_stale_cache_is_rechecked_with_iys(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    assert harness.consent.check("t1", PHONE, MessageCategory.MARKETING).allowed
    harness.iys.citizen_change("700001", "700001", PHONE, "RET")  # not pulled from the feed
    assert harness.consent.check("t1", PHONE, MessageCategory.MARKETING).allowed  # fresh cache within TTL
    harness.clock.advance(timedelta(hours=25).total_seconds())
    decision = harness.consent.check("t1", PHONE, MessageCategory.MARKETING)
    assert not decision.allowed and decision.reason == "consent_rejected"
    assert len(harness.iys.requests_to("/consents/status")) == 2


def test_record_consent_uploads_to_iys_and_opt_out_registers_ret(harness: Harness) -> None:
    harness.consent.configure("t1", policy=ConsentPolicy(register_opt_out_in_iys=True),
                              source=harness.pipeline.consent._tenant("t1").source, brand_code="700001")
    record = harness.consent.record_consent("t1", "0532 123 45 67", source_code="HS_WEB")
    assert record.transaction_id
    assert harness.iys.record("700001", "700001", PHONE)["status"] == "ONAY"  # type: ignore[index]
    harness.consent.record_opt_out("t1", PHONE, keyword="DUR")
    stored = harness.iys.record("700001", "700001", PHONE)
    assert stored is not None and stored["status"] == "RET" and stored["source"] == "HS_MESAJ"
    assert harness.consent.check("t1", PHONE, MessageCategory.MARKETING).reason == "opted_out"


def test_opt_out_without_iys_record_does_not_upload_a_first_ret(harness: Harness) -> None:
    harness.consent.configure("t1", policy=ConsentPolicy(register_opt_out_in_iys=True),
                              source=harness.pipeline.consent._tenant("t1").source, brand_code="700001")
    harness.consent.record_opt_out("t1", PHONE, keyword="STOP")
    assert harness.iys.requests_to("/consents", "POST") == []  # H175 avoided
    contact = harness.store.messaging_contacts.get("t1", PHONE)
    assert contact is not None and contact.opted_out_at is not None


def test_opt_out_can_block_transactional_by_policy(harness: Harness) -> None:
    harness.consent.record_opt_out("t1", PHONE, keyword="DUR")
    assert harness.consent.check("t1", PHONE, MessageCategory.UTILITY).allowed
    harness.consent.configure("t1", policy=ConsentPolicy(opt_out_blocks_transactional=True), brand_code="700001")
    assert harness.consent.check("t1", PHONE, MessageCategory.UTILITY).reason == "opted_out"


def test_malformed_change_is_quarantined_and_the_rest_applied(harness: Harness) -> None:
    other = "+905329998877"
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    harness.iys.seed_consent("700001", "700001", other, "ONAY")
    harness.consent.quarantine = harness.store.quarantine
    assert harness.consent.check("t1", PHONE, MessageCategory.MARKETING).allowed  # caches ONAY
    assert harness.consent.check("t1", other, MessageCategory.MARKETING).allowed
    harness.iys.citizen_change("700001", "700001", PHONE, "RET")
    harness.iys.inject_raw_change("700001", "700001", {"recipient": "+905551112233", "type": "MESAJ",
                                                       "status": "BELKI", "recipientType": "BIREYSEL"})
    harness.iys.inject_raw_change("700001", "700001", {"type": "MESAJ", "status": "RET"})  # no recipient
    harness.iys.citizen_change("700001", "700001", other, "RET")
    assert harness.consent.sync_changes("t1") == 2  # both RETs, around the two bad elements
    assert harness.consent.check("t1", PHONE, MessageCategory.MARKETING).reason == "consent_rejected"
    assert harness.consent.check("t1", other, MessageCategory.MARKETING).reason == "consent_rejected"
    problems = harness.store.quarantine.find("t1")
    assert sorted((q.provider, q.field, q.record_id) for q in problems) == [
        ("iys", "recipient", None), ("iys", "status", "+905551112233")]
    assert harness.consent.sync_changes("t1") == 0  # the cursor moved past them: not stuck, not repeated
    assert len(harness.store.quarantine.find("t1")) == 2


def test_onay_without_a_known_time_never_replaces_a_ret(harness: Harness) -> None:
    now = harness.clock.now()
    ret = ConsentRecord(recipient=PHONE, status=ConsentStatus.RET, consent_date=now)  # e.g. a local opt-out upload
    harness.consent.apply_changes("t1", [ret], origin="local")
    harness.consent.apply_changes("t1", [ConsentRecord(recipient=PHONE, status=ConsentStatus.ONAY)])
    assert harness.store.consents.get("t1", "700001", PHONE, "MESAJ").status == "RET"  # type: ignore[union-attr]
    harness.consent.apply_changes("t1", [ConsentRecord(recipient=PHONE, status=ConsentStatus.ONAY,
                                                       creation_date=now - timedelta(minutes=1))])
    assert harness.store.consents.get("t1", "700001", PHONE, "MESAJ").status == "RET"  # type: ignore[union-attr]
    harness.consent.apply_changes("t1", [ConsentRecord(recipient=PHONE, status=ConsentStatus.ONAY,
                                                       creation_date=now + timedelta(minutes=1))])
    assert harness.store.consents.get("t1", "700001", PHONE, "MESAJ").status == "ONAY"  # type: ignore[union-attr]


def test_prefetch_before_a_campaign_uses_one_multi_query(harness: Harness) -> None:
    from invekto_integrations.messaging import OutboundMessage, TemplateRef

    phones = ["+905320000001", "+905320000002", "+905320000003", "+905320000004", "0532 000 00 05", "12"]
    harness.iys.seed_consent("700001", "700001", "+905320000001", "ONAY")
    harness.iys.seed_consent("700001", "700001", "+905320000002", "ONAY")
    harness.iys.seed_consent("700001", "700001", "+905320000003", "ONAY")
    harness.iys.citizen_change("700001", "700001", "+905320000003", "RET")
    harness.consent.record_opt_out("t1", "+905320000002", keyword="DUR")
    decisions = harness.consent.prefetch("t1", phones)
    assert {p: d.reason for p, d in decisions.items()} == {
        "+905320000001": "consent", "+905320000002": "opted_out", "+905320000003": "consent_rejected",
        "+905320000004": "no_consent", "0532 000 00 05": "no_consent", "12": "invalid_phone"}
    [multi] = harness.iys.requests_to("/consents/BIREYSEL/status/MESAJ", "POST")
    assert sorted(multi.json()["recipients"]) == ["+905320000001", "+905320000002", "+905320000003",
                                                  "+905320000004", "+905320000005"]
    assert harness.iys.requests_to("/consents/status") == []
    allowed = [p for p, d in decisions.items() if d.allowed]
    for i, phone in enumerate(allowed):
        result = harness.pipeline.submit(OutboundMessage(
            tenant_id="t1", to_phone=phone, idempotency_key=f"camp:{i}", category=MessageCategory.MARKETING,
            purpose="campaign", template=TemplateRef(name="kampanya_duyurusu", body_params=["Ayşe", "20"])))
        assert result.status == "sent"
    assert harness.iys.requests_to("/consents/status") == []  # the cache answered
    harness.consent.prefetch("t1", phones)
    assert len(harness.iys.requests_to("/consents/BIREYSEL/status/MESAJ", "POST")) == 2
    assert sorted(harness.iys.requests_to("/consents/BIREYSEL/status/MESAJ", "POST")[1].json()["recipients"]) == [
        "+905320000004", "+905320000005"]  # only the unknown ones are asked again
