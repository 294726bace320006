"""Template variables from history, guardrails, and the chat-completions adapter against the sandbox fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from invekto_integrations.campaigns import (
    ChatCompletionsPersonalizer,
    CustomerContext,
    Guardrails,
    PersonalizationRequest,
    TemplateLinePersonalizer,
    Variant,
    render,
)
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import AuthenticationError, InvalidArgument
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.openai_chat import OpenAIChatFake

from .conftest import NOW

CTX = CustomerContext(tenant_id="t1", phone="+905320000001", name="Ayşe Yılmaz", last_product="Kışlık Mont",
                      last_order_at=NOW - timedelta(days=10), last_order_total=Decimal("1250.50"),
                      next_appointment_at=NOW + timedelta(days=2, hours=3), next_appointment_service="İmplant",
                      price_min=Decimal(15000), price_max=Decimal(30000), cargo_status="out_for_delivery")


def test_variables_are_turkish_and_from_the_data() -> None:
    v = CTX.variables()
    assert v["name"] == "Ayşe"
    assert v["last_order_date"] == "14.11.2026"
    assert v["last_order_total"] == "1.250 TL"
    assert v["price_range"] == "15.000–30.000 TL"
    assert v["cargo_status"] == "dağıtımda"
    assert v["next_appointment"] == "26 Kasım 15:00"


@pytest.mark.parametrize(("text", "problem"), [
    ("Ayşe, implant için %50 indirim!", "number not in the customer's data: 50"),
    ("Sonuç garantili, hemen gelin", "banned claim"),
    ("Ağrısız tedavi sizi bekliyor", "banned claim"),
    ("Fiyat 9.999 TL olarak güncellendi", "number not in the customer's data"),
    ("Randevunuz 3 Aralık", "number not in the customer's data: 3"),
    ("Detaylar: https://ornek.com", "link"),
    ("x" * 200, "length 200 > 160"),
])
def test_guardrails_refuse(text: str, problem: str) -> None:
    found = Guardrails().violations(text, CTX)
    assert any(problem in f for f in found), found


@pytest.mark.parametrize("text", [
    "Ayşe, İmplant randevunuz 26 Kasım 15:00, fiyatlar 15.000–30.000 TL arasında.",
    "Kışlık Mont siparişiniz 14.11.2026 tarihinde 1.250,50 TL idi.",
    "Ayşe, yeni sezon ürünlerimize göz atın!",
])
def test_guardrails_allow_facts_from_the_data(text: str) -> None:
    assert Guardrails().violations(text, CTX) == []


class _Fixed:
    def __init__(self, text: str) -> None:
        self.text = text

    def write(self, request: PersonalizationRequest) -> str:
        return self.text


def test_render_uses_ai_only_when_it_passes() -> None:
    variant = Variant(name="A", template_name="kis_a", body_params=["name", "ai_line", '"KIS10"'])
    ok = render(variant, CTX, campaign_name="Kış", now=NOW, personalizer=_Fixed("Kışlık Mont\nile uyumlu bere!"))
    assert ok.template is not None and ok.template.body_params == ["Ayşe", "Kışlık Mont ile uyumlu bere!", "KIS10"]
    assert ok.ai_used and ok.text is None
    bad = render(variant, CTX, campaign_name="Kış", now=NOW, personalizer=_Fixed("Bugüne özel %70 indirim"))
    assert not bad.ai_used and bad.ai_rejected
    assert bad.template is not None and bad.template.body_params[1] == TemplateLinePersonalizer().write(
        PersonalizationRequest(campaign_name="Kış", variant="A", context=CTX))
    with pytest.raises(InvalidArgument):
        render(Variant(name="B", template_name="b", body_params=["favourite_colour"]), CTX, campaign_name="x", now=NOW)


def test_free_text_only_inside_the_24_hour_window() -> None:
    variant = Variant(name="A", template_name="kis_a", body_params=["name"], free_text_in_window="{name}, {ai_line}")
    outside = render(variant, CTX, campaign_name="Kış", now=NOW, personalizer=_Fixed("Yeni ürünler geldi."))
    assert outside.template is not None and outside.text is None
    inside_ctx = CTX.model_copy(update={"last_inbound_at": NOW - timedelta(hours=3)})
    inside = render(variant, inside_ctx, campaign_name="Kış", now=NOW, personalizer=_Fixed("Yeni ürünler geldi."))
    assert inside.template is None and inside.text == "Ayşe, Yeni ürünler geldi."


@pytest.fixture
def chat() -> Iterator[tuple[OpenAIChatFake, Sandbox]]:
    clock = FrozenClock(NOW)
    fake = OpenAIChatFake(clock=clock)
    yield fake, Sandbox([fake], clock=clock)


def _client(sb: Sandbox, key: str = "sk-test-a", model: str = "gpt-4o-mini") -> ChatCompletionsPersonalizer:
    return ChatCompletionsPersonalizer(model=model, base_url=sb.inprocess_url("openai_chat") + "/v1",
                                       api_key=SecretStr(key), transport=sb.transport(),
                                       retry=RetryPolicy(max_attempts=1))


def test_chat_completions_adapter_against_the_fake(chat: tuple[OpenAIChatFake, Sandbox]) -> None:
    fake, sb = chat
    p = _client(sb)
    variant = Variant(name="A", template_name="kis_a", body_params=["ai_line"])
    out = render(variant, CTX, campaign_name="Kış", now=NOW, personalizer=p)
    assert out.ai_used
    assert out.template is not None and out.template.body_params == [
        "Ayşe, Kışlık Mont ile uyumlu yeni ürünlerimiz sizi bekliyor!"]
    sent = fake.requests[-1]
    assert sent.path.endswith("/v1/chat/completions") and sent.json()["model"] == "gpt-4o-mini"
    assert "sk-test-a" not in str(sent.to_dict())  # the key is redacted in recordings
    fake.script("Sadece bugün 99 TL!")  # a made-up price: refused, the deterministic line goes out
    out = render(variant, CTX, campaign_name="Kış", now=NOW, personalizer=p)
    assert not out.ai_used and any("99" in r for r in out.ai_rejected)
    p.close()


def test_chat_completions_errors_are_typed(chat: tuple[OpenAIChatFake, Sandbox]) -> None:
    _, sb = chat
    bad = _client(sb, key="sk-wrong")
    req = PersonalizationRequest(campaign_name="Kış", variant="A", context=CTX)
    with pytest.raises(AuthenticationError) as err:
        bad.write(req)
    assert "sk-wrong" not in str(err.value) and "sk-wrong" not in repr(err.value)
    # a failing model never blocks the campaign: render falls back to the deterministic line
    out = render(Variant(name="A", template_name="a", body_params=["ai_line"]), CTX, campaign_name="Kış", now=NOW,
                 personalizer=bad)
    assert not out.ai_used and out.ai_rejected == ["personalizer failed: AuthenticationError"]
    with pytest.raises(Exception) as err2:
        _client(sb, model="no-such-model").write(req)
    assert "model" in str(err2.value)

