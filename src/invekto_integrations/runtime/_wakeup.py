"""How an idle runtime waits: on the store's wake-ups when it has them (PostgreSQL ``LISTEN``),
else a plain sleep. Either way the wait ends at ``idle`` (polling stays the safety net: a
notification is a hint, one missed while a connection was down costs one idle interval) and
`Runtime.stop` cuts it short."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import Protocol

__all__ = ["Wakeups"]

log = logging.getLogger("invekto_integrations.runtime")

_SLICE = 0.25  # real seconds between looks at the stop flag while listening
_RETRY = 30.0  # real seconds before listening again after the listener failed


class Wakeups(Protocol):
    """What a store's ``wakeups()`` returns (`PostgresStore` has one)."""

    def wait(self, timeout: float) -> Collection[str]:
        """Up to ``timeout`` seconds for new work; the tenants that got some (empty: none)."""
        ...

    def close(self) -> None: ...


class Idle:
    """One runtime's idle waits (opened lazily, closed by `close`)."""

    def __init__(self, store: object, stop: threading.Event,
                 serves: Callable[[str], bool] = lambda tenant: True) -> None:
        opener = getattr(store, "wakeups", None)
        self._open: Callable[[], Wakeups] | None = opener if callable(opener) else None
        self._stop = stop
        self._serves = serves
        self._wakeups: Wakeups | None = None
        self._retry_at = 0.0

    def _listener(self) -> Wakeups | None:
        if self._wakeups is None and self._open is not None and time.monotonic() >= self._retry_at:
            try:
                self._wakeups = self._open()
            except Exception:
                log.warning("runtime: the store's wake-ups are unavailable, polling only", exc_info=True)
                self._retry_at = time.monotonic() + _RETRY
        return self._wakeups

    def wait(self, seconds: float) -> None:
        """Until new work for a served tenant is announced, ``seconds`` pass, or the runtime stops."""
        deadline = time.monotonic() + seconds
        listener = self._listener()
        while listener is not None and not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                tenants = listener.wait(min(left, _SLICE))
            except Exception:
                log.warning("runtime: the store's wake-ups failed, polling only for a while", exc_info=True)
                self.close()
                self._retry_at = time.monotonic() + _RETRY
                break
            if any(self._serves(t) for t in tenants):
                return
        self._stop.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self._wakeups is not None:
            try:
                self._wakeups.close()
            except Exception:  # closing a broken connection: nothing left to do
                log.debug("runtime: closing the wake-ups failed", exc_info=True)
            self._wakeups = None
