"""A contract-faithful fake of Trendyol's Seller API (orders = shipment packages, claims).

Wire format from the fact sheet: ``GET /order/sellers/{sellerId}/orders`` with epoch-ms
``startDate``/``endDate`` (at most 14 days apart, not older than the history limit), ``status``,
``orderNumber``, zero-based ``page``, ``size`` ≤ 200, ``orderByField``/``orderByDirection``; the
page envelope ``{page, size, totalPages, totalElements, content}``; only the first 10,000 rows of
a filter are reachable. Auth is HTTP Basic key:secret plus a ``User-Agent`` of
``"{sellerId} - {integrator}"`` (missing → 403; bad credentials → 401
``ClientApiAuthenticationException``). Throttling is a bare 429 (no Retry-After is documented).

The date filter applies to ``lastModifiedDate`` when sorting by ``PackageLastModifiedDate`` (the
default) and to ``orderDate`` when sorting by ``CreatedDate``; bounds are inclusive.

State is per seller. Tests script it: `add_orders`, `advance_order`, `set_tracking`,
`add_claim`, `break_order`; with ``lifecycle=True`` every package also follows a seeded plan
(Created → Picking → Invoiced → Shipped → Delivered, some cancelled or undelivered/returned)
driven by the fake's clock, and every change moves ``lastModifiedDate``.
"""

from __future__ import annotations

import base64
import math
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.testing.sandbox._fake import FakeProvider
from invekto_integrations.testing.scenarios import FakeSellerAccount

from ._marketdata import MarketData, Person

__all__ = ["TrendyolFake"]

MAX_SIZE = 200
MAX_RANGE = timedelta(days=14)
_SELLER = re.compile(r"/sellers/([^/]+)/")
_STEPS = ["Created", "Picking", "Invoiced", "Shipped", "Delivered"]  # what `step_order` walks through
_CARRIERS = [("Trendyol Express", "TEX"), ("Yurtiçi Kargo Marketplace", "YKMP"), ("Aras Kargo Marketplace", "ARASMP")]


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@dataclass
class _Package:
    id: int
    order_number: str
    status: str
    order_date: datetime
    last_modified: datetime
    customer: Person
    lines: list[dict[str, Any]]
    carrier: str
    tracking_number: int | None = None
    tracking_link: str | None = None
    histories: list[tuple[datetime, str]] = field(default_factory=list)
    plan: list[tuple[datetime, str]] = field(default_factory=list)
    broken: bool = False


@dataclass
class _Claim:
    id: str
    package_id: int
    status: str
    claim_date: datetime
    last_modified: datetime
    tracking_number: int = 0  # the return parcel's; 0 until the customer hands it over


@dataclass
class _Account:
    seller_id: str
    api_key: str
    api_secret: str
    rng: random.Random
    data: MarketData
    packages: dict[int, _Package] = field(default_factory=dict)
    claims: dict[str, _Claim] = field(default_factory=dict)
    next_id: int = 0


