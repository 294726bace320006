"""Seeded, deterministic demo data for the dashboard: a month of an e-commerce seller or a clinic.

Writes through the public repositories and domain steps (``open_return_cases``,
``ingest_reviews``, ...), so the demo exercises the same paths as production data. The same seed
gives the same rows; nothing reads the wall clock.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from invekto_integrations.attribution import AttributionEngine, LeadTracker, add_manual_spend, create_link
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.money import Money
from invekto_integrations.dashboard import (
    ReportPeriod,
    ReturnOutcome,
    ReviewInput,
    ReviewOutcome,
    ingest_reviews,
    open_return_cases,
    record_contact,
    record_follow_up,
    record_return_outcome,
    record_review_outcome,
)
from invekto_integrations.models.claims import ClaimLine, ClaimStatus, ReturnClaim
from invekto_integrations.models.events import InboundMessageReceived, OrderCreated
from invekto_integrations.models.orders import Order, OrderStatus
from invekto_integrations.storage.records import (
    Appointment,
    AppointmentStatus,
    CachedOrder,
    OfferStatus,
    ServicePricing,
    TrackedShipment,
    WaitlistEntry,
    WaitlistOffer,
)

from .sandbox.data import TurkishData

__all__ = ["seed_dashboard_demo"]

_REASONS = ("Beden olmadı", "Renk farklı", "Kusurlu ürün", "Vazgeçtim", "Yanlış ürün geldi")
_DENTAL = (("Muayene", 500, 750), ("Diş Taşı Temizliği", 1500, 2500), ("Dolgu", 2000, 3500),
           ("Kanal Tedavisi", 4000, 7000), ("Diş Beyazlatma", 3000, 5000), ("İmplant", 20000, 35000),
           ("Zirkonyum Kaplama", 6000, 9000))
_AESTHETIC = (("Cilt Bakımı", 1500, 2500), ("Botoks", 5000, 9000), ("Dolgu (Hyaluronik)", 6000, 12000),
              ("Lazer Epilasyon", 1000, 2000), ("Saç Mezoterapisi", 2500, 4000), ("Rinoplasti", 60000, 120000))


def _at(period: ReportPeriod, rng: random.Random, day_index: int, start_hour: int = 9, end_hour: int = 21) -> datetime:
    local = datetime.combine(period.date_from + timedelta(days=day_index), time(start_hour), period.zone)
    return (local + timedelta(minutes=rng.randrange((end_hour - start_hour) * 60))).astimezone(UTC)


def _orders(store: Any, period: ReportPeriod, rng: random.Random, data: TurkishData, now: datetime) -> list[Order]:
    orders: list[Order] = []
    rows: list[CachedOrder] = []
    statuses = [(OrderStatus.DELIVERED, 62), (OrderStatus.SHIPPED, 14), (OrderStatus.PROCESSING, 8),
                (OrderStatus.CANCELLED, 6), (OrderStatus.RETURNED, 7), (OrderStatus.UNDELIVERED, 3)]
    days = len(period.days())
    for day in range(days):
        for _ in range(rng.randint(6, 16) + (6 if (period.date_from + timedelta(days=day)).weekday() >= 5 else 0)):
            provider = rng.choices(["trendyol", "hepsiburada"], weights=[65, 35])[0]
            status = rng.choices([s for s, _ in statuses], weights=[w for _, w in statuses])[0]
            at = _at(period, rng, day, 7, 24)
            oid = f"{provider[:2].upper()}{len(orders) + 100001}"
            order = Order(provider=provider, external_id=oid, order_number=oid, status=status,
                          raw_status=status.value, ordered_at=at, updated_at=at, total=data.price(120, 2400))
            orders.append(order)
            body = order.model_dump_json(exclude={"raw"})
            rows.append(CachedOrder(id=f"o-{oid}", tenant_id=period.tenant_id, provider=provider,
                                    account_id=f"acc-{provider}", external_order_id=oid, order_status=status.value,
                                    ordered_at=at, order_data_json=body,
                                    content_hash=hashlib.sha256(body.encode()).hexdigest(), synced_at=now,
                                    created_at=now))
    store.orders.upsert_many(period.tenant_id, rows)
    for order in orders:
        if order.status in (OrderStatus.CREATED, OrderStatus.PROCESSING, OrderStatus.CANCELLED):
            continue
        carrier = rng.choice(["aras", "yurtici"])
        registered = order.ordered_at + timedelta(hours=rng.randint(2, 30))
        delivered = None
        parcel = "in_transit"
        if order.status in (OrderStatus.DELIVERED, OrderStatus.RETURNED):
            delivered = registered + timedelta(hours=rng.choice([8, 14, 20, 26, 30, 40, 52, 70, 96, 130]))
            parcel = "delivered"
        elif order.status is OrderStatus.UNDELIVERED:
            parcel = rng.choice(["delivery_failed", "return_to_sender"])
        elif rng.random() < 0.3:
            parcel = "out_for_delivery"
        store.shipments.add(period.tenant_id, TrackedShipment(
            tenant_id=period.tenant_id, carrier=carrier, tracking_number=f"T{order.external_id}", source="order",
            order_provider=order.provider, external_order_id=order.external_id, status=parcel,
            delivered_at=delivered, active=delivered is None, created_at=registered, updated_at=registered))
    return orders


def _returns(store: Any, period: ReportPeriod, rng: random.Random, orders: list[Order], clock: FrozenClock) -> None:
    claims = []
    for order in orders:
        if order.status not in (OrderStatus.DELIVERED, OrderStatus.RETURNED) or rng.random() > 0.16:
            continue
        opened = order.ordered_at + timedelta(days=rng.randint(2, 5))
        if opened >= period.end:
            continue
        claims.append(ReturnClaim(provider=order.provider, external_id=f"C{order.external_id}",
                                  order_number=order.order_number, status=ClaimStatus.REQUESTED, raw_status="Created",
                                  created_at=opened, updated_at=opened, lines=[ClaimLine(reason=rng.choice(_REASONS))],
                                  refund_amount=order.total))
    repo = store.return_cases
    t = period.tenant_id
    open_return_cases(repo, t, claims, clock=clock)
    settled = []
    for claim in claims:
        roll = rng.random()
        if roll < 0.72:  # the seller reached the customer
            record_contact(repo, t, claim.provider, claim.external_id, at=claim.created_at + timedelta(hours=3))
            outcome = rng.choices([ReturnOutcome.EXCHANGED, ReturnOutcome.KEPT, ReturnOutcome.REFUNDED, None],
                                  weights=[30, 22, 38, 10])[0]
            if outcome is not None:
                concession = (claim.refund_amount or Decimal(0)) * Decimal("0.1") if outcome is ReturnOutcome.KEPT \
                    else Decimal(0)
                record_return_outcome(repo, t, claim.provider, claim.external_id, outcome,
                                      at=claim.created_at + timedelta(days=1),
                                      concession_amount=concession.quantize(Decimal("0.01")))
        elif roll < 0.85:
            settled.append(claim.model_copy(update={"status": ClaimStatus.REFUNDED,
                                                    "updated_at": claim.created_at + timedelta(days=3)}))
        elif roll < 0.92:
            settled.append(claim.model_copy(update={"status": ClaimStatus.CANCELLED,
                                                    "updated_at": claim.created_at + timedelta(days=2)}))
    open_return_cases(repo, t, settled, clock=clock)


def _reviews(store: Any, period: ReportPeriod, rng: random.Random, platforms: list[str], clock: FrozenClock) -> None:
    repo = store.review_cases
    t = period.tenant_id
    written: list[ReviewInput] = []
    for day in range(len(period.days())):
        for _ in range(rng.randint(1, 5)):
            rating = rng.choices([1, 2, 3, 4, 5], weights=[9, 8, 10, 25, 48])[0]
            written.append(ReviewInput(platform=rng.choice(platforms), review_id=f"R{len(written) + 5001}",
                                       rating=rating, reviewed_at=_at(period, rng, day)))
    ingest_reviews(repo, t, written, clock=clock)
    later: list[ReviewInput] = []
    closed: list[ReviewInput] = []
    for review in written:
        if review.rating > 2 or rng.random() > 0.8:
            continue
        record_follow_up(repo, t, review.platform, review.review_id, at=review.reviewed_at + timedelta(hours=6))
        roll = rng.random()
        if roll < 0.35:
            later.append(review.model_copy(update={"rating": rng.choice([3, 4, 4, 5])}))
        elif roll < 0.55:
            later.append(review.model_copy(update={"removed": True}))
        elif roll < 0.8:
            closed.append(review)
    ingest_reviews(repo, t, later, clock=clock)
    for review in closed:
        record_review_outcome(repo, t, review.platform, review.review_id, ReviewOutcome.UNCHANGED, at=clock.now())


def _clinic(store: Any, period: ReportPeriod, rng: random.Random, data: TurkishData, niche: str,
            now: datetime) -> None:
    t = period.tenant_id
    catalogue = _DENTAL if niche == "dental" else _AESTHETIC
    for name, low, high in catalogue:
        store.service_pricing.add(t, ServicePricing(
            id=f"svc-{len(name)}-{low}", tenant_id=t, service_name=name, price_min=Decimal(low),
            price_max=Decimal(high), duration_minutes=30, created_at=now, updated_at=now))
    weights = [30, 14, 16, 9, 8, 4, 6] if niche == "dental" else [26, 20, 14, 24, 10, 2]
    patients = [data.phone() for _ in range(160)]
    count = 0
    for day_index, day in enumerate(period.days()):
        if day.weekday() == 6:
            continue
        for slot in range(rng.randint(5, 11)):
            name = rng.choices([c[0] for c in catalogue], weights=weights)[0]
            starts = datetime.combine(day, time(9), period.zone).astimezone(UTC) + timedelta(minutes=45 * slot)
            past = starts < now
            status = (rng.choices([AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW,
                                   AppointmentStatus.CANCELLED], weights=[78, 11, 11])[0] if past
                      else rng.choice([AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED]))
            booked = starts - timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8))
            count += 1
            store.appointments.book_if_free(t, Appointment(
                id=f"apt-{count:05d}", tenant_id=t, doctor_id=f"dr-{slot % 2 + 1}", patient_phone=rng.choice(patients),
                service_name=name, starts_at=starts, ends_at=starts + timedelta(minutes=40), status=status,
                booked_at=booked, created_at=booked, updated_at=booked))
        for _ in range(rng.randint(0, 2)):
            count += 1
            created = _at(period, rng, day_index)
            entry = WaitlistEntry(id=f"wl-{count:05d}", tenant_id=t, patient_phone=rng.choice(patients),
                                  service_type=rng.choices([c[0] for c in catalogue], weights=weights)[0],
                                  created_at=created, updated_at=created)
            store.waitlist.add(t, entry)
            if rng.random() < 0.7:
                answer = rng.choices([OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED],
                                     weights=[55, 20, 25])[0]
                store.waitlist.add_offer(t, WaitlistOffer(
                    id=f"of-{count:05d}", tenant_id=t, entry_id=entry.id, patient_phone=entry.patient_phone,
                    doctor_id="dr-1", service_name=entry.service_type, starts_at=created + timedelta(days=2),
                    ends_at=created + timedelta(days=2, minutes=40), source_appointment_id=f"src-{count}",
                    status=answer, expires_at=created + timedelta(hours=2), created_at=created + timedelta(hours=1)))


def _attribution(store: Any, period: ReportPeriod, rng: random.Random, data: TurkishData,
                 clock: FrozenClock, campaigns: list[tuple[str, str, int, int]]) -> None:
    """Leads through tracked links of ``campaigns`` (utm source, utm campaign, leads weight, daily
    spend TRY) and organic ones; manual spend per day; purchases by some of the leads."""
    t = period.tenant_id
    links = [create_link(store.tracked_links, t, "0850 123 45 67", utm_source=source, utm_medium="paid_social",
                         utm_campaign=name, clock=clock) for source, name, _, _ in campaigns]
    engine = AttributionEngine(store, LeadTracker(store))
    weights = [w for _, _, w, _ in campaigns] + [25]  # the last: organic (no link)
    for day in range(len(period.days())):
        for _ in range(rng.randint(1, 4)):
            at = _at(period, rng, day)
            phone = data.phone()
            pick = rng.choices(range(len(weights)), weights=weights)[0]
            text = f"Merhaba, bilgi alabilir miyim? ref:{links[pick].code}" if pick < len(links) else "Merhaba"
            engine.process(t, InboundMessageReceived(
                tenant_id=t, occurred_at=at, from_phone=phone.removeprefix("+"), provider_message_id=f"wamid.{phone}",
                kind="text", text=text))
            if rng.random() < 0.3:
                bought = at + timedelta(hours=rng.randint(2, 60))
                if bought < period.end:
                    engine.process(t, OrderCreated(
                        tenant_id=t, occurred_at=bought, provider="trendyol", account_id="acc-trendyol",
                        external_order_id=f"A{phone[-7:]}", customer_phone=phone, order_status="Created",
                        total=Money(amount=data.price(300, 3500))))
        for _, name, _, daily in campaigns:
            add_manual_spend(store.ad_spend, t, period.date_from + timedelta(days=day), f"utm:{name}",
                             Decimal(daily + rng.randint(-daily // 5, daily // 5)), campaign_name=name)


def seed_dashboard_demo(store: Any, period: ReportPeriod, *, niche: Literal["ecommerce", "dental", "aesthetic"],
                        clock: FrozenClock, seed: int = 7) -> None:
    """Fill ``store`` with a plausible period of one tenant: orders, parcels, return claims and
    reviews (``ecommerce``) or services, appointments, waitlist and reviews (a clinic)."""
    rng = random.Random(seed)
    data = TurkishData(seed, stream="dashboard")
    now = clock.now()
    if niche == "ecommerce":
        orders = _orders(store, period, rng, data, now)
        _returns(store, period, rng, orders, clock)
        _reviews(store, period, rng, ["trendyol", "hepsiburada"], clock)
        _attribution(store, period, rng, data, clock, [("instagram", "bahar-indirimi", 40, 450),
                                                       ("tiktok", "yeni-sezon", 25, 300)])
    else:
        _clinic(store, period, rng, data, niche, now)
        _reviews(store, period, rng, ["google", "instagram"], clock)
        _attribution(store, period, rng, data, clock, [("instagram", "implant-mart", 35, 600),
                                                       ("google", "beyazlatma", 20, 250)])
