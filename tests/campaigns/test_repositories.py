"""Repository contract of the campaigns area, run on memory and SQLite: the same answers from both."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.campaigns import (
    AllOf,
    AnyOf,
    AppointmentCount,
    AppointmentService,
    AudienceContext,
    Campaign,
    ConsentState,
    Conversion,
    ConversionType,
    Everyone,
    LastAppointment,
    LastOrder,
    Niche,
    NotCriterion,
    OneShotTrigger,
    OrderCount,
    OrderTotal,
    Platform,
    Product,
    Recipient,
    RecipientStatus,
    Segment,
    Tag,
    Variant,
    parse_criteria,
)
from invekto_integrations.core.errors import InvalidArgument, StorageError
from invekto_integrations.storage.protocols import TenantMismatch
from invekto_integrations.storage.records import ConsentCacheRecord

from .conftest import NOW, seed_profiles

CTX = AudienceContext(now=NOW, niche="e-commerce")


def _campaign(**kw: Any) -> Campaign:
    data: dict[str, Any] = dict(id="c1", tenant_id="t1", name="Kış", trigger=OneShotTrigger(at=NOW),
                                variants=[Variant(name="A", template_name="kis_a")], created_at=NOW, updated_at=NOW)
    data.update(kw)
    return Campaign(**data)


def test_campaign_round_trip_and_compare_and_set(store: Any) -> None:
    c = _campaign(audience=AllOf(items=[OrderCount(min=1), NotCriterion(item=Tag(any_of=["vip"]))]),
                  variants=[Variant(name="A", template_name="a", body_params=["name", '"%10"'], weight=Decimal(3)),
                            Variant(name="B", template_name="b")])
    store.campaigns.add("t1", c)
    with pytest.raises(StorageError):
        store.campaigns.add("t1", c)
    with pytest.raises(TenantMismatch):
        store.campaigns.add("t2", c.model_copy(update={"id": "c2"}))
    got = store.campaigns.get("t1", "c1")
    assert got == c
    assert store.campaigns.get("t2", "c1") is None
    renamed = got.model_copy(update={"name": "Kış 2", "version": 2})
    assert store.campaigns.replace("t1", renamed, expected_version=1)
    assert not store.campaigns.replace("t1", renamed.model_copy(update={"version": 3}), expected_version=1)
    assert store.campaigns.get("t1", "c1").name == "Kış 2"
    assert [x.id for x in store.campaigns.find("t1", trigger_type="one_shot")] == ["c1"]
    assert store.campaigns.find("t1", trigger_type="recurring") == []


def _recipient(phone: str, **kw: Any) -> Recipient:
    data: dict[str, Any] = dict(tenant_id="t1", campaign_id="c1", occurrence="once", phone=phone, variant="A",
                                status=RecipientStatus.ENTERED, entered_at=NOW, updated_at=NOW)
    data.update(kw)
    return Recipient(**data)


def test_recipients_enter_once_per_occurrence(store: Any) -> None:
    rows = [_recipient("+905320000001"), _recipient("+905320000002")]
    assert len(store.campaign_recipients.enter_many("t1", rows)) == 2
    again = store.campaign_recipients.enter_many("t1", [*rows, _recipient("+905320000003")])
    assert [r.phone for r in again] == ["+905320000003"]
    assert len(store.campaign_recipients.enter_many("t1", [_recipient("+905320000001", occurrence="o2")])) == 1
    r = store.campaign_recipients.get("t1", "c1", "once", "+905320000001")
    sent = r.model_copy(update={"status": RecipientStatus.SUBMITTED, "message_id": "m1", "delivery": "delivered",
                                "submitted_at": NOW})
    store.campaign_recipients.update("t1", sent)
    store.campaign_recipients.update("t1", store.campaign_recipients.get("t1", "c1", "once", "+905320000002")
                                     .model_copy(update={"status": RecipientStatus.REFUSED, "reason": "no_consent"}))
    assert store.campaign_recipients.by_message("t1", "m1") == sent
    assert store.campaign_recipients.by_message("t2", "m1") is None
    counts = store.campaign_recipients.counts("t1", "c1")["A"]
    assert (counts.entered, counts.submitted, counts.refused, counts.sent, counts.delivered, counts.read) == \
        (4, 1, 1, 1, 1, 0)
    assert counts.refused_reasons == {"no_consent": 1}
    touch = store.campaign_recipients.last_touch("t1", "+905320000001", at=NOW + timedelta(hours=1),
                                                 since=NOW - timedelta(days=1))
    assert touch == sent
    assert store.campaign_recipients.last_touch("t1", "+905320000002", at=NOW + timedelta(hours=1),
                                                since=NOW - timedelta(days=1)) is None
    page = store.campaign_recipients.find("t1", "c1", occurrence="once", limit=2)
    assert [r.phone for r in page] == ["+905320000001", "+905320000002"]
    assert [r.phone for r in store.campaign_recipients.find("t1", "c1", occurrence="once",
                                                             after_phone=page[-1].phone)] == ["+905320000003"]
    with pytest.raises(StorageError):
        store.campaign_recipients.update("t1", _recipient("+905329999999"))


def test_conversions_count_once(store: Any) -> None:
    def conv(ref: str, value: str, variant: str = "A", kind: ConversionType = ConversionType.PURCHASE) -> Conversion:
        return Conversion(id=ref + variant, tenant_id="t1", message_id="m1", campaign_id="c1", variant=variant,
                          occurrence="once", phone="+905320000001", conversion_type=kind,
                          value_amount=Decimal(value), source_ref=ref, occurred_at=NOW, created_at=NOW)

    assert store.campaign_conversions.add("t1", conv("order:1", "100.10"))
    assert not store.campaign_conversions.add("t1", conv("order:1", "100.10", variant="B"))
    assert store.campaign_conversions.add("t1", conv("order:2", "0.20"))
    assert store.campaign_conversions.add("t1", conv("reply:1", "0", kind=ConversionType.REPLY))
    totals = {(t.variant, t.conversion_type): t for t in store.campaign_conversions.totals("t1", "c1")}
    assert totals[("A", "purchase")].value == Decimal("100.30")
    assert (totals[("A", "purchase")].conversions, totals[("A", "purchase")].recipients) == (2, 1)
    assert store.campaign_conversions.converted_phones("t1", "c1", ["purchase"]) == {"A": {"+905320000001"}}
    assert store.campaign_conversions.find("t2", "c1") == []


def test_profile_folds_orders_once(store: Any) -> None:
    p = store.contact_profiles
    assert p.record_order("t1", "+905320000001", order_ref="x:1", at=NOW, total=Decimal("10.05"),
                          platform="trendyol", products=["Kışlık Mont"], name="Ayşe")
    assert not p.record_order("t1", "+905320000001", order_ref="x:1", at=NOW, total=Decimal("10.05"))
    assert p.record_order("t1", "+905320000001", order_ref="x:2", at=NOW - timedelta(days=3), total=Decimal("1"),
                          products=["Bere"])
    prof = p.get("t1", "+905320000001")
    assert (prof.order_count, prof.order_total, prof.last_order_at, prof.last_product) == \
        (2, Decimal("11.05"), NOW, "Kışlık Mont")
    assert prof.first_order_at == NOW - timedelta(days=3)
    assert prof.products == {"kislik mont", "bere"}
    assert p.get("t2", "+905320000001") is None


CASES: list[tuple[Any, list[int]]] = [
    (Everyone(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    (OrderCount(min=2), [1]),
    (OrderCount(max=0), [5, 6, 7, 8, 9]),
    (OrderTotal(min=Decimal("999.99")), [2, 3]),
    (OrderTotal(min=Decimal("300"), max=Decimal("999.99")), [1, 3, 10]),  # 1 spent 350.50
    # bought in the last 90 days and not in the last 30
    (LastOrder(within_days=90, not_within_days=30), [2, 10]),
    (LastOrder(never=True), [5, 6, 7, 8, 9]),
    (NotCriterion(item=LastOrder(within_days=30)), [2, 3, 5, 6, 7, 8, 9, 10]),
    (Platform(any_of=["TRENDYOL"]), [1, 3, 4, 10]),
    (Product(any_of=["KIŞLIK MONT"]), [1, 4]),
    (Product(any_of=["ipek sal", "bot"]), [2, 3]),
    (Tag(any_of=["implant-lead", "vip"]), [7, 9]),
    (Segment(any_of=["dental"]), [8]),
    (AppointmentCount(min=1), [5, 6]),
    (LastAppointment(within_days=180), [6]),
    (AppointmentService(any_of=["diş temizliği"]), [5, 6]),
    (AnyOf(items=[Tag(any_of=["vip"]), AllOf(items=[Platform(any_of=["hepsiburada"]), OrderCount(min=1)])]), [2, 9]),
    (Niche(any_of=["dental"]), []),
    (Niche(any_of=["E-Commerce"]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    (ConsentState(state="allowed"), [1, 2]),
    (ConsentState(state="not_opted_out"), [1, 2, 4, 5, 6, 7, 8, 9, 10]),
    (ConsentState(state="opted_out"), [3]),
    (ConsentState(state="rejected"), [4]),
    (AllOf(items=[ConsentState(state="allowed"), LastOrder(within_days=30)]), [1]),
]


@pytest.mark.parametrize(("criteria", "expected"), CASES, ids=[type(c).__name__ + str(i) for i, (c, _) in
                                                                  enumerate(CASES)])
def test_audience_select_and_count(store: Any, criteria: Any, expected: list[int]) -> None:
    seed_profiles(store)
    for n, status in ((1, "ONAY"), (2, "ONAY"), (3, "ONAY"), (4, "RET")):
        store.consents.upsert("t1", ConsentCacheRecord(tenant_id="t1", brand_code="700001",
                                                       recipient=f"+90532000000{n}", status=status, synced_at=NOW,
                                                       updated_at=NOW))
    store.messaging_contacts.set_opt_out("t1", "+905320000003", NOW, "DUR")
    tree = parse_criteria(criteria.model_dump(mode="json"))  # what is stored is what is evaluated
    phones = [f"+9053200000{n:02d}" for n in expected]
    assert store.contact_profiles.select("t1", tree, CTX) == phones
    assert store.contact_profiles.count("t1", tree, CTX) == len(phones)
    for n in range(1, 12):  # the single-contact check agrees with the query (11 has no profile)
        phone = f"+9053200000{n:02d}"
        assert store.contact_profiles.contains("t1", tree, CTX, phone) == (phone in phones)
    # paging with a keyset gives the same list
    paged: list[str] = []
    after = None
    while page := store.contact_profiles.select("t1", tree, CTX, after_phone=after, limit=3):
        paged += page
        after = page[-1]
    assert paged == phones


def test_bad_criteria_are_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_criteria({"kind": "order_count", "min": 5, "max": 2})
    assert "min 5 is above max 2" in str(err.value)
    with pytest.raises(InvalidArgument):
        parse_criteria({"kind": "last_order"})
    with pytest.raises(InvalidArgument):
        parse_criteria('{"kind": "nope"}')


def test_concurrent_writers_enter_each_recipient_once_and_lose_no_order(store: Any) -> None:
    """Four threads (on PostgreSQL: four pooled connections) enter the same recipients and record
    orders of the same customers at once: each recipient comes back to exactly one of them, every
    order is counted once, no total is lost to a concurrent update."""
    import threading

    phones = [f"+9053200001{i:02d}" for i in range(40)]
    won: list[list[str]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        barrier.wait()
        for start in range(0, len(phones), 8):
            got = store.campaign_recipients.enter_many("t1", [_recipient(p) for p in phones[start:start + 8]])
            won[n].extend(r.phone for r in got)
        for k in range(10):  # orders o<k> are recorded by every thread: counted once each
            for phone in phones[:3]:
                store.contact_profiles.record_order("t1", phone, order_ref=f"{phone}:o{k}", at=NOW,
                                                    total=Decimal("10.25"), platform="trendyol")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p for w in won for p in w) == phones
    for phone in phones[:3]:
        profile = store.contact_profiles.get("t1", phone)
        assert (profile.order_count, profile.order_total) == (10, Decimal("102.50"))
