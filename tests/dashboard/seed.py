"""A small seeded dataset whose panel figures are computed by hand in the tests.

Tenant ``t1`` (Europe/Istanbul, UTC+3), period 2026-03-02 … 2026-03-08. Rows just outside the
period (local midnight edges) and rows of tenant ``t2`` must never count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from invekto_integrations.attribution import AttributionEngine, LeadTracker, add_manual_spend, create_link
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.money import Money
from invekto_integrations.dashboard import (
    Panel,
    ReportPeriod,
    ReturnOutcome,
    ReviewInput,
    ReviewOutcome,
    ingest_reviews,
    open_return_cases,
    outbound_panel,
    record_contact,
    record_follow_up,
    record_return_outcome,
)
from invekto_integrations.dashboard.reviews import record_review_outcome
from invekto_integrations.models.claims import ClaimStatus, ReturnClaim
from invekto_integrations.models.events import InboundMessageReceived, OrderCreated
from invekto_integrations.models.orders import Order, OrderStatus
from invekto_integrations.storage.records import (
    Appointment,
    AppointmentStatus,
    CachedOrder,
    OfferStatus,
    OutboxRecord,
    OutboxStatus,
    ServicePricing,
    TrackedShipment,
    WaitlistEntry,
    WaitlistOffer,
)

T = "t1"
PERIOD = ReportPeriod(T, date(2026, 3, 2), date(2026, 3, 8), "Europe/Istanbul")
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def z(text: str) -> datetime:
    """An ISO time in UTC (``2026-03-02T07:00``)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _order(tenant: str, provider: str, oid: str, ordered_at: datetime, status: OrderStatus, total: str) -> CachedOrder:
    order = Order(provider=provider, external_id=oid, order_number=oid, status=status, raw_status=status.value,
                  ordered_at=ordered_at, updated_at=ordered_at, total=Decimal(total))
    data = order.model_dump_json(exclude={"raw"})
    return CachedOrder(id=f"id-{oid}", tenant_id=tenant, provider=provider, account_id=f"acc-{provider}",
                       external_order_id=oid, order_status=status.value, ordered_at=ordered_at,
                       order_data_json=data, content_hash=hashlib.sha256(data.encode()).hexdigest(),
                       synced_at=NOW, created_at=NOW)


def seed_orders(store: Any) -> None:
    rows = [
        _order(T, "trendyol", "o1", z("2026-03-02T07:00"), OrderStatus.DELIVERED, "100.50"),
        _order(T, "trendyol", "o2", z("2026-03-02T21:30"), OrderStatus.SHIPPED, "200"),  # 03-03 00:30 local
        _order(T, "trendyol", "o3", z("2026-03-04T10:00"), OrderStatus.CANCELLED, "50"),
        _order(T, "hepsiburada", "h1", z("2026-03-04T11:00"), OrderStatus.RETURNED, "80"),
        _order(T, "hepsiburada", "h2", z("2026-03-08T20:30"), OrderStatus.DELIVERED, "120.25"),  # 23:30 local
        _order(T, "trendyol", "o4", z("2026-03-08T21:10"), OrderStatus.DELIVERED, "999"),  # 03-09 local: out
        _order(T, "trendyol", "o5", z("2026-03-01T20:59"), OrderStatus.DELIVERED, "999"),  # 03-01 local: out
    ]
    store.orders.upsert_many(T, rows)
    store.orders.upsert_many("t2", [_order("t2", "trendyol", "x1", z("2026-03-03T10:00"), OrderStatus.DELIVERED,
                                           "999")])


def _parcel(tenant: str, carrier: str, number: str, created: datetime, status: str,
            delivered: datetime | None = None) -> TrackedShipment:
    return TrackedShipment(tenant_id=tenant, carrier=carrier, tracking_number=number, status=status,
                           delivered_at=delivered, active=delivered is None, created_at=created, updated_at=created)


def seed_shipments(store: Any) -> None:
    for s in [
        _parcel(T, "aras", "s1", z("2026-03-02T09:00"), "delivered", z("2026-03-03T09:00")),  # 24 h
        _parcel(T, "yurtici", "s2", z("2026-03-03T12:00"), "delivered", z("2026-03-03T22:00")),  # 10 h
        _parcel(T, "aras", "s3", z("2026-03-04T00:00"), "delivered", z("2026-03-08T00:00")),  # 96 h
        _parcel(T, "aras", "s4", z("2026-03-05T08:00"), "in_transit"),
        _parcel(T, "aras", "s5", z("2026-03-09T00:00"), "delivered", z("2026-03-09T05:00")),  # 03:00 local 03-09
        _parcel("t2", "aras", "x1", z("2026-03-03T00:00"), "delivered", z("2026-03-03T01:00")),
    ]:
        store.shipments.add(s.tenant_id, s)


