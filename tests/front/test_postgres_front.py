"""The front door on PostgreSQL: ``INVEKTO_DATABASE_URL=postgresql://...`` picks `PostgresStore`,
and the sandboxed client syncs two marketplaces into it and finds the customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from invekto_integrations import ConfigurationError, Integrations
from invekto_integrations._env import is_postgres_url, sqlite_path
from invekto_integrations.core.crypto import generate_key
from invekto_integrations.storage.postgres import PostgresStore

PHONE = "0532 412 34 56"


def _seed_two_marketplaces(client: Integrations, tenant: str = "moda") -> None:
    ago = client.clock.now() - timedelta(days=3)
    for fake in (client.fakes.trendyol, client.fakes.hepsiburada):  # type: ignore[attr-defined]
        seller = fake.provision_account("Moda")
        client.accounts.add(tenant, fake.name, seller.credentials, settings=seller.settings)
        fake.seed_orders(seller.account_key, 12, start=ago - timedelta(days=10), end=ago)
        fake.seed_customer_order(seller.account_key, PHONE, "Ayşe Yılmaz", ago)


def test_from_env_picks_the_postgres_store(postgres_url: str) -> None:
    env = {"INVEKTO_DATABASE_URL": postgres_url, "INVEKTO_KEYRING": f"k1={generate_key()}"}
    with Integrations.from_env(env) as client:
        assert isinstance(client.store, PostgresStore)
        assert "127.0.0.1" in repr(client.store)


def test_sandbox_client_syncs_into_postgres(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    try:
        with Integrations.sandbox(start=datetime(2026, 3, 2, 10, tzinfo=UTC), store=store) as client:
            _seed_two_marketplaces(client)
            report = client.orders.sync("moda")
            assert not report.failed
            assert report.inserted == 26 == client.orders.count("moda")
            assert client.orders.lookup("moda", "+90 532 412 3456").providers == ["hepsiburada", "trendyol"]
            again = client.orders.sync("moda")
            assert (again.inserted, again.updated) == (0, 0)
            seqs = [e.seq for e in store.events.read("moda", limit=1000)]
            assert len(seqs) >= 26 and seqs == list(range(1, len(seqs) + 1))  # per tenant, no gaps
    finally:
        store.close()


def test_postgres_urls_and_redaction() -> None:
    assert is_postgres_url("postgresql://u:p@h/db") and is_postgres_url("postgres+psycopg://h/db")
    assert not is_postgres_url("sqlite:///x.db")
    try:
        sqlite_path("mysql://user:hunter2@h/db")
    except ConfigurationError as exc:
        assert "hunter2" not in str(exc) and "user:***@h" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("mysql:// was accepted")