class TrendyolFake(FakeProvider):
    name: ClassVar[str] = "trendyol"
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit.per_minute(1000)

    def __init__(
        self,
        *,
        accounts: dict[str, tuple[str, str]] | None = None,
        orders_per_account: int = 30,
        lifecycle: bool = True,
        history_days: int = 90,
        max_reachable: int = 10_000,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self._provisioned: set[str] = set()  # opened by provision_account: no seeded orders
        self.credentials = dict(accounts) if accounts else {
            "100001": ("ty-key-100001", "ty-secret-100001"),
            "100002": ("ty-key-100002", "ty-secret-100002"),
        }
        self.orders_per_account = orders_per_account
        self.lifecycle = lifecycle
        self.history = timedelta(days=history_days)
        self.max_reachable = max_reachable
        self._accounts: dict[str, _Account] = {}
        self._seed_all()

    # -- state ------------------------------------------------------------------------------------
    def _seed_all(self) -> None:
        self._accounts = {}
        for seller in self.credentials:
            self._open(seller, 0 if seller in self._provisioned else self.orders_per_account)

    def _open(self, seller: str, orders: int) -> _Account:
        key, secret = self.credentials[seller]
        rng = random.Random(f"trendyol:{self.seed}:{seller}")
        acct = _Account(seller, key, secret, rng, MarketData(rng, (0.3, 0.2, 0.5)),
                        next_id=10_000_000 + int(rng.randrange(1000)) * 1000)
        self._accounts[seller] = acct
        if orders:
            now = self.clock.now()
            for _ in range(orders):
                # Spread over the last 20 days so listings need more than one 14-day window.
                at = now - timedelta(minutes=rng.randrange(20 * 24 * 60))
                self._new_package(acct, at, self.lifecycle)
            self._tick(acct)
        return acct

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._seed_all()

    def _account(self, seller: str) -> _Account:
        try:
            return self._accounts[str(seller)]
        except KeyError:
            raise KeyError(f"trendyol fake: no seller {seller!r}") from None

    def _new_package(self, acct: _Account, at: datetime, lifecycle: bool, status: str = "Created",
                     customer: Person | None = None) -> _Package:
        r = acct.rng
        acct.next_id += 1
        lines = []
        for n in range(r.choice([1, 1, 1, 2, 3])):
            product = acct.data.product()
            qty = r.choice([1, 1, 2])
            discount = product.price * qty * r.choice([0, 0, 0, 10]) / 100
            lines.append({
                "id": acct.next_id * 10 + n, "barcode": product.barcode, "merchantSku": product.sku,
                "sku": product.sku, "productName": product.name, "productCode": 1000 + n,
                "quantity": qty, "price": float(product.price), "amount": float(product.price * qty),
                "discount": float(discount.quantize(Decimal("0.01"))),
                "tyDiscount": 0.0, "currencyCode": "TRY", "orderLineItemStatusName": status,
            })
        carrier = r.choice(_CARRIERS)[0]
        pkg = _Package(id=acct.next_id, order_number=str(80_000_000 + acct.next_id % 10_000_000),
                       status=status, order_date=at, last_modified=at, customer=customer or acct.data.person(),
                       lines=lines, carrier=carrier, histories=[(at, status)])
        if lifecycle:
            pkg.plan = self._plan(r, at)
        acct.packages[pkg.id] = pkg
        return pkg

    @staticmethod
    def _plan(r: random.Random, t0: datetime) -> list[tuple[datetime, str]]:
        fate = r.random()
        h = timedelta(hours=1)
        if fate < 0.1:
            return [(t0 + 1 * h, "Cancelled")]
        steps = [(t0 + 2 * h, "Picking"), (t0 + 5 * h, "Invoiced"), (t0 + 24 * h, "Shipped")]
        if fate < 0.15:
            return [*steps, (t0 + 72 * h, "UnDelivered"), (t0 + 144 * h, "Returned")]
        return [*steps, (t0 + 72 * h, "Delivered")]

    def _tick(self, acct: _Account) -> None:
        now = self.clock.now()
        for pkg in acct.packages.values():
            while pkg.plan and pkg.plan[0][0] <= now:
                at, status = pkg.plan.pop(0)
                self._apply(acct, pkg, status, at)

    def _apply(self, acct: _Account, pkg: _Package, status: str, at: datetime) -> None:
        pkg.status = status
        pkg.last_modified = max(at, pkg.last_modified + timedelta(milliseconds=1))
        pkg.histories.append((pkg.last_modified, status))
        for line in pkg.lines:
            line["orderLineItemStatusName"] = status
        if status == "Shipped" and pkg.tracking_number is None:
            pkg.tracking_number = 7_330_000_000_000_000 + acct.rng.randrange(10**9)
            pkg.tracking_link = f"https://kargotakip.trendyol.com/?orderNumber={pkg.order_number}"

    # -- scripting API for tests ----------------------------------------------------------------------
    def add_orders(self, account: str, n: int = 1, *, at: datetime | None = None, status: str = "Created",
                   lifecycle: bool = False) -> list[str]:
        """Create ``n`` packages for seller ``account`` (ordered ``at``, default now); their ids."""
        with self._lock:
            acct = self._account(account)
            when = at or self.clock.now()
            return [str(self._new_package(acct, when, lifecycle, status).id) for _ in range(n)]

    def advance_order(self, account: str, package_id: str | int, new_status: str,
                      at: datetime | None = None) -> None:
        """Move a package to ``new_status`` (a Trendyol status) at ``at`` (default now); its own plan stops."""
        with self._lock:
            acct = self._account(account)
            pkg = acct.packages[int(package_id)]
            pkg.plan.clear()
            self._apply(acct, pkg, new_status, at or self.clock.now())

    def set_tracking(self, account: str, package_id: str | int, number: int | str, *,
                     company: str | None = None, link: str | None = None, at: datetime | None = None) -> None:
        with self._lock:
            pkg = self._account(account).packages[int(package_id)]
            pkg.tracking_number = int(number)
            pkg.carrier = company or pkg.carrier
            pkg.tracking_link = link
            pkg.last_modified = max(at or self.clock.now(), pkg.last_modified + timedelta(milliseconds=1))

    def break_order(self, account: str, package_id: str | int) -> None:
        """Serve this package malformed from now on (``orderDate`` not a number, ``lines`` without price)."""
        with self._lock:
            self._account(account).packages[int(package_id)].broken = True

    def add_claim(self, account: str, package_id: str | int, *, status: str = "Created",
                  at: datetime | None = None) -> str:
        with self._lock:
            acct = self._account(account)
            when = at or self.clock.now()
            # Return parcels carry long numeric codes (up to 20 digits: beyond a float's exact range).
            claim = _Claim(id=f"c-{package_id}-{len(acct.claims) + 1}", package_id=int(package_id), status=status,
                           claim_date=when, last_modified=when,
                           tracking_number=73_300_000_000_000_000_000 + acct.rng.randrange(10**12))
            acct.claims[claim.id] = claim
            return claim.id

    def package(self, account: str, package_id: str | int) -> dict[str, Any]:
        """The package as the API would send it now."""
        with self._lock:
            acct = self._account(account)
            self._tick(acct)
            return self._wire(acct.packages[int(package_id)])

    def package_ids(self, account: str) -> list[str]:
        with self._lock:
            return [str(i) for i in sorted(self._account(account).packages)]

    # -- scenario hooks (testing.scenarios.MarketplaceScenario) ---------------------------------------
    def provision_account(self, display_name: str = "") -> FakeSellerAccount:
        """Open a seller with no orders; its credentials and ``seller_id`` setting."""
        with self._lock:
            seller = str(200_001 + len(self._provisioned))
            key = f"ty-key-{seller}"
            secret = f"ty-secret-{random.Random(f'{self.seed}:{seller}').getrandbits(64):016x}"
            self.credentials[seller] = (key, secret)
            self._provisioned.add(seller)
            self._open(seller, 0)
        return FakeSellerAccount(account_key=seller,
                                 credentials=Credentials(api_key=SecretStr(key), api_secret=SecretStr(secret)),
                                 settings={"seller_id": seller}, display_name=display_name or f"Trendyol {seller}")

    def seed_orders(self, account_key: str, count: int, *, start: datetime, end: datetime) -> list[str]:
        """``count`` packages ordered in [start, end), each moved 0–4 steps on before ``end``."""
        with self._lock:
            acct = self._account(account_key)
            ids = []
            for _ in range(count):
                at = start + (end - start) * acct.rng.random()
                pkg = self._new_package(acct, at, lifecycle=False)
                for n in range(acct.rng.choice([0, 0, 1, 2, 3, 4])):
                    self._step(acct, pkg, at + (end - at) * (n + 1) / 6)
                ids.append(str(pkg.id))
            return ids

    def seed_customer_order(self, account_key: str, phone: str, name: str, at: datetime) -> str:
        with self._lock:
            acct = self._account(account_key)
            return str(self._new_package(acct, at, False, customer=acct.data.person_named(name, phone)).id)

    def step_order(self, account_key: str, external_id: str, at: datetime) -> str:
        with self._lock:
            acct = self._account(account_key)
            pkg = acct.packages[int(external_id)]
            pkg.plan.clear()
            return self._step(acct, pkg, at)

    def _step(self, acct: _Account, pkg: _Package, at: datetime) -> str:
        if pkg.status in _STEPS[:-1]:
            self._apply(acct, pkg, _STEPS[_STEPS.index(pkg.status) + 1], at)
        return pkg.status

    # -- wire -------------------------------------------------------------------------------------------
    def _wire(self, pkg: _Package) -> dict[str, Any]:
        c = pkg.customer
        gross = sum(line["amount"] for line in pkg.lines)
        discount = sum(line["discount"] for line in pkg.lines)
        address = {
            "firstName": c.first_name, "lastName": c.last_name, "fullName": c.full_name,
            # Published payloads pad some address fields (" İstanbul "): so does the fake, for some packages.
            "address1": "Atatürk Cd. No:1", "city": f" {c.city} " if pkg.id % 3 == 0 else c.city,
            "district": f"{c.district} " if pkg.id % 3 == 0 else c.district, "countryCode": "TR",
            "phone": c.phone,
        }
        body: dict[str, Any] = {
            "id": pkg.id, "orderNumber": pkg.order_number, "status": pkg.status,
            "shipmentPackageStatus": pkg.status,
            "orderDate": _ms(pkg.order_date), "lastModifiedDate": _ms(pkg.last_modified),
            "grossAmount": round(gross, 2), "totalDiscount": round(discount, 2), "totalTyDiscount": 0.0,
            "totalPrice": round(gross - discount, 2), "currencyCode": "TRY",
            "customerId": 500_000 + pkg.id % 100_000, "customerFirstName": c.first_name,
            "customerLastName": c.last_name, "customerEmail": f"pf+{pkg.id:x}@trendyol.com",
            "shipmentAddress": address, "invoiceAddress": {**address, "phone": None},
            # A package awaiting its parcel carries the placeholder 0, not null.
            "cargoProviderName": pkg.carrier,
            "cargoTrackingNumber": pkg.tracking_number if pkg.tracking_number is not None else 0,
            "cargoTrackingLink": pkg.tracking_link, "deliveryAddressType": "Shipment",
            "lines": [dict(line) for line in pkg.lines],
            "packageHistories": [{"createdDate": _ms(at), "status": s} for at, s in pkg.histories],
        }
        if pkg.broken:
            body["orderDate"] = "dün akşam"
            for line in body["lines"]:
                line.pop("price", None)
        elif self.maybe_malformed():
            body.pop("orderNumber")
        return body

    def _claim_wire(self, acct: _Account, claim: _Claim) -> dict[str, Any]:
        pkg = acct.packages[claim.package_id]
        return {
            "id": claim.id, "orderNumber": pkg.order_number, "orderDate": _ms(pkg.order_date),
            "customerFirstName": pkg.customer.first_name, "customerLastName": pkg.customer.last_name,
            "claimDate": _ms(claim.claim_date), "lastModifiedDate": _ms(claim.last_modified),
            "cargoProviderName": pkg.carrier, "cargoTrackingNumber": claim.tracking_number,
            "items": [{
                "orderLine": {"id": line["id"], "productName": line["productName"], "barcode": line["barcode"],
                              "merchantSku": line["merchantSku"], "price": line["price"]},
                "claimItems": [{"id": f"{claim.id}-{line['id']}", "claimItemStatus": {"name": claim.status},
                                "customerClaimItemReason": {"name": "Beden uymadı", "code": "SIZE"}}],
            } for line in pkg.lines],
        }

    # -- HTTP -----------------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | Response:
        ua = request.headers.get("user-agent")
        if not ua:
            return JSONResponse({"exception": "ClientApiAuthorizationException",
                                 "message": "User-Agent header is required"}, status_code=403)
        header = request.headers.get("authorization", "")
        seller: str | None = None
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                key, secret = "", ""
            for sid, (k, s) in self.credentials.items():
                if k == key and s == secret:
                    seller = sid
        if seller is None:
            return JSONResponse({"exception": "ClientApiAuthenticationException",
                                 "message": "Kimlik doğrulama başarısız / authentication failed"}, status_code=401)
        if not ua.startswith(f"{seller} - ") or len(ua) <= len(f"{seller} - "):
            return JSONResponse({"exception": "ClientApiAuthorizationException",
                                 "message": "User-Agent must be '{sellerId} - {integrator}'"}, status_code=403)
        match = _SELLER.search(request.url.path + "/")
        if match is None or match.group(1) != seller:
            return JSONResponse({"exception": "ClientApiAuthorizationException",
                                 "message": "seller does not match the credentials"}, status_code=403)
        return seller

    def rate_limited_response(self, retry_after: float | None) -> Response:
        return JSONResponse({"errors": [{"key": "too.many.requests", "message": "Too Many Requests"}]},
                            status_code=429)

    def server_error_response(self, status: int) -> Response:
        return JSONResponse({"exception": "ServiceUnavailableException",
                             "message": "servis geçici olarak kullanılamıyor"}, status_code=status)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/order/sellers/{seller}/orders", self._list_orders),
            Route("/order/sellers/{seller}/claims", self._list_claims),
        ]

    @staticmethod
    def _bad(key: str, message: str) -> JSONResponse:
        return JSONResponse({"errors": [{"key": key, "message": message}]}, status_code=400)

    def _range(self, q: Any) -> tuple[datetime, datetime] | JSONResponse:
        now = self.clock.now()
        try:
            end = datetime.fromtimestamp(int(q["endDate"]) / 1000, UTC) if q.get("endDate") else now
            start = (datetime.fromtimestamp(int(q["startDate"]) / 1000, UTC) if q.get("startDate")
                     else end - MAX_RANGE)
        except ValueError:
            return self._bad("date.format", "startDate/endDate must be epoch milliseconds")
        if end - start > MAX_RANGE:
            return self._bad("date.range.exceeded", "startDate and endDate can be at most 14 days apart")
        self.check_window(start, end)
        if start < now - self.history:
            return self._bad("date.history.exceeded", f"orders older than {self.history.days} days cannot be listed")
        return start, end

    @staticmethod
    def _paging(q: Any) -> tuple[int, int] | JSONResponse:
        try:
            page = int(q.get("page", 0))
            size = min(int(q.get("size", 50)), MAX_SIZE)
        except ValueError:
            return TrendyolFake._bad("page.format", "page and size must be integers")
        if page < 0 or size <= 0:
            return TrendyolFake._bad("page.format", "page must be ≥ 0 and size > 0")
        return page, size

    def _envelope(self, rows: list[Any], page: int, size: int) -> dict[str, Any]:
        reachable = rows[: self.max_reachable]
        return {"page": page, "size": size, "totalPages": math.ceil(len(rows) / size),
                "totalElements": len(rows), "content": reachable[page * size: (page + 1) * size]}

    async def _list_orders(self, request: Request) -> Response:
        q = request.query_params
        paging = self._paging(q)
        if isinstance(paging, JSONResponse):
            return paging
        page, size = paging
        with self._lock:
            acct = self._account(self.account_of(request))
            self._tick(acct)
            pkgs = list(acct.packages.values())
            by_created = q.get("orderByField") == "CreatedDate"

            def stamp(p: _Package) -> datetime:
                return p.order_date if by_created else p.last_modified

            if q.get("orderNumber"):
                pkgs = [p for p in pkgs if p.order_number == q["orderNumber"]]
            else:
                window = self._range(q)
                if isinstance(window, JSONResponse):
                    return window
                start, end = window
                pkgs = [p for p in pkgs if start <= stamp(p) <= end]
            if q.get("status"):
                pkgs = [p for p in pkgs if p.status == q["status"]]
            pkgs.sort(key=lambda p: (stamp(p), p.id), reverse=q.get("orderByDirection", "ASC").upper() == "DESC")
            env = self._envelope(pkgs, page, size)
            env["content"] = [self._wire(p) for p in env["content"]]
        return JSONResponse(env)

    async def _list_claims(self, request: Request) -> Response:
        q = request.query_params
        paging = self._paging(q)
        if isinstance(paging, JSONResponse):
            return paging
        page, size = paging
        with self._lock:
            acct = self._account(self.account_of(request))
            self._tick(acct)
            claims = list(acct.claims.values())
            window = self._range(q)
            if isinstance(window, JSONResponse):
                return window
            start, end = window
            claims = [c for c in claims if start <= c.claim_date <= end]
            if q.get("claimItemStatus"):
                claims = [c for c in claims if c.status == q["claimItemStatus"]]
            if q.get("orderNumber"):
                claims = [c for c in claims if acct.packages[c.package_id].order_number == q["orderNumber"]]
            claims.sort(key=lambda c: (c.last_modified, c.id))
            env = self._envelope(claims, page, size)
            env["content"] = [self._claim_wire(acct, c) for c in env["content"]]
        return JSONResponse(env)
