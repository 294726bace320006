"""The base client against a hostile server on a loopback socket (issue 13, defects 2, 3, 5 and 6):
cut bodies retried, deep nesting and impossible numbers typed, body size capped while streaming,
and a total deadline per request. The server is real HTTP/1.1 on 127.0.0.1, sync and async."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from invekto_integrations.core.errors import PayloadError, ProviderUnavailable
from invekto_integrations.core.http import AsyncRunner, Call, ProviderConfig, SyncRunner
from invekto_integrations.core.retry import RetryPolicy

pytestmark = pytest.mark.loopback

CAP = 1024 * 1024  # the test's body cap: 1 MiB
HUGE = 400 * 1024 * 1024  # what the hostile server offers
CHUNK = 64 * 1024


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sent: ClassVar[dict[str, int]] = {}  # path -> body bytes the server managed to write
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass

    def _head(self, length: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _body(self, data: bytes) -> None:
        self._head(len(data))
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        Hostile.hits[path] = Hostile.hits.get(path, 0) + 1
        if path == "/nested":
            self._body(b"[" * 200_000 + b"]" * 200_000)
        elif path == "/cut-once":
            full = json.dumps({"items": [{"id": i} for i in range(50)]}).encode()
            self._body(full[: len(full) // 2] if Hostile.hits[path] == 1 else full)
        elif path == "/huge":  # chunked: no length declared, only the stream can tell
            self._head(None)
            block = b" " * CHUNK
            sent = 0
            try:
                while sent < HUGE:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                    sent += len(block)
                    Hostile.sent[path] = sent
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                return
        elif path == "/drip":
            body = b'{"ok": true}' + b" " * 200
            self._head(len(body))
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.15)
            except OSError:
                return
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def config(url: str, sleepless: Any, **kw: Any) -> ProviderConfig:
    options: dict[str, Any] = {"timeout": httpx.Timeout(2.0), "max_body_bytes": CAP,
                               "retry": RetryPolicy(max_attempts=3, clock=sleepless)}
    options.update(kw)
    return ProviderConfig(provider="hostile", base_url=url, **options)


def json_call(path: str) -> Call[Any]:
    return Call("read", "GET", path, lambda r: r.json(), record="r1")


# -- defect 2: a cut 2xx body on a GET is transient ------------------------------------------------------
def test_cut_body_on_a_get_is_retried(server: str, sleepless: Any) -> None:
    Hostile.hits.pop("/cut-once", None)
    with SyncRunner(config(server, sleepless)) as runner:
        assert len(runner.run(json_call("/cut-once"))["items"]) == 50
    assert Hostile.hits["/cut-once"] == 2


def test_cut_body_on_a_post_is_not_retried(server: str, sleepless: Any) -> None:
    Hostile.hits.pop("/cut-once", None)
    call = Call("read", "GET", "/cut-once", lambda r: r.json(), idempotent=False)
    with SyncRunner(config(server, sleepless)) as runner, pytest.raises(PayloadError) as info:
        runner.run(call)
    assert info.value.truncated and Hostile.hits["/cut-once"] == 1


# -- defect 3: deep nesting and impossible numbers end in a typed error ----------------------------------
def test_deeply_nested_json_is_a_payload_error(server: str, sleepless: Any) -> None:
    with SyncRunner(config(server, sleepless)) as runner, pytest.raises(PayloadError) as info:
        runner.run(json_call("/nested"))
    assert info.value.record == "r1" and not info.value.truncated


@pytest.mark.parametrize("boom", [
    lambda: datetime.fromtimestamp(10**20 / 1000, UTC),  # OverflowError/OSError/ValueError by platform
    lambda: datetime.fromtimestamp(float(2**70), UTC),
    lambda: int(float("inf")),  # OverflowError
])
def test_parser_overflow_is_a_payload_error(server: str, sleepless: Any, boom: Any) -> None:
    call = Call("read", "GET", "/cut-once", lambda r: boom(), record="r2")
    with SyncRunner(config(server, sleepless)) as runner, pytest.raises(PayloadError) as info:
        runner.run(call)
    assert info.value.record == "r2"


# -- defect 5: the cap is checked while streaming -------------------------------------------------------
def test_body_cap_stops_the_download(server: str, sleepless: Any) -> None:
    path = "/huge"
    Hostile.sent.pop(path, None)
    with SyncRunner(config(server, sleepless)) as runner, pytest.raises(PayloadError) as info:
        runner.run(json_call(path))
    assert info.value.field == "body" and "over" in info.value.message
    time.sleep(0.2)  # let the server notice the closed socket
    assert Hostile.sent.get(path, 0) < 64 * CAP  # nowhere near the 400 MiB offered


async def test_body_cap_stops_the_download_async(server: str, sleepless: Any) -> None:
    Hostile.sent.pop("/huge", None)
    async with AsyncRunner(config(server, sleepless)) as runner:
        with pytest.raises(PayloadError):
            await runner.run(json_call("/huge"))
    assert Hostile.sent.get("/huge", 0) < 64 * CAP


def test_declared_oversize_is_refused_before_reading(sleepless: Any) -> None:
    # the Content-Length alone is enough to refuse (no byte of the body is read)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % HUGE)
        time.sleep(10)  # holds the connection: only the header can end the call early
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{srv.getsockname()[1]}"
    started = time.monotonic()
    with SyncRunner(config(url, sleepless, retry=RetryPolicy.disabled())) as runner, pytest.raises(PayloadError):
        runner.run(json_call("/x"))
    assert time.monotonic() - started < 5.0  # well before the server lets go (10 s)
    srv.close()


# -- defect 6: a total deadline per request -------------------------------------------------------------
# The read timeout leaves a loaded machine room (each 0.15 s byte is well "in time"); the upper bounds
# only need to tell the deadline from the 30 s the whole body would take.
def test_dripped_body_fails_near_the_deadline(server: str, sleepless: Any) -> None:
    # one byte per 0.15 s under a 1 s read timeout (each byte is "in time"), 1.5 s deadline
    cfg = config(server, sleepless, timeout=httpx.Timeout(1.0), deadline=1.5, retry=RetryPolicy.disabled())
    started = time.monotonic()
    with SyncRunner(cfg) as runner, pytest.raises(ProviderUnavailable) as info:
        runner.run(json_call("/drip"))
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 5.0, elapsed  # the body would take 30 s
    assert "deadline" in info.value.message


async def test_dripped_body_fails_near_the_deadline_async(server: str, sleepless: Any) -> None:
    cfg = config(server, sleepless, timeout=httpx.Timeout(1.0), deadline=1.5, retry=RetryPolicy.disabled())
    started = time.monotonic()
    async with AsyncRunner(cfg) as runner:
        with pytest.raises(ProviderUnavailable) as info:
            await runner.run(json_call("/drip"))
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 5.0, elapsed
    assert "deadline" in info.value.message


def test_default_deadline_is_the_timeout() -> None:
    cfg = ProviderConfig(provider="p", base_url="http://x.test", timeout=httpx.Timeout(2.0))
    assert cfg.total_deadline() == 4.0  # connect + one read period
    assert ProviderConfig(provider="p", base_url="http://x.test").total_deadline() == 40.0


def test_dripped_body_under_the_default_deadline(server: str, sleepless: Any) -> None:
    # the case scaled down: one byte per 0.15 s under timeout=1, no explicit deadline
    cfg = config(server, sleepless, timeout=httpx.Timeout(1.0), retry=RetryPolicy.disabled())
    started = time.monotonic()
    with SyncRunner(cfg) as runner, pytest.raises(ProviderUnavailable) as info:
        runner.run(json_call("/drip"))
    assert time.monotonic() - started < 6.0  # deadline 2 s; the whole body would take 30 s
    assert "deadline" in info.value.message
