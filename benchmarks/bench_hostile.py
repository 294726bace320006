"""Hostile-answer benchmark (issue 13): memory and time of the base client against a loopback server
that offers a 400 MB body (``--quick``: 100 MB) and one that drips a body a byte at a time.

The body cap is checked while streaming, so the process's peak memory should not grow with the
offered size; the total deadline should end the dripped answer near it. Baseline in the same run:
the same server read with a plain ``httpx.get`` (no cap), which downloads everything.
"""

from __future__ import annotations

import resource
import socket
import threading
import time

import httpx

from invekto_integrations.core.errors import PayloadError, ProviderUnavailable
from invekto_integrations.core.http import Call, ProviderConfig, SyncRunner
from invekto_integrations.core.retry import RetryPolicy

CHUNK = b" " * (64 * 1024)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _serve(size: int, drip: float | None) -> tuple[str, socket.socket]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def handle(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size)
            sent = 0
            while sent < size:
                if drip is not None:
                    conn.sendall(b" ")
                    sent += 1
                    time.sleep(drip)
                else:
                    part = CHUNK[: size - sent]
                    conn.sendall(part)
                    sent += len(part)
        except OSError:
            pass
        finally:
            conn.close()

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}", srv


def run(quick: bool) -> list[str]:
    size = (100 if quick else 400) * 1024 * 1024
    lines = ["## Hostile answers (body cap while streaming, total deadline)", "",
             "| case | offered | outcome | time (s) | peak RSS growth (MiB) |", "|---|---:|---|---:|---:|"]
    url, srv = _serve(size, None)
    config = ProviderConfig(provider="bench", base_url=url, retry=RetryPolicy.disabled(),
                            timeout=httpx.Timeout(30.0))
    before = _peak_mib()
    started = time.monotonic()
    try:
        with SyncRunner(config) as runner:
            runner.run(Call("get", "GET", "/", lambda r: r.content))
        outcome = "read (!)"
    except PayloadError:
        outcome = "refused at the 32 MiB cap"
    lines.append(f"| capped client | {size // 2**20} MiB | {outcome} | {time.monotonic() - started:.2f} | "
                 f"{_peak_mib() - before:.0f} |")
    before = _peak_mib()
    started = time.monotonic()
    body = httpx.get(url, timeout=60.0).content
    lines.append(f"| baseline `httpx.get` | {size // 2**20} MiB | read {len(body) // 2**20} MiB | "
                 f"{time.monotonic() - started:.2f} | {_peak_mib() - before:.0f} |")
    del body
    srv.close()
    url, srv = _serve(400, 0.15)
    config = ProviderConfig(provider="bench", base_url=url, retry=RetryPolicy.disabled(),
                            timeout=httpx.Timeout(0.2))
    started = time.monotonic()
    try:
        with SyncRunner(config) as runner:
            runner.run(Call("get", "GET", "/", lambda r: r.content))
        outcome = "read (!)"
    except ProviderUnavailable:
        outcome = f"cut at the {config.total_deadline():g} s deadline"
    took = time.monotonic() - started
    lines.append(f"| 1 byte / 0.15 s, timeout 0.2 s | 400 B (60 s) | {outcome} | {took:.2f} | – |")
    srv.close()
    lines += ["", "Peak RSS is the process's high-water mark, so the capped client runs first."]
    return lines
