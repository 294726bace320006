from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.appointments.errors import InvalidServicePricing, UnknownService
from invekto_integrations.appointments.pricing import PriceCatalog, format_price
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.storage.protocols import DuplicateServiceName

from .conftest import T0, make_service


@pytest.fixture
def catalog(store: Any) -> PriceCatalog:
    return PriceCatalog(store.service_pricing, clock=FrozenClock(T0))


def test_format_turkish_range_and_single_price() -> None:
    assert format_price(make_service(name="İmplant", lo="15000", hi="25000")) == "İmplant: 15.000–25.000 TL"
    assert format_price(make_service(name="Diş taşı temizliği", lo="1500", hi="1500")) == "Diş taşı temizliği: 1.500 TL"
    assert format_price(make_service(name="Dolgu", lo="999.5", hi="1250000")) == "Dolgu: 999,50–1.250.000 TL"


def test_create_edit_deactivate(catalog: PriceCatalog, store: Any) -> None:
    s = catalog.create("t1", "İmplant", "15000", Decimal("25000"), 60, buffer_minutes=15)
    assert s.price_min == Decimal("15000") and s.is_active
    assert catalog.answer("t1", "implant") == "İmplant: 15.000–25.000 TL"
    edited = catalog.edit("t1", s.id, price_max="30000", description="Tek diş")
    assert edited.price_max == Decimal("30000") and edited.description == "Tek diş"
    assert store.service_pricing.get("t1", s.id) == edited
    catalog.create("t1", "Diş taşı temizliği", 1500, 1500, 30)
    assert catalog.answer("t1") == "Diş taşı temizliği: 1.500 TL\nİmplant: 15.000–30.000 TL"
    catalog.deactivate("t1", s.id)
    assert catalog.answer("t1", "İmplant") is None
    with pytest.raises(UnknownService):
        catalog.get_active("t1", "İmplant")
    again = catalog.create("t1", "implant", "16000", "26000", 60)
    with pytest.raises(DuplicateServiceName):
        catalog.reactivate("t1", s.id)
    assert catalog.get_active("t1", "İMPLANT") == again
    assert catalog.answer("t2") is None


@pytest.mark.parametrize(("args", "field"), [
    (("X", "25000", "15000", 60), "price_min"),
    (("X", "0", "100", 60), "price_min"),
    (("X", "-5", "100", 60), "price_min"),
    (("X", "10", "abc", 60), "price_max"),
    (("X", "10", "20", 0), "duration_minutes"),
    (("X", "10", "20", -30), "duration_minutes"),
    (("X", 10.5, "20", 30), "price_min"),
    (("  ", "10", "20", 30), "service_name"),
])
def test_validation_names_the_field(catalog: PriceCatalog, args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(InvalidServicePricing) as info:
        catalog.create("t1", *args)
    assert info.value.field == field
    assert catalog.answer("t1") is None


def test_edit_validates_whole_row_and_duplicate_name(catalog: PriceCatalog) -> None:
    a = catalog.create("t1", "Dolgu", "1000", "2000", 30)
    catalog.create("t1", "Kanal tedavisi", "3000", "5000", 60)
    with pytest.raises(InvalidServicePricing) as info:
        catalog.edit("t1", a.id, price_min="2500")
    assert info.value.field == "price_min"
    with pytest.raises(DuplicateServiceName):
        catalog.edit("t1", a.id, service_name="KANAL TEDAVİSİ")
    with pytest.raises(InvalidServicePricing):
        catalog.edit("t1", a.id, is_active=False)
    with pytest.raises(UnknownService):
        catalog.edit("t1", "nope", price_min="1")
