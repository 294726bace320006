from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.storage import MemoryStore, SQLiteStore


@pytest.fixture(params=["memory", "sqlite-memory", "sqlite-file", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Every repository implementation: the contract suite runs against each."""
    if request.param == "memory":
        s: Any = MemoryStore()
    elif request.param == "postgres":
        from invekto_integrations.storage.postgres import PostgresStore

        s = PostgresStore(request.getfixturevalue("postgres_url"))
    elif request.param == "sqlite-memory":
        s = SQLiteStore()
    else:
        s = SQLiteStore(tmp_path / "store.sqlite3")
    yield s
    s.close()
