"""SQLite shipment and cargo-notification repositories (tables ``shipments``, ``shipment_history``,
``cargo_notifications``), each with its own named migration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from .protocols import TenantMismatch
from .records import CargoNotification, ShipmentHistoryEntry, TrackedShipment

__all__ = ["SQLiteCargoNotifications", "SQLiteShipments"]

_SHIPMENT_COLS = (
    "tenant_id", "carrier", "tracking_number", "reference", "cargo_company", "source", "order_provider",
    "external_order_id", "customer_phone", "status", "raw_status_code", "raw_status_text", "status_at",
    "tracking_url", "delivered_at", "active", "next_poll_at", "last_polled_at", "last_error", "error_count",
    "created_at", "updated_at",
)
_TS = {"status_at", "delivered_at", "next_poll_at", "last_polled_at", "created_at", "updated_at", "occurred_at",
       "not_before", "submitted_at"}


def _ts(v: datetime | None) -> str | None:
    return to_ts(v) if v is not None else None


def _values(model: Any, cols: Sequence[str]) -> list[object]:
    out: list[object] = []
    for c in cols:
        v = getattr(model, c)
        if c in _TS:
            v = _ts(v)
        elif isinstance(v, bool):
            v = int(v)
        out.append(v)
    return out


def _read(row: Any, cols: Sequence[str]) -> dict[str, Any]:
    data = {c: row[c] for c in cols}
    for c in cols:
        if c in _TS and data[c] is not None:
            data[c] = from_ts(data[c])
    return data


class SQLiteShipments(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0100_shipments",
            [
                """CREATE TABLE shipments (
                    tenant_id TEXT NOT NULL, carrier TEXT NOT NULL, tracking_number TEXT NOT NULL,
                    reference TEXT, cargo_company TEXT, source TEXT NOT NULL, order_provider TEXT,
                    external_order_id TEXT, customer_phone TEXT, status TEXT NOT NULL, raw_status_code TEXT,
                    raw_status_text TEXT, status_at TEXT, tracking_url TEXT, delivered_at TEXT,
                    active INTEGER NOT NULL, next_poll_at TEXT, last_polled_at TEXT, last_error TEXT,
                    error_count INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, carrier, tracking_number))""",
                "CREATE INDEX ix_shipments_due ON shipments (tenant_id, active, next_poll_at)",
                """CREATE TABLE shipment_history (
                    tenant_id TEXT NOT NULL, carrier TEXT NOT NULL, tracking_number TEXT NOT NULL,
                    occurred_at TEXT, location TEXT, description TEXT NOT NULL, code TEXT,
                    UNIQUE (tenant_id, carrier, tracking_number, occurred_at, location, description))""",
                "CREATE INDEX ix_shipment_history ON shipment_history (tenant_id, carrier, tracking_number)",
            ],
        )

    @staticmethod
    def _check(tenant_id: str, shipment: TrackedShipment) -> None:
        if shipment.tenant_id != tenant_id:
            raise TenantMismatch("shipment belongs to another tenant")

    def _row(self, r: Any) -> TrackedShipment:
        data = _read(r, _SHIPMENT_COLS)
        data["active"] = bool(data["active"])
        return TrackedShipment.model_validate(data)

    def get(self, tenant_id: str, carrier: str, tracking_number: str) -> TrackedShipment | None:
        r = self.db.execute("SELECT * FROM shipments WHERE tenant_id = ? AND carrier = ? AND tracking_number = ?",
                            (tenant_id, carrier, tracking_number)).fetchone()
        return self._row(r) if r else None

    def add(self, tenant_id: str, shipment: TrackedShipment) -> bool:
        self._check(tenant_id, shipment)
        cur = self.db.execute(
            f"INSERT INTO shipments ({', '.join(_SHIPMENT_COLS)}) VALUES ({', '.join('?' * len(_SHIPMENT_COLS))}) "
            "ON CONFLICT DO NOTHING",
            _values(shipment, _SHIPMENT_COLS),
        )
        return cur.rowcount == 1

    def save(self, tenant_id: str, shipment: TrackedShipment) -> None:
        self._check(tenant_id, shipment)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _SHIPMENT_COLS[3:])
        self.db.execute(
            f"INSERT INTO shipments ({', '.join(_SHIPMENT_COLS)}) VALUES ({', '.join('?' * len(_SHIPMENT_COLS))}) "
            f"ON CONFLICT (tenant_id, carrier, tracking_number) DO UPDATE SET {updates}",
            _values(shipment, _SHIPMENT_COLS),
        )

    def due(self, tenant_id: str, now: datetime, *, limit: int = 100) -> list[TrackedShipment]:
        rows = self.db.execute(
            "SELECT * FROM shipments WHERE tenant_id = ? AND active = 1 AND next_poll_at IS NOT NULL "
            "AND next_poll_at <= ? ORDER BY next_poll_at, carrier, tracking_number LIMIT ?",
            (tenant_id, to_ts(now), limit),
        )
        return [self._row(r) for r in rows]

    def find(self, tenant_id: str, *, carrier: str | None = None, active: bool | None = None) -> list[TrackedShipment]:
        sql = "SELECT * FROM shipments WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if carrier is not None:
            sql += " AND carrier = ?"
            params.append(carrier)
        if active is not None:
            sql += " AND active = ?"
            params.append(int(active))
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY carrier, tracking_number", params)]

    def add_history(self, tenant_id: str, carrier: str, tracking_number: str,
                    entries: Sequence[ShipmentHistoryEntry]) -> int:
        added = 0
        with self.db.transaction() as conn:
            for e in entries:
                if e.tenant_id != tenant_id:
                    raise TenantMismatch("history entry belongs to another tenant")
                # NULLs never collide in a UNIQUE index: store '' for a missing time/place instead.
                cur = conn.execute(
                    "INSERT INTO shipment_history VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (tenant_id, carrier, tracking_number, _ts(e.occurred_at) or "", e.location or "",
                     e.description, e.code),
                )
                added += cur.rowcount
        return added

    def history(self, tenant_id: str, carrier: str, tracking_number: str) -> list[ShipmentHistoryEntry]:
        rows = self.db.execute(
            "SELECT * FROM shipment_history WHERE tenant_id = ? AND carrier = ? AND tracking_number = ? "
            "ORDER BY occurred_at, rowid",
            (tenant_id, carrier, tracking_number),
        )
        return [
            ShipmentHistoryEntry(
                tenant_id=r["tenant_id"], carrier=r["carrier"], tracking_number=r["tracking_number"],
                occurred_at=from_ts(r["occurred_at"]) if r["occurred_at"] else None,
                location=r["location"] or None, description=r["description"], code=r["code"],
            )
            for r in rows
        ]

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tenant_id FROM shipments ORDER BY 1")]


_NOTE_COLS = ("id", "tenant_id", "idempotency_key", "carrier", "tracking_number", "status", "to_phone",
              "message_json", "not_before", "created_at", "submitted_at", "submit_status")


class SQLiteCargoNotifications(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0101_cargo_notifications",
            [
                """CREATE TABLE cargo_notifications (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, idempotency_key TEXT NOT NULL,
                    carrier TEXT NOT NULL, tracking_number TEXT NOT NULL, status TEXT NOT NULL,
                    to_phone TEXT NOT NULL, message_json TEXT NOT NULL, not_before TEXT, created_at TEXT NOT NULL,
                    submitted_at TEXT, submit_status TEXT, UNIQUE (tenant_id, idempotency_key))""",
            ],
        )
        db.tenant_key("cargo_0001_notifications_tenant_key", "cargo_notifications")  # ids per tenant

    def add(self, tenant_id: str, notification: CargoNotification) -> bool:
        if notification.tenant_id != tenant_id:
            raise TenantMismatch("notification belongs to another tenant")
        cur = self.db.execute(
            f"INSERT INTO cargo_notifications ({', '.join(_NOTE_COLS)}) VALUES ({', '.join('?' * len(_NOTE_COLS))}) "
            "ON CONFLICT DO NOTHING",
            _values(notification, _NOTE_COLS),
        )
        return cur.rowcount == 1

    def get(self, tenant_id: str, idempotency_key: str) -> CargoNotification | None:
        r = self.db.execute("SELECT * FROM cargo_notifications WHERE tenant_id = ? AND idempotency_key = ?",
                            (tenant_id, idempotency_key)).fetchone()
        return CargoNotification.model_validate(_read(r, _NOTE_COLS)) if r else None

    def mark_submitted(self, tenant_id: str, idempotency_key: str, status: str, at: datetime) -> None:
        self.db.execute(
            "UPDATE cargo_notifications SET submit_status = ?, submitted_at = ? WHERE tenant_id = ? "
            "AND idempotency_key = ?",
            (status, to_ts(at), tenant_id, idempotency_key),
        )

    def find(self, tenant_id: str, *, pending_only: bool = False) -> list[CargoNotification]:
        sql = "SELECT * FROM cargo_notifications WHERE tenant_id = ?"
        if pending_only:
            sql += " AND submitted_at IS NULL"
        rows = self.db.execute(sql + " ORDER BY created_at, id", (tenant_id,))
        return [CargoNotification.model_validate(_read(r, _NOTE_COLS)) for r in rows]
