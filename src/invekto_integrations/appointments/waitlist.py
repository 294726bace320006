"""The waitlist engine: a cancelled appointment's slot is offered to the best-matching waiting
patient, held for a while, passed on after a "no" or silence, and booked on a "yes".

Flow (all state is in the `WaitlistRepository`, so any number of workers can run it):

1. `poll` consumes `AppointmentCancelled` from the event log (durable cursor, whatever the
   ``source``: local or the calendar sync) and calls `offer_slot`.
2. `offer_slot` ranks the waiting entries (priority, then first come), keeps those whose
   service fits the freed time with that doctor and whose date/time/doctor preferences match,
   and offers the slot to the first ``fanout`` of them: the entry becomes ``offered``, an offer
   row holds the slot until ``expires_at`` (the slot finder treats it as busy), and an
   `OutboundMessage` (UTILITY, purpose ``waitlist_offer``, idempotency key per offer) goes to the
   `MessageSink` (the send pipeline in production).
3. `handle_reply` (or `poll_replies`, which consumes `InboundMessageReceived`) reads the
   patient's answer. "evet"/"tamam"/"1" claims the offer (compare-and-set ``pending →
   accepted``; a duplicate or late answer loses that race) and books through `AppointmentBook`,
   i.e. `book_if_free`: exactly one patient gets the slot even when several answer at once.
   "hayır"/"yok"/"2" declines; the slot moves on to the next patient.
4. `expire_due` (clock-driven) expires unanswered offers and moves the slot on.

The hold starts when the patient can see the offer, not when it is made. With a sink that can
tell (`SchedulingSink`: the send pipeline), an offer the pipeline holds (quiet hours 21:00–09:00,
``not_before``) gets ``expires_at = release + hold``: a slot freed at 23:30 is offered at 09:00 and
held until 09:30. If the message goes out later still (the provider throttled it, İYS could not be
asked), `expire_due` does not expire the offer while its message is waiting, nor before ``hold``
has passed since the provider accepted it. A slot whose offer could not reach the patient
``min_notice`` before it starts is not offered. A sink that cannot tell (`RecordingSink`) starts the
hold when the offer is made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import IntegrationError
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.phone import normalize_phone, try_normalize_phone
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.events import EventBus, EventConsumer
from invekto_integrations.messaging.base import (
    MessageCategory,
    MessageSink,
    OutboundMessage,
    SchedulingSink,
    TemplateRef,
)
from invekto_integrations.messaging.consent import fold_keyword
from invekto_integrations.models.events import (
    AppointmentCancelled,
    DomainEvent,
    InboundMessageReceived,
    WaitlistOfferMade,
    WaitlistOfferResolved,
)
from invekto_integrations.storage.protocols import EventLog, WaitlistRepository
from invekto_integrations.storage.settings import TenantSettingsRepository, tenant_settings

from ._turkish import format_when
from .booking import AppointmentBook
from .errors import AppointmentError, SlotUnavailable
from .models import (
    Appointment,
    AppointmentStatus,
    Doctor,
    OfferStatus,
    ServicePricing,
    TimeRange,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)

__all__ = ["ReplyOutcome", "WaitlistEngine", "WaitlistSettings", "parse_answer"]

log = logging.getLogger("invekto_integrations.appointments.waitlist")

_YES = frozenset({"evet", "tamam", "1", "e", "olur", "kabul", "onay", "onayliyorum", "evet istiyorum"})
# ("iptal"/"dur" are left out: the send pipeline reads them as an opt-out.)
_NO = frozenset({"hayir", "yok", "2", "h", "istemiyorum", "hayir istemiyorum", "gelemem", "uygun degil"})


def parse_answer(text: str | None) -> bool | None:
    """``True`` for a yes ("evet", "EVET", "Tamam.", "1"), ``False`` for a no ("hayır", "HAYIR",
    "yok"), ``None`` for anything else. Case- and Turkish-letter-insensitive."""
    if not text:
        return None
    folded = fold_keyword(text)
    if not folded:
        return None
    first = folded.split()[0]
    if folded in _YES or first in _YES:
        return True
    if folded in _NO or first in _NO:
        return False
    return None


class ReplyOutcome(StrEnum):
    BOOKED = "booked"  # the slot is now the patient's appointment
    LOST = "lost"  # said yes, but the slot was gone
    DECLINED = "declined"
    EXPIRED = "expired"  # answered after the hold ended
    NO_OFFER = "no_offer"  # nothing pending for this phone (not an answer to us)
    NOT_UNDERSTOOD = "not_understood"


class WaitlistSettings(BaseModel):
    """One tenant's waitlist rules."""

    model_config = ConfigDict(frozen=True)

    hold: timedelta = timedelta(minutes=30)  # how long an offer holds the slot
    fanout: int = 1  # patients offered one slot at once (first "yes" wins)
    preferred_time_flex: timedelta = timedelta(hours=2)  # tolerance around ``preferred_time``
    min_notice: timedelta = timedelta(hours=1)  # slots starting sooner are not offered
    template_name: str | None = "bekleme_listesi_teklif"  # None = free text (inside the 24-hour window)
    template_language: str = "tr"
    clinic_name: str | None = None


