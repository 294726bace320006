"""İYS connector against its sandbox fake: token cache, consents, batches, change feed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import AuthenticationError, InvalidRequest, RateLimited
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.consent import ConsentRecord, ConsentStatus, ConsentType, RecipientType
from invekto_integrations.providers.iys import AsyncIysClient, IysClient, IysSettings, parse_iys_date
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.iys import IysFake

from .conftest import PHONE


def onay(clock: FrozenClock, phone: str = PHONE, status: ConsentStatus = ConsentStatus.ONAY) -> ConsentRecord:
    return ConsentRecord(recipient=phone, status=status, source="HS_WEB", consent_date=clock.now() - timedelta(hours=1))


def test_add_and_query_one(iys_client: IysClient, iys_fake: IysFake, clock: FrozenClock) -> None:
    assert iys_client.query_consent(PHONE) is None  # 404 → no consent
    receipt = iys_client.add_consent(onay(clock))
    assert len(receipt.transaction_id) == 32 and receipt.creation_date == clock.now()
    found = iys_client.query_consent("0532 123 45 67")
    assert found is not None and found.status == ConsentStatus.ONAY and found.recipient == PHONE
    assert found.type == ConsentType.MESAJ and found.recipient_type == RecipientType.BIREYSEL
    assert found.consent_date is not None and found.consent_date.utcoffset() == timedelta(hours=3)
    add = iys_fake.requests_to("/sps/700001/brands/700001/consents", "POST")[0]
    body = add.json()
    assert body["recipient"] == PHONE and body["consentDate"] == "2026-11-24 11:00:00"  # Turkey time
    assert add.headers["authorization"].startswith("Bearer ")


def test_token_is_cached_and_refreshed_before_expiry(iys_client: IysClient, iys_fake: IysFake,
                                                     clock: FrozenClock) -> None:
    for _ in range(3):
        iys_client.query_consent(PHONE)
    token_calls = iys_fake.requests_to("/oauth2/token")
    assert len(token_calls) == 1
    assert b"grant_type=password" in token_calls[0].body
    clock.advance(7200 - 200)  # inside the 5-minute margin: refresh
    iys_client.query_consent(PHONE)
    token_calls = iys_fake.requests_to("/oauth2/token")
    assert len(token_calls) == 2 and b"grant_type=refresh_token" in token_calls[1].body


def test_revoked_token_gets_one_fresh_token(iys_client: IysClient, iys_fake: IysFake) -> None:
    iys_client.query_consent(PHONE)
    iys_fake.access.clear()  # İYS forgets the token: H351
    assert iys_client.query_consent(PHONE) is None
    assert len(iys_fake.requests_to("/oauth2/token")) == 2


def test_bad_credentials_and_hourly_token_limit(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
                                                iys_fake: IysFake) -> None:
    bad = IysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("wrong"),
                    base_url=sandbox.inprocess_url("iys"), transport=sandbox.transport(), clock=clock, retry=retry,
                    limiter_registry=RateLimiterRegistry())
    with pytest.raises(AuthenticationError):
        bad.query_consent(PHONE)
    assert "wrong" not in repr(bad.auth)
    iys_fake.token_limit_per_hour = 1
    good = IysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("iys-pass-a"),
                     base_url=sandbox.inprocess_url("iys"), transport=sandbox.transport(), clock=clock, retry=retry,
                     limiter_registry=RateLimiterRegistry())
    good.query_consent(PHONE)
    iys_fake.access.clear()
    iys_fake.refresh.clear()
    with pytest.raises(RateLimited) as info:
        good.query_consent(PHONE)
    assert info.value.code == "H084"
    before = len(iys_fake.requests_to("/oauth2/token"))
    with pytest.raises(RateLimited):  # locked out: no new token request for an hour
        good.query_consent(PHONE)
    assert len(iys_fake.requests_to("/oauth2/token")) == before


def test_first_record_cannot_be_ret_and_validation(iys_client: IysClient, clock: FrozenClock) -> None:
    with pytest.raises(InvalidRequest) as info:
        iys_client.add_consent(onay(clock, status=ConsentStatus.RET))
    assert info.value.code == "H175" and info.value.status == 422
    old = ConsentRecord(recipient=PHONE, status=ConsentStatus.ONAY, source="HS_WEB",
                        consent_date=clock.now() - timedelta(days=10))
    with pytest.raises(InvalidRequest):
        iys_client.add_consent(old)
    iys_client.add_consent(onay(clock))
    iys_client.add_consent(onay(clock, status=ConsentStatus.RET))  # RET after ONAY is fine
    found = iys_client.query_consent(PHONE)
    assert found is not None and found.status == ConsentStatus.RET


def test_batch_submit_and_poll(iys_client: IysClient, clock: FrozenClock) -> None:
    rid = iys_client.add_consents_batch([onay(clock, "+905321111111", ConsentStatus.RET), onay(clock, "+905322222222")])
    first = iys_client.batch_status(rid)
    assert all(r.pending for r in first)
    second = iys_client.batch_status(rid)
    assert [(r.index, r.status) for r in second] == [(0, "failure"), (1, "success")]
    assert second[0].error_code == "H175" and second[1].transaction_id


def test_query_many_and_change_feed(iys_client: IysClient, iys_fake: IysFake, clock: FrozenClock) -> None:
    iys_client.add_consent(onay(clock, "+905321111111"))
    iys_client.add_consent(onay(clock, "+905322222222"))
    found = iys_client.query_consents(["+905321111111", "+905322222222", "+905323333333"])
    assert sorted(c.recipient for c in found) == ["+905321111111", "+905322222222"]
    iys_fake.citizen_change("700001", "700001", "+905321111111", "RET")
    pages = list(iys_client.iter_changes(source="IYS", limit=1))
    items = [c for p in pages for c in p.items]
    assert [(c.recipient, c.status) for c in items] == [("+905321111111", ConsentStatus.RET)]
    cursor = pages[-1].after
    assert cursor and "_" in cursor
    assert iys_client.pull_changes(source="IYS", after=cursor).items == []
    hs = [c for p in iys_client.iter_changes(source="HS") for c in p.items]
    assert len(hs) == 2


async def test_async_client(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> None:
    async with AsyncIysClient(IysSettings("700001", "700001"), "iys-api-a", SecretStr("iys-pass-a"),
                              base_url=sandbox.inprocess_url("iys"), transport=sandbox.async_transport(), clock=clock,
                              retry=retry, limiter_registry=RateLimiterRegistry()) as client:
        assert await client.query_consent(PHONE) is None
        await client.add_consent(onay(clock))
        found = await client.query_consent(PHONE)
        assert found is not None and found.status == ConsentStatus.ONAY
        pages = [p async for p in client.iter_changes(source="HS")]
        assert len(pages[0].items) == 1


def test_date_parsing_tolerates_iso() -> None:
    a = parse_iys_date("2020-11-06 11:22:34")
    b = parse_iys_date("2020-11-06T08:22:34+00:00")
    assert a == b
