"""Fault injection for fakes: switchable at run time, seeded, and counted."""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field, fields
from typing import Literal

from invekto_integrations.core.ratelimit import RateLimit

__all__ = ["FaultKind", "Faults"]

FaultKind = Literal["rate_limit", "error", "timeout", "drop", "truncate", "malformed", "latency"]


@dataclass
class Faults:
    """What a fake does wrong, on purpose.

    Rates are shares of requests (0..1). ``rate_limit`` enforces a server-side limit and answers
    with the provider's real throttling response; ``script`` forces the next outcomes in order
    (``"rate_limit"``, ``"error"``, ``"timeout"``, ``"drop"``, ``"truncate"``, ``"ok"``) for
    deterministic tests. ``counts`` says how often each fault was injected.
    """

    rate_limit: RateLimit | None = None
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

    def configure(self, **changes: object) -> None:
        """Change settings at run time (``script`` may be given as a list)."""
        names = {f.name for f in fields(self)}
        with self._lock:
            for key, value in changes.items():
                if key not in names or key == "counts":
                    raise ValueError(f"unknown fault setting {key!r}")
                if key == "script":
                    value = deque(value)  # type: ignore[call-overload]
                if key == "seed":
                    self._rng = random.Random(value)  # type: ignore[arg-type]
                setattr(self, key, value)

    def clear(self) -> None:
        with self._lock:
            self.rate_limit = None
            self.error_rate = self.timeout_rate = self.drop_rate = self.truncate_rate = 0.0
            self.malformed_rate = self.latency_seconds = 0.0
            self.script.clear()

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
