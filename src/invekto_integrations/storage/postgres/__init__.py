"""PostgreSQL repositories (extra ``postgres``: psycopg 3 and psycopg_pool); see docs/postgres.md."""

from ._db import PostgresDatabase, PostgresWakeups
from .store import PostgresStore

__all__ = ["PostgresDatabase", "PostgresStore", "PostgresWakeups"]
