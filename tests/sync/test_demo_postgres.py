"""`python -m invekto_integrations.demo --database-url postgresql://...`: the same checks pass on
PostgreSQL, in the demo's own schema (recreated on every run)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from invekto_integrations.demo_orders import run_demo
from invekto_integrations.storage.postgres import PostgresDatabase


@pytest.mark.loopback
@pytest.mark.timeout(300)  # two whole demo runs: 38 s seen on a loaded 2-core machine
async def test_demo_runs_on_postgres_twice(tmp_path: Path, postgres_url: str) -> None:
    for _ in range(2):  # the second run starts from a fresh schema, not on the first run's rows
        out = io.StringIO()
        assert await run_demo(tmp_path, out, database_url=postgres_url) == 0
        text = out.getvalue()
        assert "every check passed" in text and "MISMATCH" not in text
        assert "PostgreSQL store at postgresql://postgres@127.0.0.1" in text and "schema invekto_demo" in text
    assert not (tmp_path / "invekto-demo.sqlite3").exists()
    db = PostgresDatabase(postgres_url)
    try:
        row = db.fetchone("SELECT COUNT(*) AS n FROM invekto_demo.orders_cache")
        assert row is not None and row["n"] > 0
    finally:
        db.close()
