"""The e-commerce niche panel: orders by marketplace, order and cargo status mix, delivery times, returns.

Read from the orders cache (orders placed in the period), the shipment watcher's parcels
(registered in the period) and the return cases (claims opened in the period), each one indexed
range read. Revenue = order totals of orders neither cancelled nor returned. Delivery time =
``delivered_at − created_at`` of a parcel (from its registration for tracking to delivery).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from statistics import median

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from invekto_integrations.core.money import DecimalAmount
from invekto_integrations.models.orders import OrderStatus
from invekto_integrations.storage.dashboard_protocols import ReportReader, ReturnCaseRepository
from invekto_integrations.storage.records import CachedOrder

from ._base import Chart, Kpi, L, Panel, Rate, Series, Table, main_currency, money
from ._format import fmt_decimal, fmt_money
from ._period import ReportPeriod

__all__ = ["CountRow", "DeliveryTimes", "EcommerceDay", "EcommercePanel", "PlatformRow", "ecommerce_panel"]

_NOT_REVENUE = {OrderStatus.CANCELLED.value, OrderStatus.RETURNED.value}
#: Delivery-time buckets in hours: (upper bound exclusive, label).
_BUCKETS: list[tuple[int | None, str]] = [(24, "<1 gün/day"), (48, "1–2"), (72, "2–3"), (120, "3–5"),
                                          (None, "5+")]


#: Display names of the unified order and cargo statuses (Turkish / English).
STATUS_LABELS: dict[str, str] = {
    "created": "Yeni / New", "processing": "Hazırlanıyor / Processing", "shipped": "Kargoda / Shipped",
    "delivered": "Teslim edildi / Delivered", "undelivered": "Teslim edilemedi / Undelivered",
    "cancelled": "İptal / Cancelled", "returned": "İade / Returned", "unknown": "Bilinmiyor / Unknown",
    "pending": "Kargoya verilecek / Pending", "picked_up": "Kargoya verildi / Picked up",
    "in_transit": "Yolda / In transit", "out_for_delivery": "Dağıtımda / Out for delivery",
    "delivery_failed": "Teslim edilemedi / Delivery failed", "on_hold": "Bekletiliyor / On hold",
    "return_to_sender": "Göndericiye iade / Returned to sender",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


class _OrderAmount(BaseModel):
    """The two fields of a cached `Order` the panel needs (validating the whole order, lines and
    customer included, cost most of the panel's time; see benchmarks/README.md)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    total: DecimalAmount = Decimal(0)
    currency: str = "TRY"


class PlatformRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    orders: int
    revenue: Decimal
    cancelled: int
    returned: int
    return_claims: int
    return_rate: Rate  # returned orders ÷ orders


class CountRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    count: int


class DeliveryTimes(BaseModel):
    model_config = ConfigDict(frozen=True)

    delivered: int
    average_hours: Decimal | None
    median_hours: Decimal | None
    buckets: list[CountRow]


class EcommerceDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    orders: int
    revenue: Decimal


class EcommercePanel(Panel):
    kind = "ecommerce"
    title = L("E-ticaret", "E-commerce")

    orders: int
    revenue: Decimal
    by_platform: list[PlatformRow]
    order_status: list[CountRow]
    cargo_status: list[CountRow]
    delivery: DeliveryTimes
    return_claims: int
    return_rate: Rate
    daily: list[EcommerceDay]
    # cached orders left out: unreadable, or in another currency than the panel's (provider/order id)
    skipped_records: list[str] = Field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.orders == 0 and not self.cargo_status and self.return_claims == 0

    def kpis(self) -> list[Kpi]:
        return [
            Kpi(key="orders", label=L("Sipariş", "Orders"), value=str(self.orders)),
            Kpi(key="revenue", label=L("Ciro", "Revenue"), value=fmt_money(self.revenue, self.currency)),
            Kpi(key="median_delivery", label=L("Medyan teslim süresi (saat)", "Median delivery time (h)"),
                value=fmt_decimal(self.delivery.median_hours, 1)),
            Kpi(key="return_rate", label=L("İade oranı", "Return rate"), value=self.return_rate.percent()),
        ]

    def notes(self) -> list[str]:
        if not self.skipped_records:
            return []
        return [f"Dahil edilmeyen sipariş / orders left out: {', '.join(self.skipped_records)}"]

    def tables(self) -> list[Table]:
        return [
            Table(key="by_platform", title=L("Pazaryerine göre", "By marketplace"),
                  columns=[("provider", L("Pazaryeri", "Marketplace")), ("orders", L("Sipariş", "Orders")),
                           ("revenue", L("Ciro", "Revenue")), ("cancelled", L("İptal", "Cancelled")),
                           ("returned", L("İade", "Returned")), ("return_claims", L("İade talebi", "Return claims")),
                           ("return_rate", L("İade oranı", "Return rate"))],
                  rows=[[r.provider, r.orders, r.revenue, r.cancelled, r.returned, r.return_claims,
                         r.return_rate.value] for r in self.by_platform]),
            Table(key="cargo_status", title=L("Kargo durumu", "Cargo status"),
                  columns=[("status", L("Durum", "Status")), ("count", L("Kargo", "Parcels"))],
                  rows=[[status_label(r.key), r.count] for r in self.cargo_status]),
            Table(key="order_status", title=L("Sipariş durumu", "Order status"),
                  columns=[("status", L("Durum", "Status")), ("count", L("Sipariş", "Orders"))],
                  rows=[[status_label(r.key), r.count] for r in self.order_status]),
            Table(key="daily", title=L("Günlük", "Daily"),
                  columns=[("day", L("Gün", "Day")), ("orders", L("Sipariş", "Orders")),
                           ("revenue", L("Ciro", "Revenue"))],
                  rows=[[d.day, d.orders, d.revenue] for d in self.daily]),
        ]

    def charts(self) -> list[Chart]:
        return [
            Chart(key="ecommerce_platforms", title=L("Pazaryerine göre sipariş", "Orders by marketplace"),
                  kind="bar", categories=[r.provider for r in self.by_platform],
                  series=[Series(label=L("Sipariş", "Orders"), values=[Decimal(r.orders) for r in self.by_platform])]),
            Chart(key="ecommerce_cargo", title=L("Kargo durumu", "Cargo status mix"), kind="pie",
                  categories=[status_label(r.key) for r in self.cargo_status],
                  series=[Series(label=L("Kargo", "Parcels"), values=[Decimal(r.count) for r in self.cargo_status])]),
            Chart(key="ecommerce_delivery", title=L("Teslim süresi (gün)", "Delivery time (days)"), kind="bar",
                  categories=[b.key for b in self.delivery.buckets],
                  series=[Series(label=L("Kargo", "Parcels"),
                                 values=[Decimal(b.count) for b in self.delivery.buckets])]),
            Chart(key="ecommerce_daily", title=L("Günlük ciro", "Revenue per day"), kind="line",
                  categories=[d.day.isoformat() for d in self.daily], value_format="money",
                  series=[Series(label=L("Ciro", "Revenue"), values=[d.revenue for d in self.daily])]),
        ]


def _hours(seconds: float) -> Decimal:
    return Decimal(str(seconds / 3600)).quantize(Decimal("0.1"))


def ecommerce_panel(reader: ReportReader, returns: ReturnCaseRepository, period: ReportPeriod) -> EcommercePanel:
    """Orders placed, parcels registered and claims opened in the period (local days)."""
    orders = reader.orders(period.tenant_id, period.start, period.end)
    shipments = reader.shipments(period.tenant_id, period.start, period.end)
    claims = returns.find(period.tenant_id, opened_from=period.start, opened_to=period.end)

    per_platform: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    daily_orders: Counter[date] = Counter()
    daily_revenue: dict[date, Decimal] = defaultdict(Decimal)
    skipped: list[str] = []
    parsed: list[tuple[CachedOrder, _OrderAmount]] = []
    for row in orders:
        try:
            parsed.append((row, _OrderAmount.model_validate_json(row.order_data_json)))
        except ValidationError:
            # One unreadable cached row does not sink the panel: it is left out and named.
            skipped.append(f"{row.provider}/{row.external_order_id}")
    currency = main_currency([o.currency for _, o in parsed])
    for row, order in parsed:
        if order.currency != currency:
            skipped.append(f"{row.provider}/{row.external_order_id} ({order.currency})")
            continue
        total = order.total if row.order_status not in _NOT_REVENUE else Decimal(0)
        per_platform[row.provider].append((row.order_status, total))
        day = period.local_date(row.ordered_at)
        daily_orders[day] += 1
        daily_revenue[day] += total
    claims_per_provider = Counter(c.provider for c in claims)

    rows = []
    for provider in sorted(set(per_platform) | set(claims_per_provider)):
        items = per_platform.get(provider, [])
        returned = sum(1 for s, _ in items if s == OrderStatus.RETURNED.value)
        rows.append(PlatformRow(
            provider=provider, orders=len(items), revenue=money(sum((t for _, t in items), Decimal(0))),
            cancelled=sum(1 for s, _ in items if s == OrderStatus.CANCELLED.value), returned=returned,
            return_claims=claims_per_provider.get(provider, 0),
            return_rate=Rate(numerator=returned, denominator=len(items)),
        ))

    durations = [(s.delivered_at - s.created_at).total_seconds() for s in shipments
                 if s.delivered_at is not None and s.delivered_at >= s.created_at]
    buckets: Counter[str] = Counter()
    for seconds in durations:
        hours = seconds / 3600
        buckets[next(label for bound, label in _BUCKETS if bound is None or hours < bound)] += 1
    delivery = DeliveryTimes(
        delivered=len(durations),
        average_hours=_hours(sum(durations) / len(durations)) if durations else None,
        median_hours=_hours(median(durations)) if durations else None,
        buckets=[CountRow(key=label, count=buckets[label]) for _, label in _BUCKETS] if durations else [],
    )
    returned_total = sum(r.returned for r in rows)
    return EcommercePanel(
        **EcommercePanel._head(period, currency),
        orders=len(orders) - len(skipped), skipped_records=skipped,
        revenue=money(sum(daily_revenue.values(), Decimal(0))), by_platform=rows,
        order_status=[CountRow(key=k, count=v) for k, v in sorted(Counter(o.order_status for o in orders).items())],
        cargo_status=[CountRow(key=k, count=v) for k, v in sorted(Counter(s.status for s in shipments).items())],
        delivery=delivery, return_claims=len(claims),
        return_rate=Rate(numerator=returned_total, denominator=len(orders) - len(skipped)),
        daily=[EcommerceDay(day=d, orders=daily_orders[d], revenue=money(daily_revenue[d])) for d in period.days()]
        if orders else [],
    )
