"""The `ShipmentRepository` / `CargoNotificationRepository` contract of test_cargo_repositories.py,
on PostgreSQL (a throwaway cluster, one schema per test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_cargo_repositories import *  # noqa: F403

from invekto_integrations.storage.postgres import PostgresStore


@pytest.fixture
def store(postgres_url: str) -> Iterator[Any]:
    s = PostgresStore(postgres_url)
    yield s
    s.close()
