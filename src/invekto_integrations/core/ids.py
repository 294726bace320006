"""Our own ids: ULIDs, sortable by creation time."""

from __future__ import annotations

from ulid import ULID

__all__ = ["new_id"]


def new_id() -> str:
    return str(ULID())
