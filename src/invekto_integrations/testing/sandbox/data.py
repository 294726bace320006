"""Deterministic, seeded Turkish test data and lifecycles over the sandbox clock.

`TurkishData` makes the people, phones, addresses and products a fake serves. The same
``(seed, stream)`` always gives the same sequence, on every machine and Python version (the
stream name is hashed with SHA-256, never with the salted built-in ``hash``), so a fake can keep
one stream per account and two tenants see different, stable data::

    data = TurkishData(seed=7, stream="acct-a")
    buyer = data.person()              # Person(first_name='Ayşe', ..., phone='+905321234567')
    address = data.address()           # Address(city='İstanbul', district='Kadıköy', ...)
    product = data.product()           # Product(name='Pamuklu Tişört', barcode='869...', price=Decimal('349.90'))

`Lifecycle` scripts how a record's state moves over time: a list of (offset, state) steps from a
start instant. A fake asks it for the state at the sandbox clock's *now*, so a test that advances
the clock sees "the order moved to Shipped" or "the parcel was delivered" without any background
job::

    life = Lifecycle(placed_at, [(timedelta(0), "Created"), (timedelta(hours=4), "Picking"),
                                 (timedelta(days=1), "Shipped"), (timedelta(days=3), "Delivered")])
    life.state_at(clock.now())         # "Created" ... "Delivered"
    life.changed_at(clock.now())       # when it last changed: the record's lastModifiedDate
    life = life.interrupt(clock.now(), "Cancelled")   # a scripted turn of events

States are whatever the provider sends (raw status strings, codes): the lifecycle is generic.
"""

from __future__ import annotations

import hashlib
import random
import string
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Generic, TypeVar

from invekto_integrations.core.clock import utc
from invekto_integrations.core.reprs import ConciseRepr

__all__ = [
    "CITIES",
    "Address",
    "Lifecycle",
    "Person",
    "Product",
    "TurkishData",
    "ean13_check_digit",
    "is_valid_ean13",
]

S = TypeVar("S")

FEMALE_NAMES = (
    "Ayşe", "Fatma", "Elif", "Zeynep", "Emine", "Merve", "Büşra", "Özlem", "Gül", "Şeyma", "Derya", "Ebru",
    "Gizem", "İrem", "Nur", "Sevgi", "Hülya", "Çiğdem", "Esra", "Tuğba", "Yağmur", "Dilek", "Sıla", "Ece",
)
MALE_NAMES = (
    "Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan", "İbrahim", "Murat", "Ömer", "Yusuf", "Emre",
    "Burak", "Oğuz", "Çağrı", "Serkan", "Gökhan", "Onur", "Barış", "Kaan", "Tolga", "Uğur", "Şahin", "Eren",
)
LAST_NAMES = (
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın", "Özdemir", "Arslan",
    "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan", "Şimşek", "Polat", "Erdoğan", "Güneş",
    "Aksoy", "Korkmaz", "Bulut", "Çakır", "Güler", "Tekin", "Ünal",
)

#: Real provinces and some of their real districts (ilçe), with postal code prefixes.
CITIES: dict[str, tuple[str, ...]] = {
    "İstanbul": ("Kadıköy", "Beşiktaş", "Üsküdar", "Şişli", "Bakırköy", "Ataşehir", "Maltepe", "Beylikdüzü",
                 "Pendik", "Sarıyer"),
    "Ankara": ("Çankaya", "Keçiören", "Yenimahalle", "Mamak", "Etimesgut", "Sincan", "Gölbaşı"),
    "İzmir": ("Karşıyaka", "Bornova", "Konak", "Buca", "Çiğli", "Bayraklı", "Karabağlar"),
    "Bursa": ("Nilüfer", "Osmangazi", "Yıldırım", "Mudanya", "İnegöl"),
    "Antalya": ("Muratpaşa", "Konyaaltı", "Kepez", "Alanya", "Manavgat"),
    "Adana": ("Seyhan", "Çukurova", "Yüreğir", "Sarıçam"),
    "Konya": ("Selçuklu", "Meram", "Karatay", "Ereğli"),
    "Gaziantep": ("Şahinbey", "Şehitkamil", "Nizip"),
    "Kocaeli": ("İzmit", "Gebze", "Darıca", "Gölcük", "Körfez"),
    "Mersin": ("Yenişehir", "Mezitli", "Toroslar", "Akdeniz", "Tarsus"),
    "Kayseri": ("Melikgazi", "Kocasinan", "Talas"),
    "Eskişehir": ("Odunpazarı", "Tepebaşı"),
    "Samsun": ("Atakum", "İlkadım", "Canik"),
    "Trabzon": ("Ortahisar", "Akçaabat", "Yomra"),
    "Diyarbakır": ("Kayapınar", "Bağlar", "Yenişehir", "Sur"),
    "Muğla": ("Bodrum", "Fethiye", "Marmaris", "Menteşe"),
}
_PLATE = {
    "İstanbul": 34, "Ankara": 6, "İzmir": 35, "Bursa": 16, "Antalya": 7, "Adana": 1, "Konya": 42,
    "Gaziantep": 27, "Kocaeli": 41, "Mersin": 33, "Kayseri": 38, "Eskişehir": 26, "Samsun": 55,
    "Trabzon": 61, "Diyarbakır": 21, "Muğla": 48,
}
_NEIGHBOURHOODS = ("Cumhuriyet", "Atatürk", "Fatih", "Yenimahalle", "Bahçelievler", "Çamlık", "Gazi", "Barbaros",
                   "Merkez", "İnönü", "Esentepe", "Hürriyet")
