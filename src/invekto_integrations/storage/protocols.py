"""Repository protocols: one per aggregate, synchronous, batch-friendly, tenant-scoped.

Every method takes ``tenant_id`` first; a record of another tenant raises `TenantMismatch`
(nothing is written), and nothing written for one tenant is ever returned for another. Ids are
unique per tenant: the same id under two tenants is two rows. Engines
depend on these protocols only; `memory` and `sqlite` implement them and both pass the one
contract suite in ``tests/storage``. Later areas add their own protocols here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.events import DomainEvent

from .records import (
    CachedOrder,
    CargoNotification,
    Checkpoint,
    ConsentCacheRecord,
    MessagingContact,
    OutboxCount,
    OutboxRecord,
    OutboxStatus,
    QuarantinedRecord,
    ShipmentHistoryEntry,
    StoredEvent,
    TrackedShipment,
)

__all__ = [
    "AccountRepository",
    "CargoNotificationRepository",
    "CheckpointRepository",
    "ConsentCacheRepository",
    "EventLog",
    "MessagingContactRepository",
    "OrderCacheRepository",
    "OutboxRepository",
    "QuarantineRepository",
    "ShipmentRepository",
    "UpsertResult",
]


@dataclass(frozen=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class AccountRepository(Protocol):
    def add(self, tenant_id: str, account: IntegrationAccount) -> None: ...
    def get(self, tenant_id: str, account_id: str) -> IntegrationAccount | None: ...
    def find(
        self, tenant_id: str, *, provider: str | None = None, status: AccountStatus | None = None
    ) -> list[IntegrationAccount]: ...
    def set_status(self, tenant_id: str, account_id: str, status: AccountStatus, at: datetime) -> None: ...
    def update_secret(self, tenant_id: str, account_id: str, api_key_encrypted: str, at: datetime) -> None: ...
    def tenants(self) -> list[str]:
        """Every tenant with at least one account (for key rotation and schedulers)."""
        ...


class OrderCacheRepository(Protocol):
    def upsert_many(self, tenant_id: str, orders: Sequence[CachedOrder]) -> UpsertResult:
        """Insert or update by (tenant, provider, account, external_order_id); unchanged rows keep
        their ``created_at`` and are counted as unchanged (compared by ``content_hash``)."""
        ...

    def get(self, tenant_id: str, provider: str, account_id: str, external_order_id: str) -> CachedOrder | None: ...
    def get_many(
        self, tenant_id: str, provider: str, account_id: str, external_order_ids: Sequence[str]
    ) -> dict[str, CachedOrder]: ...
    def find_by_phone(self, tenant_id: str, phone_e164: str, *, limit: int = 100) -> list[CachedOrder]:
        """Orders of one customer, newest first (by ``ordered_at``)."""
        ...

    def find_by_tracking_code(self, tenant_id: str, tracking_code: str) -> list[CachedOrder]: ...
    def count(self, tenant_id: str, *, provider: str | None = None) -> int: ...


class CheckpointRepository(Protocol):
    def get(self, tenant_id: str, account_id: str, stream: str) -> Checkpoint | None: ...
    def put(self, tenant_id: str, checkpoint: Checkpoint) -> None: ...


class QuarantineRepository(Protocol):
    def add(self, tenant_id: str, record: QuarantinedRecord) -> None: ...
    def find(self, tenant_id: str, *, provider: str | None = None) -> list[QuarantinedRecord]: ...


class EventLog(Protocol):
    """A durable, ordered, per-tenant log of domain events with consumer cursors."""

    def append(self, tenant_id: str, events: Sequence[DomainEvent], *, at: datetime) -> list[StoredEvent]:
        """Append in order; an event whose ``dedupe_key`` (or ``event_id``) is already in the log is
        skipped. Returns the events actually appended."""
        ...

    def read(
        self, tenant_id: str, *, after: int = 0, limit: int = 500, types: Sequence[str] | None = None
    ) -> list[StoredEvent]: ...
    def cursor(self, tenant_id: str, consumer: str) -> int: ...
    def advance(self, tenant_id: str, consumer: str, seq: int) -> None:
        """Move a consumer's cursor forward (never backwards)."""
        ...

    def tenants(self) -> list[str]: ...


