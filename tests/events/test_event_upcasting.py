"""Event contract v2: every version ever written keeps decoding into the current class."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from invekto_integrations.core.money import Money
from invekto_integrations.models.correlation import Correlation
from invekto_integrations.models.events import (
    DomainEvent,
    InboundMessageReceived,
    MessageStatusChanged,
    OrderCreated,
    decode_event,
    event_class,
    register_upcaster,
)
from invekto_integrations.models.messaging import Referral
from invekto_integrations.storage.memory import MemoryStore
from invekto_integrations.storage.sqlite import SQLiteStore

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

# Payloads exactly as wave 1 wrote them (type, version 1, data).
RAW_REFERRAL_V1: dict[str, Any] = {
    "event_id": "01JA0000000000000000000001", "tenant_id": "t1", "occurred_at": "2026-11-24T09:00:00Z",
    "dedupe_key": "whatsapp_cloud:in:wamid.1", "from_phone": "+905321234567", "provider_message_id": "wamid.1",
    "kind": "text", "text": "Fiyat?", "ctwa_clid": "ARAkClid",
    "referral": {"source_url": "https://fb.me/x", "source_id": "120", "source_type": "ad", "headline": "Kampanya",
                 "media_type": "image", "image_url": "https://img", "ctwa_clid": "ARAkClid",
                 "welcome_message": {"text": "Merhaba!"}},
}
ORDER_V1: dict[str, Any] = {
    "event_id": "01JA0000000000000000000002", "tenant_id": "t1", "occurred_at": "2026-11-24T09:00:00Z",
    "dedupe_key": None, "provider": "trendyol", "account_id": "a1", "external_order_id": "10234",
    "customer_phone": "+905321234567", "backfill": False, "order_status": "created",
}
STATUS_V1: dict[str, Any] = {
    "event_id": "01JA0000000000000000000003", "tenant_id": "t1", "occurred_at": "2026-11-24T09:00:00Z",
    "dedupe_key": "x", "message_id": "m1", "provider_message_id": "wamid.9", "status": "delivered",
    "error_code": None, "error_title": None,
}


def test_inbound_v1_raw_referral_is_upcast_to_the_typed_referral() -> None:
    event = decode_event("message.inbound", 1, RAW_REFERRAL_V1)
    assert isinstance(event, InboundMessageReceived) and event.VERSION == 2
    assert event.referral is not None
    assert event.referral.source_type == "ad" and event.referral.headline == "Kampanya"
    assert event.referral.welcome_message == "Merhaba!" and event.referral.ctwa_clid == "ARAkClid"
    assert event.referral.raw == RAW_REFERRAL_V1["referral"]  # nothing lost
    assert event_class("message.inbound", 1) is InboundMessageReceived


def test_inbound_v1_model_dump_referral_and_no_referral() -> None:
    dumped = {**RAW_REFERRAL_V1, "referral": {"source_type": "post", "ctwa_clid": None, "headline": None}}
    event = decode_event("message.inbound", 1, dumped)
    assert isinstance(event, InboundMessageReceived) and event.referral is not None
    assert event.referral.source_type == "post" and event.referral.ctwa_clid == "ARAkClid"  # from the event
    plain = decode_event("message.inbound", 1, {**RAW_REFERRAL_V1, "referral": None})
    assert isinstance(plain, InboundMessageReceived) and plain.referral is None


def test_old_order_and_status_payloads_decode_with_the_new_fields_empty() -> None:
    order = decode_event("order.created", 1, ORDER_V1)
    assert isinstance(order, OrderCreated) and order.total is None
    status = decode_event("message.status_changed", 1, STATUS_V1)
    assert isinstance(status, MessageStatusChanged)
    assert (status.purpose, status.recipient, status.correlation) == (None, None, None)


def test_unknown_type_or_future_version_is_a_key_error() -> None:
    with pytest.raises(KeyError, match=r"message\.inbound"):
        decode_event("message.inbound", 3, RAW_REFERRAL_V1)
    with pytest.raises(KeyError, match="nope"):
        decode_event("nope", 1, {})


def test_upcaster_chains_run_in_order() -> None:
    class Renamed(DomainEvent):
        TYPE: ClassVar[str] = "test.renamed"
        VERSION: ClassVar[int] = 3
        name: str

    register_upcaster("test.renamed", 1, lambda d: {**d, "title": d.pop("label")})
    register_upcaster("test.renamed", 2, lambda d: {**d, "name": d.pop("title").upper()})
    event = decode_event("test.renamed", 1, {"tenant_id": "t1", "occurred_at": AT.isoformat(), "label": "a"})
    assert isinstance(event, Renamed) and event.name == "A"
    with pytest.raises(TypeError):
        register_upcaster("test.renamed", 1, lambda d: d)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_v2_events_round_trip_through_both_logs(kind: str) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    ref = Referral(source_type="ad", ctwa_clid="c1", raw={"source_type": "ad", "ctwa_clid": "c1"})
    events: list[DomainEvent] = [
        InboundMessageReceived(tenant_id="t1", occurred_at=AT, from_phone="+905321234567",
                               provider_message_id="w1", kind="text", referral=ref),
        OrderCreated(tenant_id="t1", occurred_at=AT, provider="trendyol", account_id="a1", external_order_id="1",
                     order_status="created", total=Money(amount=Decimal("1249.90"), currency="TRY")),
        MessageStatusChanged(tenant_id="t1", occurred_at=AT, message_id="m1", provider_message_id="w9",
                             status="read", purpose="campaign", recipient="+905321234567",
                             correlation=Correlation(campaign_id="c-7", variant="B")),
    ]
    store.events.append("t1", events, at=AT)
    read = store.events.read("t1")
    assert [r.version for r in read] == [2, 1, 1]
    decoded = [decode_event(r.type, r.version, r.data) for r in read]
    assert decoded == events
    order = decoded[1]
    assert isinstance(order, OrderCreated) and order.total == Money(amount=Decimal("1249.90"))


def test_correlation_callback_data_round_trip() -> None:
    c = Correlation(campaign_id="kampanya-ş", variant="B")
    data = c.to_callback_data()
    assert data is not None and len(data) < 512
    assert Correlation.from_callback_data(data) == c
    assert Correlation().to_callback_data() is None
    for foreign in (None, "", "someone-else", "inv1:{bad", 'inv1:["x"]', 'inv1:{"c":1}'):
        assert Correlation.from_callback_data(foreign) is None
