"""Aras Kargo connector against its fake: quirks, errors, lifecycle (sync; async parity elsewhere)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cargo_world import ARAS_LIFECYCLE, START

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import AuthenticationError, InvalidRequest, PayloadError, ProviderUnavailable
from invekto_integrations.models.shipments import ShipmentStatus
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.providers.aras.wire import ArasCargo, as_rows
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake, envelope

TN = "3500000000017"


@pytest.fixture
def parcel(aras_fake: ArasFake) -> None:
    aras_fake.register_parcel("fake_user", TN, ARAS_LIFECYCLE, reference="INV2024001")


def test_not_scanned_yet_is_pending(aras: ArasClient, parcel: None) -> None:
    shipment = aras.track(TN)
    assert shipment.status == ShipmentStatus.PENDING
    assert shipment.events == []
    assert aras.track_by_reference("INV2024001").status == ShipmentStatus.PENDING


def test_unknown_number_is_pending_not_an_error(aras: ArasClient, aras_fake: ArasFake) -> None:
    assert aras.track("999").status == ShipmentStatus.PENDING


def test_lifecycle_follows_the_clock(aras: ArasClient, parcel: None, clock: FrozenClock) -> None:
    seen = []
    for hours in (2, 7, 15, 22, 26):
        clock.set(START + timedelta(hours=hours))
        seen.append(aras.track(TN).status)
    assert seen == [ShipmentStatus.PICKED_UP, ShipmentStatus.IN_TRANSIT, ShipmentStatus.IN_TRANSIT,
                    ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED]
    final = aras.track_by_reference("INV2024001")
    assert final.tracking_number == TN and final.reference == "INV2024001"
    assert final.delivered_to == "AYŞE YILMAZ"
    # Istanbul wall-clock times in the answer come back as UTC.
    assert final.delivered_at == START + timedelta(hours=25)
    assert final.status_at == START + timedelta(hours=25)
    assert [e.location for e in final.events] == ["KADIKÖY", "ORHANLI TRANSFER", "ÇANKAYA", "ÇANKAYA", "ÇANKAYA"]
    assert final.events[0].occurred_at == START + timedelta(hours=1)
    assert final.tracking_url == f"https://kargotakip.araskargo.com.tr/mainpage.aspx?code={TN}"


def test_single_movement_object_and_cargo_list(aras: ArasClient, aras_fake: ArasFake, clock: FrozenClock) -> None:
    aras_fake.register_parcel("fake_user", "111", [(timedelta(hours=1), "1"), (timedelta(hours=5), "2")],
                              cargo_as_list=True)
    clock.set(START + timedelta(hours=2))
    shipment = aras.track("111")  # CargoTransaction is one object here; Cargo a list of two rows
    assert shipment.status == ShipmentStatus.PICKED_UP
    assert len(shipment.events) == 1
    clock.set(START + timedelta(hours=6))
    assert aras.track("111").status == ShipmentStatus.IN_TRANSIT  # the newest row wins, not the first


def test_return_overrides_delivery(aras: ArasClient, aras_fake: ArasFake, clock: FrozenClock) -> None:
    aras_fake.register_parcel("fake_user", "222", [(timedelta(hours=1), "1"),
                                                   (timedelta(hours=3), "6", {"TIP_KODU": "3", "IADE_SEBEBI": "KE"})])
    clock.set(START + timedelta(hours=4))
    shipment = aras.track("222")
    assert shipment.status == ShipmentStatus.RETURN_TO_SENDER
    assert shipment.raw_status_code == "6/TIP_KODU=3"
    assert shipment.delivered_to is None


def test_bad_login_text_is_an_authentication_error(sandbox: Sandbox, clock: FrozenClock) -> None:
    with ArasClient("fake_user", "wrong", "1000000000001", base_url=sandbox.inprocess_url("aras"),
                    transport=sandbox.transport(), clock=clock) as client, pytest.raises(AuthenticationError) as err:
        client.track(TN)
    assert "wrong" not in str(err.value) and "wrong" not in repr(err.value)


def test_other_error_text_is_an_invalid_request(aras: ArasClient, aras_fake: ArasFake) -> None:
    aras_fake.serve_raw(envelope("Sorgu tipi geçersiz.").encode())
    with pytest.raises(InvalidRequest, match="Sorgu tipi"):
        aras.track(TN)


def test_not_found_text_is_pending(aras: ArasClient, aras_fake: ArasFake) -> None:
    aras_fake.serve_raw(envelope("Kayıt bulunamadı.").encode())
    assert aras.track(TN).status == ShipmentStatus.PENDING


def test_null_query_result_is_pending(aras: ArasClient, aras_fake: ArasFake) -> None:
    aras_fake.serve_raw(envelope("null").encode())
    assert aras.track(TN).status == ShipmentStatus.PENDING


def test_server_fault_is_retried_then_unavailable(aras: ArasClient, aras_fake: ArasFake, parcel: None) -> None:
    aras_fake.faults.configure(script=["error", "error", "error"])
    with pytest.raises(ProviderUnavailable, match="unable to process"):
        aras.track(TN)
    assert len(aras_fake.requests) == 3


def test_server_fault_then_success(aras: ArasClient, aras_fake: ArasFake, parcel: None, clock: FrozenClock) -> None:
    clock.set(START + timedelta(hours=2))
    aras_fake.faults.configure(script=["error"])
    assert aras.track(TN).status == ShipmentStatus.PICKED_UP


def test_invalid_json_names_the_field(aras: ArasClient, aras_fake: ArasFake, parcel: None,
                                      clock: FrozenClock) -> None:
    clock.set(START + timedelta(hours=2))
    aras_fake.faults.configure(malformed_rate=1.0)
    with pytest.raises(PayloadError) as err:
        aras.track(TN)
    assert err.value.field == "GetQueryJSONResult" and err.value.record == TN


def test_unreadable_date_is_a_payload_error(aras: ArasClient, aras_fake: ArasFake) -> None:
    row = {"KARGO_TAKIP_NO": "5", "DURUM_KODU": "2", "ISLEM_TARIHI": "yesterday"}
    aras_fake.serve_raw(envelope(json.dumps({"QueryResult": {"Cargo": row}})).encode())
    aras_fake.serve_raw(envelope(json.dumps({"QueryResult": {"CargoTransaction": []}})).encode())
    with pytest.raises(PayloadError) as err:
        aras.track("5")
    assert err.value.field == "ISLEM_TARIHI" and err.value.record == "5"


def test_request_shape(aras: ArasClient, aras_fake: ArasFake, parcel: None, clock: FrozenClock) -> None:
    clock.set(START + timedelta(hours=2))
    aras.track_by_reference("INV2024001")
    first, second = aras_fake.requests
    assert first.path.endswith("/ArasCargoCustomerIntegrationService/ArasCargoIntegrationService.svc")
    assert first.headers["soapaction"] == '"http://tempuri.org/IArasCargoIntegrationService/GetQueryJSON"'
    assert first.headers["content-type"] == "text/xml; charset=utf-8"
    assert b"&lt;IntegrationCode&gt;INV2024001&lt;/IntegrationCode&gt;" in first.body
    assert b"&lt;QueryType&gt;9&lt;/QueryType&gt;&lt;TrackingNumber&gt;3500000000017" in second.body


def test_wire_keys_are_normalised_and_values_stringified() -> None:
    rows = as_rows({"KARGO TAKİP NO": 3500000000017, "DURUM KODU": "6", "Teslim Alan": " "})
    cargo = ArasCargo.model_validate(rows[0])
    assert cargo.KARGO_TAKIP_NO == "3500000000017"
    assert cargo.DURUM_KODU == "6"
    assert cargo.TESLIM_ALAN is None
    assert as_rows(None) == [] and len(as_rows([{"A": "1"}, {"A": "2"}])) == 2


def test_dates_in_other_formats() -> None:
    from invekto_integrations.providers._carrier import parse_local_datetime

    expected = datetime(2024, 1, 15, 6, 5, tzinfo=UTC)
    for text in ("2024-01-15T09:05:00", "15.01.2024 09:05:00", "15-01-2024 09:05", "15/01/2024 09:05:00",
                 "/Date(1705298700000)/", "2024-01-15T09:05:00+03:00"):
        assert parse_local_datetime(text) == expected, text


def test_status_from_movements_when_cargo_lookup_by_number_is_refused(
    sandbox: Sandbox, aras_fake: ArasFake, clock: FrozenClock, retry: Any
) -> None:
    aras_fake.cargo_by_tracking_number = False
    aras_fake.register_parcel("fake_user", TN, ARAS_LIFECYCLE, reference="INV2024001")
    with ArasClient("fake_user", "fake_pass", "1000000000001", base_url=sandbox.inprocess_url("aras"),
                    transport=sandbox.transport(), clock=clock, retry=retry) as client:
        assert client.track(TN).status == ShipmentStatus.PENDING
        seen = []
        for hours in (2, 7, 15, 22, 26):
            clock.set(START + timedelta(hours=hours))
            seen.append(client.track(TN))
        assert [s.status for s in seen] == [ShipmentStatus.PICKED_UP, ShipmentStatus.IN_TRANSIT,
                                            ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY,
                                            ShipmentStatus.DELIVERED]
        assert seen[-1].delivered_at == START + timedelta(hours=25) and len(seen[-1].events) == 5
        assert seen[-1] == seen[-1].model_copy()  # a plain Shipment, comparable
        # The reference lookup still uses QueryType 1.
        assert client.track_by_reference("INV2024001").raw_status_code == "6"


@pytest.mark.parametrize(("islem", "status"), [
    ("ÇIKIŞ ŞUBESİNDE", ShipmentStatus.PICKED_UP), ("YOLDA", ShipmentStatus.IN_TRANSIT),
    ("TESLİMAT ŞUBESİNDE", ShipmentStatus.IN_TRANSIT), ("TESLİMATTA", ShipmentStatus.OUT_FOR_DELIVERY),
    ("PARÇALI TESLİMAT", ShipmentStatus.IN_TRANSIT), ("TESLİM EDİLDİ", ShipmentStatus.DELIVERED),
    ("YÖNLENDİRİLDİ", ShipmentStatus.IN_TRANSIT), ("İADE EDİLDİ", ShipmentStatus.RETURN_TO_SENDER),
    ("UZAYA GÖNDERİLDİ", ShipmentStatus.UNKNOWN),
])
def test_movement_names(islem: str, status: ShipmentStatus) -> None:
    from invekto_integrations.providers.aras.mapping import movement_status

    assert movement_status(islem) == status


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_tracking_number_is_refused(aras: ArasClient, aras_fake: ArasFake, number: str) -> None:
    # json.loads would read NaN as a float and the row as the text "nan": refused instead
    text = '{"QueryResult": {"Cargo": {"KARGO_TAKIP_NO": ' + number + ', "DURUM_KODU": "2"}}}'
    aras_fake.serve_raw(envelope(text).encode())
    with pytest.raises(PayloadError) as err:
        aras.track("5")
    assert err.value.field == "GetQueryJSONResult" and err.value.record == "5"
    assert len(aras_fake.requests) == 1  # wrong, not cut: not asked again


def test_nan_in_a_row_is_refused() -> None:
    from invekto_integrations.providers.aras.wire import ArasCargo

    with pytest.raises(ValueError, match="not a value"):
        ArasCargo.model_validate({"KARGO_TAKIP_NO": float("nan")})
    assert ArasCargo.model_validate({"KARGO_TAKIP_NO": 3500000000017}).KARGO_TAKIP_NO == "3500000000017"
