"""A small seeded generator of Turkish marketplace data for the marketplace fakes.

Private to the fakes (the sandbox's shared generator may replace it later): names, cities and
districts, mobile numbers (some masked or absent, as marketplaces send them), products with EAN-13
barcodes and TRY prices. Everything comes from the `random.Random` it is given.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from invekto_integrations.core.reprs import ConciseRepr

__all__ = ["MarketData", "Person", "PhoneKind", "Product"]

PhoneKind = Literal["present", "masked", "absent"]

_FIRST = ["Ayşe", "Mehmet", "Zeynep", "Mustafa", "Elif", "Ahmet", "Fatma", "Emre", "Büşra", "Can", "Deniz",
          "Hüseyin", "Merve", "Oğuz", "Şule", "İbrahim", "Gül", "Çağrı", "Özge", "Burak"]
_LAST = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın", "Özdemir",
         "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Güneş", "Erdoğan"]
_PLACES = {
    "İstanbul": ["Kadıköy", "Şişli", "Üsküdar", "Beşiktaş", "Bakırköy", "Ümraniye"],
    "Ankara": ["Çankaya", "Keçiören", "Yenimahalle"],
    "İzmir": ["Karşıyaka", "Bornova", "Konak"],
    "Bursa": ["Nilüfer", "Osmangazi"],
    "Antalya": ["Muratpaşa", "Konyaaltı"],
    "Konya": ["Selçuklu", "Meram"],
    "Gaziantep": ["Şahinbey", "Şehitkamil"],
}
_PRODUCTS = [
    ("Kadın Elbise", "399.90"), ("Erkek Gömlek", "249.99"), ("Bluetooth Kulaklık", "649.00"),
    ("Çelik Termos 500 ml", "189.50"), ("Pamuklu Nevresim Takımı", "529.00"), ("Seramik Kupa Seti", "149.90"),
    ("Spor Ayakkabı", "899.99"), ("Organik Zeytinyağı 1 L", "329.00"), ("Çocuk Mont", "459.90"),
    ("Kablosuz Mouse", "219.00"), ("Bambu Kesme Tahtası", "99.90"), ("Yün Atkı", "174.25"),
]
_MOBILE_PREFIXES = ["505", "530", "532", "533", "535", "536", "542", "543", "544", "546", "552", "555"]


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    city: str
    district: str
    phone: str | None  # as the marketplace would send it: national form, masked, or None
    phone_kind: PhoneKind

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Product:
    name: str
    sku: str
    barcode: str
    price: Decimal


def ean13(stem12: str) -> str:
    digits = [int(c) for c in stem12]
    check = (10 - (sum(digits[0::2]) + 3 * sum(digits[1::2])) % 10) % 10
    return stem12 + str(check)


class MarketData(ConciseRepr):
    """Deterministic Turkish people and products from ``rng``."""

    def __init__(self, rng: random.Random, phone_mix: tuple[float, float, float] = (0.4, 0.3, 0.3)) -> None:
        self.rng = rng
        self.phone_mix = phone_mix  # shares of present, masked, absent

    def mobile(self) -> str:
        r = self.rng
        return "0" + r.choice(_MOBILE_PREFIXES) + f"{r.randrange(10**7):07d}"

    def person(self) -> Person:
        r = self.rng
        city = r.choice(sorted(_PLACES))
        kind: PhoneKind = r.choices(["present", "masked", "absent"], weights=self.phone_mix)[0]  # type: ignore[assignment]
        number = self.mobile()
        phone = {"present": number, "masked": number[:4] + "***" + number[7:9] + "**", "absent": None}[kind]
        return Person(r.choice(_FIRST), r.choice(_LAST), city, r.choice(_PLACES[city]), phone, kind)

    def person_named(self, name: str, phone: str) -> Person:
        """A given customer (scenario hooks): ``phone`` kept in whatever form the caller wrote it."""
        first, _, last = name.strip().rpartition(" ")
        city = self.rng.choice(sorted(_PLACES))
        return Person(first or last, last if first else "", city, self.rng.choice(_PLACES[city]), phone, "present")

    def product(self) -> Product:
        r = self.rng
        index = r.randrange(len(_PRODUCTS))
        name, price = _PRODUCTS[index]
        return Product(name=name, sku=f"STK-{index + 1:03d}-{r.choice('ABC')}",
                       barcode=ean13(f"868{index:04d}{r.randrange(10**5):05d}"), price=Decimal(price))
