"""The conformance kit over every installed provider whose `ProviderInfo.contract` is set.

Built-in providers register like plugins (entry points), so each one that ships a contract gets a
``TestConformance_<name>`` class here without touching this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.testing.conformance import ConformanceSuite, ProviderContract, registered_suites

globals().update(registered_suites())


def test_registered_suites_builds_one_suite_per_contract() -> None:
    src = Path(__file__).resolve().parents[2] / "examples" / "plugin_echoshop" / "src"
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    from invekto_echoshop import PROVIDER

    suites = registered_suites(ProviderRegistry([PROVIDER]))
    assert list(suites) == ["TestConformance_echoshop"]
    suite = suites["TestConformance_echoshop"]
    assert issubclass(suite, ConformanceSuite) and isinstance(suite.contract, ProviderContract)
    assert suite.contract.name == "echoshop" and suite.__module__ == __name__


def test_optional_hooks_are_detected() -> None:
    class Minimal(ProviderContract):
        def probe(self, client: object) -> object:
            return None

    c = Minimal()
    assert c.supports("probe") and c.supports("credentials")
    assert not c.supports("list_all") and not c.supports("seed_records") and not c.supports("make_async_client")
    assert c.name == "minimal"
