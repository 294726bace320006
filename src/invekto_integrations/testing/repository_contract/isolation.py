"""Tenant isolation through every method of every repository, on any store.

For each repository: tenant A's rows are written, every read method is called for A and its
answers kept; then tenant B's rows are written with the *same ids* (and more of them), and A's
answers must not change (nothing of B leaks into a read, a count or a lookup by id). Then B's
answers are kept, every write method is called for A on those colliding ids, and B's answers must
not change (a write of A never touches B's row). Any answer holding a record whose ``tenant_id`` is
another tenant's fails on the spot.

The method lists come from the repositories' protocols: a method added to a protocol without a
case here fails `test_isolation_cases_cover_every_protocol_method`, so isolation stays complete.
A repository a store does not have (``PostgresStore.MISSING``) is skipped for that store and
included once it exists.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.campaigns.audience import AudienceContext, ContactProfile, Everyone
from invekto_integrations.campaigns.models import (
    Campaign,
    CampaignStatus,
    ConversionType,
    OneShotTrigger,
    Recipient,
    RecipientStatus,
    Variant,
)
from invekto_integrations.campaigns.models import Conversion as CampaignConversion
from invekto_integrations.campaigns.repository import (
    CampaignRepository,
    ContactProfileRepository,
    RecipientRepository,
)
from invekto_integrations.campaigns.repository import ConversionRepository as CampaignConversionRepository
from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.ads import AdsLevel
from invekto_integrations.models.attribution import (
    AdCacheEntry,
    AdRef,
    AttributionModel,
    CapiDelivery,
    CapiStatus,
    Channel,
    Conversion,
    ConversionKind,
    Lead,
    LinkClick,
    SpendEntry,
    TagRule,
    Touch,
    TrackedLink,
)
from invekto_integrations.models.events import OrderCreated
from invekto_integrations.models.settings import TenantSettings
from invekto_integrations.storage import Checkpoint, QuarantinedRecord
from invekto_integrations.storage.api_tokens import ApiToken, ApiTokenRepository
from invekto_integrations.storage.claims import ReturnClaimRepository
from invekto_integrations.storage.dashboard_protocols import ReportReader, ReturnCaseRepository, ReviewCaseRepository
from invekto_integrations.storage.dashboard_records import ReturnCase, ReviewCase
from invekto_integrations.storage.protocols import (
    AccountRepository,
    AppointmentRepository,
    CalendarSyncRepository,
    CargoNotificationRepository,
    CheckpointRepository,
    ConsentCacheRepository,
    DoctorRepository,
    DurableOutboxRepository,
    EventLog,
    MessagingContactRepository,
    OrderCacheRepository,
    QuarantineRepository,
    ServicePricingRepository,
    ShipmentRepository,
    WaitlistRepository,
)
from invekto_integrations.storage.protocols_attribution import (
    AdCacheRepository,
    AttributionReportQueries,
    CapiDeliveryRepository,
    ConversionRepository,
    LeadRepository,
    SpendRepository,
    TagRuleRepository,
    TouchRepository,
    TrackedLinkRepository,
)
from invekto_integrations.storage.records import (
    AppointmentStatus,
    CalendarBusyBlock,
    CalendarChannel,
    CalendarConflict,
    CalendarSyncState,
    CargoNotification,
    ConsentCacheRecord,
    OfferStatus,
    OutboxRecord,
    OutboxStatus,
    PendingStatusRecord,
    ShipmentHistoryEntry,
    TrackedShipment,
    WaitlistStatus,
)
from invekto_integrations.storage.runtime_protocols import LeaseRepository, TimerRecord, TimerRepository
from invekto_integrations.storage.settings import TenantSettingsRepository

from .clinic import appointment, doctor, entry, offer, service
from .more import _claim
from .orders import row

__all__ = [
    "test_every_store_repository_has_isolation_cases",
    "test_isolation_cases_cover_every_protocol_method",
    "test_isolation_of_every_repository_method",
]

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=30)
PHONE = "+905321234567"

Call = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Case:
    """One repository: how to write a tenant's rows (``extra``: more of them, so a count that
    leaks differs), and one call per protocol method, read or write."""

    protocol: type
    seed: Callable[[Any, str, bool], None]
    reads: dict[str, Call]
    writes: dict[str, Call] = field(default_factory=dict)
    seed_store: bool = False  # ``seed`` writes through the store's other repositories (report queries)
    may_be_empty: frozenset[str] = frozenset()  # reads whose right answer for A's rows is empty
    # Methods that are not per tenant by design (they list tenants or route by a global key).
    global_: dict[str, str] = field(default_factory=dict)


def _account(t: str, extra: bool) -> list[IntegrationAccount]:
    ids = ["a1", "a2"] if extra else ["a1"]
    return [IntegrationAccount(id=i, tenant_id=t, provider="trendyol", api_key_encrypted=f"v1.k.{t}",
                               settings={"seller_id": t}, created_at=T0, updated_at=T0) for i in ids]


def _seed_accounts(repo: Any, t: str, extra: bool) -> None:
    for a in _account(t, extra):
        repo.add(t, a)


def _order_created(t: str, n: int) -> OrderCreated:
    return OrderCreated(tenant_id=t, occurred_at=T0 + timedelta(minutes=n), provider="trendyol", account_id="a1",
                        external_order_id=f"o{n}", order_status="created", dedupe_key=f"k{n}")


def _seed_events(repo: Any, t: str, extra: bool) -> None:
    repo.append(t, [_order_created(t, n) for n in range(3 if extra else 2)], at=T0)
    repo.advance(t, "watcher", 1)


def _outbox(t: str, i: int, status: OutboxStatus = OutboxStatus.QUEUED) -> OutboxRecord:
    return OutboxRecord(id=f"ob{i}", tenant_id=t, idempotency_key=f"k{i}", purpose="campaign",
                        category="marketing", to_phone=PHONE, message_json="{}", status=status, due_at=T0,
                        created_at=T0, updated_at=T0, provider_message_id=f"wamid.{i}", campaign_id="c1",
                        variant="A")


def _seed_outbox(repo: Any, t: str, extra: bool) -> None:
    for i in range(3 if extra else 2):
        repo.insert_if_absent(t, _outbox(t, i))
    repo.buffer_status(t, PendingStatusRecord(tenant_id=t, provider="whatsapp_cloud", provider_message_id="wamid.9",
                                              status="delivered", update_json="{}", received_at=T0))


def _consent(t: str, recipient: str = PHONE) -> ConsentCacheRecord:
    return ConsentCacheRecord(tenant_id=t, brand_code="700001", recipient=recipient, status="ONAY", source="HS_WEB",
                              consent_date=T0, synced_at=T0, updated_at=T0)


def _seed_consents(repo: Any, t: str, extra: bool) -> None:
    repo.upsert(t, _consent(t))
    if extra:
        repo.upsert(t, _consent(t, "+905329998877"))


def _seed_contacts(repo: Any, t: str, extra: bool) -> None:
    repo.record_inbound(t, PHONE, T0, wa_id=PHONE[1:], ctwa_clid=f"clid-{t}")
    if extra:
        repo.set_opt_out(t, "+905329998877", T0, "DUR")


def _parcel(t: str, number: str) -> TrackedShipment:
    return TrackedShipment(tenant_id=t, carrier="aras", tracking_number=number, status="in_transit", raw_status_text=t,
                           active=True, next_poll_at=T0, created_at=T0, updated_at=T0)


def _history(t: str) -> list[ShipmentHistoryEntry]:
    return [ShipmentHistoryEntry(tenant_id=t, carrier="aras", tracking_number="P1", occurred_at=T0,
                                 description=f"çıktı {t}")]


def _seed_shipments(repo: Any, t: str, extra: bool) -> None:
    repo.add(t, _parcel(t, "P1"))
    repo.add_history(t, "aras", "P1", _history(t))
    if extra:
        repo.add(t, _parcel(t, "P2"))


def _cargo(t: str, key: str) -> CargoNotification:
    return CargoNotification(id=f"cn-{key}", tenant_id=t, idempotency_key=key, carrier="aras", tracking_number="P1",
                             status="in_transit", to_phone=PHONE, message_json=f'{{"t": "{t}"}}', created_at=T0)


def _seed_cargo(repo: Any, t: str, extra: bool) -> None:
    for key in (["n1", "n2"] if extra else ["n1"]):
        repo.add(t, _cargo(t, key))


def _seed_checkpoints(repo: Any, t: str, extra: bool) -> None:
    for stream in (["orders", "claims"] if extra else ["orders"]):
        repo.put(t, Checkpoint(tenant_id=t, account_id="a1", stream=stream, position=T0, cursor=t, updated_at=T0))


def _seed_quarantine(repo: Any, t: str, extra: bool) -> None:
    for i in range(2 if extra else 1):
        repo.add(t, QuarantinedRecord(id=f"q{i}", tenant_id=t, provider="trendyol", account_id="a1",
                                      record_id=f"R{i}", field="x", error=f"bad {t}", raw_json="{}", created_at=T0))


def _seed_orders(repo: Any, t: str, extra: bool) -> None:
    repo.upsert_many(t, [row(x, tenant=t, phone=PHONE, tracking=f"T{x}", data=f'"{t}"')
                         for x in (["A", "B"] if extra else ["A"])])


def _seed_claims(repo: Any, t: str, extra: bool) -> None:
    repo.upsert_many(t, [_claim(c, tenant=t, digest=t) for c in (["c1", "c2"] if extra else ["c1"])])


def _seed_settings(repo: Any, t: str, extra: bool) -> None:
    repo.save(t, TenantSettings(tenant_id=t, timezone="Europe/Berlin" if extra else "Europe/Istanbul"))


def _seed_doctors(repo: Any, t: str, extra: bool) -> None:
    repo.save(t, doctor(t, "d1", calendar_id="cal-1", name=f"Dr. {t}"))
    if extra:
        repo.save(t, doctor(t, "d2", name=f"Dr. {t} 2"))


def _seed_pricing(repo: Any, t: str, extra: bool) -> None:
    repo.add(t, service(t, "Muayene", id="sv1", description=t))
    if extra:
        repo.add(t, service(t, "Dolgu", id="sv2"))


def _seed_appointments(repo: Any, t: str, extra: bool) -> None:
    repo.book_if_free(t, appointment(t, id="ap1", calendar_id="cal-1", calendar_event_id="ev1", patient_name=t))
    if extra:
        repo.book_if_free(t, appointment(t, id="ap2", start=T0 + timedelta(hours=2)))


def _seed_waitlist(repo: Any, t: str, extra: bool) -> None:
    e = entry(tenant=t, id="wl1", patient_name=t)
    repo.add(t, e)
    repo.add_offer(t, offer(e, "ap-src", id="of1"))
    if extra:
        e2 = entry("+905329998877", tenant=t, id="wl2")
        repo.add(t, e2)
        repo.add_offer(t, offer(e2, "ap-src2", id="of2"))


def _seed_calendar(repo: Any, t: str, extra: bool) -> None:
    repo.save_state(t, CalendarSyncState(tenant_id=t, calendar_id="cal", doctor_id=f"d-{t}", updated_at=T0))
    repo.save_channel(t, CalendarChannel(tenant_id=t, calendar_id="cal", channel_id="ch", resource_id=f"r-{t}",
                                         address="https://x.example/hook", token_sha256="0" * 64, created_at=T0))
    for ev in (["ev", "ev2"] if extra else ["ev"]):
        repo.upsert_busy(t, CalendarBusyBlock(tenant_id=t, calendar_id="cal", event_id=ev, starts_at=T0,
                                              ends_at=T0 + timedelta(hours=1), etag=t))
    repo.add_conflict(t, CalendarConflict(id="cf1", tenant_id=t, calendar_id="cal", event_id="ev",
                                          appointment_id="ap1", kind="moved", resolution="calendar_wins", detail=t,
                                          created_at=T0))


def _token(t: str, i: int) -> ApiToken:
    return ApiToken(tenant_id=t, token_id=f"tk{i}", digest=f"{t}-digest-{i}", label=t, created_at=T0)


def _seed_tokens(repo: Any, t: str, extra: bool) -> None:
    for i in range(2 if extra else 1):
        repo.add(t, _token(t, i))


def _pricing_save(repo: Any, t: str) -> Any:
    current = repo.get(t, "sv1")
    return repo.save(t, current.model_copy(update={"description": "changed by A"}))


def _appointment_update(repo: Any, t: str) -> Any:
    current = repo.get(t, "ap1")
    changed = current.model_copy(update={"patient_name": "changed by A", "version": current.version + 1})
    return repo.update(t, changed, expected_version=current.version)


# --- attribution, dashboard cases, runtime ------------------------------------------------------
def _link(t: str, code: str) -> TrackedLink:
    return TrackedLink(tenant_id=t, code=code, wa_number="905321112233", text=f"Merhaba {t}", created_at=T0)


def _seed_links(repo: Any, t: str, extra: bool) -> None:
    # A code is one address for everyone (the redirect resolves it without a tenant): B's are its own.
    for code in (["LNKB0001", "LNKB0002"] if extra else ["LNKA0001"]):
        repo.add(t, _link(t, code))
        repo.record_click(t, LinkClick(tenant_id=t, code=code, at=T0, fbclid=t))


def _touch(t: str, n: int) -> Touch:
    return Touch(tenant_id=t, touch_id=f"tc{n}", contact=PHONE, at=T0 + timedelta(minutes=n), channel=Channel.CTWA,
                 ad=AdRef(campaign_id="c1", ad_id="ad1"), ctwa_clid=f"clid{n}", headline=t, message_id=f"m{n}")


def _seed_touches(repo: Any, t: str, extra: bool) -> None:
    repo.add_many(t, [_touch(t, n) for n in range(3 if extra else 2)])


def _lead(t: str, n: int) -> Lead:
    return Lead(tenant_id=t, lead_id=f"ld{n}", contact=PHONE if n == 0 else f"+90532000000{n}",
                created_at=T0 + timedelta(minutes=n), last_touch_at=T0, first_touch_id="tc0", channel=Channel.CTWA,
                ad=AdRef(campaign_id="c1", ad_id="ad1"), ctwa_clid=f"clid{n}", headline=t)


def _seed_leads(repo: Any, t: str, extra: bool) -> None:
    for n in range(2 if extra else 1):
        repo.add(t, _lead(t, n))


def _conversion(t: str, n: int) -> Conversion:
    return Conversion(tenant_id=t, conversion_id=f"cv{n}", source_key=f"order:{n}", contact=PHONE,
                      kind=ConversionKind.PURCHASE, occurred_at=T0 + timedelta(hours=n), value=Decimal("100"),
                      currency="TRY", ctwa_clid="clid0")


def _seed_conversions(repo: Any, t: str, extra: bool) -> None:
    repo.add_many(t, [_conversion(t, n) for n in range(3 if extra else 2)])


def _spend(t: str, campaign: str, amount: str = "10") -> SpendEntry:
    return SpendEntry(tenant_id=t, day=date(2026, 3, 2), level=AdsLevel.CAMPAIGN, campaign_id=campaign,
                      campaign_name=t, amount=Decimal(amount), currency="TRY")


def _seed_spend(repo: Any, t: str, extra: bool) -> None:
    repo.upsert_many(t, [_spend(t, c) for c in (["c1", "c2"] if extra else ["c1"])])


def _rule(t: str, rid: str) -> TagRule:
    return TagRule(tenant_id=t, rule_id=rid, name=f"kural {t}", field="utm_source", op="equals", value="ig",
                   labels=("instagram",))


def _seed_rules(repo: Any, t: str, extra: bool) -> None:
    for rid in (["r1", "r2"] if extra else ["r1"]):
        repo.save(t, _rule(t, rid))


def _ad(t: str, ad_id: str) -> AdCacheEntry:
    return AdCacheEntry(tenant_id=t, ad_id=ad_id, ad=AdRef(ad_id=ad_id, ad_name=t), readable=True, fetched_at=T0)


def _seed_ads(repo: Any, t: str, extra: bool) -> None:
    for ad in (["ad1", "ad2"] if extra else ["ad1"]):
        repo.put(t, _ad(t, ad))


def _capi(t: str, event_id: str, status: CapiStatus = CapiStatus.SENT) -> CapiDelivery:
    return CapiDelivery(tenant_id=t, event_id=event_id, event_name="Purchase", subject_id=t, status=status,
                        updated_at=T0)


def _seed_capi(repo: Any, t: str, extra: bool) -> None:
    for e in (["e1", "e2"] if extra else ["e1"]):
        repo.put(t, _capi(t, e))


def _seed_reports(store: Any, t: str, extra: bool) -> None:
    _seed_touches(store.touches, t, extra)
    _seed_leads(store.leads, t, extra)
    _seed_conversions(store.conversions, t, extra)
    _seed_spend(store.ad_spend, t, extra)


def _return_case(t: str, claim: str) -> ReturnCase:
    return ReturnCase(id=f"rc-{claim}", tenant_id=t, provider="trendyol", claim_id=claim, order_number=f"o-{t}",
                      opened_at=T0, created_at=T0, updated_at=T0)


def _seed_return_cases(repo: Any, t: str, extra: bool) -> None:
    for c in (["c1", "c2"] if extra else ["c1"]):
        repo.add(t, _return_case(t, c))


def _review_case(t: str, review: str) -> ReviewCase:
    return ReviewCase(id=f"rv-{review}", tenant_id=t, platform="trendyol", review_id=review, rating_before=2,
                      negative=True, reviewed_at=T0, created_at=T0, updated_at=T0, product_id=t)


def _seed_review_cases(repo: Any, t: str, extra: bool) -> None:
    for r in (["r1", "r2"] if extra else ["r1"]):
        repo.add(t, _review_case(t, r))


def _seed_leases(repo: Any, t: str, extra: bool) -> None:
    for name in (["sync", "watch"] if extra else ["sync"]):
        repo.acquire(t, name, f"owner-{t}", T0, timedelta(minutes=5))


def _timer(t: str, key: str) -> TimerRecord:
    return TimerRecord(tenant_id=t, engine="reminders", key=key, due_at=T0, payload={"t": t}, created_at=T0,
                       updated_at=T0)


def _seed_timers(repo: Any, t: str, extra: bool) -> None:
    for key in (["k1", "k2"] if extra else ["k1"]):
        repo.add(t, _timer(t, key))
    repo.put_recurring(t, "reminders", "daily", recurrence="FREQ=DAILY", due_at=T0, payload={"t": t}, at=T0)


def _claimed(repo: Any, t: str) -> Any:
    """Claims A's due timers (the writes below act on a claimed timer, as the runtime does)."""
    return repo.claim_due(t, "reminders", T0, "owner-A", T0 + timedelta(minutes=5))


