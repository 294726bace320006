"""The front door's thin accessors of the later areas: attribution, dashboard, runtime, campaigns,
over the sandbox's SQLite file and over PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from invekto_integrations import AsyncIntegrations, Integrations
from invekto_integrations.models.events import DomainEvent
from invekto_integrations.runtime import BaseEngine, EngineContext


class _Counter(BaseEngine):
    name = "count-orders"
    consumes = frozenset({"order.created"})

    def __init__(self) -> None:
        self.seen: list[str] = []

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        self.seen.append(event.TYPE)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``None`` (the sandbox's private SQLite file) or a `PostgresStore` on a fresh schema."""
    if request.param == "sqlite":
        yield None
        return
    from invekto_integrations.storage.postgres import PostgresStore

    s = PostgresStore(request.getfixturevalue("postgres_url"))
    yield s
    s.close()


def test_dashboard_and_attribution_over_the_clients_store_and_clock(store: Any) -> None:
    with Integrations.sandbox(["trendyol"], store=store) as client:
        seller = client.fakes.trendyol.provision_account()
        client.accounts.add("moda", "trendyol", seller.credentials, settings=seller.settings)
        now = client.clock.now()
        client.fakes.trendyol.seed_orders(seller.account_key, 6, start=now - timedelta(days=5),
                                          end=now - timedelta(days=1))
        client.orders.sync("moda")
        today = now.date()
        report = client.dashboard.report("moda", today - timedelta(days=7), today)
        assert report.generated_at == now  # the client's (sandbox) clock
        assert "<html" in report.to_html().lower()
        link = client.attribution.create_link("moda", "+90 532 412 34 56", utm_campaign="kis")
        assert link.created_at == now and link.ad is not None and link.ad.campaign_id == "utm:kis"
        assert client.attribution.funnel("moda", today - timedelta(days=7), today).rows == []


def test_runtime_hosts_engines_on_the_clients_event_log(store: Any) -> None:
    with Integrations.sandbox(["trendyol"], store=store) as client:
        seller = client.fakes.trendyol.provision_account()
        client.accounts.add("moda", "trendyol", seller.credentials, settings=seller.settings)
        now = client.clock.now()
        client.fakes.trendyol.seed_orders(seller.account_key, 4, start=now - timedelta(days=3),
                                          end=now - timedelta(days=1))
        client.orders.sync("moda")
        engine = _Counter()
        runtime = client.runtime([engine], owner="test")
        runtime.run_once()
        assert engine.seen == ["order.created"] * 4
        assert runtime.clock is client.clock


async def test_async_accessors() -> None:
    async with AsyncIntegrations.sandbox(["trendyol"]) as client:
        today = client.clock.now().date()
        report = await client.dashboard.report("moda", today - timedelta(days=1), today)
        assert report.panels
        assert (await client.attribution.leads_per_campaign("moda", today, today)).rows == []


def test_campaigns_use_the_clients_pipeline_and_run_in_its_runtime(store: Any) -> None:
    from invekto_integrations.campaigns import Everyone, OneShotTrigger, Variant

    with Integrations.sandbox(["trendyol"], store=store) as client:
        engine = client.campaigns.engine
        assert engine is client.campaigns.engine  # built once
        assert engine.sink is client.messages.pipeline
        campaign = client.campaigns.manager.create(
            "moda", "Kış", trigger=OneShotTrigger(at=client.clock.now()),
            variants=[Variant(name="A", template_name="kis_a")])
        assert client.campaigns.get("moda", campaign.id).name == "Kış"
        assert client.campaigns.preview("moda", Everyone()).count == 0
        report = client.runtime([engine], owner="t").run_once(["moda"])
        assert report.pairs and all(p.ok for p in report.pairs), [p.errors for p in report.pairs]
