"""Small text helpers shared by connectors."""

from __future__ import annotations

__all__ = ["clip"]


def clip(value: object, limit: int = 80) -> str:
    """``value`` as text of at most ``limit`` characters (an ellipsis and the full length when cut),
    for logging values a provider controls: an unknown 5,000-character status code stays one line."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} chars)"
