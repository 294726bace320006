"""Crash points for kill-and-resume tests: a process that SIGKILLs itself inside an open transaction.

A signal sent from outside lands wherever the process happens to be, mostly in a network wait.
`crash_inside_transaction` makes the ``n``-th outermost `SQLiteDatabase.transaction` of this
process kill it with SIGKILL after its body ran and before its ``COMMIT``: the write lock is held,
the rows are written in the WAL's uncommitted pages, and nothing of it may survive. A child process
started with ``INVEKTO_CRASH_AT_COMMIT=n`` calls `install_from_env` first thing::

    from invekto_integrations.testing.crashpoints import install_from_env

    install_from_env()  # no-op without the variable

POSIX only (SIGKILL); for tests, never for production code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from collections.abc import Iterator, Mapping

from invekto_integrations.storage._sqlite_db import SQLiteDatabase

__all__ = ["ENV_VAR", "crash_inside_transaction", "install_from_env"]

ENV_VAR = "INVEKTO_CRASH_AT_COMMIT"


def crash_inside_transaction(n: int) -> None:
    """SIGKILL this process inside its ``n``-th outermost SQLite transaction (1-based), before COMMIT."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    original = SQLiteDatabase.transaction
    seen = 0

    @contextlib.contextmanager
    def transaction(self: SQLiteDatabase) -> Iterator[sqlite3.Connection]:
        nonlocal seen
        outer = not self.connection().in_transaction
        with original(self) as conn:
            yield conn
            if outer:
                seen += 1
                if seen == n:
                    os.kill(os.getpid(), signal.SIGKILL)  # the body ran; COMMIT never will

    SQLiteDatabase.transaction = transaction  # type: ignore[method-assign]


def install_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """`crash_inside_transaction` at ``INVEKTO_CRASH_AT_COMMIT`` when set; returns it (``None`` if unset)."""
    value = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip()
    if not value:
        return None
    n = int(value)
    crash_inside_transaction(n)
    return n
