"""WhatsApp Cloud fidelity (issue 13): WhatsApp ids that are not valid numbers, whole message types,
``biz_opaque_callback_data``, signature before parsing, redelivered webhooks."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from invekto_integrations.core.errors import InvalidParameter
from invekto_integrations.messaging import MessageCategory, MessagingWebhookHandler, OutboundMessage, WebhookRoute
from invekto_integrations.models.consent import ConsentStatus
from invekto_integrations.models.events import InboundMessageReceived
from invekto_integrations.models.messaging import PhoneStatus
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppWebhooks, sign_body
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import StatusTiming

from .conftest import PHONE, WA_ID, Harness

CODEC = WhatsAppWebhooks()
META = {"display_phone_number": "908501234567", "phone_number_id": "1000000001"}


def envelope(value: dict[str, Any]) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "WABA_ID", "changes": [{"field": "messages", "value": value}]}]}, ensure_ascii=False).encode()


def inbound(*messages: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> bytes:
    return envelope({"messaging_product": "whatsapp", "metadata": META, "contacts": contacts or [],
                     "messages": list(messages)})


# --- the sender: a WhatsApp id, not a validated phone number --------------------------------------
def test_inbound_from_numbers_libphonenumber_calls_invalid_is_kept_and_marked() -> None:
    msgs = [
        {"from": "905811234567", "id": "w1", "timestamp": "1764070001", "type": "text", "text": {"body": "a"}},
        {"from": "15550001234", "id": "w2", "timestamp": "1764070002", "type": "text", "text": {"body": "b"}},
        {"from": WA_ID, "id": "w3", "timestamp": "1764070003", "type": "text", "text": {"body": "c"}},
        {"from": "TR.1a2b3c4d5e", "id": "w4", "timestamp": "1764070004", "type": "text", "text": {"body": "d"}},
    ]
    batch = CODEC.parse(inbound(*msgs))
    assert batch.problems == []
    by_id = {m.provider_message_id: m for m in batch.inbound}
    assert set(by_id) == {"w1", "w2", "w3", "w4"}  # nothing dropped
    assert (by_id["w1"].from_phone, by_id["w1"].phone_status) == ("+905811234567", PhoneStatus.UNVERIFIED)
    assert (by_id["w2"].from_phone, by_id["w2"].phone_status) == ("+15550001234", PhoneStatus.UNVERIFIED)
    assert (by_id["w3"].from_phone, by_id["w3"].phone_status) == (PHONE, PhoneStatus.VALID)
    assert by_id["w4"].from_phone is None and by_id["w4"].phone_status == PhoneStatus.WITHHELD
    assert [m.from_wa_id for m in batch.inbound] == ["905811234567", "15550001234", WA_ID, "TR.1a2b3c4d5e"]


def test_opt_out_from_an_unallocated_range_is_still_honoured(harness: Harness) -> None:
    harness.wa.inject_inbound("905811234567", "DUR")
    harness.deliver()
    contact = harness.store.messaging_contacts.get("t1", "+905811234567")
    assert contact is not None and contact.opted_out_at is not None and contact.wa_id == "905811234567"
    harness.wa.inject_inbound("TR.withheld01", "Merhaba")  # no phone: logged as an event, never dropped
    harness.deliver()
    withheld = [e.data for e in harness.store.events.read("t1", types=[InboundMessageReceived.TYPE])
                if e.data.get("from_wa_id") == "TR.withheld01"]
    assert len(withheld) == 1 and withheld[0]["from_phone"] == ""
    assert harness.store.quarantine.find("t1") == []


# --- whole message types --------------------------------------------------------------------------
def test_location_contacts_reaction_unsupported_and_system_are_whole_types() -> None:
    msgs = [
        {"from": WA_ID, "id": "loc", "timestamp": "1764070001", "type": "location",
         "location": {"latitude": 41.0082, "longitude": 28.9784, "name": "Sultanahmet",
                      "address": "Sultanahmet, Fatih/İstanbul"}},
        {"from": WA_ID, "id": "card", "timestamp": "1764070002", "type": "contacts",
         "contacts": [{"name": {"formatted_name": "Ayşe Yılmaz", "first_name": "Ayşe", "last_name": "Yılmaz"},
                       "phones": [{"phone": "+90 532 123 45 67", "wa_id": "905321234567", "type": "CELL"}],
                       "emails": [{"email": "ayse@example.com", "type": "WORK"}],
                       "addresses": [{"city": "İstanbul", "country": "Türkiye", "country_code": "TR",
                                      "type": "HOME"}],
                       "org": {"company": "Örnek A.Ş.", "title": "Müdür"},
                       "urls": [{"url": "https://example.com", "type": "WORK"}], "birthday": "1990-05-17"}]},
        {"from": WA_ID, "id": "react", "timestamp": "1764070003", "type": "reaction",
         "reaction": {"message_id": "wamid.TARGET", "emoji": "\U0001f44d"}},
        {"from": WA_ID, "id": "unreact", "timestamp": "1764070004", "type": "reaction",
         "reaction": {"message_id": "wamid.TARGET"}},
        {"from": WA_ID, "id": "unsup", "timestamp": "1764070005", "type": "unsupported",
         "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                     "error_data": {"details": "Message type is currently not supported."}}]},
        {"from": WA_ID, "id": "sys", "timestamp": "1764070006", "type": "system",
         "system": {"body": "User A changed from 905321234567 to 905329876543", "new_wa_id": "905329876543",
                    "type": "customer_changed_number"}},
    ]
    batch = CODEC.parse(inbound(*msgs, contacts=[{"profile": {"name": "Ayşe"}, "wa_id": WA_ID}]))
    assert batch.problems == []
    m = {x.provider_message_id: x for x in batch.inbound}
    loc = m["loc"].location
    assert loc is not None and (loc.latitude, loc.longitude, loc.name) == (41.0082, 28.9784, "Sultanahmet")
    [card] = m["card"].contacts
    assert card.name.formatted_name == "Ayşe Yılmaz" and card.phones[0].wa_id == "905321234567"
    assert card.emails[0].email == "ayse@example.com" and card.addresses[0].country_code == "TR"
    assert card.org is not None and card.org.company == "Örnek A.Ş." and card.birthday == "1990-05-17"
    reaction = m["react"].reaction
    assert reaction is not None and reaction.message_id == "wamid.TARGET" and reaction.emoji == "\U0001f44d"
    removed = m["unreact"].reaction
    assert removed is not None and removed.removed and removed.message_id == "wamid.TARGET"
    [err] = m["unsup"].errors
    assert err.code == "131051" and err.title == "Message type unknown" and err.details
    system = m["sys"].system
    assert system is not None and system.new_wa_id == "905329876543" and system.type == "customer_changed_number"
    assert m["react"].text is None  # a reaction is no text (never read as an opt-out keyword)


def test_a_bad_location_is_quarantined_alone() -> None:
    msgs = [
        {"from": WA_ID, "id": "bad", "timestamp": "1764070001", "type": "location", "location": {"latitude": "x"}},
        {"from": WA_ID, "id": "huge-ts", "timestamp": str(10**20), "type": "text", "text": {"body": "a"}},
        {"from": WA_ID, "id": "ok", "timestamp": "1764070002", "type": "text", "text": {"body": "b"}},
    ]
    batch = CODEC.parse(inbound(*msgs))
    assert [x.provider_message_id for x in batch.inbound] == ["ok"]
    assert [p.where.rsplit(".", 1)[-1] for p in batch.problems] == ["messages[0]", "messages[1]"]


# --- biz_opaque_callback_data -------------------------------------------------------------------
def test_callback_data_goes_out_with_the_send_and_comes_back_on_statuses(
        harness: Harness, wa_client: WhatsAppCloudClient) -> None:
    harness.wa.status_timing = StatusTiming.immediate()
    sent = wa_client.send_template(PHONE, "order_shipped", "tr", body_params=["Ayşe", "#1"],
                                   biz_opaque_callback_data="campaign=c1;variant=B")
    assert sent.biz_opaque_callback_data == "campaign=c1;variant=B"
    assert harness.wa.messages[sent.provider_message_id].payload["biz_opaque_callback_data"] == \
        "campaign=c1;variant=B"
    harness.deliver()
    bodies = [json.loads(b) for b in harness.wa.sent_webhooks]
    statuses = [s for b in bodies for s in b["entry"][0]["changes"][0]["value"].get("statuses", [])]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    parsed = [u for b in harness.wa.sent_webhooks for u in CODEC.parse(b).statuses]
    assert {u.biz_opaque_callback_data for u in parsed} == {"campaign=c1;variant=B"}
    with pytest.raises(InvalidParameter):
        wa_client.send_text(PHONE, "x", last_inbound_at=harness.clock.now(), biz_opaque_callback_data="x" * 513)


def test_status_webhook_documented_shape_exposes_callback_data() -> None:
    raw = envelope({"messaging_product": "whatsapp", "metadata": META, "statuses": [
        {"id": "wamid.A", "status": "delivered", "timestamp": "1764070100", "recipient_id": WA_ID,
         "biz_opaque_callback_data": "cmp_01J9;v=A",
         "pricing": {"billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular"}}]})
    [update] = CODEC.parse(raw).statuses
    assert update.biz_opaque_callback_data == "cmp_01J9;v=A"


# --- defect 7: the signature is checked on the raw bytes before any parsing ------------------------
HOSTILE = [
    b"not json",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"object":"x","entry":[{"changes":[{"value":{"metadata":"1000000001"}}]}]}',
    b'{"object":"x","entry":[{"changes":[{"value":{"metadata":["1000000001"]}}]}]}',
    b'{"object":"x","entry":"abc"}',
    b'{"object":"x","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1000000001"},'
    b'"messages":7,"statuses":"s","contacts":{"a":1}}}]}]}',
    b'{"entry":[{"changes":[{"value":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}]}]}",
    b"\xff\xfe\x00garbage",
    b"",
]


def _handler(harness: Harness) -> MessagingWebhookHandler:
    return MessagingWebhookHandler(harness.pipeline, WhatsAppWebhooks(), verify_token=SecretStr("v"),
                                   routes={"1000000001": WebhookRoute("t1", SecretStr(harness.wa.app_secret))},
                                   quarantine=harness.store.quarantine)


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_unsigned_malformed_body_is_401_without_parsing(harness: Harness, body: bytes) -> None:
    handler = _handler(harness)
    assert handler.handle("POST", {}, {"X-Hub-Signature-256": "sha256=" + "0" * 64}, body).status == 401
    assert handler.handle("POST", {}, {}, body).status == 401


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_signed_malformed_body_is_a_typed_400_or_quarantined(harness: Harness, body: bytes) -> None:
    handler = _handler(harness)
    answer = handler.handle("POST", {}, {"X-Hub-Signature-256": sign_body(body, harness.wa.app_secret)}, body)
    assert answer.status in (200, 400)
    if answer.status == 400:
        detail = json.loads(answer.body)
        assert detail["error"] == "malformed_body" and detail["provider"] == "whatsapp_cloud"
    else:  # an envelope whose parts are malformed: nothing applied, the bad parts quarantined
        counts = json.loads(answer.body)
        assert counts["inbound"] == counts["statuses"] == 0


# --- defect 8: redelivered webhooks never move state backwards ---------------------------------------
def test_redelivered_opt_out_does_not_undo_a_later_opt_in(harness: Harness) -> None:
    harness.wa.inject_inbound(WA_ID, "DUR")
    harness.deliver()
    stop_delivery = len(harness.wa.sent_webhooks) - 1
    contact = harness.store.messaging_contacts.get("t1", PHONE)
    assert contact is not None and contact.opted_out_at is not None
    harness.clock.advance(timedelta(hours=2).total_seconds())
    harness.consent.record_consent("t1", PHONE, status=ConsentStatus.ONAY)  # the customer opts in again
    assert harness.store.messaging_contacts.get("t1", PHONE).opted_out_at is None  # type: ignore[union-attr]

    harness.wa.redeliver(stop_delivery)  # Meta delivers the old "DUR" again
    harness.deliver()
    after = harness.store.messaging_contacts.get("t1", PHONE)
    assert after is not None and after.opted_out_at is None
    result = harness.pipeline.submit(OutboundMessage(
        tenant_id="t1", idempotency_key="promo-1", purpose="campaign", category=MessageCategory.MARKETING,
        to_phone=PHONE, text="Size özel indirim"))
    assert result.reason != "opted_out"
    inbound_events = harness.store.events.read("t1", types=[InboundMessageReceived.TYPE])
    assert len(inbound_events) == 1  # the redelivery logged nothing new


def test_redelivered_opt_out_uploads_no_second_ret(harness: Harness) -> None:
    from invekto_integrations.messaging.consent import ConsentPolicy

    source = harness.consent._tenant("t1").source
    harness.consent.configure("t1", source=source, brand_code="700001",
                              policy=ConsentPolicy(register_opt_out_in_iys=True))
    harness.consent.record_consent("t1", PHONE, status=ConsentStatus.ONAY)
    harness.clock.advance(60)
    harness.wa.inject_inbound(WA_ID, "DUR")
    harness.deliver()
    uploads = len([r for r in harness.iys.requests if r.method == "POST" and r.path.endswith("/consents")])
    harness.wa.redeliver()
    harness.deliver()
    again = len([r for r in harness.iys.requests if r.method == "POST" and r.path.endswith("/consents")])
    assert uploads == again


def test_a_redelivered_old_ctwa_click_does_not_replace_a_newer_one(harness: Harness) -> None:
    harness.wa.inject_inbound(WA_ID, "ilk", referral={"ctwa_clid": "OLD", "source_type": "ad", "source_id": "1"})
    harness.deliver()
    first = len(harness.wa.sent_webhooks) - 1
    harness.clock.advance(3600)
    harness.wa.inject_inbound(WA_ID, "ikinci", referral={"ctwa_clid": "NEW", "source_type": "ad", "source_id": "2"})
    harness.deliver()
    harness.wa.redeliver(first)
    harness.deliver()
    contact = harness.store.messaging_contacts.get("t1", PHONE)
    assert contact is not None and contact.ctwa_clid == "NEW"


def test_the_pipeline_sends_the_correlation_and_reads_it_back_from_the_echo(harness: Harness) -> None:
    from invekto_integrations.messaging.base import TemplateRef
    from invekto_integrations.models.correlation import Correlation
    from invekto_integrations.models.events import MessageStatusChanged

    harness.wa.status_timing = StatusTiming.immediate()
    correlation = Correlation(campaign_id="cmp-kis", variant="B")
    result = harness.pipeline.submit(OutboundMessage(
        tenant_id="t1", idempotency_key="cargo-echo", purpose="cargo_status", category=MessageCategory.UTILITY,
        to_phone=PHONE, template=TemplateRef(name="order_shipped", language="tr", body_params=["Ayşe", "#1"]),
        correlation=correlation))
    assert result.status == "sent"
    wamid = str(result.reason)
    assert harness.wa.messages[wamid].payload["biz_opaque_callback_data"] == correlation.to_callback_data()
    # A status of a message this store never recorded (another process sent it): the echo still names it.
    lost = envelope({"messaging_product": "whatsapp", "metadata": META, "statuses": [
        {"id": "wamid.LOST", "status": "delivered", "timestamp": "1764070100", "recipient_id": WA_ID,
         "biz_opaque_callback_data": correlation.to_callback_data()}]})
    [update] = CODEC.parse(lost).statuses
    harness.pipeline.apply_status("t1", update)
    events = [MessageStatusChanged.model_validate(e.data)
              for e in harness.store.events.read("t1", types=[MessageStatusChanged.TYPE])]
    echoed = [e for e in events if e.provider_message_id == "wamid.LOST"]
    assert len(echoed) == 1 and echoed[0].correlation == correlation