# --- campaigns ----------------------------------------------------------------------------------
def _campaign(t: str, cid: str) -> Campaign:
    return Campaign(id=cid, tenant_id=t, name=f"Kampanya {t}", trigger=OneShotTrigger(at=LATER),
                    variants=[Variant(name="A", template_name="kis_a")], created_at=T0, updated_at=T0)


def _seed_campaigns(repo: Any, t: str, extra: bool) -> None:
    for cid in (["cmp1", "cmp2"] if extra else ["cmp1"]):
        repo.add(t, _campaign(t, cid))


def _recipient(t: str, phone: str, status: RecipientStatus = RecipientStatus.SUBMITTED) -> Recipient:
    return Recipient(tenant_id=t, campaign_id="cmp1", occurrence="o1", phone=phone, variant="A", status=status,
                     entered_at=T0, updated_at=T0, message_id=f"msg-{phone}", submitted_at=T0,
                     delivery="delivered")


def _seed_recipients(repo: Any, t: str, extra: bool) -> None:
    repo.enter_many(t, [_recipient(t, p) for p in ([PHONE, "+905329998877"] if extra else [PHONE])])


def _campaign_conversion(t: str, n: int) -> CampaignConversion:
    return CampaignConversion(id=f"cc{n}", tenant_id=t, message_id=f"msg-{PHONE}", campaign_id="cmp1", variant="A",
                              occurrence="o1", phone=PHONE, conversion_type=ConversionType.PURCHASE,
                              source_ref=f"order-{n}", occurred_at=T0 + timedelta(hours=1), created_at=T0,
                              value=Decimal("50"))


