"""İYS fidelity (issue 13): recipients by format, retailerCode/retailerAccess, creationDate kept and
used to order consent changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidParameter
from invekto_integrations.models.consent import ConsentRecord, ConsentStatus
from invekto_integrations.providers.iys import IysClient, to_iys_recipient
from invekto_integrations.testing.sandbox.fakes.iys import IysFake

from .conftest import Harness

# İYS's own examples use ranges libphonenumber calls unallocated (+90 581 ...).
UNALLOCATED = "+905811234567"


def consent(clock: FrozenClock, recipient: str = UNALLOCATED, **kw: object) -> ConsentRecord:
    return ConsentRecord(recipient=recipient, status=ConsentStatus.ONAY, source="HS_WEB",
                         consent_date=clock.now() - timedelta(hours=1), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["+905811234567", "0581 123 45 67", "905811234567", "+90 (581) 123-45-67",
                                 "5811234567", "00905811234567"])
def test_recipients_are_judged_by_format(raw: str) -> None:
    assert to_iys_recipient(raw) == UNALLOCATED


@pytest.mark.parametrize("raw", ["+9058112345", "+4915112345678", "+90581123456789", "05811234567x",
                                 "+90٥٨١١٢٣٤٥٦٧"])
def test_recipients_that_are_not_plus90_and_ten_digits_are_refused(raw: str) -> None:
    with pytest.raises(InvalidParameter):
        to_iys_recipient(raw)


def test_unallocated_range_is_registered_and_queried(iys_client: IysClient, iys_fake: IysFake,
                                                     clock: FrozenClock) -> None:
    receipt = iys_client.add_consent(consent(clock))
    assert receipt.transaction_id
    found = iys_client.query_consent("0581 123 45 67")
    assert found is not None and found.recipient == UNALLOCATED and found.status == ConsentStatus.ONAY
    assert [r.recipient for r in iys_client.query_consents([UNALLOCATED])] == [UNALLOCATED]


def test_retailer_code_and_access_are_sent_and_read_back(iys_client: IysClient, iys_fake: IysFake,
                                                         clock: FrozenClock) -> None:
    iys_client.add_consent(consent(clock, retailer_code="BAYI-34", retailer_access=("BAYI-34", "BAYI-06")))
    body = iys_fake.requests_to("/sps/700001/brands/700001/consents", "POST")[-1].json()
    assert body["retailerCode"] == "BAYI-34" and body["retailerAccess"] == ["BAYI-34", "BAYI-06"]
    stored = iys_fake.record("700001", "700001", UNALLOCATED)
    assert stored is not None and stored["retailerAccessCount"] == 2
    found = iys_client.query_consent(UNALLOCATED)
    assert found is not None and found.retailer_code == "BAYI-34"
    assert found.retailer_access == ("BAYI-34", "BAYI-06")
    plain = consent(clock, "+905321234567")
    iys_client.add_consent(plain)
    body = iys_fake.requests_to("/sps/700001/brands/700001/consents", "POST")[-1].json()
    assert "retailerCode" not in body and "retailerAccess" not in body


def test_creation_date_is_returned_and_orders_the_change_feed(harness: Harness, clock: FrozenClock) -> None:
    # A RET İYS recorded at 09:00 reaches us through the change feed after our ONAY (recorded 10:00).
    clock.advance(3600)
    record = harness.consent.record_consent("t1", UNALLOCATED, status=ConsentStatus.ONAY)
    assert record.creation_date == clock.now() and record.transaction_id
    cached = harness.store.consents.get("t1", "700001", UNALLOCATED, "MESAJ")
    assert cached is not None and cached.creation_date == clock.now()
    older_ret = ConsentRecord(recipient=UNALLOCATED, status=ConsentStatus.RET, source="IYS",
                              consent_date=clock.now() - timedelta(hours=2),
                              creation_date=clock.now() - timedelta(hours=1))
    assert harness.consent.apply_changes("t1", [older_ret]) == 0
    newer_ret = older_ret.model_copy(update={"creation_date": clock.now() + timedelta(minutes=5)})
    assert harness.consent.apply_changes("t1", [newer_ret]) == 1
    after = harness.store.consents.get("t1", "700001", UNALLOCATED, "MESAJ")
    assert after is not None and after.status == "RET"
