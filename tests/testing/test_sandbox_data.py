"""Seeded Turkish data and lifecycles over the sandbox clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.testing.sandbox.data import (
    CITIES,
    Lifecycle,
    TurkishData,
    ean13_check_digit,
    is_valid_ean13,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_same_seed_and_stream_same_data_different_stream_different_data() -> None:
    def sample(seed: int, stream: str) -> tuple[object, ...]:
        d = TurkishData(seed, stream=stream)
        return d.person(), d.address(), d.products(3), d.order_number(), d.tracking_number()

    assert sample(7, "acct-a") == sample(7, "acct-a")
    assert sample(7, "acct-a") != sample(7, "acct-b")
    assert sample(7, "acct-a") != sample(8, "acct-a")


def test_pinned_values_do_not_drift_between_versions() -> None:
    # SHA-256 seeding: the same on every machine and Python version (no salted hash()).
    d = TurkishData(3, stream="a")
    p = d.person()
    assert (p.first_name, p.last_name, p.phone) == ("Ayşe", "Doğan", "+905524088306")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.text(max_size=8))
def test_phones_are_valid_turkish_mobiles_in_e164(seed: int, stream: str) -> None:
    d = TurkishData(seed, stream=stream)
    for _ in range(5):
        phone = d.phone()
        assert phone.startswith("+905") and len(phone) == 13
        assert normalize_phone(phone) == phone
        assert normalize_phone(TurkishData.local_phone(phone)) == phone


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_products_have_valid_unique_barcodes_and_try_prices(seed: int) -> None:
    products = TurkishData(seed).products(20)
    assert len({p.barcode for p in products}) == 20 and len({p.sku for p in products}) == 20
    for p in products:
        assert is_valid_ean13(p.barcode) and p.barcode.startswith("869")
        assert isinstance(p.price, Decimal) and p.price == p.price.quantize(Decimal("0.01")) and p.price > 0
        assert str(p.price).endswith((".90", ".99"))


def test_ean13_check_digit_known_values() -> None:
    assert ean13_check_digit("400638133393") == 1  # 4006381333931, a textbook EAN-13
    assert is_valid_ean13("4006381333931") and not is_valid_ean13("4006381333932")
    assert not is_valid_ean13("400638133393")
    with pytest.raises(ValueError):
        ean13_check_digit("12345")


def test_addresses_use_real_city_district_pairs() -> None:
    d = TurkishData(1)
    assert len(CITIES) >= 15
    assert "Kadıköy" in CITIES["İstanbul"] and "Çankaya" in CITIES["Ankara"] and "Karşıyaka" in CITIES["İzmir"]
    for _ in range(50):
        a = d.address()
        assert a.district in CITIES[a.city]
        assert len(a.postal_code) == 5 and a.postal_code.isdigit()
        assert a.city in a.one_line() and a.district in a.one_line()


def test_names_and_emails_are_turkish_but_emails_ascii() -> None:
    d = TurkishData(2)
    people = [d.person() for _ in range(40)]
    assert any(ch in "çğıöşüÇĞİÖŞÜ" for p in people for ch in p.full_name)
    assert all(p.email.isascii() and "@" in p.email for p in people)


def test_lifecycle_answers_state_at_time_from_the_clock() -> None:
    clock = FrozenClock(T0)
    life = Lifecycle(T0, [(timedelta(0), "Created"), (timedelta(hours=4), "Picking"),
                          (timedelta(days=1), "Shipped"), (timedelta(days=3), "Delivered")])
    assert life.state_at(clock.now()) == "Created" and life.changed_at(clock.now()) == T0
    clock.advance(hours=5)
    assert life.state_at(clock.now()) == "Picking"
    assert life.changed_at(clock.now()) == T0 + timedelta(hours=4)
    assert life.next_change(clock.now()) == (T0 + timedelta(days=1), "Shipped")
    clock.advance(days=1)
    assert life.state_at(clock.now()) == "Shipped"
    assert [s for _, s in life.history(clock.now())] == ["Created", "Picking", "Shipped"]
    clock.advance(days=5)
    assert life.state_at(clock.now()) == "Delivered" == life.final_state
    assert life.next_change(clock.now()) is None
    assert life.state_at(T0 + timedelta(days=1)) == "Shipped"  # a step takes effect at its instant
    assert life.changed_between(T0 + timedelta(hours=1), T0 + timedelta(days=1, seconds=1))
    assert not life.changed_between(T0 + timedelta(hours=5), T0 + timedelta(hours=23))


def test_lifecycle_before_start_and_bad_steps() -> None:
    life = Lifecycle(T0 + timedelta(hours=1), [(timedelta(0), 100)])
    assert not life.exists_at(T0)
    with pytest.raises(ValueError, match="does not exist yet"):
        life.state_at(T0)
    with pytest.raises(ValueError, match="ascending"):
        Lifecycle(T0, [(timedelta(hours=2), "a"), (timedelta(hours=1), "b")])
    with pytest.raises(ValueError):
        Lifecycle(T0, [])
    with pytest.raises(ValueError, match="naive"):
        Lifecycle(datetime(2026, 1, 1), [(timedelta(0), "a")])


def test_lifecycle_interrupt_scripts_a_turn_of_events() -> None:
    life = Lifecycle(T0, [(timedelta(0), "Created"), (timedelta(days=1), "Shipped"), (timedelta(days=3), "Delivered")])
    at = T0 + timedelta(days=2)
    turned = life.interrupt(at, "UndeliveredReturning", then=[(timedelta(days=2), "ReturnedToSender")])
    assert life.state_at(T0 + timedelta(days=4)) == "Delivered"  # the original is unchanged
    assert turned.state_at(at - timedelta(seconds=1)) == "Shipped"
    assert turned.state_at(at) == "UndeliveredReturning" and turned.changed_at(at + timedelta(hours=1)) == at
    assert turned.state_at(T0 + timedelta(days=5)) == "ReturnedToSender"
    with pytest.raises(ValueError):
        life.interrupt(T0 - timedelta(days=1), "x")


def test_generated_lifecycle_is_seeded_and_ordered() -> None:
    states = ("Created", "Picking", "Shipped", "Delivered")
    a = TurkishData(4).lifecycle(T0, states)
    b = TurkishData(4).lifecycle(T0, states)
    assert a.steps == b.steps
    assert [s for _, s in a.steps] == list(states)
    gaps = [t2 - t1 for (t1, _), (t2, _) in zip(a.steps, a.steps[1:], strict=False)]
    assert all(timedelta(hours=1) <= g <= timedelta(days=1) for g in gaps)
