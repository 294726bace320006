"""A fake WhatsApp Cloud API (Graph API) built from the documented wire format.

- ``POST /{version}/{phone-number-id}/messages`` with ``Authorization: Bearer <token>``; answers
  ``{"messaging_product","contacts":[{input,wa_id}],"messages":[{id,message_status}]}`` or the
  Graph error body ``{"error":{message,type,code,error_data:{details},fbtrace_id}}``.
- Templates must exist in that language and be APPROVED (132001 / 132015 paused / 132016
  disabled); body parameter count must match the ``{{n}}`` placeholders (132000).
- Free-form messages outside the 24-hour window are accepted and then fail through the status
  webhook with 131047, as the platform does; unreachable numbers fail with 131026.
- Status webhooks (sent → delivered → read, or failed) go to ``webhook_url`` signed with the app
  secret (``X-Hub-Signature-256``) through the background `WebhookDispatcher`, never from inside
  the request handler. They are spaced on the sandbox clock as on the platform (`StatusTiming`:
  by default sent after 1 s, delivered after 3 s, read after 2 min): each is emitted by `tick`
  once the clock has reached it, and every request to the fake ticks first. A test that moves a
  `FrozenClock` calls ``fake.tick()`` (or `advance`); ``status_timing=StatusTiming.immediate()``
  emits the whole lifecycle during the send, for tests about something else. `inject_inbound`
  sends a signed inbound message (optionally with a CTWA ``referral``) the same way, at once;
  `redeliver` sends an earlier webhook body again, as Meta does after a failed delivery.
- A send's ``biz_opaque_callback_data`` (at most 512 characters) is echoed on each of its statuses.
- ``GET /{version}/{waba-id}/message_templates`` pages with Graph cursors (``paging.cursors.after``
  and ``paging.next``); ``GET /{version}/{template-id}`` reads one.
"""

from __future__ import annotations

import base64
import heapq
import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.testing.sandbox import FakeProvider

__all__ = ["FakeTemplate", "StatusTiming", "WhatsAppCloudFake", "default_templates"]

_VERSION = re.compile(r"^v\d+\.\d+$")
_WINDOW = timedelta(hours=24)


@dataclass
class FakeTemplate:
    name: str
    language: str
    category: str
    body: str
    status: str = "APPROVED"
    id: str = ""
    components: list[dict[str, Any]] = field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        comps = self.components or [{"type": "BODY", "text": self.body}]
        return {"name": self.name, "language": self.language, "status": self.status, "category": self.category,
                "id": self.id, "components": comps}

    def placeholders(self) -> int:
        return len(set(re.findall(r"\{\{\s*(\w+)\s*\}\}", self.body)))


def default_templates() -> list[FakeTemplate]:
    """Seeded Turkish templates every fake account starts with."""
    return [
        FakeTemplate("order_shipped", "tr", "UTILITY", "Merhaba {{1}}, {{2}} numaralı siparişiniz kargoya verildi."),
        FakeTemplate("kargo_durumu", "tr", "UTILITY", "Merhaba {{1}}, {{2}} takip numaralı kargonuz: {{3}}."),
        FakeTemplate("randevu_hatirlatma", "tr", "UTILITY", "Merhaba {{1}}, {{2}} tarihli randevunuzu hatırlatırız."),
        FakeTemplate("bekleme_listesi_teklif", "tr", "UTILITY",
                     "Merhaba {{1}}, {{2}} için yer açıldı. Onaylamak için yanıtlayın."),
        FakeTemplate("kampanya_duyurusu", "tr", "MARKETING", "Merhaba {{1}}, size özel %{{2}} indirim!"),
        FakeTemplate("kis_kampanyasi", "tr", "MARKETING", "Kış kampanyası başladı!", status="PAUSED"),
        FakeTemplate("eski_kampanya", "tr", "MARKETING", "Eski kampanya.", status="DISABLED"),
        FakeTemplate("order_shipped", "en_US", "UTILITY", "Hi {{1}}, your order {{2}} has shipped."),
        # The cargo notifier's contract (sync/shipments.py): {{1}} carrier, {{2}} tracking number, {{3}} URL.
        FakeTemplate("kargo_yola_cikti", "tr", "UTILITY",
                     "Kargonuz yola çıktı! {{1}} takip numaranız: {{2}}. Takip: {{3}}"),
        FakeTemplate("kargo_dagitimda", "tr", "UTILITY",
                     "Kargonuz dağıtıma çıktı, bugün size ulaştırılacak. {{1}} takip numaranız: {{2}}. {{3}}"),
        FakeTemplate("kargo_teslim_edildi", "tr", "UTILITY",
                     "Teslim edildi: {{1}} kargonuz ({{2}}) teslim edildi. İyi günlerde kullanın! {{3}}"),
    ]


