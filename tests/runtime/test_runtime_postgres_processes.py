"""Three runtime processes on one PostgreSQL, each SIGKILLed and restarted at random points while
they drain a backlog of order events for three tenants: every event handled once, every timer
occurrence fired once, no message sent twice (leases, ``SKIP LOCKED`` timer claims and
transactional handlers; a killed process's transaction is rolled back by the server).

Real processes cannot share an injected clock: this runs on real time, with 2 s leases.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pg_proc_world import TENANTS, done, probe_rows, setup

from invekto_integrations.storage.postgres import PostgresStore

pytestmark = pytest.mark.loopback

WORLD = Path(__file__).with_name("pg_proc_world.py")
ORDERS = 60


def wait_until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def spawn(config_path: Path, owner: str, logs: Path) -> subprocess.Popen[bytes]:
    out = (logs / f"{owner}.log").open("wb")
    return subprocess.Popen([sys.executable, str(WORLD), str(config_path), owner], stdout=out,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


# The waits below add up to more than the suite's 120 s per test: on a loaded machine the bounds
# (not pytest's timeout) should be what ends a slow run, with the runtimes' stack dumps in their logs.
@pytest.mark.timeout(300)
def test_three_runtime_processes_killed_at_random_do_everything_once(postgres_url: str, tmp_path: Path) -> None:
    setup(postgres_url, ORDERS)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({"url": postgres_url}))
    rng = random.Random(12)
    watch = PostgresStore(postgres_url, max_connections=2)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    live = {slot: f"p{slot}-0" for slot in range(3)}
    killed: list[str] = []
    try:
        for owner in live.values():
            procs[owner] = spawn(config_path, owner, tmp_path)
        assert wait_until(lambda: len(probe_rows(watch)) >= 10, 60), "no progress"
        for round_ in range(1, 5):  # four kills at random moments, each followed by a restart
            time.sleep(rng.uniform(0.2, 1.5))
            slot = rng.randrange(3)
            victim = live[slot]
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait(10)
            killed.append(victim)
            live[slot] = f"p{slot}-{round_}"
            procs[live[slot]] = spawn(config_path, live[slot], tmp_path)
        # the work is shared (checked below): a runtime that started late under load gets its turn
        # once a killed one's leases expire, so wait for that too rather than sample it once
        assert wait_until(lambda: done(watch, ORDERS) and len({o for *_, o in probe_rows(watch)}) >= 3, 90), \
            "the runtimes did not finish in time"
        for owner in live.values():  # a graceful stop needs the SIGTERM handler installed first
            assert wait_until(lambda owner=owner: b"running" in (tmp_path / f"{owner}.log").read_bytes(), 60)
            procs[owner].send_signal(signal.SIGTERM)
        for owner in live.values():
            assert procs[owner].wait(30) == 0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGUSR1)
                time.sleep(0.5)
                proc.kill()
                proc.wait(10)
    try:
        assert all(procs[v].returncode == -signal.SIGKILL for v in killed)
        rows = probe_rows(watch)
        counts = Counter((t, kind, k) for t, kind, k, _ in rows)
        assert [key for key, n in counts.items() if n > 1] == [], "something was done twice"
        for tenant in TENANTS:
            log = watch.events.read(tenant, limit=100_000)
            assert [e.seq for e in log] == list(range(1, ORDERS + 1))
            events = {k for t, kind, k, _ in rows if t == tenant and kind == "event"}
            assert events == {e.event_id for e in log}
            delayed = {k.split("@")[0] for t, kind, k, _ in rows if t == tenant and kind == "timer"
                       and k.startswith("delayed:")}
            assert delayed == {f"delayed:{e.event_id}" for e in log}
            sends = [k for t, kind, k, _ in rows if t == tenant and kind == "send"]
            assert sorted(sends) == sorted(f"confirm:o{n}" for n in range(ORDERS))
            assert watch.outbox.status_counts(tenant) == {"order_confirmation": {"sent": ORDERS}}
        assert len({owner for *_, owner in rows}) >= 3  # the work was shared, restarted runtimes included
    finally:
        watch.close()
