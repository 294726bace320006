"""Every documented carrier code maps to the unified status; unknown codes are `unknown`, logged once."""

from __future__ import annotations

import logging

import pytest

from invekto_integrations.models.shipments import ShipmentStatus as S
from invekto_integrations.providers._carrier import log_unknown_code
from invekto_integrations.providers.aras import mapping as aras
from invekto_integrations.providers.yurtici import mapping as yk
from invekto_integrations.providers.yurtici.wire import ShippingDeliveryItemDetailVO


@pytest.mark.parametrize(("code", "expected"), [
    ("1", S.PICKED_UP), ("2", S.IN_TRANSIT), ("3", S.IN_TRANSIT), ("4", S.OUT_FOR_DELIVERY),
    ("5", S.IN_TRANSIT), ("6", S.DELIVERED), ("7", S.IN_TRANSIT),
])
def test_aras_every_durum_kodu(code: str, expected: S) -> None:
    assert aras.unified_status(code, "1") == expected


def test_aras_table_covers_every_documented_code() -> None:
    assert {c.value for c in aras.STATUS_TABLE} == {"1", "2", "3", "4", "5", "6", "7"}


@pytest.mark.parametrize("code", ["1", "2", "3", "4", "6", "7"])
def test_aras_returned_type_overrides_any_status(code: str) -> None:
    assert aras.unified_status(code, "3") == S.RETURN_TO_SENDER


def test_aras_redirected_type_keeps_status() -> None:
    assert aras.unified_status("2", "2") == S.IN_TRANSIT


def test_aras_devir_code_at_delivery_branch_is_a_failed_attempt() -> None:
    assert aras.unified_status("3", "1", "AY") == S.DELIVERY_FAILED
    assert aras.unified_status("4", "1", "AY") == S.OUT_FOR_DELIVERY


def test_aras_no_code_is_pending() -> None:
    assert aras.unified_status(None) == S.PENDING
    assert aras.unified_status("") == S.PENDING


def test_unknown_codes_map_to_unknown_and_log_once(caplog: pytest.LogCaptureFixture) -> None:
    log_unknown_code.cache_clear()
    with caplog.at_level(logging.WARNING, logger="invekto_integrations.carriers"):
        assert aras.unified_status("42") == S.UNKNOWN
        assert aras.unified_status("42") == S.UNKNOWN
        assert yk.unified_status("XYZ", "9") == S.UNKNOWN
        assert yk.unified_status("XYZ", "9") == S.UNKNOWN
    warnings = [r.getMessage() for r in caplog.records]
    assert len([w for w in warnings if "'42'" in w]) == 1
    assert len([w for w in warnings if "'XYZ'" in w]) == 1


@pytest.mark.parametrize(("status", "code", "expected"), [
    ("NOP", "0", S.PENDING), ("IND", "1", S.IN_TRANSIT), ("ISR", "2", S.PICKED_UP), ("CNL", "3", S.CANCELLED),
    ("ISC", "4", S.CANCELLED), ("DLV", "5", S.DELIVERED), ("BI", "6", S.CANCELLED),
])
def test_yurtici_every_operation_status_and_code(status: str, code: str, expected: S) -> None:
    assert yk.unified_status(status, code) == expected
    assert yk.unified_status(None, code) == expected  # operationCode alone is enough
    assert yk.unified_status(status.lower(), None) == expected


def test_yurtici_table_covers_every_documented_code() -> None:
    assert {s.value for s in yk.STATUS_TABLE} == {"NOP", "IND", "ISR", "CNL", "ISC", "DLV", "BI"}
    assert set(yk.OPERATION_CODES) == {"0", "1", "2", "3", "4", "5", "6"}


@pytest.mark.parametrize(("reject", "ret", "expected"), [
    ("9", None, S.RETURN_TO_SENDER), ("10", None, S.RETURN_TO_SENDER), (None, "3", S.RETURN_TO_SENDER),
    (None, "2", S.RETURN_TO_SENDER), (None, "1", S.DELIVERED), ("0", None, S.DELIVERED), ("4", "0", S.DELIVERED),
])
def test_yurtici_returns_override_delivery(reject: str | None, ret: str | None, expected: S) -> None:
    item = ShippingDeliveryItemDetailVO(rejectStatus=reject, returnStatus=ret)
    assert yk.unified_status("DLV", "5", item) == expected


@pytest.mark.parametrize(("event", "reason", "expected"), [
    ("YK", "GOK", S.OUT_FOR_DELIVERY), ("YK", "KTN", S.OUT_FOR_DELIVERY), ("TX", "OK", S.DELIVERY_FAILED),
    ("YK", "AAS", S.ON_HOLD), ("YK", "OK", S.IN_TRANSIT), (None, None, S.IN_TRANSIT),
])
def test_yurtici_item_events_refine_in_delivery(event: str | None, reason: str | None, expected: S) -> None:
    item = ShippingDeliveryItemDetailVO(cargoEventId=event, cargoReasonId=reason)
    assert yk.unified_status("IND", "1", item) == expected


def test_terminal_statuses() -> None:
    assert {s for s in S if s.is_terminal} == {S.DELIVERED, S.RETURN_TO_SENDER, S.CANCELLED}