def _claim(provider: str, cid: str, opened: datetime, amount: str, status: ClaimStatus) -> ReturnClaim:
    return ReturnClaim(provider=provider, external_id=cid, order_number=f"n-{cid}", status=status,
                       raw_status=status.value, created_at=opened, updated_at=opened + timedelta(days=1),
                       refund_amount=Decimal(amount))


def seed_returns(store: Any, clock: FrozenClock) -> None:
    repo = store.return_cases
    open_return_cases(repo, T, [
        _claim("trendyol", "c1", z("2026-03-02T08:00"), "100.50", ClaimStatus.REQUESTED),
        _claim("trendyol", "c2", z("2026-03-03T08:00"), "200", ClaimStatus.REQUESTED),
        _claim("hepsiburada", "c3", z("2026-03-04T08:00"), "80", ClaimStatus.REQUESTED),
        _claim("hepsiburada", "c4", z("2026-03-05T08:00"), "60", ClaimStatus.REQUESTED),
        _claim("trendyol", "c5", z("2026-03-06T08:00"), "40", ClaimStatus.REQUESTED),
        _claim("trendyol", "c6", z("2026-03-10T08:00"), "999", ClaimStatus.REQUESTED),  # out of period
    ], clock=clock)
    open_return_cases(repo, "t2", [_claim("trendyol", "x1", z("2026-03-03T08:00"), "999", ClaimStatus.REQUESTED)],
                      clock=clock)
    for cid, day in (("c1", 2), ("c2", 3), ("c5", 6)):
        record_contact(repo, T, "trendyol", cid, at=z(f"2026-03-0{day}T12:00"))
    record_return_outcome(repo, T, "trendyol", "c1", ReturnOutcome.EXCHANGED, at=z("2026-03-04T12:00"))
    record_return_outcome(repo, T, "trendyol", "c2", ReturnOutcome.KEPT, at=z("2026-03-05T12:00"),
                          concession_amount=Decimal(20))
    # The marketplace settles c3 (refunded) and c4 (cancelled) on the next sync.
    open_return_cases(repo, T, [
        _claim("hepsiburada", "c3", z("2026-03-04T08:00"), "80", ClaimStatus.REFUNDED),
        _claim("hepsiburada", "c4", z("2026-03-05T08:00"), "60", ClaimStatus.CANCELLED),
    ], clock=clock)


def seed_reviews(store: Any, clock: FrozenClock) -> None:
    repo = store.review_cases

    def r(platform: str, rid: str, rating: int, at: str, *, removed: bool = False) -> ReviewInput:
        return ReviewInput(platform=platform, review_id=rid, rating=rating, reviewed_at=z(at), removed=removed)

    ingest_reviews(repo, T, [
        r("trendyol", "r1", 1, "2026-03-02T10:00"), r("trendyol", "r2", 2, "2026-03-03T10:00"),
        r("hepsiburada", "r3", 2, "2026-03-04T10:00"), r("hepsiburada", "r4", 1, "2026-03-05T10:00"),
        r("trendyol", "r5", 5, "2026-03-02T11:00"), r("trendyol", "r6", 4, "2026-03-06T10:00"),
        r("hepsiburada", "r7", 5, "2026-03-07T10:00"),
        r("trendyol", "r8", 1, "2026-03-08T21:30"),  # 03-09 00:30 local: out
    ], clock=clock)
    ingest_reviews(repo, "t2", [r("trendyol", "x1", 1, "2026-03-03T10:00")], clock=clock)
    for platform, rid in (("trendyol", "r1"), ("trendyol", "r2"), ("hepsiburada", "r3")):
        record_follow_up(repo, T, platform, rid, at=z("2026-03-09T10:00"))
    clock.set(z("2026-03-11T10:00"))
    ingest_reviews(repo, T, [
        r("trendyol", "r1", 4, "2026-03-02T10:00"), r("trendyol", "r2", 2, "2026-03-03T10:00", removed=True),
        r("hepsiburada", "r3", 2, "2026-03-04T10:00"), r("hepsiburada", "r4", 1, "2026-03-05T10:00"),
    ], clock=clock)
    record_review_outcome(repo, T, "hepsiburada", "r3", ReviewOutcome.UNCHANGED, at=z("2026-03-11T12:00"))


def _service(name: str, low: int, high: int) -> ServicePricing:
    return ServicePricing(id=f"sv-{name}", tenant_id=T, service_name=name, price_min=Decimal(low),
                          price_max=Decimal(high), duration_minutes=30, created_at=NOW, updated_at=NOW)


