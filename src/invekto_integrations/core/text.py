"""Small text helpers shared by connectors and engines: Turkish folding and log clipping."""

from __future__ import annotations

import unicodedata

__all__ = ["clip", "fold", "fold_words"]

# The letters that case folding and NFKD get wrong for Turkish: dotted İ lowercases to "i̇" (with a
# combining dot), dotless ı has no decomposition. Both become a plain "i", like I and i.
_TURKISH_I = str.maketrans({"İ": "i", "I": "i", "ı": "i"})


def fold(text: str) -> str:
    """Case-, Turkish-letter- and accent-insensitive form with single spaces: the one key for
    matching Turkish text typed any way (``"İPTAL"``, ``"ıptal"``, ``"iptal"``; ``"Yurtiçi  Kargo"``
    → ``"yurtici kargo"``; ş→s, ğ→g, ü→u, ö→o, ç→c)."""
    out = _fold_once(text)
    for _ in range(3):  # a compatibility form can decompose to letters the pass did not see (℠ → SM)
        if out.isascii():
            break
        again = _fold_once(out)
        if again == out:
            break
        out = again
    return out


def _fold_once(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_TURKISH_I).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_TURKISH_I).casefold()
    return " ".join(text.split())


def fold_words(text: str) -> str:
    """`fold`, with punctuation treated as spaces: ``"iptal."`` and ``"İPTAL!"`` give ``"iptal"``."""
    folded = fold(text)
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def clip(value: object, limit: int = 80) -> str:
    """``value`` as text of at most ``limit`` characters (an ellipsis and the full length when cut),
    for logging values a provider controls: an unknown 5,000-character status code stays one line."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} chars)"
