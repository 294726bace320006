"""WhatsApp Cloud connector against its sandbox fake (in-process transport)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import (
    AuthenticationError,
    InvalidParameter,
    OutsideServiceWindow,
    ProviderUnavailable,
    RateLimited,
    RecipientUnavailable,
    TemplateUnavailable,
)
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.base import ProviderKind
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.providers.whatsapp_cloud import (
    AsyncWhatsAppCloudClient,
    GraphErrorKind,
    WhatsAppCloudClient,
    WhatsAppCloudSettings,
    error_from_graph,
    to_wa_id,
)
from invekto_integrations.testing.sandbox import Sandbox, WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import StatusTiming, WhatsAppCloudFake, default_templates

from .conftest import WA_ID


def test_template_send_uses_documented_path_auth_and_body(wa_client: WhatsAppCloudClient,
                                                          wa_fake: WhatsAppCloudFake) -> None:
    sent = wa_client.send_template("0532 123 45 67", "order_shipped", "tr", body_params=["Ayşe", "#10234"],
                                   button_params=["10234"])
    assert sent.provider_message_id.startswith("wamid.")
    assert sent.recipient_id == WA_ID
    assert sent.message_status == "accepted"
    [req] = wa_fake.requests_to("/v25.0/1000000001/messages", "POST")
    assert req.headers["authorization"] == "Bearer wa-token-a"
    body = req.json()
    assert body["messaging_product"] == "whatsapp" and body["to"] == WA_ID and body["type"] == "template"
    assert body["template"]["language"] == {"code": "tr"}
    assert body["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "Ayşe"}, {"type": "text", "text": "#10234"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "10234"}]},
    ]
    wa_fake.advance(120)
    assert wa_fake.messages[sent.provider_message_id].statuses == ["sent", "delivered", "read"]


def test_image_header_and_quick_reply_and_named_params_shapes(wa_client: WhatsAppCloudClient) -> None:
    call = wa_client.endpoints.send_template(
        "+905321234567", "x", "tr", header_params=["https://cdn.example/p.jpg"], header_type="image",
        body_params=["Ayşe"], body_param_names=["first_name"], button_params=["yes"], button_sub_type="quick_reply")
    comps = call.json["template"]["components"]
    assert comps[0] == {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.example/p.jpg"}}]}
    assert comps[1]["parameters"] == [{"type": "text", "text": "Ayşe", "parameter_name": "first_name"}]
    assert comps[2] == {"type": "button", "sub_type": "quick_reply", "index": "0",
                        "parameters": [{"type": "payload", "payload": "yes"}]}


@pytest.mark.parametrize(("name", "params", "error", "code"), [
    ("no_such_template", ["a"], TemplateUnavailable, "132001"),
    ("kis_kampanyasi", [], TemplateUnavailable, "132015"),
    ("eski_kampanya", [], TemplateUnavailable, "132016"),
    ("order_shipped", ["only-one"], InvalidParameter, "132000"),
])
def test_template_errors_are_typed(wa_client: WhatsAppCloudClient, wa_fake: WhatsAppCloudFake, name: str,
                                   params: list[str], error: type[Exception], code: str) -> None:
    with pytest.raises(error) as info:
        wa_client.send_template(WA_ID, name, "tr", body_params=params)
    assert getattr(info.value, "code", None) == code
    assert getattr(info.value, "request_id", "").startswith("Asandbox")  # fbtrace_id
    assert len(wa_fake.requests_to("/messages", "POST")) == 1  # a refused POST is never repeated


def test_free_text_outside_window_fails_before_any_call(wa_client: WhatsAppCloudClient, wa_fake: WhatsAppCloudFake,
                                                       clock: FrozenClock) -> None:
    with pytest.raises(OutsideServiceWindow):
        wa_client.send_text(WA_ID, "Merhaba", last_inbound_at=None)
    with pytest.raises(OutsideServiceWindow):
        wa_client.send_text(WA_ID, "Merhaba", last_inbound_at=clock.now() - timedelta(hours=24, seconds=1))
    assert wa_fake.requests == []
    sent = wa_client.send_text(WA_ID, "Merhaba", last_inbound_at=clock.now() - timedelta(hours=23))
    assert wa_fake.messages[sent.provider_message_id].type == "text"


def test_fake_enforces_window_itself_through_a_failed_status(wa_client: WhatsAppCloudClient,
                                                            wa_fake: WhatsAppCloudFake, clock: FrozenClock) -> None:
    # The client believes the window is open, the platform knows better: 131047 arrives as a status.
    sent = wa_client.send_text(WA_ID, "Merhaba", last_inbound_at=clock.now())
    wa_fake.advance(1)
    assert wa_fake.messages[sent.provider_message_id].statuses == ["failed"]
    wa_fake.inject_inbound(WA_ID, "Selam")
    sent = wa_client.send_text(WA_ID, "Size nasıl yardımcı olabilirim?", last_inbound_at=clock.now())
    wa_fake.advance(120)
    assert wa_fake.messages[sent.provider_message_id].statuses == ["sent", "delivered", "read"]


def test_fake_spaces_statuses_on_the_sandbox_clock(wa_client: WhatsAppCloudClient, wa_fake: WhatsAppCloudFake,
                                                  clock: FrozenClock) -> None:
    wa_fake.webhook_url = "http://receiver.invalid/hook"
    wa_fake.webhooks = WebhookDispatcher(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    wa_fake.status_timing = StatusTiming(sent=timedelta(seconds=2), delivered=timedelta(seconds=10),
                                         read=timedelta(minutes=30))
    start = clock.now()
    sent = wa_client.send_template(WA_ID, "order_shipped", "tr", body_params=["Ayşe", "#1"])
    msg = wa_fake.messages[sent.provider_message_id]
    assert msg.statuses == [] and len(wa_fake.scheduled_statuses) == 3
    seen: list[list[str]] = []
    for seconds in (1, 1, 8, 60 * 29, 60):
        clock.advance(seconds)
        wa_fake.tick()
        seen.append(list(msg.statuses))
    assert seen == [[], ["sent"], ["sent", "delivered"], ["sent", "delivered"], ["sent", "delivered", "read"]]
    # each webhook carries the moment the platform reached that status, not the moment we ticked
    stamps = [int(json.loads(d.body)["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"])
              for d in wa_fake.webhooks.drain()]
    assert stamps == [int((start + timedelta(seconds=s)).timestamp()) for s in (2, 10, 1800)]
    # any request to the fake also ticks: a later send emits what became due meanwhile
    second = wa_client.send_template(WA_ID, "order_shipped", "tr", body_params=["Ayşe", "#2"])
    clock.advance(5)
    wa_client.send_template(WA_ID, "order_shipped", "tr", body_params=["Ayşe", "#3"])
    assert wa_fake.messages[second.provider_message_id].statuses == ["sent"]
    wa_fake.webhooks.close()
    # immediate: the whole lifecycle during the send, as a test about something else wants
    wa_fake.status_timing = StatusTiming.immediate()
    third = wa_client.send_template(WA_ID, "order_shipped", "tr", body_params=["Ayşe", "#4"])
    assert wa_fake.messages[third.provider_message_id].statuses == ["sent", "delivered", "read"]
    wa_fake.webhooks.close()
    with pytest.raises(ValueError):
        StatusTiming(sent=timedelta(seconds=5), delivered=timedelta(seconds=1))


def test_bad_token_is_authentication_error(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> None:
    client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001", "waba-a"), SecretStr("nope"),
                                 base_url=sandbox.inprocess_url("whatsapp_cloud"), transport=sandbox.transport(),
                                 clock=clock, retry=retry, limiter_registry=RateLimiterRegistry())
    with client, pytest.raises(AuthenticationError) as info:
        client.send_template(WA_ID, "order_shipped", "tr", body_params=["a", "b"])
    assert info.value.code == "190"
    assert "nope" not in repr(client.endpoints) and "nope" not in str(info.value)


def test_other_accounts_number_is_refused(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> None:
    client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000002", "waba-b"), SecretStr("wa-token-a"),
                                 base_url=sandbox.inprocess_url("whatsapp_cloud"), transport=sandbox.transport(),
                                 clock=clock, retry=retry, limiter_registry=RateLimiterRegistry())
    with client, pytest.raises(InvalidParameter) as info:
        client.send_template(WA_ID, "order_shipped", "tr", body_params=["a", "b"])
    assert info.value.code == "100"


def test_rate_limit_on_a_send_is_not_retried(wa_client: WhatsAppCloudClient, wa_fake: WhatsAppCloudFake) -> None:
    wa_fake.faults.configure(script=["rate_limit"])
    with pytest.raises(RateLimited) as info:
        wa_client.send_template(WA_ID, "order_shipped", "tr", body_params=["a", "b"])
    assert info.value.code == "130429" and info.value.retry_after == 1.0
    assert len(wa_fake.requests) == 1


def test_connection_refused_send_is_retried_because_nothing_was_sent(clock: FrozenClock, retry: RetryPolicy) -> None:
    import httpx

    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"messaging_product": "whatsapp",
                                         "contacts": [{"input": WA_ID, "wa_id": WA_ID}],
                                         "messages": [{"id": "wamid.X", "message_status": "accepted"}]})

    client = WhatsAppCloudClient(WhatsAppCloudSettings("1000000001"), SecretStr("t"),
                                 transport=httpx.MockTransport(handler), clock=clock, retry=retry,
                                 limiter_registry=RateLimiterRegistry())
    assert client.send_template(WA_ID, "order_shipped", "tr").provider_message_id == "wamid.X"
    assert len(calls) == 2


def test_server_error_on_a_send_is_not_retried(wa_client: WhatsAppCloudClient, wa_fake: WhatsAppCloudFake) -> None:
    wa_fake.faults.configure(script=["error"])
    with pytest.raises(ProviderUnavailable):
        wa_client.send_template(WA_ID, "order_shipped", "tr", body_params=["a", "b"])
    assert len(wa_fake.requests) == 1


def test_templates_page_with_cursors(wa_client: WhatsAppCloudClient, wa_fake: WhatsAppCloudFake) -> None:
    page = wa_client.list_templates(limit=3)
    assert len(page.items) == 3 and page.has_next_page
    every = list(wa_client.iter_templates(limit=3))
    assert len(every) == len(default_templates())
    assert {t.category for t in every} == {"UTILITY", "MARKETING"}
    paused = [t for t in every if t.status == "PAUSED"]
    assert [t.name for t in paused] == ["kis_kampanyasi"]
    afters = [r.query.get("after") for r in wa_fake.requests_to("/message_templates")]
    assert afters[1] is None and all(afters[2:])  # the second listing starts fresh, then follows cursors
    one = wa_client.get_template(every[0].id or "")
    assert one.name == every[0].name and one.body_placeholder_count() == 2


def test_mark_read(wa_client: WhatsAppCloudClient, wa_fake: WhatsAppCloudFake) -> None:
    assert wa_client.mark_read("wamid.ABC") is True
    assert wa_fake.requests[-1].json() == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ABC"}


async def test_async_client_same_methods(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy) -> None:
    async with AsyncWhatsAppCloudClient(WhatsAppCloudSettings("1000000001", "waba-a"), SecretStr("wa-token-a"),
                                        base_url=sandbox.inprocess_url("whatsapp_cloud"),
                                        transport=sandbox.async_transport(), clock=clock, retry=retry,
                                        limiter_registry=RateLimiterRegistry()) as client:
        sent = await client.send_template(WA_ID, "order_shipped", "tr", body_params=["a", "b"])
        assert sent.provider_message_id.startswith("wamid.")
        names = [t.name async for t in client.iter_templates(limit=2)]
        assert len(names) == len(default_templates())
        with pytest.raises(OutsideServiceWindow):
            await client.send_text(WA_ID, "x", last_inbound_at=None)


def test_error_code_table() -> None:
    assert isinstance(error_from_graph(http_status=400, code=131047, message="m"), OutsideServiceWindow)
    assert isinstance(error_from_graph(http_status=400, code=131026, message="m"), RecipientUnavailable)
    for code in (130429, 131056, 80007):
        assert isinstance(error_from_graph(http_status=400, code=code, message="m"), RateLimited)
    assert GraphErrorKind.of(132015) is GraphErrorKind.TEMPLATE
    assert isinstance(error_from_graph(http_status=500, code=None, message="m"), ProviderUnavailable)
    assert to_wa_id("+90 (532) 123-45-67") == WA_ID


def test_registered_as_messaging_provider() -> None:
    info = ProviderRegistry.load().get("whatsapp_cloud")
    assert info.kind == ProviderKind.MESSAGING
    assert info.fake is not None and isinstance(info.fake(), WhatsAppCloudFake)


@pytest.mark.parametrize("kw", [{"body_params": ["Ayşe", ""]}, {"body_params": ["Ayşe", "  "]},
                                {"body_params": ["Ayşe", "#1"], "button_params": [""]}])
def test_empty_template_parameter_is_refused_before_any_call(
    wa_client: WhatsAppCloudClient, wa_fake: WhatsAppCloudFake, kw: dict[str, list[str]],
) -> None:
    with pytest.raises(InvalidParameter) as info:
        wa_client.send_template(WA_ID, "order_shipped", "tr", **kw)  # type: ignore[arg-type]
    assert info.value.provider == "whatsapp_cloud" and "empty" in info.value.message
    assert wa_fake.requests == []
