"""Phone numbers as E.164 strings (default region TR); compare phones only after normalizing."""

from __future__ import annotations

import functools
import re

import phonenumbers

from .errors import InvalidArgument

__all__ = ["e164_shaped", "is_masked", "normalize_phone", "tr_phone_by_format", "try_normalize_phone"]

_MASK = re.compile(r"[*xX•]{2,}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_TR_FORMAT = re.compile(r"\+90[0-9]{10}")
_SEPARATORS = re.compile(r"[\s\-().]")


def is_masked(raw: str) -> bool:
    """True for provider-masked numbers such as ``0532***45**``: real, but not usable."""
    return bool(_MASK.search(raw))


def normalize_phone(raw: str, region: str = "TR") -> str:
    """Return ``raw`` in E.164 (``+905321234567``) or raise `InvalidArgument` (a ``ValueError``)
    naming the field ``phone``.

    Accepts the forms Turkish customers and providers write: ``0532 123 45 67``,
    ``+90 532 123 45 67``, ``90532...``, ``532...``, ``(0532) 123-45-67``.
    """
    if not isinstance(raw, str):
        raise InvalidArgument(f"expected a string, got {type(raw).__name__}", field="phone")
    return _normalize(raw, region)


# Customers come back order after order: parsing with libphonenumber dominated mapping a page.
# Only valid results are cached (an exception is not). Kept small: 65,536 entries held ~17 MiB, which
# showed as a sync's peak memory growing with the number of distinct customers (4,096: ~1 MiB).
@functools.lru_cache(maxsize=4_096)
def _normalize(raw: str, region: str) -> str:
    text = raw.strip()
    if not text or is_masked(text):
        raise InvalidArgument(f"not a usable phone number: {raw!r}", field="phone")
    digits = re.sub(r"\D", "", text)
    if region == "TR" and not text.startswith("+"):
        # 90XXXXXXXXXX without the plus and 00-prefixed international forms are common in TR data.
        if digits.startswith("00"):
            text = "+" + digits[2:]
        elif len(digits) == 12 and digits.startswith("90"):
            text = "+" + digits
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidArgument(f"not a phone number: {raw!r}", field="phone") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidArgument(f"not a valid phone number: {raw!r}", field="phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str | None, region: str = "TR") -> str | None:
    """`normalize_phone`, or ``None`` for absent, masked or invalid input."""
    if raw is None:
        return None
    try:
        return normalize_phone(raw, region)
    except ValueError:
        return None


def e164_shaped(raw: str | None) -> str | None:
    """``raw`` if it already has the E.164 shape (``+``, 7-15 digits, no leading zero), else ``None``.

    For ids a provider vouches for (a WhatsApp id) that libphonenumber calls invalid (test numbers,
    ranges allocated after its data): usable as a key, not proof of a dialable number.
    """
    if raw is None or not _E164.fullmatch(raw):
        return None
    return raw


def tr_phone_by_format(raw: str) -> str | None:
    """``+90`` and ten digits from the forms Turkish data uses (``0532 123 45 67``, ``90532...``,
    ``+90 (532) ...``, ``532...``), judged by format alone, or ``None``.

    İYS validates recipients this way; its own examples use ranges libphonenumber calls unallocated
    (``+90 581 ...``), so its validity check must not decide who can be registered.
    """
    if not isinstance(raw, str):
        return None
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+"):
        candidate = text
    elif text.startswith("0090"):
        candidate = "+" + text[2:]
    elif text.startswith("90") and len(text) == 12:
        candidate = "+" + text
    elif text.startswith("0") and len(text) == 11:
        candidate = "+9" + text
    elif len(text) == 10:
        candidate = "+90" + text
    else:
        return None
    return candidate if _TR_FORMAT.fullmatch(candidate) else None
