"""Display formatting for the views: Turkish number style (``1.234,50 ₺``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invekto_integrations.core.money import format_try

__all__ = ["fmt_cell", "fmt_decimal", "fmt_money"]

_SYMBOLS = {"TRY": "₺", "EUR": "€", "USD": "$"}


def fmt_money(amount: Decimal | None, currency: str = "TRY") -> str:
    if amount is None:
        return "–"
    return f"{format_try(amount, decimals=True)} {_SYMBOLS.get(currency, currency)}"


def fmt_decimal(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "–"
    text = f"{value:.{places}f}"
    whole, _, frac = text.partition(".")
    return format_try(Decimal(whole)) + ("," + frac if frac else "")


def fmt_cell(value: object, key: str = "") -> str:
    """A table cell: amounts and rates by the column key's convention, dates as ISO."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "✓" if value else "–"
    if isinstance(value, Decimal):
        if key.endswith("_rate") or key == "rate":
            return "%" + fmt_decimal(value * 100, 1)
        if "amount" in key or "revenue" in key or key.startswith(("price", "cost", "cpl", "spend")):
            return fmt_decimal(value, 2)
        return fmt_decimal(value, 2)
    if isinstance(value, int):
        return format_try(Decimal(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
