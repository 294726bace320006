"""Repository protocols: one per aggregate, synchronous, batch-friendly, tenant-scoped.

Every method takes ``tenant_id`` first; nothing written for one tenant is ever returned for
another. Engines depend on these protocols only; `memory` and `sqlite` implement them and both
pass the one contract suite in ``tests/storage``. Later areas add their own protocols here.
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
    QuarantinedRecord,
    ShipmentHistoryEntry,
    StoredEvent,
    TrackedShipment,
)

__all__ = [
    "AccountRepository",
    "CargoNotificationRepository",
    "CheckpointRepository",
    "EventLog",
    "OrderCacheRepository",
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
    def add(self, account: IntegrationAccount) -> None: ...
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
    def put(self, checkpoint: Checkpoint) -> None: ...


class QuarantineRepository(Protocol):
    def add(self, record: QuarantinedRecord) -> None: ...
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
