"""WhatsApp Cloud webhooks: the GET handshake, the ``X-Hub-Signature-256`` check, typed parsing.

No I/O here. The signature is an HMAC-SHA256 of the raw body bytes keyed with the App Secret,
compared in constant time; verify it before trusting (or even routing by) anything in the body.
One malformed message or status is reported as a `WebhookProblem`; the rest of the batch is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pydantic

from invekto_integrations.core.phone import try_normalize_phone
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.messaging import (
    InboundMessage,
    MediaRef,
    Referral,
    StatusError,
    StatusUpdate,
    WebhookBatch,
    WebhookProblem,
)

from .mapping import PROVIDER, WireDeliveryStatus
from .wire import WireContact, WireInbound, WireMetadata, WireStatus, WireWebhook

__all__ = ["SIGNATURE_HEADER", "WhatsAppWebhooks", "sign_body"]

SIGNATURE_HEADER = "X-Hub-Signature-256"
_MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


def sign_body(raw_body: bytes, app_secret: str) -> str:
    """The header value Meta sends: ``sha256=<hex hmac>``."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def _ts(value: str) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


def _problem(where: str, exc: Exception, raw: Any) -> WebhookProblem:
    field = None
    message = str(exc)
    if isinstance(exc, pydantic.ValidationError) and exc.errors():
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = first["msg"]
    return WebhookProblem(where=where, field=field, error=message, raw=raw)


