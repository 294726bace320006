"""SQLite leases and timers: every claim is one statement or one BEGIN IMMEDIATE transaction, so two
processes on one file never both take a lease or both claim a timer occurrence."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from .protocols import TenantMismatch
from .runtime_protocols import LeaseRecord, TimerRecord, TimerState

__all__ = ["SQLiteLeases", "SQLiteTimers"]


def _ts(value: str | None) -> datetime | None:
    return from_ts(value) if value else None


def _opt(value: datetime | None) -> str | None:
    return to_ts(value) if value else None


class SQLiteLeases(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "runtime_0001_leases",
            [
                """CREATE TABLE runtime_leases (
                    tenant_id TEXT NOT NULL, name TEXT NOT NULL, owner TEXT, expires_at TEXT,
                    last_run_at TEXT, last_error TEXT, last_error_at TEXT, failing_seq INTEGER,
                    failures INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (tenant_id, name))""",
            ],
        )

    @staticmethod
    def _row(r: Any) -> LeaseRecord:
        return LeaseRecord(
            tenant_id=r["tenant_id"], name=r["name"], owner=r["owner"], expires_at=_ts(r["expires_at"]),
            last_run_at=_ts(r["last_run_at"]), last_error=r["last_error"], last_error_at=_ts(r["last_error_at"]),
            failing_seq=r["failing_seq"], failures=r["failures"],
        )

    def acquire(self, tenant_id: str, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        # One statement: insert, or take over a free/expired/own lease; the WHERE makes it a no-op
        # (0 changes) while another owner's lease runs.
        cur = self.db.execute(
            "INSERT INTO runtime_leases (tenant_id, name, owner, expires_at) VALUES (?,?,?,?) "
            "ON CONFLICT (tenant_id, name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
            "WHERE runtime_leases.owner IS NULL OR runtime_leases.owner = excluded.owner "
            "OR runtime_leases.expires_at IS NULL OR runtime_leases.expires_at <= ?",
            (tenant_id, name, owner, to_ts(now + ttl), to_ts(now)),
        )
        return cur.rowcount == 1

    def release(self, tenant_id: str, name: str, owner: str) -> bool:
        cur = self.db.execute(
            "UPDATE runtime_leases SET owner = NULL, expires_at = NULL WHERE tenant_id = ? AND name = ? AND owner = ?",
            (tenant_id, name, owner),
        )
        return cur.rowcount == 1

    def note_run(self, tenant_id: str, name: str, at: datetime, *, error: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO runtime_leases (tenant_id, name, last_run_at, last_error, last_error_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT (tenant_id, name) DO UPDATE SET last_run_at = excluded.last_run_at, "
            "last_error = COALESCE(excluded.last_error, runtime_leases.last_error), "
            "last_error_at = COALESCE(excluded.last_error_at, runtime_leases.last_error_at)",
            (tenant_id, name, to_ts(at), error, to_ts(at) if error is not None else None),
        )

    def note_failure(self, tenant_id: str, name: str, seq: int | None) -> int:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO runtime_leases (tenant_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                         (tenant_id, name))
            if seq is None:
                conn.execute("UPDATE runtime_leases SET failing_seq = NULL, failures = 0 WHERE tenant_id = ? "
                             "AND name = ?", (tenant_id, name))
                return 0
            conn.execute(
                "UPDATE runtime_leases SET failures = CASE WHEN failing_seq = ? THEN failures + 1 ELSE 1 END, "
                "failing_seq = ? WHERE tenant_id = ? AND name = ?",
                (seq, seq, tenant_id, name),
            )
            row = conn.execute("SELECT failures FROM runtime_leases WHERE tenant_id = ? AND name = ?",
                               (tenant_id, name)).fetchone()
            return int(row[0])

    def get(self, tenant_id: str, name: str) -> LeaseRecord | None:
        r = self.db.execute("SELECT * FROM runtime_leases WHERE tenant_id = ? AND name = ?",
                            (tenant_id, name)).fetchone()
        return self._row(r) if r else None

    def find(self, tenant_id: str) -> list[LeaseRecord]:
        return [self._row(r) for r in self.db.execute(
            "SELECT * FROM runtime_leases WHERE tenant_id = ? ORDER BY name", (tenant_id,))]


class SQLiteTimers(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "runtime_0002_timers",
            [
                """CREATE TABLE runtime_timers (
                    tenant_id TEXT NOT NULL, engine TEXT NOT NULL, key TEXT NOT NULL, due_at TEXT NOT NULL,
                    payload_json TEXT NOT NULL, recurrence TEXT, state TEXT NOT NULL,
                    claimed_by TEXT, claim_until TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
                    fire_count INTEGER NOT NULL DEFAULT 0, last_fired_at TEXT,
                    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, engine, key))""",
                "CREATE INDEX ix_runtime_timers_due ON runtime_timers (tenant_id, engine, state, due_at)",
            ],
        )

    @staticmethod
    def _row(r: Any) -> TimerRecord:
        return TimerRecord(
            tenant_id=r["tenant_id"], engine=r["engine"], key=r["key"], due_at=from_ts(r["due_at"]),
            payload=json.loads(r["payload_json"]), recurrence=r["recurrence"], state=r["state"],
            claimed_by=r["claimed_by"], claim_until=_ts(r["claim_until"]), attempts=r["attempts"],
            last_error=r["last_error"], fire_count=r["fire_count"], last_fired_at=_ts(r["last_fired_at"]),
            created_at=from_ts(r["created_at"]), updated_at=from_ts(r["updated_at"]),
        )

    def add(self, tenant_id: str, timer: TimerRecord) -> bool:
        if timer.tenant_id != tenant_id:
            raise TenantMismatch("timer belongs to another tenant")
        t = timer
        cur = self.db.execute(
            "INSERT INTO runtime_timers (tenant_id, engine, key, due_at, payload_json, recurrence, state, claimed_by,"
            " claim_until, attempts, last_error, fire_count, last_fired_at, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (tenant_id, t.engine, t.key, to_ts(t.due_at), json.dumps(t.payload), t.recurrence, t.state, t.claimed_by,
             _opt(t.claim_until), t.attempts, t.last_error, t.fire_count, _opt(t.last_fired_at), to_ts(t.created_at),
             to_ts(t.updated_at)),
        )
        return cur.rowcount == 1

    def get(self, tenant_id: str, engine: str, key: str) -> TimerRecord | None:
        r = self.db.execute("SELECT * FROM runtime_timers WHERE tenant_id = ? AND engine = ? AND key = ?",
                            (tenant_id, engine, key)).fetchone()
        return self._row(r) if r else None

    def cancel(self, tenant_id: str, engine: str, key: str, at: datetime) -> bool:
        cur = self.db.execute(
            "UPDATE runtime_timers SET state = 'cancelled', claimed_by = NULL, claim_until = NULL, updated_at = ? "
            "WHERE tenant_id = ? AND engine = ? AND key = ? AND state = 'pending'",
            (to_ts(at), tenant_id, engine, key),
        )
        return cur.rowcount == 1

    def put_recurring(self, tenant_id: str, engine: str, key: str, *, recurrence: str, due_at: datetime,
                      payload: dict[str, Any], at: datetime) -> bool:
        payload_json = json.dumps(payload, sort_keys=True)
        with self.db.transaction() as conn:
            r = conn.execute("SELECT recurrence, payload_json, state FROM runtime_timers WHERE tenant_id = ? "
                             "AND engine = ? AND key = ?", (tenant_id, engine, key)).fetchone()
            if r is None:
                conn.execute(
                    "INSERT INTO runtime_timers (tenant_id, engine, key, due_at, payload_json, recurrence, state, "
                    "created_at, updated_at) VALUES (?,?,?,?,?,?,'pending',?,?)",
                    (tenant_id, engine, key, to_ts(due_at), payload_json, recurrence, to_ts(at), to_ts(at)),
                )
                return True
            if (r["recurrence"] == recurrence and json.loads(r["payload_json"]) == payload
                    and r["state"] == "pending"):
                return False
            conn.execute(
                "UPDATE runtime_timers SET due_at = ?, payload_json = ?, recurrence = ?, state = 'pending', "
                "claimed_by = NULL, claim_until = NULL, attempts = 0, updated_at = ? "
                "WHERE tenant_id = ? AND engine = ? AND key = ?",
                (to_ts(due_at), payload_json, recurrence, to_ts(at), tenant_id, engine, key),
            )
            return True

    def prune_recurring(self, tenant_id: str, engine: str, keep: Sequence[str]) -> int:
        keys = list(keep)
        marks = ",".join("?" * len(keys))
        sql = "DELETE FROM runtime_timers WHERE tenant_id = ? AND engine = ? AND recurrence IS NOT NULL"
        if keys:
            sql += f" AND key NOT IN ({marks})"
        return self.db.execute(sql, (tenant_id, engine, *keys)).rowcount

    def claim_due(self, tenant_id: str, engine: str, now: datetime, owner: str, until: datetime, *,
                  limit: int = 100) -> list[TimerRecord]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM runtime_timers WHERE tenant_id = ? AND engine = ? AND state = 'pending' "
                "AND due_at <= ? AND (claim_until IS NULL OR claim_until <= ?) ORDER BY due_at, key LIMIT ?",
                (tenant_id, engine, to_ts(now), to_ts(now), limit),
            ).fetchall()
            out = []
            for r in rows:
                conn.execute("UPDATE runtime_timers SET claimed_by = ?, claim_until = ? WHERE tenant_id = ? "
                             "AND engine = ? AND key = ?", (owner, to_ts(until), tenant_id, engine, r["key"]))
                out.append(self._row(r).model_copy(update={"claimed_by": owner, "claim_until": until}))
            return out

    def complete(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime, at: datetime,
                 next_due: datetime | None) -> bool:
        cur = self.db.execute(
            "UPDATE runtime_timers SET "
            "state = CASE WHEN recurrence IS NOT NULL AND ? IS NOT NULL THEN 'pending' ELSE 'fired' END, "
            "due_at = CASE WHEN recurrence IS NOT NULL AND ? IS NOT NULL THEN ? ELSE due_at END, "
            "claimed_by = NULL, claim_until = NULL, attempts = 0, last_error = NULL, fire_count = fire_count + 1, "
            "last_fired_at = ?, updated_at = ? "
            "WHERE tenant_id = ? AND engine = ? AND key = ? AND state = 'pending' AND claimed_by = ? AND due_at = ?",
            (_opt(next_due), _opt(next_due), _opt(next_due), to_ts(due_at), to_ts(at), tenant_id, engine, key, owner,
             to_ts(due_at)),
        )
        return cur.rowcount == 1

    def extend_claim(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime,
                     until: datetime) -> bool:
        cur = self.db.execute(
            "UPDATE runtime_timers SET claim_until = ? WHERE tenant_id = ? AND engine = ? AND key = ? "
            "AND state = 'pending' AND claimed_by = ? AND due_at = ?",
            (to_ts(until), tenant_id, engine, key, owner, to_ts(due_at)),
        )
        return cur.rowcount == 1

    def fail(self, tenant_id: str, engine: str, key: str, *, owner: str, due_at: datetime, error: str,
             retry_at: datetime) -> bool:
        cur = self.db.execute(
            "UPDATE runtime_timers SET claimed_by = NULL, claim_until = ?, attempts = attempts + 1, last_error = ? "
            "WHERE tenant_id = ? AND engine = ? AND key = ? AND state = 'pending' AND claimed_by = ? AND due_at = ?",
            (to_ts(retry_at), error[:2000], tenant_id, engine, key, owner, to_ts(due_at)),
        )
        return cur.rowcount == 1

    def next_due(self, tenant_id: str, engine: str) -> datetime | None:
        r = self.db.execute("SELECT MIN(due_at) FROM runtime_timers WHERE tenant_id = ? AND engine = ? "
                            "AND state = 'pending'", (tenant_id, engine)).fetchone()
        return _ts(r[0])

    def find(self, tenant_id: str, *, engine: str | None = None, state: TimerState | None = None) -> list[TimerRecord]:
        sql = "SELECT * FROM runtime_timers WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if engine is not None:
            sql += " AND engine = ?"
            params.append(engine)
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY due_at, key", params)]

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tenant_id FROM runtime_timers ORDER BY 1")]
