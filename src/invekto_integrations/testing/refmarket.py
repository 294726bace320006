"""The reference marketplace: a small, fully specified marketplace fake and its connector.

It exists to develop and test marketplace engines (order sync, lookup, the demo, benchmarks)
without depending on a real provider's quirks, and as the smallest complete example of a
marketplace plugin: a `FakeProvider` speaking a documented wire format, one `Call` description
per endpoint, thin sync and async clients implementing `Marketplace` / `AsyncMarketplace` over
`core.http`, and a `ProviderInfo`. It is **not** registered as an entry point; tests and the demo
register it explicitly (`make_refmarket_provider`).

Wire format (what the fake serves and the client expects):

* Auth: HTTP Basic ``api_key:api_secret``; wrong credentials → ``401 {"code": "unauthorized"}``;
  a seller id in the path that is not the caller's → ``403 {"code": "forbidden"}``.
* ``GET /sellers/{sellerId}/orders?modifiedFrom=<ISO-8601>&modifiedTo=<ISO-8601>&page=<n>&size=<n>``:
  orders whose ``lastModifiedDate`` is in ``[modifiedFrom, modifiedTo)``, sorted by
  (``lastModifiedDate``, ``id``); ``size`` ≤ 100; the window may span at most 14 days and may not
  start more than 90 days back (``400 {"code": "invalid_range"}``). Envelope:
  ``{"page", "size", "totalElements", "totalPages", "content": [order, ...]}``.
* ``GET /sellers/{sellerId}/orders/by-number/{orderNumber}`` → ``{"content": [order, ...]}``
  (one customer order may have several packages) or ``404``.
* An order: ``{"id", "orderNumber", "status", "orderDate", "lastModifiedDate",
  "customer": {"fullName", "phone", "email", "city", "district"},
  "cargo": {"provider", "trackingNumber"}, "lines": [{"sku", "barcode", "name", "quantity",
  "unitPrice"}], "totalPrice", "currency"}``; amounts are decimal strings; phones are written the
  way Turkish shoppers type them (``0532 ...``, ``+90 532 ...``, ``532...``), sometimes masked.
* Statuses: ``Created`` → ``Picking`` → ``Shipped`` (tracking number assigned) → ``Delivered``;
  also ``Cancelled``, ``Returned``. Published rate limit: 10 requests/second per seller, 429 with
  ``Retry-After`` beyond it.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.errors import PayloadError
from invekto_integrations.core.http import AsyncRunner, Call, ProviderConfig, SyncRunner
from invekto_integrations.core.money import to_decimal
from invekto_integrations.core.paging import Page, aiter_items, iter_items
from invekto_integrations.core.phone import is_masked, try_normalize_phone
from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.models.orders import CargoInfo, Customer, Order, OrderLine, OrderStatus, PhoneState
from invekto_integrations.providers._common import ProviderDefaults, connect_options
from invekto_integrations.providers._marketplace import order_not_found
from invekto_integrations.providers.base import ConnectOptions, Environment, OrderOrError, ProviderInfo, ProviderKind

from .sandbox import FakeProvider
from .scenarios import FakeSellerAccount

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_WINDOW",
    "PUBLISHED_RATE_LIMIT",
    "REFMARKET",
    "AsyncRefMarketClient",
    "RawStatus",
    "RefMarketClient",
    "RefMarketFake",
    "make_refmarket_provider",
]

MAX_PAGE_SIZE = 100
MAX_WINDOW = timedelta(days=14)
HISTORY_LIMIT = timedelta(days=90)
PUBLISHED_RATE_LIMIT = RateLimit(10, 1.0)
DEFAULT_BASE_URL = "https://api.refmarket.invalid"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("timestamp without an offset")
    return dt.astimezone(UTC)


# ============================================================================================
# mapping: raw statuses
# ============================================================================================
class RawStatus(StrEnum):
    """The reference marketplace's package statuses, with their unified meaning."""

    CREATED = "Created"
    PICKING = "Picking"
    SHIPPED = "Shipped"
    DELIVERED = "Delivered"
    CANCELLED = "Cancelled"
    RETURNED = "Returned"

    @property
    def unified(self) -> OrderStatus:
        return _UNIFIED[self]


