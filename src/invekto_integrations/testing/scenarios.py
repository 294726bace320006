"""Scenario hooks on marketplace fakes: what the demo, end-to-end tests and benchmarks ask a fake to do.

A marketplace fake (Trendyol, Hepsiburada, the reference marketplace) may implement
`MarketplaceScenario` so that provider-agnostic flows can drive it without knowing its wire
format: open a seller account and get credentials the fake accepts, seed history, create an
order for a given customer, and move an order along its lifecycle. Every time is given by the
caller (the sandbox's clock), so runs are deterministic.

The protocol is optional and structural: `supports_scenarios` checks a fake at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from invekto_integrations.models.accounts import Credentials

__all__ = ["FakeSellerAccount", "MarketplaceScenario", "supports_scenarios"]


@dataclass(frozen=True)
class FakeSellerAccount:
    """A seller account opened in a fake: its key in the fake, and what to store in `AccountService`."""

    account_key: str
    credentials: Credentials = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)
    display_name: str = ""


@runtime_checkable
class MarketplaceScenario(Protocol):
    """Optional hooks a marketplace fake offers to scenario drivers (demo, tests, benchmarks)."""

    def provision_account(self, display_name: str = "") -> FakeSellerAccount:
        """Open a new seller account in the fake and return credentials it accepts."""
        ...

    def seed_orders(self, account_key: str, count: int, *, start: datetime, end: datetime) -> list[str]:
        """Create ``count`` orders placed (and last modified) between ``start`` and ``end``, with
        random Turkish customers; returns their external ids (the unit the order cache keys by)."""
        ...

    def seed_customer_order(self, account_key: str, phone: str, name: str, at: datetime) -> str:
        """Create one order for the customer ``name`` / ``phone`` (any common Turkish form), placed
        and last modified at ``at``; returns its external id."""
        ...

    def step_order(self, account_key: str, external_id: str, at: datetime) -> str:
        """Move an order one step along its lifecycle (e.g. created → processing → shipped with a
        tracking number → delivered), last modified at ``at``; returns the new raw status."""
        ...


def supports_scenarios(fake: object) -> bool:
    """True when ``fake`` implements every `MarketplaceScenario` hook."""
    return isinstance(fake, MarketplaceScenario)
