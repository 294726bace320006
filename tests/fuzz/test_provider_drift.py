"""Provider drift: a Trendyol that adds fields, drops optional ones and invents statuses keeps the
client going (unknown status → ``unknown``, nothing quarantined). The fake's own ASGI app is wrapped
by a middleware that rewrites its JSON answers, and the client talks HTTP to it (ASGITransport)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.models.orders import OrderStatus
from invekto_integrations.providers.trendyol import AsyncTrendyolClient
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def drift(pkg: dict[str, Any], i: int) -> dict[str, Any]:
    pkg = {**pkg, "brandNewField": {"nested": [1, 2, {"x": None}]}, "fastDeliveryType": "SUPER"}
    for optional in ("cargoTrackingLink", "invoiceAddress", "customerEmail", "packageHistories"):
        pkg.pop(optional, None)
    if i % 3 == 0:
        pkg["status"] = "QuantumEntangled" + "x" * 500  # a status nobody documented, and long
    for line in pkg.get("lines", []):
        line["newLineAttribute"] = True
    return pkg


def drifting(app: Any) -> Any:
    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                body.extend(message.get("body", b""))

        await app(scope, receive, capture)
        data = bytes(body)
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("content"), list):
            doc["content"] = [drift(p, i) for i, p in enumerate(doc["content"])]
            doc["newEnvelopeField"] = "v2"
            data = json.dumps(doc).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(data)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    return wrapped


@pytest.mark.asyncio
async def test_trendyol_drift_keeps_every_order() -> None:
    clock = FrozenClock(NOW)
    fake = TrendyolFake(clock=clock, seed=5, orders_per_account=0)
    seller = fake.provision_account()
    fake.seed_orders(seller.account_key, 120, start=NOW - timedelta(days=10), end=NOW - timedelta(minutes=1))
    client = AsyncTrendyolClient(
        seller.settings["seller_id"], seller.credentials.api_key, seller.credentials.api_secret or "",
        base_url="http://trendyol.test", clock=clock, rate_limit=RateLimit(1_000_000, 1.0, burst=1_000_000),
        limiter_registry=RateLimiterRegistry(clock), transport=httpx.ASGITransport(app=drifting(fake.app)))
    items = [it async for it in client.iter_packages(NOW - timedelta(days=10), NOW)]
    assert len(items) == 120
    assert all(it.error is None and it.order is not None for it in items), [it.error for it in items if it.error]
    unknown = [it.order for it in items if it.order is not None and it.order.status is OrderStatus.UNKNOWN]
    assert 30 <= len(unknown) <= 50
    assert all(o.raw_status.startswith("QuantumEntangled") for o in unknown)
