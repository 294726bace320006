"""The dashboard of one tenant: which panels its niche gets, computed from a store, and the report.

```python
period = ReportPeriod("t1", date(2026, 3, 1), date(2026, 3, 31), "Europe/Istanbul")
report = build_report(store, period, niche="ecommerce", clock=clock)
Path("dashboard.html").write_text(report.to_html(), encoding="utf-8")
```
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, SerializeAsAny

from invekto_integrations.attribution import AttributionStore
from invekto_integrations.campaigns import MessageCosts
from invekto_integrations.core.clock import Clock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.models.attribution import AttributionModel
from invekto_integrations.models.settings import Niche as SettingsNiche
from invekto_integrations.storage.dashboard_protocols import ReportReader, ReturnCaseRepository, ReviewCaseRepository
from invekto_integrations.storage.settings import TenantSettingsRepository, tenant_settings

from ._base import Label, Panel
from ._period import ReportPeriod
from .attribution import attribution_panel_from
from .clinic import clinic_panel
from .ecommerce import ecommerce_panel
from .outbound import OutboundStore, outbound_panel_from
from .returns import returns_panel
from .reviews import reviews_panel

__all__ = ["DashboardReport", "DashboardStore", "Niche", "build_panels", "build_report", "build_tenant_report"]

#: The tenant's niche (`TenantSettings.niche` values; the settings enum works too, it is a str).
Niche = Literal["ecommerce", "dental", "aesthetic"] | SettingsNiche


class DashboardStore(AttributionStore, OutboundStore, Protocol):
    """What the dashboard reads: `MemoryStore` and `SQLiteStore` both have these."""

    @property
    def return_cases(self) -> ReturnCaseRepository: ...
    @property
    def review_cases(self) -> ReviewCaseRepository: ...
    @property
    def reports(self) -> ReportReader: ...
    @property
    def tenant_settings(self) -> TenantSettingsRepository: ...


def build_panels(store: DashboardStore, period: ReportPeriod, *, niche: Niche = "ecommerce",
                 extra: Sequence[Panel] = (),
                 attribution: AttributionModel | None = AttributionModel.LAST_TOUCH,
                 outbound: bool = True, costs: MessageCosts | None = None) -> list[Panel]:
    """The panels in report order: ``extra`` ones, outbound (campaigns that sent in the period,
    priced with ``costs`` per message category), attribution under ``attribution`` (``None``:
    left out), the niche's panels, reviews."""
    try:
        kind = SettingsNiche(niche)
    except ValueError:
        known = ", ".join(n.value for n in SettingsNiche)
        raise InvalidArgument(f"unknown niche {niche!r} (one of {known})", field="niche") from None
    panels: list[Panel] = list(extra)
    if outbound:
        panels.append(outbound_panel_from(store, period, costs=costs))
    if attribution is not None:
        panels.append(attribution_panel_from(store, period, model=attribution))
    if kind is SettingsNiche.ECOMMERCE:
        panels.append(ecommerce_panel(store.reports, store.return_cases, period))
        panels.append(returns_panel(store.return_cases, period))
    else:
        panels.append(clinic_panel(store.reports, period,
                                   niche="aesthetic" if kind is SettingsNiche.AESTHETIC else "dental"))
    panels.append(reviews_panel(store.review_cases, period))
    return panels


class DashboardReport(BaseModel):
    """The panels of one tenant and period, with the report's views."""

    model_config = ConfigDict(frozen=True)

    period: ReportPeriod
    generated_at: datetime
    panels: list[SerializeAsAny[Panel]]
    title: Label = Label(tr="Gösterge paneli", en="Dashboard")

    def to_html(self) -> str:
        """One self-contained HTML file (inline CSS and SVG charts, no network)."""
        from ._render import render_report

        p = self.period
        return render_report(self.panels, tenant_id=p.tenant_id, date_from=p.date_from, date_to=p.date_to,
                             timezone=p.timezone, generated_at=self.generated_at, title=self.title)

    def _repr_html_(self) -> str:
        return self.to_html()

    def panel(self, kind: str) -> Panel:
        for p in self.panels:
            if p.kind == kind:
                return p
        raise InvalidArgument(f"no {kind!r} panel in this report", field="kind")


def build_report(store: DashboardStore, period: ReportPeriod, *, clock: Clock, niche: Niche = "ecommerce",
                 extra: Sequence[Panel] = (), attribution: AttributionModel | None = AttributionModel.LAST_TOUCH,
                 outbound: bool = True, costs: MessageCosts | None = None,
                 title: Label | None = None) -> DashboardReport:
    panels = build_panels(store, period, niche=niche, extra=extra, attribution=attribution, outbound=outbound,
                          costs=costs)
    return DashboardReport(
        period=period, generated_at=clock.now(), panels=panels,
        **({"title": title} if title else {}),
    )


def build_tenant_report(store: DashboardStore, tenant_id: str, date_from: date, date_to: date, *, clock: Clock,
                        extra: Sequence[Panel] = (),
                        attribution: AttributionModel | None = AttributionModel.LAST_TOUCH) -> DashboardReport:
    """The report of a tenant as its settings say: its timezone, its niche's panels and its message
    prices for the campaigns' cost (`TenantSettings` defaults when none are stored)."""
    settings = tenant_settings(store.tenant_settings, tenant_id)
    period = ReportPeriod(tenant_id, date_from, date_to, settings.timezone)
    costs = {category.value: price.amount for category, price in settings.message_costs.items()}
    return build_report(store, period, clock=clock, niche=settings.niche, extra=extra, attribution=attribution,
                        costs=costs)
