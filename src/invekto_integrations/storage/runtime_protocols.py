"""What the engine runtime stores: leases per (tenant, consumer) and durable timers.

Both are keyed by ``tenant_id`` first. A lease row also carries the consumer's health (last run,
last error, the event it keeps failing on) so that any process, not only the one running the
engine, can show it. A timer row is either one-shot (``recurrence`` is ``None``: fires once, then
stays as ``fired`` so that scheduling the same key again is a no-op) or recurring (one row per
schedule whose ``due_at`` moves to the next occurrence when an occurrence fires).

Claims make firing exclusive: `TimerRepository.claim_due` atomically marks due rows as taken by
one owner until ``claim_until``; `complete` and `fail` only act on a row still claimed by that
owner for that occurrence, so a runtime whose claim expired (and was taken over) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LeaseRecord",
    "LeaseRepository",
    "TimerRecord",
    "TimerRepository",
    "TimerState",
]

TimerState = Literal["pending", "fired", "cancelled"]


class LeaseRecord(BaseModel):
    """One (tenant, name) lease and the health of the consumer it guards."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    name: str
    owner: str | None = None
    expires_at: datetime | None = None
    last_run_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing_seq: int | None = None  # the event the consumer failed on last (None: no failure pending)
    failures: int = 0  # consecutive failures on ``failing_seq``

    def held(self, now: datetime) -> bool:
        return self.owner is not None and self.expires_at is not None and self.expires_at > now


class TimerRecord(BaseModel):
    """A durable timer of one engine for one tenant."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    engine: str
    key: str
    due_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)
    recurrence: str | None = None  # the schedule's spec (None: one-shot)
    state: TimerState = "pending"
    claimed_by: str | None = None
    claim_until: datetime | None = None
    attempts: int = 0  # failed attempts at the current occurrence
    last_error: str | None = None
    fire_count: int = 0
    last_fired_at: datetime | None = None  # the occurrence (due time) fired last
    created_at: datetime
    updated_at: datetime


class LeaseRepository(Protocol):
    """Leases with expiry: one owner at a time per (tenant, name); an expired lease is free."""

    def acquire(self, tenant_id: str, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease until ``now + ttl`` if it is free, expired or already ``owner``'s
        (one atomic step); ``False`` if another owner holds it."""
        ...

    def release(self, tenant_id: str, name: str, owner: str) -> bool:
        """Give the lease up if ``owner`` holds it; ``False`` otherwise."""
        ...

    def note_run(self, tenant_id: str, name: str, at: datetime, *, error: str | None = None) -> None:
        """Record a run at ``at`` (and its error, kept until the next error)."""
        ...

    def note_failure(self, tenant_id: str, name: str, seq: int | None) -> int:
        """Count one more consecutive failure on event ``seq`` (another event restarts the count)
        and return the count; ``None`` clears it (returns 0)."""
        ...

    def get(self, tenant_id: str, name: str) -> LeaseRecord | None: ...
    def find(self, tenant_id: str) -> list[LeaseRecord]:
        """By name."""
        ...


class TimerRepository(Protocol):
    """Durable timers, unique by (tenant, engine, key)."""

    def add(self, tenant_id: str, timer: TimerRecord) -> bool:
        """Insert unless (tenant, engine, key) exists (in any state); ``False`` = it existed."""
        ...

    def get(self, tenant_id: str, engine: str, key: str) -> TimerRecord | None: ...

    def cancel(self, tenant_id: str, engine: str, key: str, at: datetime) -> bool:
        """Mark a pending timer cancelled (it stays, so the key cannot be scheduled again)."""
        ...

    def put_recurring(self, tenant_id: str, engine: str, key: str, *, recurrence: str, due_at: datetime,
                      payload: dict[str, Any], at: datetime) -> bool:
        """Create a recurring timer, or re-point it when its ``recurrence`` or ``payload`` changed
        (``due_at`` is then the new next occurrence). An unchanged one is left alone. ``True`` if
        something was written."""
        ...

    def prune_recurring(self, tenant_id: str, engine: str, keep: Sequence[str]) -> int:
        """Delete the engine's recurring timers whose key is not in ``keep``; returns how many."""
        ...

    def claim_due(self, tenant_id: str, engine: str, now: datetime, owner: str, until: datetime, *,
                  limit: int = 100) -> list[TimerRecord]:
        """Atomically claim pending timers with ``due_at <= now`` that nobody holds (or whose claim
        ended), soonest first; returns them as claimed."""
        ...

    def complete(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime, at: datetime,
                 next_due: datetime | None) -> bool:
        """The occurrence ``due_at`` fired: a one-shot timer becomes ``fired``; a recurring one moves
        to ``next_due`` (``None``: no further occurrence, it becomes ``fired``). Only if ``owner``
        still holds that occurrence; ``False`` otherwise."""
        ...

    def extend_claim(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime,
                     until: datetime) -> bool:
        """Keep holding the occurrence ``due_at`` until ``until`` (a slow handler's heartbeat); ``False``
        if ``owner`` no longer holds it."""
        ...

    def fail(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime, error: str,
             retry_at: datetime) -> bool:
        """The handler failed: keep the occurrence pending, count the attempt, and let nobody claim
        it before ``retry_at``."""
        ...

    def next_due(self, tenant_id: str, engine: str) -> datetime | None:
        """The soonest ``due_at`` of the engine's pending timers."""
        ...

    def find(self, tenant_id: str, *, engine: str | None = None, state: TimerState | None = None) -> list[TimerRecord]:
        """By due time, then key."""
        ...

    def tenants(self) -> list[str]: ...
