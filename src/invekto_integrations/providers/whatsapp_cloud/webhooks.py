"""WhatsApp Cloud webhooks: the GET handshake, the ``X-Hub-Signature-256`` check, typed parsing.

No I/O here. The signature is an HMAC-SHA256 of the raw body bytes keyed with the App Secret,
compared in constant time; verify it before trusting (or even routing by) anything in the body.
One malformed message or status is reported as a `WebhookProblem`; the rest of the batch is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pydantic

from invekto_integrations.core.phone import try_normalize_phone
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.messaging import (
    ContactAddress,
    ContactCard,
    ContactEmail,
    ContactName,
    ContactOrg,
    ContactPhone,
    ContactUrl,
    InboundMessage,
    Location,
    MediaRef,
    PhoneStatus,
    Reaction,
    Referral,
    StatusError,
    StatusUpdate,
    SystemNotice,
    WebhookBatch,
    WebhookProblem,
)
from invekto_integrations.providers._common import log_unknown_status

from .mapping import PROVIDER, WireDeliveryStatus
from .wire import (
    WireContact,
    WireContactCard,
    WireInbound,
    WireMetadata,
    WireStatus,
    WireStatusError,
    WireWebhook,
)

log = logging.getLogger("invekto_integrations.providers.whatsapp_cloud")
_KNOWN_STATUSES = frozenset(s.value for s in WireDeliveryStatus)

__all__ = ["SIGNATURE_HEADER", "WhatsAppWebhooks", "sender_phone", "sign_body"]

SIGNATURE_HEADER = "X-Hub-Signature-256"
_MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


def sign_body(raw_body: bytes, app_secret: str) -> str:
    """The header value Meta sends: ``sha256=<hex hmac>``."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def _ts(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError) as exc:  # 10**20 seconds: no datetime holds it
        raise ValueError(f"timestamp {value[:40]!r} is out of range") from exc


def sender_phone(wa_id: str) -> tuple[str | None, PhoneStatus]:
    """A WhatsApp id as a phone: E.164 when libphonenumber accepts it, ``+digits`` when it is digits
    libphonenumber calls invalid (test numbers, new ranges), ``None`` when it is no number at all."""
    digits = wa_id.strip().removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        return None, PhoneStatus.WITHHELD
    phone = try_normalize_phone("+" + digits)
    if phone is not None:
        return phone, PhoneStatus.VALID
    if 7 <= len(digits) <= 15 and not digits.startswith("0"):  # E.164: at most 15 digits, no leading 0
        return "+" + digits, PhoneStatus.UNVERIFIED
    return None, PhoneStatus.WITHHELD


def _errors(errors: list[WireStatusError]) -> list[StatusError]:
    out = []
    for e in errors:
        details = (e.error_data or {}).get("details")
        out.append(StatusError(code=str(e.code), title=e.title, message=e.message,
                               details=str(details) if details else None))
    return out