_STREETS = ("Gül Sokak", "Lale Sokak", "Menekşe Sokak", "Papatya Sokak", "Çınar Caddesi", "İstiklal Caddesi",
            "Atatürk Bulvarı", "Şehit Er Sokak", "Okul Sokak", "Çarşı Caddesi", "Deniz Sokak")
# Mobile prefixes of the three operators (Turkcell 53x, Vodafone 54x, Türk Telekom 50x/55x).
_MOBILE_PREFIXES = (
    "530", "531", "532", "533", "534", "535", "536", "537", "538", "539",
    "541", "542", "543", "544", "545", "546", "547", "548", "549",
    "501", "505", "506", "507", "551", "552", "553", "554", "555", "559",
)
# (category, product noun, price range in TRY)
_PRODUCTS: tuple[tuple[str, str, int, int], ...] = (
    ("Giyim", "Pamuklu Tişört", 149, 599),
    ("Giyim", "Kapüşonlu Sweatshirt", 399, 1299),
    ("Giyim", "Yüksek Bel Kot Pantolon", 499, 1799),
    ("Ayakkabı", "Deri Sneaker", 899, 3499),
    ("Ayakkabı", "Günlük Babet", 299, 999),
    ("Kozmetik", "Nemlendirici Yüz Kremi", 129, 749),
    ("Kozmetik", "Güneş Koruyucu SPF 50", 199, 899),
    ("Ev", "Türk Kahvesi Fincan Takımı", 249, 1199),
    ("Ev", "Pamuk Nevresim Takımı", 599, 2499),
    ("Ev", "Bakır Cezve", 179, 649),
    ("Elektronik", "Kablosuz Kulaklık", 499, 3999),
    ("Elektronik", "Hızlı Şarj Adaptörü", 149, 699),
    ("Gıda", "Antep Fıstığı 500 g", 349, 899),
    ("Gıda", "Organik Çiçek Balı 850 g", 299, 799),
    ("Aksesuar", "Deri Cüzdan", 249, 1499),
    ("Aksesuar", "Çelik Kol Saati", 999, 6999),
)
_COLOURS = ("Siyah", "Beyaz", "Lacivert", "Bej", "Kırmızı", "Yeşil", "Gri", "Mavi")
_BRANDS = ("Anadolu", "Boğaziçi", "Ege Moda", "Kapadokya", "Marmara Home", "Toros", "Lykia", "Efes Style")


