"""`Money` arithmetic, rounding and storage; Turkish folding; typed errors from public helpers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from invekto_integrations.core.clock import utc
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.money import Money, to_decimal
from invekto_integrations.core.text import fold, fold_words

amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4, allow_nan=False,
                      allow_infinity=False)


def test_sum_ratio_share_and_rounding() -> None:
    a, b = Money.of("1.249,90"), Money.of("250.10")
    assert a.amount == Decimal("1249.90")
    assert Money.sum([a, b]) == Money.of("1500.00") and Money.sum([], "EUR") == Money.zero("EUR")
    assert a.ratio(b) == Decimal("1249.90") / Decimal("250.10") and a.ratio(Money.zero()) is None
    share = Money.of("100") / 3
    assert share.quantized() == Money.of("33.33") and share.amount != Decimal("33.33")  # exact until rounded
    assert Money.of("0.125").quantized() == Money.of("0.12")  # banker's rounding
    assert Money.of("1.5", "JPY").quantized() == Money.of("2", "JPY")  # the currency's minor unit
    assert Money.of("1.2345").quantized(3) == Money.of("1.234")
    assert -a == Money.of("-1249.90") and 2 * b == b * 2 == Money.of("500.20")
    assert b < a and a >= b and not a.is_zero and Money.zero().is_zero


@pytest.mark.parametrize("call", [
    lambda: Money.of("1") + Money.of("1", "EUR"),
    lambda: Money.of("1").ratio(Money.of("1", "USD")),
    lambda: Money.of("1") < Money.of("1", "USD"),
    lambda: Money.sum([Money.of("1"), Money.of("1", "USD")]),
    lambda: Money.of("1") / 0,
    lambda: Money.of("1") / -2,
    lambda: Money.of("1") * 1.5,  # type: ignore[operator]
    lambda: Money(amount="abc"),
    lambda: Money(amount="NaN"),
    lambda: Money(amount=1, currency="TL"),
    lambda: Money(amount=True),
    lambda: Money.from_storage("12.5"),
    lambda: Money.of("1").quantized(-1),
    lambda: to_decimal("1,2,3x"),
    lambda: to_decimal(Decimal("Infinity")),
    lambda: to_decimal(object()),
    lambda: utc(datetime(2026, 1, 1)),
])
def test_public_helpers_raise_invalid_argument_never_raw_errors(call: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        call()  # type: ignore[operator]
    assert not isinstance(info.value, ValidationError)
    assert isinstance(info.value, ValueError)  # callers catching ValueError keep working


def test_inside_a_model_a_bad_amount_is_a_field_error() -> None:
    class Line(BaseModel):
        price: Money

    with pytest.raises(ValidationError, match="price"):
        Line.model_validate({"price": {"amount": "x", "currency": "TRY"}})
    assert Line.model_validate({"price": {"amount": "1,5", "currency": "try"}}).price == Money.of("1.5")


@given(amounts, st.sampled_from(["TRY", "EUR", "JPY", "KWD"]))
def test_storage_form_round_trips_exactly(amount: Decimal, currency: str) -> None:
    m = Money(amount=amount, currency=currency)
    assert Money.from_storage(m.storage()) == m and str(m) == m.storage()


@given(st.lists(amounts, max_size=20), st.integers(min_value=1, max_value=50))
def test_sum_and_share_agree_with_decimal(values: list[Decimal], count: int) -> None:
    total = Money.sum(Money(amount=v) for v in values)
    assert total.amount == sum(values, Decimal(0))
    # a share is exact to Decimal's 28 significant digits (not rounded to kuruş until quantized)
    assert abs(((total / count) * count).amount - total.amount) <= Decimal("1e-15")


@pytest.mark.parametrize(("raw", "folded"), [
    ("İPTAL", "iptal"), ("ıptal", "iptal"), ("IPTAL", "iptal"), ("iptal", "iptal"),
    ("Yurtiçi  Kargo", "yurtici kargo"), ("ŞĞÜÖÇ şğüöç", "sguoc sguoc"), ("  Diş  Beyazlatma ", "dis beyazlatma"),
    ("KARGO TAKİP NO", "kargo takip no"),
])
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_words_drops_punctuation() -> None:
    assert fold_words(" İptal. ") == fold_words("IPTAL!") == "iptal"
    assert fold_words("Abonelik-İptal") == "abonelik iptal"


@given(st.text(max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)
