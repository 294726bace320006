"""Front-door resources of the later areas: ``client.attribution``, ``client.dashboard`` and
``client.runtime(...)``. Thin: the area's functions take the client's store and clock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import Any

from invekto_integrations._context import Context
from invekto_integrations.attribution import FunnelReport, LeadsPerCampaignReport, create_link, funnel
from invekto_integrations.attribution import leads_per_campaign as _leads_per_campaign
from invekto_integrations.campaigns import (
    AudiencePreview,
    Campaign,
    CampaignEngine,
    CampaignManager,
    Criterion,
    CustomerFacts,
    EventConversions,
)
from invekto_integrations.dashboard import DashboardReport, Niche, Panel, ReportPeriod, build_panels, build_report
from invekto_integrations.models.attribution import AttributionModel, TrackedLink

__all__ = ["AsyncAttribution", "AsyncCampaigns", "AsyncDashboard", "Attribution", "Campaigns", "Dashboard"]

DEFAULT_TIMEZONE = "Europe/Istanbul"


class _Resource:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {type(self._ctx.store).__name__}>"


class Attribution(_Resource):
    """``client.attribution``: tracked WhatsApp links and the attribution reports (docs/attribution.md)."""

    def create_link(self, tenant_id: str, wa_number: str, *, utm_source: str | None = None,
                    utm_medium: str | None = None, utm_campaign: str | None = None,
                    channel_name: str | None = None) -> TrackedLink:
        """A tracked ``wa.me`` link for a campaign (its clicks and the chats they open are attributed)."""
        return create_link(self._ctx.store.tracked_links, tenant_id, wa_number, utm_source=utm_source,
                           utm_medium=utm_medium, utm_campaign=utm_campaign, channel_name=channel_name,
                           clock=self._ctx.clock)

    def funnel(self, tenant_id: str, start: date, end: date, *,
               model: AttributionModel = AttributionModel.LAST_TOUCH,
               timezone: str = DEFAULT_TIMEZONE) -> FunnelReport:
        """Spend, leads and conversions of [start, end] (the tenant's days) per campaign, under ``model``."""
        return funnel(self._ctx.store, tenant_id, start, end, model=model, timezone=timezone)

    def leads_per_campaign(self, tenant_id: str, start: date, end: date, *,
                           timezone: str = DEFAULT_TIMEZONE) -> LeadsPerCampaignReport:
        return _leads_per_campaign(self._ctx.store, tenant_id, start, end, timezone=timezone)


class AsyncAttribution(_Resource):
    """``client.attribution`` of `AsyncIntegrations` (storage work in a worker thread)."""

    async def create_link(self, tenant_id: str, wa_number: str, *, utm_source: str | None = None,
                          utm_medium: str | None = None, utm_campaign: str | None = None,
                          channel_name: str | None = None) -> TrackedLink:
        return await asyncio.to_thread(Attribution(self._ctx).create_link, tenant_id, wa_number,
                                       utm_source=utm_source, utm_medium=utm_medium, utm_campaign=utm_campaign,
                                       channel_name=channel_name)

    async def funnel(self, tenant_id: str, start: date, end: date, *,
                     model: AttributionModel = AttributionModel.LAST_TOUCH,
                     timezone: str = DEFAULT_TIMEZONE) -> FunnelReport:
        return await asyncio.to_thread(Attribution(self._ctx).funnel, tenant_id, start, end, model=model,
                                       timezone=timezone)

    async def leads_per_campaign(self, tenant_id: str, start: date, end: date, *,
                                 timezone: str = DEFAULT_TIMEZONE) -> LeadsPerCampaignReport:
        return await asyncio.to_thread(Attribution(self._ctx).leads_per_campaign, tenant_id, start, end,
                                       timezone=timezone)


class Dashboard(_Resource):
    """``client.dashboard``: the panels and the HTML report of a tenant's period (docs/dashboard.md)."""

    def report(self, tenant_id: str, date_from: date, date_to: date, *, niche: Niche = "ecommerce",
               timezone: str = DEFAULT_TIMEZONE, extra: Sequence[Panel] = ()) -> DashboardReport:
        """Every panel of the niche for [date_from, date_to] (the tenant's days); ``.to_html()`` is
        the self-contained report, and a notebook shows it as is."""
        period = ReportPeriod(tenant_id, date_from, date_to, timezone)
        return build_report(self._ctx.store, period, clock=self._ctx.clock, niche=niche, extra=extra)

    def panels(self, tenant_id: str, date_from: date, date_to: date, *, niche: Niche = "ecommerce",
               timezone: str = DEFAULT_TIMEZONE) -> list[Panel]:
        return build_panels(self._ctx.store, ReportPeriod(tenant_id, date_from, date_to, timezone), niche=niche)


class AsyncDashboard(_Resource):
    """``client.dashboard`` of `AsyncIntegrations` (computed in a worker thread)."""

    async def report(self, tenant_id: str, date_from: date, date_to: date, *, niche: Niche = "ecommerce",
                     timezone: str = DEFAULT_TIMEZONE, extra: Sequence[Panel] = ()) -> DashboardReport:
        return await asyncio.to_thread(Dashboard(self._ctx).report, tenant_id, date_from, date_to, niche=niche,
                                       timezone=timezone, extra=extra)

    async def panels(self, tenant_id: str, date_from: date, date_to: date, *, niche: Niche = "ecommerce",
                     timezone: str = DEFAULT_TIMEZONE) -> list[Panel]:
        return await asyncio.to_thread(Dashboard(self._ctx).panels, tenant_id, date_from, date_to, niche=niche,
                                       timezone=timezone)


def _campaign_engine(ctx: Context) -> CampaignEngine:
    from invekto_integrations._resources import _consent_service, _pipeline

    def build() -> CampaignEngine:
        s = ctx.store
        return CampaignEngine(
            campaigns=s.campaigns, recipients=s.campaign_recipients, conversions=s.campaign_conversions,
            profiles=s.contact_profiles, sink=_pipeline(ctx), consent=_consent_service(ctx),
            settings_repository=s.tenant_settings,
            facts=CustomerFacts(appointments=s.appointments, pricing=s.service_pricing, shipments=s.shipments,
                                contacts=s.messaging_contacts),
            conversion_source=EventConversions(orders=s.orders, pricing=s.service_pricing),
            appointments=s.appointments, clock=ctx.clock)

    engine: CampaignEngine = ctx.once("campaigns.engine", build)
    return engine


class Campaigns(_Resource):
    """``client.campaigns``: outbound campaigns through the client's send pipeline (docs/campaigns.md).

    The engine is the runtime's kind: host it with ``client.runtime([client.campaigns.engine])``."""

    @property
    def engine(self) -> CampaignEngine:
        return _campaign_engine(self._ctx)

    @property
    def manager(self) -> CampaignManager:
        """Create, edit, schedule, pause and preview campaigns."""
        return self.engine.manager

    def get(self, tenant_id: str, campaign_id: str) -> Campaign:
        return self.manager.get(tenant_id, campaign_id)

    def preview(self, tenant_id: str, audience: Criterion | dict[str, Any] | str) -> AudiencePreview:
        """How many contacts an audience matches now, with a sample."""
        return self.manager.preview(tenant_id, audience)


class AsyncCampaigns(_Resource):
    """``client.campaigns`` of `AsyncIntegrations` (storage work in a worker thread)."""

    @property
    def engine(self) -> CampaignEngine:
        return _campaign_engine(self._ctx)

    @property
    def manager(self) -> CampaignManager:
        return self.engine.manager

    async def get(self, tenant_id: str, campaign_id: str) -> Campaign:
        return await asyncio.to_thread(self.manager.get, tenant_id, campaign_id)

    async def preview(self, tenant_id: str, audience: Criterion | dict[str, Any] | str) -> AudiencePreview:
        return await asyncio.to_thread(self.manager.preview, tenant_id, audience)


def runtime_kwargs(ctx: Context, owner: str | None, kw: dict[str, Any]) -> dict[str, Any]:
    """The runtime's arguments from the client: its clock, its event bus, and what the caller adds."""
    return {"clock": ctx.clock, "owner": owner, "bus": ctx.bus, **kw}
