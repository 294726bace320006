"""Fixtures for the messaging area: one sandbox with the WhatsApp Cloud and İYS fakes, in-process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.iys import IysClient, IysSettings
from invekto_integrations.providers.whatsapp_cloud import WhatsAppCloudClient, WhatsAppCloudSettings
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.iys import IysFake
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import WhatsAppCloudFake

# Tuesday 2026-11-24 12:00 Istanbul (09:00 UTC): outside quiet hours, a business day.
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PHONE = "+905321234567"
WA_ID = "905321234567"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def sandbox(clock: FrozenClock) -> Iterator[Sandbox]:
    sb = Sandbox([WhatsAppCloudFake(clock=clock), IysFake(clock=clock)], clock=clock)
    yield sb


@pytest.fixture
def wa_fake(sandbox: Sandbox) -> WhatsAppCloudFake:
    fake = sandbox.fake("whatsapp_cloud")
    assert isinstance(fake, WhatsAppCloudFake)
    return fake


@pytest.fixture
def iys_fake(sandbox: Sandbox) -> IysFake:
    fake = sandbox.fake("iys")
    assert isinstance(fake, IysFake)
    return fake


@pytest.fixture
def retry(clock: FrozenClock) -> RetryPolicy:
    import random

    return RetryPolicy(max_attempts=3, clock=clock, rng=random.Random(1))


@pytest.fixture
def limiters(sleepless: Any) -> RateLimiterRegistry:
    """Client-side buckets that never really sleep (waits are recorded by the `sleepless` clock)."""
    return RateLimiterRegistry(sleepless)


@pytest.fixture
def wa_client(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
              limiters: RateLimiterRegistry) -> Iterator[WhatsAppCloudClient]:
    client = WhatsAppCloudClient(
        WhatsAppCloudSettings(phone_number_id="1000000001", waba_id="waba-a"), SecretStr("wa-token-a"),
        base_url=sandbox.inprocess_url("whatsapp_cloud"), transport=sandbox.transport(), clock=clock, retry=retry,
        limiter_registry=limiters,
    )
    yield client
    client.close()


@pytest.fixture
def iys_client(sandbox: Sandbox, clock: FrozenClock, retry: RetryPolicy,
               limiters: RateLimiterRegistry) -> Iterator[IysClient]:
    client = IysClient(IysSettings(iys_code="700001", brand_code="700001"), "iys-api-a", SecretStr("iys-pass-a"),
                       base_url=sandbox.inprocess_url("iys"), transport=sandbox.transport(), clock=clock, retry=retry,
                       limiter_registry=limiters)
    yield client
    client.close()


# --- a whole messaging stack over the sandbox, webhooks delivered in-process ------------------
from dataclasses import dataclass  # noqa: E402

import httpx  # noqa: E402

from invekto_integrations.events import EventBus  # noqa: E402
from invekto_integrations.messaging import (  # noqa: E402
    ConsentService,
    MessagingWebhookHandler,
    SendPipeline,
    WebhookRoute,
)
from invekto_integrations.providers.whatsapp_cloud import WhatsAppWebhooks  # noqa: E402
from invekto_integrations.storage.memory import MemoryStore  # noqa: E402
from invekto_integrations.testing.sandbox import WebhookDispatcher  # noqa: E402

VERIFY_TOKEN = "verify-me"


@dataclass
class Harness:
    store: MemoryStore
    consent: ConsentService
    pipeline: SendPipeline
    handler: MessagingWebhookHandler
    wa: WhatsAppCloudFake
    iys: IysFake
    clock: FrozenClock

    def deliver(self) -> None:
        """Wait until the fake's queued webhooks reached the handler."""
        self.wa.webhooks.drain()

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock: the fake emits the statuses that became due; wait for them."""
        self.wa.advance(seconds)
        self.deliver()


def handler_transport(handler: MessagingWebhookHandler) -> httpx.MockTransport:
    def serve(request: httpx.Request) -> httpx.Response:
        answer = handler.handle(request.method, dict(request.url.params), dict(request.headers), request.read())
        return httpx.Response(answer.status, text=answer.body)

    return httpx.MockTransport(serve)


@pytest.fixture
def harness(wa_client: WhatsAppCloudClient, iys_client: IysClient, wa_fake: WhatsAppCloudFake, iys_fake: IysFake,
            clock: FrozenClock) -> Harness:
    store = MemoryStore()
    consent = ConsentService(store.consents, store.messaging_contacts, checkpoints=store.checkpoints, clock=clock)
    consent.configure("t1", source=iys_client, brand_code="700001")
    pipeline = SendPipeline(store.outbox, store.messaging_contacts, consent, {"t1": wa_client},
                            events=EventBus(store.events, clock), clock=clock)
    handler = MessagingWebhookHandler(pipeline, WhatsAppWebhooks(), verify_token=SecretStr(VERIFY_TOKEN),
                                      routes={"1000000001": WebhookRoute("t1", SecretStr(wa_fake.app_secret))},
                                      quarantine=store.quarantine)
    wa_fake.webhook_url = "http://receiver.invalid/webhooks/whatsapp"
    wa_fake.webhooks = WebhookDispatcher(transport=handler_transport(handler))
    return Harness(store, consent, pipeline, handler, wa_fake, iys_fake, clock)


# --- a loopback webhook receiver (real sockets) ---------------------------------------------------
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402


class Receiver:
    """A loopback HTTP server mounting the webhook handler at /webhooks/whatsapp."""

    def __init__(self, handler: MessagingWebhookHandler) -> None:
        self.handler = handler  # replaceable (a restarted service keeps its URL)

        async def endpoint(request: Request) -> Response:
            answer = self.handler.handle(request.method, dict(request.query_params), dict(request.headers),
                                    await request.body())
            return Response(answer.body, status_code=answer.status, media_type=answer.content_type)

        app = Starlette(routes=[Route("/webhooks/whatsapp", endpoint, methods=["GET", "POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/whatsapp"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
