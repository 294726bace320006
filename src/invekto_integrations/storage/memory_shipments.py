"""In-memory shipment and cargo-notification repositories (reference implementation for tests)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from invekto_integrations.core.reprs import ConciseRepr

from .protocols import TenantMismatch
from .records import CargoNotification, ShipmentHistoryEntry, TrackedShipment

__all__ = ["MemoryCargoNotifications", "MemoryShipments"]


def _hkey(e: ShipmentHistoryEntry) -> tuple[str, str, str]:
    return (e.occurred_at.isoformat() if e.occurred_at else "", e.location or "", e.description)


class MemoryShipments(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], TrackedShipment] = {}
        self._history: dict[tuple[str, str, str], list[ShipmentHistoryEntry]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _check(tenant_id: str, shipment: TrackedShipment) -> tuple[str, str, str]:
        if shipment.tenant_id != tenant_id:
            raise TenantMismatch("shipment belongs to another tenant")
        return (tenant_id, shipment.carrier, shipment.tracking_number)

    def get(self, tenant_id: str, carrier: str, tracking_number: str) -> TrackedShipment | None:
        return self._rows.get((tenant_id, carrier, tracking_number))

    def add(self, tenant_id: str, shipment: TrackedShipment) -> bool:
        key = self._check(tenant_id, shipment)
        with self._lock:
            if key in self._rows:
                return False
            self._rows[key] = shipment
            return True

    def save(self, tenant_id: str, shipment: TrackedShipment) -> None:
        key = self._check(tenant_id, shipment)
        with self._lock:
            self._rows[key] = shipment

    def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[TrackedShipment]:
        rows = [s for (t, _, _), s in self._rows.items()
                if t == tenant_id and s.active and s.next_poll_at is not None and s.next_poll_at <= now]
        rows.sort(key=lambda s: (s.next_poll_at or now, s.carrier, s.tracking_number))
        return rows[:limit]

    def find(self, tenant_id: str, *, carrier: str | None = None, active: bool | None = None) -> list[TrackedShipment]:
        rows = [s for (t, c, _), s in self._rows.items()
                if t == tenant_id and carrier in (None, c) and active in (None, s.active)]
        return sorted(rows, key=lambda s: (s.carrier, s.tracking_number))

    def add_history(self, tenant_id: str, carrier: str, tracking_number: str,
                    entries: Sequence[ShipmentHistoryEntry]) -> int:
        added = 0
        with self._lock:
            stored = self._history.setdefault((tenant_id, carrier, tracking_number), [])
            seen = {_hkey(e) for e in stored}
            for e in entries:
                if e.tenant_id != tenant_id:
                    raise TenantMismatch("history entry belongs to another tenant")
                if _hkey(e) not in seen:
                    stored.append(e)
                    seen.add(_hkey(e))
                    added += 1
        return added

    def history(self, tenant_id: str, carrier: str, tracking_number: str) -> list[ShipmentHistoryEntry]:
        rows = list(self._history.get((tenant_id, carrier, tracking_number), []))
        return sorted(rows, key=lambda e: (e.occurred_at.timestamp() if e.occurred_at else float("-inf")))

    def tenants(self) -> list[str]:
        return sorted({t for t, _, _ in self._rows})


class MemoryCargoNotifications(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], CargoNotification] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, notification: CargoNotification) -> bool:
        if notification.tenant_id != tenant_id:
            raise TenantMismatch("notification belongs to another tenant")
        key = (tenant_id, notification.idempotency_key)
        with self._lock:
            if key in self._rows:
                return False
            self._rows[key] = notification
            return True

    def get(self, tenant_id: str, idempotency_key: str) -> CargoNotification | None:
        return self._rows.get((tenant_id, idempotency_key))

    def mark_submitted(self, tenant_id: str, idempotency_key: str, status: str, at: datetime) -> None:
        with self._lock:
            found = self._rows.get((tenant_id, idempotency_key))
            if found is not None:
                self._rows[(tenant_id, idempotency_key)] = found.model_copy(
                    update={"submit_status": status, "submitted_at": at})

    def find(self, tenant_id: str, *, pending_only: bool = False) -> list[CargoNotification]:
        rows = [n for (t, _), n in self._rows.items()
                if t == tenant_id and (not pending_only or n.submitted_at is None)]
        return sorted(rows, key=lambda n: (n.created_at, n.id))
