"""The sandbox: contract-faithful fakes of every provider, as ASGI apps (moto for our providers).

See ``docs/sandbox.md``. The pieces:

- `FakeProvider`: the base of every fake (auth, per-account state, request recording, faults);
- `Faults`: what a fake does wrong on purpose, switchable at run time and counted;
- `Sandbox`: serves fakes in-process (`SyncSandboxTransport`, `AsyncSandboxTransport`) and on a
  loopback port (uvicorn), with a control API under ``/_sandbox``;
- `TurkishData` and `Lifecycle` (in `invekto_integrations.testing.sandbox.data`): seeded data
  and state progressions over the sandbox clock;
- `WebhookDispatcher`: webhook delivery from a fake.
"""

from ._fake import AccountStates, ConnectionDropped, FakeProvider, RecordedRequest, SandboxClockWarning, redact_headers
from ._faults import FAULT_KINDS, FaultKind, Faults
from ._runner import INPROCESS_HOST, Sandbox
from ._transport import AsyncSandboxTransport, SyncSandboxTransport
from ._webhooks import Delivery, WebhookDispatcher
from .data import Lifecycle, TurkishData

__all__ = [
    "FAULT_KINDS",
    "INPROCESS_HOST",
    "AccountStates",
    "AsyncSandboxTransport",
    "ConnectionDropped",
    "Delivery",
    "FakeProvider",
    "FaultKind",
    "Faults",
    "Lifecycle",
    "RecordedRequest",
    "Sandbox",
    "SandboxClockWarning",
    "SyncSandboxTransport",
    "TurkishData",
    "WebhookDispatcher",
    "redact_headers",
]
