"""Dashboard panels as typed data, and their views (a self-contained HTML report, Jupyter, pandas).

Domain logic only, no HTTP: each panel is computed from repositories for a `ReportPeriod`
(tenant, local dates, the tenant's timezone). Empty data gives an empty panel, never an error.
The HTML views need the ``dashboard`` extra (Jinja2, matplotlib); ``to_pandas`` the ``pandas`` one.
"""

from invekto_integrations.storage.dashboard_records import (
    RECOVERED_RETURN_OUTCOMES,
    RECOVERED_REVIEW_OUTCOMES,
    ReturnCase,
    ReturnOutcome,
    ReviewCase,
    ReviewOutcome,
)

from ._base import Chart, Kpi, Label, Panel, Rate, Series, Table
from ._period import ReportPeriod
from ._render import render_panel, render_report
from .attribution import AttributionPanel, attribution_panel, attribution_panel_from
from .clinic import ClinicPanel, clinic_panel
from .ecommerce import EcommercePanel, ecommerce_panel
from .engine import ReturnCaseEngine
from .outbound import OutboundPanel, outbound_panel, outbound_panel_from
from .report import DashboardReport, DashboardStore, Niche, build_panels, build_report, build_tenant_report
from .returns import (
    ClaimFacts,
    ReturnsPanel,
    apply_claim,
    open_return_cases,
    record_contact,
    record_return_outcome,
    returns_panel,
)
from .reviews import (
    ReviewInput,
    ReviewsPanel,
    ingest_reviews,
    record_follow_up,
    record_review_outcome,
    reviews_panel,
)

__all__ = [
    "RECOVERED_RETURN_OUTCOMES",
    "RECOVERED_REVIEW_OUTCOMES",
    "AttributionPanel",
    "Chart",
    "ClaimFacts",
    "ClinicPanel",
    "DashboardReport",
    "DashboardStore",
    "EcommercePanel",
    "Kpi",
    "Label",
    "Niche",
    "OutboundPanel",
    "Panel",
    "Rate",
    "ReportPeriod",
    "ReturnCase",
    "ReturnCaseEngine",
    "ReturnOutcome",
    "ReturnsPanel",
    "ReviewCase",
    "ReviewInput",
    "ReviewOutcome",
    "ReviewsPanel",
    "Series",
    "Table",
    "apply_claim",
    "attribution_panel",
    "attribution_panel_from",
    "build_panels",
    "build_report",
    "build_tenant_report",
    "clinic_panel",
    "ecommerce_panel",
    "ingest_reviews",
    "open_return_cases",
    "outbound_panel",
    "outbound_panel_from",
    "record_contact",
    "record_follow_up",
    "record_return_outcome",
    "record_review_outcome",
    "render_panel",
    "render_report",
    "returns_panel",
    "reviews_panel",
]
