"""Fault injection for fakes: switchable at run time, seeded, and counted.

Every fault a fake injects is counted in `Faults.counts` under its kind, so a test can assert
both what the client saw and what the server did:

===============  ==========================================================================
kind             what the client under test sees
===============  ==========================================================================
``rate_limit``   the provider's own throttling answer (usually 429 with ``Retry-After``): from the
                 enforced ``rate_limit``, or at random (``rate_limit_rate``)
``error``        the provider's server error answer (``error_status``, 503 by default)
``timeout``      no answer within its read timeout (the fake stalls ``timeout_seconds``)
``drop``         the connection closes after the status line, mid-response
``truncate``     a 2xx whose body is cut in half (invalid JSON/XML)
``malformed``    a well-formed body in which a record breaks the documented shape
``latency``      a slow but correct answer (``latency_seconds`` added)
===============  ==========================================================================
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field, fields
from typing import Literal, get_args

from invekto_integrations.core.ratelimit import RateLimit

__all__ = ["FAULT_KINDS", "FaultKind", "Faults"]

FaultKind = Literal["rate_limit", "error", "timeout", "drop", "truncate", "malformed", "latency"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
_SCRIPTABLE = frozenset({*FAULT_KINDS, "ok"})


@dataclass
class Faults:
    """What a fake does wrong, on purpose.

    Rates are shares of requests (0..1). ``rate_limit`` enforces a server-side limit and answers
    with the provider's real throttling response (``rate_limit_rate`` throttles a random share);
    ``script`` forces the outcomes of the next requests in order (any `FaultKind` or ``"ok"``) for
    deterministic tests. ``counts`` says how often each fault was injected. `clear` restores every
    setting to its default.
    """

    rate_limit: RateLimit | None = None
    rate_limit_rate: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    latency_seconds: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    malformed_rate: float = 0.0
    retry_after_seconds: float | None = 1.0
    seed: int = 0
    script: deque[str] = field(default_factory=deque)
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._check_script(self.script)

    @staticmethod
    def _check_script(script: object) -> None:
        for item in script:  # type: ignore[attr-defined]
            if item not in _SCRIPTABLE:
                raise ValueError(f"unknown scripted fault {item!r}; use one of {sorted(_SCRIPTABLE)}")

    def configure(self, **changes: object) -> None:
        """Change settings at run time (``script`` may be given as a list)."""
        names = {f.name for f in fields(self)}
        with self._lock:
            for key, value in changes.items():
                if key not in names or key == "counts":
                    raise ValueError(f"unknown fault setting {key!r}")
                if key == "script":
                    self._check_script(value)
                    value = deque(value)  # type: ignore[call-overload]
                if key.endswith("_rate") and not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
                    raise ValueError(f"{key} must be between 0 and 1, got {value!r}")
                if key == "seed":
                    self._rng = random.Random(value)  # type: ignore[arg-type]
                setattr(self, key, value)

    def clear(self) -> None:
        """Back to no faults (defaults for every setting; the seed and counts are kept)."""
        defaults = Faults()
        with self._lock:
            for f in fields(self):
                if f.name not in ("seed", "counts", "script"):
                    setattr(self, f.name, getattr(defaults, f.name))
            self.script.clear()
            self._rng = random.Random(self.seed)

    def next_scripted(self) -> str | None:
        with self._lock:
            return self.script.popleft() if self.script else None

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def count(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] += 1

    def snapshot(self) -> dict[str, object]:
        """The settings as JSON-friendly values (for the control API)."""
        with self._lock:
            out: dict[str, object] = {}
            for f in fields(self):
                value = getattr(self, f.name)
                if f.name == "rate_limit":
                    value = None if value is None else {
                        "requests": value.requests, "per_seconds": value.per_seconds, "burst": value.burst}
                elif f.name in ("script", "counts"):
                    value = list(value) if f.name == "script" else dict(value)
                out[f.name] = value
            return out
