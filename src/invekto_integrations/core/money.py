"""Money as `Decimal` with a currency; provider floats are converted through `str` (never binary)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

__all__ = ["Money", "format_try", "to_decimal"]


def to_decimal(value: Any) -> Decimal:
    """Convert a provider amount (JSON number, numeric string, Decimal) exactly.

    Floats go through ``repr`` so ``400.1`` stays ``Decimal("400.1")`` and not its binary
    neighbour. Turkish-formatted strings ("1.234,50") are accepted as well.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if "," in text and "." in text and text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        elif "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {value!r}") from exc
        if not result.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        return result
    raise ValueError(f"not an amount: {value!r}")


DecimalAmount = Annotated[Decimal, BeforeValidator(to_decimal)]


class Money(BaseModel):
    """An amount in a currency (ISO 4217, TRY by default)."""

    model_config = ConfigDict(frozen=True)

    amount: DecimalAmount
    currency: str = "TRY"

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        if len(v) != 3 or not v.isalpha():
            raise ValueError(f"currency must be a 3-letter ISO code, got {v!r}")
        return v.upper()

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(amount=self.amount * factor, currency=self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def quantized(self) -> Money:
        return Money(amount=self.amount.quantize(Decimal("0.01"), ROUND_HALF_EVEN), currency=self.currency)

    @classmethod
    def zero(cls, currency: str = "TRY") -> Money:
        return cls(amount=Decimal(0), currency=currency)


def format_try(amount: Decimal, *, decimals: bool = False) -> str:
    """Format an amount the Turkish way: ``15000`` → ``15.000``, ``1234.5`` → ``1.234,50``."""
    q = amount.quantize(Decimal("0.01") if decimals else Decimal("1"), ROUND_HALF_EVEN)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = ".".join(groups)
    if decimals:
        text += "," + (frac or "00")
    return sign + text
