"""A contract-faithful fake of Hepsiburada's OMS (order/package status buckets, details, claims).

Wire format from the fact sheet: the status buckets under ``/orders/merchantid/{mid}`` and
``/packages/merchantid/{mid}`` with mandatory ``offset`` (``Offset`` on packages) and ``limit``
(orders ≤ 100, packages ≤ 10, cancelled/shipped/delivered/undelivered ≤ 50; missing →
``400 {"message": "Bad Request limit and offset parameters are required"}``); the page envelope
``{totalCount, limit, offset, pageCount, items}``; ``begindate``/``enddate`` in Istanbul local
``yyyy-MM-dd HH:mm`` (a window over 24 h is silently cut to ``begindate + 24h``; the end minute is
inclusive), and ``400 WrongDateFormat`` when dates are sent to the cancelled/shipped/delivered/
undelivered feeds (as one SDK reports). Thin PascalCase items on shipped/delivered/undelivered;
order and package details; claims as a bare array with ``X-Total-Count`` headers.

Auth: HTTP Basic ``merchantId:serviceKey`` and a ``User-Agent`` equal to the merchant's
registered integrator username (anything else → 401). Throttling: 429 ``TooManyRequests`` with
``X-RateLimit-Limit/Remaining/Reset``.

Chosen reading (unverified upstream): the date filter of the windowed feeds applies to the
moment the item entered its bucket (its ``lastStatusUpdateDate``).

State is per merchant. Tests script it: `add_orders`, `advance_order`, `set_tracking`,
`add_claim`, `advance_claim`, `break_order`; with ``lifecycle=True`` orders also follow a seeded
plan driven by the fake's clock.
"""

from __future__ import annotations

import base64
import math
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.testing.sandbox._fake import FakeProvider
from invekto_integrations.testing.scenarios import FakeSellerAccount

from ._marketdata import MarketData, Person

__all__ = ["HepsiburadaFake"]

ISTANBUL = ZoneInfo("Europe/Istanbul")
_MERCHANT = re.compile(r"/merchant[iI]d/([^/]+)")
_CARGO = ["HepsiJET", "Aras Kargo", "Yurtiçi Kargo", "MNG Kargo"]
STAGES = ("PaymentAwaiting", "Open", "Packaged", "Unpacked", "InTransit", "Delivered", "Undelivered", "Cancelled")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount: Decimal) -> dict[str, Any]:
    return {"amount": float(amount), "currency": "TRY"}


_STEPS = ["Open", "Packaged", "InTransit", "Delivered"]  # what `step_order` walks through


@dataclass
class _Line:
    id: str
    sku: str
    merchant_sku: str
    barcode: str
    name: str
    quantity: int
    unit_price: Decimal
    hb_discount: Decimal
    merchant_discount: Decimal


@dataclass
class _Order:
    order_number: str
    order_date: datetime
    stage: str
    stage_at: datetime
    customer: Person
    lines: list[_Line]
    cargo: str
    package_number: str | None = None
    package_barcode: str | None = None
    tracking_code: str | None = None
    tracking_url: str | None = None
    cancelled_by: str | None = None
    plan: list[tuple[datetime, str]] = field(default_factory=list)
    broken: bool = False
    broken_line: int | None = None  # serve only this line (index) malformed
    orphan_line: bool = False  # ... and without its orderNumber


@dataclass
class _Claim:
    number: str
    order_number: str
    status: str
    claim_date: datetime
    status_at: datetime
    refund_date: datetime | None = None


@dataclass
class _Merchant:
    merchant_id: str
    service_key: str
    integrator: str
    rng: random.Random
    data: MarketData
    orders: dict[str, _Order] = field(default_factory=dict)
    claims: dict[str, _Claim] = field(default_factory=dict)
    counter: int = 0


