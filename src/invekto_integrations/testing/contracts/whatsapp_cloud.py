"""WhatsApp Cloud's conformance contract: the shared suite against `WhatsAppCloudFake`.

Two System User tokens of the fake (WABAs ``waba-a`` and ``waba-b``, each with its sending number);
the "wrong" token is one Meta never issued (Graph error 190, HTTP 401).

- probe: the first page of ``GET /{waba-id}/message_templates`` (a read, safe to repeat; sends
  are not retried on faults by design, so they are no probe);
- list_all: every template, following Graph's cursor (``paging.cursors.after`` with
  ``paging.next``) in small pages;
- seed_records: templates added to the account's WABA through the fake's controls; a record's id
  is ``name:language`` (what identifies one translation);
- raw_statuses: the delivery statuses of status webhooks (``sent``, ``delivered``, ``read``,
  ``failed``) and their unified `DeliveryStatus`; templates carry none, so the end-to-end status
  check reads the seeded templates back and stops there.

Not applicable: incremental sync (templates have no changed-since query), `fetch_missing` (Graph
answers an unknown node id with error 100 "does not exist", a 400 and not a 404). Secrets: the
tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, ClassVar

from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.models.messaging import MessageTemplate
from invekto_integrations.providers.whatsapp_cloud import PROVIDER
from invekto_integrations.providers.whatsapp_cloud.mapping import WireDeliveryStatus
from invekto_integrations.testing.conformance import ProviderContract, Who
from invekto_integrations.testing.sandbox import FakeProvider
from invekto_integrations.testing.sandbox.fakes.whatsapp_cloud import FakeTemplate, WhatsAppCloudFake

__all__ = ["WhatsAppCloudContract"]

_TOKENS = {"primary": "wa-token-a", "secondary": "wa-token-b", "wrong": "wa-token-never-issued"}
_WABAS = {"primary": "waba-a", "secondary": "waba-b", "wrong": "waba-a"}
_NUMBERS = {"primary": "1000000001", "secondary": "1000000002", "wrong": "1000000001"}
_PAGE = 20


class WhatsAppCloudContract(ProviderContract):
    info = PROVIDER
    records_for_paging: ClassVar[int] = 45

    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        return WhatsAppCloudFake(clock=clock, seed=seed)

    def credentials(self, who: Who) -> Credentials:
        return Credentials(api_key=SecretStr(_TOKENS[who]))

    def settings(self, who: Who) -> dict[str, Any]:
        return {"phone_number_id": _NUMBERS[who], "waba_id": _WABAS[who]}

    # -- the calls ------------------------------------------------------------------------------
    def probe(self, client: Any) -> object:
        return client.list_templates(limit=_PAGE)

    async def aprobe(self, client: Any) -> object:
        return await client.list_templates(limit=_PAGE)

    def list_all(self, client: Any) -> list[Any]:
        return list(client.iter_templates(limit=_PAGE))

    async def alist_all(self, client: Any) -> list[Any]:
        return [t async for t in client.iter_templates(limit=_PAGE)]

    def record_id(self, record: MessageTemplate) -> str:
        return f"{record.name}:{record.language}"

    # -- the fake's controls --------------------------------------------------------------------
    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        assert isinstance(fake, WhatsAppCloudFake)
        ids = []
        for _ in range(count):
            n = sum(len(rows) for rows in fake.templates.values()) + 1
            name = f"kampanya_{n:04d}"
            fake.add_template(_WABAS[who], FakeTemplate(name, "tr", "MARKETING", "Merhaba {{1}}, size özel!"))
            ids.append(f"{name}:tr")
        return ids

    # -- statuses -------------------------------------------------------------------------------
    def raw_statuses(self) -> Sequence[str]:
        return [s.value for s in WireDeliveryStatus]

    def map_status(self, raw: str) -> Enum:
        return WireDeliveryStatus(raw).unified
