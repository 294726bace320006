from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invekto_integrations.core.money import Money, format_try, to_decimal
from invekto_integrations.core.phone import is_masked, normalize_phone, try_normalize_phone
from invekto_integrations.messaging.quiet_hours import QuietHours


@pytest.mark.parametrize(
    "raw",
    ["0532 123 45 67", "+90 532 123 45 67", "905321234567", "5321234567", "(0532) 123-45-67",
     "0090 532 123 4567", "+905321234567"],
)
def test_turkish_phone_forms(raw: str) -> None:
    assert normalize_phone(raw) == "+905321234567"


@pytest.mark.parametrize("raw", ["0532***45**", "", "123", "abc", "+90 532 123"])
def test_unusable_phones(raw: str) -> None:
    assert try_normalize_phone(raw) is None
    with pytest.raises(ValueError):
        normalize_phone(raw)


def test_masked_detection() -> None:
    assert is_masked("0532***45**") and not is_masked("05321234567")


@given(st.integers(min_value=0, max_value=9_999_999))
def test_phone_normalization_is_idempotent(n: int) -> None:
    e164 = f"+90532{n:07d}"
    assert normalize_phone(e164) == e164
    assert normalize_phone(e164[3:]) == e164  # national form without the trunk 0
    assert normalize_phone("0" + e164[3:]) == e164


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_decimal_round_trip_through_float_repr(d: Decimal) -> None:
    assert to_decimal(float(d)) == Decimal(repr(float(d)))
    assert to_decimal(str(d)) == d


@pytest.mark.parametrize(("raw", "expected"), [(400.1, "400.1"), ("1.234,50", "1234.50"), ("12,5", "12.5"),
                                               (7, "7"), ("  99.90 ", "99.90")])
def test_to_decimal(raw: object, expected: str) -> None:
    assert to_decimal(raw) == Decimal(expected)


@pytest.mark.parametrize("bad", [True, "abc", "NaN", None, [1]])
def test_to_decimal_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        to_decimal(bad)


def test_money() -> None:
    total = Money(amount=400.1) + Money(amount="0.2")
    assert total == Money(amount=Decimal("400.3"), currency="TRY")
    with pytest.raises(ValueError):
        _ = Money(amount=1) + Money(amount=1, currency="EUR")
    assert format_try(Decimal(15000)) == "15.000"
    assert format_try(Decimal("1234.5"), decimals=True) == "1.234,50"
    assert format_try(Decimal("-1000000")) == "-1.000.000"


def test_quiet_hours_wrap_midnight_in_istanbul() -> None:
    q = QuietHours()
    at_2330_ist = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # Istanbul is UTC+3
    assert q.is_quiet(at_2330_ist)
    assert q.next_allowed(at_2330_ist) == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    early = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 06:00 local
    assert q.next_allowed(early) == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    noon = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert not q.is_quiet(noon) and q.next_allowed(noon) == noon
