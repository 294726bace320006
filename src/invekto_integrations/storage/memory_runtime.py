"""In-memory leases and timers (thread-safe; several runtimes in one process may share them)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from invekto_integrations.core.reprs import ConciseRepr

from .protocols import TenantMismatch
from .runtime_protocols import LeaseRecord, TimerRecord, TimerState

__all__ = ["MemoryLeases", "MemoryTimers"]


class MemoryLeases(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], LeaseRecord] = {}
        self._lock = threading.Lock()

    def acquire(self, tenant_id: str, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        with self._lock:
            row = self._rows.get((tenant_id, name)) or LeaseRecord(tenant_id=tenant_id, name=name)
            if row.owner not in (None, owner) and row.held(now):
                return False
            self._rows[(tenant_id, name)] = row.model_copy(update={"owner": owner, "expires_at": now + ttl})
            return True

    def release(self, tenant_id: str, name: str, owner: str) -> bool:
        with self._lock:
            row = self._rows.get((tenant_id, name))
            if row is None or row.owner != owner:
                return False
            self._rows[(tenant_id, name)] = row.model_copy(update={"owner": None, "expires_at": None})
            return True

    def note_run(self, tenant_id: str, name: str, at: datetime, *, error: str | None = None) -> None:
        with self._lock:
            row = self._rows.get((tenant_id, name)) or LeaseRecord(tenant_id=tenant_id, name=name)
            update: dict[str, Any] = {"last_run_at": at}
            if error is not None:
                update.update(last_error=error, last_error_at=at)
            self._rows[(tenant_id, name)] = row.model_copy(update=update)

    def note_failure(self, tenant_id: str, name: str, seq: int | None) -> int:
        with self._lock:
            row = self._rows.get((tenant_id, name)) or LeaseRecord(tenant_id=tenant_id, name=name)
            if seq is None:
                row = row.model_copy(update={"failing_seq": None, "failures": 0})
            else:
                count = row.failures + 1 if row.failing_seq == seq else 1
                row = row.model_copy(update={"failing_seq": seq, "failures": count})
            self._rows[(tenant_id, name)] = row
            return row.failures

    def get(self, tenant_id: str, name: str) -> LeaseRecord | None:
        return self._rows.get((tenant_id, name))

    def find(self, tenant_id: str) -> list[LeaseRecord]:
        with self._lock:
            return sorted((r for (t, _), r in self._rows.items() if t == tenant_id), key=lambda r: r.name)


class MemoryTimers(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], TimerRecord] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, timer: TimerRecord) -> bool:
        if timer.tenant_id != tenant_id:
            raise TenantMismatch("timer belongs to another tenant")
        with self._lock:
            key = (tenant_id, timer.engine, timer.key)
            if key in self._rows:
                return False
            self._rows[key] = timer
            return True

    def get(self, tenant_id: str, engine: str, key: str) -> TimerRecord | None:
        return self._rows.get((tenant_id, engine, key))

    def cancel(self, tenant_id: str, engine: str, key: str, at: datetime) -> bool:
        with self._lock:
            row = self._rows.get((tenant_id, engine, key))
            if row is None or row.state != "pending":
                return False
            self._rows[(tenant_id, engine, key)] = row.model_copy(
                update={"state": "cancelled", "claimed_by": None, "claim_until": None, "updated_at": at})
            return True

    def put_recurring(self, tenant_id: str, engine: str, key: str, *, recurrence: str, due_at: datetime,
                      payload: dict[str, Any], at: datetime) -> bool:
        with self._lock:
            row = self._rows.get((tenant_id, engine, key))
            if row is not None and row.recurrence == recurrence and row.payload == payload and row.state == "pending":
                return False
            if row is None:
                row = TimerRecord(tenant_id=tenant_id, engine=engine, key=key, due_at=due_at, payload=payload,
                                  recurrence=recurrence, created_at=at, updated_at=at)
            else:
                row = row.model_copy(update={"due_at": due_at, "payload": payload, "recurrence": recurrence,
                                             "state": "pending", "claimed_by": None, "claim_until": None,
                                             "attempts": 0, "updated_at": at})
            self._rows[(tenant_id, engine, key)] = row
            return True

    def prune_recurring(self, tenant_id: str, engine: str, keep: Sequence[str]) -> int:
        wanted = set(keep)
        with self._lock:
            gone = [k for k, r in self._rows.items()
                    if k[0] == tenant_id and k[1] == engine and r.recurrence is not None and k[2] not in wanted]
            for k in gone:
                del self._rows[k]
            return len(gone)

    def claim_due(self, tenant_id: str, engine: str, now: datetime, owner: str, until: datetime, *,
                  limit: int = 100) -> list[TimerRecord]:
        with self._lock:
            due = sorted(
                (r for (t, e, _), r in self._rows.items()
                 if t == tenant_id and e == engine and r.state == "pending" and r.due_at <= now
                 and (r.claim_until is None or r.claim_until <= now)),
                key=lambda r: (r.due_at, r.key),
            )[:limit]
            out = []
            for r in due:
                claimed = r.model_copy(update={"claimed_by": owner, "claim_until": until})
                self._rows[(tenant_id, engine, r.key)] = claimed
                out.append(claimed)
            return out

    def _held(self, tenant_id: str, engine: str, key: str, owner: str, due_at: datetime) -> TimerRecord | None:
        row = self._rows.get((tenant_id, engine, key))
        if row is None or row.state != "pending" or row.claimed_by != owner or row.due_at != due_at:
            return None
        return row

    def complete(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime, at: datetime,
                 next_due: datetime | None) -> bool:
        with self._lock:
            row = self._held(tenant_id, engine, key, owner, due_at)
            if row is None:
                return False
            state: TimerState = "pending" if next_due is not None and row.recurrence is not None else "fired"
            self._rows[(tenant_id, engine, key)] = row.model_copy(update={
                "state": state, "due_at": next_due if state == "pending" else row.due_at, "claimed_by": None,
                "claim_until": None, "attempts": 0, "last_error": None, "fire_count": row.fire_count + 1,
                "last_fired_at": due_at, "updated_at": at,
            })
            return True

    def extend_claim(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime,
                     until: datetime) -> bool:
        with self._lock:
            row = self._held(tenant_id, engine, key, owner, due_at)
            if row is None:
                return False
            self._rows[(tenant_id, engine, key)] = row.model_copy(update={"claim_until": until})
            return True

    def fail(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime, error: str,
             retry_at: datetime) -> bool:
        with self._lock:
            row = self._held(tenant_id, engine, key, owner, due_at)
            if row is None:
                return False
            self._rows[(tenant_id, engine, key)] = row.model_copy(update={
                "claimed_by": None, "claim_until": retry_at, "attempts": row.attempts + 1, "last_error": error,
            })
            return True

    def next_due(self, tenant_id: str, engine: str) -> datetime | None:
        with self._lock:
            due = [r.due_at for (t, e, _), r in self._rows.items()
                   if t == tenant_id and e == engine and r.state == "pending"]
        return min(due) if due else None

    def find(self, tenant_id: str, *, engine: str | None = None, state: TimerState | None = None) -> list[TimerRecord]:
        with self._lock:
            rows = [r for (t, e, _), r in self._rows.items()
                    if t == tenant_id and engine in (None, e) and state in (None, r.state)]
        return sorted(rows, key=lambda r: (r.due_at, r.key))

    def tenants(self) -> list[str]:
        with self._lock:
            return sorted({t for t, _, _ in self._rows})
