"""Runs the invekto-integrations conformance kit against EchoShop and its fake.

``pip install -e ".[test]"`` in this folder, then ``pytest``: the suite runs in-process, plus one
test over a real loopback socket (``-m "not loopback"`` skips it).
"""

from __future__ import annotations

from invekto_echoshop.testing import EchoShopContract

from invekto_integrations.testing.conformance import ConformanceSuite


class TestEchoShopConformance(ConformanceSuite):
    contract = EchoShopContract()