# --- shipments (issue 6) ---------------------------------------------------------------------
class ShipmentRepository(Protocol):
    """Watched parcels and their movement history, per tenant."""

    def get(self, tenant_id: str, carrier: str, tracking_number: str) -> TrackedShipment | None: ...

    def add(self, tenant_id: str, shipment: TrackedShipment) -> bool:
        """Insert if (tenant, carrier, tracking_number) is new; ``False`` (and no change) if it exists."""
        ...

    def save(self, tenant_id: str, shipment: TrackedShipment) -> None:
        """Insert or replace by (tenant, carrier, tracking_number)."""
        ...

    def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[TrackedShipment]:
        """Active parcels whose ``next_poll_at`` has come, soonest first."""
        ...

    def find(self, tenant_id: str, *, carrier: str | None = None, active: bool | None = None) -> list[TrackedShipment]:
        ...

    def add_history(self, tenant_id: str, carrier: str, tracking_number: str,
                    entries: Sequence[ShipmentHistoryEntry]) -> int:
        """Append movements not stored yet (same time, place and description = same movement);
        returns how many were new."""
        ...

    def history(self, tenant_id: str, carrier: str, tracking_number: str) -> list[ShipmentHistoryEntry]:
        """Movements oldest first."""
        ...

    def tenants(self) -> list[str]: ...


class CargoNotificationRepository(Protocol):
    """The cargo notifier's outbox: one row per idempotency key."""

    def add(self, tenant_id: str, notification: CargoNotification) -> bool:
        """Insert unless the key exists; ``False`` means it was already recorded."""
        ...

    def get(self, tenant_id: str, idempotency_key: str) -> CargoNotification | None: ...
    def mark_submitted(self, tenant_id: str, idempotency_key: str, status: str, at: datetime) -> None: ...
    def find(self, tenant_id: str, *, pending_only: bool = False) -> list[CargoNotification]:
        """Oldest first; ``pending_only`` = not yet handed to the sink."""
        ...


# --- messaging (issue 7) ---------------------------------------------------------------------
class OutboxRepository(Protocol):
    """The ``outbox`` table: one row per logical message, unique by (tenant_id, idempotency_key)."""

    def insert_if_absent(self, tenant_id: str, record: OutboxRecord) -> tuple[OutboxRecord, bool]:
        """Insert, or return the existing row with the same idempotency key: ``(row, created)``."""
        ...

    def get(self, tenant_id: str, outbox_id: str) -> OutboxRecord | None: ...
    def get_by_key(self, tenant_id: str, idempotency_key: str) -> OutboxRecord | None: ...
    def get_by_provider_id(self, tenant_id: str, provider_message_id: str) -> OutboxRecord | None: ...
    def save(self, tenant_id: str, record: OutboxRecord) -> None:
        """Overwrite an existing row (same tenant and id)."""
        ...

    def claim(self, tenant_id: str, outbox_id: str, expected: Sequence[OutboxStatus], new: OutboxStatus,
              at: datetime) -> OutboxRecord | None:
        """Compare-and-set the status; the updated row if it was in ``expected``, else ``None``."""
        ...

    def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[OutboxRecord]:
        """Scheduled or queued rows with ``due_at <= now``, oldest first."""
        ...

    def count_recent(self, tenant_id: str, to_phone: str, categories: Sequence[str], since: datetime) -> int:
        """Messages to one recipient created since ``since`` that were not refused or failed."""
        ...

    def status_counts(self, tenant_id: str, *, purpose: str | None = None) -> dict[str, dict[str, int]]:
        """purpose → status → number of rows."""
        ...

    def grouped_counts(self, tenant_id: str, *, purpose: str | None = None,
                       campaign_id: str | None = None) -> list[OutboxCount]:
        """Rows counted per (purpose, campaign_id, variant, status), optionally for one purpose or
        campaign; ordered by purpose, campaign, variant (``None`` first), status."""
        ...

    def tenants(self) -> list[str]:
        """Tenants with at least one outbox row (for a dispatcher that serves them all)."""
        ...


