"""EchoShop's conformance contract: how the shared suite drives this provider and its fake."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import SecretStr

from invekto_integrations.models.accounts import Credentials
from invekto_integrations.providers.base import OrderOrError
from invekto_integrations.testing.conformance import ProviderContract, Who
from invekto_integrations.testing.sandbox import FakeProvider

from . import PROVIDER  # the package imports this module only lazily (no cycle)
from .fake import ALL_STATUSES, EchoShopFake
from .mapping import map_status

__all__ = ["EchoShopContract"]

_TOKENS = {"primary": "es-token-a", "secondary": "es-token-b", "wrong": "es-token-nope"}
_SHOPS = {"primary": "shop-a", "secondary": "shop-b"}


class EchoShopContract(ProviderContract):
    info = PROVIDER
    records_for_paging = 120  # the client asks for 50 per page: three pages

    def credentials(self, who: Who) -> Credentials:
        return Credentials(api_key=SecretStr(_TOKENS[who]))

    def probe(self, client: Any) -> object:
        return client.list_orders_page(0)

    async def aprobe(self, client: Any) -> object:
        return await client.list_orders_page(0)

    def _fake(self, fake: FakeProvider) -> EchoShopFake:
        assert isinstance(fake, EchoShopFake)
        return fake

    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        return self._fake(fake).add_orders(_SHOPS[who], count, status=status)

    def touch_records(self, fake: FakeProvider, ids: Sequence[str], *, who: Who = "primary") -> None:
        for number in ids:
            self._fake(fake).set_status(_SHOPS[who], number, "CANCELLED")

    def list_all(self, client: Any) -> list[Any]:
        return list(client.iter_orders())

    async def alist_all(self, client: Any) -> list[Any]:
        return [item async for item in client.iter_orders()]

    def list_changed_since(self, client: Any, since: datetime) -> list[Any]:
        return list(client.iter_orders(since=since))

    def record_id(self, record: OrderOrError) -> str:
        assert record.order is not None
        return record.order.order_number

    def is_quarantined(self, record: OrderOrError) -> bool:
        return record.error is not None

    def fetch_missing(self, client: Any) -> object:
        return client.get_order("ES-0000000000")

    def raw_statuses(self) -> Sequence[str]:
        return ALL_STATUSES

    def map_status(self, raw: str) -> Enum:
        return map_status(raw)

    def unknown_status(self) -> Enum:
        return map_status("?")

    def record_status(self, record: OrderOrError) -> Enum | None:
        return record.order.status if record.order else None
