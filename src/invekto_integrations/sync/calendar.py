"""Two-way sync between our appointments and each doctor's calendar (Google Calendar, 3.19.1).

Model (docs/calendar.md has the long version):

- **Ours → calendar.** Every appointment with a calendar gets one event whose id is derived from
  (tenant, appointment id) (`event_id_for`), so a repeated insert cannot create a second event. The
  event carries ``extendedProperties.private`` stamps: ``clinicApptId``, ``clinicTenant``,
  ``clinicOrigin="sdk"``, ``clinicRev`` (our version) and ``clinicStart``/``clinicEnd`` (the times
  we wrote). Changes are pushed with ``If-Match: <etag we last saw>``, so a concurrent edit in the
  calendar is detected (412), never overwritten blindly. Pushing is driven by the appointment
  events in the event log (`push_pending`) and is idempotent: an appointment whose
  ``synced_version`` equals its ``version`` is left alone.
- **Calendar → ours.** Per (tenant, calendar), an incremental listing with the stored sync token
  (the first run, and any run after a 410, is a full sync over ``full_sync_window``). Events are
  matched to appointments by the private ``clinicApptId`` stamp, then by event id, never by time,
  so a full resync cannot duplicate anything: we never create appointments from calendar events.
  Events that are not ours become **busy time** (a mirror used by `MirrorBusyTimes`; titles are not
  kept); they are not imported as appointments.
- **Echo suppression.** An incoming event whose etag is the one we stored after our own write is
  our echo and is skipped; so is the tombstone of an appointment we cancelled ourselves.
- **Conflict rule.** A cancellation wins on either side (a cancelled appointment is never revived).
  For the time: when the calendar shows times different from the ``clinicStart``/``clinicEnd`` we
  last wrote, someone changed it in the calendar after our last sync, and *the calendar wins*: the
  appointment is moved (``source="google"``) even if we had an unpushed local change, and the
  conflict is recorded. When the calendar still shows what we last wrote, *ours wins*: our pending
  change is pushed (after a 412 caused by an edit outside the fields we own, with the fresh etag).
  `ConflictPolicy.CLINIC_WINS` turns the first case around (the calendar is put back to our time);
  `ConflictPolicy.MANUAL` changes neither side and leaves the conflict open for a human
  (`open_conflicts`, `resolve_conflict(keep="calendar" | "clinic")`). Every case where both sides
  changed is written to the conflict log. The rule itself is pure: `decide_incoming` (an event of
  the feed) and `decide_precondition` (after a 412).
- **Recurring blocks.** The feed is read with ``singleEvents=true``: each instance of a doctor's
  own series is a foreign event of its own and becomes its own busy block (a cancelled instance or
  one a shortened series lost frees it).
- **Push notifications.** `watch_calendar`/`renew_channels` open ``web_hook`` channels (a new
  channel before the old one expires, then the old one is stopped); `handle_notification` checks
  the channel token in constant time, drops unknown/stopped channels and repeated message numbers,
  acknowledges ``sync`` and queues an incremental sync per calendar for ``exists``
  (`run_queued` runs them, coalesced). Poll with `sync_tenant` too: notifications can be lost.

**Sync and async.** `CalendarSync` (over `Calendar`) and `AsyncCalendarSync` (over
`AsyncCalendar`) have the same methods and share everything but the I/O: each multi-step operation
is a *flow* in `_CalendarSyncBase`, a generator yielding `CalendarCall`s that `run_flow` runs on a
sync client and `arun_flow` awaits on an async one (answers and `ProviderError`s are sent back in).

Cancellations made in the calendar go through `AppointmentBook.cancel(source="google")`, so the
waitlist sees `AppointmentCancelled` with ``source="google"`` and offers the freed slot.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar, cast

from invekto_integrations.appointments.booking import AppointmentBook
from invekto_integrations.appointments.errors import AppointmentError, SlotUnavailable
from invekto_integrations.appointments.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, AppointmentStatus, Doctor
from invekto_integrations.appointments.slots import subtract
from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import (
    AlreadyExists,
    AuthenticationError,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ProviderError,
    SyncTokenExpired,
)
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.events import EventConsumer
from invekto_integrations.models.events import AppointmentBooked, AppointmentCancelled, AppointmentMoved, decode_event
from invekto_integrations.providers.base import (
    AsyncCalendar,
    Calendar,
    CalendarChanges,
    CalendarEvent,
    CalendarLookupError,
    EventChanges,
    WatchChannel,
)
from invekto_integrations.storage.protocols import (
    AppointmentRepository,
    CalendarSyncRepository,
    DoctorRepository,
    EventLog,
    QuarantineRepository,
)
from invekto_integrations.storage.records import (
    CalendarBusyBlock,
    CalendarChannel,
    CalendarConflict,
    CalendarSyncState,
    QuarantinedRecord,
)
from invekto_integrations.storage.settings import TenantSettingsRepository, tenant_settings

__all__ = [
    "STAMP_APPOINTMENT",
    "STAMP_END",
    "STAMP_ORIGIN",
    "STAMP_REV",
    "STAMP_START",
    "STAMP_TENANT",
    "AsyncCalendarSync",
    "CalendarCall",
    "CalendarSync",
    "ConflictPolicy",
    "FreeBusyTimes",
    "Incoming",
    "MirrorBusyTimes",
    "NotificationResult",
    "OnPrecondition",
    "PushResult",
    "SyncReport",
    "arun_flow",
    "decide_incoming",
    "decide_precondition",
    "moved_in_calendar",
    "run_flow",
    "stamps_for",
    "written_times",
]

log = logging.getLogger("invekto_integrations.sync.calendar")

STAMP_APPOINTMENT = "clinicApptId"
STAMP_TENANT = "clinicTenant"
STAMP_ORIGIN = "clinicOrigin"
STAMP_REV = "clinicRev"
STAMP_START = "clinicStart"
STAMP_END = "clinicEnd"
ORIGIN = "sdk"
_MAX_GENERATIONS = 5

T = TypeVar("T")
CalendarFactory = Callable[[str], Calendar]
AsyncCalendarFactory = Callable[[str], AsyncCalendar]


class ConflictPolicy(StrEnum):
    """Who wins when the calendar changed the time of one of our appointments."""

    CALENDAR_WINS = "calendar_wins"  # default: the doctor's change in the calendar is applied here
    CLINIC_WINS = "clinic_wins"  # the calendar is put back to our time
    MANUAL = "manual"  # nothing changes on either side; the conflict waits for a human (resolve_conflict)


@dataclass
class SyncReport:
    """What one pull of a calendar did."""

    tenant_id: str
    calendar_id: str
    full_sync: bool = False
    resynced_after_410: bool = False
    seen: int = 0
    echoes: int = 0
    moved: int = 0
    cancelled: int = 0
    unchanged: int = 0
    busy_upserted: int = 0
    busy_removed: int = 0
    orphans: int = 0
    quarantined: int = 0
    conflicts: int = 0


@dataclass(frozen=True)
class PushResult:
    """What pushing one appointment did: ``inserted``, ``adopted`` (our earlier insert found by its
    id), ``patched``, ``deleted``, ``up_to_date``, ``no_calendar``, ``skipped`` (cancelled before it
    reached the calendar), ``calendar_wins`` / ``clinic_wins`` (a 412 resolved by the conflict rule),
    ``manual`` (a 412 left for a human: `ConflictPolicy.MANUAL`, or a move our store refused)."""

    appointment_id: str
    action: str
    event_id: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class NotificationResult:
    """The answer for the push endpoint (``status``) and what was done (``action``)."""

    status: int
    action: str  # queued | sync_ack | duplicate | unknown_channel | bad_token | not_a_notification
    calendar_id: str | None = None
    error: str | None = None  # why a notification was refused (the header at fault)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _same(a: str, b: str) -> bool:
    """Constant-time equality for any text (``hmac.compare_digest`` refuses non-ASCII ``str``)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def _stamp_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# --- the pure parts: mapping, echo suppression, the conflict rule ------------------------------
