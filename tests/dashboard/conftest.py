from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.storage import MemoryStore, SQLiteStore

from .seed import NOW, seed_all


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    s: Any
    if request.param == "postgres":  # a fresh schema of the session's throwaway cluster
        from invekto_integrations.storage.postgres import PostgresStore

        s = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        s = MemoryStore() if request.param == "memory" else SQLiteStore()
    yield s
    s.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def seeded(store: Any, clock: FrozenClock) -> Any:
    seed_all(store, clock)
    return store
