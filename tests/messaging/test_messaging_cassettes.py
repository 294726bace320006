"""vcrpy cassettes, hand-written from the fact sheets' examples: the exact request our clients
send and the documented response they must parse (``record_mode="none"``: no network, ever)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import vcr
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidRequest, OutsideServiceWindow
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.consent import ConsentRecord, ConsentStatus, ConsentType, RecipientType
from invekto_integrations.providers.iys import IysClient, IysSettings
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings

CASSETTES = Path(__file__).parent.parent / "cassettes"


def _body(request: Any) -> Any:
    raw = request.body or b""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith(("{", "[")):
        return json.loads(text)
    form = {k: v[0] for k, v in parse_qs(text).items()}
    form.pop("password", None)  # secrets are filtered from cassettes
    return form


def json_body(r1: Any, r2: Any) -> None:
    assert _body(r1) == _body(r2), f"{_body(r1)!r} != {_body(r2)!r}"


def recorder(provider: str) -> vcr.VCR:
    v = vcr.VCR(cassette_library_dir=str(CASSETTES / provider), record_mode="none",
                filter_headers=["authorization"], filter_post_data_parameters=["password"],
                match_on=["method", "scheme", "host", "port", "path", "query", "json_body"])
    v.register_matcher("json_body", json_body)
    return v


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 25, 11, 10, tzinfo=UTC))  # 14:10 in Istanbul


def wa(clock: FrozenClock) -> WhatsAppCloudClient:
    return WhatsAppCloudClient(WhatsAppCloudSettings("1234567890", "WABA_ID"), SecretStr("EAAG-token"), clock=clock,
                               retry=RetryPolicy.disabled(), limiter_registry=RateLimiterRegistry())


def iys(clock: FrozenClock) -> IysClient:
    return IysClient(IysSettings("700001", "700001"), "api-user", SecretStr("api-pass"), clock=clock,
                     retry=RetryPolicy.disabled(), limiter_registry=RateLimiterRegistry())


def test_whatsapp_template_send_cassette(clock: FrozenClock) -> None:
    with recorder("whatsapp_cloud").use_cassette("send_template.yaml") as cassette, wa(clock) as client:
        sent = client.send_template("+90 532 123 45 67", "order_shipped", "tr", body_params=["Ayşe", "#10234"],
                                    header_params=["https://cdn.example/p.jpg"], header_type="image",
                                    button_params=["10234"])
        assert cassette.play_count == 1
    assert sent.provider_message_id == "wamid.HBgMOTA1MzIxMjM0NTY3FQIAERgS"
    assert sent.recipient_id == "905321234567" and sent.message_status == "accepted"


def test_whatsapp_text_error_cassette(clock: FrozenClock) -> None:
    with recorder("whatsapp_cloud").use_cassette("send_text_window_closed.yaml"), wa(clock) as client, \
            pytest.raises(OutsideServiceWindow) as info:
        client.send_text("905321234567", "Siparişiniz hazırlanıyor.", last_inbound_at=clock.now())
    assert info.value.code == "131047" and info.value.request_id == "AbCdEf123"
    assert "24 hours" in str(info.value)


def test_iys_query_cassette(clock: FrozenClock) -> None:
    with recorder("iys").use_cassette("query_consent.yaml") as cassette, iys(clock) as client:
        found = client.query_consent("0532 123 45 67")
        assert cassette.play_count == 2
    assert found == ConsentRecord(
        recipient="+905321234567", type=ConsentType.MESAJ, recipient_type=RecipientType.BIREYSEL,
        status=ConsentStatus.ONAY, source="HS_FIZIKSEL_ORTAM",
        consent_date=datetime(2020, 11, 6, 8, 22, 34, tzinfo=UTC),
        creation_date=datetime(2020, 11, 6, 8, 23, 49, tzinfo=UTC))


def test_iys_add_consent_error_cassette(clock: FrozenClock) -> None:
    ret = ConsentRecord(recipient="+905321234567", status=ConsentStatus.RET, source="HS_WEB",
                        consent_date=datetime(2026, 11, 25, 11, 5, tzinfo=UTC))
    with recorder("iys").use_cassette("add_consent_h175.yaml"), iys(clock) as client, \
            pytest.raises(InvalidRequest) as info:
        client.add_consent(ret)
    assert info.value.code == "H175" and info.value.status == 422


def test_whatsapp_template_listing_cassette(clock: FrozenClock) -> None:
    with recorder("whatsapp_cloud").use_cassette("list_templates.yaml") as cassette, wa(clock) as client:
        templates = list(client.iter_templates(limit=2))
        assert cassette.play_count == 2  # stops when paging.next is absent
    assert [(t.name, t.status, t.category) for t in templates] == [
        ("order_shipped", "APPROVED", "UTILITY"), ("kis_kampanyasi", "PAUSED", "MARKETING"),
        ("randevu_hatirlatma", "APPROVED", "UTILITY")]
    assert templates[0].body_placeholder_count() == 2


def test_iys_change_feed_and_batch_cassette(clock: FrozenClock) -> None:
    consents = [ConsentRecord(recipient=r, status=s, source="HS_WEB",
                              consent_date=datetime(2026, 11, 25, 11, 5, tzinfo=UTC))
                for r, s in (("+905321234567", ConsentStatus.RET), ("+905329998877", ConsentStatus.ONAY),
                             ("+905551112233", ConsentStatus.ONAY))]
    with recorder("iys").use_cassette("changes_and_batch.yaml") as cassette, iys(clock) as client:
        page = client.pull_changes(source="IYS", after="1597740617_632cc1")
        request_id = client.add_consents_batch(consents)
        results = client.batch_status(request_id)
        assert cassette.play_count == 4
    assert page.after == "1597740999_632cd7"
    [ret] = page.items  # the element with an undocumented status is reported, not applied
    assert (ret.recipient, ret.status, ret.source) == ("+905321234567", ConsentStatus.RET, "IYS")
    assert ret.creation_date == datetime(2026, 11, 25, 10, 58, 2, tzinfo=UTC)
    [problem] = page.problems
    assert (problem.index, problem.field, problem.recipient) == (1, "status", "+905329998877")
    assert request_id == "5980a44b"
    assert [(r.index, r.status, r.error_code, r.transaction_id, r.pending) for r in results] == [
        (0, "failure", "H175", None, False), (1, "success", None, "432c", False), (2, "enqueue", None, None, True)]
