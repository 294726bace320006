"""The sandbox's webhook dispatcher closes cleanly, and `Sandbox.stop` closes every fake's."""

from __future__ import annotations

import threading

import httpx

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.testing.sandbox import Sandbox, WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import WhatsAppCloudFake

from .conftest import START, WA_ID


class Gate:
    """A receiver that holds every webhook until released (a slow webhook endpoint)."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.received: list[bytes] = []

    def transport(self) -> httpx.MockTransport:
        def serve(request: httpx.Request) -> httpx.Response:
            self.open.wait(10)
            self.received.append(request.read())
            return httpx.Response(200)

        return httpx.MockTransport(serve)


def test_close_delivers_what_is_queued_then_stops_the_worker() -> None:
    gate = Gate()
    gate.open.set()
    with WebhookDispatcher(transport=gate.transport()) as dispatcher:
        for i in range(3):
            dispatcher.send("http://receiver.invalid/hook", f"{i}".encode(), {})
        assert dispatcher.running
    assert not dispatcher.running
    assert gate.received == [b"0", b"1", b"2"]
    assert [d.status for d in dispatcher.delivered] == [200, 200, 200]
    # usable again: a later send starts a new worker; closing twice is harmless
    dispatcher.send("http://receiver.invalid/hook", b"3", {})
    dispatcher.close()
    dispatcher.close()
    assert gate.received[-1] == b"3" and not dispatcher.running


def test_sandbox_stop_waits_for_in_flight_webhooks_and_leaves_no_worker() -> None:
    clock = FrozenClock(START)
    fake = WhatsAppCloudFake(clock=clock)
    gate = Gate()
    fake.webhook_url = "http://receiver.invalid/hook"
    fake.webhooks = WebhookDispatcher(transport=gate.transport())
    sandbox = Sandbox([fake], clock=clock)  # in-process only: stop() must close dispatchers too
    fake.inject_inbound(WA_ID, "Merhaba")
    fake.inject_inbound(WA_ID, "Orada mısınız?")
    stopper = threading.Thread(target=sandbox.stop)
    stopper.start()
    stopper.join(0.2)
    assert stopper.is_alive()  # a webhook is still being delivered: stop waits for it
    gate.open.set()
    stopper.join(10)
    assert not stopper.is_alive()
    # after stop() nothing runs that could touch a receiver's store (closing it is safe now)
    assert not fake.webhooks.running
    assert len(gate.received) == 2 and [d.status for d in fake.webhooks.delivered] == [200, 200]
