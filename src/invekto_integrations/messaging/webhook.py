"""A framework-agnostic webhook handler: (method, query, headers, raw body) → (status, body).

    handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr("..."),
                                      routes={"1234567890": WebhookRoute("tenant-1", SecretStr(app_secret))})
    response = handler.handle("POST", query, headers, raw_body)

GET answers the verification handshake. POST verifies ``X-Hub-Signature-256`` against the app
secret of the channel(s) the body names *before* applying anything, then applies inbound messages
(24-hour window, CTWA click, opt-out keywords) and status updates to the outbox and the event log.
A bad signature is 401 and nothing is applied; a malformed message is quarantined and the rest
applied (the answer stays 200 so the platform does not retry a payload that can never parse).
Processing is inline and idempotent (events are deduplicated on message id / (id, status)).
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
        channels = [c for c in self.codec.channel_ids(body) if c in self.routes]
        secrets = {self.routes[c].app_secret.get_secret_value() for c in channels}
        trusted = {s for s in secrets if self.codec.verify_signature(body, headers, s)}
        if not trusted:
            log.warning("webhook rejected: bad or missing signature (%d bytes)", len(body))
            return WebhookResponse(401, "invalid signature")
        batch = self.codec.parse(body)
        applied = {"inbound": 0, "statuses": 0, "opt_outs": 0, "ignored": 0, "quarantined": 0}
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
        tenant = self.routes[channels[0]].tenant_id
        for problem in batch.problems:
            applied["quarantined"] += 1
            if self.quarantine is not None:
                self.quarantine.add(tenant, QuarantinedRecord(
                    id=new_id(), tenant_id=tenant, provider=self.codec.provider, account_id=channels[0],
                    record_id=None, field=problem.field, error=f"{problem.where}: {problem.error}",
                    raw_json=json.dumps(problem.raw, ensure_ascii=False, default=str), created_at=self.clock.now()))
        return WebhookResponse(200, json.dumps(applied), "application/json")
