"""The runtime's core and DST suites again, on PostgreSQL (a throwaway cluster, one schema per
test): leases, timer claims (``SKIP LOCKED``), per-tenant event sequences and transactions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_runtime_core import *  # noqa: F403
from test_runtime_dst import *  # noqa: F403

from invekto_integrations.storage.postgres import PostgresStore


@pytest.fixture
def store(postgres_url: str) -> Iterator[Any]:
    s = PostgresStore(postgres_url)
    yield s
    s.close()
