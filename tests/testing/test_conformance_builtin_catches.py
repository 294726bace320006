"""The kit fails where a built-in connector (or its contract) is wrong: sabotaged copies of the
Trendyol, Hepsiburada, Aras and Yurtiçi contracts run in an inner pytest, and each sabotage is
caught by the test meant for it. The same tests pass on the real contracts
(test_conformance_registered.py)."""

from __future__ import annotations

import pytest
from sabotage import assert_each_sabotage_caught

SABOTAGE = '''
from datetime import timedelta

from invekto_integrations.models.shipments import ShipmentStatus
from invekto_integrations.providers.hepsiburada import HepsiburadaClient
from invekto_integrations.providers.hepsiburada.client import HepsiburadaFeed
from invekto_integrations.testing.conformance import ConformanceSuite
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.contracts import (
    ArasContract, HepsiburadaContract, TrendyolContract, YurticiContract,
)

class TrendyolFirstPageOnly(TrendyolContract):
    def list_all(self, client):
        now = client.clock.now()
        return list(client.list_packages(start=now - self.lookback / 7, end=now + self.ahead).items)

class HepsiburadaIgnoresRateLimitOption(HepsiburadaContract):
    """A connector that drops ConnectOptions.rate_limit: it paces at the published 1000/s."""
    def make_client(self, target, who):
        creds = self.credentials(who)
        return HepsiburadaClient(creds.api_key.get_secret_value(), creds.api_secret, integrator_name="invekto_dev",
                                 base_url=target.base_url, transport=target.transport, clock=target.clock,
                                 retry=target.retry, limiter_registry=target.limiter_registry)

class HepsiburadaOpenFeedOnly(HepsiburadaContract):
    def list_changed_since(self, client, since):
        return [i for i in super().list_changed_since(client, since) if i.order is None
                or i.order.raw.get("feed") == HepsiburadaFeed.OPEN.value]

class ArasPartialIsDelivered(ArasContract):
    def map_status(self, raw):
        return ShipmentStatus.DELIVERED if raw == "5" else super().map_status(raw)

class _SharedArasFake(ArasFake):
    """A fake (or a service) that finds a parcel whoever asks."""
    def _lookup(self, user, number, code):
        return next((p for (u, n), p in self.parcels.items() if n == number), None)

class ArasParcelsShared(ArasContract):
    def make_fake(self, *, clock, seed):
        fake = _SharedArasFake(clock=clock, seed=seed, users=super().make_fake(clock=clock, seed=seed).users)
        for user in fake.users:
            fake.register_parcel(user, self.probe_key, [(timedelta(0), "2")])
        return fake

class YurticiIgnoresReturns(YurticiContract):
    def map_status(self, raw):
        return ShipmentStatus.DELIVERED if raw.startswith("DLV") else super().map_status(raw)

class YurticiLeaksPassword(YurticiContract):
    def probe(self, client):
        import logging
        log = logging.getLogger("invekto_integrations.providers.yurtici")
        log.info("login %s", client._password.get_secret_value())
        return super().probe(client)

class TestTrendyolFirstPageOnly(ConformanceSuite):
    contract = TrendyolFirstPageOnly()
class TestHepsiburadaIgnoresRateLimitOption(ConformanceSuite):
    contract = HepsiburadaIgnoresRateLimitOption()
class TestHepsiburadaOpenFeedOnly(ConformanceSuite):
    contract = HepsiburadaOpenFeedOnly()
class TestArasPartialIsDelivered(ConformanceSuite):
    contract = ArasPartialIsDelivered()
class TestArasParcelsShared(ConformanceSuite):
    contract = ArasParcelsShared()
class TestYurticiIgnoresReturns(ConformanceSuite):
    contract = YurticiIgnoresReturns()
class TestYurticiLeaksPassword(ConformanceSuite):
    contract = YurticiLeaksPassword()
'''

CASES = [
    ("TestTrendyolFirstPageOnly", "test_lists_every_record_paging_to_the_end"),
    ("TestHepsiburadaIgnoresRateLimitOption", "test_client_rate_limit_respects_the_published_limit"),
    ("TestHepsiburadaOpenFeedOnly", "test_incremental_sync_returns_only_changed_records"),
    ("TestArasPartialIsDelivered", "test_statuses_are_mapped_end_to_end"),
    ("TestArasParcelsShared", "test_accounts_see_only_their_own_records"),
    ("TestYurticiIgnoresReturns", "test_statuses_are_mapped_end_to_end"),
    ("TestYurticiLeaksPassword", "test_no_secret_in_logs_errors_or_reprs"),
]


def test_each_sabotage_of_a_builtin_contract_is_caught(pytester: pytest.Pytester) -> None:
    assert_each_sabotage_caught(pytester, SABOTAGE, CASES)
