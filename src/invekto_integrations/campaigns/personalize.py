"""Personalization: template variables from the customer's history, and AI-written lines under guardrails.

A variant's ``body_params`` name variables: ``name``, ``last_product``, ``last_order_date``,
``last_order_total``, ``cargo_status``, ``next_appointment``, ``next_appointment_service``,
``last_service``, ``price_range``, ``ai_line`` (a line written by the `Personalizer`), or a literal
in double quotes. `CustomerFacts` gathers the facts from the repositories (never a whole table:
one customer at a time, by indexed keys).

The `Personalizer` writes one short line from those facts and the tenant's knowledge snippets. The
default, `TemplateLinePersonalizer`, needs no model; `ChatCompletionsPersonalizer` calls any
OpenAI-compatible ``POST {base_url}/chat/completions``. Whatever a model writes passes `Guardrails`
before use: a length limit, banned claims, and no price or date that is not in the customer's
data; a line that fails is replaced by the deterministic one (the reason is recorded). Outside
WhatsApp's 24-hour window only approved templates go out, so AI text only ever fills a template
parameter there; a variant may send free text (``free_text_in_window``) only to a customer who
wrote within 24 hours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import IntegrationError, InvalidArgument, PayloadError
from invekto_integrations.core.http import Call, ProviderConfig, SyncRunner
from invekto_integrations.core.money import format_try
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.messaging.base import TemplateRef
from invekto_integrations.storage.protocols import (
    AppointmentRepository,
    MessagingContactRepository,
    ServicePricingRepository,
    ShipmentRepository,
)
from invekto_integrations.storage.records import AppointmentStatus

from .audience import ContactProfile
from .models import Variant
from .schedule import zone

__all__ = [
    "ChatCompletionsPersonalizer",
    "CustomerContext",
    "CustomerFacts",
    "Guardrails",
    "PersonalizationRequest",
    "Personalizer",
    "RenderedMessage",
    "TemplateLinePersonalizer",
    "render",
]

VARIABLES = frozenset({"name", "last_product", "last_order_date", "last_order_total", "cargo_status",
                       "next_appointment", "next_appointment_service", "last_service", "price_range", "ai_line"})
_CARGO_TR = {"pending": "hazırlanıyor", "picked_up": "kargoya verildi", "in_transit": "yolda",
             "out_for_delivery": "dağıtımda", "delivered": "teslim edildi", "returned": "iade edildi",
             "undelivered": "teslim edilemedi", "cancelled": "iptal edildi"}
_MONTHS_TR = ("Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim",
              "Kasım", "Aralık")


class CustomerContext(BaseModel):
    """The facts a message may use about one customer (and nothing else)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    phone: str
    timezone: str = "Europe/Istanbul"
    name: str | None = None
    last_product: str | None = None
    last_order_at: datetime | None = None
    last_order_total: Decimal | None = None
    cargo_status: str | None = None
    next_appointment_at: datetime | None = None
    next_appointment_service: str | None = None
    last_service: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    last_inbound_at: datetime | None = None
    knowledge: list[str] = Field(default_factory=list)

    def in_service_window(self, now: datetime) -> bool:
        return self.last_inbound_at is not None and now - self.last_inbound_at < timedelta(hours=24)

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(zone(self.timezone)).date()

    def variables(self) -> dict[str, str]:
        """Every variable that has a value, formatted the Turkish way."""
        out: dict[str, str] = {}
        if self.name:
            out["name"] = self.name.split()[0] if self.name.strip() else self.name
        if self.last_product:
            out["last_product"] = self.last_product
        if self.last_order_at:
            out["last_order_date"] = self._local_date(self.last_order_at).strftime("%d.%m.%Y")
        if self.last_order_total is not None:
            out["last_order_total"] = f"{format_try(self.last_order_total)} TL"
        if self.cargo_status:
            out["cargo_status"] = _CARGO_TR.get(self.cargo_status, self.cargo_status)
        if self.next_appointment_at:
            local = self.next_appointment_at.astimezone(zone(self.timezone))
            out["next_appointment"] = f"{local.day} {_MONTHS_TR[local.month - 1]} {local:%H:%M}"
        if self.next_appointment_service:
            out["next_appointment_service"] = self.next_appointment_service
        if self.last_service:
            out["last_service"] = self.last_service
        if self.price_min is not None and self.price_max is not None:
            lo, hi = format_try(self.price_min), format_try(self.price_max)
            out["price_range"] = f"{lo} TL" if lo == hi else f"{lo}–{hi} TL"
        return out

    def allowed_numbers(self) -> set[str]:
        """Digit strings a message may contain: the customer's own prices and dates."""
        allowed: set[str] = set()
        for amount in (self.last_order_total, self.price_min, self.price_max):
            if amount is not None:
                allowed.add(_digits(format_try(amount)))
                plain = f"{amount:f}"
                allowed.add(_digits(plain.rstrip("0").rstrip(".") if "." in plain else plain))
                allowed.add(_digits(format_try(amount, decimals=True)))
        for at in (self.last_order_at, self.next_appointment_at):
            if at is not None:
                local = at.astimezone(zone(self.timezone))
                allowed.update({_digits(local.strftime("%d.%m.%Y")), _digits(local.strftime("%d.%m")),
                                str(local.day), local.strftime("%H%M"), str(local.year)})
        return allowed


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