_UNIFIED = {
    RawStatus.CREATED: OrderStatus.CREATED,
    RawStatus.PICKING: OrderStatus.PROCESSING,
    RawStatus.SHIPPED: OrderStatus.SHIPPED,
    RawStatus.DELIVERED: OrderStatus.DELIVERED,
    RawStatus.CANCELLED: OrderStatus.CANCELLED,
    RawStatus.RETURNED: OrderStatus.RETURNED,
}
_NEXT = {RawStatus.CREATED: RawStatus.PICKING, RawStatus.PICKING: RawStatus.SHIPPED,
         RawStatus.SHIPPED: RawStatus.DELIVERED}


# ============================================================================================
# the fake
# ============================================================================================
_FIRST = ["Ayşe", "Mehmet", "Zeynep", "Mustafa", "Elif", "Ahmet", "Fatma", "Emre", "Selin", "Burak", "Merve", "Can"]
_LAST = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk", "Arslan", "Doğan", "Koç", "Kurt"]
_CITIES = [("İstanbul", "Kadıköy"), ("Ankara", "Çankaya"), ("İzmir", "Karşıyaka"), ("Bursa", "Nilüfer"),
           ("Antalya", "Muratpaşa"), ("Eskişehir", "Tepebaşı")]
_PRODUCTS = [("Kadın Elbise", "149.90"), ("Erkek Gömlek", "329.00"), ("Spor Ayakkabı", "1249.99"),
             ("Bluetooth Kulaklık", "799.50"), ("Kahve Makinesi", "2399.00"), ("Nemlendirici Krem", "89.90")]
_CARGO = ["Yurtiçi Kargo", "Aras Kargo", "MNG Kargo", "Sürat Kargo"]


def _phone_forms(digits10: str, variant: int) -> str | None:
    """A Turkish mobile (10 digits, 5xx...) written the way shoppers do; sometimes masked or absent."""
    form = variant % 8
    if form == 0:
        return f"0{digits10[:3]} {digits10[3:6]} {digits10[6:8]} {digits10[8:]}"
    if form == 1:
        return f"+90 {digits10[:3]} {digits10[3:6]} {digits10[6:]}"
    if form == 2:
        return digits10
    if form == 3:
        return f"0{digits10}"
    if form == 4:
        return f"90{digits10}"
    if form == 5:
        return f"({digits10[:3]}) {digits10[3:6]}-{digits10[6:8]}-{digits10[8:]}"
    if form == 6:
        return f"0{digits10[:3]}***{digits10[8:]}**"  # masked by the marketplace
    return None


