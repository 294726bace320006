"""The whole two-tenant demo (`invekto_integrations.demo`) on PostgreSQL: the sandbox, the service
hosting the runtime, every step and check, with every repository in the demo's own schema of a
throwaway cluster (`python -m invekto_integrations.demo --database-url postgresql://...`)."""

from __future__ import annotations

import io
import re
import socket
from pathlib import Path

import pytest

from invekto_integrations.demo import run_demo
from invekto_integrations.storage.postgres import PostgresDatabase, PostgresStore


@pytest.mark.loopback
@pytest.mark.timeout(300)
def test_the_whole_demo_runs_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    out = io.StringIO()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    assert PostgresStore.MISSING == ()  # every repository the demo uses is on PostgreSQL
    code = run_demo(tmp_path, out, port=port, database_url=postgres_url)
    text = out.getvalue()
    assert code == 0, text
    failed = re.search(r"(\d+) checks passed, (\d+) failed", text)
    assert failed is not None and failed.group(2) == "0" and int(failed.group(1)) >= 30, text
    for step in ("1) Two tenants", "2) Backfill", "3) Parcels", "4) A tracked-link click", "5) An A/B campaign",
                 "6) The clinic books", "7) Each tenant's dashboard"):
        assert step in text, step
    assert "schema invekto_demo" in text and not (tmp_path / "invekto-demo.sqlite3").exists()
    db = PostgresDatabase(postgres_url)
    try:
        for table in ("orders_cache", "outbox", "event_log", "runtime_timers"):
            row = db.fetchone(f"SELECT COUNT(*) AS n FROM invekto_demo.{table}")
            assert row is not None and row["n"] > 0, table
    finally:
        db.close()