class CustomerFacts(ConciseRepr):
    """Builds a `CustomerContext` from the profile and the other areas' repositories (each optional)."""

    def __init__(self, *, appointments: AppointmentRepository | None = None,
                 pricing: ServicePricingRepository | None = None, shipments: ShipmentRepository | None = None,
                 contacts: MessagingContactRepository | None = None, knowledge: dict[str, list[str]] | None = None,
                 clock: Clock | None = None) -> None:
        self.appointments = appointments
        self.pricing = pricing
        self.shipments = shipments
        self.contacts = contacts
        self.knowledge = knowledge or {}
        self.clock = clock or SystemClock()

    def context(self, tenant_id: str, phone: str, profile: ContactProfile | None, *,
                timezone: str = "Europe/Istanbul") -> CustomerContext:
        now = self.clock.now()
        data: dict[str, Any] = {"tenant_id": tenant_id, "phone": phone, "timezone": timezone,
                                "knowledge": self.knowledge.get(tenant_id, [])}
        if profile is not None:
            data.update(name=profile.name, last_product=profile.last_product, last_order_at=profile.last_order_at,
                        last_service=profile.last_service)
        if self.appointments is not None:
            upcoming = self.appointments.find(tenant_id, start=now, patient_phone=phone,
                                              statuses=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED])
            upcoming = [a for a in upcoming if a.starts_at >= now]
            if upcoming:
                data.update(next_appointment_at=upcoming[0].starts_at,
                            next_appointment_service=upcoming[0].service_name)
                data["name"] = data.get("name") or upcoming[0].patient_name
        service = data.get("next_appointment_service") or data.get("last_service")
        if self.pricing is not None and service:
            price = self.pricing.get_active(tenant_id, service)
            if price is not None:
                data.update(price_min=price.price_min, price_max=price.price_max)
        if self.shipments is not None:
            mine = [s for s in self.shipments.find(tenant_id, active=None) if s.customer_phone == phone]
            if mine:
                data["cargo_status"] = max(mine, key=lambda s: s.updated_at).status
        if self.contacts is not None:
            contact = self.contacts.get(tenant_id, phone)
            if contact is not None:
                data["last_inbound_at"] = contact.last_inbound_at
        return CustomerContext.model_validate(data)


class PersonalizationRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_name: str
    variant: str
    purpose: str = "ai_line"
    context: CustomerContext
    instructions: str | None = None
    max_length: int = 160


class Personalizer(Protocol):
    def write(self, request: PersonalizationRequest) -> str:
        """One short line for this customer, in Turkish, using only the facts in ``request.context``."""
        ...