class HepsiburadaFake(FakeProvider):
    name: ClassVar[str] = "hepsiburada"
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit(1000, 1.0)

    def __init__(
        self,
        *,
        accounts: dict[str, tuple[str, str]] | None = None,
        orders_per_account: int = 30,
        lifecycle: bool = True,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        # merchant id → (service key, integrator username sent as User-Agent)
        self._provisioned: set[str] = set()  # opened by provision_account: no seeded orders
        self.credentials = dict(accounts) if accounts else {
            "b2910839-83b9-4d45-adb6-86bad457edcb": ("Hb7Sk2Lm9Qx4", "invekto_dev"),
            "5c3f8a21-4e6d-4b2a-9f10-7d2e6c1b9a03": ("Pz4Rt8Vw1Ny6", "invekto_dev"),
        }
        self.orders_per_account = orders_per_account
        self.lifecycle = lifecycle
        self._merchants: dict[str, _Merchant] = {}
        self._seed_all()

    # -- state ------------------------------------------------------------------------------------
    def _seed_all(self) -> None:
        self._merchants = {}
        now = self.clock.now()
        for mid in self.credentials:
            self._open(mid, 0 if mid in self._provisioned else self.orders_per_account, now)

    def _open(self, mid: str, orders: int, now: datetime) -> _Merchant:
        key, integrator = self.credentials[mid]
        rng = random.Random(f"hepsiburada:{self.seed}:{mid}")
        merchant = _Merchant(mid, key, integrator, rng, MarketData(rng, (0.6, 0.2, 0.2)))
        self._merchants[mid] = merchant
        for _ in range(orders):
            at = now - timedelta(minutes=rng.randrange(10 * 24 * 60))
            self._new_order(merchant, at, "Open", self.lifecycle)
        self._tick(merchant)
        return merchant

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._seed_all()

    def _merchant(self, merchant_id: str) -> _Merchant:
        try:
            return self._merchants[merchant_id]
        except KeyError:
            raise KeyError(f"hepsiburada fake: no merchant {merchant_id!r}") from None

    def _new_order(self, m: _Merchant, at: datetime, stage: str, lifecycle: bool,
                   customer: Person | None = None) -> _Order:
        r = m.rng
        m.counter += 1
        at = at.replace(microsecond=0)
        lines = []
        for _ in range(r.choice([1, 1, 2])):
            p = m.data.product()
            qty = r.choice([1, 1, 2])
            merchant_discount = (p.price * qty * r.choice([0, 0, 5]) / 100).quantize(Decimal("0.01"))
            lines.append(_Line(id=str(uuid.UUID(int=r.getrandbits(128), version=4)),
                               sku=f"HBV0000{r.randrange(10**5):05d}{r.choice('ABCXYZ')}", merchant_sku=p.sku,
                               barcode=p.barcode, name=p.name, quantity=qty, unit_price=p.price,
                               hb_discount=Decimal(0), merchant_discount=merchant_discount))
        order = _Order(order_number=str(2_150_000_000 + m.counter * 37 + r.randrange(37)), order_date=at,
                       stage=stage, stage_at=at, customer=customer or m.data.person(), lines=lines,
                       cargo=r.choice(_CARGO))
        if lifecycle:
            order.plan = self._plan(r, at, stage)
        m.orders[order.order_number] = order
        return order

    @staticmethod
    def _plan(r: random.Random, t0: datetime, stage: str) -> list[tuple[datetime, str]]:
        h = timedelta(hours=1)
        fate = r.random()
        start = [(t0 + 0.5 * h, "Open")] if stage == "PaymentAwaiting" else []
        if fate < 0.1:
            return [*start, (t0 + 1 * h, "Cancelled")]
        steps = [*start, (t0 + 3 * h, "Packaged"), (t0 + 20 * h, "InTransit")]
        if fate < 0.15:
            return [*steps, (t0 + 60 * h, "Undelivered")]
        return [*steps, (t0 + 60 * h, "Delivered")]

    def _tick(self, m: _Merchant) -> None:
        now = self.clock.now()
        for order in m.orders.values():
            while order.plan and order.plan[0][0] <= now:
                at, stage = order.plan.pop(0)
                self._apply(m, order, stage, at)

    def _apply(self, m: _Merchant, order: _Order, stage: str, at: datetime) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown Hepsiburada stage {stage!r}; one of {', '.join(STAGES)}")
        order.stage = stage
        order.stage_at = max(at.replace(microsecond=0), order.stage_at + timedelta(seconds=1))
        packed = ("Packaged", "Unpacked", "InTransit", "Delivered", "Undelivered")
        if stage in packed and order.package_number is None:
            order.package_number = str(4_000_000_000 + m.rng.randrange(10**9))
            order.package_barcode = f"HB{m.rng.randrange(10**10):010d}"
        if stage == "Open":
            order.package_number = order.package_barcode = None
        if stage in packed[2:] and order.tracking_code is None:
            order.tracking_code = f"{m.rng.randrange(10**12):012d}"
            order.tracking_url = f"https://www.hepsijet.com/gonderi-takibi/{order.tracking_code}"
        if stage == "Cancelled":
            order.cancelled_by = "Customer"

    # -- scripting API for tests -------------------------------------------------------------------
    def add_orders(self, account: str, n: int = 1, *, at: datetime | None = None, status: str = "Open",
                   lifecycle: bool = False) -> list[str]:
        """Create ``n`` orders for merchant ``account`` in stage ``status``; their order numbers."""
        with self._lock:
            m = self._merchant(account)
            when = at or self.clock.now()
            created = []
            for _ in range(n):
                order = self._new_order(m, when, "Open" if status != "PaymentAwaiting" else status, lifecycle)
                if status not in ("Open", "PaymentAwaiting"):
                    self._apply(m, order, status, when)
                created.append(order.order_number)
            return created

    def advance_order(self, account: str, order_number: str, new_status: str, at: datetime | None = None) -> None:
        """Move an order to a stage (``Packaged``, ``InTransit``, ``Delivered``, ``Cancelled`` ...)."""
        with self._lock:
            m = self._merchant(account)
            order = m.orders[order_number]
            order.plan.clear()
            self._apply(m, order, new_status, at or self.clock.now())

    def set_tracking(self, account: str, order_number: str, number: str, *, company: str | None = None,
                     link: str | None = None, at: datetime | None = None) -> None:
        with self._lock:
            order = self._merchant(account).orders[order_number]
            order.tracking_code = str(number)
            order.tracking_url = link
            order.cargo = company or order.cargo

    def break_order(self, account: str, order_number: str) -> None:
        """Serve this order malformed from now on (``quantity`` not a number, no ``unitPrice``)."""
        with self._lock:
            self._merchant(account).orders[order_number].broken = True

    def break_line(self, account: str, order_number: str, index: int = 0, *, orphan: bool = False) -> None:
        """Serve one line of this order malformed in the orders feeds (``quantity`` not a number; with
        ``orphan`` also without its ``orderNumber``), the others and the order detail intact;
        `repair_order` undoes it and `break_order`."""
        with self._lock:
            order = self._merchant(account).orders[order_number]
            order.broken_line, order.orphan_line = index, orphan

    def repair_order(self, account: str, order_number: str) -> None:
        with self._lock:
            order = self._merchant(account).orders[order_number]
            order.broken, order.broken_line, order.orphan_line = False, None, False

    def order_truth(self, account: str, order_number: str) -> tuple[int, Decimal]:
        """What a whole copy of the order must show: its line count and total (after discounts)."""
        with self._lock:
            o = self._merchant(account).orders[order_number]
            return len(o.lines), sum((ln.unit_price * ln.quantity - ln.merchant_discount - ln.hb_discount
                                      for ln in o.lines), Decimal(0))

    def add_claim(self, account: str, order_number: str, *, status: str = "NewRequest",
                  at: datetime | None = None) -> str:
        with self._lock:
            m = self._merchant(account)
            when = (at or self.clock.now()).replace(microsecond=0)
            number = f"T{len(m.claims) + 1:06d}"
            m.claims[number] = _Claim(number, order_number, status, when, when)
            return number

    def advance_claim(self, account: str, number: str, status: str, at: datetime | None = None) -> None:
        with self._lock:
            claim = self._merchant(account).claims[number]
            when = (at or self.clock.now()).replace(microsecond=0)
            claim.status, claim.status_at = status, when
            if status == "Refunded":
                claim.refund_date = when

    def order_numbers(self, account: str) -> list[str]:
        with self._lock:
            return sorted(self._merchant(account).orders)

    def stage_of(self, account: str, order_number: str) -> str:
        with self._lock:
            m = self._merchant(account)
            self._tick(m)
            return m.orders[order_number].stage

    # -- scenario hooks (testing.scenarios.MarketplaceScenario) ---------------------------------------
    def provision_account(self, display_name: str = "") -> FakeSellerAccount:
        """Open a merchant with no orders; credentials as `connect` reads them (id + service key)."""
        with self._lock:
            rng = random.Random(f"hepsiburada:{self.seed}:provision:{len(self._provisioned)}")
            mid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            key = f"{rng.getrandbits(64):016x}"
            self.credentials[mid] = (key, "invekto_dev")
            self._provisioned.add(mid)
            self._open(mid, 0, self.clock.now())
        return FakeSellerAccount(account_key=mid,
                                 credentials=Credentials(api_key=SecretStr(mid), api_secret=SecretStr(key)),
                                 settings={"merchant_id": mid, "integrator_name": "invekto_dev"},
                                 display_name=display_name or f"Hepsiburada {mid[:8]}")

    def seed_orders(self, account_key: str, count: int, *, start: datetime, end: datetime) -> list[str]:
        """``count`` orders placed in [start, end), each moved 0–3 steps on before ``end``."""
        with self._lock:
            m = self._merchant(account_key)
            numbers = []
            for _ in range(count):
                at = start + (end - start) * m.rng.random()
                order = self._new_order(m, at, "Open", False)
                for n in range(m.rng.choice([0, 0, 1, 2, 3])):
                    self._step(m, order, at + (end - at) * (n + 1) / 5)
                numbers.append(order.order_number)
            return numbers

    def seed_customer_order(self, account_key: str, phone: str, name: str, at: datetime) -> str:
        with self._lock:
            m = self._merchant(account_key)
            return self._new_order(m, at, "Open", False, customer=m.data.person_named(name, phone)).order_number

    def step_order(self, account_key: str, external_id: str, at: datetime) -> str:
        with self._lock:
            m = self._merchant(account_key)
            order = m.orders[external_id]
            order.plan.clear()
            return self._step(m, order, at)

    def _step(self, m: _Merchant, order: _Order, at: datetime) -> str:
        if order.stage in _STEPS[:-1]:
            self._apply(m, order, _STEPS[_STEPS.index(order.stage) + 1], at)
        return order.stage

    # -- wire --------------------------------------------------------------------------------------
    def _address(self, o: _Order) -> dict[str, Any]:
        c = o.customer
        return {"name": c.full_name, "address": "Cumhuriyet Mah. Güneş Sk. No:5", "town": c.district,
                "district": "Merkez", "city": c.city, "countryCode": "TR", "postalCode": "34000",
                "phoneNumber": c.phone, "alternatePhoneNumber": None,
                "email": f"{c.first_name.lower()}@example.com.tr"}

    def _line_wire(self, o: _Order, ln: _Line, status: str, *, in_feed: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": ln.id, "orderNumber": o.order_number, "orderDate": _iso(o.order_date), "status": status,
            "sku": ln.sku, "merchantSKU": ln.merchant_sku, "productBarcode": ln.barcode, "name": ln.name,
            "quantity": ln.quantity, "unitPrice": _money(ln.unit_price),
            "totalPrice": _money(ln.unit_price * ln.quantity - ln.merchant_discount - ln.hb_discount),
            "hbDiscount": {"unitPrice": _money(Decimal(0)), "totalPrice": _money(ln.hb_discount)},
            "merchantDiscount": {"unitPrice": _money(ln.merchant_discount / ln.quantity),
                                 "totalPrice": _money(ln.merchant_discount)},
            "vatRate": 20, "lastStatusUpdateDate": _iso(o.stage_at), "dueDate": _iso(o.order_date + timedelta(days=2)),
            "dispatchTime": 2, "customerId": f"c-{o.order_number}", "customerName": o.customer.full_name,
            "shippingAddress": self._address(o), "invoice": {"address": self._address(o), "taxNumber": None},
            "cargoCompany": o.cargo, "cargoCompanyModel": {"name": o.cargo, "shortName": o.cargo[:3].upper()},
            "packageNumber": o.package_number, "barcode": o.package_barcode,
        }
        if o.stage == "Cancelled":
            body.update(cancelDate=_iso(o.stage_at), cancelReasonCode=1, cancelledBy=o.cancelled_by)
        if o.broken or (in_feed and o.broken_line is not None and o.lines.index(ln) == o.broken_line):
            body["quantity"] = "iki"
            body.pop("unitPrice")
            if o.orphan_line:
                body.pop("orderNumber")
        return body

    def _package_wire(self, o: _Order) -> dict[str, Any]:
        c = o.customer
        items = [{"lineItemId": ln.id, "orderNumber": o.order_number, "hbSku": ln.sku,
                  "merchantSku": ln.merchant_sku, "productName": ln.name, "quantity": ln.quantity,
                  "price": _money(ln.unit_price),
                  "totalPrice": _money(ln.unit_price * ln.quantity - ln.merchant_discount - ln.hb_discount),
                  "totalHBDiscount": _money(ln.hb_discount), "totalMerchantDiscount": _money(ln.merchant_discount),
                  "vatRate": 20} for ln in o.lines]
        body: dict[str, Any] = {
            "id": f"p-{o.package_number}", "packageNumber": o.package_number, "barcode": o.package_barcode,
            "status": o.stage, "orderDate": _iso(o.order_date), "dueDate": _iso(o.order_date + timedelta(days=2)),
            "cargoCompany": o.cargo, "customerId": f"c-{o.order_number}", "customerName": c.full_name,
            "email": f"{c.first_name.lower()}@example.com.tr", "phoneNumber": c.phone, "recipientName": c.full_name,
            "shippingAddressDetail": "Cumhuriyet Mah. Güneş Sk. No:5", "shippingCity": c.city,
            "shippingTown": c.district, "shippingDistrict": "Merkez", "shippingCountryCode": "TR",
            "totalPrice": _money(sum((ln.unit_price * ln.quantity - ln.merchant_discount for ln in o.lines),
                                     Decimal(0))),
            "items": items,
        }
        if o.broken:
            body["items"] = []
        return body

    def _thin_wire(self, m: _Merchant, o: _Order, date_field: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Id": f"p-{o.package_number}", "MerchantId": m.merchant_id, "OrderNumber": o.order_number,
            "OrderNumbers": [o.order_number], "PackageNumber": o.package_number, "Barcode": o.package_barcode,
            date_field: _iso(o.stage_at), "Deci": 2.0, "EtgbNo": None,
        }
        if o.stage == "Undelivered":
            body["UndeliveredReason"] = "Alıcı adreste bulunamadı"
        if o.broken:
            body.pop("OrderNumber")
        return body

    def _detail_wire(self, o: _Order) -> dict[str, Any]:
        return {
            "orderNumber": o.order_number, "orderDate": _iso(o.order_date), "createdDate": _iso(o.order_date),
            "paymentStatus": "Paid" if o.stage != "PaymentAwaiting" else "Awaiting",
            "customer": {"customerId": f"c-{o.order_number}", "name": o.customer.full_name},
            "deliveryAddress": self._address(o), "invoice": {"address": self._address(o)},
            "items": [self._line_wire(o, ln, o.stage, in_feed=False) for ln in o.lines],
        }

    def _claim_wire(self, m: _Merchant, c: _Claim) -> dict[str, Any]:
        o = m.orders[c.order_number]
        ln = o.lines[0]
        return {
            "id": f"claim-{c.number}", "number": c.number, "claimType": "Return", "status": c.status,
            "orderNumber": c.order_number, "orderDate": _iso(o.order_date), "claimDate": _iso(c.claim_date),
            "sku": ln.merchant_sku, "quantity": ln.quantity, "customerName": o.customer.full_name,
            "explanation": "Ürün beklentimi karşılamadı", "priceAmount": float(ln.unit_price), "priceCurrency": "TRY",
            "totalPriceAmount": float(ln.unit_price * ln.quantity),
            "refundAmount": float(ln.unit_price * ln.quantity) if c.status == "Refunded" else None,
            "refundCurrency": "TRY", "refundDate": _iso(c.refund_date) if c.refund_date else None,
        }

    # -- HTTP ------------------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        merchant: _Merchant | None = None
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            found = self._merchants.get(user)
            if found is not None and found.service_key == password:
                merchant = found
        if merchant is None or request.headers.get("user-agent") != merchant.integrator:
            return PlainTextResponse("Unauthorized", status_code=401)
        match = _MERCHANT.search(request.url.path)
        if match is None or match.group(1) != merchant.merchant_id:
            return PlainTextResponse("Forbidden", status_code=403)
        return merchant.merchant_id

    def rate_limited_response(self, retry_after: float | None) -> Response:
        reset = str(max(1, round(retry_after))) if retry_after is not None else "1"
        limit = self.faults.rate_limit
        return PlainTextResponse("TooManyRequests", status_code=429, headers={
            "X-RateLimit-Limit": str(int(limit.requests)) if limit else "1000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset,
        })

    def server_error_response(self, status: int) -> Response:
        return PlainTextResponse("Internal Server Error", status_code=status)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/orders/merchantid/{mid}", self._feed("Open", "lines", 100)),
            Route("/orders/merchantid/{mid}/paymentawaiting", self._feed("PaymentAwaiting", "lines", 100)),
            Route("/orders/merchantid/{mid}/cancelled", self._feed("Cancelled", "lines", 50, windowed=False)),
            Route("/orders/merchantid/{mid}/ordernumber/{number}", self._order_detail),
            Route("/packages/merchantid/{mid}", self._feed("Packaged", "package", 10)),
            Route("/packages/merchantid/{mid}/status/unpacked", self._feed("Unpacked", "package", 10)),
            Route("/packages/merchantid/{mid}/shipped", self._feed("InTransit", "ShippedDate", 50, windowed=False)),
            Route("/packages/merchantid/{mid}/delivered",
                  self._feed("Delivered", "DeliveredDate", 50, windowed=False)),
            Route("/packages/merchantid/{mid}/undelivered",
                  self._feed("Undelivered", "UndeliveredDate", 50, windowed=False)),
            Route("/packages/merchantid/{mid}/packagenumber/{number}", self._package_detail),
            Route("/claims/merchantId/{mid}", self._claims),
            Route("/claims/merchantId/{mid}/status/{status}", self._claims),
        ]

    def _error(self, status: int, message: str) -> JSONResponse:
        """The published error body: a ``message`` with the ``correlationId`` of the request."""
        correlation = str(uuid.UUID(int=random.Random(f"{self.seed}:{len(self.requests)}").getrandbits(128),
                                    version=4))
        return JSONResponse({"message": message, "correlationId": correlation, "title": message,
                             "timestamp": _iso(self.clock.now())}, status_code=status)

    def _bad(self, message: str) -> JSONResponse:
        return self._error(400, message)

    @staticmethod
    def _parse_date(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ISTANBUL).astimezone(UTC)

    def _feed(self, stage: str, shape: str, max_limit: int, windowed: bool = True) -> Any:
        async def endpoint(request: Request) -> Response:
            q = request.query_params
            offset_text = q.get("offset", q.get("Offset"))
            if offset_text is None or q.get("limit") is None:
                return self._bad("Bad Request limit and offset parameters are required")
            try:
                offset, limit = int(offset_text), int(q["limit"])
            except ValueError:
                return self._bad("limit and offset must be integers")
            if limit < 1 or limit > max_limit or offset < 0:
                return self._bad(f"limit must be between 1 and {max_limit}")
            has_dates = "begindate" in q or "enddate" in q
            if has_dates and not windowed:
                return self._bad("WrongDateFormat")
            with self._lock:
                m = self._merchant(self.account_of(request))
                self._tick(m)
                now = self.clock.now()
                rows = [o for o in m.orders.values() if o.stage == stage]
                if has_dates:
                    try:
                        begin = self._parse_date(q["begindate"])
                        end = self._parse_date(q["enddate"]) + timedelta(minutes=1) if "enddate" in q else now
                    except (KeyError, ValueError):
                        return self._bad("WrongDateFormat")
                    end = min(end, begin + timedelta(hours=24))  # longer windows are cut, silently
                    self.check_window(begin, end)
                    rows = [o for o in rows if begin <= o.stage_at < end]
                elif shape == "package" and windowed:
                    timespan = int(q.get("timespan", 24))
                    rows = [o for o in rows if o.stage_at >= now - timedelta(hours=timespan)]
                elif stage in ("InTransit", "Delivered"):
                    rows = [o for o in rows if o.stage_at >= now - timedelta(days=30)]
                rows.sort(key=lambda o: (o.stage_at, o.order_number))
                if shape == "lines":
                    entries: list[dict[str, Any]] = [self._line_wire(o, ln, stage) for o in rows for ln in o.lines]
                elif shape == "package":
                    entries = [self._package_wire(o) for o in rows]
                else:
                    entries = [self._thin_wire(m, o, shape) for o in rows]
            page_count = math.ceil(len(entries) / limit)
            # Each record served may break (counted per record, as `Faults` documents): its keys go.
            served = [{k: v for k, v in e.items() if k not in ("orderNumber", "OrderNumber", "packageNumber")}
                      if self.maybe_malformed() else e for e in entries[offset: offset + limit]]
            body = {"totalCount": len(entries), "limit": limit, "offset": offset, "pageCount": page_count,
                    "items": served}
            headers = {"pageCount": str(page_count)} if shape == "package" else {}
            return JSONResponse(body, headers=headers)

        return endpoint

    async def _order_detail(self, request: Request) -> Response:
        with self._lock:
            m = self._merchant(self.account_of(request))
            self._tick(m)
            order = m.orders.get(request.path_params["number"])
            if order is None:
                return self._error(404, "Order not found")
            return JSONResponse(self._detail_wire(order))

    async def _package_detail(self, request: Request) -> Response:
        with self._lock:
            m = self._merchant(self.account_of(request))
            self._tick(m)
            number = request.path_params["number"]
            order = next((o for o in m.orders.values() if o.package_number == number), None)
            if order is None:
                return self._error(404, "Package not found")
            # Documented answer: a bare array of package objects (one element for one package).
            return JSONResponse([{
                "packageNumber": number, "barcode": order.package_barcode, "status": order.stage,
                "cargoCompany": order.cargo, "trackingInfoCode": order.tracking_code,
                "trackingInfoUrl": order.tracking_url, "deci": 2.0,
                "estimatedArrivalDate": _iso(order.order_date + timedelta(days=3)),
            }])

    async def _claims(self, request: Request) -> Response:
        q = request.query_params
        try:
            offset, limit = int(q.get("offset", 0)), int(q.get("limit", 10))
        except ValueError:
            return self._bad("limit and offset must be integers")
        if not 1 <= limit <= 100:
            return self._bad("limit must be between 1 and 100")
        with self._lock:
            m = self._merchant(self.account_of(request))
            claims = list(m.claims.values())
            status = request.path_params.get("status")
            if status:
                claims = [c for c in claims if c.status == status]
            try:
                for begin_key, end_key, attr in (("beginDate", "endDate", "claim_date"),
                                                 ("statusBeginDate", "statusEndDate", "status_at")):
                    if begin_key in q:
                        begin = self._parse_date(q[begin_key])
                        claims = [c for c in claims if getattr(c, attr) >= begin]
                    if end_key in q:
                        end = self._parse_date(q[end_key]) + timedelta(minutes=1)
                        claims = [c for c in claims if getattr(c, attr) < end]
            except ValueError:
                return self._bad("WrongDateFormat")
            claims.sort(key=lambda c: (c.claim_date, c.number))
            body = [self._claim_wire(m, c) for c in claims[offset: offset + limit]]
        pages = math.ceil(len(claims) / limit)
        return JSONResponse(body, headers={
            "X-Total-Count": str(len(claims)), "X-Total-Pages": str(pages), "X-Page": str(offset // limit),
            "X-Limit": str(limit), "X-Offset": str(offset),
        })
