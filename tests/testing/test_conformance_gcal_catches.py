"""The kit fails where the Google Calendar connector (or its contract) is wrong: sabotaged copies of
`GoogleCalendarContract` run in an inner pytest and each sabotage is caught by the test meant for
it; the same tests pass on the real contract (test_conformance_registered.py). Also: the token
exchange is kept out of the request-outcome assertions only by the contract's `is_probe_request`."""

from __future__ import annotations

import pytest
from sabotage import assert_each_sabotage_caught

SABOTAGE = '''
import logging

from invekto_integrations.testing.conformance import ConformanceSuite, ProviderContract
from invekto_integrations.testing.contracts.google_calendar import GoogleCalendarContract

class GcalFirstPageOnly(GoogleCalendarContract):
    def list_all(self, client):
        return list(client.list_events("primary", max_results=20).items)

class GcalChangedSinceIgnored(GoogleCalendarContract):
    def list_changed_since(self, client, since):
        return self.list_all(client)

class GcalLeaksRefreshToken(GoogleCalendarContract):
    def probe(self, client):
        logging.getLogger("invekto_integrations.google_calendar").debug(
            "refreshing with %s", client.auth.credentials.refresh_token.get_secret_value())
        return super().probe(client)

class GcalCountsTheTokenExchange(GoogleCalendarContract):
    is_probe_request = ProviderContract.is_probe_request

class TestGcalFirstPageOnly(ConformanceSuite):
    contract = GcalFirstPageOnly()
class TestGcalChangedSinceIgnored(ConformanceSuite):
    contract = GcalChangedSinceIgnored()
class TestGcalLeaksRefreshToken(ConformanceSuite):
    contract = GcalLeaksRefreshToken()
class TestGcalCountsTheTokenExchange(ConformanceSuite):
    contract = GcalCountsTheTokenExchange()
'''

CASES = [
    ("TestGcalFirstPageOnly", "test_lists_every_record_paging_to_the_end"),
    ("TestGcalChangedSinceIgnored", "test_incremental_sync_returns_only_changed_records"),
    ("TestGcalLeaksRefreshToken", "test_no_secret_in_logs_errors_or_reprs"),
    ("TestGcalCountsTheTokenExchange", "test_good_credentials_are_accepted"),
]


def test_each_sabotage_of_the_google_calendar_contract_is_caught(pytester: pytest.Pytester) -> None:
    assert_each_sabotage_caught(pytester, SABOTAGE, CASES)
