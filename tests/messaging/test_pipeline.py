"""The send pipeline over the sandbox (in-process), webhooks delivered to the handler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from invekto_integrations.core.errors import ConsentError
from invekto_integrations.messaging import (
    ConsentPolicy,
    FrequencyCap,
    MessageCategory,
    MessagingSettings,
    OutboundMessage,
    TemplateRef,
)
from invekto_integrations.models.events import InboundMessageReceived, MessageStatusChanged
from invekto_integrations.providers.whatsapp_cloud import sign_body
from invekto_integrations.storage.records import OutboxStatus

from .conftest import PHONE, VERIFY_TOKEN, WA_ID, Harness


def marketing(key: str = "camp-1", phone: str = PHONE, **kw: object) -> OutboundMessage:
    return OutboundMessage(tenant_id="t1", to_phone=phone, idempotency_key=key, category=MessageCategory.MARKETING,
                           purpose="campaign",
                           template=TemplateRef(name="kampanya_duyurusu", body_params=["Ayşe", "20"]),
                           **kw)  # type: ignore[arg-type]


def cargo(key: str = "cargo-1", **kw: object) -> OutboundMessage:
    return OutboundMessage(tenant_id="t1", to_phone=PHONE, idempotency_key=key, category=MessageCategory.UTILITY,
                           purpose="cargo_status",
                           template=TemplateRef(name="order_shipped", body_params=["Ayşe", "#10234"]),
                           **kw)  # type: ignore[arg-type]


def posts(h: Harness) -> int:
    return len(h.wa.requests_to("/messages", "POST"))


def test_marketing_without_consent_is_refused_and_nothing_sent(harness: Harness) -> None:
    result = harness.pipeline.submit(marketing())
    assert result.status == "refused" and result.reason == "no_consent"
    with pytest.raises(ConsentError) as info:
        harness.pipeline.send(marketing("camp-2"))
    assert info.value.reason == "no_consent" and info.value.recipient == PHONE
    assert posts(harness) == 0
    assert harness.store.outbox.get_by_key("t1", "camp-1").status == OutboxStatus.REFUSED  # type: ignore[union-attr]
    assert harness.pipeline.counts("t1")["campaign"].refused == 2


def test_marketing_with_consent_reaches_read_through_webhooks(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    result = harness.pipeline.send(marketing())
    assert result.status == "sent"
    harness.deliver()
    # the platform reports the lifecycle over time (the fake's default spacing: 1 s, 3 s, 2 min)
    steps = []
    for seconds in (0, 1, 2, 117):
        harness.advance(seconds)
        steps.append(harness.store.outbox.get("t1", result.message_id).status)  # type: ignore[union-attr]
    assert steps == [OutboxStatus.ACCEPTED, OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ]
    row = harness.store.outbox.get("t1", result.message_id)
    assert row is not None and row.status == OutboxStatus.READ
    assert row.read_at is not None and row.sent_at is not None and (row.read_at - row.sent_at).total_seconds() == 119
    assert row.provider_message_id and row.sent_at and row.delivered_at and row.read_at
    counts = harness.pipeline.counts("t1")["campaign"]
    assert (counts.sent, counts.delivered, counts.read, counts.failed) == (1, 1, 1, 0)
    events = harness.store.events.read("t1", types=[MessageStatusChanged.TYPE])
    # webhooks may overtake the send call's own bookkeeping: every status is logged once either way
    assert sorted(e.data["status"] for e in events) == ["accepted", "delivered", "read", "sent"]
    # the consent was looked up once in İYS and cached
    assert len(harness.iys.requests_to("/consents/status")) == 1
    harness.pipeline.send(marketing("camp-2"))
    assert len(harness.iys.requests_to("/consents/status")) == 1


def test_transactional_needs_no_consent(harness: Harness) -> None:
    assert harness.pipeline.send(cargo()).status == "sent"
    assert harness.iys.requests_to("/consents/status") == []


def test_retried_submit_is_not_sent_twice(harness: Harness) -> None:
    first = harness.pipeline.submit(cargo())
    second = harness.pipeline.submit(cargo())
    assert second.status == "duplicate" and second.message_id == first.message_id
    assert posts(harness) == 1


def test_opt_out_keyword_blocks_later_commercial_sends(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    harness.wa.inject_inbound(WA_ID, "Kargom durdu mu?")  # a sentence is not an opt-out
    harness.deliver()
    assert harness.pipeline.send(marketing("a")).status == "sent"
    harness.wa.inject_inbound(WA_ID, " ıptal. ")
    harness.deliver()
    contact = harness.store.messaging_contacts.get("t1", PHONE)
    assert contact is not None and contact.opt_out_keyword == "İPTAL"
    refused = harness.pipeline.submit(marketing("b"))
    assert refused.status == "refused" and refused.reason == "opted_out"
    assert harness.pipeline.send(cargo()).status == "sent"  # transactional still goes


def test_quiet_hours_hold_until_morning(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 11, 24, 19, 30, tzinfo=UTC))  # 22:30 in Istanbul
    result = harness.pipeline.submit(cargo())
    assert result.status == "scheduled" and posts(harness) == 0
    row = harness.store.outbox.get("t1", result.message_id)
    assert row is not None and row.due_at == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 09:00 Istanbul
    harness.clock.set(datetime(2026, 11, 25, 5, 59, tzinfo=UTC))
    assert harness.pipeline.dispatch_due().attempted == 0
    harness.clock.set(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    report = harness.pipeline.dispatch_due()
    assert report.accepted == 1 and posts(harness) == 1
    assert harness.pipeline.dispatch_due().attempted == 0


def test_not_before_and_consent_revoked_while_waiting(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    later = harness.clock.now() + timedelta(hours=2)
    result = harness.pipeline.submit(marketing(not_before=later))
    assert result.status == "scheduled"
    harness.iys.citizen_change("700001", "700001", PHONE, "RET")
    assert harness.consent.sync_changes("t1") == 1
    harness.clock.set(later)
    report = harness.pipeline.dispatch_due()
    assert report.refused == 1 and posts(harness) == 0
    assert harness.store.outbox.get("t1", result.message_id).reason == "consent_rejected"  # type: ignore[union-attr]


def test_change_feed_ret_beats_a_fresh_cached_onay(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    assert harness.pipeline.send(marketing("a")).status == "sent"  # caches ONAY
    harness.iys.citizen_change("700001", "700001", PHONE, "RET")
    harness.consent.sync_changes("t1")
    assert harness.pipeline.submit(marketing("b")).reason == "consent_rejected"
    # the cursor is durable: a second sync reads nothing new
    assert harness.consent.sync_changes("t1") == 0
    cp = harness.store.checkpoints.get("t1", "700001", "iys_changes:IYS")
    assert cp is not None and cp.cursor


def test_frequency_cap_per_rolling_window(harness: Harness) -> None:
    harness.pipeline.configure("t1", MessagingSettings(frequency_cap=FrequencyCap(max_messages=2,
                                                                                    per=timedelta(days=7))))
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    assert harness.pipeline.submit(marketing("a")).status == "sent"
    assert harness.pipeline.submit(marketing("b")).status == "sent"
    third = harness.pipeline.submit(marketing("c"))
    assert third.status == "refused" and third.reason == "frequency_cap"
    assert harness.pipeline.submit(cargo()).status == "sent"  # utility is not capped
    harness.clock.advance(timedelta(days=7, seconds=1).total_seconds())
    assert harness.pipeline.submit(marketing("c")).status == "sent"  # a refused key is evaluated afresh


def test_free_text_needs_the_window(harness: Harness) -> None:
    text = OutboundMessage(tenant_id="t1", to_phone=PHONE, idempotency_key="reply-1",
                           category=MessageCategory.SERVICE, purpose="reply", text="Siparişiniz hazırlanıyor.")
    failed = harness.pipeline.submit(text)
    assert failed.status == "failed" and "OutsideServiceWindow" in (failed.reason or "")
    assert posts(harness) == 0
    harness.wa.inject_inbound(WA_ID, "Siparişim nerede?")
    harness.deliver()
    ok = harness.pipeline.submit(text.model_copy(update={"idempotency_key": "reply-2"}))
    assert ok.status == "sent"
    harness.advance(120)
    assert harness.store.outbox.get("t1", ok.message_id).status == OutboxStatus.READ  # type: ignore[union-attr]


def test_provider_rejections_fail_with_code(harness: Harness) -> None:
    msg = cargo().model_copy(update={"template": TemplateRef(name="kis_kampanyasi")})
    result = harness.pipeline.submit(msg)
    assert result.status == "failed"
    row = harness.store.outbox.get("t1", result.message_id)
    assert row is not None and row.error_code == "132015"
    harness.wa.unreachable.add(WA_ID)
    sent = harness.pipeline.submit(cargo("c2"))
    harness.advance(1)
    row = harness.store.outbox.get("t1", sent.message_id)
    assert row is not None and row.status == OutboxStatus.FAILED and row.error_code == "131026"
    assert harness.pipeline.counts("t1")["cargo_status"].failed == 2


def test_throttled_send_is_retried_later_without_duplicates(harness: Harness) -> None:
    harness.wa.faults.configure(script=["rate_limit"])
    result = harness.pipeline.submit(cargo())
    assert result.status == "queued" and posts(harness) == 1
    assert harness.pipeline.dispatch_due().attempted == 0  # not due yet (Retry-After: 1 s)
    harness.clock.advance(2)
    assert harness.pipeline.dispatch_due().accepted == 1
    assert posts(harness) == 2
    assert harness.pipeline.submit(cargo()).status == "duplicate"


def test_dropped_connection_after_send_is_uncertain_and_never_resent(harness: Harness) -> None:
    harness.wa.faults.configure(script=["drop"])
    result = harness.pipeline.submit(cargo())
    assert result.status == "uncertain"
    harness.clock.advance(3600)
    assert harness.pipeline.dispatch_due().attempted == 0
    assert harness.pipeline.submit(cargo()).status == "duplicate"
    assert posts(harness) == 1
    assert harness.pipeline.counts("t1")["cargo_status"].uncertain == 1


def test_iys_outage_defers_the_send(harness: Harness) -> None:
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    harness.iys.faults.configure(script=["error", "error", "error"])
    result = harness.pipeline.submit(marketing())
    assert result.status == "scheduled" and result.reason == "consent_check_pending"
    harness.clock.advance(61)
    assert harness.pipeline.dispatch_due().accepted == 1


def test_tacir_and_policy_without_iys(harness: Harness) -> None:
    tacir = marketing("t", recipient_type="TACIR")
    assert harness.pipeline.submit(tacir).status == "sent"
    harness.consent.configure("t1", policy=ConsentPolicy(require_iys=False), brand_code="700001")
    assert harness.pipeline.submit(marketing("no-iys")).status == "sent"
    harness.consent.record_opt_out("t1", PHONE, keyword="STOP")
    assert harness.pipeline.submit(marketing("no-iys-2")).reason == "opted_out"


def test_statuses_never_move_backwards(harness: Harness) -> None:
    harness.wa.read_receipts_off.add(WA_ID)
    result = harness.pipeline.send(cargo())
    harness.advance(3600)
    row = harness.store.outbox.get("t1", result.message_id)
    assert row is not None and row.status == OutboxStatus.DELIVERED
    wamid = row.provider_message_id or ""
    harness.wa.push_status(wamid, "sent")
    harness.wa.push_status(wamid, "failed", error={"code": 131000, "title": "late failure"})
    harness.wa.push_status(wamid, "read")
    harness.deliver()
    row = harness.store.outbox.get("t1", result.message_id)
    assert row is not None and row.status == OutboxStatus.READ and row.error_code is None


def test_inbound_referral_lands_in_event_log_and_contact(harness: Harness) -> None:
    harness.wa.inject_inbound(WA_ID, "Fiyat alabilir miyim?", referral={})
    harness.wa.inject_inbound(WA_ID, "Fiyat alabilir miyim?", referral={})  # a second one is a new message
    harness.deliver()
    events = harness.store.events.read("t1", types=[InboundMessageReceived.TYPE])
    assert len(events) == 2
    assert events[0].data["ctwa_clid"].startswith("ARAkSandbox") and events[0].data["referral"]["source_type"] == "ad"
    contact = harness.store.messaging_contacts.get("t1", PHONE)
    assert contact is not None and contact.ctwa_clid and contact.last_inbound_at == harness.clock.now()
    # the same webhook delivered twice is recorded once
    delivery = harness.wa.webhooks.delivered[0]
    harness.handler.handle("POST", {}, delivery.headers, delivery.body)
    assert len(harness.store.events.read("t1", types=[InboundMessageReceived.TYPE])) == 2


def test_handler_handshake_signature_and_quarantine(harness: Harness) -> None:
    ok = harness.handler.handle("GET", {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                        "hub.challenge": "12345"}, {}, b"")
    assert (ok.status, ok.body) == (200, "12345")
    assert harness.handler.handle("GET", {"hub.mode": "subscribe", "hub.verify_token": "x",
                                          "hub.challenge": "1"}, {}, b"").status == 403
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [
        {"field": "messages", "value": {"metadata": {"phone_number_id": "1000000001"}, "messages": [
            {"from": WA_ID, "id": "wamid.in1", "timestamp": "1764000000", "type": "text", "text": {"body": "DUR"}},
            {"from": WA_ID, "id": "wamid.in2", "type": "text"}]}}]}]}).encode()
    bad = harness.handler.handle("POST", {}, {"X-Hub-Signature-256": sign_body(body, "wrong")}, body)
    assert bad.status == 401
    assert harness.store.messaging_contacts.get("t1", PHONE) is None  # nothing applied
    unsigned = harness.handler.handle("POST", {}, {}, body)
    assert unsigned.status == 401
    good = harness.handler.handle("POST", {}, {"X-Hub-Signature-256": sign_body(body, harness.wa.app_secret)}, body)
    assert good.status == 200 and json.loads(good.body)["opt_outs"] == 1
    [q] = harness.store.quarantine.find("t1")
    assert q.provider == "whatsapp_cloud" and "messages[1]" in q.error
    unknown = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [
        {"field": "messages", "value": {"metadata": {"phone_number_id": "999"}, "messages": []}}]}]}).encode()
    # authentic (signed with the app secret) but for a number not routed here: acknowledged, nothing applied
    answer = harness.handler.handle("POST", {}, {"X-Hub-Signature-256": sign_body(unknown, harness.wa.app_secret)},
                                    unknown)
    assert answer.status == 200 and json.loads(answer.body)["unrouted"] == 1
    assert harness.handler.handle("PUT", {}, {}, b"").status == 405


def test_tenants_are_isolated(harness: Harness, sandbox: object) -> None:
    from invekto_integrations.core.ratelimit import RateLimiterRegistry
    from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings
    from invekto_integrations.testing.sandbox import Sandbox

    assert isinstance(sandbox, Sandbox)
    client_b = WhatsAppCloudClient(WhatsAppCloudSettings("1000000002", "waba-b"), SecretStr("wa-token-b"),
                                   base_url=sandbox.inprocess_url("whatsapp_cloud"), transport=sandbox.transport(),
                                   clock=harness.clock, limiter_registry=RateLimiterRegistry())
    harness.pipeline._providers = {"t1": harness.pipeline._provider("t1"), "t2": client_b}  # type: ignore[dict-item]
    a = harness.pipeline.submit(cargo("same-key"))
    b = harness.pipeline.submit(cargo("same-key").model_copy(update={"tenant_id": "t2"}))
    assert a.status == b.status == "sent" and a.message_id != b.message_id
    assert set(harness.pipeline.counts("t2")) == {"cargo_status"}
    assert harness.pipeline.counts("t2")["cargo_status"].sent == 1
    assert harness.store.outbox.get("t2", a.message_id) is None


def test_whatsapp_marketing_opt_out_status_blocks_later_marketing(harness: Harness) -> None:
    """A failed status with 131050 (the user stopped marketing messages; unverified code) is an opt-out."""
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    harness.wa.read_receipts_off.add(WA_ID)
    first = harness.pipeline.send(marketing("m1"))
    harness.deliver()
    wamid = harness.store.outbox.get("t1", first.message_id).provider_message_id  # type: ignore[union-attr]
    harness.wa.push_status(wamid or "", "failed", error={"code": 131050, "title": "User has stopped marketing"})
    harness.deliver()
    contact = harness.store.messaging_contacts.get("t1", PHONE)
    assert contact is not None and contact.opt_out_keyword == "provider:131050"
    before = posts(harness)
    assert harness.pipeline.submit(marketing("m2")).reason == "opted_out"
    assert posts(harness) == before  # refused before any call
    assert harness.pipeline.send(cargo()).status == "sent"  # transactional still goes


def test_marketing_opt_out_error_in_the_send_answer(harness: Harness) -> None:
    import httpx

    from invekto_integrations.core.ratelimit import RateLimiterRegistry
    from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings

    def graph(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": "(#131050) User opted out of marketing messages",
                                                   "type": "OAuthException", "code": 131050,
                                                   "fbtrace_id": "Atrace"}})

    client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001"), SecretStr("t"),
                                 transport=httpx.MockTransport(graph), clock=harness.clock,
                                 limiter_registry=RateLimiterRegistry())
    harness.pipeline._providers = {"t1": client}  # type: ignore[dict-item]
    harness.consent.configure("t1", policy=ConsentPolicy(require_iys=False), brand_code="700001")
    result = harness.pipeline.submit(marketing("m1"))
    assert result.status == "failed" and "131050" in (result.reason or "")
    assert harness.pipeline.submit(marketing("m2")).reason == "opted_out"


def test_long_iys_outage_gives_up_instead_of_looping(harness: Harness) -> None:
    harness.iys.faults.configure(error_rate=1.0)
    result = harness.pipeline.submit(marketing())
    assert result.status == "scheduled" and result.reason == "consent_check_pending"
    for _ in range(10):
        harness.clock.advance(timedelta(hours=1).total_seconds())
        harness.pipeline.dispatch_due()
    row = harness.store.outbox.get("t1", result.message_id)
    assert row is not None and row.status == OutboxStatus.FAILED and (row.reason or "").startswith("gave up")
    assert row.attempts == harness.pipeline.settings("t1").max_attempts
    assert posts(harness) == 0


def test_outbox_row_is_written_and_claimed_before_the_provider_is_called(harness: Harness) -> None:
    seen: list[tuple[str, int]] = []
    real = harness.pipeline._provider("t1")

    class Watching:
        provider = real.provider

        def send_template(self, to: str, name: str, language: str, **kw: object) -> object:
            row = harness.store.outbox.get_by_key("t1", "cargo-1")
            assert row is not None
            seen.append((row.status.value, posts(harness)))
            return real.send_template(to, name, language, **kw)  # type: ignore[arg-type]

        def send_text(self, *a: object, **kw: object) -> object:
            raise AssertionError("not expected")

    harness.pipeline._providers = {"t1": Watching()}  # type: ignore[dict-item]
    assert harness.pipeline.submit(cargo()).status == "sent"
    assert seen == [("sending", 0)]  # stored and claimed, nothing posted yet
    assert harness.store.outbox.get_by_key("t1", "cargo-1").status != OutboxStatus.SENDING  # type: ignore[union-attr]


# Every code of the fact sheet's error table: the typed error and whether the pipeline tries again.
GRAPH_CODES = [
    (131047, "OutsideServiceWindow", False), (131026, "RecipientUnavailable", False),
    (130429, "RateLimited", True), (131056, "RateLimited", True), (131048, "RateLimited", True),
    (131049, "RecipientUnavailable", False), (131050, "RecipientUnavailable", False),
    (131051, "InvalidParameter", False), (131052, "InvalidParameter", False), (131053, "InvalidParameter", False),
    (131008, "InvalidParameter", False), (131009, "InvalidParameter", False), (132000, "InvalidParameter", False),
    (132001, "TemplateUnavailable", False), (132005, "InvalidParameter", False),
    (132007, "InvalidParameter", False), (132012, "InvalidParameter", False),
    (132015, "TemplateUnavailable", False), (132016, "TemplateUnavailable", False),
    (131031, "AccountRestricted", False), (131042, "AccountRestricted", False), (133010, "AccountRestricted", False),
    (131030, "RecipientUnavailable", False), (190, "AuthenticationError", False), (4, "RateLimited", True),
    (80007, "RateLimited", True), (368, "AccountRestricted", False), (131000, "ProviderUnavailable", True),
]


@pytest.mark.parametrize(("code", "kind", "retried"), GRAPH_CODES, ids=[str(c[0]) for c in GRAPH_CODES])
def test_graph_error_codes_typed_and_retried_only_where_safe(harness: Harness, code: int, kind: str,
                                                             retried: bool) -> None:
    import httpx

    from invekto_integrations.core.ratelimit import RateLimiterRegistry
    from invekto_integrations.providers.whatsapp_cloud import (
        WhatsAppCloudClient,
        WhatsAppCloudSettings,
        error_from_graph,
    )

    assert type(error_from_graph(http_status=400, code=code, message="m")).__name__ == kind
    calls: list[httpx.Request] = []

    def graph(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"error": {"message": f"(#{code}) error", "type": "OAuthException",
                                                   "code": code, "fbtrace_id": "Atrace"}})

    client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001"), SecretStr("t"),
                                 transport=httpx.MockTransport(graph), clock=harness.clock,
                                 limiter_registry=RateLimiterRegistry())
    harness.pipeline._providers = {"t1": client}  # type: ignore[dict-item]
    result = harness.pipeline.submit(cargo())
    assert len(calls) == 1  # the connector itself never repeats a refused send
    if retried:
        assert result.status == "queued"
        harness.clock.advance(timedelta(hours=1).total_seconds())
        harness.pipeline.dispatch_due()
        assert len(calls) == 2
    else:
        assert result.status == "failed" and str(code) in (result.reason or "")
        # The provider's own account, typed: not only the flattened reason.
        assert result.error is not None
        assert (result.error.kind, result.error.code, result.error.provider) == (kind, str(code), "whatsapp_cloud")
        assert result.error.request_id == "Atrace" and "error" in result.error.message
        harness.clock.advance(timedelta(hours=1).total_seconds())
        assert harness.pipeline.dispatch_due().attempted == 0 and len(calls) == 1
