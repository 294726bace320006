"""PostgreSQL calendar-sync repository (sync state, watch channels, busy mirror, conflict log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage._tenant import check_tenant
from invekto_integrations.storage.protocols import DuplicateRecord
from invekto_integrations.storage.records import CalendarBusyBlock, CalendarChannel, CalendarConflict, CalendarSyncState

from ._db import PostgresDatabase

__all__ = ["PostgresCalendarSync"]

_STATE = ("tenant_id", "calendar_id", "doctor_id", "provider", "sync_token", "last_full_sync_at", "last_sync_at",
          "full_syncs", "updated_at")
_CHANNEL = ("tenant_id", "channel_id", "calendar_id", "resource_id", "address", "token_sha256", "expiration",
            "last_message_number", "created_at", "stopped_at")
_BUSY = ("tenant_id", "calendar_id", "event_id", "starts_at", "ends_at", "all_day", "etag", "updated")
_CONFLICT = ("tenant_id", "id", "calendar_id", "event_id", "appointment_id", "kind", "resolution", "detail",
             "local_version", "google_updated", "created_at", "resolved_at", "resolved_as")


def _upsert(table: str, cols: Sequence[str], key: int) -> str:
    """INSERT ... ON CONFLICT (the first ``key`` columns) DO UPDATE the rest: a replace that keeps the row."""
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols[key:])
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
            f"ON CONFLICT ({', '.join(cols[:key])}) DO UPDATE SET {updates}")


def _values(model: Any, cols: Sequence[str]) -> list[object]:
    return [getattr(model, c) for c in cols]


class PostgresCalendarSync(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "calendar_0001_sync",
            [
                """CREATE TABLE calendar_sync_state (
                    tenant_id TEXT NOT NULL, calendar_id TEXT NOT NULL, doctor_id TEXT NOT NULL,
                    provider TEXT NOT NULL, sync_token TEXT, last_full_sync_at TIMESTAMPTZ, last_sync_at TIMESTAMPTZ,
                    full_syncs INTEGER NOT NULL DEFAULT 0, updated_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, calendar_id))""",
                """CREATE TABLE calendar_channels (
                    tenant_id TEXT NOT NULL, channel_id TEXT NOT NULL, calendar_id TEXT NOT NULL,
                    resource_id TEXT NOT NULL, address TEXT NOT NULL, token_sha256 TEXT NOT NULL,
                    expiration TIMESTAMPTZ, last_message_number BIGINT NOT NULL DEFAULT 0,
                    created_at TIMESTAMPTZ NOT NULL, stopped_at TIMESTAMPTZ, PRIMARY KEY (tenant_id, channel_id))""",
                "CREATE INDEX ix_calendar_channels ON calendar_channels (tenant_id, calendar_id)",
                """CREATE TABLE calendar_busy (
                    tenant_id TEXT NOT NULL, calendar_id TEXT NOT NULL, event_id TEXT NOT NULL,
                    starts_at TIMESTAMPTZ NOT NULL, ends_at TIMESTAMPTZ NOT NULL,
                    all_day BOOLEAN NOT NULL DEFAULT false,
                    etag TEXT, updated TIMESTAMPTZ, PRIMARY KEY (tenant_id, calendar_id, event_id))""",
                "CREATE INDEX ix_calendar_busy ON calendar_busy (tenant_id, calendar_id, starts_at)",
                """CREATE TABLE calendar_conflicts (
                    tenant_id TEXT NOT NULL, id TEXT NOT NULL, calendar_id TEXT NOT NULL, event_id TEXT,
                    appointment_id TEXT, kind TEXT NOT NULL, resolution TEXT NOT NULL, detail TEXT NOT NULL,
                    local_version INTEGER, google_updated TIMESTAMPTZ, created_at TIMESTAMPTZ NOT NULL,
                    resolved_at TIMESTAMPTZ, resolved_as TEXT, PRIMARY KEY (tenant_id, id))""",
                "CREATE INDEX ix_calendar_conflicts ON calendar_conflicts (tenant_id, created_at)",
            ],
        )

    # -- sync state ---------------------------------------------------------------------------
    def get_state(self, tenant_id: str, calendar_id: str) -> CalendarSyncState | None:
        r = self.db.fetchone(f"SELECT {', '.join(_STATE)} FROM calendar_sync_state WHERE tenant_id = %s "
                             "AND calendar_id = %s", (tenant_id, calendar_id))
        return CalendarSyncState.model_validate(r) if r else None

    def save_state(self, tenant_id: str, state: CalendarSyncState) -> None:
        check_tenant(tenant_id, state.tenant_id, "calendar sync state")
        self.db.execute(_upsert("calendar_sync_state", _STATE, 2), _values(state, _STATE))

    def find_states(self, tenant_id: str) -> list[CalendarSyncState]:
        rows = self.db.fetchall(f"SELECT {', '.join(_STATE)} FROM calendar_sync_state WHERE tenant_id = %s "
                                "ORDER BY calendar_id", (tenant_id,))
        return [CalendarSyncState.model_validate(r) for r in rows]

    # -- channels ----------------------------------------------------------------------------
    def save_channel(self, tenant_id: str, channel: CalendarChannel) -> None:
        check_tenant(tenant_id, channel.tenant_id, "calendar channel")
        self.db.execute(_upsert("calendar_channels", _CHANNEL, 2), _values(channel, _CHANNEL))

    def get_channel(self, tenant_id: str, channel_id: str) -> CalendarChannel | None:
        r = self.db.fetchone(f"SELECT {', '.join(_CHANNEL)} FROM calendar_channels WHERE tenant_id = %s "
                             "AND channel_id = %s", (tenant_id, channel_id))
        return CalendarChannel.model_validate(r) if r else None

    def find_channels(self, tenant_id: str, *, calendar_id: str | None = None,
                      active_only: bool = True) -> list[CalendarChannel]:
        sql = f"SELECT {', '.join(_CHANNEL)} FROM calendar_channels WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if calendar_id is not None:
            sql += " AND calendar_id = %s"
            params.append(calendar_id)
        if active_only:
            sql += " AND stopped_at IS NULL"
        return [CalendarChannel.model_validate(r)
                for r in self.db.fetchall(sql + " ORDER BY created_at, channel_id", params)]

    def advance_message(self, tenant_id: str, channel_id: str, number: int) -> bool:
        return self.db.execute("UPDATE calendar_channels SET last_message_number = %s WHERE tenant_id = %s AND "
                               "channel_id = %s AND last_message_number < %s",
                               (number, tenant_id, channel_id, number)) == 1

    # -- busy mirror -------------------------------------------------------------------------
    def upsert_busy(self, tenant_id: str, block: CalendarBusyBlock) -> None:
        check_tenant(tenant_id, block.tenant_id, "busy block")
        self.db.execute(_upsert("calendar_busy", _BUSY, 3), _values(block, _BUSY))

    def delete_busy(self, tenant_id: str, calendar_id: str, event_id: str) -> None:
        self.db.execute("DELETE FROM calendar_busy WHERE tenant_id = %s AND calendar_id = %s AND event_id = %s",
                        (tenant_id, calendar_id, event_id))

    def clear_busy(self, tenant_id: str, calendar_id: str) -> int:
        return self.db.execute("DELETE FROM calendar_busy WHERE tenant_id = %s AND calendar_id = %s",
                               (tenant_id, calendar_id))

    def find_busy(self, tenant_id: str, calendar_id: str, start: datetime, end: datetime) -> list[CalendarBusyBlock]:
        rows = self.db.fetchall(
            f"SELECT {', '.join(_BUSY)} FROM calendar_busy WHERE tenant_id = %s AND calendar_id = %s AND "
            "starts_at < %s AND ends_at > %s ORDER BY starts_at, event_id", (tenant_id, calendar_id, end, start))
        return [CalendarBusyBlock.model_validate(r) for r in rows]

    # -- conflicts ---------------------------------------------------------------------------
    def add_conflict(self, tenant_id: str, conflict: CalendarConflict) -> None:
        check_tenant(tenant_id, conflict.tenant_id, "calendar conflict")
        # A plain insert: an id already logged for this tenant is refused, never replaced.
        n = self.db.execute(
            f"INSERT INTO calendar_conflicts ({', '.join(_CONFLICT)}) VALUES ({', '.join(['%s'] * len(_CONFLICT))}) "
            "ON CONFLICT (tenant_id, id) DO NOTHING", _values(conflict, _CONFLICT))
        if n != 1:
            raise DuplicateRecord(f"calendar conflict {conflict.id} exists for tenant {conflict.tenant_id}")

    def find_conflicts(self, tenant_id: str, *, appointment_id: str | None = None) -> list[CalendarConflict]:
        sql = f"SELECT {', '.join(_CONFLICT)} FROM calendar_conflicts WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if appointment_id is not None:
            sql += " AND appointment_id = %s"
            params.append(appointment_id)
        return [CalendarConflict.model_validate(r) for r in self.db.fetchall(sql + " ORDER BY created_at, id", params)]

    def resolve_conflict(self, tenant_id: str, conflict_id: str, resolution: str, at: datetime) -> bool:
        return self.db.execute("UPDATE calendar_conflicts SET resolved_at = %s, resolved_as = %s WHERE tenant_id = %s "
                               "AND id = %s AND resolved_at IS NULL", (at, resolution, tenant_id, conflict_id)) == 1
