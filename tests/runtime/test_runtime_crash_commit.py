"""The runtime (order sync, shipment watcher, waitlist, a transactional probe with delayed and
recurring timers; proc_world.py) as one process that SIGKILLs itself inside an open transaction,
again and again (`testing.crashpoints`: the n-th transaction's body ran, its COMMIT never does),
each time restarted; then a last one runs to the end. Every event is handled once and every timer
occurrence fired once, as in an uninterrupted run (`check_exactly_once`). ``-m soak`` crashes it
many more times."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from proc_world import done, probe_rows, setup, start_sandbox
from test_runtime_two_runtimes import WORLD, check_exactly_once, wait_until

from invekto_integrations.storage import SQLiteStore
from invekto_integrations.testing.crashpoints import ENV_VAR

pytestmark = [pytest.mark.loopback, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")]


def _crash_and_resume(tmp_path: Path, crashes: int) -> None:
    sandbox = start_sandbox()
    rng = random.Random(int(time.time()))
    path = tmp_path / "world.sqlite3"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        config, expected = setup(path, sandbox)
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(config))
        watch = SQLiteStore(path)
        crashed = 0
        for i in range(crashes + 1):
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            env.pop(ENV_VAR, None)
            last = i == crashes
            if not last:  # the first one certainly gets that far; later ones may finish first (then stopped)
                env[ENV_VAR] = str(rng.randint(2, 12) if i == 0 else rng.randint(2, 60))
            with (tmp_path / f"rt-{i}.log").open("wb") as out:
                proc = subprocess.Popen([sys.executable, str(WORLD), str(config_path), f"rt-{i}"], stdout=out,
                                        stderr=subprocess.STDOUT, env=env)
            procs.append(proc)
            if not last:
                # it crashes at its n-th commit, or (having finished everything first) is stopped
                if not wait_until(lambda p=proc: p.poll() is not None or done(watch, expected), 60):
                    raise AssertionError("a crashing runtime neither crashed nor finished")
                if proc.poll() is None:  # a graceful stop needs the SIGTERM handler installed first
                    log = tmp_path / f"rt-{i}.log"
                    wait_until(lambda p=proc, log=log: p.poll() is not None or b"running" in log.read_bytes(), 60)
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
                assert proc.wait(30) in (0, -signal.SIGKILL)
                crashed += proc.returncode == -signal.SIGKILL
        assert wait_until(lambda: done(watch, expected), 90), "the runtime did not finish after the crashes"
        last_log = tmp_path / f"rt-{crashes}.log"
        assert wait_until(lambda: b"running" in last_log.read_bytes(), 60)
        procs[-1].send_signal(signal.SIGTERM)
        assert procs[-1].wait(30) == 0
        watch.close()
        assert crashed >= 1, "no runtime crashed inside a transaction: the test proved nothing"
        check_exactly_once(path, expected)
        owners = {owner for *_, owner in probe_rows(SQLiteStore(path))}
        assert f"rt-{crashes}" in owners or len(owners) > 1
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        sandbox.stop()


@pytest.mark.timeout(400)
def test_a_runtime_killed_inside_its_transactions_ends_as_if_uninterrupted(tmp_path: Path) -> None:
    _crash_and_resume(tmp_path, crashes=3)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_a_runtime_killed_inside_its_transactions_many_times(tmp_path: Path) -> None:
    _crash_and_resume(tmp_path, crashes=15)
