"""The retry policy (tenacity): 429, 5xx, timeouts and dropped connections; Retry-After honoured
(on a 429, and on a 503 that sends one).

Only `core.http` uses it. A call is retried when its error is transient *and* the endpoint is
safe to repeat: reads always, writes only when the endpoint carries an idempotency/dedupe key
(or the failure happened before any byte was sent, such as a refused connection).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
)

from .clock import Clock, SystemClock
from .errors import PayloadError, ProviderUnavailable, RateLimited

__all__ = ["RetryPolicy", "is_transient", "parse_retry_after"]

T = TypeVar("T")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP-date; ``None`` if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx and transport failures, and a 2xx body cut mid-transfer (a `PayloadError`
    marked ``truncated``); never a 4xx other than 429."""
    if isinstance(exc, RateLimited):
        return True
    if isinstance(exc, PayloadError) and getattr(exc, "truncated", False):
        return True
    if isinstance(exc, ProviderUnavailable):
        return exc.status is None or exc.status >= 500
    return False


def _hint(exc: BaseException | None) -> float | None:
    """The server's Retry-After of a 429 (`RateLimited`) or a 503 (`ProviderUnavailable`)."""
    if isinstance(exc, RateLimited | ProviderUnavailable):
        return exc.retry_after
    return None


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, capped per wait, per attempt count and in total.

    ``sleep``/``asleep`` come from the clock, so a test with a `FrozenClock` never really waits;
    ``rng`` is separate so jitter can be seeded.
    """

    max_attempts: int = 4
    max_total_seconds: float = 60.0
    base_seconds: float = 0.5
    max_backoff_seconds: float = 8.0
    max_retry_after_seconds: float = 120.0
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        return cls(max_attempts=1)

    def backoff(self, attempt: int) -> float:
        """Wait before retry number ``attempt`` (1-based) when the provider gave no hint."""
        ceiling = min(self.max_backoff_seconds, self.base_seconds * (2 ** (attempt - 1)))
        return self.rng.uniform(ceiling / 2, ceiling)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hint = _hint(exc)
        if hint is not None:
            return min(hint, self.max_retry_after_seconds)
        return self.backoff(state.attempt_number)

    def _should_retry(self, safe: bool) -> Callable[[BaseException], bool]:
        def check(exc: BaseException) -> bool:
            if not is_transient(exc):
                return False
            if safe:
                # A Retry-After beyond our cap means "not now": give up instead of stalling.
                return (_hint(exc) or 0) <= self.max_retry_after_seconds
            return bool(getattr(exc, "unsent", False))

        return check

    def _kwargs(self, safe: bool) -> dict[str, object]:
        # The budget runs on the injected clock (tenacity's own stop_after_delay reads the real
        # one), and a wait that would end past it gives up now instead of sleeping first.
        start = self.clock.monotonic()
        waits: dict[int, float] = {}  # one draw per attempt, whichever of stop/wait tenacity asks first

        def wait(state: RetryCallState) -> float:
            if state.attempt_number not in waits:
                waits[state.attempt_number] = self._wait(state)
            return waits[state.attempt_number]

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            return self.clock.monotonic() - start + wait(state) > self.max_total_seconds

        return {
            "stop": stop,
            "wait": wait,
            "retry": retry_if_exception(self._should_retry(safe)),
            "reraise": True,
        }

    def call(self, fn: Callable[[], T], *, safe: bool) -> T:
        retrying = Retrying(sleep=self.clock.sleep, **self._kwargs(safe))  # type: ignore[arg-type]
        return retrying(fn)

    async def acall(self, fn: Callable[[], Awaitable[T]], *, safe: bool) -> T:
        retrying = AsyncRetrying(sleep=self.clock.asleep, **self._kwargs(safe))  # type: ignore[arg-type]
        return await retrying(fn)


