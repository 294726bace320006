"""Issue 19, kill and resume: the order sync, the shipment watcher (with its cargo messages) and
the campaign sender run as real subprocesses over one SQLite file against the sandbox on loopback,
and are SIGKILLed again and again: at random moments from outside, or by themselves inside an open
transaction (its body ran, its COMMIT never does: `testing.crashpoints`). Each is restarted until it
finishes; the final state must equal an uninterrupted run's:
- the orders cache (every order once, whole: same content hashes) and the events (each once);
- parcel status changes (each once) and the messages the WhatsApp fake took in;
- campaign recipients and their messages.

A message whose send a kill cut off after the request may have gone out is the one allowed
difference, by design: its outbox row ends ``uncertain`` (the pipeline never resends what the
provider may already have), the fake has it at most once, and there are no more of them than kills.

`make test` runs a few kills per engine; ``-m soak`` (run by `.ci/run`) runs many more.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kill_world import final_state, setup, start_sandbox

from invekto_integrations.storage.records import OutboxStatus
from invekto_integrations.testing.crashpoints import ENV_VAR

pytestmark = [pytest.mark.loopback, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")]

WORLD = Path(__file__).with_name("kill_world.py")
LIVE = {s.value for s in (OutboxStatus.ACCEPTED, OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ)}
# The n-th transaction a child kills itself in is drawn below this (a child that never gets that
# far simply finishes: the kill is then spent on nothing, and the next run draws again).
COMMITS = {"orders": 30, "watcher": 200, "campaign": 60}


@pytest.fixture
def sandboxes() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for sb in started:
        sb.stop()


def run_child(config_path: Path, log: Path, *, crash_at: int | None = None, kill_after: float | None = None,
              limit: float = 120) -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(ENV_VAR, None)
    if crash_at is not None:
        env[ENV_VAR] = str(crash_at)
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, str(WORLD), str(config_path)], stdout=out, stderr=subprocess.STDOUT,
                                env=env)
        try:
            if kill_after is not None:
                try:
                    return proc.wait(kill_after)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
            return proc.wait(limit)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def run_world(mode: str, tmp: Path, sandboxes: list[Any], *, kills: int, seed: int) -> tuple[dict[str, Any], int]:
    """Set up a world and drive it to the end; ``kills`` runs are killed first. Returns its final
    state and how many runs died of a kill."""
    sandbox = start_sandbox()
    sandboxes.append(sandbox)
    path = tmp / f"{mode}-{kills}.sqlite3"
    config = setup(mode, path, sandbox)
    config_path = tmp / f"{mode}-{kills}.json"
    config_path.write_text(json.dumps(config))
    log = tmp / f"{mode}-{kills}.log"
    rng = random.Random(seed)
    killed = 0
    for attempt in range(kills + 1):
        last = attempt == kills
        if last:
            code = run_child(config_path, log)
        elif attempt == 0:  # the first run has all the work ahead: an early commit is always reached
            code = run_child(config_path, log, crash_at=rng.randint(1, 10))
        elif rng.random() < 0.5:
            code = run_child(config_path, log, crash_at=rng.randint(1, COMMITS[mode]))
        else:  # from outside, after start-up (imports take most of the first second)
            code = run_child(config_path, log, kill_after=rng.uniform(0.8, 3.0))
        assert code in (0, -signal.SIGKILL), (code, log.read_text()[-3000:])
        killed += code == -signal.SIGKILL
        if code == 0 and not last:
            continue  # finished before the kill: the next runs have nothing left to do, and must do nothing
    text = log.read_text()
    assert text.rstrip().endswith("done"), text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    return final_state(mode, path, sandbox), killed


def compare(mode: str, reference: dict[str, Any], killed_state: dict[str, Any], kills: int) -> None:
    if mode == "orders":
        assert len(reference["orders"]) == 2 * 2 * 150
        assert killed_state["orders"] == reference["orders"]
    ref_events, events = reference["events"], killed_state["events"]
    # Message events follow the messages (checked through the outbox below); every other event exactly.
    strip = lambda c: {k: n for k, n in c.items() if not k[1].startswith("message.")}  # noqa: E731
    assert [k for k, n in strip(events).items() if n > 1] == [], "an event was appended twice"
    assert strip(events) == strip(ref_events)
    sent, ref_sent = killed_state["sent"], reference["sent"]
    assert [k for k, n in sent.items() if n > 1] == [], "a message reached the provider twice"
    assert set(sent) <= set(ref_sent)
    outbox, ref_outbox = killed_state["outbox"], reference["outbox"]
    assert set(outbox) == set(ref_outbox)
    assert all(status in LIVE for status, _ in ref_outbox.values())
    uncertain = [k for k, (status, _) in outbox.items() if status not in LIVE]
    for key in uncertain:
        status, reason = outbox[key]
        assert status == OutboxStatus.UNCERTAIN.value and reason, (key, status, reason)
    assert len(uncertain) <= kills, uncertain
    # every message of the uninterrupted run went out, unless a kill left its row uncertain
    assert len(ref_sent) - len(sent) <= len(uncertain)
    if mode == "campaign":
        ref_rec = [(t, p, s) for t, p, s in reference["recipients"]]
        assert [(t, p) for t, p, _ in killed_state["recipients"]] == [(t, p) for t, p, _ in ref_rec]
        assert killed_state["recipients"] == ref_rec  # submitted (even when uncertain) or refused, alike


def _kill_and_resume(mode: str, tmp_path: Path, sandboxes: list[Any], kills: int, seed: int) -> None:
    reference, none = run_world(mode, tmp_path, sandboxes, kills=0, seed=seed)
    assert none == 0
    if mode != "orders":
        assert reference["sent"] and all(n == 1 for n in reference["sent"].values())
    state, killed = run_world(mode, tmp_path, sandboxes, kills=kills, seed=seed)
    assert killed >= 1, "no run was killed: the test proved nothing"
    compare(mode, reference, state, killed)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", ["orders", "watcher", "campaign"])
def test_kill_and_resume_equals_an_uninterrupted_run(mode: str, tmp_path: Path, sandboxes: list[Any]) -> None:
    _kill_and_resume(mode, tmp_path, sandboxes, kills=3, seed=int(time.time()) % 10_000)


@pytest.mark.soak
@pytest.mark.timeout(3000)
@pytest.mark.parametrize("mode", ["orders", "watcher", "campaign"])
def test_kill_and_resume_many_times(mode: str, tmp_path: Path, sandboxes: list[Any]) -> None:
    _kill_and_resume(mode, tmp_path, sandboxes, kills=20, seed=int(time.time()) % 10_000)
