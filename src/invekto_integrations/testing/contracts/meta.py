"""Meta's conformance contract: the shared suite against `MetaFake`.

Two System User tokens of the fake (ad accounts ``act_1001`` and ``act_2002``; the "wrong" one is
a token the fake does not know: Graph error 190).

- probe: ``GET /me/adaccounts`` (cheap, every token can read its own accounts);
- list_all: the Insights rows of the account's ads for the clock's day (level ad, daily), paged
  with Graph cursors in pages of 20; a record is one ad's row, its id the ad id;
- seed_records: ads added to the account through the fake's controls;
- fetch_missing: an ad id that does not exist (code 100, subcode 33 → `NotFound`).

Not applicable: incremental listing (Insights has no changed-since query; spend is re-pulled over
a rolling window instead) and statuses. Throttling is Graph code 17 in an HTTP 400 with
``X-Business-Use-Case-Usage`` (minutes), which the client reads as `RateLimited`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.models.ads import InsightsRow
from invekto_integrations.providers.meta import PROVIDER
from invekto_integrations.testing.conformance import ProviderContract, Who
from invekto_integrations.testing.sandbox import FakeProvider
from invekto_integrations.testing.sandbox.fakes.meta import FakeAd, MetaFake

__all__ = ["MetaContract"]

_TOKENS = {"primary": "meta-token-a", "secondary": "meta-token-b", "wrong": "meta-token-not-issued"}
_ACCOUNTS = {"primary": "act_1001", "secondary": "act_2002"}
_PAGE = 20


class MetaContract(ProviderContract):
    info = PROVIDER
    records_for_paging: ClassVar[int] = 45

    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        return MetaFake(clock=clock, seed=seed)

    def credentials(self, who: Who) -> Credentials:
        return Credentials(api_key=SecretStr(_TOKENS[who]))

    def settings(self, who: Who) -> dict[str, Any]:
        return {"ad_account_id": _ACCOUNTS.get(who, "act_0")}

    def probe(self, client: Any) -> object:
        return client.list_ad_accounts()

    async def aprobe(self, client: Any) -> object:
        return await client.list_ad_accounts()

    def list_all(self, client: Any) -> list[Any]:
        day = client.clock.now().date()
        accounts = client.list_ad_accounts()
        return list(client.iter_insights(accounts[0].id, day, day, limit=_PAGE)) if accounts else []

    async def alist_all(self, client: Any) -> list[Any]:
        day = client.clock.now().date()
        accounts = await client.list_ad_accounts()
        return [row async for row in client.iter_insights(accounts[0].id, day, day, limit=_PAGE)] if accounts else []

    def fetch_missing(self, client: Any) -> object:
        return client.get_ad("120299999999999999")

    def record_id(self, record: InsightsRow) -> str:
        return str(record.ad_id)

    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        assert isinstance(fake, MetaFake)
        if who not in _ACCOUNTS:
            raise NotImplementedError
        prefix = "3" if who == "primary" else "4"
        ids = []
        for _ in range(count):
            ad_id = f"{prefix}{fake.next_id(20210000000000000)}"
            fake.add_ad(_ACCOUNTS[who], FakeAd(ad_id, f"Sandbox ad {ad_id}", f"{prefix}20201", "Sandbox set",
                                               f"{prefix}20200", "Sandbox campaign"))
            ids.append(ad_id)
        return ids