def _seed_campaign_conversions(repo: Any, t: str, extra: bool) -> None:
    for n in range(2 if extra else 1):
        repo.add(t, _campaign_conversion(t, n))


def _seed_profiles(repo: Any, t: str, extra: bool) -> None:
    repo.record_order(t, PHONE, order_ref="o1", at=T0, total=Decimal("100"), platform="trendyol", name=t)
    if extra:
        repo.upsert_many(t, [ContactProfile(tenant_id=t, phone="+905329998877", order_count=3, updated_at=T0)])


def _seed_report_sources(store: Any, t: str, extra: bool) -> None:
    _seed_orders(store.orders, t, extra)
    _seed_shipments(store.shipments, t, extra)
    _seed_pricing(store.service_pricing, t, extra)
    _seed_appointments(store.appointments, t, extra)
    _seed_waitlist(store.waitlist, t, extra)
    _seed_outbox(store.outbox, t, extra)


SPAN = (T0 - timedelta(days=60), LATER + timedelta(days=60))
CTX = AudienceContext(now=LATER)

CASES: dict[str, Case] = {
    "accounts": Case(AccountRepository, _seed_accounts, reads={
        "get": lambda r, t: r.get(t, "a1"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, _account(t, False)[0].model_copy(update={"id": "a9"})),
        "set_status": lambda r, t: r.set_status(t, "a1", AccountStatus.PAUSED, LATER),
        "update_secret": lambda r, t: r.update_secret(t, "a1", "v1.k.new", LATER),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "orders": Case(OrderCacheRepository, _seed_orders, reads={
        "get": lambda r, t: r.get(t, "trendyol", "acc1", "A"),
        "get_many": lambda r, t: r.get_many(t, "trendyol", "acc1", ["A", "B"]),
        "find_by_phone": lambda r, t: r.find_by_phone(t, PHONE),
        "find_by_tracking_code": lambda r, t: r.find_by_tracking_code(t, "TA"),
        "count": lambda r, t: r.count(t),
    }, writes={
        "upsert_many": lambda r, t: r.upsert_many(t, [row("A", tenant=t, status="shipped", synced=LATER)]),
    }),
    "checkpoints": Case(CheckpointRepository, _seed_checkpoints, reads={
        "get": lambda r, t: r.get(t, "a1", "orders"),
    }, writes={
        "put": lambda r, t: r.put(t, Checkpoint(tenant_id=t, account_id="a1", stream="orders", position=LATER,
                                                cursor=None, updated_at=LATER)),
    }),
    "quarantine": Case(QuarantineRepository, _seed_quarantine, reads={
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, QuarantinedRecord(id="q9", tenant_id=t, provider="trendyol", account_id="a1",
                                                       record_id="R9", field="x", error="y", raw_json="{}",
                                                       created_at=T0)),
    }),
    "events": Case(EventLog, _seed_events, reads={
        "read": lambda r, t: [(e.type, e.data) for e in r.read(t)],
        "cursor": lambda r, t: r.cursor(t, "watcher"),
    }, writes={
        "append": lambda r, t: len(r.append(t, [_order_created(t, 7)], at=LATER)),
        "advance": lambda r, t: r.advance(t, "watcher", 10**9),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "return_claims": Case(ReturnClaimRepository, _seed_claims, reads={
        "get": lambda r, t: r.get(t, "hepsiburada", "a1", "c1"),
        "get_many": lambda r, t: r.get_many(t, "hepsiburada", "a1", ["c1", "c2"]),
        "find": lambda r, t: r.find(t),
    }, writes={
        "upsert_many": lambda r, t: r.upsert_many(t, [_claim("c1", tenant=t, status="refunded", raw="Refunded",
                                                              digest="changed", at=LATER)]),
    }),
    "tenant_settings": Case(TenantSettingsRepository, _seed_settings, reads={
        "get": lambda r, t: r.get(t),
    }, writes={
        "save": lambda r, t: r.save(t, TenantSettings(tenant_id=t, timezone="Asia/Tokyo")),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "outbox": Case(DurableOutboxRepository, _seed_outbox, reads={
        "get": lambda r, t: r.get(t, "ob0"),
        "get_by_key": lambda r, t: r.get_by_key(t, "k0"),
        "get_by_provider_id": lambda r, t: r.get_by_provider_id(t, "wamid.0"),
        "due": lambda r, t: r.due(t, LATER),
        "count_recent": lambda r, t: r.count_recent(t, PHONE, ["marketing"], T0 - timedelta(days=1)),
        "status_counts": lambda r, t: r.status_counts(t),
        "grouped_counts": lambda r, t: r.grouped_counts(t),
        "stale": lambda r, t: r.stale(t, OutboxStatus.QUEUED, LATER),
    }, writes={
        "insert_if_absent": lambda r, t: r.insert_if_absent(t, _outbox(t, 0, OutboxStatus.SENT)),
        "save": lambda r, t: r.save(t, _outbox(t, 0, OutboxStatus.FAILED)),
        "claim": lambda r, t: r.claim(t, "ob1", [OutboxStatus.QUEUED], OutboxStatus.SENDING, LATER),
        "buffer_status": lambda r, t: r.buffer_status(t, PendingStatusRecord(
            tenant_id=t, provider="whatsapp_cloud", provider_message_id="wamid.1", status="read", update_json="{}",
            received_at=LATER)),
        "save_taking_statuses": lambda r, t: r.save_taking_statuses(
            t, _outbox(t, 1, OutboxStatus.ACCEPTED).model_copy(update={"provider_message_id": "wamid.9"})),
        "purge_pending_statuses": lambda r, t: r.purge_pending_statuses(t, LATER),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "consents": Case(ConsentCacheRepository, _seed_consents, reads={
        "get": lambda r, t: r.get(t, "700001", PHONE, "MESAJ"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "upsert": lambda r, t: r.upsert(t, _consent(t).model_copy(update={"status": "RET", "updated_at": LATER})),
    }),
    "messaging_contacts": Case(MessagingContactRepository, _seed_contacts, reads={
        "get": lambda r, t: r.get(t, PHONE),
    }, writes={
        "record_inbound": lambda r, t: r.record_inbound(t, PHONE, LATER, ctwa_clid="clid-new"),
        "set_opt_out": lambda r, t: r.set_opt_out(t, PHONE, LATER, "DUR"),
        "clear_opt_out": lambda r, t: r.clear_opt_out(t, PHONE, LATER + timedelta(hours=1)),
    }),
    "shipments": Case(ShipmentRepository, _seed_shipments, reads={
        "get": lambda r, t: r.get(t, "aras", "P1"),
        "due": lambda r, t: r.due(t, LATER),
        "find": lambda r, t: r.find(t),
        "history": lambda r, t: r.history(t, "aras", "P1"),
    }, writes={
        "add": lambda r, t: r.add(t, _parcel(t, "P1")),
        "save": lambda r, t: r.save(t, _parcel(t, "P1").model_copy(update={"status": "delivered", "active": False})),
        "add_history": lambda r, t: r.add_history(t, "aras", "P1", [
            ShipmentHistoryEntry(tenant_id=t, carrier="aras", tracking_number="P1", occurred_at=LATER,
                                 description="teslim")]),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "cargo_notifications": Case(CargoNotificationRepository, _seed_cargo, reads={
        "get": lambda r, t: r.get(t, "n1"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, _cargo(t, "n1")),
        "mark_submitted": lambda r, t: r.mark_submitted(t, "n1", "submitted", LATER),
    }),
    "doctors": Case(DoctorRepository, _seed_doctors, reads={
        "get": lambda r, t: r.get(t, "d1"),
        "find": lambda r, t: r.find(t),
        "find_by_calendar": lambda r, t: r.find_by_calendar(t, "cal-1"),
    }, writes={
        "save": lambda r, t: r.save(t, doctor(t, "d1", name="changed by A")),
    }),
    "service_pricing": Case(ServicePricingRepository, _seed_pricing, reads={
        "get": lambda r, t: r.get(t, "sv1"),
        "get_active": lambda r, t: r.get_active(t, "Muayene"),
        "find": lambda r, t: r.find(t, active_only=False),
    }, writes={
        "add": lambda r, t: r.add(t, service(t, "Kanal", id="sv9")),
        "save": _pricing_save,
    }),
    "appointments": Case(AppointmentRepository, _seed_appointments, reads={
        "get": lambda r, t: r.get(t, "ap1"),
        "find": lambda r, t: r.find(t, statuses=list(AppointmentStatus)),
        "find_by_event": lambda r, t: r.find_by_event(t, "cal-1", "ev1"),
    }, writes={
        "book_if_free": lambda r, t: r.book_if_free(t, appointment(t, id="ap9", start=T0 + timedelta(days=2))),
        "update": _appointment_update,
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "waitlist": Case(WaitlistRepository, _seed_waitlist, reads={
        "get": lambda r, t: r.get(t, "wl1"),
        "find": lambda r, t: r.find(t),
        "get_offer": lambda r, t: r.get_offer(t, "of1"),
        "find_offers": lambda r, t: r.find_offers(t),
    }, writes={
        "add": lambda r, t: r.add(t, entry(tenant=t, id="wl9")),
        "set_status": lambda r, t: r.set_status(t, "wl1", list(WaitlistStatus), WaitlistStatus.REMOVED, LATER),
        "add_offer": lambda r, t: r.add_offer(t, offer(entry(tenant=t, id="wl1"), "ap-src9", id="of9")),
        "resolve_offer": lambda r, t: r.resolve_offer(t, "of1", list(OfferStatus), OfferStatus.EXPIRED, LATER),
        "set_offer_message": lambda r, t: r.set_offer_message(t, "of1", "msg-A"),
        "extend_offer": lambda r, t: r.extend_offer(t, "of1", LATER + timedelta(days=1)),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "calendar_sync": Case(CalendarSyncRepository, _seed_calendar, reads={
        "get_state": lambda r, t: r.get_state(t, "cal"),
        "find_states": lambda r, t: r.find_states(t),
        "get_channel": lambda r, t: r.get_channel(t, "ch"),
        "find_channels": lambda r, t: r.find_channels(t),
        "find_busy": lambda r, t: r.find_busy(t, "cal", T0 - timedelta(days=1), LATER),
        "find_conflicts": lambda r, t: r.find_conflicts(t),
    }, writes={
        "save_state": lambda r, t: r.save_state(t, CalendarSyncState(tenant_id=t, calendar_id="cal", doctor_id="dA",
                                                                     sync_token="s-A", updated_at=LATER)),  # noqa: S106
        "save_channel": lambda r, t: r.save_channel(t, CalendarChannel(
            tenant_id=t, calendar_id="cal", channel_id="ch", resource_id="r-new", address="https://x.example/h2",
            token_sha256="1" * 64, created_at=LATER)),
        "advance_message": lambda r, t: r.advance_message(t, "ch", 7),
        "upsert_busy": lambda r, t: r.upsert_busy(t, CalendarBusyBlock(
            tenant_id=t, calendar_id="cal", event_id="ev", starts_at=T0, ends_at=T0 + timedelta(hours=3), etag="x")),
        "delete_busy": lambda r, t: r.delete_busy(t, "cal", "ev2"),
        "clear_busy": lambda r, t: r.clear_busy(t, "cal"),
        "add_conflict": lambda r, t: r.add_conflict(t, CalendarConflict(
            id="cf9", tenant_id=t, calendar_id="cal", event_id="ev", appointment_id=None, kind="moved",
            resolution="calendar_wins", detail="A", created_at=LATER)),
        "resolve_conflict": lambda r, t: r.resolve_conflict(t, "cf1", "ours_wins", LATER),
    }),
    "api_tokens": Case(ApiTokenRepository, _seed_tokens, reads={
        "list": lambda r, t: r.list(t),
    }, writes={
        "add": lambda r, t: r.add(t, _token(t, 9)),
        "revoke": lambda r, t: r.revoke(t, "tk0", LATER),
    }, global_={"find_by_digest": "routes a presented token to its tenant (digests are unique)"}),
    "tracked_links": Case(TrackedLinkRepository, _seed_links, reads={
        "get_by_code": lambda r, t: r.get_by_code(t, "LNKA0001"),
        "find": lambda r, t: r.find(t),
        "clicks": lambda r, t: r.clicks(t, "LNKA0001"),
    }, writes={
        "add": lambda r, t: r.add(t, _link(t, "LNKA0009")),
        "record_click": lambda r, t: r.record_click(t, LinkClick(tenant_id=t, code="LNKB0001", at=LATER)),
    }, global_={"resolve_code": "the redirect's lookup: a code is one address for everyone"}),
    "touches": Case(TouchRepository, _seed_touches, reads={
        "find": lambda r, t: r.find(t, PHONE),
    }, writes={
        "add": lambda r, t: r.add(t, _touch(t, 0)),
        "add_many": lambda r, t: r.add_many(t, [_touch(t, 2), _touch(t, 7)]),
    }),
    "leads": Case(LeadRepository, _seed_leads, reads={
        "latest": lambda r, t: r.latest(t, PHONE),
        "get": lambda r, t: r.get(t, "ld0"),
        "by_ctwa_clid": lambda r, t: r.by_ctwa_clid(t, "clid0"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, _lead(t, 5)),
        "save": lambda r, t: r.save(t, _lead(t, 0).model_copy(update={"labels": ("A",)})),
    }),
    "conversions": Case(ConversionRepository, _seed_conversions, reads={
        "get": lambda r, t: r.get(t, "cv0"),
        "by_source_key": lambda r, t: r.by_source_key(t, "order:0"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, _conversion(t, 0)),
        "mark_duplicate": lambda r, t: r.mark_duplicate(t, "cv1", "cv0"),
        "add_many": lambda r, t: r.add_many(t, [_conversion(t, 2), _conversion(t, 8)]),
    }),
    "ad_spend": Case(SpendRepository, _seed_spend, reads={
        "find": lambda r, t: r.find(t),
    }, writes={
        "upsert_many": lambda r, t: r.upsert_many(t, [_spend(t, "c1", "99")]),
        "delete": lambda r, t: r.delete(t, _spend(t, "c2")),
    }),
    "tag_rules": Case(TagRuleRepository, _seed_rules, reads={
        "get": lambda r, t: r.get(t, "r1"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "save": lambda r, t: r.save(t, _rule(t, "r1").model_copy(update={"value": "fb", "version": 2})),
        "delete": lambda r, t: r.delete(t, "r2"),
    }),
    "ad_cache": Case(AdCacheRepository, _seed_ads, reads={
        "get": lambda r, t: r.get(t, "ad1"),
    }, writes={
        "put": lambda r, t: r.put(t, _ad(t, "ad2").model_copy(update={"readable": False})),
    }),
    "capi_deliveries": Case(CapiDeliveryRepository, _seed_capi, reads={
        "get": lambda r, t: r.get(t, "e1"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "put": lambda r, t: r.put(t, _capi(t, "e2", CapiStatus.FAILED)),
    }),
    "attribution_reports": Case(AttributionReportQueries, _seed_reports, seed_store=True, reads={
        "credit": lambda r, t: r.credit(t, since=T0 - timedelta(days=1), until=LATER,
                                        model=AttributionModel.LINEAR, lookback=timedelta(days=7),
                                        half_life=timedelta(days=7)),
        "lead_counts": lambda r, t: r.lead_counts(t, since=T0 - timedelta(days=1), until=LATER),
        "spend_totals": lambda r, t: r.spend_totals(t, since=date(2026, 3, 1), until=date(2026, 3, 31)),
    }),
    "return_cases": Case(ReturnCaseRepository, _seed_return_cases, reads={
        "get": lambda r, t: r.get(t, "trendyol", "c1"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, _return_case(t, "c2")),
        "save": lambda r, t: r.save(t, _return_case(t, "c1").model_copy(update={"note": "A", "updated_at": LATER})),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "review_cases": Case(ReviewCaseRepository, _seed_review_cases, reads={
        "get": lambda r, t: r.get(t, "trendyol", "r1"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, _review_case(t, "r2")),
        "save": lambda r, t: r.save(t, _review_case(t, "r1").model_copy(update={"rating_after": 5})),
    }),
    "leases": Case(LeaseRepository, _seed_leases, reads={
        "get": lambda r, t: r.get(t, "sync"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "acquire": lambda r, t: r.acquire(t, "watch", "owner-A", LATER, timedelta(minutes=5)),
        "note_run": lambda r, t: r.note_run(t, "watch", LATER, error="boom"),
        "note_failure": lambda r, t: r.note_failure(t, "watch", 3),
        "release": lambda r, t: r.release(t, "watch", "owner-A"),
    }),
    "timers": Case(TimerRepository, _seed_timers, reads={
        "get": lambda r, t: r.get(t, "reminders", "k1"),
        "next_due": lambda r, t: r.next_due(t, "reminders"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, _timer(t, "k2")),
        "put_recurring": lambda r, t: r.put_recurring(t, "reminders", "daily", recurrence="FREQ=WEEKLY",
                                                      due_at=LATER, payload={}, at=T0),
        "prune_recurring": lambda r, t: r.prune_recurring(t, "reminders", []),
        "claim_due": _claimed,
        "extend_claim": lambda r, t: r.extend_claim(t, "reminders", "k1", owner="owner-A", due_at=T0,
                                                    until=T0 + timedelta(minutes=9)),
        "fail": lambda r, t: r.fail(t, "reminders", "k1", owner="owner-A", due_at=T0, error="x", retry_at=LATER),
        "complete": lambda r, t: r.complete(t, "reminders", "k2", owner="owner-A", due_at=T0, at=T0, next_due=None),
        "cancel": lambda r, t: r.cancel(t, "reminders", "k1", LATER),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "campaigns": Case(CampaignRepository, _seed_campaigns, reads={
        "get": lambda r, t: r.get(t, "cmp1"),
        "find": lambda r, t: r.find(t),
    }, writes={
        "add": lambda r, t: r.add(t, _campaign(t, "cmp9")),
        "replace": lambda r, t: r.replace(t, _campaign(t, "cmp1").model_copy(
            update={"status": CampaignStatus.SCHEDULED, "version": 2}), expected_version=1),
    }, global_={"tenants": "lists every tenant (the runtime's discovery)"}),
    "campaign_recipients": Case(RecipientRepository, _seed_recipients, reads={
        "get": lambda r, t: r.get(t, "cmp1", "o1", PHONE),
        "by_message": lambda r, t: r.by_message(t, f"msg-{PHONE}"),
        "last_touch": lambda r, t: r.last_touch(t, PHONE, at=LATER, since=T0 - timedelta(days=1)),
        "find": lambda r, t: r.find(t, "cmp1"),
        "counts": lambda r, t: r.counts(t, "cmp1"),
    }, writes={
        "enter_many": lambda r, t: r.enter_many(t, [_recipient(t, "+905329998877", RecipientStatus.ENTERED)]),
        "update": lambda r, t: r.update(t, _recipient(t, PHONE, RecipientStatus.FAILED)),
    }),
    "campaign_conversions": Case(CampaignConversionRepository, _seed_campaign_conversions, reads={
        "find": lambda r, t: r.find(t, "cmp1"),
        "totals": lambda r, t: r.totals(t, "cmp1"),
        "converted_phones": lambda r, t: r.converted_phones(t, "cmp1", ["purchase"]),
    }, writes={
        "add": lambda r, t: r.add(t, _campaign_conversion(t, 1)),
    }),
    "contact_profiles": Case(ContactProfileRepository, _seed_profiles, reads={
        "get": lambda r, t: r.get(t, PHONE),
        "select": lambda r, t: r.select(t, Everyone(), CTX),
        "count": lambda r, t: r.count(t, Everyone(), CTX),
        "contains": lambda r, t: r.contains(t, Everyone(), CTX, "+905329998877"),
    }, may_be_empty=frozenset({"contains"}), writes={  # is B's contact in A's audience? no, before and after
        "record_order": lambda r, t: r.record_order(t, "+905329998877", order_ref="o9", at=LATER,
                                                    total=Decimal("5")),
        "record_appointment": lambda r, t: r.record_appointment(t, PHONE, appointment_ref="ap1", at=LATER),
        "add_labels": lambda r, t: r.add_labels(t, "+905329998877", "tag", ["vip"], at=LATER),
        "upsert_many": lambda r, t: r.upsert_many(t, [ContactProfile(tenant_id=t, phone=PHONE, order_count=9,
                                                                     updated_at=LATER)]),
    }),
    "reports": Case(ReportReader, _seed_report_sources, seed_store=True, reads={
        "orders": lambda r, t: r.orders(t, *SPAN),
        "shipments": lambda r, t: r.shipments(t, *SPAN),
        "appointments": lambda r, t: r.appointments(t, *SPAN),
        "booked_appointments": lambda r, t: r.booked_appointments(t, *SPAN),
        "waitlist_entries": lambda r, t: r.waitlist_entries(t, *SPAN),
        "waitlist_offers": lambda r, t: r.waitlist_offers(t, *SPAN),
        "campaign_messages": lambda r, t: r.campaign_messages(t, *SPAN),
        "services": lambda r, t: list(r.services(t)),
    }),
}

# Repositories of `storage.Store` (and of the built-in stores) whose isolation cases are not written
# yet: listed here so that a repository missing from both `CASES` and this list fails the coverage
# test. Shrink it; never grow it.
NOT_YET: tuple[str, ...] = ()


def protocol_methods(protocol: type) -> set[str]:
    """The public methods a repository protocol declares (its protocol bases' included)."""
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        names |= {n for n, v in vars(klass).items() if not n.startswith("_") and inspect.isfunction(v)}
    return names


def _tenants_in(value: Any, found: set[str]) -> set[str]:
    """Every ``tenant_id`` of the records inside an answer."""
    tenant = getattr(value, "tenant_id", None)
    if isinstance(tenant, str):
        found.add(tenant)
    if isinstance(value, dict):
        for v in value.values():
            _tenants_in(v, found)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _tenants_in(v, found)
    return found


def _answers(case: Case, repo: Any, tenant: str) -> dict[str, Any]:
    out = {}
    for name, call in case.reads.items():
        answer = call(repo, tenant)
        leaked = _tenants_in(answer, set()) - {tenant}
        assert not leaked, f"{name}({tenant!r}) answered rows of {sorted(leaked)}"
        out[name] = answer
    return out


def _has(store: Any, name: str) -> bool:
    if name in getattr(store, "MISSING", ()):
        return False
    return hasattr(type(store), name) or hasattr(store, name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_isolation_of_every_repository_method(store: Any, name: str) -> None:
    if not _has(store, name):
        pytest.skip(f"{type(store).__name__} has no {name!r} repository")
    case = CASES[name]
    repo = getattr(store, name)
    a, b = "tenant-a", "tenant-b"
    target = store if case.seed_store else repo
    case.seed(target, a, False)
    before = _answers(case, repo, a)
    empty = sorted(m for m, answer in before.items() if answer in (None, [], {}, 0, ()) and m not in case.may_be_empty)
    assert not empty, f"{name}: {empty} found nothing of tenant A's rows: the case checks nothing"
    case.seed(target, b, True)  # the same ids, and more rows
    assert _answers(case, repo, a) == before, f"{name}: tenant B's rows changed what tenant A reads"
    of_b = _answers(case, repo, b)
    for method, call in case.writes.items():
        try:
            answer = call(repo, a)
        except Exception as exc:
            raise AssertionError(f"{name}.{method} for tenant A failed: {type(exc).__name__}: {exc}") from exc
        leaked = _tenants_in(answer, set()) - {a}
        assert not leaked, f"{name}.{method}({a!r}) answered rows of {sorted(leaked)}"
        assert _answers(case, repo, b) == of_b, f"{name}.{method} for tenant A changed tenant B's rows"
    _answers(case, repo, a)  # and A still reads only its own


@pytest.mark.parametrize("name", sorted(CASES))
def test_isolation_cases_cover_every_protocol_method(name: str) -> None:
    case = CASES[name]
    declared = protocol_methods(case.protocol)
    covered = set(case.reads) | set(case.writes) | set(case.global_)
    assert declared - covered == set(), f"{name}: no isolation case for {sorted(declared - covered)}"
    assert covered - declared == set(), f"{name}: cases for methods the protocol lacks: {sorted(covered - declared)}"


def test_every_store_repository_has_isolation_cases() -> None:
    from invekto_integrations.storage.store import Store

    members = {n for n, v in vars(Store).items() if isinstance(v, property)}
    unknown = members - set(CASES) - set(NOT_YET)
    assert unknown == set(), f"repositories without isolation cases: {sorted(unknown)}"
    assert set(CASES).isdisjoint(NOT_YET), "a repository with cases is still listed in NOT_YET"
