"""In-process transports over a fake's ASGI app, sync and async, that behave like sockets.

`httpx.ASGITransport` is async only and ignores timeouts; these wrappers enforce the request's
read timeout and turn a dropped connection into the `httpx` error a real socket would give, so a
client under test sees the same failures in-process as over loopback.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp

from invekto_integrations.core.reprs import ConciseRepr

from ._fake import ConnectionDropped

__all__ = ["AsyncSandboxTransport", "SyncSandboxTransport"]

T = TypeVar("T")


class AsyncSandboxTransport(httpx.AsyncBaseTransport, ConciseRepr):
    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = (request.extensions.get("timeout") or {}).get("read")
        try:
            response = await asyncio.wait_for(self._inner.handle_async_request(request), timeout)
            body = await response.aread()
        except TimeoutError as exc:
            raise httpx.ReadTimeout("sandbox: read timed out", request=request) from exc
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError("sandbox: server disconnected without a response", request=request) from exc
        return httpx.Response(response.status_code, headers=response.headers, content=body,
                              request=request, extensions=response.extensions)


class _LoopThread:
    """One event loop on a daemon thread, shared by every sync transport of the process."""

    _instance: _LoopThread | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sandbox-loop", daemon=True)
        self.thread.start()

    @classmethod
    def get(cls) -> _LoopThread:
        with cls._guard:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


class SyncSandboxTransport(httpx.BaseTransport, ConciseRepr):
    def __init__(self, app: ASGIApp) -> None:
        self._async = AsyncSandboxTransport(app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def go() -> httpx.Response:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body,
                                 extensions=request.extensions)
            return await self._async.handle_async_request(copy)

        response = _LoopThread.get().run(go())
        return httpx.Response(response.status_code, headers=response.headers, content=response.content,
                              request=request)