def stamps_for(tenant_id: str, appt: Appointment) -> dict[str, str]:
    """The ``extendedProperties.private`` stamps every write of ours carries."""
    return {STAMP_APPOINTMENT: appt.id, STAMP_TENANT: tenant_id, STAMP_ORIGIN: ORIGIN,
            STAMP_REV: str(appt.version), STAMP_START: appt.starts_at.isoformat(),
            STAMP_END: appt.ends_at.isoformat()}


def written_times(event: CalendarEvent) -> tuple[datetime | None, datetime | None]:
    """The times our last write put on the event (its ``clinicStart``/``clinicEnd`` stamps)."""
    return _stamp_time(event.private.get(STAMP_START)), _stamp_time(event.private.get(STAMP_END))


def moved_in_calendar(event: CalendarEvent) -> bool:
    """True when the event's times are not the ones we last wrote: someone moved it in the calendar."""
    return (event.start, event.end) != written_times(event)


class Incoming(StrEnum):
    """What to do with one event of the feed that belongs to one of our appointments."""

    STALE = "stale"  # an older generation of the event, or its copy in a calendar it left
    ECHO = "echo"  # our own write (etag we stored) or our own delete coming back
    CANCEL = "cancel"  # deleted/cancelled in the calendar: cancel here (a cancellation wins)
    CANCELLED_HERE = "cancelled_here"  # cancelled here; the pending delete goes out with If-Match
    UNSUPPORTED = "unsupported"  # became all-day or timeless: for a human
    SAME_TIME = "same_time"  # an edit outside the fields we own (remember its etag)
    OURS_PENDING = "ours_pending"  # the calendar shows our last write; our newer change goes out next
    MOVE = "move"  # moved in the calendar, the calendar wins
    PUT_BACK = "put_back"  # moved in the calendar, the clinic wins: the event is put back
    HOLD = "hold"  # moved in the calendar, `ConflictPolicy.MANUAL`: nothing changes, conflict recorded


def decide_incoming(appt: Appointment, event: CalendarEvent, calendar_id: str, policy: ConflictPolicy) -> Incoming:
    """The conflict rule for an event of the feed that was matched to ``appt`` (docs/calendar.md)."""
    if appt.calendar_event_id not in (None, event.id) or appt.calendar_id not in (None, calendar_id):
        return Incoming.STALE
    if event.etag is not None and event.etag == appt.calendar_etag:
        return Incoming.ECHO
    if event.cancelled:
        return Incoming.CANCEL if appt.is_active else Incoming.ECHO
    if not appt.is_active:
        return Incoming.CANCELLED_HERE
    if event.start is None or event.end is None or event.all_day:
        return Incoming.UNSUPPORTED
    if (event.start, event.end) == (appt.starts_at, appt.ends_at):
        return Incoming.SAME_TIME
    pending = appt.synced_version != appt.version
    if pending and not moved_in_calendar(event):
        return Incoming.OURS_PENDING
    if policy == ConflictPolicy.CLINIC_WINS:
        return Incoming.PUT_BACK
    if policy == ConflictPolicy.MANUAL:
        return Incoming.HOLD
    return Incoming.MOVE


class OnPrecondition(StrEnum):
    """What to do after a 412 on push, once the event has been re-read."""

    ALREADY_DELETED = "already_deleted"  # deleted on both sides
    CANCEL_HERE = "cancel_here"  # deleted in the calendar: cancelled here (a cancellation wins)
    LANDED = "landed"  # our own write landed earlier (its answer was lost)
    DELETE_ANYWAY = "delete_anyway"  # cancelled here while edited there: deleted with the fresh etag
    TAKE_CALENDAR = "take_calendar"  # moved there after our last sync, the calendar wins
    HOLD = "hold"  # moved there, `ConflictPolicy.MANUAL`: nothing written, conflict recorded
    REAPPLY = "reapply"  # changed outside our fields (or the clinic wins): ours re-sent with the fresh etag


def decide_precondition(appt: Appointment, current: CalendarEvent, policy: ConflictPolicy) -> OnPrecondition:
    """The conflict rule after a 412: ``current`` is the event as the calendar has it now."""
    if current.cancelled:
        return OnPrecondition.ALREADY_DELETED if appt.status == AppointmentStatus.CANCELLED \
            else OnPrecondition.CANCEL_HERE
    if current.private.get(STAMP_REV) == str(appt.version) and (current.start, current.end) == (appt.starts_at,
                                                                                                 appt.ends_at):
        return OnPrecondition.LANDED
    if appt.status == AppointmentStatus.CANCELLED:
        return OnPrecondition.DELETE_ANYWAY
    timed = current.start is not None and current.end is not None and not current.all_day
    if moved_in_calendar(current) and timed:
        if policy == ConflictPolicy.CALENDAR_WINS:
            return OnPrecondition.TAKE_CALENDAR
        if policy == ConflictPolicy.MANUAL:
            return OnPrecondition.HOLD
    return OnPrecondition.REAPPLY


