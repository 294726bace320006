"""The shipped repository contract suite, run on every built-in store: memory, SQLite in a
temporary file, SQLite on disk, and PostgreSQL (a throwaway cluster, one schema per test)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.testing.repository_contract import *  # noqa: F403

from .conftest import open_store


@pytest.fixture(params=["memory", "sqlite-memory", "sqlite-file", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s = open_store(request.param, request, tmp_path)
    yield s
    s.close()
