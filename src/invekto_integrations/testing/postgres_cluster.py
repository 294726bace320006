"""A throwaway PostgreSQL cluster for tests, from the machine's server binaries.

``initdb`` on a temporary directory, ``pg_ctl start`` on a free loopback port, trust
authentication (loopback only), no fsync; `PostgresCluster.stop` removes everything. The
binaries are found on ``PATH`` or under ``/usr/lib/postgresql/<version>/bin`` (Debian's
``postgresql`` package). PostgreSQL refuses to run as root, so as root the cluster runs as the
unprivileged ``postgres`` user (the Debian package creates it).

`postgres_cluster_or_skip` is what a pytest fixture calls: without the binaries the test is
skipped with a message saying how to enable it, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

from invekto_integrations.core.reprs import ConciseRepr

__all__ = ["PostgresCluster", "find_postgres_bin", "postgres_cluster_or_skip"]

_ENABLE = ("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; "
           "install them to run the PostgreSQL tests: apt-get install postgresql")


def find_postgres_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest Debian version first), or ``None``."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    versions = []
    for candidate in Path("/usr/lib/postgresql").glob("*/bin"):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            match = re.match(r"\d+", candidate.parent.name)
            versions.append((int(match.group()) if match else 0, candidate))
    return max(versions)[1] if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster(ConciseRepr, fields=("port", "dir")):
    """One running cluster; `url` connects to its ``postgres`` database as the ``postgres`` role."""

    def __init__(self, bin_dir: Path, *, run_as: str | None = None) -> None:
        self.bin_dir = bin_dir
        self.run_as = run_as if run_as is not None else ("postgres" if os.geteuid() == 0 else None)
        self.dir = Path(tempfile.mkdtemp(prefix="invekto-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._started = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def schema_url(self, schema: str) -> str:
        """`url` with every connection's ``search_path`` set to ``schema`` (one test's private schema)."""
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as is not None:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=self.dir)  # noqa: S603 - our own argv
        if done.returncode != 0:
            log = (self.dir / "server.log").read_text() if (self.dir / "server.log").exists() else ""
            raise RuntimeError(f"{' '.join(args[:1])} failed ({done.returncode}): {done.stderr}{done.stdout}{log}")

    def start(self) -> PostgresCluster:
        if self.run_as is not None:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.dir.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--locale=C")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "server.log"), "-w", "start")
        self._started = True
        return self

    def create_schema(self) -> str:
        """A fresh, empty schema (for one test); returns its name."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return name

    def drop_schema(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self._started = False
        shutil.rmtree(self.dir, ignore_errors=True)


def postgres_cluster_or_skip() -> PostgresCluster:
    """Start a cluster, or skip the calling test when the binaries are missing (fail under ``CI=true``)."""
    import pytest

    bin_dir = find_postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(_ENABLE + " (CI=true: a skipped PostgreSQL test is a failure)", pytrace=False)
        pytest.skip(_ENABLE)
    return PostgresCluster(bin_dir).start()
