"""Checked by ``mypy --strict`` in ``make test`` (not collected by pytest): the built-in stores fit
`Store` and the engines' ``from_store`` constructors, as they must in users' code."""

from __future__ import annotations

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.crypto import CredentialCipher
from invekto_integrations.storage import MemoryStore, SQLiteStore, Store
from invekto_integrations.sync import OrderSyncEngine


def takes_store(store: Store) -> Store:
    return store


def wire(cipher: CredentialCipher) -> list[OrderSyncEngine]:
    sqlite = SQLiteStore(":memory:")
    memory = MemoryStore()
    stores: list[Store] = [takes_store(sqlite), takes_store(memory)]
    return [OrderSyncEngine.from_store(s, AccountService(s.accounts, cipher)) for s in stores] + [
        OrderSyncEngine.from_store(sqlite, AccountService(sqlite.accounts, cipher)),
        OrderSyncEngine.from_store(memory, AccountService(memory.accounts, cipher)),
    ]


def postgres_fits(url: str) -> Store:
    from invekto_integrations.storage.postgres import PostgresStore

    return takes_store(PostgresStore(url))
