"""Webhook handshake, signature and parsing (documented payloads from the fact sheet)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from invekto_integrations.models.messaging import DeliveryStatus
from invekto_integrations.providers.whatsapp_cloud import WhatsAppWebhooks, sign_body

CODEC = WhatsAppWebhooks()
SECRET = "app-secret"


def envelope(value: dict[str, Any]) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "WABA_ID", "changes": [{"field": "messages", "value": value}]}]}, ensure_ascii=False).encode()


META = {"display_phone_number": "908501234567", "phone_number_id": "1234567890"}
REFERRAL = {"source_url": "https://fb.me/xxxx", "source_id": "120210000000000000", "source_type": "ad",
            "headline": "Kış kampanyası", "body": "%20 indirim için yazın", "media_type": "image",
            "image_url": "https://scontent.xx.fbcdn.net/...", "video_url": None, "thumbnail_url": None,
            "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiy...", "welcome_message": {"text": "Merhaba!"}}


def test_handshake() -> None:
    q = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert CODEC.handshake(q, "tok") == (200, "1158201444")
    assert CODEC.handshake({**q, "hub.verify_token": "bad"}, "tok")[0] == 403
    assert CODEC.handshake({**q, "hub.mode": "unsubscribe"}, "tok")[0] == 403
    assert CODEC.handshake(q, "")[0] == 403


def test_signature_is_hmac_of_raw_bytes() -> None:
    raw = envelope({"messaging_product": "whatsapp", "metadata": META})
    header = sign_body(raw, SECRET)
    assert header.startswith("sha256=") and len(header) == 71
    assert CODEC.verify_signature(raw, {"X-Hub-Signature-256": header}, SECRET)
    assert CODEC.verify_signature(raw, {"x-hub-signature-256": header}, SECRET)
    assert not CODEC.verify_signature(raw + b" ", {"X-Hub-Signature-256": header}, SECRET)
    assert not CODEC.verify_signature(raw, {"X-Hub-Signature-256": header}, "other")
    assert not CODEC.verify_signature(raw, {}, SECRET)
    # re-serialised JSON does not match: the check must run on the raw bytes
    compact = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    assert not CODEC.verify_signature(compact, {"X-Hub-Signature-256": header}, SECRET)


@given(st.binary(max_size=200), st.text(min_size=1, max_size=20))
def test_signature_roundtrip_any_body(raw: bytes, secret: str) -> None:
    assert CODEC.verify_signature(raw, {"X-Hub-Signature-256": sign_body(raw, secret)}, secret)


def test_parse_documented_inbound_with_referral() -> None:
    raw = envelope({"messaging_product": "whatsapp", "metadata": META,
                    "contacts": [{"profile": {"name": "Ayşe"}, "wa_id": "905321234567"}],
                    "messages": [{"from": "905321234567", "id": "wamid.HBg1", "timestamp": "1764070000",
                                  "type": "text", "text": {"body": "Merhaba, fiyat alabilir miyim?"},
                                  "referral": REFERRAL}]})
    assert CODEC.channel_ids(raw) == ["1234567890"]
    batch = CODEC.parse(raw)
    [m] = batch.inbound
    assert m.from_phone == "+905321234567" and m.from_wa_id == "905321234567" and m.profile_name == "Ayşe"
    assert m.timestamp == datetime.fromtimestamp(1764070000, tz=UTC)
    assert m.text == "Merhaba, fiyat alabilir miyim?" and m.kind == "text"
    assert m.channel_id == "1234567890" and m.account_id == "WABA_ID"
    assert m.ctwa_clid == "ARAkLkA8rmlFeiCktEJQ-QTwRiy..."
    assert m.referral is not None and m.referral.source_id == "120210000000000000"
    assert m.referral.welcome_message == "Merhaba!" and m.referral.raw["headline"] == "Kış kampanyası"
    assert batch.problems == []


def test_parse_button_interactive_media_and_bad_message() -> None:
    msgs = [
        {"from": "905321234567", "id": "w1", "timestamp": "1764070001", "type": "button",
         "button": {"payload": "STOP_PROMO", "text": "Durdur"}},
        {"from": "905321234567", "id": "w2", "timestamp": "1764070002", "type": "interactive",
         "interactive": {"type": "button_reply", "button_reply": {"id": "appt_yes_881", "title": "Evet"}}},
        {"from": "905321234567", "id": "w3", "timestamp": "1764070003", "type": "image",
         "image": {"id": "media-1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "fatura"}},
        {"id": "w4", "timestamp": "1764070004", "type": "text", "text": {"body": "no from"}},
        {"from": "905321234567", "id": "w5", "timestamp": "1764070005", "type": "interactive",
         "interactive": {"type": "list_reply", "list_reply": {"id": "row-2", "title": "Salı"}}},
    ]
    batch = CODEC.parse(envelope({"messaging_product": "whatsapp", "metadata": META, "messages": msgs}))
    by_id = {m.provider_message_id: m for m in batch.inbound}
    assert by_id["w1"].button_payload == "STOP_PROMO" and by_id["w1"].text == "Durdur"
    assert by_id["w2"].reply_id == "appt_yes_881" and by_id["w2"].text == "Evet"
    assert by_id["w3"].media is not None and by_id["w3"].media.id == "media-1" and by_id["w3"].text == "fatura"
    assert by_id["w5"].reply_id == "row-2"
    [problem] = batch.problems  # the malformed one is quarantined, the rest kept
    assert problem.where.endswith("messages[3]") and problem.field == "from"


def test_parse_statuses_including_failed_and_batching() -> None:
    statuses = [
        {"id": "wamid.A", "status": "delivered", "timestamp": "1764070100", "recipient_id": "905321234567",
         "conversation": {"id": "c0ffee", "expiration_timestamp": "1764156500", "origin": {"type": "utility"}},
         "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"}},
        {"id": "wamid.B", "status": "failed", "timestamp": "1764070101", "recipient_id": "905321234567",
         "errors": [{"code": 131047, "title": "Re-engagement message", "message": "...",
                     "error_data": {"details": "more than 24 hours"}}]},
        {"id": "wamid.C", "status": "weird", "timestamp": "1764070102"},
    ]
    body = {"object": "whatsapp_business_account", "entry": [
        {"id": "W1", "changes": [{"field": "messages", "value": {"metadata": META, "statuses": statuses[:1]}}]},
        {"id": "W1", "changes": [{"field": "messages", "value": {"metadata": META, "statuses": statuses[1:]}},
                                 {"field": "automatic_events", "value": {"x": 1}}]},
    ]}
    batch = CODEC.parse(json.dumps(body).encode())
    assert [s.status for s in batch.statuses] == [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
    assert batch.statuses[0].pricing_category == "utility" and batch.statuses[0].billable is True
    err = batch.statuses[1].error
    assert err is not None and err.code == "131047" and err.title == "Re-engagement message"
    # "weird" is a status nobody documented: skipped and logged once, not a broken payload
    assert batch.problems == []


def test_garbage_body_is_a_problem_not_an_exception() -> None:
    batch = CODEC.parse(b"not json")
    assert batch.inbound == [] and batch.statuses == [] and len(batch.problems) == 1
    assert CODEC.channel_ids(b"not json") == []
