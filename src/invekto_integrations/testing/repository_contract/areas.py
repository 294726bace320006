"""Contract of the dashboard, attribution and campaign repositories.

Keys are per tenant: the same claim, review, lead, conversion, rule, campaign or recipient id under
two tenants is two rows, and a write of one never replaces or shows in the other; a record of
another tenant is refused (`TenantMismatch`). Tracked-link codes are the one key unique across
tenants (the public redirect knows only the code).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.models.ads import AdsLevel
from invekto_integrations.models.attribution import (
    AdCacheEntry,
    AdRef,
    CapiDelivery,
    CapiStatus,
    Channel,
    Conversion,
    ConversionKind,
    Lead,
    SpendEntry,
    SpendOrigin,
    TagRule,
    Touch,
    TrackedLink,
)
from invekto_integrations.storage.dashboard_records import ReturnCase, ReviewCase
from invekto_integrations.storage.protocols import DuplicateRecord, TenantMismatch

__all__ = [
    "test_areas_attribution_keys_are_per_tenant",
    "test_areas_campaign_keys_are_per_tenant",
    "test_areas_dashboard_case_keys_are_per_tenant",
    "test_areas_link_codes_are_unique_across_tenants",
    "test_areas_writes_of_another_tenant",
]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PHONE = "+905321112233"


def _return_case(tenant: str, note: str | None = None) -> ReturnCase:
    return ReturnCase(id=f"rc-{tenant}", tenant_id=tenant, provider="trendyol", claim_id="c1", order_number="n1",
                      claim_amount=Decimal("99.90"), opened_at=T0, created_at=T0, updated_at=T0, note=note)


def _review_case(tenant: str, rating: int) -> ReviewCase:
    return ReviewCase(id=f"rv-{tenant}", tenant_id=tenant, platform="trendyol", review_id="r1",
                      rating_before=rating, negative=rating <= 2, reviewed_at=T0, created_at=T0, updated_at=T0)


def test_areas_dashboard_case_keys_are_per_tenant(store: Any) -> None:
    for repo, make in ((store.return_cases, lambda t: _return_case(t)),
                       (store.review_cases, lambda t: _review_case(t, 2 if t == "t1" else 5))):
        assert repo.add("t1", make("t1")) is True
        assert repo.add("t2", make("t2")) is True  # same natural key, other tenant: its own row
        assert repo.add("t1", make("t1")) is False
    store.return_cases.save("t2", _return_case("t2", note="t2 only"))
    assert store.return_cases.get("t1", "trendyol", "c1").note is None
    assert store.return_cases.get("t2", "trendyol", "c1").note == "t2 only"
    assert [c.id for c in store.return_cases.find("t1")] == ["rc-t1"]
    assert store.review_cases.get("t1", "trendyol", "r1").rating_before == 2
    assert [c.rating_before for c in store.review_cases.find("t2", negative=False)] == [5]
    assert store.review_cases.find("t1", negative=False) == []


def test_areas_attribution_keys_are_per_tenant(store: Any) -> None:
    for t in ("t1", "t2"):
        touch = Touch(tenant_id=t, touch_id="touch-1", contact=PHONE, at=T0, channel=Channel.CTWA,
                      ad=AdRef(campaign_id=f"camp-{t}"), message_id="wamid.1", referral={"source_id": t})
        assert store.touches.add(t, touch) is True
        assert store.touches.add(t, touch.model_copy(update={"touch_id": "touch-2"})) is False  # same message
        store.leads.add(t, Lead(tenant_id=t, lead_id="lead-1", contact=PHONE, created_at=T0, last_touch_at=T0,
                                first_touch_id="touch-1", channel=Channel.CTWA, ctwa_clid=f"clid-{t}",
                                labels=(t,)))
        assert store.conversions.add(t, Conversion(tenant_id=t, conversion_id="conv-1", source_key="order:1",
                                                   contact=PHONE, kind=ConversionKind.PURCHASE, occurred_at=T0,
                                                   value=Decimal("10.50") if t == "t1" else Decimal(99))) is True
        assert store.conversions.add(t, Conversion(tenant_id=t, conversion_id="conv-2", source_key="order:1",
                                                   contact=PHONE, kind=ConversionKind.PURCHASE,
                                                   occurred_at=T0)) is False
        store.ad_spend.upsert_many(t, [SpendEntry(tenant_id=t, day=date(2026, 3, 2), level=AdsLevel.CAMPAIGN,
                                                  campaign_id="camp", amount=Decimal(7 if t == "t1" else 70),
                                                  origin=SpendOrigin.MANUAL)])
        store.tag_rules.save(t, TagRule(tenant_id=t, rule_id="rule-1", name=f"rule of {t}", field="ad_name",
                                        op="contains", value="x"))
        store.ad_cache.put(t, AdCacheEntry(tenant_id=t, ad_id="ad-1", ad=AdRef(ad_id="ad-1", ad_name=t),
                                           readable=True, fetched_at=T0))
        store.capi_deliveries.put(t, CapiDelivery(tenant_id=t, event_id="ev-1", event_name="Purchase",
                                                  subject_id="conv-1", status=CapiStatus.SENT, updated_at=T0))
    with pytest.raises(DuplicateRecord):
        store.leads.add("t1", Lead(tenant_id="t1", lead_id="lead-1", contact=PHONE, created_at=T0, last_touch_at=T0,
                                   first_touch_id="touch-1", channel=Channel.CTWA))
    assert [t.ad.campaign_id for t in store.touches.find("t1", PHONE)] == ["camp-t1"]
    assert store.touches.find("t1", PHONE)[0].referral == {"source_id": "t1"}
    assert store.leads.get("t2", "lead-1").labels == ("t2",)
    assert store.leads.by_ctwa_clid("t1", "clid-t2") is None
    assert store.conversions.get("t1", "conv-1").value == Decimal("10.50")
    store.conversions.mark_duplicate("t2", "conv-1", "conv-x")
    assert store.conversions.get("t1", "conv-1").counted is True
    assert [c.counted for c in store.conversions.find("t2")] == [False]
    assert [e.amount for e in store.ad_spend.find("t1")] == [Decimal(7)]
    assert store.tag_rules.get("t2", "rule-1").name == "rule of t2"
    assert store.tag_rules.delete("t1", "rule-1") is True
    assert store.tag_rules.get("t1", "rule-1") is None and store.tag_rules.get("t2", "rule-1") is not None
    assert store.ad_cache.get("t1", "ad-1").ad.ad_name == "t1"
    assert [d.tenant_id for d in store.capi_deliveries.find("t2")] == ["t2"]


def test_areas_link_codes_are_unique_across_tenants(store: Any) -> None:
    link = TrackedLink(tenant_id="t1", code="KIS24", wa_number="905320000000", text="Merhaba KIS24",
                       created_at=T0)
    store.tracked_links.add("t1", link)
    with pytest.raises(DuplicateRecord):
        store.tracked_links.add("t1", link.model_copy(update={"link_id": "other"}))
    with pytest.raises(DuplicateRecord):  # the redirect knows only the code: no second owner
        store.tracked_links.add("t2", link.model_copy(update={"tenant_id": "t2", "link_id": "other"}))
    assert store.tracked_links.resolve_code("KIS24") == link
    assert store.tracked_links.get_by_code("t2", "KIS24") is None
    assert store.tracked_links.find("t2") == []
    assert store.tracked_links.resolve_code("NOPE") is None


def test_areas_campaign_keys_are_per_tenant(store: Any) -> None:
    from invekto_integrations.campaigns.models import Campaign, OneShotTrigger, Recipient, RecipientStatus, Variant

    for t in ("t1", "t2"):
        store.campaigns.add(t, Campaign(id="camp-1", tenant_id=t, name=f"Kampanya {t}",
                                        trigger=OneShotTrigger(at=T0 + timedelta(days=1)),
                                        variants=[Variant(name="A", template_name="kis")],
                                        created_at=T0, updated_at=T0))
        rec = Recipient(tenant_id=t, campaign_id="camp-1", occurrence="once", phone=PHONE, variant="A",
                        status=RecipientStatus.ENTERED, entered_at=T0, updated_at=T0)
        assert store.campaign_recipients.enter_many(t, [rec]) == [rec]
        store.contact_profiles.record_order(t, PHONE, order_ref="o1", at=T0,
                                            total=Decimal("10") if t == "t1" else Decimal("500"))
    assert store.campaigns.get("t1", "camp-1").name == "Kampanya t1"
    c2 = store.campaigns.get("t2", "camp-1")
    assert store.campaigns.replace("t2", c2.model_copy(update={"name": "yeni", "version": 2}),
                                   expected_version=1) is True
    assert store.campaigns.replace("t2", c2.model_copy(update={"version": 2}), expected_version=1) is False
    assert store.campaigns.get("t1", "camp-1").name == "Kampanya t1"
    assert store.contact_profiles.get("t1", PHONE).order_total == Decimal("10")
    assert store.contact_profiles.get("t2", PHONE).order_total == Decimal("500")
    assert store.contact_profiles.record_order("t1", PHONE, order_ref="o1", at=T0, total=Decimal(1)) is False
    assert list(store.campaign_recipients.counts("t1", "camp-1")) == ["A"]


def test_areas_writes_of_another_tenant(store: Any) -> None:
    from invekto_integrations.campaigns.models import Recipient, RecipientStatus

    theirs = [
        (store.return_cases.add, _return_case("t2")), (store.return_cases.save, _return_case("t2")),
        (store.review_cases.save, _review_case("t2", 3)),
        (store.touches.add, Touch(tenant_id="t2", contact=PHONE, at=T0, channel=Channel.ORGANIC)),
        (store.conversions.add, Conversion(tenant_id="t2", source_key="k", contact=PHONE,
                                           kind=ConversionKind.PURCHASE, occurred_at=T0)),
        (store.tag_rules.save, TagRule(tenant_id="t2", name="r", field="ad_name", op="contains", value="x")),
        (store.campaign_recipients.enter_many, [Recipient(
            tenant_id="t2", campaign_id="c", occurrence="once", phone=PHONE, variant="A",
            status=RecipientStatus.ENTERED, entered_at=T0, updated_at=T0)]),
    ]
    for write, record in theirs:
        with pytest.raises(TenantMismatch):
            write("t1", record)
    assert store.return_cases.find("t1") == [] and store.review_cases.find("t1") == []
    assert store.touches.find("t1", PHONE) == [] and store.conversions.find("t1") == []
    assert store.tag_rules.find("t1") == [] and store.campaign_recipients.counts("t1", "c") == {}
