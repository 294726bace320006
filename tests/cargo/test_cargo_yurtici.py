"""Yurtiçi Kargo connector against its fake: errors in HTTP 200 bodies, Istanbul dates, lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cargo_world import START, YURTICI_LIFECYCLE

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import (
    AuthenticationError,
    InvalidRequest,
    NotFound,
    PayloadError,
    ProviderUnavailable,
)
from invekto_integrations.models.shipments import ShipmentStatus
from invekto_integrations.providers._carrier import parse_yyyymmdd_hhmmss
from invekto_integrations.providers.yurtici import YurticiClient
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake, envelope

KEY = "ORD2024001"


@pytest.fixture
def parcel(yurtici_fake: YurticiFake) -> None:
    yurtici_fake.register_parcel("YKTEST", KEY, YURTICI_LIFECYCLE, invoice_key="INV-1", doc_id="100365926603")


def test_not_processed_is_pending(yurtici: YurticiClient, parcel: None) -> None:
    shipment = yurtici.track(KEY)
    assert shipment.status == ShipmentStatus.PENDING
    assert shipment.raw_status_code == "NOP"
    assert shipment.tracking_number == KEY  # no docId before the branch scans it


def test_lifecycle_follows_the_clock(yurtici: YurticiClient, parcel: None, clock: FrozenClock) -> None:
    seen = []
    for hours in (2, 7, 22, 26):
        clock.set(START + timedelta(hours=hours))
        seen.append(yurtici.track(KEY).status)
    assert seen == [ShipmentStatus.PICKED_UP, ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY,
                    ShipmentStatus.DELIVERED]
    final = yurtici.track_by_reference("INV-1")
    assert final.tracking_number == "100365926603" and final.reference == KEY
    assert final.delivered_at == START + timedelta(hours=25)
    assert final.delivered_to == "AYŞE YILMAZ"
    assert len(final.events) == 4
    assert final.events[-1].location == "ÇANKAYA (ÇANKAYA/ANKARA)"
    assert final.tracking_url and final.tracking_url.endswith("code=100365926603")


def test_unknown_key_in_a_200_body_is_not_found(yurtici: YurticiClient, yurtici_fake: YurticiFake) -> None:
    with pytest.raises(NotFound) as err:
        yurtici.track("NOPE")
    assert err.value.code == "82519" and err.value.status == 200
    assert len(yurtici_fake.requests) == 1


def test_bad_login_in_a_200_body(sandbox: Sandbox, clock: FrozenClock) -> None:
    with YurticiClient("YKTEST", "nope", base_url=sandbox.inprocess_url("yurtici"), transport=sandbox.transport(),
                       clock=clock) as client, pytest.raises(AuthenticationError) as err:
        client.track(KEY)
    assert err.value.code == "1625"
    assert "nope" not in str(err.value) and "nope" not in repr(client)


def test_missing_language_is_invalid_request(sandbox: Sandbox, clock: FrozenClock) -> None:
    with YurticiClient("YKTEST", "YK", language="", base_url=sandbox.inprocess_url("yurtici"),
                       transport=sandbox.transport(), clock=clock) as client, pytest.raises(InvalidRequest,
                                                                                           match="dili"):
        client.track(KEY)


def test_unexpected_out_flag_2(yurtici: YurticiClient, yurtici_fake: YurticiFake) -> None:
    for _ in range(3):
        yurtici_fake.serve_raw(envelope("<outFlag>2</outFlag><outResult>Beklenmeyen hata</outResult>").encode())
    with pytest.raises(ProviderUnavailable, match="Beklenmeyen"):
        yurtici.track(KEY)
    assert len(yurtici_fake.requests) == 3  # a read: retried


def test_fault_with_ws_exception(yurtici: YurticiClient, yurtici_fake: YurticiFake, parcel: None,
                                 clock: FrozenClock) -> None:
    yurtici_fake.faults.configure(script=["error", "error", "error"])
    with pytest.raises(ProviderUnavailable) as err:
        yurtici.track(KEY)
    assert err.value.code == "936"
    yurtici_fake.faults.configure(script=["error"])
    clock.set(START + timedelta(hours=2))
    assert yurtici.track(KEY).status == ShipmentStatus.PICKED_UP  # retried after one fault


def test_return_overrides_delivery(yurtici: YurticiClient, yurtici_fake: YurticiFake, clock: FrozenClock) -> None:
    yurtici_fake.register_parcel("YKTEST", "RET1", [(timedelta(hours=1), "IND"),
                                                    (timedelta(hours=3), "DLV", {"returnStatus": "3"})])
    clock.set(START + timedelta(hours=4))
    shipment = yurtici.track("RET1")
    assert shipment.status == ShipmentStatus.RETURN_TO_SENDER
    assert shipment.delivered_to is None


def test_malformed_date_names_the_field(yurtici: YurticiClient, yurtici_fake: YurticiFake, parcel: None,
                                        clock: FrozenClock) -> None:
    clock.set(START + timedelta(hours=2))
    yurtici_fake.faults.configure(malformed_rate=1.0)
    with pytest.raises(PayloadError) as err:
        yurtici.track(KEY)
    assert err.value.field == "deliveryDate" and err.value.record == KEY


def test_comma_joined_keys_are_accepted_by_the_fake(yurtici_fake: YurticiFake, parcel: None,
                                                    sandbox: Sandbox) -> None:
    import httpx

    body = (b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            b'xmlns:ship="http://yurticikargo.com.tr/ShippingOrderDispatcherServices"><soapenv:Body>'
            b"<ship:queryShipment><wsUserName>YKTEST</wsUserName><wsPassword>YK</wsPassword>"
            b"<wsLanguage>TR</wsLanguage><keys>ORD2024001,NOPE</keys><keyType>0</keyType>"
            b"<addHistoricalData>false</addHistoricalData><onlyTracking>false</onlyTracking></ship:queryShipment>"
            b"</soapenv:Body></soapenv:Envelope>")
    with httpx.Client(transport=sandbox.transport()) as http:
        r = http.post(sandbox.inprocess_url("yurtici") + "/KOPSWebServices/ShippingOrderDispatcherServices",
                      content=body, headers={"SOAPAction": '""'})
    assert r.status_code == 200
    assert r.text.count("<shippingDeliveryDetailVO>") == 2 and "<count>2</count>" in r.text


def test_request_shape(yurtici: YurticiClient, yurtici_fake: YurticiFake, parcel: None) -> None:
    yurtici.track(KEY)
    (req,) = yurtici_fake.requests
    assert req.path.endswith("/KOPSWebServices/ShippingOrderDispatcherServices")
    assert req.headers["soapaction"] == '""'
    assert (b'<op:queryShipment><wsUserName>YKTEST</wsUserName><wsPassword>YK</wsPassword>'
            b"<wsLanguage>TR</wsLanguage><keys>ORD2024001</keys><keyType>0</keyType>"
            b"<addHistoricalData>true</addHistoricalData><onlyTracking>false</onlyTracking></op:queryShipment>"
            in req.body)


@pytest.mark.parametrize(("date", "time", "expected"), [
    ("20240115", "142530", datetime(2024, 1, 15, 11, 25, 30, tzinfo=UTC)),
    ("20240115", "93000", datetime(2024, 1, 15, 6, 30, tzinfo=UTC)),  # left-padded
    ("20240101", "001500", datetime(2023, 12, 31, 21, 15, tzinfo=UTC)),  # crosses midnight and year
    ("20240115", None, datetime(2024, 1, 14, 21, 0, tzinfo=UTC)),
    ("", "101010", None),
    ("00000000", "000000", None),
])
def test_istanbul_time_parsing(date: str, time: str | None, expected: datetime | None) -> None:
    assert parse_yyyymmdd_hhmmss(date, time) == expected


@pytest.mark.parametrize(("date", "time"), [("2024-01-15", "1200"), ("20241315", "1200"), ("20240115", "1234567"),
                                            ("20240115", "12:00")])
def test_istanbul_time_parsing_rejects_garbage(date: str, time: str) -> None:
    with pytest.raises(ValueError):
        parse_yyyymmdd_hhmmss(date, time)


def test_slow_answer_times_out_and_is_retried(sandbox: Sandbox, yurtici_fake: YurticiFake, parcel: None,
                                              clock: FrozenClock) -> None:
    from invekto_integrations.core.retry import RetryPolicy

    yurtici_fake.faults.configure(script=["timeout"], timeout_seconds=5.0)
    with YurticiClient("YKTEST", "YK", base_url=sandbox.inprocess_url("yurtici"), transport=sandbox.transport(),
                       clock=clock, retry=RetryPolicy(max_attempts=2, clock=clock), timeout=1.0) as client:
        assert client.track(KEY).status == ShipmentStatus.PENDING
    # Both attempts reached the fake: the first is logged as timed out, the retry answered.
    assert yurtici_fake.faults.counts["timeout"] == 1
    assert [r.outcome for r in yurtici_fake.requests] == ["timeout", "ok"]


def test_default_policy_is_tuned_for_slow_carriers() -> None:
    client = YurticiClient("YKTEST", "YK")
    assert client.config.timeout.read == 25.0 and client.config.timeout.connect == 5.0
    assert client.config.retry.max_attempts == 3
    client.close()
