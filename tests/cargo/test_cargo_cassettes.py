"""vcrpy cassettes pin the fact sheet's documented requests and responses (hand-written, replay only).

The request matcher compares SOAP bodies by meaning (operation, parameter names and values, the
XML fragments inside Aras' string parameters), not by whitespace or namespace prefixes; the
SOAPAction header must match exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import pytest
import vcr

from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.shipments import ShipmentStatus
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.providers.yurtici import YurticiClient

CASSETTES = Path(__file__).parent.parent / "cassettes"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _canon(el: Element) -> Any:
    if len(el) == 0:
        text = (el.text or "").strip()
        if text.startswith("<"):
            return (_local(el.tag), _canon(SafeET.fromstring(text)))
        return (_local(el.tag), text)
    return (_local(el.tag), [_canon(c) for c in el])


def _soap_params(body: bytes | str) -> Any:
    root = SafeET.fromstring(body.encode() if isinstance(body, str) else body, forbid_dtd=True)
    (body_el,) = [c for c in root if _local(c.tag) == "Body"]
    (op,) = list(body_el)
    return (op.tag if op.tag.startswith("{") else _local(op.tag), _canon(op))


def _op_namespace(body: bytes | str) -> str:
    root = SafeET.fromstring(body.encode() if isinstance(body, str) else body, forbid_dtd=True)
    body_el = next(c for c in root if _local(c.tag) == "Body")
    return next(iter(body_el)).tag.split("}", 1)[0].lstrip("{")


def soap_body(r1: Any, r2: Any) -> None:
    assert _op_namespace(r1.body) == _op_namespace(r2.body)
    assert _soap_params(r1.body)[1] == _soap_params(r2.body)[1]


def soap_action(r1: Any, r2: Any) -> None:
    assert r1.headers.get("SOAPAction") == r2.headers.get("SOAPAction")


def _vcr() -> vcr.VCR:
    v = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none",
                match_on=["method", "uri", "soap_action", "soap_body"], filter_headers=["authorization"])
    v.register_matcher("soap_body", soap_body)
    v.register_matcher("soap_action", soap_action)
    return v


def test_aras_documented_example() -> None:
    with _vcr().use_cassette("aras/get_query_json_by_integration_code.yaml", allow_playback_repeats=False) as cas, \
            ArasClient("fake_user", "fake_pass", "1000000000001", retry=RetryPolicy.disabled()) as client:
        shipment = client.track_by_reference("INV2024001")
        assert cas.all_played
    assert shipment.status == ShipmentStatus.OUT_FOR_DELIVERY
    assert shipment.tracking_number == "3500000000017"
    assert shipment.reference == "INV2024001"
    assert shipment.raw_status_code == "4" and shipment.raw_status_text == "TESLİMATTA"
    assert shipment.status_at == datetime(2024, 1, 15, 6, 5, tzinfo=UTC)
    assert [(e.occurred_at, e.location) for e in shipment.events] == [
        (datetime(2024, 1, 14, 13, 20, tzinfo=UTC), "KADIKÖY"),
        (datetime(2024, 1, 14, 19, 10, tzinfo=UTC), "ORHANLI TRANSFER"),
        (datetime(2024, 1, 15, 6, 5, tzinfo=UTC), "ÇANKAYA"),
    ]
    assert shipment.events[-1].description == "Kargonuz dağıtıma çıkarıldı."
    assert shipment.tracking_url == "https://kargotakip.araskargo.com.tr/mainpage.aspx?code=3500000000017"


def test_yurtici_documented_example() -> None:
    with _vcr().use_cassette("yurtici/query_shipment_with_history.yaml") as cas, \
            YurticiClient("YKTEST", "YK", retry=RetryPolicy.disabled()) as client:
        shipment = client.track("ORD2024001")
        assert cas.all_played
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.tracking_number == "100365926603" and shipment.reference == "ORD2024001"
    assert shipment.delivered_at == datetime(2024, 1, 15, 11, 25, 30, tzinfo=UTC)
    assert shipment.delivered_to == "AYŞE YILMAZ"
    assert [e.occurred_at for e in shipment.events] == [datetime(2024, 1, 14, 15, 30, 45, tzinfo=UTC),
                                                        datetime(2024, 1, 15, 11, 25, 30, tzinfo=UTC)]
    assert shipment.events[0].location == "KADIKÖY (KADIKÖY/İSTANBUL)"
    assert shipment.tracking_url == "https://www.yurticikargo.com/tr/online-servisler/gonderi-sorgula?code=100365926603"


def test_a_different_request_does_not_match() -> None:
    from vcr.errors import CannotOverwriteExistingCassetteException

    with _vcr().use_cassette("yurtici/query_shipment_with_history.yaml"), \
            YurticiClient("YKTEST", "YK", retry=RetryPolicy.disabled()) as client, \
            pytest.raises(CannotOverwriteExistingCassetteException):
        client.track_by_reference("ORD2024001")  # keyType 1: not the documented request


# -- documented error answers (issue 6: every documented example pinned) ------------------------------
def test_aras_bad_login_plain_text_is_an_authentication_error() -> None:
    from invekto_integrations.core.errors import AuthenticationError

    with _vcr().use_cassette("aras/bad_login_plain_text.yaml", allow_playback_repeats=False) as cas, \
            ArasClient("fake_user", "wrong_pass", "1000000000001", retry=RetryPolicy.disabled()) as client:
        with pytest.raises(AuthenticationError) as info:
            client.track("3500000000017")
        assert cas.all_played and cas.play_count == 1
    assert (info.value.provider, info.value.status, info.value.code) == ("aras", 200, "text")
    assert "şifre" in info.value.message and "wrong_pass" not in str(info.value)


def test_aras_soap_fault_is_a_temporary_failure() -> None:
    from invekto_integrations.core.errors import ProviderUnavailable

    with _vcr().use_cassette("aras/server_fault.yaml", allow_playback_repeats=False) as cas, \
            ArasClient("fake_user", "fake_pass", "1000000000001", retry=RetryPolicy.disabled()) as client:
        with pytest.raises(ProviderUnavailable) as info:
            client.track("3500000000017")
        assert cas.all_played
    assert (info.value.status, info.value.code) == (500, "Server")
    assert "unable to process" in info.value.message


def test_yurtici_bad_login_outflag_in_http_200() -> None:
    from invekto_integrations.core.errors import AuthenticationError

    with _vcr().use_cassette("yurtici/bad_login_outflag.yaml", allow_playback_repeats=False) as cas, \
            YurticiClient("YKTEST", "WRONG", retry=RetryPolicy.disabled()) as client:
        with pytest.raises(AuthenticationError) as info:
            client.track("ORD2024001")
        assert cas.all_played
    assert (info.value.provider, info.value.status, info.value.code) == ("yurtici", 200, "1625")


def test_yurtici_unknown_key_errcode_in_http_200() -> None:
    from invekto_integrations.core.errors import NotFound

    with _vcr().use_cassette("yurtici/unknown_key_errcode.yaml", allow_playback_repeats=False) as cas, \
            YurticiClient("YKTEST", "YK", retry=RetryPolicy.disabled()) as client:
        with pytest.raises(NotFound) as info:
            client.track("ORD9999999")
        assert cas.all_played
    assert (info.value.provider, info.value.code) == ("yurtici", "82519")
    assert "bulunamadı" in info.value.message


def test_yurtici_ws_exception_fault_names_the_error_code() -> None:
    from invekto_integrations.core.errors import ProviderUnavailable

    with _vcr().use_cassette("yurtici/ws_exception_fault.yaml", allow_playback_repeats=False) as cas, \
            YurticiClient("YKTEST", "YK", retry=RetryPolicy.disabled()) as client:
        with pytest.raises(ProviderUnavailable) as info:
            client.track("ORD2024001")
        assert cas.all_played
    assert (info.value.provider, info.value.code) == ("yurtici", "936")
    assert info.value.message == "Beklenmeyen bir hata oluştu."
