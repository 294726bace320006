"""Money as `Decimal` with a currency; provider floats are converted through `repr` (never binary).

`Money` is the type of every amount that crosses a module boundary (order totals, prices, refunds,
ad spend, revenue, message costs): sums, ratios, shares and rounding live here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from invekto_integrations.core.errors import InvalidArgument

__all__ = ["Money", "format_try", "to_decimal"]


def to_decimal(value: Any) -> Decimal:
    """Convert a provider amount (JSON number, numeric string, Decimal) exactly.

    Floats go through ``repr`` so ``400.1`` stays ``Decimal("400.1")`` and not its binary
    neighbour. Turkish-formatted strings ("1.234,50") are accepted as well. Anything else raises
    `InvalidArgument` (also a ``ValueError``, so pydantic validators report it as a field error).
    """
    if type(value) is float:  # what JSON gives: the common case first
        result = Decimal(repr(value))
        if not result.is_finite():
            raise InvalidArgument(f"not a finite amount: {value!r}", field="amount")
        return result
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidArgument(f"not a finite amount: {value!r}", field="amount")
        return value
    if isinstance(value, bool):
        raise InvalidArgument("a boolean is not an amount", field="amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if "," in text and "." in text and text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        elif "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise InvalidArgument(f"not an amount: {value!r}", field="amount") from None
    else:
        raise InvalidArgument(f"not an amount: {value!r}", field="amount")
    if not result.is_finite():
        raise InvalidArgument(f"not a finite amount: {value!r}", field="amount")
    return result


DecimalAmount = Annotated[Decimal, BeforeValidator(to_decimal)]

# Minor units per ISO 4217 where they are not 2 (quantize to the currency's smallest coin).
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}


def _currency(value: object) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isascii():
        raise InvalidArgument(f"currency must be a 3-letter ISO 4217 code, got {value!r}", field="currency")
    return value.upper()


class Money(BaseModel):
    """An amount in a currency (ISO 4217, TRY by default); arithmetic only within one currency.

    ``Money(amount=..., currency=...)`` accepts what `to_decimal` accepts and raises
    `InvalidArgument` (never a raw ``ValidationError``) for anything else. Amounts are exact
    (no rounding) until `quantized`; `storage` / `from_storage` are the text form stored in a
    database column (``"1249.90 TRY"``, exact and human-readable).
    """

    model_config = ConfigDict(frozen=True)

    amount: DecimalAmount
    currency: str = "TRY"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, InvalidArgument):
                raise cause from None
            field = ".".join(str(p) for p in err.get("loc", ())) or None
            raise InvalidArgument(f"invalid money: {err.get('msg')}", field=field) from None

    @field_validator("currency", mode="before")
    @classmethod
    def _upper(cls, v: object) -> str:
        return _currency(v)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def of(cls, amount: Any, currency: str = "TRY") -> Money:
        """``Money.of("1.249,90")``: the short form."""
        return cls(amount=amount, currency=currency)

    @classmethod
    def zero(cls, currency: str = "TRY") -> Money:
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def sum(cls, items: Iterable[Money], currency: str = "TRY") -> Money:
        """The total of ``items`` (all in one currency); the zero of ``currency`` when empty.
        A mix of currencies raises `InvalidArgument`."""
        total: Money | None = None
        for item in items:
            total = item if total is None else total + item
        if total is None:
            return cls.zero(currency)
        return total

    # -- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            raise InvalidArgument(f"money can be multiplied by an int or Decimal, not {factor!r}", field="factor")
        return Money(amount=self.amount * factor, currency=self.currency)

    __rmul__ = __mul__

    def __truediv__(self, count: int) -> Money:
        """An equal share of ``count`` (cost per lead, average order value); exact until quantized."""
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise InvalidArgument(f"money is divided by a positive count, not {count!r}", field="count")
        return Money(amount=self.amount / count, currency=self.currency)

    def ratio(self, other: Money) -> Decimal | None:
        """``self / other`` as a plain number (ROAS = revenue.ratio(spend)); ``None`` when ``other``
        is zero (a ratio over nothing is undefined, not infinite)."""
        self._same(other)
        if other.amount == 0:
            return None
        return self.amount / other.amount

    def _cmp(self, other: Money) -> tuple[Decimal, Decimal]:
        self._same(other)
        return self.amount, other.amount

    def __lt__(self, other: Money) -> bool:
        a, b = self._cmp(other)
        return a < b

    def __le__(self, other: Money) -> bool:
        a, b = self._cmp(other)
        return a <= b

    def __gt__(self, other: Money) -> bool:
        a, b = self._cmp(other)
        return a > b

    def __ge__(self, other: Money) -> bool:
        a, b = self._cmp(other)
        return a >= b

    def _same(self, other: object) -> None:
        if not isinstance(other, Money):
            raise InvalidArgument(f"expected Money, got {type(other).__name__}", field="other")
        if other.currency != self.currency:
            raise InvalidArgument(f"currency mismatch: {self.currency} vs {other.currency}", field="currency")

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    # -- rounding and storage -------------------------------------------------------------------
    def quantized(self, places: int | None = None, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Rounded to ``places`` decimals (default: the currency's minor unit, 2 for TRY), banker's
        rounding unless ``rounding`` says otherwise."""
        digits = _MINOR_UNITS.get(self.currency, 2) if places is None else places
        if digits < 0:
            raise InvalidArgument("places cannot be negative", field="places")
        return Money(amount=self.amount.quantize(Decimal(1).scaleb(-digits), rounding), currency=self.currency)

    def storage(self) -> str:
        """``"1249.90 TRY"``: exact, sortable within a currency only by parsing, readable in SQL."""
        return f"{self.amount:f} {self.currency}"

    @classmethod
    def from_storage(cls, text: str) -> Money:
        amount, sep, currency = text.strip().partition(" ")
        if not sep:
            raise InvalidArgument(f"not a stored money value: {text!r}", field="money")
        return cls(amount=Decimal(amount) if amount else amount, currency=currency)

    def __str__(self) -> str:
        return self.storage()


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
