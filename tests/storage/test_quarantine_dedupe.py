"""Quarantine contract: one row per (tenant, provider, account, record id, raw record), on every store;
a SQLite file written before the unique key keeps one of its duplicates after the migration."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from invekto_integrations.core.ids import new_id
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.storage._sqlite_db import to_ts
from invekto_integrations.storage.records import QuarantinedRecord

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def bad(tenant: str = "t1", record_id: str | None = "ORD-1", raw: str = '{"orderNumber": "ORD-1"}',
        account: str = "acc1", provider: str = "trendyol") -> QuarantinedRecord:
    return QuarantinedRecord(id=new_id(), tenant_id=tenant, provider=provider, account_id=account,
                             record_id=record_id, field="orderDate", error="orderDate: Field required",
                             raw_json=raw, created_at=NOW)


def test_the_same_bad_record_is_stored_once(store: Any) -> None:
    q = store.quarantine
    first = bad()
    q.add("t1", first)
    q.add("t1", bad())  # a later run: fresh id, same record
    assert [r.id for r in q.find("t1")] == [first.id]
    q.add("t1", bad(raw='{"orderNumber": "ORD-1", "status": "Picking"}'))  # the record changed: a new row
    q.add("t1", bad(record_id=None))  # no record id: keyed on the raw record alone
    q.add("t1", bad(record_id=None))
    q.add("t1", bad(account="acc2"))
    q.add("t1", bad(provider="hepsiburada"))
    q.add("t2", bad(tenant="t2"))
    assert len(q.find("t1")) == 5
    assert len(q.find("t1", provider="trendyol")) == 4
    assert len(q.find("t2")) == 1


def test_migration_keeps_one_of_the_old_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)  # back to the schema before the unique key, holding duplicates
    conn.execute("DROP INDEX ux_quarantine_record")
    conn.execute("ALTER TABLE quarantined_records DROP COLUMN raw_hash")
    conn.execute("DELETE FROM schema_migrations WHERE name IN ('0006_quarantine_raw_hash', '0007_quarantine_dedupe')")
    rows = [bad(), bad(), bad(), bad(raw="{}")]
    for r in rows:
        conn.execute("INSERT INTO quarantined_records VALUES (?,?,?,?,?,?,?,?,?)",
                     (r.id, r.tenant_id, r.provider, r.account_id, r.record_id, r.field, r.error, r.raw_json,
                      to_ts(NOW)))
    conn.commit()
    conn.close()

    store = SQLiteStore(path)
    try:
        kept = store.quarantine.find("t1")
        assert sorted(r.raw_json for r in kept) == sorted([rows[0].raw_json, "{}"])
        assert min(r.id for r in rows[:3]) in {r.id for r in kept}  # the smallest id of the duplicates
        store.quarantine.add("t1", bad())
        assert len(store.quarantine.find("t1")) == 2
    finally:
        store.close()
