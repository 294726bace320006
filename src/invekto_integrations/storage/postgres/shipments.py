"""PostgreSQL shipments (with their history) and cargo notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.protocols import TenantMismatch
from invekto_integrations.storage.records import CargoNotification, ShipmentHistoryEntry, TrackedShipment

from ._db import PostgresDatabase

__all__ = ["PostgresCargoNotifications", "PostgresShipments"]

_SHIPMENT_COLS = (
    "tenant_id", "carrier", "tracking_number", "reference", "cargo_company", "source", "order_provider",
    "external_order_id", "customer_phone", "status", "raw_status_code", "raw_status_text", "status_at",
    "tracking_url", "delivered_at", "active", "next_poll_at", "last_polled_at", "last_error", "error_count",
    "created_at", "updated_at",
)
_NOTE_COLS = ("tenant_id", "id", "idempotency_key", "carrier", "tracking_number", "status", "to_phone",
              "message_json", "not_before", "created_at", "submitted_at", "submit_status")


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def _values(model: Any, cols: Sequence[str]) -> list[object]:
    return [getattr(model, c) for c in cols]


class PostgresShipments(ConciseRepr, fields=("db",)):
    _SELECT = f"SELECT {', '.join(_SHIPMENT_COLS)} FROM shipments"

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "cargo_0001_shipments",
            [
                """CREATE TABLE shipments (
                    tenant_id TEXT NOT NULL, carrier TEXT NOT NULL, tracking_number TEXT NOT NULL,
                    reference TEXT, cargo_company TEXT, source TEXT NOT NULL, order_provider TEXT,
                    external_order_id TEXT, customer_phone TEXT, status TEXT NOT NULL, raw_status_code TEXT,
                    raw_status_text TEXT, status_at TIMESTAMPTZ, tracking_url TEXT, delivered_at TIMESTAMPTZ,
                    active BOOLEAN NOT NULL, next_poll_at TIMESTAMPTZ, last_polled_at TIMESTAMPTZ, last_error TEXT,
                    error_count INTEGER NOT NULL DEFAULT 0, created_at TIMESTAMPTZ NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, carrier, tracking_number))""",
                "CREATE INDEX ix_shipments_due ON shipments (tenant_id, active, next_poll_at)",
                """CREATE TABLE shipment_history (
                    tenant_id TEXT NOT NULL, seq BIGINT GENERATED ALWAYS AS IDENTITY, carrier TEXT NOT NULL,
                    tracking_number TEXT NOT NULL, occurred_at TIMESTAMPTZ, location TEXT, description TEXT NOT NULL,
                    code TEXT, PRIMARY KEY (tenant_id, seq))""",
                # A missing time or place must still collide with itself (NULLs never do in a UNIQUE index).
                """CREATE UNIQUE INDEX ux_shipment_history ON shipment_history (tenant_id, carrier, tracking_number,
                    COALESCE(occurred_at, '-infinity'::timestamptz), COALESCE(location, ''), description)""",
            ],
        )

    @staticmethod
    def _check(tenant_id: str, shipment: TrackedShipment) -> None:
        if shipment.tenant_id != tenant_id:
            raise TenantMismatch("shipment belongs to another tenant")

    def get(self, tenant_id: str, carrier: str, tracking_number: str) -> TrackedShipment | None:
        r = self.db.fetchone(f"{self._SELECT} WHERE tenant_id = %s AND carrier = %s AND tracking_number = %s",
                             (tenant_id, carrier, tracking_number))
        return TrackedShipment.model_validate(r) if r else None

    def add(self, tenant_id: str, shipment: TrackedShipment) -> bool:
        self._check(tenant_id, shipment)
        return self.db.execute(
            f"INSERT INTO shipments ({', '.join(_SHIPMENT_COLS)}) VALUES ({_marks(len(_SHIPMENT_COLS))}) "
            "ON CONFLICT DO NOTHING", _values(shipment, _SHIPMENT_COLS)) == 1

    def save(self, tenant_id: str, shipment: TrackedShipment) -> None:
        self._check(tenant_id, shipment)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _SHIPMENT_COLS[3:])
        self.db.execute(
            f"INSERT INTO shipments ({', '.join(_SHIPMENT_COLS)}) VALUES ({_marks(len(_SHIPMENT_COLS))}) "
            f"ON CONFLICT (tenant_id, carrier, tracking_number) DO UPDATE SET {updates}",
            _values(shipment, _SHIPMENT_COLS))

    def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[TrackedShipment]:
        rows = self.db.fetchall(
            f"{self._SELECT} WHERE tenant_id = %s AND active AND next_poll_at IS NOT NULL AND next_poll_at <= %s "
            "ORDER BY next_poll_at, carrier, tracking_number LIMIT %s", (tenant_id, now, limit))
        return [TrackedShipment.model_validate(r) for r in rows]

    def find(self, tenant_id: str, *, carrier: str | None = None, active: bool | None = None) -> list[TrackedShipment]:
        sql = f"{self._SELECT} WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if carrier is not None:
            sql += " AND carrier = %s"
            params.append(carrier)
        if active is not None:
            sql += " AND active = %s"
            params.append(active)
        return [TrackedShipment.model_validate(r)
                for r in self.db.fetchall(sql + " ORDER BY carrier, tracking_number", params)]

    def add_history(self, tenant_id: str, carrier: str, tracking_number: str,
                    entries: Sequence[ShipmentHistoryEntry]) -> int:
        if any(e.tenant_id != tenant_id for e in entries):
            raise TenantMismatch("history entry belongs to another tenant")
        added = 0
        with self.db.transaction():
            for e in entries:
                added += self.db.execute(
                    "INSERT INTO shipment_history (tenant_id, carrier, tracking_number, occurred_at, location, "
                    "description, code) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (tenant_id, carrier, tracking_number, e.occurred_at, e.location or None, e.description, e.code))
        return added

    def history(self, tenant_id: str, carrier: str, tracking_number: str) -> list[ShipmentHistoryEntry]:
        rows = self.db.fetchall(
            "SELECT tenant_id, carrier, tracking_number, occurred_at, location, description, code "
            "FROM shipment_history WHERE tenant_id = %s AND carrier = %s AND tracking_number = %s "
            "ORDER BY occurred_at NULLS FIRST, seq", (tenant_id, carrier, tracking_number))
        return [ShipmentHistoryEntry.model_validate(r) for r in rows]

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall("SELECT DISTINCT tenant_id FROM shipments ORDER BY 1")]


class PostgresCargoNotifications(ConciseRepr, fields=("db",)):
    _SELECT = f"SELECT {', '.join(_NOTE_COLS)} FROM cargo_notifications"

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "cargo_0002_notifications",
            [
                """CREATE TABLE cargo_notifications (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, idempotency_key TEXT NOT NULL,
                    carrier TEXT NOT NULL, tracking_number TEXT NOT NULL, status TEXT NOT NULL,
                    to_phone TEXT NOT NULL, message_json TEXT NOT NULL, not_before TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL, submitted_at TIMESTAMPTZ, submit_status TEXT,
                    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, idempotency_key))""",
            ],
        )

    def add(self, tenant_id: str, notification: CargoNotification) -> bool:
        if notification.tenant_id != tenant_id:
            raise TenantMismatch("notification belongs to another tenant")
        return self.db.execute(
            f"INSERT INTO cargo_notifications ({', '.join(_NOTE_COLS)}) VALUES ({_marks(len(_NOTE_COLS))}) "
            "ON CONFLICT DO NOTHING", _values(notification, _NOTE_COLS)) == 1

    def get(self, tenant_id: str, idempotency_key: str) -> CargoNotification | None:
        r = self.db.fetchone(f"{self._SELECT} WHERE tenant_id = %s AND idempotency_key = %s",
                             (tenant_id, idempotency_key))
        return CargoNotification.model_validate(r) if r else None

    def mark_submitted(self, tenant_id: str, idempotency_key: str, status: str, at: datetime) -> None:
        self.db.execute("UPDATE cargo_notifications SET submit_status = %s, submitted_at = %s WHERE tenant_id = %s "
                        "AND idempotency_key = %s", (status, at, tenant_id, idempotency_key))

    def find(self, tenant_id: str, *, pending_only: bool = False) -> list[CargoNotification]:
        sql = f"{self._SELECT} WHERE tenant_id = %s"
        if pending_only:
            sql += " AND submitted_at IS NULL"
        return [CargoNotification.model_validate(r)
                for r in self.db.fetchall(sql + " ORDER BY created_at, id", (tenant_id,))]
