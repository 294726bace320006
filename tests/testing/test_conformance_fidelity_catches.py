"""The kit fails where the WhatsApp Cloud or İYS connector (or contract) is wrong, and where a
carrier client ignores the pacing it is given (issue 13): sabotaged copies run in an inner pytest,
each caught by the test meant for it. The real contracts pass (test_conformance_registered.py)."""

from __future__ import annotations

import pytest
from sabotage import assert_each_sabotage_caught

SABOTAGE = '''
import dataclasses

from invekto_integrations.models.consent import ConsentStatus
from invekto_integrations.testing.conformance import ConformanceSuite
from invekto_integrations.testing.contracts import ArasContract, IysContract, WhatsAppCloudContract, YurticiContract

class ArasIgnoresPacing(ArasContract):
    """A carrier connector that drops ConnectOptions.rate_limit (no limit is published)."""
    def make_client(self, target, who):
        return super().make_client(dataclasses.replace(target, rate_limit=None), who)

class YurticiIgnoresPacing(YurticiContract):
    def make_client(self, target, who):
        return super().make_client(dataclasses.replace(target, rate_limit=None), who)

class WhatsAppFirstPageOnly(WhatsAppCloudContract):
    def list_all(self, client):
        return list(client.list_templates(limit=20).items)

class WhatsAppLeaksToken(WhatsAppCloudContract):
    def probe(self, client):
        import logging
        logging.getLogger("invekto_integrations.providers.whatsapp_cloud").debug(
            "token %s", client._runner.config.auth._token.get_secret_value())
        return super().probe(client)

class IysRetIsOnay(IysContract):
    def map_status(self, raw):
        return ConsentStatus.ONAY

class IysDropsProblems(IysContract):
    def list_all(self, client):
        return [r for r in super().list_all(client) if not self.is_quarantined(r)]

class TestArasIgnoresPacing(ConformanceSuite):
    contract = ArasIgnoresPacing()
class TestYurticiIgnoresPacing(ConformanceSuite):
    contract = YurticiIgnoresPacing()
class TestWhatsAppFirstPageOnly(ConformanceSuite):
    contract = WhatsAppFirstPageOnly()
class TestWhatsAppLeaksToken(ConformanceSuite):
    contract = WhatsAppLeaksToken()
class TestIysRetIsOnay(ConformanceSuite):
    contract = IysRetIsOnay()
class TestIysDropsProblems(ConformanceSuite):
    contract = IysDropsProblems()
'''

CASES = [
    ("TestArasIgnoresPacing", "test_client_rate_limit_respects_the_published_limit"),
    ("TestYurticiIgnoresPacing", "test_client_rate_limit_respects_the_published_limit"),
    ("TestWhatsAppFirstPageOnly", "test_lists_every_record_paging_to_the_end"),
    ("TestWhatsAppLeaksToken", "test_no_secret_in_logs_errors_or_reprs"),
    ("TestIysRetIsOnay", "test_statuses_are_mapped_end_to_end"),
    ("TestIysDropsProblems", "test_malformed_record_is_reported_not_swallowed"),
]


def test_each_sabotage_of_a_messaging_contract_or_carrier_pacing_is_caught(pytester: pytest.Pytester) -> None:
    assert_each_sabotage_caught(pytester, SABOTAGE, CASES)
