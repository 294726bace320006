"""`make demo` end to end (loopback): it must pass its own checks and say what it used."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from invekto_integrations.demo_orders import run_demo


@pytest.mark.loopback
async def test_demo_runs_and_passes_its_checks(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run_demo(tmp_path, out) == 0
    text = out.getvalue()
    assert "Trendyol:" in text and "Hepsiburada:" in text
    assert "2 order(s) on" in text and "every check passed" in text
    assert "MISMATCH" not in text
    assert (tmp_path / "invekto-demo.sqlite3").exists()
    # the real connectors and their fakes ran, not the reference stand-in (which passes the same checks)
    assert "Trendyol: the installed 'trendyol' provider and its sandbox fake" in text
    assert "Hepsiburada: the installed 'hepsiburada' provider and its sandbox fake" in text
    assert "refmarket" not in text and "stand-in" not in text


def test_demo_says_when_it_falls_back(tmp_path: Path) -> None:
    """The negative control: with no marketplace plugin installed the demo names the stand-in, which
    the check above refuses."""
    from invekto_integrations.core.clock import FrozenClock
    from invekto_integrations.demo_orders import choose_marketplaces
    from invekto_integrations.providers.registry import ProviderRegistry

    out = io.StringIO()
    chosen, _ = choose_marketplaces(ProviderRegistry([]), FrozenClock(), out)
    assert [c.name for c in chosen] == ["refmarket-trendyol", "refmarket-hepsiburada"]
    assert "using the reference marketplace fake 'refmarket-trendyol'" in out.getvalue()