@dataclass(frozen=True)
class StatusTiming:
    """When the platform reports a message's statuses, counted from the accepted send (sandbox clock).

    The defaults are a typical handset that is online: ``sent`` within a second, ``delivered`` a few
    seconds later, ``read`` after a couple of minutes. ``failed`` (window closed, unreachable
    number) comes after ``sent``'s delay, as the platform reports it instead of ``sent``.
    """

    sent: timedelta = timedelta(seconds=1)
    delivered: timedelta = timedelta(seconds=3)
    read: timedelta = timedelta(minutes=2)

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.sent <= self.delivered <= self.read:
            raise ValueError("status delays must be 0 <= sent <= delivered <= read")

    @classmethod
    def immediate(cls) -> StatusTiming:
        """Every status during the send call (the whole lifecycle at once)."""
        return cls(timedelta(0), timedelta(0), timedelta(0))

    def delay(self, status: str) -> timedelta:
        return {"sent": self.sent, "failed": self.sent, "delivered": self.delivered, "read": self.read}[status]


@dataclass
class FakeMessage:
    wamid: str
    phone_number_id: str
    to: str
    type: str
    payload: dict[str, Any]
    statuses: list[str] = field(default_factory=list)


class WhatsAppCloudFake(FakeProvider):
    name: ClassVar[str] = "whatsapp_cloud"
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit(80, 1.0)

    def __init__(
        self,
        *,
        tokens: dict[str, str] | None = None,
        phone_numbers: dict[str, str] | None = None,
        app_secret: str = "sandbox-app-secret",  # noqa: S107 - a fake's fixed test secret
        webhook_url: str | None = None,
        status_timing: StatusTiming | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.status_timing = status_timing or StatusTiming()
        self.tokens = tokens or {"wa-token-a": "waba-a", "wa-token-b": "waba-b"}
        # phone_number_id -> waba id
        self.phone_numbers = phone_numbers or {"1000000001": "waba-a", "1000000002": "waba-b"}
        self.display_numbers = {pid: f"90850{i:07d}" for i, pid in enumerate(self.phone_numbers, start=1)}
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self.read_receipts_off: set[str] = set()
        self.unreachable: set[str] = set()
        self._init_state()

    def _init_state(self) -> None:
        self.templates: dict[str, list[FakeTemplate]] = {}
        counter = 0
        for waba in sorted(set(self.tokens.values())):
            rows = []
            for t in default_templates():
                counter += 1
                t.id = f"{7000000000 + counter}"
                rows.append(t)
            self.templates[waba] = rows
        self.messages: dict[str, FakeMessage] = {}
        # the last webhook bodies emitted, in order (for `redeliver`)
        self.sent_webhooks: deque[bytes] = deque(maxlen=1000)
        self.last_inbound: dict[tuple[str, str], datetime] = {}
        self._seq = 0
        # (due, order, wamid, status, error): status webhooks waiting for the clock
        self._scheduled: list[tuple[datetime, int, str, str, dict[str, Any] | None]] = []

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.read_receipts_off.clear()
            self.unreachable.clear()
            self._init_state()

    # -- the clock --------------------------------------------------------------------------------
    def tick(self) -> int:
        """Emit every scheduled status webhook the clock has reached, in order; returns how many."""
        emitted = 0
        with self._lock:
            now = self.clock.now()
            while self._scheduled and self._scheduled[0][0] <= now:
                due, _, wamid, status, error = heapq.heappop(self._scheduled)
                msg = self.messages[wamid]
                self._emit(msg.phone_number_id, {"messaging_product": "whatsapp",
                                                 "metadata": self._metadata(msg.phone_number_id),
                                                 "statuses": [self._status(msg, status, error, at=due)]})
                emitted += 1
        return emitted

    def advance(self, seconds: float) -> int:
        """Move the (frozen) sandbox clock and emit what became due; returns how many webhooks."""
        if not isinstance(self.clock, FrozenClock):
            raise TypeError("advance needs a FrozenClock; with a real clock call tick()")
        self.clock.advance(seconds)
        return self.tick()

    @property
    def scheduled_statuses(self) -> list[tuple[datetime, str, str]]:
        """(due, wamid, status) of the status webhooks not emitted yet, in order."""
        with self._lock:
            return [(d, w, st) for d, _, w, st, _ in sorted(self._scheduled)]

    def _schedule(self, msg: FakeMessage, statuses: list[str], error: dict[str, Any] | None = None) -> None:
        start = self.clock.now()
        with self._lock:
            for status in statuses:
                self._seq += 1
                heapq.heappush(self._scheduled, (start + self.status_timing.delay(status), self._seq, msg.wamid,
                                                 status, error if status == "failed" else None))

    # -- test controls --------------------------------------------------------------------------
    def add_template(self, waba_id: str, template: FakeTemplate) -> None:
        with self._lock:
            self._seq += 1
            template.id = template.id or f"{8000000000 + self._seq}"
            self.templates.setdefault(waba_id, []).append(template)

    def set_template_status(self, waba_id: str, name: str, status: str) -> None:
        with self._lock:
            for t in self.templates.get(waba_id, []):
                if t.name == name:
                    t.status = status

    def inject_inbound(
        self,
        from_wa_id: str,
        text: str = "Merhaba",
        *,
        phone_number_id: str | None = None,
        referral: dict[str, Any] | None = None,
        profile_name: str = "Ayşe",
        message: dict[str, Any] | None = None,
    ) -> str:
        """A customer writes to the business: opens the 24-hour window and sends a signed webhook.

        ``message`` overrides the message body (button, interactive, media ...); ``referral`` adds the
        Click-to-WhatsApp object (pass ``{}`` for a documented-looking default with a ctwa_clid).
        """
        self.tick()  # what the platform reported earlier goes out first
        pid = phone_number_id or next(iter(self.phone_numbers))
        now = self.clock.now()
        wamid = self._new_wamid(from_wa_id)
        msg: dict[str, Any] = message.copy() if message else {"type": "text", "text": {"body": text}}
        msg.update({"from": from_wa_id, "id": wamid, "timestamp": str(int(now.timestamp()))})
        if referral is not None:
            msg["referral"] = referral or {
                "source_url": "https://fb.me/sandbox", "source_id": "120210000000000000", "source_type": "ad",
                "headline": "Kış kampanyası", "body": "%20 indirim için yazın", "media_type": "image",
                "image_url": "https://scontent.xx.fbcdn.net/sandbox.jpg", "video_url": None, "thumbnail_url": None,
                "ctwa_clid": f"ARAkSandbox{self._seq:06d}",
            }
        with self._lock:
            self.last_inbound[(pid, from_wa_id)] = now
        value = {"messaging_product": "whatsapp", "metadata": self._metadata(pid),
                 "contacts": [{"profile": {"name": profile_name}, "wa_id": from_wa_id}], "messages": [msg]}
        self._emit(pid, value)
        return wamid

    def redeliver(self, index: int = -1) -> None:
        """Send an earlier webhook (by position in `sent_webhooks`) again, byte for byte."""
        if not self.webhook_url:
            raise RuntimeError("redeliver needs a webhook_url")
        body = self.sent_webhooks[index]
        self.webhooks.send(self.webhook_url, body, {"Content-Type": "application/json",
                                                    "X-Hub-Signature-256": self.sign(body)})

    def push_status(self, wamid: str, status: str, *, error: dict[str, Any] | None = None) -> None:
        """Send one status webhook for a message now (for out-of-order and failure tests)."""
        self.tick()
        found = self.messages[wamid]
        self._emit(found.phone_number_id, {"messaging_product": "whatsapp",
                                           "metadata": self._metadata(found.phone_number_id),
                                           "statuses": [self._status(found, status, error)]})

    def sign(self, body: bytes) -> str:
        import hashlib
        import hmac

        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    # -- framework hooks ------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        account = self.tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        if account is None:
            return self._error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        return account

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else {}
        return self._error(429, 130429, "Rate limit hit", "Cloud API message throughput has been reached.",
                           headers=headers)

    def server_error_response(self, status: int) -> Response:
        return self._error(status, 2, "Service temporarily unavailable", type_="OAuthException")

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{version}/{node}/messages", self._messages, methods=["POST"]),
            Route("/{version}/{node}/message_templates", self._list_templates, methods=["GET"]),
            Route("/{version}/{node}", self._get_node, methods=["GET"]),
        ]

    # -- helpers --------------------------------------------------------------------------------
    def _error(self, status: int, code: int, message: str, details: str | None = None, *,
               type_: str = "OAuthException", headers: dict[str, str] | None = None) -> Response:
        with self._lock:
            self._seq += 1
            trace = f"AsandboxTrace{self._seq:06d}"
        err: dict[str, Any] = {"message": message, "type": type_, "code": code, "fbtrace_id": trace}
        if details:
            err["error_data"] = {"messaging_product": "whatsapp", "details": details}
        return JSONResponse({"error": err}, status_code=status, headers=headers)

    def _new_wamid(self, wa_id: str) -> str:
        with self._lock:
            self._seq += 1
            raw = f"{wa_id}:{self._seq:08d}:{self.seed}".encode()
        return "wamid." + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _metadata(self, pid: str) -> dict[str, str]:
        return {"display_phone_number": self.display_numbers.get(pid, "908500000000"), "phone_number_id": pid}

    def _emit(self, pid: str, value: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        waba = self.phone_numbers.get(pid, "")
        envelope = {"object": "whatsapp_business_account",
                    "entry": [{"id": waba, "changes": [{"field": "messages", "value": value}]}]}
        body = json.dumps(envelope, ensure_ascii=False).encode()
        with self._lock:
            self.sent_webhooks.append(body)
        self.webhooks.send(self.webhook_url, body, {"Content-Type": "application/json",
                                                    "X-Hub-Signature-256": self.sign(body)})

    def _status(self, msg: FakeMessage, status: str, error: dict[str, Any] | None = None, *,
                at: datetime | None = None) -> dict[str, Any]:
        msg.statuses.append(status)
        when = at or self.clock.now()
        out: dict[str, Any] = {"id": msg.wamid, "status": status,
                               "timestamp": str(int(when.timestamp())), "recipient_id": msg.to}
        if msg.payload.get("biz_opaque_callback_data") is not None:  # echoed on every status of the message
            out["biz_opaque_callback_data"] = msg.payload["biz_opaque_callback_data"]
        if status == "failed":
            out["errors"] = [error or {"code": 131000, "title": "Something went wrong"}]
        else:
            category = "utility"
            if msg.type == "template":
                t = self._find_template(self.phone_numbers[msg.phone_number_id], msg.payload["template"])
                category = t.category.lower() if t else "utility"
            elif msg.type != "template":
                category = "service"
            out["pricing"] = {"billable": category != "service", "pricing_model": "PMP", "category": category,
                              "type": "regular" if category != "service" else "free_customer_service"}
        return out

    def _find_template(self, waba: str, spec: dict[str, Any]) -> FakeTemplate | None:
        lang = (spec.get("language") or {}).get("code")
        for t in self.templates.get(waba, []):
            if t.name == spec.get("name") and t.language == lang:
                return t
        return None

    # -- routes ---------------------------------------------------------------------------------
    async def _messages(self, request: Request) -> Response:
        self.tick()
        waba = self.account_of(request)
        pid = request.path_params["node"]
        if not _VERSION.match(request.path_params["version"]):
            return self._error(400, 2500, "Unknown path components")
        if self.phone_numbers.get(pid) != waba:
            return self._error(400, 100, f"Unsupported post request. Object with ID '{pid}' does not exist, "
                               "cannot be loaded due to missing permissions, or does not support this operation",
                               type_="GraphMethodException")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._error(400, 100, "Invalid parameter", "request body is not JSON")
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return self._error(400, 100, "Invalid parameter",
                               "The parameter messaging_product is required and must be 'whatsapp'")
        if body.get("status") == "read":
            if body.get("message_id") is None:
                return self._error(400, 131008, "Required parameter is missing", "message_id is required")
            return JSONResponse({"success": True})
        to = re.sub(r"\D", "", str(body.get("to", "")))
        kind = body.get("type")
        callback = body.get("biz_opaque_callback_data")
        if callback is not None and (not isinstance(callback, str) or len(callback) > 512):
            return self._error(400, 131009, "Parameter value is not valid",
                               "biz_opaque_callback_data must be a string of at most 512 characters")
        if not to:
            return self._error(400, 131008, "Required parameter is missing", "to is required")
        if kind not in ("text", "template", "interactive", "image", "document", "video", "audio", "location"):
            return self._error(400, 100, "Invalid parameter", f"unsupported message type {kind!r}")
        status = None
        if kind == "template":
            spec = body.get("template") or {}
            template = self._find_template(waba, spec)
            if template is None or template.status not in ("APPROVED", "PAUSED", "DISABLED"):
                return self._error(404 if template is None else 400, 132001, "Template name does not exist in the "
                                   "translation", f"template name ({spec.get('name')}) does not exist in "
                                   f"{(spec.get('language') or {}).get('code')}")
            if template.status == "PAUSED":
                return self._error(400, 132015, "Template is paused", "Template is paused due to low quality")
            if template.status == "DISABLED":
                return self._error(400, 132016, "Template is disabled", "Template has been disabled")
            given = sum(len(c.get("parameters", [])) for c in spec.get("components", [])
                        if str(c.get("type")).lower() == "body")
            if given != template.placeholders():
                return self._error(400, 132000, "Number of parameters does not match the expected number of params",
                                   f"body: number of localizable_params ({given}) does not match the expected "
                                   f"number of params ({template.placeholders()})")
            status = "accepted"
        elif kind == "text" and not (body.get("text") or {}).get("body"):
            return self._error(400, 131008, "Required parameter is missing", "text.body is required")

        wamid = self._new_wamid(to)
        msg = FakeMessage(wamid=wamid, phone_number_id=pid, to=to, type=str(kind), payload=body)
        with self._lock:
            self.messages[wamid] = msg
            last = self.last_inbound.get((pid, to))
        in_window = last is not None and self.clock.now() - last <= _WINDOW
        if to in self.unreachable:
            self._schedule(msg, ["failed"], {"code": 131026, "title": "Message undeliverable",
                                             "message": "Message undeliverable",
                                             "error_data": {"details": "Message Undeliverable."}})
        elif kind != "template" and not in_window:
            self._schedule(msg, ["failed"], {"code": 131047, "title": "Re-engagement message",
                                             "message": "Re-engagement message",
                                             "error_data": {"details": "Message failed to send because more "
                                                            "than 24 hours have passed since the customer "
                                                            "last replied to this number."}})
        else:
            self._schedule(msg, ["sent", "delivered"] + ([] if to in self.read_receipts_off else ["read"]))
        self.tick()  # one webhook per status, in order, once the clock reaches it (at once if immediate)
        message: dict[str, Any] = {"id": wamid}
        if self.maybe_malformed():  # sent, but the answer breaks its shape: the client cannot know the id
            message = {"message_status": status} if status else {}
        elif status:
            message["message_status"] = status
        return JSONResponse({"messaging_product": "whatsapp", "contacts": [{"input": str(body.get("to")),
                                                                            "wa_id": to}], "messages": [message]})

    async def _list_templates(self, request: Request) -> Response:
        self.tick()
        waba = self.account_of(request)
        if request.path_params["node"] != waba:
            return self._error(400, 100, "Unsupported get request.", type_="GraphMethodException")
        try:
            limit = max(1, min(int(request.query_params.get("limit", 25)), 100))
            start = int(base64.urlsafe_b64decode(request.query_params["after"]).decode()) \
                if request.query_params.get("after") else 0
        except ValueError:
            return self._error(400, 100, "Invalid parameter", "bad limit or after cursor")
        rows = [t for t in self.templates.get(waba, [])
                if request.query_params.get("name") in (None, t.name)
                and request.query_params.get("status") in (None, t.status)]
        page = rows[start:start + limit]
        out: dict[str, Any] = {"data": [{**t.wire(), "name": None} if self.maybe_malformed() else t.wire()
                                        for t in page]}
        if page:
            def cur(i: int) -> str:
                return base64.urlsafe_b64encode(str(i).encode()).decode()

            out["paging"] = {"cursors": {"before": cur(start), "after": cur(start + len(page))}}
            if start + len(page) < len(rows):
                out["paging"]["next"] = str(request.url.include_query_params(after=cur(start + len(page))))
        return JSONResponse(out)

    async def _get_node(self, request: Request) -> Response:
        self.tick()
        waba = self.account_of(request)
        node = request.path_params["node"]
        for t in self.templates.get(waba, []):
            if t.id == node:
                return JSONResponse(t.wire())
        return self._error(400, 100, f"Unsupported get request. Object with ID '{node}' does not exist",
                           type_="GraphMethodException")