def _appt(aid: str, service: str, phone: str, starts: datetime, status: AppointmentStatus,
          booked: datetime, tenant: str = T) -> Appointment:
    return Appointment(id=aid, tenant_id=tenant, doctor_id="d1", patient_phone=phone, service_name=service,
                       starts_at=starts, ends_at=starts + timedelta(minutes=30), status=status, booked_at=booked,
                       created_at=booked, updated_at=booked)


P = {i: f"+9055511100{i:02d}" for i in range(1, 12)}


def seed_clinic(store: Any) -> None:
    for s in (_service("Diş Beyazlatma", 3000, 5000), _service("İmplant", 20000, 30000),
              _service("Muayene", 500, 500)):
        store.service_pricing.add(T, s)
    S = AppointmentStatus
    for a in [
        _appt("a1", "Muayene", P[1], z("2026-03-02T07:00"), S.COMPLETED, z("2026-02-25T10:00")),
        _appt("a2", "Muayene", P[2], z("2026-03-02T08:00"), S.NO_SHOW, z("2026-03-01T22:00")),  # 03-02 local
        _appt("a3", "İmplant", P[3], z("2026-03-03T07:00"), S.COMPLETED, z("2026-03-02T10:00")),
        _appt("a4", "diş beyazlatma", P[4], z("2026-03-04T07:00"), S.COMPLETED, z("2026-03-03T10:00")),
        _appt("a5", "Diş Beyazlatma", P[4], z("2026-03-05T07:00"), S.CANCELLED, z("2026-03-03T11:00")),
        _appt("a6", "Muayene", P[6], z("2026-03-06T07:00"), S.BOOKED, z("2026-03-05T10:00")),
        _appt("a7", "Kanal Tedavisi", P[7], z("2026-03-06T09:00"), S.COMPLETED, z("2026-03-05T11:00")),
        _appt("a8", "Muayene", P[2], z("2026-03-09T07:00"), S.BOOKED, z("2026-03-06T10:00")),  # starts out
        _appt("x1", "Muayene", P[9], z("2026-03-03T07:00"), S.COMPLETED, z("2026-03-02T10:00"), tenant="t2"),
    ]:
        assert store.appointments.book_if_free(a.tenant_id, a)
    for eid, phone, service, created in [("w1", P[9], "implant", "2026-03-04T10:00"),
                                         ("w2", P[3], "İmplant", "2026-03-05T10:00"),
                                         ("w3", P[10], "Muayene", "2026-03-10T10:00")]:
        store.waitlist.add(T, WaitlistEntry(id=eid, tenant_id=T, patient_phone=phone, service_type=service,
                                         created_at=z(created), updated_at=z(created)))
    for oid, entry, status, created in [("of1", "w1", OfferStatus.ACCEPTED, "2026-03-03T10:00"),
                                        ("of2", "w2", OfferStatus.EXPIRED, "2026-03-04T10:00"),
                                        ("of3", "w3", OfferStatus.DECLINED, "2026-03-05T10:00"),
                                        ("of4", "w4", OfferStatus.ACCEPTED, "2026-03-06T10:00"),
                                        ("of5", "w5", OfferStatus.ACCEPTED, "2026-03-09T10:00")]:
        store.waitlist.add_offer(T, WaitlistOffer(
            id=oid, tenant_id=T, entry_id=entry, patient_phone=P[11], doctor_id="d1", service_name="Muayene",
            starts_at=z(created) + timedelta(days=2), ends_at=z(created) + timedelta(days=2, minutes=30),
            source_appointment_id=f"src-{oid}", status=status, expires_at=z(created) + timedelta(hours=2),
            created_at=z(created)))


def _message(i: int, created: str, status: OutboxStatus, purpose: str = "campaign", tenant: str = "t1") -> OutboxRecord:
    at = z(created)
    return OutboxRecord(id=f"m{i}", tenant_id=tenant, idempotency_key=f"k{i}", purpose=purpose, category="MARKETING",
                        to_phone="+905551112233", message_json="{}", status=status, due_at=at, created_at=at,
                        updated_at=at)


def seed_outbox(store: Any) -> None:
    for i, (created, status, purpose) in enumerate([
        ("2026-03-02T08:00", OutboxStatus.READ, "campaign"), ("2026-03-02T09:00", OutboxStatus.DELIVERED, "campaign"),
        ("2026-03-02T10:00", OutboxStatus.FAILED, "campaign"), ("2026-03-03T08:00", OutboxStatus.SENT, "campaign"),
        ("2026-03-03T09:00", OutboxStatus.ACCEPTED, "campaign"), ("2026-03-03T10:00", OutboxStatus.READ, "cargo"),
        ("2026-03-08T21:30", OutboxStatus.READ, "campaign"),  # 03-09 local: out
    ]):
        store.outbox.insert_if_absent("t1", _message(i, created, status, purpose))
    store.outbox.insert_if_absent("t2", _message(99, "2026-03-02T08:00", OutboxStatus.READ, tenant="t2"))


