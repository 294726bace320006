"""In-memory calendar-sync repository (reference implementation for tests)."""

from __future__ import annotations

import threading
from datetime import datetime

from invekto_integrations.core.reprs import ConciseRepr

from ._tenant import check_tenant
from .protocols import DuplicateRecord
from .records import CalendarBusyBlock, CalendarChannel, CalendarConflict, CalendarSyncState

__all__ = ["MemoryCalendarSync"]


class MemoryCalendarSync(ConciseRepr):
    def __init__(self) -> None:
        self._states: dict[tuple[str, str], CalendarSyncState] = {}
        self._channels: dict[tuple[str, str], CalendarChannel] = {}
        self._busy: dict[tuple[str, str, str], CalendarBusyBlock] = {}
        self._conflicts: list[CalendarConflict] = []
        self._lock = threading.Lock()

    # -- sync state ---------------------------------------------------------------------------
    def get_state(self, tenant_id: str, calendar_id: str) -> CalendarSyncState | None:
        return self._states.get((tenant_id, calendar_id))

    def save_state(self, tenant_id: str, state: CalendarSyncState) -> None:
        check_tenant(tenant_id, state.tenant_id, "calendar sync state")
        with self._lock:
            self._states[(state.tenant_id, state.calendar_id)] = state

    def find_states(self, tenant_id: str) -> list[CalendarSyncState]:
        return sorted((s for (t, _), s in self._states.items() if t == tenant_id), key=lambda s: s.calendar_id)

    # -- channels ----------------------------------------------------------------------------
    def save_channel(self, tenant_id: str, channel: CalendarChannel) -> None:
        check_tenant(tenant_id, channel.tenant_id, "calendar channel")
        with self._lock:
            self._channels[(channel.tenant_id, channel.channel_id)] = channel

    def get_channel(self, tenant_id: str, channel_id: str) -> CalendarChannel | None:
        return self._channels.get((tenant_id, channel_id))

    def find_channels(self, tenant_id: str, *, calendar_id: str | None = None,
                      active_only: bool = True) -> list[CalendarChannel]:
        rows = [c for (t, _), c in self._channels.items()
                if t == tenant_id and calendar_id in (None, c.calendar_id) and not (active_only and c.stopped_at)]
        return sorted(rows, key=lambda c: (c.created_at, c.channel_id))

    def advance_message(self, tenant_id: str, channel_id: str, number: int) -> bool:
        with self._lock:
            found = self._channels.get((tenant_id, channel_id))
            if found is None or number <= found.last_message_number:
                return False
            self._channels[(tenant_id, channel_id)] = found.model_copy(update={"last_message_number": number})
            return True

    # -- busy mirror -------------------------------------------------------------------------
    def upsert_busy(self, tenant_id: str, block: CalendarBusyBlock) -> None:
        check_tenant(tenant_id, block.tenant_id, "busy block")
        with self._lock:
            self._busy[(block.tenant_id, block.calendar_id, block.event_id)] = block

    def delete_busy(self, tenant_id: str, calendar_id: str, event_id: str) -> None:
        with self._lock:
            self._busy.pop((tenant_id, calendar_id, event_id), None)

    def clear_busy(self, tenant_id: str, calendar_id: str) -> int:
        with self._lock:
            keys = [k for k in self._busy if k[:2] == (tenant_id, calendar_id)]
            for k in keys:
                del self._busy[k]
            return len(keys)

    def find_busy(self, tenant_id: str, calendar_id: str, start: datetime, end: datetime) -> list[CalendarBusyBlock]:
        rows = [b for (t, c, _), b in self._busy.items()
                if t == tenant_id and c == calendar_id and b.starts_at < end and b.ends_at > start]
        return sorted(rows, key=lambda b: (b.starts_at, b.event_id))

    # -- conflicts ---------------------------------------------------------------------------
    def add_conflict(self, tenant_id: str, conflict: CalendarConflict) -> None:
        check_tenant(tenant_id, conflict.tenant_id, "calendar conflict")
        with self._lock:
            if any(c.tenant_id == conflict.tenant_id and c.id == conflict.id for c in self._conflicts):
                raise DuplicateRecord(f"calendar conflict {conflict.id} exists for tenant {conflict.tenant_id}")
            self._conflicts.append(conflict)

    def find_conflicts(self, tenant_id: str, *, appointment_id: str | None = None) -> list[CalendarConflict]:
        return [c for c in self._conflicts
                if c.tenant_id == tenant_id and appointment_id in (None, c.appointment_id)]

    def resolve_conflict(self, tenant_id: str, conflict_id: str, resolution: str, at: datetime) -> bool:
        with self._lock:
            for i, c in enumerate(self._conflicts):
                if c.tenant_id == tenant_id and c.id == conflict_id and c.resolved_at is None:
                    self._conflicts[i] = c.model_copy(update={"resolved_at": at, "resolved_as": resolution})
                    return True
            return False
