"""The service on a real loopback port, hosting the runtime: ready with live engines, and a
graceful shutdown that stops the runtime thread."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from invekto_integrations import Integrations
from invekto_integrations.service import IntegrationsService
from invekto_integrations.service._engines import default_engines

pytestmark = pytest.mark.loopback


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_hosts_the_runtime_and_stops_gracefully() -> None:
    with Integrations.sandbox(["trendyol"]) as client:
        fake = client.fakes.trendyol
        seller = fake.provision_account("Moda")
        client.accounts.add("moda", "trendyol", seller.credentials, settings=seller.settings)
        runtime = client.runtime(default_engines(client))
        service = IntegrationsService(client, runtime=runtime, runtime_idle=0.05)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(service.app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 60  # a readiness poll: generous for a loaded machine
            ready: httpx.Response | None = None
            while time.monotonic() < deadline:
                try:
                    ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
                    if ready.status_code == 200 and ready.json()["runtime"]["engines"]:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            assert ready is not None and ready.status_code == 200, ready and ready.text
            body = ready.json()
            assert body["runtime"]["alive"] is True
            assert {"orders.sync", "attribution"} <= {e["engine"] for e in body["runtime"]["engines"]}
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json() == {"status": "ok"}
        finally:
            server.should_exit = True
            thread.join(20)
        assert not thread.is_alive()
        assert service._thread is None  # the lifespan stopped and joined the runtime thread