def seed_attribution(store: Any, clock: FrozenClock) -> None:
    """Two leads through an Instagram tracked link (A, C), one organic (B); 300 TRY of manual spend
    on the link campaign; A buys for 1.200 TRY. Last touch: CPL 150, ROAS 4."""
    link = create_link(store.tracked_links, T, "0850 123 45 67", utm_source="instagram", utm_medium="paid_social",
                       utm_campaign="implant-mart", clock=clock)
    engine = AttributionEngine(store, LeadTracker(store))

    def inbound(phone: str, at: str, text: str) -> InboundMessageReceived:
        return InboundMessageReceived(tenant_id=T, occurred_at=z(at), from_phone=phone.removeprefix("+"),
                                      provider_message_id=f"wamid.{phone}.{at}", kind="text", text=text)

    engine.process(T, inbound(P[1], "2026-03-03T09:00", f"Merhaba ref:{link.code}"))
    engine.process(T, inbound(P[2], "2026-03-03T10:00", "Merhaba"))
    engine.process(T, inbound(P[3], "2026-03-04T10:00", f"fiyat? ref:{link.code}"))
    engine.process(T, OrderCreated(tenant_id=T, occurred_at=z("2026-03-05T10:00"), provider="trendyol",
                                     account_id="acc-trendyol", external_order_id="o-att", customer_phone=P[1],
                                     order_status="Created", total=Money(amount=Decimal("1200.00"))))
    add_manual_spend(store.ad_spend, T, date(2026, 3, 3), "utm:implant-mart", "300,00", campaign_name="implant-mart")


def seed_all(store: Any, clock: FrozenClock) -> None:
    seed_orders(store)
    seed_shipments(store)
    seed_returns(store, clock)
    seed_reviews(store, clock)
    seed_clinic(store)
    seed_outbox(store)
    seed_attribution(store, clock)


# --- report-shaped rows of the campaigns and attribution areas (same field names) -------------
@dataclass(frozen=True)
class Variant:
    variant: str
    recipients: int
    sent: int
    delivered: int
    read: int
    replied: int
    converted: int
    revenue: Decimal
    cost: Decimal
    is_holdout: bool = False
    currency: str = "TRY"


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    rows: list[Variant]
    holdout: Variant | None = None


REPORTS = [
    Campaign("k1", "Bahar indirimi", [
        Variant("A", 100, 98, 90, 60, 12, 6, Decimal("1500.00"), Decimal("40.50")),
        Variant("B", 100, 97, 95, 70, 15, 9, Decimal("2250.50"), Decimal("42.75")),
    ], holdout=Variant("holdout", 20, 0, 0, 0, 0, 1, Decimal("100"), Decimal(0), is_holdout=True)),
    Campaign("k2", "Sepet hatırlatma", [Variant("A", 50, 50, 49, 40, 10, 5, Decimal("990"), Decimal("20"))]),
]


@dataclass
class FunnelRow:
    level: str
    channel: str
    campaign_id: str | None = None
    campaign_name: str | None = None
    spend: Decimal | None = None
    leads: int = 0
    conversions: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)


@dataclass
class Funnel:
    currency: str = "TRY"
    rows: list[FunnelRow] = field(default_factory=list)


@dataclass(frozen=True)
class LeadRow:
    channel: str
    campaign_id: str | None
    campaign_name: str | None
    leads: int


@dataclass
class Leads:
    rows: list[LeadRow]



FUNNEL = Funnel(rows=[
    FunnelRow("campaign", "ctwa", "c1", "Bahar CTWA", Decimal("1000"), 40, Decimal("8"), Decimal("6400")),
    FunnelRow("adset", "ctwa", "c1", "Bahar CTWA", Decimal("600"), 25, Decimal("5"), Decimal("4000")),
    FunnelRow("campaign", "link", "utm:insta", None, None, 10, Decimal("2.5"), Decimal("900")),
    FunnelRow("channel", "organic", None, None, None, 30, Decimal("3"), Decimal("1200")),
])
LEADS = Leads([LeadRow("ctwa", "c1", "Bahar CTWA", 40), LeadRow("ctwa", "c9", "Eski kampanya", 2)])


def extra_panels(store: Any) -> list[Panel]:
    """The outbound panel over the report-shaped rows above (build_report adds the attribution one)."""
    return [outbound_panel(PERIOD, REPORTS, reader=store.reports)]
