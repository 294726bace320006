"""EchoShop's sandbox fake: the documented wire format, state per shop, orders moving over time.

Each API token belongs to one shop (account); each shop has its own seeded orders. An order's
status and ``updatedAt`` come from its `Lifecycle` at the sandbox clock's now, so advancing the
clock moves orders along (NEW → PACKED → SHIPPED → DELIVERED). Tests add orders with
`add_orders` and change their course with `set_status`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.testing.sandbox import FakeProvider
from invekto_integrations.testing.sandbox.data import Address, Lifecycle, Person, Product, TurkishData

__all__ = ["ALL_STATUSES", "EchoShopFake"]

FLOW = ("NEW", "PACKED", "SHIPPED", "DELIVERED")
ALL_STATUSES = (*FLOW, "UNDELIVERED", "CANCELLED", "RETURNED")
CARRIERS = ("Aras Kargo", "Yurtiçi Kargo", "MNG Kargo")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class _Order:
    number: str
    life: Lifecycle[str]
    buyer: Person
    address: Address
    lines: list[tuple[Product, int]]
    carrier: str
    tracking: str


@dataclass
class _Shop:
    data: TurkishData
    orders: dict[str, _Order] = field(default_factory=dict)


class EchoShopFake(FakeProvider):
    name: ClassVar[str] = "echoshop"
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit(10, 1.0)
    max_page_size: ClassVar[int] = 50

    def __init__(self, *, tokens: dict[str, str] | None = None, orders_per_account: int = 0, **kw: Any) -> None:
        super().__init__(**kw)
        self.tokens = tokens or {"es-token-a": "shop-a", "es-token-b": "shop-b"}
        self.orders_per_account = orders_per_account
        self.shops = self.per_account(self._new_shop)

    # -- state -----------------------------------------------------------------------------------
    def _new_shop(self, account: str) -> _Shop:
        shop = _Shop(TurkishData(self.seed, stream=account))
        now = self.clock.now()
        for _ in range(self.orders_per_account):
            placed = shop.data.instant_between(now - timedelta(days=5), now)
            self._add(shop, shop.data.lifecycle(placed, FLOW, min_gap=timedelta(hours=2), max_gap=timedelta(days=2)))
        return shop

    def _add(self, shop: _Shop, life: Lifecycle[str]) -> str:
        data = shop.data
        number = f"ES-{data.order_number()}"
        while number in shop.orders:
            number = f"ES-{data.order_number()}"
        lines = [(data.product(), data.rng.randint(1, 3)) for _ in range(data.rng.randint(1, 3))]
        shop.orders[number] = _Order(number, life, data.person(), data.address(), lines,
                                     data.rng.choice(CARRIERS), data.tracking_number())
        return number

    def add_orders(self, account: str, count: int, *, status: str | None = None) -> list[str]:
        """Place ``count`` orders now: following the normal flow, or fixed at ``status``."""
        shop = self.shops.get(account)
        now = self.clock.now()
        out = []
        for _ in range(count):
            if status is None:
                life = shop.data.lifecycle(now, FLOW, min_gap=timedelta(hours=2), max_gap=timedelta(days=2))
            else:
                life = Lifecycle(now, [(timedelta(0), status)])
            out.append(self._add(shop, life))
        return out

    def set_status(self, account: str, number: str, status: str) -> None:
        """Change an order's status now (its ``updatedAt`` becomes now)."""
        order = self.shops.get(account).orders[number]
        order.life = order.life.interrupt(self.clock.now(), status)

    # -- wire ------------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        account = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            return _error(401, "invalid_token", "The access token is invalid or expired.")
        return account

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else None
        return _error(429, "rate_limited", "Too many requests: 10 per second per token.", headers)

    def server_error_response(self, status: int) -> Response:
        return _error(status, "unavailable", "EchoShop is temporarily unavailable.")

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/orders", self._list), Route("/v1/orders/{number}", self._get)]

    def _render(self, order: _Order, now: datetime) -> dict[str, Any]:
        status = order.life.state_at(now)
        total = sum((p.price * q for p, q in order.lines), Decimal(0))
        body: dict[str, Any] = {
            "orderNumber": order.number,
            "status": status,
            "createdAt": _iso(order.life.start),
            "updatedAt": _iso(order.life.changed_at(now)),
            "customer": {"fullName": order.buyer.full_name, "phone": TurkishData.local_phone(order.buyer.phone),
                         "email": order.buyer.email, "city": order.address.city,
                         "district": order.address.district},
            "lines": [{"sku": p.sku, "barcode": p.barcode, "title": p.name, "quantity": q, "unitPrice": str(p.price)}
                      for p, q in order.lines],
            "totalPrice": str(total),
            "currency": "TRY",
            "shipment": {"carrier": order.carrier, "trackingNumber": order.tracking}
            if status not in ("NEW", "PACKED", "CANCELLED") else None,
        }
        if self.maybe_malformed():
            body["totalPrice"] = "yüz lira"
        return body

    async def _list(self, request: Request) -> Response:
        q = request.query_params
        try:
            page = int(q.get("page", 0))
            size = int(q.get("size", 20))
            since = datetime.fromisoformat(q["updatedSince"]) if "updatedSince" in q else None
            until = datetime.fromisoformat(q["updatedUntil"]) if "updatedUntil" in q else None
        except ValueError:
            return _error(400, "invalid_parameter", "page, size, updatedSince or updatedUntil is invalid.")
        if page < 0 or not 1 <= size <= self.max_page_size:
            return _error(400, "invalid_parameter", f"size must be 1..{self.max_page_size}, page >= 0.")
        now = self.clock.now()
        shop = self.shops.get(self.account_of(request))
        rows = [o for o in shop.orders.values() if o.life.exists_at(now)]
        if since is not None or until is not None:
            lo = since or datetime.min.replace(tzinfo=UTC)
            hi = until or now + timedelta(seconds=1)
            rows = [o for o in rows if lo <= o.life.changed_at(now) < hi]
        rows.sort(key=lambda o: (o.life.changed_at(now), o.number))
        chunk = rows[page * size : (page + 1) * size]
        return JSONResponse({
            "page": page, "size": size, "totalElements": len(rows), "totalPages": -(-len(rows) // size),
            "orders": [self._render(o, now) for o in chunk],
        })

    async def _get(self, request: Request) -> Response:
        now = self.clock.now()
        order = self.shops.get(self.account_of(request)).orders.get(request.path_params["number"])
        if order is None or not order.life.exists_at(now):
            return _error(404, "not_found", "No order with this number.")
        return JSONResponse(self._render(order, now))
