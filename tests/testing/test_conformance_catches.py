"""The conformance kit fails where a provider is wrong: sabotaged contracts run in an inner pytest."""

from __future__ import annotations

from pathlib import Path

import pytest
from sabotage import assert_each_sabotage_caught

SRC = Path(__file__).resolve().parents[2] / "examples" / "plugin_echoshop" / "src"

SABOTAGE = f'''
import dataclasses, logging, sys
sys.path.insert(0, {str(SRC)!r})
from invekto_echoshop.testing import EchoShopContract
from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.models.orders import OrderStatus
from invekto_integrations.testing.conformance import ConformanceSuite

class NoPacing(EchoShopContract):
    def make_client(self, target, who):
        return super().make_client(dataclasses.replace(target, rate_limit=RateLimit(1000, 1)), who)

class Leaky(EchoShopContract):
    def probe(self, client):
        logging.getLogger("invekto_integrations.x").debug("token %s", "es-token-a")
        return super().probe(client)

class BadMap(EchoShopContract):
    def map_status(self, raw):
        return OrderStatus.SHIPPED if raw == "DELIVERED" else super().map_status(raw)

class FirstPageOnly(EchoShopContract):
    def list_all(self, client):
        return list(client.list_orders_page(0).items)

class FullNotIncremental(EchoShopContract):
    def list_changed_since(self, client, since):
        return list(client.iter_orders())

class NoRetry(EchoShopContract):
    def make_client(self, target, who):
        once = dataclasses.replace(target.retry, max_attempts=1)
        return super().make_client(dataclasses.replace(target, retry=once), who)

class TestNoPacing(ConformanceSuite):
    contract = NoPacing()
class TestLeaky(ConformanceSuite):
    contract = Leaky()
class TestBadMap(ConformanceSuite):
    contract = BadMap()
class TestFirstPageOnly(ConformanceSuite):
    contract = FirstPageOnly()
class TestFullNotIncremental(ConformanceSuite):
    contract = FullNotIncremental()
class TestNoRetry(ConformanceSuite):
    contract = NoRetry()
'''

CASES = [
    ("TestNoPacing", "test_client_rate_limit_respects_the_published_limit"),
    ("TestLeaky", "test_no_secret_in_logs_errors_or_reprs"),
    ("TestBadMap", "test_statuses_are_mapped_end_to_end"),
    ("TestFirstPageOnly", "test_lists_every_record_paging_to_the_end"),
    ("TestFullNotIncremental", "test_incremental_sync_returns_only_changed_records"),
    ("TestNoRetry", "test_transient_faults_are_retried"),
]


def test_each_sabotage_is_caught_by_its_test(pytester: pytest.Pytester) -> None:
    assert_each_sabotage_caught(pytester, SABOTAGE, CASES)