class TemplateLinePersonalizer(ConciseRepr):
    """The deterministic default: a line chosen from the facts the customer has."""

    def write(self, request: PersonalizationRequest) -> str:
        v = request.context.variables()
        if "next_appointment" in v:
            service = v.get("next_appointment_service", "randevunuz")
            return f"{service} randevunuz {v['next_appointment']} tarihinde, sizi bekliyoruz."
        if "last_product" in v:
            return f"{v['last_product']} siparişinizden memnun kaldınız mı? Yeni ürünlerimize göz atın."
        if "last_service" in v:
            return f"{v['last_service']} sonrası kontrol zamanınız geldi, randevu için yazabilirsiniz."
        return "Size özel fırsatlarımızı kaçırmayın."


class Guardrails(BaseModel):
    """Checks for AI-written text; `violations` lists what is wrong (empty: fine)."""

    model_config = ConfigDict(frozen=True)

    max_length: int = 160
    banned: tuple[str, ...] = (
        r"garanti", r"%\s*100", r"\b100\s*%", r"kesin\s+sonu[cç]", r"a[gğ]r[ıi]s[ıi]z", r"mucize", r"en\s+ucuz",
        r"kal[ıi]c[ıi]\s+sonu[cç]", r"yan\s+etkisi?\s+yok", r"[üu]cretsiz", r"bedava",
    )

    def violations(self, text: str, context: CustomerContext) -> list[str]:
        found: list[str] = []
        if not text.strip():
            found.append("empty")
        if len(text) > self.max_length:
            found.append(f"length {len(text)} > {self.max_length}")
        folded = text.casefold()
        for pattern in self.banned:
            if re.search(pattern, folded):
                found.append(f"banned claim /{pattern}/")
        if re.search(r"https?://|www\.", folded):
            found.append("link")
        allowed = context.allowed_numbers()
        for token in re.findall(r"\d[\d.,:/]*", text):
            digits = _digits(token)
            if digits and digits not in allowed:
                found.append(f"number not in the customer's data: {token}")
        return found


class _Bearer(httpx.Auth):
    def __init__(self, key: SecretStr) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._key.get_secret_value()}"
        yield request


def _parse_completion(response: httpx.Response) -> str:
    body = response.json()
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise PayloadError("chat completion without choices[0].message.content", provider="openai_chat",
                           operation="chat.completions", field="choices[0].message.content") from exc
    if not isinstance(content, str):
        raise PayloadError("choices[0].message.content is not text", provider="openai_chat",
                           operation="chat.completions", field="choices[0].message.content")
    return content.strip()


_SYSTEM = (
    "Bir WhatsApp pazarlama mesajı için TEK bir kısa cümle yaz (en fazla {max} karakter). "
    "Yalnızca verilen müşteri bilgilerini kullan; verilerde olmayan fiyat, tarih, indirim oranı veya "
    "vaat yazma. Sağlıkla ilgili iddia, garanti veya 'ücretsiz' ifadesi kullanma. Bağlantı ekleme."
)


