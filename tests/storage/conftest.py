from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.storage import MemoryStore, SQLiteStore


def open_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite-memory":
        return SQLiteStore()
    if kind == "postgres":  # only where every repository used is implemented on PostgreSQL
        from invekto_integrations.storage.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_url"))
    return SQLiteStore(tmp_path / "store.sqlite3")


@pytest.fixture(params=["memory", "sqlite-memory", "sqlite-file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Every store with every repository (other test directories import this fixture); the
    repository contract suite adds PostgreSQL (its own ``store`` in test_repository_contract.py)."""
    s = open_store(request.param, request, tmp_path)
    yield s
    s.close()
