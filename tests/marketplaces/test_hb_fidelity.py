"""Hepsiburada against its published examples (issue 13): the package endpoint's bare array, the
``correlationId`` of error bodies, and an order stored whole or quarantined whole."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from invekto_integrations.core.errors import NotFound
from invekto_integrations.models.orders import OrderStatus
from invekto_integrations.providers.hepsiburada import HepsiburadaClient
from invekto_integrations.providers.hepsiburada.client import HepsiburadaEndpoints, hepsiburada_error_details
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake

from .conftest import HB_AGENT, HB_KEY, MERCHANT, NOW

WINDOW = (NOW - timedelta(minutes=5), NOW + timedelta(minutes=5))


def test_fake_serves_the_package_as_a_bare_array(sandbox: Sandbox, hb_fake: HepsiburadaFake) -> None:
    (number,) = hb_fake.add_orders(MERCHANT, 1, status="InTransit")
    package = hb_fake._merchant(MERCHANT).orders[number].package_number
    with httpx.Client(transport=sandbox.transport(), base_url=sandbox.inprocess_url("hepsiburada"),
                      auth=(MERCHANT, HB_KEY), headers={"User-Agent": HB_AGENT}) as raw:
        body = raw.get(f"/packages/merchantid/{MERCHANT}/packagenumber/{package}").json()
    assert isinstance(body, list) and len(body) == 1 and body[0]["packageNumber"] == package


def test_get_order_of_an_order_with_one_package_keeps_its_tracking(hb: HepsiburadaClient,
                                                                   hb_fake: HepsiburadaFake) -> None:
    (number,) = hb_fake.add_orders(MERCHANT, 1, status="InTransit")
    hb_fake.set_tracking(MERCHANT, number, "7300012345678", company="Aras Kargo")
    (order,) = hb.get_order(number)
    assert order.cargo.tracking_number == "7300012345678"


def test_enrichment_keeps_the_tracking_number(hb: HepsiburadaClient, hb_fake: HepsiburadaFake) -> None:
    (number,) = hb_fake.add_orders(MERCHANT, 1, status="InTransit")
    hb_fake.set_tracking(MERCHANT, number, "7300012345679")
    orders = {i.order.external_id: i.order for i in hb.iter_orders_changed(*WINDOW) if i.order}
    assert orders[number].status is OrderStatus.SHIPPED
    assert orders[number].cargo.tracking_number == "7300012345679"


@pytest.mark.parametrize("body", [
    {"packageNumber": "P1", "trackingInfoCode": "T1"},  # an object alone
    [{"packageNumber": "P0", "trackingInfoCode": "T0"}, {"packageNumber": "P1", "trackingInfoCode": "T1"}],
])
def test_package_answer_as_array_or_object(body: object) -> None:
    call = HepsiburadaEndpoints(MERCHANT).get_package("P1")
    assert call.parse(httpx.Response(200, json=body)).trackingInfoCode == "T1"


def test_empty_package_array_is_not_found() -> None:
    call = HepsiburadaEndpoints(MERCHANT).get_package("P1")
    with pytest.raises(NotFound):
        call.parse(httpx.Response(200, json=[]))


def test_correlation_id_is_the_request_id(hb: HepsiburadaClient) -> None:
    with pytest.raises(NotFound) as info:
        hb.get_order("1000000000")
    assert info.value.request_id and len(info.value.request_id) == 36
    details = hepsiburada_error_details(httpx.Response(400, json={
        "correlationId": "3f1c9a52-0d6b-4c1e-9a55-5c0f1e7d2b44", "title": "Bad Request",
        "detail": "limit must be between 1 and 100", "timestamp": "2024-05-21T10:00:00Z"}))
    assert details.request_id == "3f1c9a52-0d6b-4c1e-9a55-5c0f1e7d2b44"
    assert details.message == "limit must be between 1 and 100"


def test_a_header_request_id_wins_over_the_body(hb_fake: HepsiburadaFake) -> None:
    from invekto_integrations.core.http import Call, error_for_response

    config = HepsiburadaClient(MERCHANT, HB_KEY, integrator_name=HB_AGENT).config
    response = httpx.Response(500, headers={"x-request-id": "hdr-1"}, json={"correlationId": "body-1"})
    assert error_for_response(config, Call("x", "GET", "/", lambda r: r), response).request_id == "hdr-1"
    response = httpx.Response(500, json={"correlationId": "body-1"})
    assert error_for_response(config, Call("x", "GET", "/", lambda r: r), response).request_id == "body-1"


# -- defect 1: whole or not at all ------------------------------------------------------------------------
def _two_line_order(hb_fake: HepsiburadaFake) -> str:
    for _ in range(20):
        (number,) = hb_fake.add_orders(MERCHANT, 1)
        if hb_fake.order_truth(MERCHANT, number)[0] >= 2:
            return number
    raise AssertionError("the fake made no two-line order")


def test_an_order_with_one_malformed_line_is_quarantined_whole(hb: HepsiburadaClient,
                                                               hb_fake: HepsiburadaFake) -> None:
    number = _two_line_order(hb_fake)
    hb_fake.break_line(MERCHANT, number, 1)
    items = list(hb.iter_orders_changed(*WINDOW))
    assert number not in {i.order.external_id for i in items if i.order}
    (error,) = [i for i in items if i.error and i.error.record == number]
    assert error.error is not None and error.error.field is not None and "quantity" in error.error.field
    assert error.raw is not None and len(error.raw["items"]) == hb_fake.order_truth(MERCHANT, number)[0]
    # a later good read stores it whole
    hb_fake.repair_order(MERCHANT, number)
    (order,) = [i.order for i in hb.iter_orders_changed(*WINDOW) if i.order and i.order.external_id == number]
    lines, total = hb_fake.order_truth(MERCHANT, number)
    assert len(order.lines) == lines and order.total == total


def test_a_line_that_lost_its_order_number_makes_its_neighbours_reread(hb: HepsiburadaClient,
                                                                        hb_fake: HepsiburadaFake) -> None:
    number = _two_line_order(hb_fake)
    others = hb_fake.add_orders(MERCHANT, 3)
    for index in (0, 1):
        hb_fake.break_line(MERCHANT, number, index, orphan=True)  # no order number: only its place in the feed
        items = list(hb.iter_orders_changed(*WINDOW))
        orders = {i.order.external_id: i.order for i in items if i.order}
        lines, total = hb_fake.order_truth(MERCHANT, number)
        assert len(orders[number].lines) == lines and orders[number].total == total  # re-read whole
        assert set(others) <= set(orders)
        assert sum(1 for i in items if i.error) == 1 and Decimal(0) < total
