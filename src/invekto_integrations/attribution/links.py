"""Tracked WhatsApp links (3.14.1): a campaign link whose redirect ends at ``wa.me/<number>?text=...``
with a short, unguessable reference code in the prefilled text; clicks; the code found again in
the customer's first message.

Codes are drawn with `secrets` from 30 unambiguous characters (no 0/O, 1/I/L, U), 8 long
(30^8 ≈ 6.6e11), so a customer retyping one cannot confuse letters, and matching ignores case.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.models.attribution import AdRef, LinkClick, TrackedLink, Utm
from invekto_integrations.storage.protocols import DuplicateRecord
from invekto_integrations.storage.protocols_attribution import TrackedLinkRepository

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "DEFAULT_TEXT",
    "create_link",
    "find_link_in_text",
    "new_code",
    "record_click",
]

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
DEFAULT_TEXT = "Merhaba, bilgi almak istiyorum. Referans: {code}"
_TOKEN = re.compile(r"[0-9A-Za-z]+")
_MAX_UA = 512


def new_code() -> str:
    """A fresh reference code (cryptographically random)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _clean(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) > 200:
        raise InvalidArgument("longer than 200 characters", field=field, record=text[:40])
    return text or None


def create_link(
    repo: TrackedLinkRepository,
    tenant_id: str,
    wa_number: str,
    *,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    utm_campaign: str | None = None,
    utm_content: str | None = None,
    utm_term: str | None = None,
    text: str = DEFAULT_TEXT,
    ad: AdRef | None = None,
    channel_name: str | None = None,
    clock: Clock | None = None,
) -> TrackedLink:
    """Create and store a tracked link for a campaign; ``text`` must contain ``{code}``.

    Unless ``ad`` names one, the link's campaign is ``utm:<utm_campaign>`` (so spend entered for
    that campaign id and leads from the link meet in the funnel).
    """
    if "{code}" not in text:
        raise InvalidArgument("the prefilled text must contain {code}", field="text", record=text[:40])
    try:
        number = normalize_phone(wa_number).removeprefix("+")
    except InvalidArgument as exc:
        raise InvalidArgument(exc.message, field="wa_number", record=wa_number) from None
    utm = Utm(source=_clean(utm_source, "utm_source"), medium=_clean(utm_medium, "utm_medium"),
              campaign=_clean(utm_campaign, "utm_campaign"), content=_clean(utm_content, "utm_content"),
              term=_clean(utm_term, "utm_term"))
    if ad is None:
        ad = AdRef(campaign_id=f"utm:{utm.campaign}", campaign_name=utm.campaign) if utm.campaign else AdRef()
    now = (clock or SystemClock()).now()
    for _ in range(5):  # a collision is astronomically rare; retry with a new code if it happens
        code = new_code()
        link = TrackedLink(tenant_id=tenant_id, code=code, wa_number=number, text=text.replace("{code}", code),
                           utm=utm, ad=ad, channel_name=channel_name, created_at=now)
        try:
            repo.add(tenant_id, link)
        except DuplicateRecord:
            continue
        return link
    raise DuplicateRecord("could not draw a free reference code")


def _code(code: str) -> str | None:
    text = code.strip().upper()
    if len(text) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in text):
        return None
    return text


def record_click(repo: TrackedLinkRepository, tenant_id: str | None, code: str, *,
                 query: Mapping[str, str] | None = None, user_agent: str | None = None, at: datetime | None = None,
                 clock: Clock | None = None) -> TrackedLink | None:
    """Record a click on ``/r/{code}`` (``fbclid``/``gclid`` from the query) and return the link to
    redirect to (its ``wa_url``), or ``None`` for an unknown code (nothing is recorded).

    ``tenant_id=None``: the public redirect, which knows only the code (codes are unique across
    tenants); the click is recorded under the link's tenant.
    """
    clean = _code(code)
    if clean is None:
        return None
    link = repo.resolve_code(clean) if tenant_id is None else repo.get_by_code(tenant_id, clean)
    if link is None:
        return None
    tenant_id = link.tenant_id
    q = query or {}
    repo.record_click(tenant_id, LinkClick(tenant_id=tenant_id, code=link.code,
                                           at=at or (clock or SystemClock()).now(),
                                           fbclid=(q.get("fbclid") or None), gclid=(q.get("gclid") or None),
                                           user_agent=user_agent[:_MAX_UA] if user_agent else None))
    return link


def find_link_in_text(repo: TrackedLinkRepository, tenant_id: str, text: str | None) -> TrackedLink | None:
    """The tracked link whose code appears in a message, whatever the text around it or the case.

    Every alphanumeric run of the code's length made only of code characters is looked up, and
    also every code-length window of a longer run (a customer who deleted the space before it).
    """
    if not text:
        return None
    seen: set[str] = set()
    for token in _TOKEN.findall(text.upper()):
        if len(token) < CODE_LENGTH:
            continue
        for i in range(len(token) - CODE_LENGTH + 1):
            candidate = token[i:i + CODE_LENGTH]
            if candidate in seen or any(ch not in CODE_ALPHABET for ch in candidate):
                continue
            seen.add(candidate)
            link = repo.get_by_code(tenant_id, candidate)
            if link is not None:
                return link
    return None