class WaitlistEngine(ConciseRepr, fields=("clock",)):
    CONSUMER = "appointments.waitlist"
    REPLY_CONSUMER = "appointments.waitlist.replies"

    def __init__(self, waitlist: WaitlistRepository, book: AppointmentBook, sink: MessageSink,
                 events: EventLog | EventBus, *,
                 clock: Clock | None = None, settings: WaitlistSettings | None = None,
                 tenant_settings: dict[str, WaitlistSettings] | None = None,
                 settings_repository: TenantSettingsRepository | None = None) -> None:
        """``events``: the `EventBus` offers are published on (a bare `EventLog` gets its own bus)."""
        self.waitlist = waitlist
        self.book = book
        self.slots = book.slots
        self.sink = sink
        self.clock = clock or SystemClock()
        self.bus = events if isinstance(events, EventBus) else EventBus(events, self.clock)
        self.events = self.bus.log
        self.default_settings = settings or WaitlistSettings()
        self._settings = dict(tenant_settings or {})
        self.settings_repository = settings_repository  # the tenant's timezone for doctors without one
        self._cancellations = EventConsumer(self.events, self.CONSUMER, types=[AppointmentCancelled.TYPE])
        self._replies = EventConsumer(self.events, self.REPLY_CONSUMER, types=[InboundMessageReceived.TYPE])

    def settings(self, tenant_id: str) -> WaitlistSettings:
        return self._settings.get(tenant_id, self.default_settings)

    # --- entries -----------------------------------------------------------------------------
    def join(self, tenant_id: str, patient_phone: str, service_type: str, *, patient_name: str | None = None,
             doctor_id: str | None = None, preferred_date: date | None = None, preferred_time: time | None = None,
             date_from: date | None = None, date_to: date | None = None,
             time_windows: Sequence[TimeRange] = (), priority: int = 0) -> WaitlistEntry:
        """Put a patient on the waitlist (the service must exist: `UnknownService` otherwise)."""
        service = self.slots.service(tenant_id, service_type)
        now = self.clock.now()
        entry = WaitlistEntry(
            id=new_id(), tenant_id=tenant_id, patient_phone=normalize_phone(patient_phone), patient_name=patient_name,
            service_type=service.service_name, doctor_id=doctor_id, preferred_date=preferred_date,
            preferred_time=preferred_time, date_from=date_from, date_to=date_to, time_windows=list(time_windows),
            priority=priority, created_at=now, updated_at=now,
        )
        self.waitlist.add(tenant_id, entry)
        return entry

    def leave(self, tenant_id: str, entry_id: str) -> bool:
        return self.waitlist.set_status(tenant_id, entry_id, [WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
                                        WaitlistStatus.REMOVED, self.clock.now()) is not None

    # --- matching ----------------------------------------------------------------------------
    def _matches(self, entry: WaitlistEntry, doctor: Doctor, starts_at: datetime, ends_at: datetime,
                 settings: WaitlistSettings) -> bool:
        if entry.doctor_id is not None and entry.doctor_id != doctor.id:
            return False
        zone = ZoneInfo(doctor.timezone)
        local_start, local_end = starts_at.astimezone(zone), ends_at.astimezone(zone)
        day = local_start.date()
        if entry.preferred_date is not None and day != entry.preferred_date:
            return False
        if entry.date_from is not None and day < entry.date_from:
            return False
        if entry.date_to is not None and day > entry.date_to:
            return False
        if entry.time_windows:
            if local_end.date() != day:
                return False
            return any(w.contains(local_start.time(), local_end.time()) for w in entry.time_windows)
        if entry.preferred_time is not None:
            wanted = datetime.combine(day, entry.preferred_time, tzinfo=zone)
            return abs(local_start - wanted) <= settings.preferred_time_flex
        return True

    def candidates(self, tenant_id: str, freed: Appointment) -> list[tuple[WaitlistEntry, ServicePricing]]:
        """Waiting entries that fit the freed time of ``freed`` (a cancelled appointment), in fair
        order, each with the service it would be booked as."""
        settings = self.settings(tenant_id)
        doctor = self.slots.doctor(tenant_id, freed.doctor_id)
        window = freed.blocked_until - freed.starts_at
        out: list[tuple[WaitlistEntry, ServicePricing]] = []
        services: dict[str, ServicePricing | None] = {}
        for entry in self.waitlist.find(tenant_id, statuses=[WaitlistStatus.WAITING]):
            if entry.service_type not in services:
                services[entry.service_type] = self.slots.services.get_active(tenant_id, entry.service_type)
            service = services[entry.service_type]
            if service is None:
                continue
            need = timedelta(minutes=service.duration_minutes + service.buffer_minutes)
            if need > window:
                continue
            ends_at = freed.starts_at + timedelta(minutes=service.duration_minutes)
            if not self._matches(entry, doctor, freed.starts_at, ends_at, settings):
                continue
            if self.slots.check(tenant_id, doctor, service, freed.starts_at, ignore_source=freed.id) is not None:
                continue
            out.append((entry, service))
        return out

    # --- offering ----------------------------------------------------------------------------
    def poll(self, tenant_id: str) -> int:
        """Offer the slots of cancellations not handled yet; returns how many events were handled.
        Takes no lease: for scripts and tests; a deployment runs `WaitlistOfferEngine` on a `Runtime`
        (same code and cursor), never both for one tenant (docs/runtime.md)."""
        def handle(event: DomainEvent) -> None:
            if isinstance(event, AppointmentCancelled):
                self.offer_slot(tenant_id, event.appointment_id)

        return self._cancellations.poll(tenant_id, handle)

    def offer_slot(self, tenant_id: str, source_appointment_id: str) -> list[WaitlistOffer]:
        """Offer the freed slot of a cancelled appointment to the next matching patients (up to
        ``fanout`` pending offers per slot). Safe to call again: it only tops up."""
        freed = self.book.appointments.get(tenant_id, source_appointment_id)
        if freed is None or freed.status != AppointmentStatus.CANCELLED:
            return []
        settings = self.settings(tenant_id)
        now = self.clock.now()
        if freed.starts_at < now + settings.min_notice:
            return []
        existing = self.waitlist.find_offers(tenant_id, source_appointment_id=source_appointment_id)
        if any(o.status == OfferStatus.ACCEPTED for o in existing):
            return []
        pending = sum(1 for o in existing if o.status == OfferStatus.PENDING and o.expires_at > now)
        offered_entries = {o.entry_id for o in existing}
        made: list[WaitlistOffer] = []
        for stalled in existing:
            if stalled.status != OfferStatus.PENDING or stalled.expires_at <= now:
                continue
            if stalled.message_id is None:
                # A pending offer without a message: a worker stopped between storing and sending it
                # (the cancellation is delivered again). Finish it: same message key, same event key.
                entry = self.waitlist.get(tenant_id, stalled.entry_id)
                if entry is None or self._announce(tenant_id, stalled, entry, settings, now) is None:
                    pending -= 1
            else:
                # Sent, but the worker may have stopped before publishing: publish again (the event's
                # dedupe key makes a second publish a no-op; nothing is sent twice).
                self._publish_offer_made(tenant_id, stalled, now)
        for entry, service in self.candidates(tenant_id, freed):
            if pending + len(made) >= settings.fanout:
                break
            if entry.id in offered_entries:
                continue
            offer = self._offer(tenant_id, entry, service, freed, settings)
            if offer is not None:
                made.append(offer)
        return made

    def _offer(self, tenant_id: str, entry: WaitlistEntry, service: ServicePricing, freed: Appointment,
               settings: WaitlistSettings) -> WaitlistOffer | None:
        now = self.clock.now()
        offer = WaitlistOffer(
            id=new_id(), tenant_id=tenant_id, entry_id=entry.id, patient_phone=entry.patient_phone,
            doctor_id=freed.doctor_id, service_name=service.service_name, starts_at=freed.starts_at,
            ends_at=freed.starts_at + timedelta(minutes=service.duration_minutes),
            buffer_minutes=service.buffer_minutes, source_appointment_id=freed.id, expires_at=now + settings.hold,
            created_at=now,
        )
        # The hold starts when the patient can see the offer (quiet hours may hold the message).
        seen_from = self._release_time(self._offer_message(offer, entry, settings), now)
        if freed.starts_at < seen_from + settings.min_notice:
            log.info("waitlist offer for %s not made: the message could only go out at %s", freed.id, seen_from)
            return None
        offer = offer.model_copy(update={"expires_at": seen_from + settings.hold})
        # The offer row is the claim: `add_offer` refuses a second pending offer of the entry (another
        # slot got there first) atomically. The entry, the message and the event follow; a worker that
        # stops in between leaves a pending offer without a message, which `offer_slot` finishes.
        if not self.waitlist.add_offer(tenant_id, offer):
            return None
        return self._announce(tenant_id, offer, entry, settings, now)

    def _announce(self, tenant_id: str, offer: WaitlistOffer, entry: WaitlistEntry, settings: WaitlistSettings,
                  now: datetime) -> WaitlistOffer | None:
        """Mark the entry offered, send the offer (idempotency key per offer) and publish it."""
        if self.waitlist.set_status(tenant_id, entry.id, [WaitlistStatus.WAITING], WaitlistStatus.OFFERED,
                                    now) is None:
            current = self.waitlist.get(tenant_id, entry.id)
            if current is None or current.status != WaitlistStatus.OFFERED:  # left or booked meanwhile
                self.waitlist.resolve_offer(tenant_id, offer.id, [OfferStatus.PENDING], OfferStatus.WITHDRAWN, now)
                return None
        status: str
        reason: str | None
        try:
            result = self.sink.submit(self._offer_message(offer, entry, settings))
        except IntegrationError as exc:  # the sink could not take it: do not hold a slot nobody was told about
            log.warning("waitlist offer %s could not be submitted: %s", offer.id, exc)
            status, reason = "failed", str(exc)
        else:
            self.waitlist.set_offer_message(tenant_id, offer.id, result.message_id)
            status, reason = result.status, result.reason
        if status in ("refused", "failed"):
            # The patient cannot be reached (opt-out, consent, undeliverable): release and move on.
            log.info("waitlist offer %s not sent (%s: %s)", offer.id, status, reason)
            self.waitlist.resolve_offer(tenant_id, offer.id, [OfferStatus.PENDING], OfferStatus.WITHDRAWN, now)
            self.waitlist.set_status(tenant_id, entry.id, [WaitlistStatus.OFFERED], WaitlistStatus.WAITING, now)
            return None
        self._publish_offer_made(tenant_id, offer, now)
        return self.waitlist.get_offer(tenant_id, offer.id)

    def _publish_offer_made(self, tenant_id: str, offer: WaitlistOffer, now: datetime) -> None:
        self.bus.publish(tenant_id, [WaitlistOfferMade(
            tenant_id=tenant_id, occurred_at=now, dedupe_key=f"waitlist.offer_made:{offer.id}", offer_id=offer.id,
            entry_id=offer.entry_id, patient_phone=offer.patient_phone, doctor_id=offer.doctor_id,
            service_name=offer.service_name, starts_at=offer.starts_at, expires_at=offer.expires_at,
            source_appointment_id=offer.source_appointment_id,
        )])

    def _release_time(self, message: OutboundMessage, now: datetime) -> datetime:
        if isinstance(self.sink, SchedulingSink):
            return max(now, self.sink.release_time(message))
        return now

    def _hold_running(self, offer: WaitlistOffer, settings: WaitlistSettings, now: datetime) -> bool:
        """Whether an offer past ``expires_at`` must still wait: its message has not gone out yet,
        or went out less than ``hold`` ago (a retry or a deferral delayed it)."""
        if offer.message_id is None or not isinstance(self.sink, SchedulingSink):
            return False
        delivery = self.sink.delivery(offer.tenant_id, offer.message_id)
        if delivery is None:
            return False
        if delivery.waiting:
            return True
        return delivery.accepted_at is not None and delivery.accepted_at + settings.hold > now

    def _held_until(self, offer: WaitlistOffer, settings: WaitlistSettings, now: datetime) -> datetime:
        """The end of a running hold: ``hold`` after the provider accepted the message, or (still
        waiting) at least ``hold`` from now."""
        delivery = self.sink.delivery(offer.tenant_id, offer.message_id or "") \
            if isinstance(self.sink, SchedulingSink) else None
        if delivery is not None and not delivery.waiting and delivery.accepted_at is not None:
            return delivery.accepted_at + settings.hold
        return now + settings.hold

    def _resolved(self, offer: WaitlistOffer, status: OfferStatus, appointment_id: str | None = None) -> None:
        now = self.clock.now()
        self.bus.publish(offer.tenant_id, [WaitlistOfferResolved(
            tenant_id=offer.tenant_id, occurred_at=now, dedupe_key=f"waitlist.offer_resolved:{offer.id}",
            offer_id=offer.id, entry_id=offer.entry_id, status=status.value,
            source_appointment_id=offer.source_appointment_id, appointment_id=appointment_id,
        )])

    def _doctor_name(self, tenant_id: str, doctor_id: str) -> tuple[str, str]:
        doctor = self.slots.doctors.get(tenant_id, doctor_id)
        if doctor is not None:
            return doctor.name, doctor.timezone
        return doctor_id, tenant_settings(self.settings_repository, tenant_id).timezone

    def offer_text(self, offer: WaitlistOffer, entry: WaitlistEntry, settings: WaitlistSettings) -> str:
        name, tz = self._doctor_name(offer.tenant_id, offer.doctor_id)
        minutes = int(settings.hold.total_seconds() // 60)
        hello = f"Merhaba {entry.patient_name}," if entry.patient_name else "Merhaba,"
        clinic = f"{settings.clinic_name} - " if settings.clinic_name else ""
        return (f"{clinic}{hello} {name} ile {format_when(offer.starts_at, tz)} için {offer.service_name} "
                f"randevusu açıldı. Almak isterseniz {minutes} dakika içinde EVET, istemezseniz HAYIR yazın.")

    def _offer_message(self, offer: WaitlistOffer, entry: WaitlistEntry,
                       settings: WaitlistSettings) -> OutboundMessage:
        name, tz = self._doctor_name(offer.tenant_id, offer.doctor_id)
        template = None
        text = None
        if settings.template_name:
            slot = f"{format_when(offer.starts_at, tz)} {offer.service_name} ({name})"
            template = TemplateRef(name=settings.template_name, language=settings.template_language,
                                   body_params=[entry.patient_name or "Sayın hastamız", slot])
        else:
            text = self.offer_text(offer, entry, settings)
        return OutboundMessage(
            tenant_id=offer.tenant_id, to_phone=offer.patient_phone, idempotency_key=f"waitlist_offer:{offer.id}",
            category=MessageCategory.UTILITY, purpose="waitlist_offer", template=template, text=text,
            metadata={"offer_id": offer.id, "entry_id": entry.id, "source_appointment_id": offer.source_appointment_id,
                      "expires_at": offer.expires_at.isoformat()},
        )

    def _notify(self, offer: WaitlistOffer, kind: str, text: str) -> None:
        """A reply inside the conversation the patient just opened (SERVICE category)."""
        self.sink.submit(OutboundMessage(
            tenant_id=offer.tenant_id, to_phone=offer.patient_phone, idempotency_key=f"waitlist_{kind}:{offer.id}",
            category=MessageCategory.SERVICE, purpose=f"waitlist_{kind}", text=text,
            metadata={"offer_id": offer.id},
        ))

    # --- answers -----------------------------------------------------------------------------
    def poll_replies(self, tenant_id: str) -> int:
        """Consume inbound WhatsApp messages (`InboundMessageReceived`) as possible answers.
        Takes no lease: for scripts and tests; a deployment runs `WaitlistReplyEngine` on a `Runtime`
        (same code and cursor), never both for one tenant (docs/runtime.md)."""
        def handle(event: DomainEvent) -> None:
            if isinstance(event, InboundMessageReceived) and event.text:
                self.handle_reply(tenant_id, event.from_phone, event.text)

        return self._replies.poll(tenant_id, handle)

    def handle_reply(self, tenant_id: str, phone: str, text: str) -> ReplyOutcome:
        """Apply a patient's answer to their pending offer (the newest one if several)."""
        normalized = try_normalize_phone(phone) or try_normalize_phone("+" + phone.lstrip("+"))
        if normalized is None:
            return ReplyOutcome.NO_OFFER
        self.expire_due(tenant_id)
        now = self.clock.now()
        pending = self.waitlist.find_offers(tenant_id, statuses=[OfferStatus.PENDING], patient_phone=normalized)
        if not pending:
            recent = self.waitlist.find_offers(tenant_id, statuses=[OfferStatus.EXPIRED], patient_phone=normalized)
            if recent and parse_answer(text) is True:
                late = recent[-1]
                self._notify(late, "late", "Üzgünüz, bu randevu teklifinin süresi doldu. Sizi bekleme listesinde "
                                           "tutuyoruz; yeni bir yer açılınca haber vereceğiz.")
                return ReplyOutcome.EXPIRED
            return ReplyOutcome.NO_OFFER
        offer = pending[-1]
        answer = parse_answer(text)
        if answer is None:
            return ReplyOutcome.NOT_UNDERSTOOD
        if answer is False:
            if self.waitlist.resolve_offer(tenant_id, offer.id, [OfferStatus.PENDING], OfferStatus.DECLINED,
                                           now) is None:
                return ReplyOutcome.NO_OFFER
            self.waitlist.set_status(tenant_id, offer.entry_id, [WaitlistStatus.OFFERED], WaitlistStatus.WAITING, now)
            self._resolved(offer, OfferStatus.DECLINED)
            self.offer_slot(tenant_id, offer.source_appointment_id)
            return ReplyOutcome.DECLINED
        return self._accept(offer)

    def _accept(self, offer: WaitlistOffer) -> ReplyOutcome:
        tenant_id = offer.tenant_id
        now = self.clock.now()
        claimed = self.waitlist.resolve_offer(tenant_id, offer.id, [OfferStatus.PENDING], OfferStatus.ACCEPTED, now)
        if claimed is None:  # a concurrent answer (or the expiry) got there first
            current = self.waitlist.get_offer(tenant_id, offer.id)
            if current is not None and current.status == OfferStatus.ACCEPTED:
                return ReplyOutcome.BOOKED if current.appointment_id else ReplyOutcome.LOST
            if current is not None and current.status in (OfferStatus.WITHDRAWN, OfferStatus.LOST):
                return ReplyOutcome.LOST
            return ReplyOutcome.EXPIRED
        entry = self.waitlist.get(tenant_id, offer.entry_id)
        try:
            appt = self.book.book(
                tenant_id, doctor_id=offer.doctor_id, service_name=offer.service_name, starts_at=offer.starts_at,
                patient_phone=offer.patient_phone, patient_name=entry.patient_name if entry else None,
                notes=f"bekleme listesi teklifi {offer.id}", ignore_source=offer.source_appointment_id,
            )
        except (SlotUnavailable, AppointmentError) as exc:
            log.info("waitlist offer %s accepted but the slot is gone: %s", offer.id, exc)
            self.waitlist.resolve_offer(tenant_id, offer.id, [OfferStatus.ACCEPTED], OfferStatus.LOST, now)
            self.waitlist.set_status(tenant_id, offer.entry_id, [WaitlistStatus.OFFERED], WaitlistStatus.WAITING, now)
            self._resolved(offer, OfferStatus.LOST)
            self._notify(offer, "lost", "Üzgünüz, bu saat başka bir hastamıza verildi. Sizi bekleme listesinde "
                                        "tutuyoruz.")
            return ReplyOutcome.LOST
        self.waitlist.resolve_offer(tenant_id, offer.id, [OfferStatus.ACCEPTED], OfferStatus.ACCEPTED, now,
                                    appointment_id=appt.id)
        self.waitlist.set_status(tenant_id, offer.entry_id, [WaitlistStatus.OFFERED], WaitlistStatus.BOOKED, now)
        self._resolved(offer, OfferStatus.ACCEPTED, appt.id)
        name, tz = self._doctor_name(tenant_id, offer.doctor_id)
        self._notify(offer, "booked", f"Randevunuz oluşturuldu: {name}, {format_when(appt.starts_at, tz)}, "
                                      f"{appt.service_name}. Görüşmek üzere!")
        # Other patients offered the same slot (fanout > 1) are told it is gone.
        for other in self.waitlist.find_offers(tenant_id, statuses=[OfferStatus.PENDING],
                                               source_appointment_id=offer.source_appointment_id):
            if self.waitlist.resolve_offer(tenant_id, other.id, [OfferStatus.PENDING], OfferStatus.WITHDRAWN,
                                           now) is not None:
                self.waitlist.set_status(tenant_id, other.entry_id, [WaitlistStatus.OFFERED],
                                         WaitlistStatus.WAITING, now)
                self._resolved(other, OfferStatus.WITHDRAWN)
                self._notify(other, "withdrawn", "Bu randevu teklifi başka bir hastamız tarafından alındı. Sizi "
                                                 "bekleme listesinde tutuyoruz.")
        return ReplyOutcome.BOOKED

    # --- time --------------------------------------------------------------------------------
    def expire_due(self, tenant_id: str) -> int:
        """Expire offers whose hold ended and pass their slots on; returns how many expired. Safe to
        call from anywhere (every step is a compare-and-set); `WaitlistOfferEngine` runs it on its
        ``expire`` timer."""
        now = self.clock.now()
        settings = self.settings(tenant_id)
        expired = 0
        sources: list[str] = []
        for offer in self.waitlist.find_offers(tenant_id, statuses=[OfferStatus.PENDING], expires_before=now):
            if self._hold_running(offer, settings, now):
                # The offer went out late: its stored expiry moves with it (the slot finder reads it).
                self.waitlist.extend_offer(tenant_id, offer.id, self._held_until(offer, settings, now))
                continue
            if self.waitlist.resolve_offer(tenant_id, offer.id, [OfferStatus.PENDING], OfferStatus.EXPIRED,
                                           now) is None:
                continue
            expired += 1
            self.waitlist.set_status(tenant_id, offer.entry_id, [WaitlistStatus.OFFERED], WaitlistStatus.WAITING, now)
            self._resolved(offer, OfferStatus.EXPIRED)
            if offer.source_appointment_id not in sources:
                sources.append(offer.source_appointment_id)
        for source in sources:
            self.offer_slot(tenant_id, source)
        return expired

    def run_once(self, tenant_id: str) -> None:
        """One scheduler tick: new cancellations, inbound answers, expiries. Takes no lease: for
        scripts and tests; a deployment runs `WaitlistOfferEngine` and `WaitlistReplyEngine` on a
        `Runtime` (same code and cursors), never both for one tenant (docs/runtime.md)."""
        self.poll(tenant_id)
        self.poll_replies(tenant_id)
        self.expire_due(tenant_id)
