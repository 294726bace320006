"""SQLite calendar-sync repository (tables ``calendar_sync_state``, ``calendar_channels``,
``calendar_busy``, ``calendar_conflicts``) with its own named migration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from ._tenant import check_tenant
from .protocols import DuplicateRecord
from .records import CalendarBusyBlock, CalendarChannel, CalendarConflict, CalendarSyncState

__all__ = ["SQLiteCalendarSync"]

_STATE = ("tenant_id", "calendar_id", "doctor_id", "provider", "sync_token", "last_full_sync_at", "last_sync_at",
          "full_syncs", "updated_at")
_CHANNEL = ("tenant_id", "calendar_id", "channel_id", "resource_id", "address", "token_sha256", "expiration",
            "last_message_number", "created_at", "stopped_at")
_BUSY = ("tenant_id", "calendar_id", "event_id", "starts_at", "ends_at", "all_day", "etag", "updated")
_CONFLICT = ("id", "tenant_id", "calendar_id", "event_id", "appointment_id", "kind", "resolution", "detail",
             "local_version", "google_updated", "created_at", "resolved_at", "resolved_as")
_TS = {"last_full_sync_at", "last_sync_at", "updated_at", "expiration", "created_at", "stopped_at", "starts_at",
       "ends_at", "updated", "google_updated", "resolved_at"}


def _values(model: Any, cols: Sequence[str]) -> list[object]:
    out: list[object] = []
    for c in cols:
        v = getattr(model, c)
        if c in _TS and v is not None:
            v = to_ts(v)
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


def _insert_sql(table: str, cols: Sequence[str]) -> str:
    return f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"


class SQLiteCalendarSync(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "0800_calendar_sync",
            [
                """CREATE TABLE calendar_sync_state (
                    tenant_id TEXT NOT NULL, calendar_id TEXT NOT NULL, doctor_id TEXT NOT NULL,
                    provider TEXT NOT NULL, sync_token TEXT, last_full_sync_at TEXT, last_sync_at TEXT,
                    full_syncs INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, calendar_id))""",
                """CREATE TABLE calendar_channels (
                    tenant_id TEXT NOT NULL, calendar_id TEXT NOT NULL, channel_id TEXT NOT NULL,
                    resource_id TEXT NOT NULL, address TEXT NOT NULL, token_sha256 TEXT NOT NULL, expiration TEXT,
                    last_message_number INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, stopped_at TEXT,
                    PRIMARY KEY (tenant_id, channel_id))""",
                "CREATE INDEX ix_calendar_channels ON calendar_channels (tenant_id, calendar_id)",
                """CREATE TABLE calendar_busy (
                    tenant_id TEXT NOT NULL, calendar_id TEXT NOT NULL, event_id TEXT NOT NULL,
                    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, all_day INTEGER NOT NULL DEFAULT 0,
                    etag TEXT, updated TEXT, PRIMARY KEY (tenant_id, calendar_id, event_id))""",
                "CREATE INDEX ix_calendar_busy ON calendar_busy (tenant_id, calendar_id, starts_at)",
                """CREATE TABLE calendar_conflicts (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, calendar_id TEXT NOT NULL, event_id TEXT,
                    appointment_id TEXT, kind TEXT NOT NULL, resolution TEXT NOT NULL, detail TEXT NOT NULL,
                    local_version INTEGER, google_updated TEXT, created_at TEXT NOT NULL)""",
                "CREATE INDEX ix_calendar_conflicts ON calendar_conflicts (tenant_id, created_at)",
            ],
        )
        db.migrate(
            "0801_calendar_conflict_resolution",
            ["ALTER TABLE calendar_conflicts ADD COLUMN resolved_at TEXT",
             "ALTER TABLE calendar_conflicts ADD COLUMN resolved_as TEXT"],
        )
        # The conflict log was keyed by a global id and written with INSERT OR REPLACE: an id that
        # collided with another tenant's row replaced (deleted) it. Key it by (tenant, id).
        cols = ", ".join(_CONFLICT)
        db.migrate(
            "calendar_0001_conflicts_tenant_key",
            [
                """CREATE TABLE calendar_conflicts_v2 (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, calendar_id TEXT NOT NULL, event_id TEXT,
                    appointment_id TEXT, kind TEXT NOT NULL, resolution TEXT NOT NULL, detail TEXT NOT NULL,
                    local_version INTEGER, google_updated TEXT, created_at TEXT NOT NULL, resolved_at TEXT,
                    resolved_as TEXT, PRIMARY KEY (tenant_id, id))""",
                f"INSERT INTO calendar_conflicts_v2 ({cols}) SELECT {cols} FROM calendar_conflicts",
                "DROP TABLE calendar_conflicts",
                "ALTER TABLE calendar_conflicts_v2 RENAME TO calendar_conflicts",
                "CREATE INDEX ix_calendar_conflicts ON calendar_conflicts (tenant_id, created_at)",
            ],
        )

    # -- sync state ---------------------------------------------------------------------------
    def get_state(self, tenant_id: str, calendar_id: str) -> CalendarSyncState | None:
        row = self.db.execute(f"SELECT {', '.join(_STATE)} FROM calendar_sync_state WHERE tenant_id = ? AND "
                              "calendar_id = ?", (tenant_id, calendar_id)).fetchone()
        return CalendarSyncState.model_validate(_read(row, _STATE)) if row else None

    def save_state(self, tenant_id: str, state: CalendarSyncState) -> None:
        check_tenant(tenant_id, state.tenant_id, "calendar sync state")
        self.db.execute(_insert_sql("calendar_sync_state", _STATE), _values(state, _STATE))

    def find_states(self, tenant_id: str) -> list[CalendarSyncState]:
        rows = self.db.execute(f"SELECT {', '.join(_STATE)} FROM calendar_sync_state WHERE tenant_id = ? "
                               "ORDER BY calendar_id", (tenant_id,)).fetchall()
        return [CalendarSyncState.model_validate(_read(r, _STATE)) for r in rows]

    # -- channels ----------------------------------------------------------------------------
    def save_channel(self, tenant_id: str, channel: CalendarChannel) -> None:
        check_tenant(tenant_id, channel.tenant_id, "calendar channel")
        self.db.execute(_insert_sql("calendar_channels", _CHANNEL), _values(channel, _CHANNEL))

    def get_channel(self, tenant_id: str, channel_id: str) -> CalendarChannel | None:
        row = self.db.execute(f"SELECT {', '.join(_CHANNEL)} FROM calendar_channels WHERE tenant_id = ? AND "
                              "channel_id = ?", (tenant_id, channel_id)).fetchone()
        return CalendarChannel.model_validate(_read(row, _CHANNEL)) if row else None

    def find_channels(self, tenant_id: str, *, calendar_id: str | None = None,
                      active_only: bool = True) -> list[CalendarChannel]:
        sql = f"SELECT {', '.join(_CHANNEL)} FROM calendar_channels WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if calendar_id is not None:
            sql += " AND calendar_id = ?"
            params.append(calendar_id)
        if active_only:
            sql += " AND stopped_at IS NULL"
        rows = self.db.execute(sql + " ORDER BY created_at, channel_id", params).fetchall()
        return [CalendarChannel.model_validate(_read(r, _CHANNEL)) for r in rows]

    def advance_message(self, tenant_id: str, channel_id: str, number: int) -> bool:
        cur = self.db.execute("UPDATE calendar_channels SET last_message_number = ? WHERE tenant_id = ? AND "
                              "channel_id = ? AND last_message_number < ?", (number, tenant_id, channel_id, number))
        return cur.rowcount == 1

    # -- busy mirror -------------------------------------------------------------------------
    def upsert_busy(self, tenant_id: str, block: CalendarBusyBlock) -> None:
        check_tenant(tenant_id, block.tenant_id, "busy block")
        self.db.execute(_insert_sql("calendar_busy", _BUSY), _values(block, _BUSY))

    def delete_busy(self, tenant_id: str, calendar_id: str, event_id: str) -> None:
        self.db.execute("DELETE FROM calendar_busy WHERE tenant_id = ? AND calendar_id = ? AND event_id = ?",
                        (tenant_id, calendar_id, event_id))

    def clear_busy(self, tenant_id: str, calendar_id: str) -> int:
        cur = self.db.execute("DELETE FROM calendar_busy WHERE tenant_id = ? AND calendar_id = ?",
                              (tenant_id, calendar_id))
        return cur.rowcount

    def find_busy(self, tenant_id: str, calendar_id: str, start: datetime, end: datetime) -> list[CalendarBusyBlock]:
        rows = self.db.execute(
            f"SELECT {', '.join(_BUSY)} FROM calendar_busy WHERE tenant_id = ? AND calendar_id = ? AND "
            "starts_at < ? AND ends_at > ? ORDER BY starts_at, event_id",
            (tenant_id, calendar_id, to_ts(end), to_ts(start))).fetchall()
        out = []
        for r in rows:
            data = _read(r, _BUSY)
            data["all_day"] = bool(data["all_day"])
            out.append(CalendarBusyBlock.model_validate(data))
        return out

    # -- conflicts ---------------------------------------------------------------------------
    def add_conflict(self, tenant_id: str, conflict: CalendarConflict) -> None:
        check_tenant(tenant_id, conflict.tenant_id, "calendar conflict")
        # A plain insert: an id already logged for this tenant is refused, never replaced.
        cur = self.db.execute(
            f"INSERT INTO calendar_conflicts ({', '.join(_CONFLICT)}) VALUES ({', '.join('?' for _ in _CONFLICT)}) "
            "ON CONFLICT (tenant_id, id) DO NOTHING", _values(conflict, _CONFLICT))
        if cur.rowcount != 1:
            raise DuplicateRecord(f"calendar conflict {conflict.id} exists for tenant {conflict.tenant_id}")

    def find_conflicts(self, tenant_id: str, *, appointment_id: str | None = None) -> list[CalendarConflict]:
        sql = f"SELECT {', '.join(_CONFLICT)} FROM calendar_conflicts WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if appointment_id is not None:
            sql += " AND appointment_id = ?"
            params.append(appointment_id)
        rows = self.db.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [CalendarConflict.model_validate(_read(r, _CONFLICT)) for r in rows]

    def resolve_conflict(self, tenant_id: str, conflict_id: str, resolution: str, at: datetime) -> bool:
        cur = self.db.execute("UPDATE calendar_conflicts SET resolved_at = ?, resolved_as = ? WHERE tenant_id = ? "
                              "AND id = ? AND resolved_at IS NULL", [to_ts(at), resolution, tenant_id, conflict_id])
        return cur.rowcount == 1
