"""`make demo` end to end (loopback): the sandbox, the service hosting the runtime, two tenants; it
must pass every one of its checks, on the installed providers' own fakes."""

from __future__ import annotations

import io
import re
import socket
from pathlib import Path

import pytest

from invekto_integrations.demo import Check, choose_port, run_demo


@pytest.mark.loopback
def test_demo_runs_every_step_and_passes_its_checks(tmp_path: Path) -> None:
    out = io.StringIO()
    with socket.socket() as s:  # a free port: 7106 may be in use on this machine
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    code = run_demo(tmp_path, out, port=port)
    text = out.getvalue()
    assert code == 0, text
    assert "FAIL" not in text and "every check passed" in text
    failed = re.search(r"(\d+) checks passed, (\d+) failed", text)
    assert failed is not None and failed.group(2) == "0" and int(failed.group(1)) >= 30, text
    # every step ran (a step that raises is a failed check, so a missing line means it never started)
    for step in ("1) Two tenants", "2) Backfill", "3) Parcels", "4) A tracked-link click", "5) An A/B campaign",
                 "6) The clinic books", "7) Each tenant's dashboard"):
        assert step in text, step
    assert (tmp_path / "invekto-demo.sqlite3").exists()
    for tenant in ("moda-istanbul", "gulus-dis"):
        html = (tmp_path / f"dashboard-{tenant}.html").read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html")
    # the installed providers and their own fakes ran, never a stand-in
    assert "stand-in" not in text and "refmarket" not in text
    assert "trendyol, hepsiburada, aras, yurtici, whatsapp_cloud, meta, google_calendar" in text


def test_a_failed_check_fails_the_run() -> None:
    out = io.StringIO()
    check = Check(out)
    assert check(True, "fine") and not check(False, "broken", "why")
    assert check.failures == ["broken"] and check.passed == 1
    assert "FAIL  broken: why" in out.getvalue()


def test_the_port_falls_back_when_7106_is_taken() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = int(busy.getsockname()[1])
        port, preferred = choose_port(taken)
        assert not preferred and port != taken
