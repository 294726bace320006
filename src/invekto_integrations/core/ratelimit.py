"""Client-side rate limiting: one token bucket per (provider, account), shared by sync and async.

The bucket works by reservation: taking a token returns how long the caller must wait before
using it, computed under a thread lock. The caller then sleeps outside the lock (a thread sleep or
an ``await``), so one bucket serves threads and event loops alike and a long sync runs at the
provider's published rate without provoking 429s.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from .clock import Clock, SystemClock
from .reprs import ConciseRepr

__all__ = ["DEFAULT_REGISTRY", "RateLimit", "RateLimiterRegistry", "TokenBucket", "registry_for"]


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``per_seconds``, with bursts up to ``burst`` (default: 1 s worth, min 1)."""

    requests: float
    per_seconds: float = 1.0
    burst: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.per_seconds

    @property
    def capacity(self) -> float:
        if self.burst is not None:
            return max(1.0, self.burst)
        return max(1.0, min(self.requests, self.rate))

    @classmethod
    def per_minute(cls, n: float, burst: float | None = None) -> RateLimit:
        return cls(n, 60.0, burst)


class TokenBucket(ConciseRepr, fields=("limit",)):
    """A thread-safe token bucket driven by an injectable clock.

    ``initial`` tokens (default: a full burst) are available at once (see `RateLimiterRegistry`)."""

    def __init__(self, limit: RateLimit, clock: Clock | None = None, *, initial: float | None = None) -> None:
        self.limit = limit
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._tokens = limit.capacity if initial is None else min(limit.capacity, initial)
        self._stamp = self._clock.monotonic()

    def reserve(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` now (possibly going into debt) and return the seconds to wait first."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self.limit.capacity, self._tokens + (now - self._stamp) * self.limit.rate)
            self._stamp = now
            self._tokens -= tokens
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.limit.rate

    def acquire(self, tokens: float = 1.0) -> float:
        """Block the thread until ``tokens`` may be used; return the time waited."""
        wait = self.reserve(tokens)
        self._clock.sleep(wait)
        return wait

    async def aacquire(self, tokens: float = 1.0) -> float:
        """Wait on the event loop until ``tokens`` may be used; return the time waited."""
        wait = self.reserve(tokens)
        await self._clock.asleep(wait)
        return wait


class RateLimiterRegistry(ConciseRepr):
    """Buckets keyed by (provider, account): every client of one account shares one bucket.

    ``initial_tokens``: what a new bucket holds (default: a full burst). `DEFAULT_REGISTRY` starts
    buckets with one token: the provider's own bucket for the account is full too, but its refill
    clock starts a little later than ours, so a client spending a whole burst and then the first
    refill met it empty (one 429 per account in the first second when many accounts start)."""

    def __init__(self, clock: Clock | None = None, *, initial_tokens: float | None = None) -> None:
        self.initial_tokens = initial_tokens
        self._clock = clock or SystemClock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, provider: str, account: str, limit: RateLimit) -> TokenBucket:
        key = (provider, account)
        with self._lock:
            found = self._buckets.get(key)
            if found is None or found.limit != limit:
                found = TokenBucket(limit, self._clock, initial=self.initial_tokens)
                self._buckets[key] = found
            return found


# One process-wide registry is the default, so that two clients built for the same account
# (say, a sync engine and a notebook) still share the account's budget.
DEFAULT_REGISTRY = RateLimiterRegistry(initial_tokens=1.0)


_BY_CLOCK: dict[int, RateLimiterRegistry] = {}
_BY_CLOCK_LOCK = threading.Lock()


def registry_for(clock: Clock | None) -> RateLimiterRegistry:
    """The registry a client uses when it is given none: `DEFAULT_REGISTRY` on the real clock, else
    one registry per injected clock, so a fake clock's buckets also wait on it (clients sharing that
    clock still share their accounts' buckets)."""
    if clock is None or type(clock) is SystemClock:
        return DEFAULT_REGISTRY
    key = id(clock)
    with _BY_CLOCK_LOCK:
        found = _BY_CLOCK.get(key)
        if found is None:
            found = _BY_CLOCK[key] = RateLimiterRegistry(clock)
            weakref.finalize(clock, _BY_CLOCK.pop, key, None)
        return found
