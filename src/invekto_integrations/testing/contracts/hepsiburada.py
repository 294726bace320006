"""Hepsiburada's conformance contract: the shared suite against `HepsiburadaFake`.

Two merchants of the fake (Basic ``merchantId:serviceKey``, User-Agent = integrator name). The
listing is the connector's own ``iter_orders_changed``: every status bucket polled (windowed
feeds in 24-hour windows, the rest paged whole and filtered), thin items enriched with the order
detail, accepted return claims folded in, one order per order number. The client also polls the
``unpacked`` bucket (a documented ``change_feeds`` option), because the fake keeps an unpacked
order there only. The fake runs without its background lifecycle.

Raw statuses are the stages of `HepsiburadaStatus`. Those that are not a bucket of their own are
seeded as Hepsiburada presents them: ``Shipped`` is the in-transit bucket, ``MissingInvoice`` a
flag on a packaged package, ``CancelledBy*`` the cancelled bucket (any ``cancelledBy``) and
``Returned`` a delivered order with an accepted return claim.

The published limit (~1000 requests/second) is scaled down to 10/second for the rate-limit test;
the merchant id is an identifier in every URL, so only the service keys count as secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import Enum
from typing import Any

from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.providers.hepsiburada import PROVIDER, connect, connect_async
from invekto_integrations.providers.hepsiburada.client import DEFAULT_CHANGE_FEEDS, HepsiburadaFeed
from invekto_integrations.providers.hepsiburada.mapping import HepsiburadaStatus, order_status
from invekto_integrations.testing.conformance import Target, Who
from invekto_integrations.testing.sandbox import FakeProvider
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake

from ._base import MarketplaceContract

__all__ = ["HepsiburadaContract"]

_MERCHANTS = {
    "primary": "b2910839-83b9-4d45-adb6-86bad457edcb",
    "secondary": "5c3f8a21-4e6d-4b2a-9f10-7d2e6c1b9a03",
    "wrong": "b2910839-83b9-4d45-adb6-86bad457edcb",
}
_SERVICE_KEYS = {"primary": "Hb7Sk2Lm9Qx4", "secondary": "Pz4Rt8Vw1Ny6", "wrong": "Hb7YanlisAnahtar"}
_INTEGRATOR = "invekto_dev"
_FEEDS = (*DEFAULT_CHANGE_FEEDS, HepsiburadaFeed.UNPACKED)
# The fake's stage for each raw status that is not a stage of its own.
_STAGE_OF = {
    HepsiburadaStatus.SHIPPED: "InTransit",
    HepsiburadaStatus.MISSING_INVOICE: "Packaged",
    HepsiburadaStatus.CANCELLED_BY_MERCHANT: "Cancelled",
    HepsiburadaStatus.CANCELLED_BY_CUSTOMER: "Cancelled",
    HepsiburadaStatus.CANCELLED_BY_SAP: "Cancelled",
    HepsiburadaStatus.RETURNED: "Delivered",
}


class HepsiburadaContract(MarketplaceContract):
    info = PROVIDER
    records_for_paging = 150  # ~200 lines: two pages of the open feed (100 a page), besides the windows
    lookback = timedelta(days=11)  # the fake's orders are placed over the last 10 days

    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        return HepsiburadaFake(clock=clock, seed=seed, lifecycle=False)

    def credentials(self, who: Who) -> Credentials:
        return Credentials(api_key=SecretStr(_MERCHANTS[who]), api_secret=SecretStr(_SERVICE_KEYS[who]))

    def settings(self, who: Who) -> dict[str, Any]:
        return {"merchant_id": _MERCHANTS[who], "integrator_name": _INTEGRATOR}

    def secrets(self) -> list[str]:
        return list(_SERVICE_KEYS.values())

    def make_client(self, target: Target, who: Who) -> Any:
        return connect(self.account(who), self.credentials(who), target.connect_options(change_feeds=_FEEDS))

    def make_async_client(self, target: Target, who: Who) -> Any:
        return connect_async(self.account(who), self.credentials(who), target.connect_options(change_feeds=_FEEDS))

    def probe(self, client: Any) -> object:
        return client.list_feed(HepsiburadaFeed.OPEN, offset=0, limit=1)

    async def aprobe(self, client: Any) -> object:
        return await client.list_feed(HepsiburadaFeed.OPEN, offset=0, limit=1)

    @staticmethod
    def _fake(fake: FakeProvider) -> HepsiburadaFake:
        assert isinstance(fake, HepsiburadaFake)
        return fake

    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        hb = self._fake(fake)
        merchant = _MERCHANTS[who]
        raw = HepsiburadaStatus(status) if status is not None else HepsiburadaStatus.OPEN
        numbers = hb.add_orders(merchant, count, status=_STAGE_OF.get(raw, raw.value))
        if raw is HepsiburadaStatus.RETURNED:
            for number in numbers:
                hb.add_claim(merchant, number, status="Accepted")
        return numbers

    def touch_records(self, fake: FakeProvider, ids: Sequence[str], *, who: Who = "primary") -> None:
        for number in ids:
            self._fake(fake).advance_order(_MERCHANTS[who], number, "Packaged")

    def fetch_missing(self, client: Any) -> object:
        return client.get_order("1000000000")

    def raw_statuses(self) -> Sequence[str]:
        return [s.value for s in HepsiburadaStatus]

    def map_status(self, raw: str) -> Enum:
        return order_status(raw)

    def rate_limit_for_test(self) -> RateLimit | None:
        return RateLimit(10, 1.0)
