"""The calendar sync's own state: per-calendar sync tokens, push channels, the mirror of foreign
busy time and the conflict log (`storage.records` keeps the old names)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CalendarBusyBlock",
    "CalendarChannel",
    "CalendarConflict",
    "CalendarSyncState",
]


class CalendarSyncState(BaseModel):
    """Where the two-way sync of one (tenant, calendar) got to: the provider's incremental-sync
    token (``None`` until the first full sync, and again after a 410)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    calendar_id: str
    doctor_id: str
    provider: str = "google_calendar"
    sync_token: str | None = None
    last_full_sync_at: datetime | None = None
    last_sync_at: datetime | None = None
    full_syncs: int = 0
    updated_at: datetime


class CalendarChannel(BaseModel):
    """A push-notification channel we opened on a calendar. The channel token is kept only as a
    SHA-256 hash (compared in constant time); ``last_message_number`` drops repeats."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    calendar_id: str
    channel_id: str
    resource_id: str
    address: str
    token_sha256: str
    expiration: datetime | None = None
    last_message_number: int = 0
    created_at: datetime
    stopped_at: datetime | None = None


class CalendarBusyBlock(BaseModel):
    """Busy time from an event that is not one of our appointments (the doctor's own entry in the
    calendar), mirrored by the sync. No title or description is kept (patient data stays out)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    calendar_id: str
    event_id: str
    starts_at: datetime
    ends_at: datetime
    all_day: bool = False
    etag: str | None = None
    updated: datetime | None = None


class CalendarConflict(BaseModel):
    """A change made on both sides (or refused by one): what happened and which side won."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    calendar_id: str
    event_id: str | None
    appointment_id: str | None
    kind: str  # moved | cancelled | precondition_failed | slot_taken | unsupported | forbidden
    resolution: str  # calendar_wins | clinic_wins | manual
    detail: str = ""
    local_version: int | None = None
    google_updated: datetime | None = None
    created_at: datetime
    # A manual conflict settled by a human (`CalendarSync.resolve_conflict`): when, and who won.
    resolved_at: datetime | None = None
    resolved_as: str | None = None  # calendar_wins | clinic_wins
