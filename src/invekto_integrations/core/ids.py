"""Our own ids: ULIDs, sortable by creation time."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id"]

# Crockford's base32, the ULID alphabet (https://github.com/ulid/spec).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SHIFTS = tuple(range(125, -1, -5))  # 26 digits of 5 bits, most significant first
_RANDOM_MAX = (1 << 80) - 1
_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def new_id() -> str:
    """A new ULID (48-bit millisecond time, 80 random bits), monotonic within a millisecond as the spec
    describes. Generated here rather than through ``python-ulid`` objects: that cost ~1.5× as much per id,
    and a backfill makes several ids per order (``python-ulid`` still parses them: ``ULID.from_str``)."""
    global _last_ms, _last_random
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last_ms and _last_random < _RANDOM_MAX:
            ms, rnd = _last_ms, _last_random + 1  # same millisecond (or the clock stepped back): count up
        else:
            rnd = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_random = ms, rnd
    value = (ms << 80) | rnd
    return "".join([_ALPHABET[(value >> s) & 31] for s in _SHIFTS])
