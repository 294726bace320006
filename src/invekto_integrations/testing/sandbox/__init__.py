"""The sandbox: contract-faithful fakes of every provider, as ASGI apps (moto for our providers)."""

from ._fake import ConnectionDropped, FakeProvider, RecordedRequest
from ._faults import Faults
from ._runner import INPROCESS_HOST, Sandbox
from ._transport import AsyncSandboxTransport, SyncSandboxTransport
from ._webhooks import Delivery, WebhookDispatcher

__all__ = [
    "INPROCESS_HOST",
    "AsyncSandboxTransport",
    "ConnectionDropped",
    "Delivery",
    "FakeProvider",
    "Faults",
    "RecordedRequest",
    "Sandbox",
    "SyncSandboxTransport",
    "WebhookDispatcher",
]
