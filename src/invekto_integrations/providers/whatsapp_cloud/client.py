"""WhatsApp Cloud API endpoints, described once, and the thin sync and async clients that run them.

    POST /{version}/{phone-number-id}/messages       send template / text / mark read
    GET  /{version}/{waba-id}/message_templates      list templates (Graph cursor paging)
    GET  /{version}/{template-id}                    read one template

Docs: https://developers.facebook.com/docs/whatsapp/cloud-api
Sends are POSTs without an idempotency key: the runner retries them only when nothing reached the
server (a refused connection); the send pipeline's idempotency key prevents double sends above.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import ConfigurationError, InvalidParameter, OutsideServiceWindow
from invekto_integrations.core.http import AsyncRunner, Call, ProviderConfig, SyncRunner
from invekto_integrations.core.paging import Page, aiter_items, iter_items
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.core.retry import RetryPolicy, parse_retry_after
from invekto_integrations.models.messaging import MessageTemplate, SentMessage
from invekto_integrations.providers._common import AsyncConnector, SyncConnector

from .mapping import PROVIDER, error_from_graph
from .wire import WireErrorBody, WireSendResponse, WireTemplate, WireTemplateList

__all__ = [
    "DEFAULT_API_VERSION",
    "GRAPH_BASE_URL",
    "SERVICE_WINDOW",
    "AsyncWhatsAppCloudClient",
    "WhatsAppCloudClient",
    "WhatsAppCloudEndpoints",
    "WhatsAppCloudSettings",
    "check_service_window",
    "to_wa_id",
]

GRAPH_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v25.0"
SERVICE_WINDOW = timedelta(hours=24)
# 80 messages/second per phone number by default (fact sheet §7).
DEFAULT_RATE_LIMIT = RateLimit(80, 1.0)
_ALL_ERRORS = frozenset(range(400, 600))


def to_wa_id(phone: str) -> str:
    """``+90 532 123 45 67`` → ``905321234567`` (digits with country code, no plus)."""
    try:
        return normalize_phone(phone).removeprefix("+")
    except ValueError as exc:
        raise InvalidParameter(str(exc), provider=PROVIDER, operation="send", code="to") from None


def check_service_window(last_inbound_at: datetime | None, now: datetime, *, operation: str = "send_text") -> None:
    """Raise `OutsideServiceWindow` unless the customer wrote within the last 24 hours."""
    if last_inbound_at is None:
        raise OutsideServiceWindow(
            "no inbound message from this recipient: only a template may be sent",
            provider=PROVIDER, operation=operation,
        )
    if now - last_inbound_at > SERVICE_WINDOW:
        raise OutsideServiceWindow(
            f"the 24-hour customer-service window closed at {(last_inbound_at + SERVICE_WINDOW).isoformat()}: "
            "only a template may be sent",
            provider=PROVIDER, operation=operation,
        )


@dataclass(frozen=True)
class WhatsAppCloudSettings:
    """Per-tenant ids: the Graph id of the sending number (not the number itself) and the WABA id."""

    phone_number_id: str
    waba_id: str = ""
    api_version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        if not self.phone_number_id.strip():
            raise ConfigurationError("whatsapp_cloud: phone_number_id is required")


class BearerToken(httpx.Auth):
    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(***)"


def _raise_for_graph(response: httpx.Response, operation: str) -> None:
    if response.is_success:
        return
    code: int | str | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    request_id = response.headers.get("x-fb-trace-id")
    try:
        body = WireErrorBody.model_validate(response.json())
        code = body.error.code
        message = body.error.message or message
        details = (body.error.error_data or {}).get("details")
        if details:
            message = f"{message}: {details}"
        request_id = body.error.fbtrace_id or request_id
    except ValueError:
        pass
    raise error_from_graph(
        http_status=response.status_code, code=code, message=message, operation=operation,
        request_id=request_id, retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


MAX_CALLBACK_DATA = 512  # characters of biz_opaque_callback_data Meta accepts


def _parse_sent(response: httpx.Response, callback_data: str | None = None) -> SentMessage:
    _raise_for_graph(response, "send_message")
    body = WireSendResponse.model_validate(response.json())
    first = body.messages[0]
    wa_id = body.contacts[0].wa_id if body.contacts else None
    return SentMessage(provider_message_id=first.id, recipient_id=wa_id, message_status=first.message_status,
                       biz_opaque_callback_data=callback_data)


def _callback_data(value: str | None, operation: str) -> str | None:
    if value is not None and not 0 < len(value) <= MAX_CALLBACK_DATA:
        raise InvalidParameter(f"biz_opaque_callback_data must be 1..{MAX_CALLBACK_DATA} characters",
                               provider=PROVIDER, operation=operation, code="biz_opaque_callback_data")
    return value


def _template(raw: dict[str, Any]) -> MessageTemplate:
    w = WireTemplate.model_validate(raw)
    return MessageTemplate(id=w.id, name=w.name, language=w.language, status=w.status.upper(),
                           category=w.category.upper(), components=w.components)


class WhatsAppCloudEndpoints(ConciseRepr):
    """Request builders and parsers; no I/O (the clients run them)."""

    def __init__(self, settings: WhatsAppCloudSettings) -> None:
        self.settings = settings

    @property
    def _messages_path(self) -> str:
        return f"/{self.settings.api_version}/{self.settings.phone_number_id}/messages"

    def _send(self, operation: str, payload: dict[str, Any], callback_data: str | None) -> Call[SentMessage]:
        if callback_data is not None:
            payload["biz_opaque_callback_data"] = callback_data  # echoed by every status webhook of the message
        return Call(operation, "POST", self._messages_path, lambda r: _parse_sent(r, callback_data), json=payload,
                    ok_statuses=_ALL_ERRORS, idempotent=False)

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        *,
        body_params: Sequence[str] = (),
        header_params: Sequence[str] = (),
        header_type: str = "text",
        button_params: Sequence[str] = (),
        button_sub_type: str = "url",
        body_param_names: Sequence[str] = (),
        biz_opaque_callback_data: str | None = None,
    ) -> Call[SentMessage]:
        """``type: template``; header params are text or a media link (``header_type``), each
        button param drives the button at its index (URL suffix or quick-reply payload).
        ``biz_opaque_callback_data`` (at most 512 characters) comes back on the status webhooks."""
        callback = _callback_data(biz_opaque_callback_data, "send_template")
        if not name:
            raise InvalidParameter("template name is empty", provider=PROVIDER, operation="send_template")
        if body_param_names and len(body_param_names) != len(body_params):
            raise InvalidParameter("body_param_names must match body_params", provider=PROVIDER,
                                   operation="send_template")
        for field, values in (("header_params", header_params), ("body_params", body_params),
                              ("button_params", button_params)):
            for i, value in enumerate(values):
                if not str(value).strip():  # a template slot can never be left empty
                    raise InvalidParameter(f"{field}[{i}] of template {name!r} is empty", provider=PROVIDER,
                                           operation="send_template", code=field)
        components: list[dict[str, Any]] = []
        if header_params:
            if header_type == "text":
                hp: list[dict[str, Any]] = [{"type": "text", "text": v} for v in header_params]
            else:
                hp = [{"type": header_type, header_type: {"link": v}} for v in header_params]
            components.append({"type": "header", "parameters": hp})
        if body_params:
            bp: list[dict[str, Any]] = []
            for i, value in enumerate(body_params):
                param: dict[str, Any] = {"type": "text", "text": value}
                if body_param_names:
                    param["parameter_name"] = body_param_names[i]
                bp.append(param)
            components.append({"type": "body", "parameters": bp})
        for index, value in enumerate(button_params):
            kind = "payload" if button_sub_type == "quick_reply" else "text"
            components.append({"type": "button", "sub_type": button_sub_type, "index": str(index),
                               "parameters": [{"type": kind, kind: value}]})
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = components
        return self._send("send_template", {"messaging_product": "whatsapp", "recipient_type": "individual",
                                            "to": to_wa_id(to), "type": "template", "template": template},
                          callback)

    def send_text(self, to: str, body: str, *, preview_url: bool = False,
                  biz_opaque_callback_data: str | None = None) -> Call[SentMessage]:
        """``type: text`` (the caller checks the 24-hour window first)."""
        callback = _callback_data(biz_opaque_callback_data, "send_text")
        if not body:
            raise InvalidParameter("text body is empty", provider=PROVIDER, operation="send_text")
        return self._send("send_text", {"messaging_product": "whatsapp", "recipient_type": "individual",
                                        "to": to_wa_id(to), "type": "text",
                                        "text": {"preview_url": preview_url, "body": body}}, callback)

    def mark_read(self, message_id: str) -> Call[bool]:
        def parse(response: httpx.Response) -> bool:
            _raise_for_graph(response, "mark_read")
            return bool(response.json().get("success", True))

        return Call("mark_read", "POST", self._messages_path, parse, ok_statuses=_ALL_ERRORS, idempotent=True,
                    json={"messaging_product": "whatsapp", "status": "read", "message_id": message_id})

    def list_templates(self, *, limit: int = 100, after: str | None = None, name: str | None = None,
                       status: str | None = None) -> Call[Page[MessageTemplate]]:
        """One page of ``GET /{waba-id}/message_templates``; the next page repeats with ``after``."""
        if not self.settings.waba_id:
            raise ConfigurationError("whatsapp_cloud: waba_id is required to list templates")
        params = {"fields": "id,name,language,status,category,components", "limit": limit, "after": after,
                  "name": name, "status": status}

        def parse(response: httpx.Response) -> Page[MessageTemplate]:
            _raise_for_graph(response, "list_templates")
            body = WireTemplateList.model_validate(response.json())
            items = [_template(raw) for raw in body.data]
            cursor = body.paging.cursors.after if body.paging and body.paging.cursors else None
            more = bool(body.paging and body.paging.next) and cursor is not None and bool(items)
            nxt = self.list_templates(limit=limit, after=cursor, name=name, status=status) if more else None
            return Page(items=items, next_call=nxt, info={"after": cursor})

        return Call("list_templates", "GET", f"/{self.settings.api_version}/{self.settings.waba_id}/message_templates",
                    parse, params=params, ok_statuses=_ALL_ERRORS)

    def get_template(self, template_id: str) -> Call[MessageTemplate]:
        if not template_id:
            raise InvalidParameter("template id is empty", provider=PROVIDER, operation="get_template")

        def parse(response: httpx.Response) -> MessageTemplate:
            _raise_for_graph(response, "get_template")
            return _template(response.json())

        return Call("get_template", "GET", f"/{self.settings.api_version}/{template_id}", parse,
                    ok_statuses=_ALL_ERRORS, record=template_id)


def _config(token: SecretStr, base_url: str | None, clock: Clock, retry: RetryPolicy | None,
            limiter_registry: RateLimiterRegistry, account_key: str, timeout: float | None) -> ProviderConfig:
    config = ProviderConfig(
        provider=PROVIDER, base_url=base_url or GRAPH_BASE_URL, account_key=account_key, auth=BearerToken(token),
        rate_limit=DEFAULT_RATE_LIMIT, retry=retry or RetryPolicy(clock=clock), limiter_registry=limiter_registry,
        clock=clock,
    )
    return config.with_options(timeout=httpx.Timeout(timeout)) if timeout else config


class WhatsAppCloudClient(SyncConnector):
    """Sync WhatsApp Cloud connector (implements `providers.base.MessagingProvider`)."""

    provider = PROVIDER

    def __init__(self, settings: WhatsAppCloudSettings, token: SecretStr, *, base_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY,
                 timeout: float | None = None) -> None:
        self.clock = clock or SystemClock()
        self.endpoints = WhatsAppCloudEndpoints(settings)
        self._runner = SyncRunner(_config(token, base_url, self.clock, retry, limiter_registry,
                                          settings.phone_number_id, timeout), transport=transport)

    def send_template(self, to: str, name: str, language: str, *, body_params: Sequence[str] = (),
                      header_params: Sequence[str] = (), header_type: str = "text",
                      button_params: Sequence[str] = (), button_sub_type: str = "url",
                      body_param_names: Sequence[str] = (),
                      biz_opaque_callback_data: str | None = None) -> SentMessage:
        """Send an approved template (allowed at any time). Raises `TemplateUnavailable`,
        `InvalidParameter`, `RecipientUnavailable`, `RateLimited`, ..."""
        return self._runner.run(self.endpoints.send_template(
            to, name, language, body_params=body_params, header_params=header_params, header_type=header_type,
            button_params=button_params, button_sub_type=button_sub_type, body_param_names=body_param_names,
            biz_opaque_callback_data=biz_opaque_callback_data))

    def send_text(self, to: str, body: str, *, last_inbound_at: datetime | None,
                  preview_url: bool = False, biz_opaque_callback_data: str | None = None) -> SentMessage:
        """Free-form text; raises `OutsideServiceWindow` before any call outside the 24-hour window."""
        check_service_window(last_inbound_at, self.clock.now())
        return self._runner.run(self.endpoints.send_text(to, body, preview_url=preview_url,
                                                         biz_opaque_callback_data=biz_opaque_callback_data))

    def mark_read(self, message_id: str) -> bool:
        return self._runner.run(self.endpoints.mark_read(message_id))

    def list_templates(self, *, limit: int = 100, after: str | None = None, name: str | None = None,
                       status: str | None = None) -> Page[MessageTemplate]:
        return self._runner.run(self.endpoints.list_templates(limit=limit, after=after, name=name, status=status))

    def iter_templates(self, *, limit: int = 100, name: str | None = None,
                       status: str | None = None) -> Iterator[MessageTemplate]:
        """Every template, following the cursor to the end."""
        return iter_items(self._runner.run, self.endpoints.list_templates(limit=limit, name=name, status=status))

    def get_template(self, template_id: str) -> MessageTemplate:
        return self._runner.run(self.endpoints.get_template(template_id))

    def close(self) -> None:
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncWhatsAppCloudClient(AsyncConnector):
    """Async twin of `WhatsAppCloudClient` (same methods, awaited)."""

    provider = PROVIDER

    def __init__(self, settings: WhatsAppCloudSettings, token: SecretStr, *, base_url: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY,
                 timeout: float | None = None) -> None:
        self.clock = clock or SystemClock()
        self.endpoints = WhatsAppCloudEndpoints(settings)
        self._runner = AsyncRunner(_config(token, base_url, self.clock, retry, limiter_registry,
                                           settings.phone_number_id, timeout), transport=transport)

    async def send_template(self, to: str, name: str, language: str, *, body_params: Sequence[str] = (),
                            header_params: Sequence[str] = (), header_type: str = "text",
                            button_params: Sequence[str] = (), button_sub_type: str = "url",
                            body_param_names: Sequence[str] = (),
                            biz_opaque_callback_data: str | None = None) -> SentMessage:
        return await self._runner.run(self.endpoints.send_template(
            to, name, language, body_params=body_params, header_params=header_params, header_type=header_type,
            button_params=button_params, button_sub_type=button_sub_type, body_param_names=body_param_names,
            biz_opaque_callback_data=biz_opaque_callback_data))

    async def send_text(self, to: str, body: str, *, last_inbound_at: datetime | None,
                        preview_url: bool = False, biz_opaque_callback_data: str | None = None) -> SentMessage:
        check_service_window(last_inbound_at, self.clock.now())
        return await self._runner.run(self.endpoints.send_text(to, body, preview_url=preview_url,
                                                               biz_opaque_callback_data=biz_opaque_callback_data))

    async def mark_read(self, message_id: str) -> bool:
        return await self._runner.run(self.endpoints.mark_read(message_id))

    async def list_templates(self, *, limit: int = 100, after: str | None = None, name: str | None = None,
                             status: str | None = None) -> Page[MessageTemplate]:
        return await self._runner.run(self.endpoints.list_templates(limit=limit, after=after, name=name,
                                                                    status=status))

    def iter_templates(self, *, limit: int = 100, name: str | None = None,
                       status: str | None = None) -> AsyncIterator[MessageTemplate]:
        return aiter_items(self._runner.run, self.endpoints.list_templates(limit=limit, name=name, status=status))

    async def get_template(self, template_id: str) -> MessageTemplate:
        return await self._runner.run(self.endpoints.get_template(template_id))

    async def aclose(self) -> None:
        await self._runner.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
