"""The service's API tokens behave the same on memory, SQLite and PostgreSQL: found by digest
whatever the tenant, listed per tenant, revoked once, never found after revocation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.service import issue_token
from invekto_integrations.service._tokens import authenticate
from invekto_integrations.storage.api_tokens import ApiToken, token_digest

from .conftest import open_store

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite-file", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s = open_store(request.param, request, tmp_path)
    yield s
    s.close()


def test_tokens_by_digest_per_tenant_and_revocation(store: Any) -> None:
    repo = store.api_tokens
    clear_a, a = issue_token(repo, "moda", label="erp")
    clear_b, b = issue_token(repo, "klinik")
    issue_token(repo, "moda", label="second")
    assert authenticate(repo, f"Bearer {clear_a}") == a
    assert authenticate(repo, f"Bearer {clear_b}") == b
    assert authenticate(repo, "Bearer inv_unknown") is None
    moda = repo.list("moda")
    assert sorted(t.label for t in moda) == ["erp", "second"]
    assert [t.token_id for t in moda] == sorted(t.token_id for t in moda)
    assert [t.token_id for t in repo.list("klinik")] == [b.token_id]
    assert clear_a not in repr(repo.list("moda"))
    # Another tenant cannot revoke moda's token by its id.
    assert repo.revoke("klinik", a.token_id, T0) is False
    assert repo.revoke("moda", a.token_id, T0) is True
    assert repo.revoke("moda", a.token_id, T0 + timedelta(1)) is False  # once
    assert authenticate(repo, f"Bearer {clear_a}") is None
    [revoked] = [t for t in repo.list("moda") if t.token_id == a.token_id]
    assert revoked.revoked_at == T0
    assert authenticate(repo, f"Bearer {clear_b}") == b


def test_round_trip_keeps_every_field(store: Any) -> None:
    token = ApiToken("t1", "01J0000000000000000000000A", token_digest("inv_x"), "label", T0)
    store.api_tokens.add("t1", token)
    assert store.api_tokens.find_by_digest(token_digest("inv_x")) == token
    assert store.api_tokens.list("t1") == [token]
    assert store.api_tokens.list("t2") == []
