"""The campaign engine: runs occurrences, follows deliveries, credits conversions, rolls out winners.

It has the runtime's engine shape (``name``, ``consumes``, ``handle``, ``on_timer``,
``schedules``): recurring campaigns are recurring timers of the runtime, one-shot campaigns and
event-delayed entries ("T+48h after delivery") are one-shot timers keyed so that scheduling twice
is a no-op, and a maintenance timer decides A/B winners. Each occurrence enters its audience into
``outbound_campaign_recipients``, unique per (campaign, occurrence, phone): however many runtimes
fire it, a customer is entered once and the send pipeline's idempotency key
(``campaign:<id>:<occurrence>:<phone>``) makes the message go once.

Every message goes through the one send pipeline (`MessageSink`): consent, opt-out, quiet hours,
frequency caps, outbox. A refusal is recorded on the recipient with its reason and counted.
The same methods (`run_occurrence`, `enter_event`, `decide_winners`) can be driven directly by
a host without the runtime.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import IntegrationError, InvalidArgument
from invekto_integrations.core.phone import try_normalize_phone
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.messaging.base import MessageCategory, MessageSink, OutboundMessage
from invekto_integrations.models.correlation import Correlation
from invekto_integrations.models.events import (
    AppointmentBooked,
    AppointmentCancelled,
    DomainEvent,
    InboundMessageReceived,
    MessageStatusChanged,
    OrderCreated,
    OrderStatusChanged,
    ShipmentStatusChanged,
)
from invekto_integrations.runtime import Schedule
from invekto_integrations.storage.protocols import AppointmentRepository
from invekto_integrations.storage.settings import TenantSettingsRepository, tenant_settings

from .assignment import assign, in_test
from .audience import AudienceContext
from .conversions import ConversionAttributor, ConversionFeed, ConversionSource, EventConversions
from .labels import LeadSource, import_lead_labels
from .manager import CampaignManager
from .models import (
    HOLDOUT,
    Campaign,
    CampaignStatus,
    EventTrigger,
    OneShotTrigger,
    Recipient,
    RecipientStatus,
    RecurringTrigger,
    WinnerDecision,
)
from .personalize import CustomerFacts, Guardrails, Personalizer, render
from .repository import CampaignRepository, ContactProfileRepository, ConversionRepository, RecipientRepository
from .schedule import ONCE, occurrence_key, to_schedule
from .stats import FixedHorizonRule, sample_size_per_variant

__all__ = ["CampaignEngine", "OccurrenceReport", "TimerContext"]

log = logging.getLogger("invekto_integrations.campaigns")

_LIVE = (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING)
_RANK = {"accepted": 0, "sent": 1, "failed": 1, "delivered": 2, "read": 3}
TICK_KEY = "campaigns:tick"


class TimerContext(Protocol):
    """What the engine needs from the runtime's `EngineContext`."""

    tenant_id: str

    def now(self) -> datetime: ...
    def schedule(self, key: str, at: datetime, payload: Mapping[str, Any] | None = None) -> bool: ...


class ConsentPrefetch(Protocol):
    """`ConsentService.prefetch`: many recipients' MARKETING decisions with one İYS multi-query."""

    def prefetch(self, tenant_id: str, phones: Sequence[str]) -> Mapping[str, Any]: ...


class TimerLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


class OccurrenceReport(BaseModel):
    model_config = ConfigDict(frozen=False)

    campaign_id: str
    occurrence: str
    entered: int = 0
    already_entered: int = 0
    submitted: int = 0
    holdout: int = 0
    waiting: int = 0
    refused: dict[str, int] = Field(default_factory=dict)
    failed: int = 0
    skipped: str | None = None  # why nothing ran (paused, cancelled, ...)


