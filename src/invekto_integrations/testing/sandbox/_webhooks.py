"""Webhook delivery from a fake to a configured URL, on a background thread.

A fake never posts from inside its own request handler (that could deadlock a single-loop
server posting to itself); it queues, and this dispatcher delivers in order and records the
outcome. ``drain()`` waits until the queue is empty, for tests. ``close()`` (or leaving a
``with`` block) delivers what is queued, stops the worker thread and waits for it, so nothing
touches the receiver (and the store behind it) afterwards; `Sandbox.stop` closes every fake's
dispatcher. A dispatcher can be used again after ``close()``: the next ``send`` starts a new worker.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Self

import httpx

from invekto_integrations.core.reprs import ConciseRepr

__all__ = ["Delivery", "WebhookDispatcher"]

_STOP = object()


@dataclass(frozen=True)
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None
    error: str | None


class WebhookDispatcher(ConciseRepr):
    def __init__(self, transport: httpx.BaseTransport | None = None, timeout: float = 10.0) -> None:
        self.transport = transport
        self.timeout = timeout
        self.delivered: list[Delivery] = []
        # None = a drain marker; _STOP = the worker exits (close)
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str]] | object | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._markers: list[threading.Event] = []

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        with self._lock:
            self._queue.put((url, body, headers))
            self._ensure_worker()

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def drain(self, timeout: float = 10.0) -> list[Delivery]:
        """Wait until every queued webhook was attempted; return all deliveries so far."""
        done = threading.Event()
        with self._lock:
            self._markers.append(done)  # the worker sets it when it reaches the marker below
            self._queue.put(None)
            self._ensure_worker()
        done.wait(timeout)
        return list(self.delivered)

    @property
    def running(self) -> bool:
        """Whether a worker thread is alive (it exits after ``close()`` or 5 s without work)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, then stop the worker and wait for it (at most ``timeout`` s)."""
        with self._lock:
            thread = self._thread
            if thread is None or not thread.is_alive():
                self._thread = None
                return
            self._queue.put(_STOP)
        thread.join(timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        with httpx.Client(transport=self.transport, timeout=self.timeout) as client:
            while True:
                try:
                    item = self._queue.get(timeout=5.0)
                except queue.Empty:
                    with self._lock:  # exit only if nothing was queued meanwhile (send holds the lock)
                        if self._queue.empty():
                            if self._thread is threading.current_thread():
                                self._thread = None
                            return
                    continue
                if item is _STOP:
                    with self._lock:
                        if not self._queue.empty():  # sent after close() began: deliver it first
                            self._queue.put(_STOP)
                            continue
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                if item is None:
                    with self._lock:
                        if self._markers:
                            self._markers.pop(0).set()
                    continue
                assert isinstance(item, tuple)
                url, body, headers = item
                try:
                    response = client.post(url, content=body, headers=headers)
                    self.delivered.append(Delivery(url, body, headers, response.status_code, None))
                except httpx.HTTPError as exc:
                    self.delivered.append(Delivery(url, body, headers, None, f"{type(exc).__name__}: {exc}"))
