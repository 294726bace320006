"""PostgreSQL leases and timers.

A lease is taken by one conditional upsert (``ON CONFLICT ... DO UPDATE ... WHERE`` the lease is
free, expired or the caller's own): of two processes racing, the row lock makes the second see
the first's lease. Timers are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED``: concurrent
runtimes each take different due rows without waiting on each other; complete/fail/extend only
act on a row still claimed by that owner for that occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.protocols import TenantMismatch
from invekto_integrations.storage.runtime_protocols import LeaseRecord, TimerRecord, TimerState

from ._db import WAKEUP_CHANNEL, PostgresDatabase, Row

__all__ = ["PostgresLeases", "PostgresTimers"]


class PostgresLeases(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "runtime_0001_leases",
            [
                """CREATE TABLE runtime_leases (
                    tenant_id TEXT NOT NULL, name TEXT NOT NULL, owner TEXT, expires_at TIMESTAMPTZ,
                    last_run_at TIMESTAMPTZ, last_error TEXT, last_error_at TIMESTAMPTZ, failing_seq BIGINT,
                    failures INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant_id, name))""",
            ],
        )

    def acquire(self, tenant_id: str, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        return self.db.execute(
            "INSERT INTO runtime_leases (tenant_id, name, owner, expires_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at "
            "WHERE runtime_leases.owner IS NULL OR runtime_leases.owner = EXCLUDED.owner "
            "OR runtime_leases.expires_at IS NULL OR runtime_leases.expires_at <= %s",
            (tenant_id, name, owner, now + ttl, now),
        ) == 1

    def release(self, tenant_id: str, name: str, owner: str) -> bool:
        return self.db.execute(
            "UPDATE runtime_leases SET owner = NULL, expires_at = NULL WHERE tenant_id = %s AND name = %s "
            "AND owner = %s", (tenant_id, name, owner)) == 1

    def note_run(self, tenant_id: str, name: str, at: datetime, *, error: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO runtime_leases (tenant_id, name, last_run_at, last_error, last_error_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, name) DO UPDATE SET "
            "last_run_at = EXCLUDED.last_run_at, "
            "last_error = COALESCE(EXCLUDED.last_error, runtime_leases.last_error), "
            "last_error_at = COALESCE(EXCLUDED.last_error_at, runtime_leases.last_error_at)",
            (tenant_id, name, at, error, at if error is not None else None),
        )

    def note_failure(self, tenant_id: str, name: str, seq: int | None) -> int:
        if seq is None:
            self.db.execute(
                "INSERT INTO runtime_leases (tenant_id, name) VALUES (%s, %s) ON CONFLICT (tenant_id, name) "
                "DO UPDATE SET failing_seq = NULL, failures = 0", (tenant_id, name))
            return 0
        r = self.db.fetchone(
            "INSERT INTO runtime_leases (tenant_id, name, failing_seq, failures) VALUES (%s, %s, %s, 1) "
            "ON CONFLICT (tenant_id, name) DO UPDATE SET failures = CASE WHEN runtime_leases.failing_seq = "
            "EXCLUDED.failing_seq THEN runtime_leases.failures + 1 ELSE 1 END, failing_seq = EXCLUDED.failing_seq "
            "RETURNING failures", (tenant_id, name, seq))
        return int(r["failures"]) if r else 1

    def get(self, tenant_id: str, name: str) -> LeaseRecord | None:
        r = self.db.fetchone("SELECT * FROM runtime_leases WHERE tenant_id = %s AND name = %s", (tenant_id, name))
        return LeaseRecord.model_validate(r) if r else None

    def find(self, tenant_id: str) -> list[LeaseRecord]:
        return [LeaseRecord.model_validate(r) for r in self.db.fetchall(
            "SELECT * FROM runtime_leases WHERE tenant_id = %s ORDER BY name", (tenant_id,))]


_TIMER_COLS = ("tenant_id", "engine", "key", "due_at", "payload", "recurrence", "state", "claimed_by", "claim_until",
               "attempts", "last_error", "fire_count", "last_fired_at", "created_at", "updated_at")
_KEY = "tenant_id = %s AND engine = %s AND key = %s"


class PostgresTimers(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate(
            "runtime_0002_timers",
            [
                """CREATE TABLE runtime_timers (
                    tenant_id TEXT NOT NULL, engine TEXT NOT NULL, key TEXT NOT NULL, due_at TIMESTAMPTZ NOT NULL,
                    payload JSONB NOT NULL, recurrence TEXT, state TEXT NOT NULL,
                    claimed_by TEXT, claim_until TIMESTAMPTZ, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
                    fire_count INTEGER NOT NULL DEFAULT 0, last_fired_at TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, engine, key))""",
                "CREATE INDEX ix_runtime_timers_due ON runtime_timers (tenant_id, engine, state, due_at)",
            ],
        )

    @staticmethod
    def _row(r: Row) -> TimerRecord:
        return TimerRecord.model_validate(r)

    def add(self, tenant_id: str, timer: TimerRecord) -> bool:
        if timer.tenant_id != tenant_id:
            raise TenantMismatch("timer belongs to another tenant")
        values = [Jsonb(timer.payload) if c == "payload" else getattr(timer, c) for c in _TIMER_COLS]
        return len(self.db.fetchall(  # one statement: the insert and, if it inserted, the wake-up
            f"WITH added AS (INSERT INTO runtime_timers ({', '.join(_TIMER_COLS)}) "
            f"VALUES ({', '.join(['%s'] * len(_TIMER_COLS))}) ON CONFLICT DO NOTHING RETURNING tenant_id) "
            "SELECT pg_notify(%s, tenant_id) FROM added", [*values, WAKEUP_CHANNEL])) == 1

    def get(self, tenant_id: str, engine: str, key: str) -> TimerRecord | None:
        r = self.db.fetchone(f"SELECT * FROM runtime_timers WHERE {_KEY}", (tenant_id, engine, key))
        return self._row(r) if r else None

    def cancel(self, tenant_id: str, engine: str, key: str, at: datetime) -> bool:
        return self.db.execute(
            "UPDATE runtime_timers SET state = 'cancelled', claimed_by = NULL, claim_until = NULL, updated_at = %s "
            f"WHERE {_KEY} AND state = 'pending'", (at, tenant_id, engine, key)) == 1

    def put_recurring(self, tenant_id: str, engine: str, key: str, *, recurrence: str, due_at: datetime,
                      payload: dict[str, Any], at: datetime) -> bool:
        with self.db.transaction():
            r = self.db.fetchone(f"SELECT recurrence, payload, state FROM runtime_timers WHERE {_KEY} FOR UPDATE",
                                 (tenant_id, engine, key))
            if r is None:
                added = self.db.execute(
                    "INSERT INTO runtime_timers (tenant_id, engine, key, due_at, payload, recurrence, state, "
                    "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (tenant_id, engine, key, due_at, Jsonb(payload), recurrence, at, at)) == 1
                if added:
                    self.db.notify(tenant_id)
                return added
            if r["recurrence"] == recurrence and r["payload"] == payload and r["state"] == "pending":
                return False
            self.db.execute(
                "UPDATE runtime_timers SET due_at = %s, payload = %s, recurrence = %s, state = 'pending', "
                f"claimed_by = NULL, claim_until = NULL, attempts = 0, updated_at = %s WHERE {_KEY}",
                (due_at, Jsonb(payload), recurrence, at, tenant_id, engine, key))
            self.db.notify(tenant_id)
            return True

    def prune_recurring(self, tenant_id: str, engine: str, keep: Sequence[str]) -> int:
        return self.db.execute(
            "DELETE FROM runtime_timers WHERE tenant_id = %s AND engine = %s AND recurrence IS NOT NULL "
            "AND NOT (key = ANY(%s))", (tenant_id, engine, list(keep)))

    def claim_due(self, tenant_id: str, engine: str, now: datetime, owner: str, until: datetime, *,
                  limit: int = 100) -> list[TimerRecord]:
        rows = self.db.fetchall(
            "UPDATE runtime_timers AS t SET claimed_by = %s, claim_until = %s FROM ("
            "  SELECT tenant_id, engine, key FROM runtime_timers WHERE tenant_id = %s AND engine = %s "
            "  AND state = 'pending' AND due_at <= %s AND (claim_until IS NULL OR claim_until <= %s) "
            "  ORDER BY due_at, key LIMIT %s FOR UPDATE SKIP LOCKED) AS due "
            "WHERE t.tenant_id = due.tenant_id AND t.engine = due.engine AND t.key = due.key RETURNING t.*",
            (owner, until, tenant_id, engine, now, now, limit))
        return sorted((self._row(r) for r in rows), key=lambda t: (t.due_at, t.key))

    def complete(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime, at: datetime,
                 next_due: datetime | None) -> bool:
        moves = next_due is not None
        return self.db.execute(
            "UPDATE runtime_timers SET "
            "state = CASE WHEN recurrence IS NOT NULL AND %s THEN 'pending' ELSE 'fired' END, "
            "due_at = CASE WHEN recurrence IS NOT NULL AND %s THEN %s::timestamptz ELSE due_at END, "
            "claimed_by = NULL, claim_until = NULL, attempts = 0, last_error = NULL, fire_count = fire_count + 1, "
            "last_fired_at = %s, updated_at = %s "
            f"WHERE {_KEY} AND state = 'pending' AND claimed_by = %s AND due_at = %s",
            (moves, moves, next_due, due_at, at, tenant_id, engine, key, owner, due_at)) == 1

    def extend_claim(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime,
                     until: datetime) -> bool:
        return self.db.execute(
            f"UPDATE runtime_timers SET claim_until = %s WHERE {_KEY} AND state = 'pending' AND claimed_by = %s "
            "AND due_at = %s", (until, tenant_id, engine, key, owner, due_at)) == 1

    def fail(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime, error: str,
             retry_at: datetime) -> bool:
        return self.db.execute(
            "UPDATE runtime_timers SET claimed_by = NULL, claim_until = %s, attempts = attempts + 1, last_error = %s "
            f"WHERE {_KEY} AND state = 'pending' AND claimed_by = %s AND due_at = %s",
            (retry_at, error[:2000], tenant_id, engine, key, owner, due_at)) == 1

    def next_due(self, tenant_id: str, engine: str) -> datetime | None:
        r = self.db.fetchone("SELECT MIN(due_at) AS due FROM runtime_timers WHERE tenant_id = %s AND engine = %s "
                             "AND state = 'pending'", (tenant_id, engine))
        due: datetime | None = r["due"] if r else None
        return due

    def find(self, tenant_id: str, *, engine: str | None = None, state: TimerState | None = None) -> list[TimerRecord]:
        sql = "SELECT * FROM runtime_timers WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if engine is not None:
            sql += " AND engine = %s"
            params.append(engine)
        if state is not None:
            sql += " AND state = %s"
            params.append(state)
        return [self._row(r) for r in self.db.fetchall(sql + " ORDER BY due_at, key", params)]

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall("SELECT DISTINCT tenant_id FROM runtime_timers ORDER BY 1")]