class ConsentCacheRepository(Protocol):
    """The ``consents`` table: local copies of İYS records keyed on (brand, recipient, type)."""

    def get(self, tenant_id: str, brand_code: str, recipient: str, type: str) -> ConsentCacheRecord | None: ...
    def upsert(self, tenant_id: str, record: ConsentCacheRecord) -> None: ...
    def find(self, tenant_id: str, *, status: str | None = None) -> list[ConsentCacheRecord]: ...


class MessagingContactRepository(Protocol):
    """The ``messaging_contacts`` table: last inbound time, opt-out and CTWA click per recipient."""

    def get(self, tenant_id: str, phone: str) -> MessagingContact | None: ...
    def record_inbound(self, tenant_id: str, phone: str, at: datetime, *, wa_id: str | None = None,
                       ctwa_clid: str | None = None, referral_json: str | None = None) -> MessagingContact:
        """Move ``last_inbound_at`` forward (never back); keep a CTWA click id when one is given."""
        ...

    def set_opt_out(self, tenant_id: str, phone: str, at: datetime, keyword: str) -> MessagingContact:
        """Record an opt-out decided at ``at`` unless a later opt-out/opt-in is on record (a redelivered
        or late message never moves the state back); returns the row as it is now."""
        ...

    def clear_opt_out(self, tenant_id: str, phone: str, at: datetime) -> MessagingContact:
        """Clear the opt-out as of ``at`` unless a later decision is on record; returns the row."""
        ...


# --- appointments (issue 8) ------------------------------------------------------------------
from invekto_integrations.core.errors import StorageError  # noqa: E402  (kept with the section it serves)

from .records import (  # noqa: E402
    Appointment,
    AppointmentStatus,
    Doctor,
    OfferStatus,
    ServicePricing,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)

__all__ += [
    "AppointmentRepository",
    "DoctorRepository",
    "DuplicateServiceName",
    "ServicePricingRepository",
    "SlotConflict",
    "WaitlistRepository",
]


class SlotConflict(StorageError):
    """An active appointment of the same doctor already overlaps the requested time."""

    def __init__(self, message: str, *, conflicting_id: str | None = None) -> None:
        super().__init__(message)
        self.conflicting_id = conflicting_id


class DuplicateServiceName(StorageError):
    """Another active service of the tenant already has this name (compared case/Turkish-letter-insensitively)."""


class AppointmentRepository(Protocol):
    """The ``appointments`` table. An *active* appointment (booked or confirmed) blocks its
    doctor's time ``[starts_at, ends_at + buffer_minutes)``; no two active ones of a doctor overlap."""

    def get(self, tenant_id: str, appointment_id: str) -> Appointment | None: ...

    def find(self, tenant_id: str, *, doctor_id: str | None = None, start: datetime | None = None,
             end: datetime | None = None, statuses: Sequence[AppointmentStatus] | None = None,
             patient_phone: str | None = None) -> list[Appointment]:
        """Appointments whose blocked time overlaps ``[start, end)`` (either bound optional), by
        ``starts_at`` then id."""
        ...

    def find_by_event(self, tenant_id: str, calendar_id: str, event_id: str) -> Appointment | None: ...

    def book_if_free(self, tenant_id: str, appointment: Appointment) -> bool:
        """Atomically insert ``appointment`` unless an active appointment of its doctor overlaps
        it (one transaction: concurrent callers cannot both win). ``False`` = not inserted;
        `DuplicateRecord` if the tenant already has an appointment with this id."""
        ...

    def update(self, tenant_id: str, appointment: Appointment, *, expected_version: int,
               allow_overlap: bool = False) -> bool:
        """Compare-and-set: store ``appointment`` as given if the stored row's version is
        ``expected_version``; ``False`` if it changed meanwhile (or is missing). If the new row is
        active and overlaps another active appointment of the doctor, raise `SlotConflict`
        (unless ``allow_overlap``; a calendar owner's own change may overlap). The caller sets
        ``version`` (``expected_version + 1`` for a change made here; unchanged for sync
        bookkeeping such as ``calendar_etag``/``synced_version``)."""
        ...

    def tenants(self) -> list[str]: ...


