"""The PostgreSQL database handle shared by every PostgreSQL repository.

A `psycopg_pool.ConnectionPool` of autocommit connections (session time zone UTC, rows as dicts).
A statement outside `PostgresDatabase.transaction` borrows a connection for that one statement;
inside it, every statement of this thread runs on the transaction's connection (nested use joins
the outer transaction, as on SQLite). Migrations are named, like SQLite's: each repository
applies its own DDL once, recorded in ``schema_migrations``; a transaction-scoped advisory lock
serialises processes migrating the same database at once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from invekto_integrations.core.errors import ConfigurationError, StorageError

try:
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ConfigurationError(
        "the PostgreSQL store needs psycopg 3 and psycopg_pool: pip install 'invekto-integrations[postgres]'"
    ) from exc

__all__ = ["WAKEUP_CHANNEL", "PostgresDatabase", "PostgresWakeups", "Row"]

Row = dict[str, Any]
_MIGRATION_LOCK = 0x1_17E7_0  # pg_advisory_xact_lock key: one migrating process at a time
# NOTIFY channel of new work (payload: the tenant id): a new event, timer or outbox row. Sent in the
# writer's transaction, so a listener hears it only once the rows are visible.
WAKEUP_CHANNEL = "invekto_wakeup"


def _configurer(schema: str | None) -> Callable[[psycopg.Connection[Any]], None]:
    def configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SET TIME ZONE 'UTC'")
        if schema is not None:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))

    return configure


def normalize_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` (an SQLAlchemy-style ``+psycopg`` driver suffix is dropped)."""
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+", 1)[0]
    if not sep or base not in ("postgresql", "postgres"):
        raise ConfigurationError(f"not a PostgreSQL URL (postgresql://...): {scheme}://...")
    return f"postgresql://{rest}"


class PostgresDatabase:
    """A PostgreSQL database used by several repositories and threads through one pool."""

    def __init__(self, url: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 10,
                 timeout: float = 30.0) -> None:
        self._url = normalize_url(url)
        self._schema = schema
        self._local = threading.local()
        self._migrate_lock = threading.Lock()
        self._applied: set[str] | None = None
        try:
            self.pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
                self._url, min_size=min_size, max_size=max_size, timeout=timeout, open=False,
                kwargs={"autocommit": True, "row_factory": dict_row}, configure=_configurer(schema),
                connection_class=psycopg.Connection[Row],
            )
            self.pool.open(wait=True, timeout=timeout)
        except (psycopg.Error, Exception) as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {type(exc).__name__}: {exc}") from exc
        if schema is not None:
            with self.transaction() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))

    @property
    def url(self) -> str:
        """The URL without its password (for reprs and logs)."""
        scheme, _, rest = self._url.partition("://")
        creds, at, host = rest.rpartition("@")
        return f"{scheme}://{creds.split(':', 1)[0]}{at}{host}" if at else self._url

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.url!r})"

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Row]]:
        """This thread's transaction connection, or a pooled one for a single statement."""
        conn: psycopg.Connection[Row] | None = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        with self.pool.connection() as pooled:
            yield pooled

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Row]]:
        """BEGIN ... COMMIT on one connection: every statement of this thread inside it joins it."""
        conn: psycopg.Connection[Row] | None = getattr(self._local, "conn", None)
        if conn is not None:  # nested use joins the outer transaction
            yield conn
            return
        try:
            with self.pool.connection() as pooled, pooled.transaction():
                self._local.conn = pooled
                try:
                    yield pooled
                finally:
                    self._local.conn = None
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL error (transaction rolled back): {exc}") from exc

    def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        try:
            with self.connection() as conn:
                return conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL error: {exc}") from exc

    def fetchone(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        try:
            with self.connection() as conn:
                return conn.execute(sql, params).fetchone()
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL error: {exc}") from exc

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; returns the row count."""
        try:
            with self.connection() as conn:
                return conn.execute(sql, params).rowcount
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL error: {exc}") from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        try:
            with self.connection() as conn, conn.cursor() as cur:
                cur.executemany(sql, rows)
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL error: {exc}") from exc

    def notify(self, tenant_id: str) -> None:
        """Tell listening runtimes that ``tenant_id`` has new work (on commit, inside a transaction)."""
        self.execute("SELECT pg_notify(%s, %s)", (WAKEUP_CHANNEL, tenant_id))

    def wakeups(self) -> PostgresWakeups:
        """A listener of `WAKEUP_CHANNEL` on a connection of its own (not from the pool)."""
        return PostgresWakeups(self._url, self._schema)

    def migrate(self, name: str, statements: Sequence[str]) -> None:
        """Apply a named migration once (safe from every repository constructor and every process)."""
        with self._migrate_lock:
            if self._applied is not None and name in self._applied:
                return
            with self.transaction() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                             "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")
                self._applied = {r["name"] for r in conn.execute("SELECT name FROM schema_migrations")}
                if name not in self._applied:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                                 (name, datetime.now(UTC)))
            self._applied.add(name)

    def close(self) -> None:
        self.pool.close()


class PostgresWakeups:
    """``LISTEN`` on `WAKEUP_CHANNEL`: `wait` returns as soon as any writer commits new work.

    One dedicated autocommit connection (a pooled one would be handed to other statements between
    waits). Notifications are a hint, not a queue: a runtime still polls, so one lost while the
    connection was down costs at most its idle interval.
    """

    def __init__(self, url: str, schema: str | None = None) -> None:
        try:
            self._conn: psycopg.Connection[Any] = psycopg.connect(url, autocommit=True)
            _configurer(schema)(self._conn)
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(WAKEUP_CHANNEL)))
        except psycopg.Error as exc:
            raise StorageError(f"cannot listen on PostgreSQL: {type(exc).__name__}: {exc}") from exc

    def __repr__(self) -> str:
        return f"PostgresWakeups(channel={WAKEUP_CHANNEL!r})"

    def wait(self, timeout: float) -> set[str]:
        """Wait up to ``timeout`` seconds for notifications; the tenants they named (empty: none came)."""
        tenants: set[str] = set()
        try:
            for note in self._conn.notifies(timeout=timeout, stop_after=1):
                tenants.add(note.payload)
            if tenants:  # take what else is queued already, without waiting
                for note in self._conn.notifies(timeout=0):
                    tenants.add(note.payload)
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL listener failed: {type(exc).__name__}: {exc}") from exc
        return tenants

    def close(self) -> None:
        self._conn.close()
