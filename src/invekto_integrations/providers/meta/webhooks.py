"""Meta's ``automatic_events`` webhook (conversions Meta detected in Click-to-WhatsApp chats).

It arrives on the WhatsApp Business Account webhook (same envelope and signature as messages)::

    {"object":"whatsapp_business_account","entry":[{"id":"<WABA_ID>","changes":[{
      "field":"automatic_events","value":{"automatic_events":[{"id":"wamid...","event_name":"Purchase",
      "timestamp":"1764070000","ctwa_clid":"ARAk...","custom_data":{"currency":"TRY","value":1499.9}}]}}]}]}

A malformed item is reported (`PayloadError` naming the field and the item's id) and the rest read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from invekto_integrations.core.errors import PayloadError
from invekto_integrations.core.money import to_decimal
from invekto_integrations.models.ads import AutomaticEvent

from .mapping import PROVIDER

__all__ = ["parse_automatic_events"]


def _item(waba: str | None, raw: Mapping[str, Any]) -> AutomaticEvent:
    ident = raw.get("id")
    if not isinstance(ident, str) or not ident:
        raise PayloadError("id is missing", provider=PROVIDER, field="automatic_events.id", record=str(ident))
    name = raw.get("event_name")
    if not isinstance(name, str) or not name:
        raise PayloadError("event_name is missing", provider=PROVIDER, field="event_name", record=ident)
    try:
        at = datetime.fromtimestamp(int(raw["timestamp"]), UTC)  # seconds, as a string or a number
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"timestamp is not Unix seconds: {raw.get('timestamp')!r}", provider=PROVIDER,
                           field="timestamp", record=ident) from exc
    custom = raw.get("custom_data") or {}
    value = None
    if isinstance(custom, Mapping) and custom.get("value") is not None:
        try:
            value = to_decimal(custom["value"])
        except ValueError as exc:
            raise PayloadError(str(exc), provider=PROVIDER, field="custom_data.value", record=ident) from exc
    currency = custom.get("currency") if isinstance(custom, Mapping) else None
    clid = raw.get("ctwa_clid")
    return AutomaticEvent(waba_id=waba, message_id=ident, event_name=name, occurred_at=at,
                          ctwa_clid=clid if isinstance(clid, str) and clid else None, value=value,
                          currency=str(currency).upper() if currency else None)


def _list(value: Any) -> list[Any]:
    """A JSON array, or nothing (a field of the wrong type is skipped like a missing one)."""
    return value if isinstance(value, list) else []


def parse_automatic_events(body: bytes | str | Mapping[str, Any]) -> tuple[list[AutomaticEvent], list[PayloadError]]:
    """Every automatic event in a webhook body, and the errors of items that could not be read."""
    try:
        payload = json.loads(body) if isinstance(body, bytes | str) else body
    except ValueError as exc:
        raise PayloadError(f"not JSON: {exc}", provider=PROVIDER, field="body") from exc
    except RecursionError:
        raise PayloadError("not JSON: nested too deeply to read", provider=PROVIDER, field="body") from None
    events: list[AutomaticEvent] = []
    errors: list[PayloadError] = []
    if not isinstance(payload, Mapping):
        raise PayloadError("the body is not an object", provider=PROVIDER, field="body")
    for entry in _list(payload.get("entry")):
        if not isinstance(entry, Mapping):
            continue
        waba = entry.get("id")
        for change in _list(entry.get("changes")):
            if not isinstance(change, Mapping) or change.get("field") != "automatic_events":
                continue
            value = change.get("value") or {}
            for raw in _list(value.get("automatic_events")) if isinstance(value, Mapping) else []:
                try:
                    if not isinstance(raw, Mapping):
                        raise PayloadError("an item is not an object", provider=PROVIDER, field="automatic_events")
                    events.append(_item(str(waba) if waba else None, raw))
                except PayloadError as exc:
                    errors.append(exc)
    return events, errors
