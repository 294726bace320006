"""Two runtimes on one SQLite file run the order sync, the shipment watcher, the waitlist and a
delayed and a recurring timer for two tenants against the sandbox fakes on loopback: every event is
handled once, every timer occurrence fired once. First as two threads, then as two real processes,
each SIGKILLed once while the other (or a restarted one) carries on.

These run on real time (real processes cannot share an injected clock): leases last 2 s, the
recurring timer fires every second, and each test is bounded by a deadline of seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from proc_world import PROBED, TENANTS, Expected, build, done, probe_rows, setup, start_sandbox

from invekto_integrations.models.events import OrderCreated, ShipmentStatusChanged
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.testing.sandbox import Sandbox

pytestmark = pytest.mark.loopback

WORLD = Path(__file__).with_name("proc_world.py")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = start_sandbox()
    yield sb
    sb.stop()


def wait_until(predicate: Any, seconds: float) -> bool:
    """Poll ``predicate`` on real time (the runtimes under test run on it too)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def check_exactly_once(path: Path, expected: Expected) -> None:
    store = SQLiteStore(path)
    try:
        rows = probe_rows(store)
        counts = Counter((t, kind, k) for t, kind, k, _ in rows)
        assert [key for key, n in counts.items() if n > 1] == [], "something was handled twice"
        for tenant in TENANTS:
            assert store.orders.count(tenant) == expected.orders[tenant]
            log = store.events.read(tenant, limit=100_000, types=list(PROBED))
            assert {e.event_id for e in log} == {k for t, kind, k, _ in rows if t == tenant and kind == "event"}
            changes = [e for e in log if e.type == ShipmentStatusChanged.TYPE]
            assert len(changes) == expected.parcels[tenant]  # one change per parcel: pending -> delivered
            assert {e.data["new_status"] for e in changes} == {"delivered"}
            for appointment_id in expected.cancelled[tenant]:
                assert len(store.waitlist.find_offers(tenant, source_appointment_id=appointment_id)) == 1
            created = [e for e in log if e.type == OrderCreated.TYPE]
            timers = [k for t, kind, k, _ in rows if t == tenant and kind == "timer"]
            delayed = sorted(k for k in timers if k.startswith("delayed:"))
            assert len(delayed) == len(created) == expected.orders[tenant]
            assert {k.split("@")[0] for k in delayed} == {f"delayed:{e.event_id}" for e in created}
            beats = [k for k in timers if k.startswith("beat@")]
            assert len(beats) >= 3
    finally:
        store.close()


def test_two_runtime_threads(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "world.sqlite3"
    config, expected = setup(path, sandbox)
    built = [build(config, owner) for owner in ("thread-a", "thread-b")]
    threads = [threading.Thread(target=rt.run_forever, kwargs={"idle": 0.05}) for _, rt in built]
    for t in threads:
        t.start()
    watch = SQLiteStore(path)
    try:
        assert wait_until(lambda: done(watch, expected), 40), "the runtimes did not finish in time"
    finally:
        for _, rt in built:
            rt.stop()
        for t in threads:
            t.join(20)
        for store, _ in built:
            store.close()
        watch.close()
    check_exactly_once(path, expected)


def spawn(config_path: Path, owner: str, logs: Path) -> subprocess.Popen[bytes]:
    out = (logs / f"{owner}.log").open("wb")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(WORLD), str(config_path), owner], stdout=out,
                            stderr=subprocess.STDOUT, env=env)


# The waits below add up to more than the suite's 120 s per test: on a loaded machine the bounds
# (not pytest's timeout) should be what ends a slow run, with the runtimes' stack dumps in their logs.
@pytest.mark.timeout(300)
def test_two_runtime_processes_survive_a_sigkill_of_either(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "world.sqlite3"
    config, expected = setup(path, sandbox)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    watch = SQLiteStore(path)
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def work() -> int:
        return len(probe_rows(watch))

    def a2_took_part() -> bool:
        return any(owner == "proc-a2" for *_, owner in probe_rows(watch))

    try:
        procs["a"] = spawn(config_path, "proc-a", tmp_path)
        procs["b"] = spawn(config_path, "proc-b", tmp_path)
        # Kill A while work is in flight; start a fresh A; later kill B. Their leases and timer claims
        # expire (2 s) and the survivors take over.
        assert wait_until(lambda: work() >= 5, 30), "no progress"
        procs["a"].send_signal(signal.SIGKILL)
        procs["a"].wait(10)
        seen = work()
        procs["a2"] = spawn(config_path, "proc-a2", tmp_path)
        assert wait_until(lambda: work() >= seen + 10, 30), "no progress after killing A"
        procs["b"].send_signal(signal.SIGKILL)
        procs["b"].wait(10)
        # a2 may have started too late (a slow start under load) to win any work while B ran: the
        # beats go on every second, so after B's leases expire a2 must take part
        assert wait_until(lambda: done(watch, expected) and a2_took_part(), 45), \
            "the runtimes did not finish in time"
        procs["a2"].send_signal(signal.SIGTERM)  # graceful: finishes its step, releases its leases
        assert procs["a2"].wait(20) == 0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGUSR1)  # a stack dump into its log, for the failure report
                time.sleep(0.5)
                proc.kill()
                proc.wait(10)
        watch.close()
    assert procs["a"].returncode == -signal.SIGKILL and procs["b"].returncode == -signal.SIGKILL
    check_exactly_once(path, expected)
    owners = {owner for *_, owner in probe_rows(SQLiteStore(path))}
    assert "proc-a2" in owners  # the restarted runtime took part
