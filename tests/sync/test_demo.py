"""`make demo` end to end (loopback): it must pass its own checks and say what it used."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from invekto_integrations.demo import run_demo


@pytest.mark.loopback
async def test_demo_runs_and_passes_its_checks(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run_demo(tmp_path, out) == 0
    text = out.getvalue()
    assert "Trendyol:" in text and "Hepsiburada:" in text
    assert "2 order(s) on" in text and "every check passed" in text
    assert "MISMATCH" not in text
    assert (tmp_path / "invekto-demo.sqlite3").exists()
