"""What every panel shares: bilingual labels, rates with their denominators, chart and table specs.

A panel is typed data (a frozen pydantic model). It describes itself for the views through
`Panel.kpis`, `Panel.tables` and `Panel.charts`; the HTML renderer, ``_repr_html_`` and
``to_pandas`` are generic over those, so a new panel adds numbers, never markup.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, computed_field

from invekto_integrations.core.errors import ConfigurationError, InvalidArgument

from ._period import ReportPeriod

if TYPE_CHECKING:
    import pandas

__all__ = ["Chart", "Kpi", "Label", "Panel", "Rate", "Series", "Table", "main_currency", "mean", "money"]

Cell = str | int | Decimal | date | None


class Label(BaseModel):
    """A label in Turkish (shown first) and English."""

    model_config = ConfigDict(frozen=True)

    tr: str
    en: str

    def __str__(self) -> str:
        return self.tr if self.tr == self.en else f"{self.tr} / {self.en}"


def L(tr: str, en: str | None = None) -> Label:
    return Label(tr=tr, en=en if en is not None else tr)


class Rate(BaseModel):
    """``numerator / denominator`` kept whole, so a reader sees what a percentage is of."""

    model_config = ConfigDict(frozen=True)

    numerator: int
    denominator: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def value(self) -> Decimal | None:
        """The ratio to four places (``None`` when the denominator is zero)."""
        if self.denominator == 0:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)

    def percent(self) -> str:
        if self.value is None:
            return "–"
        pct = (self.value * 100).quantize(Decimal("0.1"), ROUND_HALF_EVEN)
        return f"%{pct}".replace(".", ",") + f" ({self.numerator}/{self.denominator})"


def money(value: Decimal) -> Decimal:
    """Round to kuruş (banker's rounding), the form panels keep amounts in."""
    return value.quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def mean(values: list[int] | list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def main_currency(currencies: list[str], default: str = "TRY") -> str:
    """The currency most rows are in (a panel sums one currency; rows in others are left out and named)."""
    if not currencies:
        return default
    return max(sorted(set(currencies)), key=currencies.count)


class Kpi(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    label: Label
    value: str  # formatted for display (Turkish number format)


class Table(BaseModel):
    """Rows of one breakdown; ``columns`` are (key, label) pairs, rows hold plain values."""

    model_config = ConfigDict(frozen=True)

    key: str
    title: Label
    columns: list[tuple[str, Label]]
    rows: list[list[Cell]]


class Series(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: Label
    values: list[Decimal]


class Chart(BaseModel):
    """What to draw, not how: the renderer turns it into an inline SVG with matplotlib."""

    model_config = ConfigDict(frozen=True)

    key: str
    title: Label
    kind: Literal["bar", "barh", "stacked", "line", "pie"]
    categories: list[str]
    series: list[Series]
    value_format: Literal["count", "money", "percent", "hours", "rating"] = "count"

    @property
    def is_empty(self) -> bool:
        return not self.categories or all(v == 0 for s in self.series for v in s.values)


class Panel(BaseModel):
    """Base of every panel: whose figures, over which local days, in which zone and currency."""

    model_config = ConfigDict(frozen=True)

    kind: ClassVar[str] = "panel"
    title: ClassVar[Label] = L("Panel")

    tenant_id: str
    date_from: date
    date_to: date
    timezone: str
    currency: str = "TRY"

    @classmethod
    def _head(cls, period: ReportPeriod, currency: str = "TRY") -> dict[str, Any]:
        return {"tenant_id": period.tenant_id, "date_from": period.date_from, "date_to": period.date_to,
                "timezone": period.timezone, "currency": currency}

    @property
    def is_empty(self) -> bool:
        """No row fell in the period (the panel renders as "no data", not as an error)."""
        raise NotImplementedError

    @property
    def heading(self) -> Label:
        return self.title

    def kpis(self) -> list[Kpi]:
        return []

    def notes(self) -> list[str]:
        """Remarks shown under the panel (records left out, assumptions)."""
        return []

    def tables(self) -> list[Table]:
        return []

    def charts(self) -> list[Chart]:
        return []

    def _repr_html_(self) -> str:
        from ._render import render_panel

        return render_panel(self)

    def to_pandas(self, table: str | None = None) -> pandas.DataFrame:
        """One of `tables` as a DataFrame (the first by default); needs the ``pandas`` extra."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - exercised only without the extra
            raise ConfigurationError("to_pandas() needs pandas: pip install 'invekto-integrations[pandas]'") from exc
        tables = self.tables()
        chosen = tables[0] if table is None and tables else next((t for t in tables if t.key == table), None)
        if chosen is None:
            known = ", ".join(t.key for t in tables) or "none"
            raise InvalidArgument(f"{self.kind} panel has no table {table!r} (tables: {known})", field="table")
        return pd.DataFrame(chosen.rows, columns=[key for key, _ in chosen.columns])
