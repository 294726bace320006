"""A framework-agnostic webhook handler: (method, query, headers, raw body) → (status, body).

    handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr("..."),
                                      routes={"1234567890": WebhookRoute("tenant-1", SecretStr(app_secret))})
    response = handler.handle("POST", query, headers, raw_body)

GET answers the verification handshake. POST verifies ``X-Hub-Signature-256`` on the raw bytes
against the configured app secrets *before* the body is parsed at all (an unsigned body, however
malformed, is a 401 and is never read), then applies inbound messages (24-hour window, CTWA click,
opt-out keywords) and status updates to the outbox and the event log, for the channels whose app
secret signed it. A signed body that is not a webhook envelope (not JSON, nested too deep, wrong
shape) is a 400 naming the problem; a malformed message inside a good envelope is quarantined and
the rest applied (the answer stays 200 so the platform does not retry a payload that can never
parse). Processing is inline and idempotent: events are deduplicated on message id / (id, status),
and contact state is stamped with each message's time, so a redelivery changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.providers.base import MessagingWebhooks
from invekto_integrations.storage.protocols import QuarantineRepository
from invekto_integrations.storage.records import QuarantinedRecord

from .pipeline import SendPipeline

__all__ = ["MessagingWebhookHandler", "WebhookResponse", "WebhookRoute"]

log = logging.getLogger("invekto_integrations.messaging.webhook")


@dataclass(frozen=True)
class WebhookRoute:
    """Which tenant a receiving channel (WhatsApp ``phone_number_id``) belongs to, and its app secret."""

    tenant_id: str
    app_secret: SecretStr


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: str
    content_type: str = "text/plain"


class MessagingWebhookHandler(ConciseRepr):
    def __init__(
        self,
        pipeline: SendPipeline,
        codec: MessagingWebhooks,
        *,
        verify_token: SecretStr,
        routes: Mapping[str, WebhookRoute],
        quarantine: QuarantineRepository | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.codec = codec
        self.verify_token = verify_token
        self.routes = dict(routes)
        self._secrets = {r.app_secret.get_secret_value() for r in self.routes.values()}
        self.quarantine = quarantine
        self.clock = clock or pipeline.clock or SystemClock()

    def __call__(self, method: str, query: Mapping[str, str], headers: Mapping[str, str],
                 body: bytes) -> WebhookResponse:
        return self.handle(method, query, headers, body)

    def handle(self, method: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> WebhookResponse:
        if method.upper() == "GET":
            status, text = self.codec.handshake(query, self.verify_token.get_secret_value())
            return WebhookResponse(status, text)
        if method.upper() != "POST":
            return WebhookResponse(405, "method not allowed")
        # The raw bytes are checked against every configured app secret (usually one per Meta app)
        # before anything reads the body: nothing unsigned reaches the parser.
        trusted = {s for s in self._secrets if self.codec.verify_signature(body, headers, s)}
        if not trusted:
            log.warning("webhook rejected: bad or missing signature (%d bytes)", len(body))
            return WebhookResponse(401, "invalid signature")
        batch = self.codec.parse(body)
        malformed = batch.malformed
        if malformed is not None:
            log.warning("signed webhook body rejected (%d bytes): %s", len(body), malformed.error[:200])
            return WebhookResponse(400, json.dumps({"error": "malformed_body", "provider": self.codec.provider,
                                                    "field": malformed.field, "detail": malformed.error[:200]}),
                                   "application/json")
        named = self.codec.channel_ids(body)
        channels = [c for c in named if c in self.routes and self.routes[c].app_secret.get_secret_value() in trusted]
        # Authentic but for a channel not routed here (or signed by another tenant's app): answered
        # 200 and counted, since a redelivery would not change that.
        applied = {"inbound": 0, "statuses": 0, "opt_outs": 0, "ignored": 0, "quarantined": 0,
                   "unrouted": len(named) - len(channels)}
        for message in batch.inbound:
            route = self.routes.get(message.channel_id)
            if route is None or route.app_secret.get_secret_value() not in trusted:
                applied["ignored"] += 1
                continue
            opted_out = self.pipeline.apply_inbound(route.tenant_id, message, provider=self.codec.provider)
            applied["opt_outs"] += int(opted_out)
            applied["inbound"] += 1
        for update in batch.statuses:
            route = self.routes.get(update.channel_id)
            if route is None or route.app_secret.get_secret_value() not in trusted:
                applied["ignored"] += 1
                continue
            self.pipeline.apply_status(route.tenant_id, update, provider=self.codec.provider)
            applied["statuses"] += 1
        for problem in batch.problems:
            applied["quarantined"] += 1
            if self.quarantine is None or not channels:
                log.warning("webhook problem at %s: %s", problem.where, problem.error[:200])
                continue
            tenant = self.routes[channels[0]].tenant_id
            self.quarantine.add(tenant, QuarantinedRecord(
                id=new_id(), tenant_id=tenant, provider=self.codec.provider, account_id=channels[0],
                record_id=None, field=problem.field, error=f"{problem.where}: {problem.error}",
                raw_json=json.dumps(problem.raw, ensure_ascii=False, default=str), created_at=self.clock.now()))
        return WebhookResponse(200, json.dumps(applied), "application/json")