class DoctorRepository(Protocol):
    def save(self, tenant_id: str, doctor: Doctor) -> None:
        """Insert or replace by (tenant, id)."""
        ...

    def get(self, tenant_id: str, doctor_id: str) -> Doctor | None: ...
    def find(self, tenant_id: str, *, active_only: bool = True) -> list[Doctor]:
        """By name, then id."""
        ...

    def find_by_calendar(self, tenant_id: str, calendar_id: str) -> Doctor | None: ...


class ServicePricingRepository(Protocol):
    """The ``service_pricing`` table; at most one *active* row per (tenant, folded service name)."""

    def add(self, tenant_id: str, service: ServicePricing) -> None:
        """Insert; `DuplicateServiceName` if an active service of that name exists."""
        ...

    def save(self, tenant_id: str, service: ServicePricing) -> None:
        """Replace an existing row (same tenant and id); `DuplicateServiceName` as for `add`;
        `StorageError` if the row does not exist."""
        ...

    def get(self, tenant_id: str, service_id: str) -> ServicePricing | None: ...
    def get_active(self, tenant_id: str, service_name: str) -> ServicePricing | None:
        """The active service of that name (case/Turkish-letter-insensitive)."""
        ...

    def find(self, tenant_id: str, *, active_only: bool = True) -> list[ServicePricing]:
        """By service name."""
        ...


class WaitlistRepository(Protocol):
    """The ``waitlist`` table and its ``waitlist_offers``."""

    def add(self, tenant_id: str, entry: WaitlistEntry) -> None:
        """Insert; `DuplicateRecord` if the tenant already has an entry with this id."""
        ...
    def get(self, tenant_id: str, entry_id: str) -> WaitlistEntry | None: ...
    def find(self, tenant_id: str, *, statuses: Sequence[WaitlistStatus] | None = None,
             patient_phone: str | None = None) -> list[WaitlistEntry]:
        """Fair order: priority (high first), then ``created_at``, then id."""
        ...

    def set_status(self, tenant_id: str, entry_id: str, expected: Sequence[WaitlistStatus], new: WaitlistStatus,
                   at: datetime) -> WaitlistEntry | None:
        """Compare-and-set the entry status; the updated entry, or ``None`` if it was not in ``expected``."""
        ...

    def add_offer(self, tenant_id: str, offer: WaitlistOffer) -> bool:
        """Insert a pending offer unless the entry already has a pending offer or was already
        offered this slot (same ``source_appointment_id``) or the tenant already has an offer with this
        id; ``False`` = not inserted."""
        ...

    def get_offer(self, tenant_id: str, offer_id: str) -> WaitlistOffer | None: ...
    def find_offers(self, tenant_id: str, *, statuses: Sequence[OfferStatus] | None = None,
                    patient_phone: str | None = None, source_appointment_id: str | None = None,
                    expires_before: datetime | None = None) -> list[WaitlistOffer]:
        """Oldest first (``created_at``, then id)."""
        ...

    def resolve_offer(self, tenant_id: str, offer_id: str, expected: Sequence[OfferStatus], new: OfferStatus,
                      at: datetime, *, appointment_id: str | None = None) -> WaitlistOffer | None:
        """Compare-and-set the offer status (sets ``responded_at``); ``None`` if not in ``expected``."""
        ...

    def set_offer_message(self, tenant_id: str, offer_id: str, message_id: str) -> None: ...
    def extend_offer(self, tenant_id: str, offer_id: str, expires_at: datetime) -> WaitlistOffer | None:
        """Move a pending offer's ``expires_at`` later (never earlier: a concurrent extension wins if
        later); the offer as stored, or ``None`` when it is not pending."""
        ...
    def tenants(self) -> list[str]: ...


# --- calendar sync (issue 8) ------------------------------------------------------------------
from .records import CalendarBusyBlock, CalendarChannel, CalendarConflict, CalendarSyncState  # noqa: E402