class CampaignEngine(ConciseRepr, fields=("clock",)):
    name = "campaigns"
    consumes = frozenset({MessageStatusChanged.TYPE, InboundMessageReceived.TYPE, OrderCreated.TYPE,
                          OrderStatusChanged.TYPE, ShipmentStatusChanged.TYPE, AppointmentBooked.TYPE,
                          AppointmentCancelled.TYPE})
    transactional = False

    def __init__(
        self,
        *,
        campaigns: CampaignRepository,
        recipients: RecipientRepository,
        conversions: ConversionRepository,
        profiles: ContactProfileRepository,
        sink: MessageSink,
        facts: CustomerFacts | None = None,
        personalizer: Personalizer | None = None,
        guardrails: Guardrails | None = None,
        conversion_source: ConversionSource | None = None,
        consent: ConsentPrefetch | None = None,
        conversion_feed: ConversionFeed | None = None,
        lead_labels: LeadSource | None = None,
        feed_window: timedelta = timedelta(days=2),
        appointments: AppointmentRepository | None = None,
        clock: Clock | None = None,
        settings_repository: TenantSettingsRepository | None = None,
        timezone: str | Callable[[str], str] | None = None,
        niche: Callable[[str], str | None] | None = None,
        brand_code: Callable[[str], str | None] | None = None,
        batch: int = 500,
        senders: int = 1,
        tick_cron: str = "*/15 * * * *",
    ) -> None:
        self.campaigns = campaigns
        self.recipients = recipients
        self.conversions = conversions
        self.profiles = profiles
        self.sink = sink
        self.clock = clock or SystemClock()
        self.facts = facts or CustomerFacts(clock=self.clock)
        self.personalizer = personalizer
        self.guardrails = guardrails or Guardrails()
        self.source: ConversionSource = conversion_source or EventConversions()
        self.consent = consent
        self.feed = conversion_feed
        self.lead_labels = lead_labels
        self.feed_window = feed_window
        self.appointments = appointments
        # Explicit arguments win; else the tenant's stored settings; else their defaults.
        self.settings_repository = settings_repository
        self._timezone = timezone
        self._niche = niche or (lambda t: tenant_settings(self.settings_repository, t).niche.value)
        self._brand = brand_code or (lambda _t: None)
        self.batch = batch
        # Messages of a page submitted in parallel (each is its own outbox row and HTTP call; the
        # provider client's token bucket keeps the rate): the send path waits mostly on the network.
        self.senders = max(1, senders)
        self._report_lock = threading.Lock()
        self.tick_cron = tick_cron
        self.manager = CampaignManager(campaigns, profiles, clock=self.clock)
        self.attributor = ConversionAttributor(campaigns, recipients, conversions, clock=self.clock)

    def timezone(self, tenant_id: str) -> str:
        if self._timezone is None:
            return tenant_settings(self.settings_repository, tenant_id).timezone
        return self._timezone(tenant_id) if callable(self._timezone) else self._timezone

    # -- runtime hooks ------------------------------------------------------------------------------
    def schedules(self, ctx: TimerContext) -> Sequence[Schedule]:
        """Recurring campaigns as the runtime's recurring timers (plus the maintenance tick);
        one-shot campaigns are (re)armed here as one-shot timers (idempotent by key)."""
        out = [Schedule(key=TICK_KEY, cron=self.tick_cron, payload={"kind": "tick"})]
        for c in self.campaigns.find(ctx.tenant_id, statuses=_LIVE):
            if isinstance(c.trigger, RecurringTrigger):
                out.append(to_schedule(c.id, c.trigger, {"kind": "recurring", "campaign_id": c.id}))
            elif isinstance(c.trigger, OneShotTrigger) and not c.stats.get("ran_once"):
                resumes = int(c.stats.get("resumes", 0))
                ctx.schedule(f"campaign:{c.id}:once:{resumes}", max(c.trigger.at, ctx.now()),
                             {"kind": "once", "campaign_id": c.id})
        return out

    def on_timer(self, ctx: TimerContext, timer: TimerLike) -> None:
        payload = dict(timer.payload)
        kind = payload.get("kind")
        tenant = ctx.tenant_id
        if kind == "tick":
            if self.lead_labels is not None:
                now = self.clock.now()
                import_lead_labels(self.profiles, self.lead_labels, tenant, since=now - self.feed_window, at=now)
            self.sweep_conversions(tenant)
            self.decide_winners(tenant)
        elif kind == "recurring":
            cid = str(payload["campaign_id"])
            self.run_occurrence(tenant, cid, occurrence_key(timer.due_at, self._tz_of(tenant, cid)), at=timer.due_at)
        elif kind == "once":
            self.run_occurrence(tenant, str(payload["campaign_id"]), ONCE, at=timer.due_at)
        elif kind == "event":
            self.run_occurrence(tenant, str(payload["campaign_id"]), str(payload["occurrence"]), at=timer.due_at,
                                phones=[str(payload["phone"])])

    def handle(self, ctx: TimerContext | None, event: DomainEvent) -> None:
        """Keep profiles, deliveries and conversions current; arm event-delayed entries."""
        self._profile(event)
        if isinstance(event, MessageStatusChanged):
            self._delivery(event)
        for signal in self.source.signals(event):
            self.attributor.attribute(signal)
        if ctx is not None:
            for key, at, payload in self.event_entries(event):
                ctx.schedule(key, at, payload)

    # -- event triggers -------------------------------------------------------------------------------
    def event_entries(self, event: DomainEvent) -> list[tuple[str, datetime, dict[str, Any]]]:
        """The delayed entries ``event`` arms: (timer key, due instant, payload). Keyed by the fact
        (the order, the appointment), so the same delivery seen twice (order and shipment events)
        enters its customer once."""
        what, phone, ref = self._trigger_fact(event)
        if what is None or phone is None:
            return []
        out = []
        for c in self.campaigns.find(event.tenant_id, statuses=_LIVE, trigger_type="event"):
            trig = c.trigger
            if isinstance(trig, EventTrigger) and trig.event == what:
                occurrence = f"evt:{ref}"
                out.append((f"campaign:{c.id}:{occurrence}", event.occurred_at + trig.delay,
                            {"kind": "event", "campaign_id": c.id, "phone": phone, "occurrence": occurrence}))
        return out

    def _trigger_fact(self, event: DomainEvent) -> tuple[str | None, str | None, str]:
        if isinstance(event, OrderStatusChanged) and event.new_status == "delivered":
            return "order_delivered", try_normalize_phone(event.customer_phone), f"order:{event.external_order_id}"
        if isinstance(event, ShipmentStatusChanged) and event.new_status == "delivered":
            ref = (f"order:{event.external_order_id}" if event.external_order_id
                   else f"shipment:{event.carrier}:{event.tracking_number}")
            return "order_delivered", try_normalize_phone(event.customer_phone), ref
        if isinstance(event, AppointmentCancelled):
            phone = None
            if self.appointments is not None:
                appt = self.appointments.get(event.tenant_id, event.appointment_id)
                phone = appt.patient_phone if appt is not None else None
            return "appointment_cancelled", phone, f"appointment:{event.appointment_id}"
        return None, None, ""

    # -- occurrences ------------------------------------------------------------------------------------
    def _tz_of(self, tenant_id: str, campaign_id: str) -> str:
        c = self.campaigns.get(tenant_id, campaign_id)
        if c is not None and isinstance(c.trigger, RecurringTrigger) and c.trigger.timezone:
            return c.trigger.timezone
        return self.timezone(tenant_id)

    def _context(self, tenant_id: str) -> AudienceContext:
        return AudienceContext(now=self.clock.now(), niche=self._niche(tenant_id), brand_code=self._brand(tenant_id))

    def run_occurrence(self, tenant_id: str, campaign_id: str, occurrence: str, *, at: datetime | None = None,
                       phones: Sequence[str] | None = None) -> OccurrenceReport:
        """Enter the audience (or the given ``phones``, if they match it) into one occurrence and
        send. Safe to call again or from two runtimes: each recipient is entered and sent once."""
        report = OccurrenceReport(campaign_id=campaign_id, occurrence=occurrence)
        campaign = self.campaigns.get(tenant_id, campaign_id)
        if campaign is None:
            report.skipped = "unknown campaign"
            return report
        if campaign.status not in _LIVE:
            report.skipped = f"campaign is {campaign.status.value}"
            return report
        trig = campaign.trigger
        runs = int(campaign.stats.get("occurrences", 0))
        if isinstance(trig, RecurringTrigger) and (
                (at is not None and trig.until is not None and at > trig.until)
                or (trig.max_occurrences is not None and runs >= trig.max_occurrences)):
            self.manager.complete(tenant_id, campaign_id)
            report.skipped = "past the recurrence's end"
            return report
        campaign = self.manager.mark_running(tenant_id, campaign_id)
        ctx = self._context(tenant_id)
        now = self.clock.now()
        if phones is not None:
            wanted = sorted({p for p in (try_normalize_phone(x) for x in phones) if p})
            pages = [[p for p in wanted if self.profiles.contains(tenant_id, campaign.audience, ctx, p)]]
        else:
            pages = None
        after: str | None = None
        while True:
            if pages is not None:
                if not pages:
                    break
                page = pages.pop()
            else:
                page = self.profiles.select(tenant_id, campaign.audience, ctx, after_phone=after, limit=self.batch)
                if not page:
                    break
                after = page[-1]
            rows = [self._new_recipient(campaign, occurrence, phone, now) for phone in page]
            fresh = self.recipients.enter_many(tenant_id, rows)
            report.entered += len(fresh)
            report.already_entered += len(rows) - len(fresh)
            to_send = [r for r in fresh if r.status == RecipientStatus.ENTERED]
            report.holdout += sum(r.status == RecipientStatus.HOLDOUT for r in fresh)
            report.waiting += sum(r.status == RecipientStatus.WAITING for r in fresh)
            self._send_all(campaign, self._consent_gate(campaign, to_send, report), report)
        # Recipients a crashed run entered but never sent (the outbox key keeps this single-send).
        left = self.recipients.find(tenant_id, campaign_id, statuses=[RecipientStatus.ENTERED], occurrence=occurrence,
                                    limit=100_000)
        self._send_all(campaign, self._consent_gate(campaign, left, report), report)
        self._after_occurrence(campaign, occurrence, report)
        return report

    def _consent_gate(self, campaign: Campaign, rows: list[Recipient], report: OccurrenceReport) -> list[Recipient]:
        """Ask İYS about a whole page at once (multi-query) before sending; recipients it refuses are
        recorded as refused here, so a campaign does not cost one İYS call per customer without
        consent. The pipeline still checks every message it is given (from the now-fresh cache)."""
        if self.consent is None or not rows or campaign.category != MessageCategory.MARKETING:
            return rows
        try:
            decisions = self.consent.prefetch(campaign.tenant_id, [r.phone for r in rows])
        except IntegrationError as exc:  # İYS down: the pipeline holds and re-checks each message
            log.warning("campaign %s: consent prefetch failed, the pipeline checks each message: %s", campaign.id, exc)
            return rows
        keep = []
        now = self.clock.now()
        for r in rows:
            decision = decisions.get(r.phone)
            if decision is not None and not getattr(decision, "allowed", True):
                reason = str(getattr(decision, "reason", None) or "no_consent")
                self.recipients.update(r.tenant_id, r.model_copy(update={
                    "status": RecipientStatus.REFUSED, "reason": reason, "updated_at": now}))
                report.refused[reason] = report.refused.get(reason, 0) + 1
            else:
                keep.append(r)
        return keep

    def _new_recipient(self, campaign: Campaign, occurrence: str, phone: str, now: datetime) -> Recipient:
        variant = assign(campaign.id, phone, campaign.variants, holdout=campaign.ab.holdout)
        status = RecipientStatus.ENTERED
        if variant == HOLDOUT:
            status = RecipientStatus.HOLDOUT
        elif not in_test(campaign.id, phone, campaign.ab.test_fraction):
            if campaign.winner is not None:
                variant = campaign.winner.rolled_out
            else:
                status = RecipientStatus.WAITING
        return Recipient(tenant_id=campaign.tenant_id, campaign_id=campaign.id, occurrence=occurrence, phone=phone,
                         variant=variant, status=status, entered_at=now, updated_at=now)

    def _send_all(self, campaign: Campaign, rows: Sequence[Recipient], report: OccurrenceReport) -> None:
        if self.senders == 1 or len(rows) < 2:
            for r in rows:
                self._send(campaign, r, report)
            return
        with ThreadPoolExecutor(max_workers=self.senders, thread_name_prefix="campaign-send") as pool:
            for _ in pool.map(lambda r: self._send(campaign, r, report), rows):
                pass

    def _send(self, campaign: Campaign, r: Recipient, report: OccurrenceReport) -> None:
        variant = campaign.variant(r.variant)
        now = self.clock.now()
        if variant is None:  # pragma: no cover - variants are frozen once scheduled
            self.recipients.update(r.tenant_id, r.model_copy(update={
                "status": RecipientStatus.SKIPPED, "reason": "unknown variant", "updated_at": now}))
            return
        profile = self.profiles.get(r.tenant_id, r.phone)
        context = self.facts.context(r.tenant_id, r.phone, profile, timezone=self.timezone(r.tenant_id))
        rendered = render(variant, context, campaign_name=campaign.name, now=now, personalizer=self.personalizer,
                          guardrails=self.guardrails)
        message = OutboundMessage(
            tenant_id=r.tenant_id, to_phone=r.phone, idempotency_key=f"campaign:{campaign.id}:{r.occurrence}:{r.phone}",
            category=campaign.category, purpose="campaign", template=rendered.template, text=rendered.text,
            # Outbox columns, message events and WhatsApp's biz_opaque_callback_data carry it.
            correlation=Correlation(campaign_id=campaign.id, variant=r.variant),
            metadata={"campaign_id": campaign.id, "variant": r.variant, "occurrence": r.occurrence,
                      "ai_used": rendered.ai_used, "ai_rejected": rendered.ai_rejected[:5]})
        try:
            result = self.sink.submit(message)
        except IntegrationError as exc:
            log.warning("campaign %s: submit to %s failed: %s", campaign.id, r.phone, exc)
            self.recipients.update(r.tenant_id, r.model_copy(update={
                "status": RecipientStatus.FAILED, "reason": type(exc).__name__, "updated_at": now}))
            with self._report_lock:
                report.failed += 1
            return
        update: dict[str, Any] = {"message_id": result.message_id, "updated_at": now}
        with self._report_lock:
            if result.status == "refused":
                update.update(status=RecipientStatus.REFUSED, reason=result.reason)
                reason = result.reason or "refused"
                report.refused[reason] = report.refused.get(reason, 0) + 1
            elif result.status == "failed":
                update.update(status=RecipientStatus.FAILED, reason=result.reason, delivery="failed")
                report.failed += 1
            else:
                update.update(status=RecipientStatus.SUBMITTED, submitted_at=now,
                              delivery="accepted" if result.status == "sent" else r.delivery)
                report.submitted += 1
        self.recipients.update(r.tenant_id, r.model_copy(update=update))

    def _after_occurrence(self, campaign: Campaign, occurrence: str, report: OccurrenceReport) -> None:
        runs = int(campaign.stats.get("occurrences", 0)) + (1 if report.entered else 0)
        stats: dict[str, Any] = {"last_occurrence": occurrence, "occurrences": runs}
        if isinstance(campaign.trigger, OneShotTrigger):
            stats["ran_once"] = True
        self.manager.update_stats(campaign.tenant_id, campaign.id, **stats)
        if isinstance(campaign.trigger, OneShotTrigger) and campaign.ab.test_fraction is None:
            self.manager.complete(campaign.tenant_id, campaign.id)

    # -- deliveries -------------------------------------------------------------------------------------
    def _delivery(self, event: MessageStatusChanged) -> None:
        r = self.recipients.by_message(event.tenant_id, event.message_id)
        if r is None:
            return
        new = event.status
        if new not in _RANK or (r.delivery is not None and _RANK.get(r.delivery, -1) >= _RANK[new]):
            return
        if new == "failed" and r.delivery in ("delivered", "read"):
            return
        update: dict[str, Any] = {"delivery": new, "updated_at": self.clock.now()}
        if new in ("delivered", "read") and r.delivered_at is None:
            update["delivered_at"] = event.occurred_at
        if new == "read":
            update["read_at"] = event.occurred_at
        if new == "failed":
            update.update(status=RecipientStatus.FAILED, reason=f"provider:{event.error_code}")
        elif r.submitted_at is None:
            update["submitted_at"] = event.occurred_at
        self.recipients.update(event.tenant_id, r.model_copy(update=update))

    # -- the audience projection ------------------------------------------------------------------------
    def _profile(self, event: DomainEvent) -> None:
        if isinstance(event, OrderCreated):
            phone = try_normalize_phone(event.customer_phone) if event.customer_phone else None
            if phone is None:
                return
            value, currency = (EventConversions(orders=getattr(self.source, "orders", None))._order_value(event))
            self.profiles.record_order(event.tenant_id, phone, order_ref=f"{event.provider}:{event.external_order_id}",
                                       at=event.occurred_at, total=value, currency=currency, platform=event.provider)
        elif isinstance(event, AppointmentBooked):
            phone = try_normalize_phone(event.patient_phone)
            if phone is not None:
                self.profiles.record_appointment(event.tenant_id, phone, appointment_ref=event.appointment_id,
                                                 at=event.starts_at, service=event.service_name)

    def sweep_conversions(self, tenant_id: str) -> int:
        """Credit what the conversion feed recorded in the last ``feed_window`` (idempotent: a fact
        converts once, so overlapping sweeps change nothing); returns how many were new."""
        if self.feed is None:
            return 0
        now = self.clock.now()
        return sum(self.attributor.attribute(s) is not None
                   for s in self.feed.signals_between(tenant_id, now - self.feed_window,
                                                      now + timedelta(microseconds=1)))  # [since, until)

    # -- A/B winners --------------------------------------------------------------------------------------
    def decide_winners(self, tenant_id: str) -> list[WinnerDecision]:
        """For running campaigns with ``auto_winner``: decide at the fixed horizon, then roll out."""
        out = []
        for c in self.campaigns.find(tenant_id, statuses=[CampaignStatus.RUNNING]):
            if c.winner is None and c.ab.auto_winner and c.ab.test_fraction is not None and len(c.variants) > 1:
                decision = self.decide_winner(tenant_id, c.id)
                if decision is not None:
                    out.append(decision)
        return out

    def decide_winner(self, tenant_id: str, campaign_id: str) -> WinnerDecision | None:
        c = self.manager.get(tenant_id, campaign_id)
        if c.winner is not None:
            return c.winner
        planned = self.planned_per_variant(c)
        counts = self.recipients.counts(tenant_id, campaign_id)
        types = _metric_types(c.ab.metric)
        converted = self.conversions.converted_phones(tenant_id, campaign_id, types)
        arms = [(v.name, counts[v.name].submitted if v.name in counts else 0, len(converted.get(v.name, set())))
                for v in c.variants]
        last_sent = max((r.submitted_at for r in self.recipients.find(
            tenant_id, campaign_id, statuses=[RecipientStatus.SUBMITTED], limit=10_000_000)
            if r.submitted_at is not None), default=None)
        closed = last_sent is not None and self.clock.now() >= last_sent + c.conversion_window
        decision = FixedHorizonRule(min_per_variant=planned, alpha=c.ab.alpha).decide(arms, window_closed=closed)
        if not decision.ready:
            return None
        return self.roll_out(tenant_id, campaign_id, decision.winner or c.variants[0].name,
                             winner=decision.winner, p_value=decision.p_value, reason=decision.reason)

    @staticmethod
    def planned_per_variant(c: Campaign) -> int:
        if c.ab.baseline_rate is not None and c.ab.minimum_detectable_effect is not None:
            return sample_size_per_variant(c.ab.baseline_rate, c.ab.minimum_detectable_effect, alpha=c.ab.alpha,
                                           power=c.ab.power)
        return 1000

    def roll_out(self, tenant_id: str, campaign_id: str, variant: str, *, winner: str | None = None,
                 p_value: float | None = None, reason: str = "declared by hand") -> WinnerDecision:
        """Record the decision and send ``variant`` to every recipient still waiting."""
        c = self.manager.get(tenant_id, campaign_id)
        if c.variant(variant) is None:
            raise InvalidArgument(f"no variant {variant!r}", field="variant", record=campaign_id)
        decision = WinnerDecision(decided_at=self.clock.now(), winner=winner if winner is not None else variant,
                                  rolled_out=variant, p_value=p_value, reason=reason)
        if winner is None and reason != "declared by hand":
            decision = decision.model_copy(update={"winner": None})
        for _ in range(5):
            current = self.manager.get(tenant_id, campaign_id)
            if current.winner is not None:
                decision = current.winner
                break
            updated = current.model_copy(update={"winner": decision, "version": current.version + 1,
                                                 "updated_at": self.clock.now()})
            if self.campaigns.replace(tenant_id, updated, expected_version=current.version):
                break
        c = self.manager.get(tenant_id, campaign_id)
        report = OccurrenceReport(campaign_id=campaign_id, occurrence="rollout")
        while True:
            waiting = self.recipients.find(tenant_id, campaign_id, statuses=[RecipientStatus.WAITING],
                                           limit=self.batch)
            if not waiting:
                break
            for r in waiting:
                r2 = r.model_copy(update={"variant": decision.rolled_out, "status": RecipientStatus.ENTERED,
                                          "updated_at": self.clock.now()})
                self.recipients.update(tenant_id, r2)
                self._send(c, r2, report)
        if isinstance(c.trigger, OneShotTrigger) and c.status in _LIVE:
            self.manager.complete(tenant_id, campaign_id)
        return decision


def _metric_types(metric: str) -> list[str]:
    return ["reply", "purchase", "appointment"] if metric == "any" else [metric]