@dataclass
class _Synthetic:
    """Orders computed from their index (no memory per order): for large benchmarks."""

    prefix: str
    count: int
    start: datetime
    end: datetime

    def modified_at(self, i: int) -> datetime:
        return self.start + (self.end - self.start) * (i / self.count)

    def index_range(self, since: datetime, until: datetime) -> range:
        span = (self.end - self.start).total_seconds()
        if span <= 0 or self.count == 0:
            return range(0)

        def first_at_or_after(t: datetime) -> int:
            x = (t - self.start).total_seconds() / span * self.count
            i = max(0, math.ceil(x) - 1)
            while i < self.count and self.modified_at(i) < t:
                i += 1
            return min(i, self.count)

        return range(first_at_or_after(since), first_at_or_after(until))

    def record(self, i: int) -> dict[str, Any]:
        at = self.modified_at(i)
        customer = i % 50_000
        digits = f"53{customer % 10}{customer:07d}"
        first, last = _FIRST[customer % len(_FIRST)], _LAST[(customer // 7) % len(_LAST)]
        city, district = _CITIES[customer % len(_CITIES)]
        product, price = _PRODUCTS[i % len(_PRODUCTS)]
        status = (RawStatus.CREATED, RawStatus.PICKING, RawStatus.SHIPPED, RawStatus.DELIVERED)[i % 4]
        tracking = f"7{i:015d}" if status in (RawStatus.SHIPPED, RawStatus.DELIVERED) else None
        return {
            "id": f"{self.prefix}{i:08d}", "orderNumber": f"{self.prefix}N{i:08d}", "status": status.value,
            "orderDate": _iso(at - timedelta(hours=2)), "lastModifiedDate": _iso(at),
            "customer": {"fullName": f"{first} {last}", "phone": _phone_forms(digits, customer % 6), "email": None,
                         "city": city, "district": district},
            "cargo": {"provider": _CARGO[i % len(_CARGO)], "trackingNumber": tracking},
            "lines": [{"sku": f"SKU-{i % 97}", "barcode": f"8690000{i % 100000:06d}", "name": product, "quantity": 1,
                       "unitPrice": price}],
            "totalPrice": price, "currency": "TRY",
        }


@dataclass
class _Seller:
    seller_id: str
    api_key: str
    api_secret: str
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    synthetic: _Synthetic | None = None
    corrupt: set[str] = field(default_factory=set)


class RefMarketFake(FakeProvider):
    """The reference marketplace's fake (implements `testing.scenarios.MarketplaceScenario`)."""

    name: ClassVar[str] = "refmarket"
    published_rate_limit: ClassVar[RateLimit | None] = PUBLISHED_RATE_LIMIT

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._sellers: dict[str, _Seller] = {}
        self._by_credentials: dict[tuple[str, str], str] = {}
        self._rng = random.Random(self.seed)
        self._seq = 1_000_000

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._sellers.clear()
            self._by_credentials.clear()

    # -- scenario hooks -----------------------------------------------------------------------
    def provision_account(self, display_name: str = "") -> FakeSellerAccount:
        with self._lock:
            seller_id = str(100_000 + len(self._sellers) + 1)
            key = f"{self.name}-key-{seller_id}"
            secret = f"{self.name}-secret-{self._rng.getrandbits(64):016x}"
            self._sellers[seller_id] = _Seller(seller_id, key, secret)
            self._by_credentials[(key, secret)] = seller_id
        return FakeSellerAccount(
            account_key=seller_id,
            credentials=Credentials(api_key=SecretStr(key), api_secret=SecretStr(secret)),
            settings={"seller_id": seller_id},
            display_name=display_name or f"{self.name} seller {seller_id}",
        )

    def seed_orders(self, account_key: str, count: int, *, start: datetime, end: datetime) -> list[str]:
        ids = []
        span = (end - start).total_seconds()
        for _ in range(count):
            at = start + timedelta(seconds=self._rng.uniform(0, span))
            digits = f"5{self._rng.choice('3450')}{self._rng.randrange(10**8):08d}"
            name = f"{self._rng.choice(_FIRST)} {self._rng.choice(_LAST)}"
            record = self._new_record(account_key, name, _phone_forms(digits, self._rng.randrange(8)), at)
            steps = self._rng.choice([0, 0, 1, 2, 3])
            for _ in range(steps):
                self._advance_record(record, at)
            ids.append(record["id"])
        return ids

    def seed_customer_order(self, account_key: str, phone: str, name: str, at: datetime) -> str:
        return str(self._new_record(account_key, name, phone, at)["id"])

    def step_order(self, account_key: str, external_id: str, at: datetime) -> str:
        with self._lock:
            record = self._seller(account_key).orders[external_id]
            self._advance_record(record, at)
            return str(record["status"])

    # -- further controls (tests, benchmarks) -----------------------------------------------------
    def add_synthetic(self, account_key: str, count: int, *, start: datetime, end: datetime) -> None:
        """``count`` computed orders modified evenly over [start, end): no memory per order."""
        seller = self._seller(account_key)
        seller.synthetic = _Synthetic(f"S{seller.seller_id}-", count, start, end)

    def corrupt_order(self, account_key: str, external_id: str) -> None:
        """Serve this order without its ``orderDate`` from now on (a malformed record)."""
        with self._lock:
            self._seller(account_key).corrupt.add(external_id)

    def set_status(self, account_key: str, external_id: str, status: RawStatus, at: datetime) -> None:
        with self._lock:
            record = self._seller(account_key).orders[external_id]
            record["status"] = status.value
            record["lastModifiedDate"] = _iso(at)

    def order(self, account_key: str, external_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._seller(account_key).orders[external_id])

    def order_ids(self, account_key: str) -> list[str]:
        with self._lock:
            seller = self._seller(account_key)
            ids = list(seller.orders)
            if seller.synthetic is not None:
                ids += [f"{seller.synthetic.prefix}{i:08d}" for i in range(seller.synthetic.count)]
            return ids

    def _seller(self, account_key: str) -> _Seller:
        try:
            return self._sellers[account_key]
        except KeyError:
            raise KeyError(f"{self.name}: no seller {account_key!r}; call provision_account() first") from None

    def _new_record(self, account_key: str, name: str, phone: str | None, at: datetime) -> dict[str, Any]:
        with self._lock:
            seller = self._seller(account_key)
            self._seq += 1
            city, district = self._rng.choice(_CITIES)
            product, price = self._rng.choice(_PRODUCTS)
            qty = self._rng.choice([1, 1, 1, 2])
            record: dict[str, Any] = {
                "id": f"{seller.seller_id}-{self._seq}", "orderNumber": str(self._seq),
                "status": RawStatus.CREATED.value,
                "orderDate": _iso(at), "lastModifiedDate": _iso(at),
                "customer": {"fullName": name, "phone": phone, "email": None, "city": city, "district": district},
                "cargo": {"provider": self._rng.choice(_CARGO), "trackingNumber": None},
                "lines": [{"sku": f"SKU-{self._rng.randrange(500)}",
                           "barcode": f"869{self._rng.randrange(10**10):010d}",
                           "name": product, "quantity": qty, "unitPrice": price}],
                "totalPrice": str(Decimal(price) * qty), "currency": "TRY",
            }
            seller.orders[record["id"]] = record
            return record

    def _advance_record(self, record: dict[str, Any], at: datetime) -> None:
        current = RawStatus(record["status"])
        nxt = _NEXT.get(current)
        if nxt is None:
            return
        record["status"] = nxt.value
        record["lastModifiedDate"] = _iso(max(at, _parse_iso(record["lastModifiedDate"])))
        if nxt is RawStatus.SHIPPED:
            record["cargo"] = {**record["cargo"], "trackingNumber": f"7{self._rng.randrange(10**15):015d}"}

    # -- wire ----------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                key = secret = ""
            seller = self._by_credentials.get((key, secret))
            if seller is not None:
                return seller
        return JSONResponse({"code": "unauthorized", "message": "invalid API key or secret"}, status_code=401)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sellers/{seller_id}/orders", self._list),
            Route("/sellers/{seller_id}/orders/by-number/{order_number}", self._by_number),
        ]

    def _check_seller(self, request: Request) -> _Seller | Response:
        seller_id = request.path_params["seller_id"]
        if seller_id != self.account_of(request):
            return JSONResponse({"code": "forbidden", "message": "seller id does not match the API key"},
                                status_code=403)
        return self._seller(seller_id)

    def _serve(self, seller: _Seller, record: dict[str, Any]) -> dict[str, Any]:
        if record["id"] in seller.corrupt or self.maybe_malformed():
            record = {k: v for k, v in record.items() if k != "orderDate"}
        return record

    async def _list(self, request: Request) -> Response:
        seller = self._check_seller(request)
        if isinstance(seller, Response):
            return seller
        q = request.query_params
        try:
            since = _parse_iso(q["modifiedFrom"])
            until = _parse_iso(q["modifiedTo"])
            page = int(q.get("page", "0"))
            size = int(q.get("size", "50"))
        except (KeyError, ValueError):
            return _bad("invalid_range", "modifiedFrom and modifiedTo (ISO-8601 with offset) are required")
        if until <= since or until - since > MAX_WINDOW:
            return _bad("invalid_range", "the window must be positive and at most 14 days")
        self.check_window(since, until)
        if since < self.clock.now() - HISTORY_LIMIT:
            return _bad("invalid_range", "orders can be listed at most 90 days back")
        if not (1 <= size <= MAX_PAGE_SIZE) or page < 0:
            return _bad("invalid_paging", f"size must be 1..{MAX_PAGE_SIZE}, page >= 0")
        with self._lock:
            explicit = sorted(
                (r for r in seller.orders.values() if since <= _parse_iso(r["lastModifiedDate"]) < until),
                key=lambda r: (r["lastModifiedDate"], r["id"]),
            )
            synth = seller.synthetic.index_range(since, until) if seller.synthetic else range(0)
            total = len(explicit) + len(synth)
            lo, hi = page * size, min((page + 1) * size, total)
            content = []
            for pos in range(lo, hi):
                if pos < len(explicit):
                    content.append(self._serve(seller, explicit[pos]))
                else:
                    assert seller.synthetic is not None
                    content.append(self._serve(seller, seller.synthetic.record(synth[pos - len(explicit)])))
        return JSONResponse({"page": page, "size": size, "totalElements": total,
                             "totalPages": (total + size - 1) // size, "content": content})

    async def _by_number(self, request: Request) -> Response:
        seller = self._check_seller(request)
        if isinstance(seller, Response):
            return seller
        number = request.path_params["order_number"]
        with self._lock:
            found = [self._serve(seller, r) for r in seller.orders.values() if r["orderNumber"] == number]
        if not found:
            return JSONResponse({"code": "not_found", "message": f"no order {number}"}, status_code=404)
        return JSONResponse({"content": found})


def _bad(code: str, message: str) -> Response:
    return JSONResponse({"code": code, "message": message}, status_code=400)


# ============================================================================================
# wire models (field names as sent)
# ============================================================================================
class _WireCustomer(BaseModel):
    model_config = ConfigDict(extra="allow")
    fullName: str | None = None
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    district: str | None = None


class _WireCargo(BaseModel):
    model_config = ConfigDict(extra="allow")
    provider: str | None = None
    trackingNumber: str | int | None = None


class _WireLine(BaseModel):
    model_config = ConfigDict(extra="allow")
    sku: str | None = None
    barcode: str | None = None
    name: str
    quantity: int
    unitPrice: str | float | int


class WireOrder(BaseModel):
    """One order as the reference marketplace sends it."""

    model_config = ConfigDict(extra="allow")
    id: str
    orderNumber: str
    status: str
    orderDate: str
    lastModifiedDate: str
    customer: _WireCustomer = _WireCustomer()
    cargo: _WireCargo = _WireCargo()
    lines: list[_WireLine] = []
    totalPrice: str | float | int = "0"
    currency: str = "TRY"


def _phone(raw: str | None) -> tuple[str | None, PhoneState]:
    if raw is None or not raw.strip():
        return None, PhoneState.ABSENT
    if is_masked(raw):
        return None, PhoneState.MASKED
    e164 = try_normalize_phone(raw)
    return (e164, PhoneState.PRESENT) if e164 else (None, PhoneState.INVALID)


def to_order(provider: str, raw: dict[str, Any]) -> Order:
    """Map one wire order onto the unified `Order` (raises `ValidationError`/`ValueError`)."""
    w = WireOrder.model_validate(raw)
    try:
        status = RawStatus(w.status)
    except ValueError:
        unified = OrderStatus.UNKNOWN
    else:
        unified = status.unified
    phone, state = _phone(w.customer.phone)
    return Order(
        provider=provider, external_id=w.id, order_number=w.orderNumber, status=unified, raw_status=w.status,
        ordered_at=_parse_iso(w.orderDate), updated_at=_parse_iso(w.lastModifiedDate),
        customer=Customer(name=w.customer.fullName, phone=phone, phone_state=state, email=w.customer.email,
                          city=w.customer.city, district=w.customer.district),
        cargo=CargoInfo(company=w.cargo.provider,
                        tracking_number=str(w.cargo.trackingNumber) if w.cargo.trackingNumber is not None else None),
        lines=[OrderLine(sku=ln.sku, barcode=ln.barcode, name=ln.name, quantity=ln.quantity,
                         unit_price=to_decimal(ln.unitPrice), currency=w.currency) for ln in w.lines],
        total=to_decimal(w.totalPrice), currency=w.currency, raw=raw,
    )


def _item(provider: str, raw: Any) -> OrderOrError:
    record = str(raw.get("id") or raw.get("orderNumber") or "?") if isinstance(raw, dict) else None
    try:
        if not isinstance(raw, dict):
            raise ValueError("an order must be a JSON object")
        return OrderOrError(order=to_order(provider, raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        err = PayloadError(first["msg"], provider=provider, field=".".join(str(p) for p in first["loc"]),
                           record=record, operation="list_orders")
    except ValueError as exc:
        err = PayloadError(str(exc), provider=provider, record=record, operation="list_orders")
    return OrderOrError(error=err, raw=raw if isinstance(raw, dict) else {"value": raw})


# ============================================================================================
# endpoints: each described once
# ============================================================================================
def list_orders_call(provider: str, seller_id: str, since: datetime, until: datetime,
                     page: int = 0, size: int = MAX_PAGE_SIZE) -> Call[Page[OrderOrError]]:
    def parse(response: httpx.Response) -> Page[OrderOrError]:
        body = response.json()
        content = body["content"]
        if not isinstance(content, list):
            raise TypeError("content is not a list")
        items = [_item(provider, raw) for raw in content]
        nxt = (list_orders_call(provider, seller_id, since, until, page + 1, size)
               if page + 1 < int(body["totalPages"]) else None)
        return Page(items=items, next_call=nxt, total=int(body["totalElements"]))

    return Call("list_orders", "GET", f"/sellers/{seller_id}/orders", parse,
                params={"modifiedFrom": _iso(since), "modifiedTo": _iso(until), "page": page, "size": size})


def get_order_call(provider: str, seller_id: str, order_number: str) -> Call[list[Order]]:
    if not order_number:
        raise ValueError("order_number is required")

    def parse(response: httpx.Response) -> list[Order]:
        orders = [to_order(provider, raw) for raw in response.json()["content"]]
        if not orders:  # the documented answer is a 404; an empty list would break the protocol's promise
            raise order_not_found(provider, order_number)
        return orders

    return Call("get_order", "GET", f"/sellers/{seller_id}/orders/by-number/{order_number}", parse,
                record=order_number)


def _windows(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    start = since
    while start < until:
        end = min(until, start + MAX_WINDOW)
        yield start, end
        start = end


class RefMarketClient(ConciseRepr, fields=("_runner.config.base_url",)):
    """Sync connector (`Marketplace`)."""

    def __init__(self, config: ProviderConfig, seller_id: str, *, transport: httpx.BaseTransport | None = None,
                 page_size: int = MAX_PAGE_SIZE) -> None:
        self.provider = config.provider
        self.seller_id = seller_id
        self.page_size = page_size
        self.history_limit = HISTORY_LIMIT
        self._runner = SyncRunner(config, transport=transport)

    def iter_orders_changed(self, since: datetime, until: datetime) -> Iterator[OrderOrError]:
        """Every order modified in [since, until), in windows of at most 14 days."""
        for start, end in _windows(since, until):
            yield from iter_items(self._runner.run,
                                  list_orders_call(self.provider, self.seller_id, start, end, 0, self.page_size))

    def get_order(self, order_number: str) -> list[Order]:
        return self._runner.run(get_order_call(self.provider, self.seller_id, order_number))

    def close(self) -> None:
        self._runner.close()


class AsyncRefMarketClient(ConciseRepr, fields=("_runner.config.base_url",)):
    """Async connector (`AsyncMarketplace`), same methods as `RefMarketClient`."""

    def __init__(self, config: ProviderConfig, seller_id: str, *,
                 transport: httpx.AsyncBaseTransport | None = None, page_size: int = MAX_PAGE_SIZE) -> None:
        self.provider = config.provider
        self.seller_id = seller_id
        self.page_size = page_size
        self.history_limit = HISTORY_LIMIT
        self._runner = AsyncRunner(config, transport=transport)

    async def iter_orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderOrError]:
        for start, end in _windows(since, until):
            async for item in aiter_items(
                self._runner.run, list_orders_call(self.provider, self.seller_id, start, end, 0, self.page_size)
            ):
                yield item

    async def get_order(self, order_number: str) -> list[Order]:
        return await self._runner.run(get_order_call(self.provider, self.seller_id, order_number))

    async def aclose(self) -> None:
        await self._runner.aclose()


# ============================================================================================
# plugin description
# ============================================================================================
def _config(
    name: str, account: IntegrationAccount, credentials: Credentials, options: ConnectOptions
) -> ProviderConfig:
    """The shared recipe (`providers._common.ProviderDefaults`): one host for every environment, the
    published limit unless ``options.rate_limit`` (or ``options.extra["rate_limit"]``) overrides it."""
    secret = credentials.api_secret.get_secret_value() if credentials.api_secret else ""
    defaults = ProviderDefaults(name, {env.value: DEFAULT_BASE_URL for env in Environment},
                                rate_limit=PUBLISHED_RATE_LIMIT)
    kw = connect_options(options)
    kw["rate_limit"] = options.rate_limit or options.extra.get("rate_limit")
    return defaults.config(account_key=account.id,
                           auth=httpx.BasicAuth(credentials.api_key.get_secret_value(), secret), **kw)


def _page_size(options: ConnectOptions) -> int:
    return int(options.extra.get("page_size", MAX_PAGE_SIZE))


def _seller_id(account: IntegrationAccount) -> str:
    return str(account.settings["seller_id"])


def make_refmarket_provider(name: str = "refmarket", label: str = "Reference marketplace") -> ProviderInfo:
    """A `ProviderInfo` for the reference marketplace under ``name`` (register it explicitly).

    ``ConnectOptions.extra`` may carry ``rate_limit`` (a `RateLimit`, default the published one)
    and ``page_size`` (default 100).

    Two names give two independent "platforms" (each with its own fake), which is how the demo
    stands in for Trendyol and Hepsiburada when their plugins are not installed.
    """
    fake_cls: type[RefMarketFake] = RefMarketFake if name == RefMarketFake.name else type(
        f"RefMarketFake_{name}", (RefMarketFake,), {"name": name})

    def connect(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> RefMarketClient:
        return RefMarketClient(_config(name, account, credentials, options), _seller_id(account),
                               transport=options.transport, page_size=_page_size(options))

    def connect_async(account: IntegrationAccount, credentials: Credentials,
                      options: ConnectOptions) -> AsyncRefMarketClient:
        return AsyncRefMarketClient(_config(name, account, credentials, options), _seller_id(account),
                                    transport=options.async_transport, page_size=_page_size(options))

    return ProviderInfo(name=name, kind=ProviderKind.MARKETPLACE, label=label, connect=connect,
                        connect_async=connect_async, fake=fake_cls, settings_keys=("seller_id",),
                        secret_keys=("api_key", "api_secret"))


REFMARKET = make_refmarket_provider()
