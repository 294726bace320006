"""The SQLite database handle shared by every SQLite repository.

One connection per thread (sqlite3 connections must not cross threads), WAL journal so readers
never block the writer, a busy timeout so concurrent writers queue instead of failing, and named
migrations: each repository brings its own DDL and applies it once (`SQLiteDatabase.migrate`), so
adding an aggregate touches no central schema file.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from invekto_integrations.core.errors import StorageError

__all__ = ["SQLiteDatabase", "from_ts", "to_ts"]

def to_ts(dt: datetime) -> str:
    """UTC ISO-8601 with microseconds: sorts correctly as text."""
    offset = dt.utcoffset()
    if offset is None:
        raise StorageError("naive datetime cannot be stored")
    # isoformat is the same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ"), at a third of the cost; a UTC
    # value (nearly all of them) only swaps its "+00:00" for "Z".
    if not offset:
        return dt.isoformat(timespec="microseconds")[:-6] + "Z"
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_ts(text: str) -> datetime:
    # fromisoformat reads what to_ts writes ("...Z" is UTC since Python 3.11), ~20x faster than
    # strptime, which dominated every wide read (the dashboard's range reads, for one).
    return datetime.fromisoformat(text)


class SQLiteDatabase:
    """A SQLite file (``":memory:"``: a private temporary one) used by several repositories and threads."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if str(path) == ":memory:":
            # A private temporary file, removed on close. A shared-cache memory database would let
            # every thread see the same data, but its table locks (SQLITE_LOCKED) bypass the busy
            # timeout: concurrent writers fail instead of queueing. A file in WAL mode queues them.
            self._tmpdir = tempfile.TemporaryDirectory(prefix="invekto-sqlite-")
            path = Path(self._tmpdir.name) / "store.sqlite3"
        self._target = str(path)
        self._local = threading.local()
        self._migrate_lock = threading.Lock()
        self._applied: set[str] | None = None
        self._all: list[sqlite3.Connection] = []
        self.connection()  # fail early on a path that cannot be opened

    @property
    def path(self) -> str:
        """The database file (a private temporary one for ``":memory:"``)."""
        return self._target

    def __repr__(self) -> str:
        return f"SQLiteDatabase({self._target!r})"

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self._target, isolation_level=None, check_same_thread=False)
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open SQLite database: {exc}") from exc
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front, so check-then-write is atomic."""
        conn = self.connection()
        if conn.in_transaction:  # nested use joins the outer transaction
            try:
                yield conn
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite error: {exc}") from exc
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot start a transaction: {exc}") from exc
        try:
            yield conn
        except sqlite3.Error as exc:
            # A raw sqlite3 error from the body (a constraint, a lock, ...) never leaves storage.
            conn.execute("ROLLBACK")
            raise StorageError(f"SQLite error (transaction rolled back): {exc}") from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StorageError(f"commit failed: {exc}") from exc

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self.connection().execute(sql, params)
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error: {exc}") from exc

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """`execute` answering plain tuples: no `sqlite3.Row` per row on the wide hot reads."""
        try:
            cursor = self.connection().cursor()
            cursor.row_factory = None
            return cursor.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error: {exc}") from exc

    def migrate(self, name: str, statements: Sequence[str]) -> None:
        """Apply a named migration once (safe to call from every repository constructor)."""
        with self._migrate_lock:
            if self._applied is None:
                self.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                self._applied = {r[0] for r in self.execute("SELECT name FROM schema_migrations")}
            if name in self._applied:
                return
            with self.transaction() as conn:
                if conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone() is None:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                        (name, to_ts(datetime.now(UTC))),
                    )
            self._applied.add(name)

    def tenant_key(self, name: str, table: str) -> None:
        """Migration ``name``: re-key ``table`` from a global ``id TEXT PRIMARY KEY`` to
        ``PRIMARY KEY (tenant_id, id)``, keeping its rows, columns and indexes (SQLite cannot change
        a primary key in place: the table is rebuilt from its current definition)."""
        if self._applied is not None and name in self._applied:
            return
        row = self.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        if row is None:
            raise StorageError(f"migration {name}: no table {table}")
        create, found = re.subn(r"\bid TEXT PRIMARY KEY\b", "id TEXT NOT NULL", str(row[0]), count=1)
        if not found:  # already keyed otherwise (a table created by a later definition)
            self.migrate(name, [])
            return
        _, _, rest = create.partition("(")
        body = rest.rstrip().removesuffix(")")
        cols = ", ".join(r[1] for r in self.execute(f"PRAGMA table_info({table})"))
        indexes = [r[0] for r in self.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,))]
        self.migrate(name, [
            f"CREATE TABLE {table}_v2 ({body}, PRIMARY KEY (tenant_id, id))",
            f"INSERT INTO {table}_v2 ({cols}) SELECT {cols} FROM {table}",
            f"DROP TABLE {table}",
            f"ALTER TABLE {table}_v2 RENAME TO {table}",
            *indexes,
        ])

    def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._all.clear()
        self._local = threading.local()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
