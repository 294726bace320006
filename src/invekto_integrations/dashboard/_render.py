"""HTML views: the self-contained report (one file, no network) and one panel for Jupyter.

Jinja2 templates ship inside the package (``dashboard/templates``); charts are inline SVG from
`_charts`. Nothing is fetched: no scripts, fonts or images from elsewhere, and a
Content-Security-Policy of ``default-src 'none'`` says so to the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from invekto_integrations._version import __version__
from invekto_integrations.core.errors import ConfigurationError

from ._base import Kpi, Label, Panel, Table
from ._charts import chart_svg
from ._format import fmt_cell

if TYPE_CHECKING:
    import jinja2

__all__ = ["render_panel", "render_report"]


@dataclass(frozen=True)
class _Cell:
    text: str
    numeric: bool


@dataclass(frozen=True)
class _ChartView:
    key: str
    title: Label
    svg: str


@dataclass(frozen=True)
class _TableView:
    key: str
    title: Label
    columns: list[tuple[str, Label]]
    rows: list[list[Any]]
    cells: list[list[_Cell]]


@dataclass(frozen=True)
class _PanelView:
    view: Panel
    empty: bool
    kpis: list[Kpi]
    charts: list[_ChartView]
    tables: list[_TableView]
    notes: list[str]


@cache
def _env() -> jinja2.Environment:
    try:
        import jinja2
    except ImportError as exc:
        raise ConfigurationError(
            "the HTML views need Jinja2 and matplotlib: pip install 'invekto-integrations[dashboard]'"
        ) from exc
    return jinja2.Environment(
        loader=jinja2.PackageLoader("invekto_integrations.dashboard", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )


def _table(t: Table) -> _TableView:
    keys = [k for k, _ in t.columns]
    cells = [[_Cell(fmt_cell(v, k), isinstance(v, int | Decimal) and not isinstance(v, bool))
              for k, v in zip(keys, row, strict=True)] for row in t.rows]
    return _TableView(t.key, t.title, t.columns, t.rows, cells)


def _view(panel: Panel) -> _PanelView:
    empty = panel.is_empty
    charts = [] if empty else [_ChartView(c.key, c.title, chart_svg(c)) for c in panel.charts() if not c.is_empty]
    return _PanelView(panel, empty, [] if empty else panel.kpis(), charts,
                      [] if empty else [_table(t) for t in panel.tables()], panel.notes())


def render_panel(panel: Panel) -> str:
    """One panel as an HTML fragment with its own styles (Jupyter's ``_repr_html_``)."""
    return _env().get_template("panel.html.j2").render(p=_view(panel))


def render_report(panels: Sequence[Panel], *, tenant_id: str, date_from: date, date_to: date, timezone: str,
                  generated_at: datetime, title: Label | None = None) -> str:
    """The whole report: one self-contained HTML document, one section per panel."""
    return _env().get_template("report.html.j2").render(
        panels=[_view(p) for p in panels], tenant_id=tenant_id, date_from=date_from, date_to=date_to,
        timezone=timezone, generated_at=generated_at.isoformat(timespec="minutes"), version=__version__,
        title=title or Label(tr="Gösterge paneli", en="Dashboard"),
    )