# --- calls described once, run by the sync or the async engine ----------------------------------
@dataclass(frozen=True)
class CalendarCall:
    """One call of the `Calendar` protocol (``name`` with its arguments), yielded by a flow. The sync
    engine runs it on a `Calendar`, the async engine awaits it on an `AsyncCalendar`; the answer (or
    the `ProviderError`) is sent back into the flow."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


Flow = Generator[CalendarCall, Any, T]


def _call(name: str, *args: Any, **kwargs: Any) -> CalendarCall:
    return CalendarCall(name, args, kwargs)


def run_flow(client: Calendar, flow: Flow[T], *,
             on_error: Callable[[ProviderError], None] | None = None) -> T:
    """Drive a flow on a sync client (``on_error`` sees each call's `ProviderError` first)."""
    answer: Any = None
    error: ProviderError | None = None
    while True:
        try:
            call = flow.throw(error) if error is not None else flow.send(answer)
        except StopIteration as stop:
            return cast(T, stop.value)
        answer, error = None, None
        try:
            answer = getattr(client, call.name)(*call.args, **call.kwargs)
        except ProviderError as exc:
            error = exc
            if on_error is not None:
                on_error(exc)


async def arun_flow(client: AsyncCalendar, flow: Flow[T], *,
                    on_error: Callable[[ProviderError], None] | None = None) -> T:
    """Drive a flow on an async client (``on_error`` sees each call's `ProviderError` first)."""
    answer: Any = None
    error: ProviderError | None = None
    while True:
        try:
            call = flow.throw(error) if error is not None else flow.send(answer)
        except StopIteration as stop:
            return cast(T, stop.value)
        answer, error = None, None
        try:
            answer = await getattr(client, call.name)(*call.args, **call.kwargs)
        except ProviderError as exc:
            error = exc
            if on_error is not None:
                on_error(exc)


@dataclass
class _Queue:
    pending: dict[tuple[str, str], None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _CalendarSyncBase(ConciseRepr, fields=("policy", "clock")):
    """Everything but the I/O: storage, the conflict rule, and the flows (generators that yield the
    calendar calls). `CalendarSync` and `AsyncCalendarSync` only run the calls and hold the locks."""

    def __init__(
        self,
        book: AppointmentBook,
        doctors: DoctorRepository,
        repo: CalendarSyncRepository,
        calendars: Mapping[str, Any] | Callable[[str], Any],
        *,
        events: EventLog | None = None,
        quarantine: QuarantineRepository | None = None,
        clock: Clock | None = None,
        policy: ConflictPolicy = ConflictPolicy.CALENDAR_WINS,
        full_sync_window: timedelta = timedelta(days=31),
        channel_ttl: timedelta = timedelta(days=7),
        renew_before: timedelta = timedelta(days=1),
        summary: Callable[[Appointment], str] | None = None,
        consumer_name: str = "calendar-sync",
        on_auth_error: Callable[[str, AuthenticationError], None] | None = None,
        settings_repository: TenantSettingsRepository | None = None,
    ) -> None:
        self.settings_repository = settings_repository  # the tenant's timezone for doctors without one
        self.book = book
        self.doctors = doctors
        self.repo = repo
        self._calendars = calendars
        self.events = events if events is not None else book.bus.log
        self.quarantine = quarantine
        self.clock = clock or book.clock or SystemClock()
        self.policy = policy
        self.full_sync_window = full_sync_window
        self.channel_ttl = channel_ttl
        self.renew_before = renew_before
        # Titles carry no patient data (KVKK/GDPR): the service name only.
        self.summary = summary or (lambda a: f"Randevu: {a.service_name}")
        self.consumer = EventConsumer(self.events, consumer_name,
                                      types=[AppointmentBooked.TYPE, AppointmentMoved.TYPE, AppointmentCancelled.TYPE])
        self._queue = _Queue()
        # Told (tenant, error) when the calendar refuses the credentials (401/403, revoked grant): a
        # wiring with stored accounts passes `AccountService.mark_refused` to mark the account.
        self.on_auth_error = on_auth_error

    def _error_hook(self, tenant_id: str) -> Callable[[ProviderError], None] | None:
        hook = self.on_auth_error
        if hook is None:
            return None

        def seen(error: ProviderError) -> None:
            if isinstance(error, AuthenticationError):
                hook(tenant_id, error)
        return seen

    @property
    def appointments(self) -> AppointmentRepository:
        return self.book.appointments

    def _client(self, tenant_id: str) -> Any:
        if isinstance(self._calendars, Mapping):
            try:
                return self._calendars[tenant_id]
            except KeyError:
                raise ConfigurationError(f"no calendar connector for tenant {tenant_id!r}") from None
        return self._calendars(tenant_id)

    # -- set-up -----------------------------------------------------------------------------------
    def connect_doctor(self, tenant_id: str, doctor_id: str) -> CalendarSyncState:
        """Start syncing a doctor's calendar (``Doctor.calendar_id``); the first sync is a full one."""
        doctor = self.doctors.get(tenant_id, doctor_id)
        if doctor is None or not doctor.calendar_id:
            raise ConfigurationError(f"doctor {doctor_id} of tenant {tenant_id} has no calendar_id")
        found = self.repo.get_state(tenant_id, doctor.calendar_id)
        if found is not None:
            return found
        state = CalendarSyncState(tenant_id=tenant_id, calendar_id=doctor.calendar_id, doctor_id=doctor.id,
                                  updated_at=self.clock.now())
        self.repo.save_state(tenant_id, state)
        return state

    def conflicts(self, tenant_id: str, *, appointment_id: str | None = None) -> list[CalendarConflict]:
        return self.repo.find_conflicts(tenant_id, appointment_id=appointment_id)

    def open_conflicts(self, tenant_id: str) -> list[CalendarConflict]:
        """Conflicts left for a human (``resolution="manual"``) and not resolved yet."""
        return [c for c in self.repo.find_conflicts(tenant_id) if c.resolution == "manual" and c.resolved_at is None]

    # -- bookkeeping ------------------------------------------------------------------------------
    def _quarantine(self, tenant_id: str, calendar_id: str, error: ProviderError | None, raw: object) -> None:
        if self.quarantine is None or error is None:
            log.warning("calendar event skipped: %s", error)
            return
        self.quarantine.add(tenant_id, QuarantinedRecord(
            id=new_id(), tenant_id=tenant_id, provider="google_calendar", account_id=calendar_id,
            record_id=getattr(error, "record", None), field=getattr(error, "field", None), error=str(error),
            raw_json=json.dumps(raw, ensure_ascii=False, default=str), created_at=self.clock.now()))

    def _conflict(self, tenant_id: str, calendar_id: str, event: CalendarEvent | None, appt: Appointment | None,
                  kind: str, resolution: str, detail: str = "") -> bool:
        """Record a conflict; a manual one already open for the same event state is not recorded twice
        (the same feed item or the same refused push seen again). Returns whether it was recorded."""
        if resolution == "manual" and appt is not None:
            for open_ in self.repo.find_conflicts(tenant_id, appointment_id=appt.id):
                if open_.resolution == "manual" and open_.resolved_at is None and open_.kind == kind \
                        and open_.event_id == (event.id if event else None) \
                        and open_.google_updated == (event.updated if event else None):
                    return False
        self.repo.add_conflict(tenant_id, CalendarConflict(
            id=new_id(), tenant_id=tenant_id, calendar_id=calendar_id, event_id=event.id if event else None,
            appointment_id=appt.id if appt else None, kind=kind, resolution=resolution, detail=detail,
            local_version=appt.version if appt else None, google_updated=event.updated if event else None,
            created_at=self.clock.now()))
        return True

    def _find(self, tenant_id: str, calendar_id: str, event: CalendarEvent) -> Appointment | None:
        """Match by our stamp, then by event id, never by time."""
        ours = event.private.get(STAMP_APPOINTMENT)
        if ours and event.private.get(STAMP_TENANT, tenant_id) == tenant_id:
            found = self.appointments.get(tenant_id, ours)
            if found is not None:
                return found
        return self.appointments.find_by_event(tenant_id, calendar_id, event.id)

    def _mirror(self, tenant_id: str, calendar_id: str, event: CalendarEvent, report: SyncReport) -> None:
        """A foreign event (one the doctor made by hand, or an instance of a recurring one) is busy
        time while it blocks time; cancelled/transparent ones (and cancelled instances) free it."""
        if event.blocks_time and event.start is not None and event.end is not None:
            self.repo.upsert_busy(tenant_id, CalendarBusyBlock(
                tenant_id=tenant_id, calendar_id=calendar_id, event_id=event.id, starts_at=event.start,
                ends_at=event.end, all_day=event.all_day, etag=event.etag, updated=event.updated))
            report.busy_upserted += 1
        else:
            self.repo.delete_busy(tenant_id, calendar_id, event.id)
            report.busy_removed += 1

    def _record_sync(self, tenant_id: str, appt: Appointment, calendar_id: str, event_id: str,
                     etag: str | None) -> bool:
        return self.book.record_sync(tenant_id, appt.id, version=appt.version, calendar_event_id=event_id,
                                     calendar_etag=etag, calendar_id=calendar_id)

    def _zone(self, tenant_id: str, appt: Appointment) -> str:
        doctor = self.doctors.get(tenant_id, appt.doctor_id)
        return doctor.timezone if doctor is not None else tenant_settings(self.settings_repository, tenant_id).timezone

    def _calendar_of(self, tenant_id: str, appt: Appointment) -> str | None:
        """The calendar the appointment belongs in now: its doctor's (it may have changed doctor)."""
        doctor = self.doctors.get(tenant_id, appt.doctor_id)
        if doctor is not None and doctor.calendar_id:
            return doctor.calendar_id
        return appt.calendar_id

    def _changes(self, tenant_id: str, appt: Appointment) -> EventChanges:
        return EventChanges(start=appt.starts_at, end=appt.ends_at, time_zone=self._zone(tenant_id, appt),
                            summary=self.summary(appt), private=stamps_for(tenant_id, appt))

    def _new_event(self, tenant_id: str, appt: Appointment, event_id: str) -> CalendarEvent:
        return CalendarEvent(id=event_id, summary=self.summary(appt), start=appt.starts_at, end=appt.ends_at,
                             time_zone=self._zone(tenant_id, appt), transparency="opaque",
                             private=stamps_for(tenant_id, appt))

    def _pending_pushes(self, tenant_id: str) -> Iterator[tuple[str | None, int]]:
        """(appointment id, log position) of every booked/moved/cancelled event past the cursor; the
        caller advances the cursor after each successful push (a failed one is retried next time)."""
        while True:
            batch = self.consumer.pending(tenant_id)
            if not batch:
                return
            for stored in batch:
                event = decode_event(stored.type, stored.version, stored.data)
                found = getattr(event, "appointment_id", None)
                yield (str(found) if found else None), stored.seq
            if len(batch) < self.consumer.batch:
                return

    def _advance(self, tenant_id: str, seq: int) -> None:
        self.events.advance(tenant_id, self.consumer.name, seq)

    def _behind(self, tenant_id: str, since: datetime | None) -> list[str]:
        start = since or self.clock.now() - self.full_sync_window
        return [a.id for a in self.appointments.find(tenant_id, start=start) if a.synced_version != a.version]

    def _push_target(self, tenant_id: str, appointment_id: str) -> tuple[Appointment, str | None, str | None]:
        """(appointment, calendar it belongs in, calendar it must leave first)."""
        appt = self.book.get(tenant_id, appointment_id)
        calendar_id = self._calendar_of(tenant_id, appt)
        leave = None
        if calendar_id is not None and appt.calendar_event_id is not None and appt.calendar_id not in (None,
                                                                                                       calendar_id):
            leave = str(appt.calendar_id)
        return appt, calendar_id, leave

    def _channels_to_renew(self, tenant_id: str) -> list[tuple[str, list[CalendarChannel]]]:
        now = self.clock.now()
        out = []
        for state in self.repo.find_states(tenant_id):
            active = self.repo.find_channels(tenant_id, calendar_id=state.calendar_id)
            if any(c.expiration is None or c.expiration - now > self.renew_before for c in active):
                continue
            out.append((state.calendar_id, active))
        return out

    def _take_queue(self) -> list[tuple[str, str]]:
        with self._queue.lock:
            todo = list(self._queue.pending)
            self._queue.pending.clear()
        return todo

    def queued(self) -> list[tuple[str, str]]:
        with self._queue.lock:
            return list(self._queue.pending)

    # -- push notifications (no I/O) --------------------------------------------------------------
    def handle_notification(self, tenant_id: str, headers: Mapping[str, str]) -> NotificationResult:
        """Check one push notification and queue an incremental sync (cheap: answer at once, then
        call `run_queued`). Unknown or stopped channels are acknowledged and dropped."""
        try:
            connector: Calendar | AsyncCalendar = self._client(tenant_id)
        except ConfigurationError:
            # A tenant without a calendar connection has no channels: anyone can post to its address,
            # so this is the unknown-channel answer, not a server error.
            return NotificationResult(200, "unknown_channel")
        try:
            note = connector.parse_notification(headers)
        except ValueError as exc:  # InvalidArgument naming the header
            return NotificationResult(400, "not_a_notification", error=str(exc)[:200])
        channel = self.repo.get_channel(tenant_id, note.channel_id)
        if channel is None or channel.stopped_at is not None:
            return NotificationResult(200, "unknown_channel")
        wrong_resource = bool(channel.resource_id) and note.resource_id is not None \
            and not _same(note.resource_id, channel.resource_id)
        if not _same(_sha256(note.token or ""), channel.token_sha256) or wrong_resource:
            log.warning("calendar push for channel %s of tenant %s: bad token", note.channel_id, tenant_id)
            return NotificationResult(403, "bad_token", channel.calendar_id)
        if note.message_number is not None and not self.repo.advance_message(tenant_id, channel.channel_id,
                                                                             note.message_number):
            # Only an exact repeat is dropped. A lower number (out of order, or after one absurdly high
            # number) still queues a sync: a sync is idempotent, a silenced channel is not recoverable.
            current = self.repo.get_channel(tenant_id, channel.channel_id)
            if current is None or current.last_message_number == note.message_number:
                return NotificationResult(200, "duplicate", channel.calendar_id)
        if note.resource_state == "sync":
            return NotificationResult(200, "sync_ack", channel.calendar_id)
        with self._queue.lock:
            self._queue.pending[(tenant_id, channel.calendar_id)] = None
        return NotificationResult(200, "queued", channel.calendar_id)

    # -- flows: calendar → ours -------------------------------------------------------------------
    def _sync_flow(self, tenant_id: str, calendar_id: str) -> Flow[SyncReport]:
        state = self.repo.get_state(tenant_id, calendar_id)
        if state is None:
            raise ConfigurationError(f"calendar {calendar_id} of tenant {tenant_id} is not connected")
        report = SyncReport(tenant_id, calendar_id)
        now = self.clock.now()
        changes: CalendarChanges
        try:
            changes = yield _call("list_changes", calendar_id, state.sync_token,
                                  time_min=None if state.sync_token else now - self.full_sync_window)
        except SyncTokenExpired:
            # 410: the token is gone. Forget the mirror of foreign events and list everything again;
            # appointments are matched by their stamps and event ids, so nothing doubles.
            log.info("calendar %s of tenant %s: sync token expired, full resync", calendar_id, tenant_id)
            report.resynced_after_410 = True
            report.busy_removed += self.repo.clear_busy(tenant_id, calendar_id)
            changes = yield _call("list_changes", calendar_id, None, time_min=now - self.full_sync_window)
        report.full_sync = changes.full_sync
        for item in changes.items:
            if item.event is None:
                report.quarantined += 1
                self._quarantine(tenant_id, calendar_id, item.error, item.raw)
                continue
            report.seen += 1
            yield from self._apply_flow(tenant_id, calendar_id, item.event, report)
        self.repo.save_state(tenant_id, state.model_copy(update={
            "sync_token": changes.next_sync_token, "last_sync_at": now, "updated_at": now,
            "last_full_sync_at": now if changes.full_sync else state.last_full_sync_at,
            "full_syncs": state.full_syncs + (1 if changes.full_sync else 0),
        }))
        return report

    def _apply_flow(self, tenant_id: str, calendar_id: str, event: CalendarEvent, report: SyncReport) -> Flow[None]:
        appt = self._find(tenant_id, calendar_id, event)
        if appt is None:
            if event.private.get(STAMP_APPOINTMENT):
                report.orphans += 1  # stamped by us, but not an appointment of this tenant (any more)
            else:
                self._mirror(tenant_id, calendar_id, event, report)
            return
        pending = appt.synced_version != appt.version
        decision = decide_incoming(appt, event, calendar_id, self.policy)
        if decision in (Incoming.STALE, Incoming.OURS_PENDING):
            report.unchanged += 1
        elif decision == Incoming.ECHO:
            report.echoes += 1
        elif decision == Incoming.CANCEL:
            try:
                self.book.cancel(tenant_id, appt.id, source="google", mark_synced=True, calendar_etag=event.etag,
                                 reason="Google Takvim'de silindi")
            except AppointmentError as exc:
                report.conflicts += self._conflict(tenant_id, calendar_id, event, appt, "cancelled", "manual", str(exc))
                return
            report.cancelled += 1
            if pending:
                report.conflicts += self._conflict(tenant_id, calendar_id, event, appt, "cancelled", "calendar_wins",
                                                   "cancelled in the calendar while a local change was waiting")
        elif decision == Incoming.UNSUPPORTED:
            report.conflicts += self._conflict(tenant_id, calendar_id, event, appt, "unsupported", "manual",
                                               "our appointment became an all-day or timeless event in the calendar")
        elif decision == Incoming.SAME_TIME:
            report.unchanged += 1
            if not pending:  # remember the new etag (an edit outside the fields we own)
                self._record_sync(tenant_id, appt, calendar_id, event.id, event.etag)
        elif decision == Incoming.HOLD:
            assert event.start is not None
            report.conflicts += self._conflict(
                tenant_id, calendar_id, event, appt, "moved", "manual",
                f"moved in the calendar to {event.start.isoformat()}; left for a human (manual policy)")
        elif decision == Incoming.PUT_BACK:
            assert event.start is not None
            report.conflicts += self._conflict(tenant_id, calendar_id, event, appt, "moved", "clinic_wins",
                                               f"calendar moved it to {event.start.isoformat()}; put back")
            yield from self._push_flow(tenant_id, appt, calendar_id, known_etag=event.etag, force=True)
        elif decision == Incoming.MOVE:
            assert event.start is not None and event.end is not None
            try:
                self.book.move(tenant_id, appt.id, event.start, ends_at=event.end, source="google",
                               mark_synced=True, calendar_etag=event.etag)
            except AppointmentError as exc:
                # Refused here (a final status, or a concurrent local change: its push then gets a 412
                # and the rule runs again). Recorded; the rest of the feed goes on.
                kind = "slot_taken" if isinstance(exc, SlotUnavailable) else "concurrent"
                report.conflicts += self._conflict(tenant_id, calendar_id, event, appt, kind, "manual", str(exc))
                return
            report.moved += 1
            if pending:
                report.conflicts += self._conflict(tenant_id, calendar_id, event, appt, "moved", "calendar_wins",
                                                   "moved in the calendar after our last sync; the local change "
                                                   "was dropped")
        # Incoming.CANCELLED_HERE: the pending delete is pushed with If-Match (a cancellation wins).

    # -- flows: ours → calendar -------------------------------------------------------------------
    def _leave_flow(self, tenant_id: str, appt: Appointment, target: str) -> Flow[Appointment]:
        """The appointment moved to a doctor with another calendar: delete the old event (we own the
        appointment's doctor; a concurrent edit there does not keep it) and forget the link."""
        assert appt.calendar_id is not None and appt.calendar_event_id is not None
        try:
            yield _call("delete_event", appt.calendar_id, appt.calendar_event_id, etag=appt.calendar_etag)
        except PreconditionFailed:
            current = yield _call("get_event", appt.calendar_id, appt.calendar_event_id)
            self._conflict(tenant_id, appt.calendar_id, current, appt, "precondition_failed", "clinic_wins",
                           f"412 on leaving the calendar for {target}: edited there, deleted anyway")
            yield _call("delete_event", appt.calendar_id, appt.calendar_event_id)
        unlinked = appt.model_copy(update={"calendar_id": target, "calendar_event_id": None, "calendar_etag": None})
        if not self.appointments.update(tenant_id, unlinked, expected_version=appt.version, allow_overlap=True):
            return self.book.get(tenant_id, appt.id)
        return unlinked

    def _insert_flow(self, tenant_id: str, calendar_id: str, appt: Appointment) -> Flow[tuple[CalendarEvent, str]]:
        for generation in range(1, _MAX_GENERATIONS + 1):
            ids: Calendar | AsyncCalendar = self._client(tenant_id)
            event_id = ids.event_id_for(tenant_id, appt.id, generation)
            try:
                inserted = yield _call("insert_event", calendar_id, self._new_event(tenant_id, appt, event_id))
                return inserted, "inserted"
            except AlreadyExists:
                existing = yield _call("get_event", calendar_id, event_id)
                if existing.private.get(STAMP_APPOINTMENT) == appt.id and not existing.cancelled:
                    # Our own earlier insert (its answer was lost, or our link was): adopt it.
                    adopted = yield _call("patch_event", calendar_id, event_id, self._changes(tenant_id, appt),
                                          etag=existing.etag)
                    return adopted, "adopted"
                # A deleted generation of ours (ids stay reserved) or someone else's: next generation.
        raise AlreadyExists(f"no free event id for appointment {appt.id} after {_MAX_GENERATIONS} generations",
                            provider="google_calendar", operation="insert_event")

    def _push_flow(self, tenant_id: str, appt: Appointment, calendar_id: str, *, known_etag: str | None = None,
                   force: bool = False) -> Flow[PushResult]:
        etag = known_etag
        for _ in range(_MAX_GENERATIONS):
            appt = self.book.get(tenant_id, appt.id)
            if appt.synced_version == appt.version and not force:
                return PushResult(appt.id, "up_to_date", appt.calendar_event_id, appt.calendar_etag)
            force = False
            etag = etag or appt.calendar_etag
            event: CalendarEvent | None
            try:
                if appt.calendar_event_id is None:
                    if not appt.is_active:
                        return PushResult(appt.id, "skipped")
                    event, action = yield from self._insert_flow(tenant_id, calendar_id, appt)
                elif appt.status == AppointmentStatus.CANCELLED:
                    yield _call("delete_event", calendar_id, appt.calendar_event_id, etag=etag)
                    event, action = None, "deleted"
                else:
                    event = yield _call("patch_event", calendar_id, appt.calendar_event_id,
                                        self._changes(tenant_id, appt), etag=etag)
                    action = "patched"
            except PreconditionFailed:
                return (yield from self._precondition_flow(tenant_id, calendar_id, appt))
            except PermissionDenied as exc:
                # A 403 about this one event (e.g. forbiddenForNonOrganizer): reported on it, the
                # credentials stay good and the other appointments go on.
                self._conflict(tenant_id, calendar_id, None, appt, "forbidden", "manual",
                               f"403 {exc.code or 'forbidden'} on push: {exc.message}")
                return PushResult(appt.id, "forbidden", appt.calendar_event_id, appt.calendar_etag)
            except NotFound as exc:
                if exc.status == 410 and appt.calendar_event_id is not None:
                    return self._gone(tenant_id, calendar_id, appt, exc)
                if appt.calendar_event_id is None or not appt.is_active:
                    raise
                # The event vanished for good (purged): forget the link, insert a fresh one.
                unlinked = appt.model_copy(update={"calendar_event_id": None, "calendar_etag": None})
                self.appointments.update(tenant_id, unlinked, expected_version=appt.version, allow_overlap=True)
                etag = None
                continue
            event_id = event.id if event is not None else str(appt.calendar_event_id)
            new_etag = event.etag if event is not None else None
            if self._record_sync(tenant_id, appt, calendar_id, event_id, new_etag):
                return PushResult(appt.id, action, event_id, new_etag)
            etag = new_etag  # the appointment changed meanwhile: push the newer version with what we got
            if event is not None and appt.calendar_event_id is None:
                # the insert happened but the link was not recorded: record it without marking synced
                current = self.book.get(tenant_id, appt.id)
                linked = current.model_copy(update={"calendar_event_id": event.id, "calendar_etag": event.etag})
                self.appointments.update(tenant_id, linked, expected_version=current.version, allow_overlap=True)
        raise ProviderError(f"appointment {appt.id}: kept changing while being pushed", provider="google_calendar",
                            operation="push")

    def _gone(self, tenant_id: str, calendar_id: str, appt: Appointment, exc: NotFound) -> PushResult:
        """A 410 on patch/delete: the event was deleted in the calendar (not a sync-token expiry).
        Like a 412 that finds it cancelled: a cancellation there wins over an active appointment."""
        assert appt.calendar_event_id is not None
        event_id = appt.calendar_event_id
        if appt.status == AppointmentStatus.CANCELLED:
            self._record_sync(tenant_id, appt, calendar_id, event_id, None)
            return PushResult(appt.id, "deleted", event_id)
        self.book.cancel(tenant_id, appt.id, source="google", mark_synced=True, calendar_etag=None,
                         reason="Google Takvim'de silindi")
        self._conflict(tenant_id, calendar_id, None, appt, "cancelled", "calendar_wins",
                       f"410 on push: the event was deleted in the calendar ({exc.message})")
        return PushResult(appt.id, "calendar_wins", event_id)

    def _precondition_flow(self, tenant_id: str, calendar_id: str, appt: Appointment) -> Flow[PushResult]:
        """A 412: the event changed in the calendar since our last sync. Re-read it and apply the rule."""
        assert appt.calendar_event_id is not None
        current: CalendarEvent = yield _call("get_event", calendar_id, appt.calendar_event_id)
        event_id = current.id
        decision = decide_precondition(appt, current, self.policy)
        if decision in (OnPrecondition.ALREADY_DELETED, OnPrecondition.LANDED):
            self._record_sync(tenant_id, appt, calendar_id, event_id, current.etag)
            return PushResult(appt.id, "deleted" if decision == OnPrecondition.ALREADY_DELETED else "patched",
                              event_id, current.etag)
        if decision == OnPrecondition.CANCEL_HERE:
            self.book.cancel(tenant_id, appt.id, source="google", mark_synced=True, calendar_etag=current.etag,
                             reason="Google Takvim'de silindi")
            self._conflict(tenant_id, calendar_id, current, appt, "cancelled", "calendar_wins",
                           "412 on push: the event was deleted in the calendar")
            return PushResult(appt.id, "calendar_wins", event_id, current.etag)
        if decision == OnPrecondition.DELETE_ANYWAY:
            yield _call("delete_event", calendar_id, event_id, etag=current.etag)
            self._conflict(tenant_id, calendar_id, current, appt, "cancelled", "clinic_wins",
                           "412 on push: edited in the calendar, but cancelled here (cancellation wins)")
            self._record_sync(tenant_id, appt, calendar_id, event_id, None)
            return PushResult(appt.id, "clinic_wins", event_id)
        if decision == OnPrecondition.HOLD:
            self._conflict(tenant_id, calendar_id, current, appt, "moved", "manual",
                           "412 on push: moved in the calendar after our last sync; neither side changed "
                           "(manual policy)")
            return PushResult(appt.id, "manual", event_id, current.etag)
        if decision == OnPrecondition.TAKE_CALENDAR:
            assert current.start is not None and current.end is not None
            try:
                self.book.move(tenant_id, appt.id, current.start, ends_at=current.end, source="google",
                               mark_synced=True, calendar_etag=current.etag)
            except SlotUnavailable as exc:
                self._conflict(tenant_id, calendar_id, current, appt, "slot_taken", "manual", str(exc))
                return PushResult(appt.id, "manual", event_id, current.etag)
            self._conflict(tenant_id, calendar_id, current, appt, "moved", "calendar_wins",
                           f"412 on push: moved in the calendar to {current.start.isoformat()} after our last sync; "
                           "the local change was not written over it")
            return PushResult(appt.id, "calendar_wins", event_id, current.etag)
        event = yield _call("patch_event", calendar_id, event_id, self._changes(tenant_id, appt), etag=current.etag)
        self._conflict(tenant_id, calendar_id, current, appt, "precondition_failed", "clinic_wins",
                       "412 on push: the calendar copy changed outside the time we own; ours re-applied")
        self._record_sync(tenant_id, appt, calendar_id, event.id, event.etag)
        return PushResult(appt.id, "clinic_wins", event.id, event.etag)

    def _resolve_flow(self, tenant_id: str, conflict_id: str, keep: str) -> Flow[PushResult]:
        """A human's decision on a manual conflict: ``keep="calendar"`` takes the calendar's time here,
        ``keep="clinic"`` writes ours over the calendar (with the fresh etag)."""
        if keep not in ("calendar", "clinic"):
            raise ValueError("keep must be 'calendar' or 'clinic'")
        found = [c for c in self.repo.find_conflicts(tenant_id) if c.id == conflict_id]
        if not found or found[0].appointment_id is None:
            raise ConfigurationError(f"no conflict {conflict_id} with an appointment for tenant {tenant_id}")
        conflict = found[0]
        if conflict.resolved_at is not None:
            raise ConfigurationError(f"conflict {conflict_id} was already resolved ({conflict.resolved_as})")
        appt = self.book.get(tenant_id, str(conflict.appointment_id))
        calendar_id = appt.calendar_id or conflict.calendar_id
        if appt.calendar_event_id is None:
            raise ConfigurationError(f"appointment {appt.id} has no calendar event")
        current: CalendarEvent = yield _call("get_event", calendar_id, appt.calendar_event_id)
        if keep == "calendar":
            if current.cancelled:
                self.book.cancel(tenant_id, appt.id, source="google", mark_synced=True, calendar_etag=current.etag,
                                 reason="Google Takvim'de silindi")
            elif appt.is_active and current.start is not None and current.end is not None and not current.all_day:
                self.book.move(tenant_id, appt.id, current.start, ends_at=current.end, source="google",
                               mark_synced=True, calendar_etag=current.etag)
            else:
                # A cancelled appointment is never revived; an all-day or timeless event has no time to take.
                raise ConfigurationError(f"conflict {conflict_id}: the calendar's version of {appt.id} cannot be "
                                         "applied here; keep='clinic', or change the event in the calendar")
            result = PushResult(appt.id, "calendar_wins", current.id, current.etag)
        else:
            pushed = yield from self._push_flow(tenant_id, appt, calendar_id, known_etag=current.etag, force=True)
            result = PushResult(appt.id, "clinic_wins", pushed.event_id, pushed.etag)
        self.repo.resolve_conflict(tenant_id, conflict_id, f"{keep}_wins" if keep == "clinic" else "calendar_wins",
                                   self.clock.now())
        return result

    # -- flows: channels --------------------------------------------------------------------------
    def _watch_flow(self, tenant_id: str, calendar_id: str, address: str) -> Flow[CalendarChannel]:
        """Open a channel (new id, new random token; only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        # Saved before the call: the provider sends the channel's "sync" message right away, possibly
        # before its answer reaches us. The resource id is filled in from the answer.
        pending = CalendarChannel(tenant_id=tenant_id, calendar_id=calendar_id, channel_id=str(uuid.uuid4()),
                                  resource_id="", address=address, token_sha256=_sha256(token),
                                  expiration=now + self.channel_ttl, created_at=now)
        self.repo.save_channel(tenant_id, pending)
        try:
            channel: WatchChannel = yield _call("watch", calendar_id, address, channel_id=pending.channel_id,
                                                token=token, expiration=now + self.channel_ttl)
        except ProviderError:
            self.repo.save_channel(tenant_id, pending.model_copy(update={"stopped_at": now}))
            raise
        current = self.repo.get_channel(tenant_id, pending.channel_id) or pending
        record = current.model_copy(update={"resource_id": channel.resource_id, "expiration": channel.expiration})
        self.repo.save_channel(tenant_id, record)
        return record

    def _stop_flow(self, tenant_id: str, channel: CalendarChannel) -> Flow[None]:
        yield _call("stop_channel", channel.channel_id, channel.resource_id)
        self.repo.save_channel(tenant_id, channel.model_copy(update={"stopped_at": self.clock.now()}))

    def _renew_flow(self, tenant_id: str, address: str) -> Flow[list[CalendarChannel]]:
        """Every connected calendar has a channel that outlives ``renew_before``: a new one is opened
        before the old expires (they overlap), then the old one is stopped. Returns the new ones."""
        opened = []
        for calendar_id, active in self._channels_to_renew(tenant_id):
            opened.append((yield from self._watch_flow(tenant_id, calendar_id, address)))
            for old in active:
                yield from self._stop_flow(tenant_id, old)
        return opened


class CalendarSync(_CalendarSyncBase):
    """The two-way sync engine over sync `Calendar` connectors, for every doctor calendar of the
    tenants it serves (``calendars`` maps a tenant to its connector, or is a factory)."""

    def __init__(self, book: AppointmentBook, doctors: DoctorRepository, repo: CalendarSyncRepository,
                 calendars: Mapping[str, Calendar] | CalendarFactory, **kw: Any) -> None:
        super().__init__(book, doctors, repo, calendars, **kw)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def calendar(self, tenant_id: str) -> Calendar:
        client: Calendar = self._client(tenant_id)
        return client

    def _lock(self, tenant_id: str, calendar_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault((tenant_id, calendar_id), threading.Lock())

    def _run(self, tenant_id: str, flow: Flow[T]) -> T:
        return run_flow(self.calendar(tenant_id), flow, on_error=self._error_hook(tenant_id))

    # -- calendar → ours ------------------------------------------------------------------------
    def sync_calendar(self, tenant_id: str, calendar_id: str) -> SyncReport:
        """Pull what changed in one calendar (a full sync the first time and after a 410)."""
        with self._lock(tenant_id, calendar_id):
            return self._run(tenant_id, self._sync_flow(tenant_id, calendar_id))

    def sync_tenant(self, tenant_id: str) -> list[SyncReport]:
        """Pull every connected calendar of a tenant (the safety-net poll; run every 15-30 minutes).
        Takes no lease: for scripts and tests; a deployment runs `CalendarSyncEngine` on a `Runtime`
        (same code; its ``poll`` timer), never both for one tenant (docs/runtime.md)."""
        return [self.sync_calendar(tenant_id, s.calendar_id) for s in self.repo.find_states(tenant_id)]

    def run_queued(self) -> list[SyncReport]:
        """Run the incremental syncs the notifications asked for (one per calendar, however many came).
        The queue is in this process's memory: call it in the process that receives the webhooks
        (no lease; each calendar's sync serialises on its per-calendar lock)."""
        return [self.sync_calendar(tenant_id, calendar_id) for tenant_id, calendar_id in self._take_queue()]

    # -- ours → calendar -------------------------------------------------------------------------
    def push_appointment(self, tenant_id: str, appointment_id: str) -> PushResult:
        """Bring the calendar up to date with one appointment (insert, patch or delete, If-Match)."""
        appt, calendar_id, leave = self._push_target(tenant_id, appointment_id)
        if calendar_id is None:
            return PushResult(appointment_id, "no_calendar")
        if leave is not None:
            with self._lock(tenant_id, leave):
                appt = self._run(tenant_id, self._leave_flow(tenant_id, appt, calendar_id))
        with self._lock(tenant_id, calendar_id):
            return self._run(tenant_id, self._push_flow(tenant_id, appt, calendar_id))

    def push_pending(self, tenant_id: str) -> list[PushResult]:
        """Push every appointment named by a booked/moved/cancelled event since the last run (durable
        cursor; a failed push is retried next time). Changes the sync applied itself are up to date.
        Takes no lease: for scripts and tests; a deployment runs `CalendarSyncEngine` on a `Runtime`
        (same code and cursor), never both for one tenant (docs/runtime.md)."""
        results: list[PushResult] = []
        for appointment_id, seq in self._pending_pushes(tenant_id):
            if appointment_id:
                results.append(self.push_appointment(tenant_id, appointment_id))
            self._advance(tenant_id, seq)
        return results

    def reconcile(self, tenant_id: str, *, since: datetime | None = None) -> list[PushResult]:
        """Push every appointment from ``since`` (default: the full-sync window) whose calendar copy
        is behind (``synced_version != version``): the catch-up after an outage."""
        return [self.push_appointment(tenant_id, a) for a in self._behind(tenant_id, since)]

    def resolve_conflict(self, tenant_id: str, conflict_id: str, *, keep: str) -> PushResult:
        """Settle a manual conflict: ``keep="calendar"`` or ``keep="clinic"`` (see docs/calendar.md)."""
        conflict = next((c for c in self.repo.find_conflicts(tenant_id) if c.id == conflict_id), None)
        with self._lock(tenant_id, conflict.calendar_id if conflict else ""):
            return self._run(tenant_id, self._resolve_flow(tenant_id, conflict_id, keep))

    # -- push channels ---------------------------------------------------------------------------
    def watch_calendar(self, tenant_id: str, calendar_id: str, address: str) -> CalendarChannel:
        """Open a channel (new id, new random token; only its hash is stored)."""
        return self._run(tenant_id, self._watch_flow(tenant_id, calendar_id, address))

    def renew_channels(self, tenant_id: str, address: str) -> list[CalendarChannel]:
        """Open a new channel for every calendar whose channel expires within ``renew_before``, then
        stop the old one. Returns the new channels."""
        return self._run(tenant_id, self._renew_flow(tenant_id, address))

    def stop_channel(self, tenant_id: str, channel: CalendarChannel) -> None:
        self._run(tenant_id, self._stop_flow(tenant_id, channel))


class AsyncCalendarSync(_CalendarSyncBase):
    """The same engine over `AsyncCalendar` connectors: the same methods, awaited. The decisions and
    the flows are `CalendarSync`'s (shared base); only the calls are awaited and the per-calendar locks
    are `asyncio.Lock`s. Storage calls stay synchronous (the repository protocols are)."""

    def __init__(self, book: AppointmentBook, doctors: DoctorRepository, repo: CalendarSyncRepository,
                 calendars: Mapping[str, AsyncCalendar] | AsyncCalendarFactory, **kw: Any) -> None:
        super().__init__(book, doctors, repo, calendars, **kw)
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def calendar(self, tenant_id: str) -> AsyncCalendar:
        client: AsyncCalendar = self._client(tenant_id)
        return client

    def _lock(self, tenant_id: str, calendar_id: str) -> asyncio.Lock:
        return self._locks.setdefault((tenant_id, calendar_id), asyncio.Lock())

    async def _run(self, tenant_id: str, flow: Flow[T]) -> T:
        return await arun_flow(self.calendar(tenant_id), flow, on_error=self._error_hook(tenant_id))

    async def sync_calendar(self, tenant_id: str, calendar_id: str) -> SyncReport:
        async with self._lock(tenant_id, calendar_id):
            return await self._run(tenant_id, self._sync_flow(tenant_id, calendar_id))

    async def sync_tenant(self, tenant_id: str) -> list[SyncReport]:
        return [await self.sync_calendar(tenant_id, s.calendar_id) for s in self.repo.find_states(tenant_id)]

    async def run_queued(self) -> list[SyncReport]:
        return [await self.sync_calendar(tenant_id, calendar_id) for tenant_id, calendar_id in self._take_queue()]

    async def push_appointment(self, tenant_id: str, appointment_id: str) -> PushResult:
        appt, calendar_id, leave = self._push_target(tenant_id, appointment_id)
        if calendar_id is None:
            return PushResult(appointment_id, "no_calendar")
        if leave is not None:
            async with self._lock(tenant_id, leave):
                appt = await self._run(tenant_id, self._leave_flow(tenant_id, appt, calendar_id))
        async with self._lock(tenant_id, calendar_id):
            return await self._run(tenant_id, self._push_flow(tenant_id, appt, calendar_id))

    async def push_pending(self, tenant_id: str) -> list[PushResult]:
        results: list[PushResult] = []
        for appointment_id, seq in self._pending_pushes(tenant_id):
            if appointment_id:
                results.append(await self.push_appointment(tenant_id, appointment_id))
            self._advance(tenant_id, seq)
        return results

    async def reconcile(self, tenant_id: str, *, since: datetime | None = None) -> list[PushResult]:
        return [await self.push_appointment(tenant_id, a) for a in self._behind(tenant_id, since)]

    async def resolve_conflict(self, tenant_id: str, conflict_id: str, *, keep: str) -> PushResult:
        conflict = next((c for c in self.repo.find_conflicts(tenant_id) if c.id == conflict_id), None)
        async with self._lock(tenant_id, conflict.calendar_id if conflict else ""):
            return await self._run(tenant_id, self._resolve_flow(tenant_id, conflict_id, keep))

    async def watch_calendar(self, tenant_id: str, calendar_id: str, address: str) -> CalendarChannel:
        return await self._run(tenant_id, self._watch_flow(tenant_id, calendar_id, address))

    async def renew_channels(self, tenant_id: str, address: str) -> list[CalendarChannel]:
        return await self._run(tenant_id, self._renew_flow(tenant_id, address))

    async def stop_channel(self, tenant_id: str, channel: CalendarChannel) -> None:
        await self._run(tenant_id, self._stop_flow(tenant_id, channel))


# --- busy times for the slot finder ------------------------------------------------------------
class FreeBusyTimes(ConciseRepr):
    """`appointments.slots.BusyTimes` over the live free/busy query of the doctor's calendar.

    Our own appointments are in the calendar too (and the slot finder counts them itself), so their
    times are taken out of the answer. A calendar the provider reports an error for raises
    `ProviderError` instead of looking free.
    """

    def __init__(self, calendars: Mapping[str, Calendar] | CalendarFactory,
                 appointments: AppointmentRepository) -> None:
        self._calendars = calendars
        self.appointments = appointments

    def busy(self, tenant_id: str, doctor: Doctor, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        if not doctor.calendar_id or end <= start:
            return []
        client = self._calendars[tenant_id] if isinstance(self._calendars, Mapping) else self._calendars(tenant_id)
        answer = client.free_busy([doctor.calendar_id], start, end, time_zone=doctor.timezone)
        found = answer.get(doctor.calendar_id)
        if found is None or isinstance(found, CalendarLookupError):
            reasons = ",".join(found.reasons) if isinstance(found, CalendarLookupError) else "missing"
            raise ProviderError(f"free/busy of {doctor.calendar_id} not available", provider=client.provider,
                                operation="free_busy", code=reasons)
        ours = [(a.starts_at, a.ends_at) for a in self.appointments.find(
            tenant_id, doctor_id=doctor.id, start=start, end=end, statuses=sorted(ACTIVE_APPOINTMENT_STATUSES))
            if a.calendar_event_id is not None]
        return subtract([(b.start, b.end) for b in found], ours)


class MirrorBusyTimes(ConciseRepr):
    """`appointments.slots.BusyTimes` from the sync's mirror of the doctor's own events (no call)."""

    def __init__(self, repo: CalendarSyncRepository) -> None:
        self.repo = repo

    def busy(self, tenant_id: str, doctor: Doctor, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        if not doctor.calendar_id:
            return []
        return [(b.starts_at, b.ends_at) for b in self.repo.find_busy(tenant_id, doctor.calendar_id, start, end)]


if TYPE_CHECKING:  # mypy checks the protocol implementations
    from invekto_integrations.appointments.slots import BusyTimes
    from invekto_integrations.storage.memory_calendar import MemoryCalendarSync
    from invekto_integrations.storage.sqlite_calendar import SQLiteCalendarSync

    def _conforms(a: FreeBusyTimes, b: MirrorBusyTimes, m: MemoryCalendarSync,
                  s: SQLiteCalendarSync) -> tuple[BusyTimes, BusyTimes, CalendarSyncRepository, CalendarSyncRepository]:
        return a, b, m, s
