"""A fake OpenAI-compatible chat-completions endpoint (for the campaign personalizer).

Wire format as OpenAI documents it for ``POST /v1/chat/completions``: a JSON body with ``model``
and ``messages`` (role/content); the answer ``{"id": "chatcmpl-…", "object": "chat.completion",
"created", "model", "choices": [{"index": 0, "message": {"role": "assistant", "content"},
"finish_reason": "stop"}], "usage": {...}}``. Errors use ``{"error": {"message", "type", "param",
"code"}}``: 401 ``invalid_api_key`` for a wrong bearer key, 400 ``invalid_request_error`` for a
missing model or messages, 404 ``model_not_found``, 429 ``rate_limit_exceeded``.

By default the fake writes a short Turkish line from the customer facts the personalizer sends
(the JSON in the user message), so it is deterministic; `script` queues exact answers (a test
uses it to send a made-up price the guardrails must refuse).
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.testing.sandbox import FakeProvider

__all__ = ["OpenAIChatFake"]


def _error(status: int, message: str, type_: str, code: str | None, param: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"message": message, "type": type_, "param": param, "code": code}},
                        status_code=status, headers=headers)


class OpenAIChatFake(FakeProvider):
    name: ClassVar[str] = "openai_chat"
    # A modest tier's request rate; the real limit depends on the account's tier.
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit(500, 60.0)

    def __init__(self, *, keys: dict[str, str] | None = None, models: tuple[str, ...] = ("gpt-4o-mini",),
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.keys = keys or {"sk-test-a": "org-a", "sk-test-b": "org-b"}
        self.models = models
        self._scripted: deque[str] = deque()
        self._seq = 0

    def script(self, *answers: str) -> None:
        """Answer the next requests with these contents, in order (then back to the default)."""
        with self._lock:
            self._scripted.extend(answers)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._scripted.clear()

    def authenticate(self, request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        org = self.keys.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        if org is None:
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        return org

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"retry-after": str(max(1, round(retry_after)))} if retry_after is not None else {}
        return _error(429, "Rate limit reached for requests.", "requests", "rate_limit_exceeded", headers=headers)

    def server_error_response(self, status: int) -> Response:
        return _error(status, "The server had an error while processing your request.", "server_error", None)

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/chat/completions", self._completions, methods=["POST"])]

    async def _completions(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        model = body.get("model") if isinstance(body, dict) else None
        messages = body.get("messages") if isinstance(body, dict) else None
        if not model:
            return _error(400, "you must provide a model parameter", "invalid_request_error", None, "model")
        if model not in self.models:
            return _error(404, f"The model `{model}` does not exist or you do not have access to it.",
                          "invalid_request_error", "model_not_found")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and "role" in m and "content" in m for m in messages):
            return _error(400, "'messages' must be a non-empty array of {role, content}", "invalid_request_error",
                          None, "messages")
        with self._lock:
            self._seq += 1
            seq = self._seq
            content = self._scripted.popleft() if self._scripted else None
        if content is None:
            content = self._default_line(messages)
        prompt_tokens = sum(len(str(m["content"]).split()) for m in messages)
        completion_tokens = len(content.split())
        return JSONResponse({
            "id": f"chatcmpl-sandbox{seq:06d}", "object": "chat.completion",
            "created": int(self.clock.now().timestamp()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}})

    @staticmethod
    def _default_line(messages: list[dict[str, Any]]) -> str:
        facts: dict[str, Any] = {}
        for m in messages:
            if m.get("role") == "user":
                try:
                    data = json.loads(str(m["content"]))
                except ValueError:
                    continue
                if isinstance(data, dict):
                    found = data.get("müşteri") or data.get("customer") or {}
                    facts = found if isinstance(found, dict) else {}
        name = facts.get("name", "Merhaba")
        if facts.get("last_product"):
            return f"{name}, {facts['last_product']} ile uyumlu yeni ürünlerimiz sizi bekliyor!"
        if facts.get("last_service"):
            return f"{name}, {facts['last_service']} sonrası kontrolünüz için sizi görmek isteriz."
        return f"{name}, bu hafta size özel seçkimize göz atın!"