class WhatsAppWebhooks(ConciseRepr):
    """Implements `providers.base.MessagingWebhooks` for the WhatsApp Cloud API."""

    provider = PROVIDER

    def handshake(self, query: Mapping[str, str], verify_token: str) -> tuple[int, str]:
        """``hub.mode=subscribe`` with the right ``hub.verify_token`` → 200 and the raw challenge."""
        mode = query.get("hub.mode")
        token = query.get("hub.verify_token") or ""
        challenge = query.get("hub.challenge")
        if mode == "subscribe" and challenge is not None and verify_token and hmac.compare_digest(
            token.encode(), verify_token.encode()
        ):
            return 200, challenge
        return 403, "forbidden"

    def verify_signature(self, raw_body: bytes, headers: Mapping[str, str], app_secret: str) -> bool:
        header = ""
        for key, value in headers.items():
            if key.lower() == SIGNATURE_HEADER.lower():
                header = value
                break
        if not header or not app_secret:
            return False
        return hmac.compare_digest(sign_body(raw_body, app_secret).encode(), header.strip().encode())

    def channel_ids(self, raw_body: bytes) -> list[str]:
        try:
            body = json.loads(raw_body)
        except ValueError:
            return []
        out: list[str] = []
        for entry in body.get("entry", []) if isinstance(body, dict) else []:
            for change in entry.get("changes", []) if isinstance(entry, dict) else []:
                value = change.get("value") if isinstance(change, dict) else None
                pid = (value or {}).get("metadata", {}).get("phone_number_id") if isinstance(value, dict) else None
                if isinstance(pid, str) and pid not in out:
                    out.append(pid)
        return out

    def parse(self, raw_body: bytes) -> WebhookBatch:
        """Every inbound message and status of every entry and change, typed."""
        inbound: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        problems: list[WebhookProblem] = []
        try:
            hook = WireWebhook.model_validate_json(raw_body)
        except pydantic.ValidationError as exc:
            return WebhookBatch(problems=[_problem("body", exc, raw_body.decode("utf-8", "replace")[:2000])])
        for e_index, entry in enumerate(hook.entry):
            for c_index, change in enumerate(entry.changes):
                where = f"entry[{e_index}].changes[{c_index}]"
                if change.field != "messages":
                    continue  # other fields (automatic_events, account updates) belong to other handlers
                value = change.value
                try:
                    meta = WireMetadata.model_validate(value.get("metadata") or {})
                except pydantic.ValidationError as exc:
                    problems.append(_problem(f"{where}.value.metadata", exc, value))
                    continue
                contacts: dict[str, WireContact] = {}
                for raw in value.get("contacts") or []:
                    try:
                        c = WireContact.model_validate(raw)
                        contacts[c.wa_id] = c
                    except pydantic.ValidationError as exc:
                        problems.append(_problem(f"{where}.value.contacts", exc, raw))
                for m_index, raw in enumerate(value.get("messages") or []):
                    try:
                        inbound.append(self._inbound(WireInbound.model_validate(raw), meta, entry.id, contacts, raw))
                    except (pydantic.ValidationError, ValueError) as exc:
                        problems.append(_problem(f"{where}.value.messages[{m_index}]", exc, raw))
                for s_index, raw in enumerate(value.get("statuses") or []):
                    try:
                        statuses.append(self._status(WireStatus.model_validate(raw), meta, entry.id))
                    except (pydantic.ValidationError, ValueError) as exc:
                        problems.append(_problem(f"{where}.value.statuses[{s_index}]", exc, raw))
                for raw in value.get("errors") or []:
                    problems.append(WebhookProblem(where=f"{where}.value.errors", error="provider error", raw=raw))
        return WebhookBatch(inbound=inbound, statuses=statuses, problems=problems)

    @staticmethod
    def _inbound(m: WireInbound, meta: WireMetadata, waba_id: str | None, contacts: dict[str, WireContact],
                 raw: dict[str, Any]) -> InboundMessage:
        phone = try_normalize_phone("+" + m.from_.lstrip("+"))
        if phone is None:
            raise ValueError(f"'from' is not a phone number: {m.from_!r}")
        text = m.text.body if m.text else None
        button_payload = reply_id = None
        if m.button is not None:
            button_payload = m.button.payload
            text = m.button.text
        if m.interactive is not None:
            reply = m.interactive.button_reply or m.interactive.list_reply
            if reply is not None:
                reply_id, text = reply.id, reply.title
        media = None
        for kind in _MEDIA_TYPES:
            wm = getattr(m, kind)
            if wm is not None:
                media = MediaRef(id=wm.id, mime_type=wm.mime_type, sha256=wm.sha256, caption=wm.caption,
                                 filename=wm.filename)
                text = text or wm.caption
                break
        referral = None
        if m.referral is not None:
            r = m.referral
            referral = Referral(
                source_url=r.source_url, source_id=r.source_id, source_type=r.source_type, headline=r.headline,
                body=r.body, media_type=r.media_type, image_url=r.image_url, video_url=r.video_url,
                thumbnail_url=r.thumbnail_url, ctwa_clid=r.ctwa_clid,
                welcome_message=r.welcome_message.text if r.welcome_message else None,
                raw=dict(raw.get("referral") or {}),
            )
        contact = contacts.get(m.from_)
        return InboundMessage(
            provider_message_id=m.id, channel_id=meta.phone_number_id, account_id=waba_id, from_phone=phone,
            from_wa_id=m.from_, profile_name=contact.profile.name if contact and contact.profile else None,
            timestamp=_ts(m.timestamp), kind=m.type, text=text, button_payload=button_payload, reply_id=reply_id,
            media=media, referral=referral, context_message_id=m.context.id if m.context else None,
        )

    @staticmethod
    def _status(s: WireStatus, meta: WireMetadata, waba_id: str | None) -> StatusUpdate:
        status = WireDeliveryStatus(s.status).unified
        errors = [
            StatusError(code=str(e.code), title=e.title, message=e.message,
                        details=str((e.error_data or {}).get("details")) if (e.error_data or {}).get("details")
                        else None)
            for e in s.errors
        ]
        return StatusUpdate(
            provider_message_id=s.id, channel_id=meta.phone_number_id, account_id=waba_id, status=status,
            timestamp=_ts(s.timestamp), recipient_id=s.recipient_id, errors=errors,
            pricing_category=s.pricing.category if s.pricing else None,
            billable=s.pricing.billable if s.pricing else None,
        )
