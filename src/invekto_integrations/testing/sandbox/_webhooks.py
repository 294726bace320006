"""Webhook delivery from a fake to a configured URL, on a background thread.

A fake never posts from inside its own request handler (that could deadlock a single-loop
server posting to itself); it queues, and this dispatcher delivers in order and records the
outcome. ``drain()`` waits until the queue is empty, for tests.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import httpx

__all__ = ["Delivery", "WebhookDispatcher"]


@dataclass(frozen=True)
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None
    error: str | None


class WebhookDispatcher:
    def __init__(self, transport: httpx.BaseTransport | None = None, timeout: float = 10.0) -> None:
        self.transport = transport
        self.timeout = timeout
        self.delivered: list[Delivery] = []
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str]] | None] = queue.Queue()
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

    def _run(self) -> None:
        with httpx.Client(transport=self.transport, timeout=self.timeout) as client:
            while True:
                try:
                    item = self._queue.get(timeout=5.0)
                except queue.Empty:
                    return
                if item is None:
                    with self._lock:
                        if self._markers:
                            self._markers.pop(0).set()
                    continue
                url, body, headers = item
                try:
                    response = client.post(url, content=body, headers=headers)
                    self.delivered.append(Delivery(url, body, headers, response.status_code, None))
                except httpx.HTTPError as exc:
                    self.delivered.append(Delivery(url, body, headers, None, f"{type(exc).__name__}: {exc}"))