class CalendarSyncRepository(Protocol):
    """The calendar sync's own state: tokens per (tenant, calendar), push channels, the mirror of
    foreign busy events and the conflict log. Appointment ↔ event links live on the appointment."""

    def get_state(self, tenant_id: str, calendar_id: str) -> CalendarSyncState | None: ...
    def save_state(self, tenant_id: str, state: CalendarSyncState) -> None:
        """Insert or replace by (tenant, calendar)."""
        ...

    def find_states(self, tenant_id: str) -> list[CalendarSyncState]: ...

    def save_channel(self, tenant_id: str, channel: CalendarChannel) -> None:
        """Insert or replace by (tenant, channel id)."""
        ...

    def get_channel(self, tenant_id: str, channel_id: str) -> CalendarChannel | None: ...
    def find_channels(self, tenant_id: str, *, calendar_id: str | None = None,
                      active_only: bool = True) -> list[CalendarChannel]:
        """Oldest first; ``active_only`` = not stopped."""
        ...

    def advance_message(self, tenant_id: str, channel_id: str, number: int) -> bool:
        """Raise the channel's last message number to ``number``; ``False`` if it was not higher
        (a repeat or an out-of-order message) or the channel is unknown."""
        ...

    def upsert_busy(self, tenant_id: str, block: CalendarBusyBlock) -> None:
        """Insert or replace by (tenant, calendar, event)."""
        ...
    def delete_busy(self, tenant_id: str, calendar_id: str, event_id: str) -> None: ...
    def clear_busy(self, tenant_id: str, calendar_id: str) -> int:
        """Forget a calendar's mirror (before a full resync); returns how many blocks were removed."""
        ...

    def find_busy(self, tenant_id: str, calendar_id: str, start: datetime, end: datetime) -> list[CalendarBusyBlock]:
        """Blocks overlapping ``[start, end)``, by start."""
        ...

    def add_conflict(self, tenant_id: str, conflict: CalendarConflict) -> None:
        """Insert; `DuplicateRecord` if the tenant already logged this id (never replaced)."""
        ...
    def find_conflicts(self, tenant_id: str, *, appointment_id: str | None = None) -> list[CalendarConflict]:
        """Oldest first."""
        ...

    def resolve_conflict(self, tenant_id: str, conflict_id: str, resolution: str, at: datetime) -> bool:
        """Mark an open conflict settled (``resolution``: who won); ``False`` if unknown or settled."""
        ...


__all__ += ["CalendarSyncRepository"]


# --- messaging: durable early statuses, stale sends (issue 7 follow-up) ----------------------
from .records import PendingStatusRecord  # noqa: E402


class DurableOutboxRepository(OutboxRepository, Protocol):
    """The outbox plus ``pending_statuses`` (status webhooks that raced ahead of the send) and the
    query the reaper of stuck ``sending`` rows needs. Both built-in outboxes implement it."""

    def buffer_status(self, tenant_id: str, record: PendingStatusRecord) -> OutboxRecord | None:
        """Atomically: the outbox row that already carries ``record.provider_message_id`` (nothing
        stored; the caller applies the status), else store ``record`` (a repeat of the same
        (provider id, status) is kept once) and return ``None``."""
        ...

    def save_taking_statuses(self, tenant_id: str, record: OutboxRecord) -> list[PendingStatusRecord]:
        """Atomically save ``record`` and remove and return the pending statuses stored for its
        ``provider_message_id`` (oldest first): none can slip in between."""
        ...

    def purge_pending_statuses(self, tenant_id: str, before: datetime) -> int:
        """Forget pending statuses received before ``before`` (ids never recorded here)."""
        ...

    def stale(self, tenant_id: str, status: OutboxStatus, updated_before: datetime, *,
              limit: int = 100) -> list[OutboxRecord]:
        """Rows in ``status`` whose ``updated_at`` is older than ``updated_before``, oldest first."""
        ...


__all__ += ["DurableOutboxRepository"]


# --- typed storage errors (error-boundary review) --------------------------------------------
class DuplicateRecord(StorageError, ValueError):
    """An insert of an id the table already holds. Also a ``ValueError`` (what was raised before)."""


class TenantMismatch(StorageError):
    """A row handed to a repository carries another tenant's ``tenant_id`` than the call's."""


__all__ += ["DuplicateRecord", "TenantMismatch"]