def ean13_check_digit(first12: str) -> int:
    """The EAN-13 check digit of 12 digits (weights 1,3,1,3,... from the left)."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError(f"need 12 digits, got {first12!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def is_valid_ean13(code: str) -> bool:
    """True for 13 digits whose last digit is the right check digit."""
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == int(code[12])


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    phone: str  # E.164, a valid Turkish mobile number
    email: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Address:
    city: str
    district: str
    neighbourhood: str
    street: str
    postal_code: str

    def one_line(self) -> str:
        return f"{self.neighbourhood} Mah. {self.street} {self.district}/{self.city} {self.postal_code}"


@dataclass(frozen=True)
class Product:
    name: str
    category: str
    brand: str
    sku: str
    barcode: str  # EAN-13 with a valid check digit, GS1 Türkiye prefix 869
    price: Decimal  # TRY, two decimals, ends in ,90 or ,99 like real listings
    vat_rate: int = 20


_TR_ASCII = str.maketrans("çğıöşüÇĞİÖŞÜ", "cgiosuCGIOSU")


class TurkishData(ConciseRepr):
    """A seeded generator of realistic Turkish data; same ``(seed, stream)``, same values."""

    def __init__(self, seed: int = 0, *, stream: str = "") -> None:
        digest = hashlib.sha256(f"{seed}:{stream}".encode()).digest()
        self.rng = random.Random(int.from_bytes(digest[:8], "big"))
        self._barcodes: set[str] = set()
        self._counter = 0

    # -- people ------------------------------------------------------------------------------
    def first_name(self) -> str:
        return self.rng.choice(FEMALE_NAMES + MALE_NAMES)

    def last_name(self) -> str:
        return self.rng.choice(LAST_NAMES)

    def full_name(self) -> str:
        return f"{self.first_name()} {self.last_name()}"

    def phone(self) -> str:
        """A valid Turkish mobile number in E.164 (``+905XXXXXXXXX``)."""
        prefix = self.rng.choice(_MOBILE_PREFIXES)
        subscriber = f"{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"
        return f"+90{prefix}{subscriber}"

    @staticmethod
    def local_phone(e164: str) -> str:
        """How a Turkish form shows the same number: ``0532 123 45 67``."""
        d = e164.removeprefix("+90")
        return f"0{d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"

    def email(self, first_name: str, last_name: str) -> str:
        user = f"{first_name}.{last_name}".lower().translate(_TR_ASCII).replace("i̇", "i")
        return f"{user}{self.rng.randint(1, 99)}@{self.rng.choice(('gmail.com', 'hotmail.com', 'yandex.com'))}"

    def person(self) -> Person:
        first, last = self.first_name(), self.last_name()
        return Person(first, last, self.phone(), self.email(first, last))

    # -- places ------------------------------------------------------------------------------
    def city(self) -> str:
        return self.rng.choice(list(CITIES))

    def district(self, city: str) -> str:
        return self.rng.choice(CITIES[city])

    def city_district(self) -> tuple[str, str]:
        city = self.city()
        return city, self.district(city)

    def address(self) -> Address:
        city, district = self.city_district()
        street = f"{self.rng.choice(_STREETS)} No:{self.rng.randint(1, 120)}"
        if self.rng.random() < 0.6:
            street += f" D:{self.rng.randint(1, 24)}"
        postal = f"{_PLATE[city]:02d}{self.rng.randint(0, 999):03d}"
        return Address(city, district, self.rng.choice(_NEIGHBOURHOODS), street, postal)

    # -- commerce ----------------------------------------------------------------------------
    def price(self, low: int = 50, high: int = 2000) -> Decimal:
        """A TRY price between ``low`` and ``high`` ending in ,90 or ,99 (Decimal, 2 places)."""
        whole = self.rng.randint(low, max(low, high - 1))
        cents = self.rng.choice(("90", "99"))
        return Decimal(f"{whole}.{cents}").quantize(Decimal("0.01"), ROUND_HALF_UP)

    def barcode(self) -> str:
        """A unique (per generator) EAN-13 with the GS1 Türkiye prefix 869 and a valid check digit."""
        while True:
            first12 = "869" + "".join(self.rng.choice(string.digits) for _ in range(9))
            code = first12 + str(ean13_check_digit(first12))
            if code not in self._barcodes:
                self._barcodes.add(code)
                return code

    def product(self) -> Product:
        category, noun, low, high = self.rng.choice(_PRODUCTS)
        colour = self.rng.choice(_COLOURS)
        brand = self.rng.choice(_BRANDS)
        self._counter += 1
        code = category[:3].upper().translate(_TR_ASCII)
        sku = f"{code}-{self._counter:05d}-{colour[:3].upper().translate(_TR_ASCII)}"
        return Product(f"{brand} {noun} {colour}", category, brand, sku, self.barcode(), self.price(low, high))

    def products(self, n: int) -> list[Product]:
        return [self.product() for _ in range(n)]

    def order_number(self, digits: int = 10) -> str:
        return str(self.rng.randint(10 ** (digits - 1), 10**digits - 1))

    def tracking_number(self, digits: int = 12) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(digits))

    # -- time ----------------------------------------------------------------------------------
    def instant_between(self, start: datetime, end: datetime) -> datetime:
        """A uniformly drawn instant in [start, end), whole seconds."""
        span = int((utc(end) - utc(start)).total_seconds())
        return utc(start) + timedelta(seconds=self.rng.randrange(max(1, span)))

    def lifecycle(self, start: datetime, states: Sequence[S], *, min_gap: timedelta = timedelta(hours=1),
                  max_gap: timedelta = timedelta(days=1)) -> Lifecycle[S]:
        """A `Lifecycle` through ``states`` in order with seeded gaps between ``min_gap`` and ``max_gap``."""
        steps: list[tuple[timedelta, S]] = []
        offset = timedelta(0)
        lo, hi = int(min_gap.total_seconds()), int(max_gap.total_seconds())
        for i, state in enumerate(states):
            if i:
                offset += timedelta(seconds=self.rng.randint(lo, max(lo, hi)))
            steps.append((offset, state))
        return Lifecycle(start, steps)


class Lifecycle(Generic[S]):
    """A record's states over time: ``steps`` are (offset from ``start``, state), offsets ascending.

    Before the first step's instant the record does not exist yet: `state_at` raises
    ``ValueError`` (use `exists_at` to ask). Immutable: `interrupt` returns a new lifecycle.
    """

    __slots__ = ("_at", "_states", "start")

    def __init__(self, start: datetime, steps: Sequence[tuple[timedelta, S]]) -> None:
        if not steps:
            raise ValueError("a lifecycle needs at least one step")
        offsets = [off for off, _ in steps]
        if any(b < a for a, b in pairwise(offsets)) or offsets[0] < timedelta(0):
            raise ValueError("lifecycle offsets must be non-negative and ascending")
        self.start = utc(start)
        self._at = [self.start + off for off in offsets]
        self._states = [state for _, state in steps]

    def __repr__(self) -> str:
        steps = ", ".join(f"{at.isoformat()}={state!r}" for at, state in self.steps)
        return f"Lifecycle({steps})"

    @property
    def steps(self) -> list[tuple[datetime, S]]:
        """Every (instant, state) of the script."""
        return list(zip(self._at, self._states, strict=True))

    @property
    def final_state(self) -> S:
        return self._states[-1]

    def _index(self, when: datetime) -> int:
        return bisect_right(self._at, utc(when)) - 1

    def exists_at(self, when: datetime) -> bool:
        return self._index(when) >= 0

    def state_at(self, when: datetime) -> S:
        """The state in force at ``when`` (a step takes effect at its own instant)."""
        i = self._index(when)
        if i < 0:
            raise ValueError(f"the record does not exist yet at {when.isoformat()}")
        return self._states[i]

    def changed_at(self, when: datetime) -> datetime:
        """When the state in force at ``when`` began: the record's "last modified" at ``when``."""
        i = self._index(when)
        if i < 0:
            raise ValueError(f"the record does not exist yet at {when.isoformat()}")
        return self._at[i]

    def history(self, until: datetime) -> list[tuple[datetime, S]]:
        """The transitions that happened up to and including ``until``."""
        return self.steps[: self._index(until) + 1]

    def changed_between(self, since: datetime, until: datetime) -> bool:
        """True when a step took effect in [since, until): what a changed-since query asks."""
        lo, hi = utc(since), utc(until)
        return any(lo <= at < hi for at in self._at)

    def next_change(self, after: datetime) -> tuple[datetime, S] | None:
        """The first transition strictly after ``after``, or ``None`` when the script is done."""
        i = self._index(after) + 1
        return (self._at[i], self._states[i]) if i < len(self._at) else None

    def interrupt(self, at: datetime, state: S, then: Sequence[tuple[timedelta, S]] = ()) -> Lifecycle[S]:
        """A new lifecycle: the steps up to ``at``, then ``state`` at ``at`` (plus ``then`` after it).

        What a fake does when a client call or a test changes a record's course (a cancellation,
        a return, a failed delivery).
        """
        when = utc(at)
        kept = [(t - self.start, s) for t, s in self.steps if t < when]
        base = when - self.start
        if base < timedelta(0):
            raise ValueError("cannot interrupt a lifecycle before it starts")
        return Lifecycle(self.start, [*kept, (base, state), *((base + off, s) for off, s in then)])