class ChatCompletionsPersonalizer(ConciseRepr):
    """A `Personalizer` over an OpenAI-compatible chat-completions endpoint (httpx, our runner).

    ``base_url`` ends before ``/chat/completions`` (``https://api.openai.com/v1`` or a local
    server's); ``api_key`` is a `SecretStr`, sent as a bearer token, never logged.
    """

    def __init__(self, *, model: str, base_url: str, api_key: SecretStr, temperature: float = 0.3,
                 timeout: float = 20.0, retry: RetryPolicy | None = None, clock: Clock | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not model:
            raise InvalidArgument("model is required", provider="openai_chat", field="model")
        config = ProviderConfig(provider="openai_chat", base_url=base_url.rstrip("/"), auth=_Bearer(api_key),
                                timeout=httpx.Timeout(timeout), retry=retry or RetryPolicy(max_attempts=2),
                                clock=clock or SystemClock())
        self.model = model
        self.temperature = temperature
        self._runner = SyncRunner(config, transport=transport)

    def write(self, request: PersonalizationRequest) -> str:
        facts = {k: v for k, v in request.context.variables().items() if k != "ai_line"}
        user = json.dumps({"kampanya": request.campaign_name, "müşteri": facts,
                           "bilgi": request.context.knowledge, "talimat": request.instructions},
                          ensure_ascii=False)
        call: Call[str] = Call(
            operation="chat.completions", method="POST", path="/chat/completions", parse=_parse_completion,
            json={"model": self.model, "temperature": self.temperature, "max_tokens": 120,
                  "messages": [{"role": "system", "content": _SYSTEM.format(max=request.max_length)},
                               {"role": "user", "content": user}]},
            idempotent=True)  # no side effects: a retried completion only costs tokens
        return self._runner.run(call)

    def close(self) -> None:
        self._runner.close()


class RenderedMessage(BaseModel):
    """What one recipient gets: a template (parameters filled) or, inside the window, free text."""

    model_config = ConfigDict(frozen=True)

    template: TemplateRef | None = None
    text: str | None = None
    ai_used: bool = False
    ai_rejected: list[str] = Field(default_factory=list)  # guardrail findings or the personalizer's error


def _clean(value: str) -> str:
    # Template parameters may not carry newlines, tabs or long runs of spaces.
    return " ".join(value.split())


def render(variant: Variant, context: CustomerContext, *, campaign_name: str, now: datetime,
           personalizer: Personalizer | None = None, guardrails: Guardrails | None = None,
           fallback: Personalizer | None = None) -> RenderedMessage:
    """Fill ``variant`` for one customer. AI text is used only when it passes the guardrails."""
    guard = guardrails or Guardrails()
    default = fallback or TemplateLinePersonalizer()
    values = context.variables()
    needs_ai = "ai_line" in variant.body_params or (
        variant.free_text_in_window is not None and "{ai_line}" in variant.free_text_in_window)
    rejected: list[str] = []
    ai_used = False
    if needs_ai:
        request = PersonalizationRequest(campaign_name=campaign_name, variant=variant.name, context=context,
                                         max_length=guard.max_length)
        line: str | None = None
        if personalizer is not None:
            try:
                candidate = _clean(personalizer.write(request))
            except IntegrationError as exc:
                rejected.append(f"personalizer failed: {type(exc).__name__}")
            else:
                problems = guard.violations(candidate, context)
                if problems:
                    rejected.extend(problems)
                else:
                    line, ai_used = candidate, True
        values["ai_line"] = line if line is not None else _clean(default.write(request))
    params = []
    for p in variant.body_params:
        if len(p) >= 2 and p.startswith('"') and p.endswith('"'):
            params.append(p[1:-1])
        elif p in VARIABLES:
            params.append(_clean(values.get(p) or _FALLBACK.get(p, "-")))
        else:
            raise InvalidArgument(f"unknown template variable {p!r}", field="body_params", record=variant.name)
    if variant.free_text_in_window is not None and context.in_service_window(now):
        try:
            text = variant.free_text_in_window.format_map(_Defaulting(values))
        except (ValueError, IndexError) as exc:
            raise InvalidArgument(f"bad free_text_in_window: {exc}", field="free_text_in_window",
                                  record=variant.name) from exc
        return RenderedMessage(text=text, ai_used=ai_used, ai_rejected=rejected)
    template = TemplateRef(name=variant.template_name, language=variant.language, body_params=params)
    return RenderedMessage(template=template, ai_used=ai_used, ai_rejected=rejected)


_FALLBACK = {"name": "Değerli müşterimiz", "last_product": "ürününüz", "cargo_status": "güncelleniyor",
             "price_range": "güncel fiyatlarımız"}


class _Defaulting(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return _FALLBACK.get(key, "")


def variable_names(variants: Sequence[Variant]) -> set[str]:
    return {p for v in variants for p in v.body_params if not p.startswith('"')}