def _card(c: WireContactCard) -> ContactCard:
    return ContactCard(
        name=ContactName.model_validate(c.name.model_dump(exclude_unset=False)) if c.name else ContactName(),
        phones=[ContactPhone(phone=x.phone, wa_id=x.wa_id, type=x.type) for x in c.phones],
        emails=[ContactEmail(email=x.email, type=x.type) for x in c.emails],
        addresses=[ContactAddress(street=x.street, city=x.city, state=x.state, zip=x.zip, country=x.country,
                                  country_code=x.country_code, type=x.type) for x in c.addresses],
        org=ContactOrg(company=c.org.company, department=c.org.department, title=c.org.title) if c.org else None,
        urls=[ContactUrl(url=x.url, type=x.type) for x in c.urls],
        birthday=c.birthday,
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _problem(where: str, exc: Exception, raw: Any) -> WebhookProblem:
    field = None
    message = str(exc)
    if isinstance(exc, pydantic.ValidationError) and exc.errors():
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = first["msg"]
    # A record that is not even an object or array (a number, true, null) is kept as its JSON text.
    kept = raw if isinstance(raw, dict | list | str) else json.dumps(raw, default=str)
    return WebhookProblem(where=where, field=field, error=message, raw=kept)


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
        """The ``phone_number_id`` values the body names (untrusted: call after the signature check)."""
        try:
            hook = WireWebhook.model_validate_json(raw_body)
        except pydantic.ValidationError:
            return []
        out: list[str] = []
        for entry in hook.entry:
            for change in entry.changes:
                meta = change.value.get("metadata")
                pid = meta.get("phone_number_id") if isinstance(meta, dict) else None
                if isinstance(pid, str) and pid not in out:
                    out.append(pid)
        return out

    def parse(self, raw_body: bytes) -> WebhookBatch:
        """Every inbound message and status of every entry and change, typed. A body that is not a
        webhook envelope at all (not JSON, nested too deep, wrong shape) is one problem at ``body``
        (`WebhookBatch.malformed`); nothing in it raises."""
        inbound: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        problems: list[WebhookProblem] = []
        try:
            hook = WireWebhook.model_validate_json(raw_body)  # pydantic-core's parser bounds the nesting
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
                for raw in _list(value.get("contacts")):
                    try:
                        c = WireContact.model_validate(raw)
                        contacts[c.wa_id] = c
                    except pydantic.ValidationError as exc:
                        problems.append(_problem(f"{where}.value.contacts", exc, raw))
                for m_index, raw in enumerate(_list(value.get("messages"))):
                    try:
                        inbound.append(self._inbound(WireInbound.model_validate(raw), meta, entry.id, contacts, raw))
                    except (pydantic.ValidationError, ValueError) as exc:
                        problems.append(_problem(f"{where}.value.messages[{m_index}]", exc, raw))
                for s_index, raw in enumerate(_list(value.get("statuses"))):
                    status = raw.get("status") if isinstance(raw, dict) else None
                    if isinstance(status, str) and status not in _KNOWN_STATUSES:
                        # A status Meta added after these docs (e.g. for a new message kind): news, not a
                        # broken payload. Nothing here can act on it; logged once per value.
                        log_unknown_status(log, PROVIDER, "message status", status)
                        continue
                    try:
                        statuses.append(self._status(WireStatus.model_validate(raw), meta, entry.id))
                    except (pydantic.ValidationError, ValueError) as exc:
                        problems.append(_problem(f"{where}.value.statuses[{s_index}]", exc, raw))
                for raw in _list(value.get("errors")):
                    code = raw.get("code") if isinstance(raw, dict) else None
                    title = raw.get("title") if isinstance(raw, dict) else None
                    problems.append(WebhookProblem(where=f"{where}.value.errors", field=None,
                                                   error=f"provider error {code}: {title}", raw=raw))
        return WebhookBatch(inbound=inbound, statuses=statuses, problems=problems)

    @staticmethod
    def _inbound(m: WireInbound, meta: WireMetadata, waba_id: str | None, contacts: dict[str, WireContact],
                 raw: dict[str, Any]) -> InboundMessage:
        if not m.from_.strip():
            raise ValueError("'from' is empty")
        phone, phone_status = sender_phone(m.from_)
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
        loc = m.location
        return InboundMessage(
            provider_message_id=m.id, channel_id=meta.phone_number_id, account_id=waba_id, from_phone=phone,
            phone_status=phone_status, from_wa_id=m.from_,
            profile_name=contact.profile.name if contact and contact.profile else None,
            timestamp=_ts(m.timestamp), kind=m.type, text=text, button_payload=button_payload, reply_id=reply_id,
            media=media, referral=referral, context_message_id=m.context.id if m.context else None,
            location=Location(latitude=loc.latitude, longitude=loc.longitude, name=loc.name, address=loc.address,
                              url=loc.url) if loc is not None else None,
            contacts=[_card(c) for c in m.contacts],
            reaction=Reaction(message_id=m.reaction.message_id, emoji=m.reaction.emoji or None)
            if m.reaction is not None else None,
            system=SystemNotice(type=m.system.type, body=m.system.body, new_wa_id=m.system.new_wa_id,
                                wa_id=m.system.wa_id) if m.system is not None else None,
            errors=_errors(m.errors),
        )

    @staticmethod
    def _status(s: WireStatus, meta: WireMetadata, waba_id: str | None) -> StatusUpdate:
        status = WireDeliveryStatus(s.status).unified
        errors = _errors(s.errors)
        return StatusUpdate(
            provider_message_id=s.id, channel_id=meta.phone_number_id, account_id=waba_id, status=status,
            timestamp=_ts(s.timestamp), recipient_id=s.recipient_id, errors=errors,
            pricing_category=s.pricing.category if s.pricing else None,
            billable=s.pricing.billable if s.pricing else None,
            biz_opaque_callback_data=s.biz_opaque_callback_data,
        )
