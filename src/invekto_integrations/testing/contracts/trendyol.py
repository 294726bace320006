"""Trendyol's conformance contract: the shared suite against `TrendyolFake`.

Two sellers of the fake (``100001``, ``100002``) with their Basic-auth key/secret; listing is the
connector's own ``iter_orders_changed``: 14-day windows across the 90-day history, each paged to
the end (the client asks for 20 rows a page here, so 45 seeded packages take three pages). The
fake runs without its background lifecycle, so nothing changes unless a test changes it.
Trendyol documents no throttling hint (a bare 429): the suite checks that the client backs off.
`fetch_missing` looks up an order number the fake never issues (its numbers start at 80,000,000):
the API answers an empty page, which the connector raises as `NotFound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import Enum
from typing import Any, ClassVar

from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.providers.trendyol import PROVIDER, connect, connect_async
from invekto_integrations.providers.trendyol.client import HISTORY
from invekto_integrations.providers.trendyol.mapping import TrendyolPackageStatus, package_status
from invekto_integrations.testing.conformance import Target, Who
from invekto_integrations.testing.sandbox import FakeProvider
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

from ._base import MarketplaceContract

__all__ = ["TrendyolContract"]

_SELLERS = {"primary": "100001", "secondary": "100002", "wrong": "100001"}
_KEYS = {
    "primary": ("ty-key-100001", "ty-secret-100001"),
    "secondary": ("ty-key-100002", "ty-secret-100002"),
    "wrong": ("ty-key-100001", "ty-secret-yanlis"),
}


class TrendyolContract(MarketplaceContract):
    info = PROVIDER
    page_size: ClassVar[int] = 20
    # The whole history the API serves (a minute short of it, so the first window is never refused).
    lookback = HISTORY - timedelta(minutes=1)

    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        return TrendyolFake(clock=clock, seed=seed, lifecycle=False)

    def credentials(self, who: Who) -> Credentials:
        key, secret = _KEYS[who]
        return Credentials(api_key=SecretStr(key), api_secret=SecretStr(secret))

    def settings(self, who: Who) -> dict[str, Any]:
        return {"seller_id": _SELLERS[who], "integrator_name": "Invekto"}

    def make_client(self, target: Target, who: Who) -> Any:
        return connect(self.account(who), self.credentials(who), target.connect_options(page_size=self.page_size))

    def make_async_client(self, target: Target, who: Who) -> Any:
        return connect_async(self.account(who), self.credentials(who),
                             target.connect_options(page_size=self.page_size))

    def probe(self, client: Any) -> object:
        return client.list_packages(page=0, size=1)

    async def aprobe(self, client: Any) -> object:
        return await client.list_packages(page=0, size=1)

    @staticmethod
    def _fake(fake: FakeProvider) -> TrendyolFake:
        assert isinstance(fake, TrendyolFake)
        return fake

    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        return self._fake(fake).add_orders(_SELLERS[who], count, status=status or "Created")

    def touch_records(self, fake: FakeProvider, ids: Sequence[str], *, who: Who = "primary") -> None:
        for package_id in ids:
            self._fake(fake).advance_order(_SELLERS[who], package_id, "Picking")

    def fetch_missing(self, client: Any) -> object:
        return client.get_order("1000000000")

    def raw_statuses(self) -> Sequence[str]:
        return [s.value for s in TrendyolPackageStatus]

    def map_status(self, raw: str) -> Enum:
        return package_status(raw)
