"""The quick start is short, runs, and type-checks under ``mypy --strict`` as a user's code would."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "quickstart.py"
DOC = ROOT / "docs" / "quickstart.md"
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _code(text: str) -> list[str]:
    """The lines that are code: no cell markers, comments or blank lines."""
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def doc_blocks(path: Path = DOC) -> list[str]:
    return _BLOCK.findall(path.read_text(encoding="utf-8"))


def test_the_quick_start_is_the_example_and_fits_in_15_lines() -> None:
    first = doc_blocks()[0]
    assert _code(first) == _code(EXAMPLE.read_text(encoding="utf-8"))
    assert len(_code(first)) <= 15, len(_code(first))
    assert "# %%" in EXAMPLE.read_text(encoding="utf-8")  # a notebook-style script


def test_the_quick_start_runs(capsys: pytest.CaptureFixture[str]) -> None:
    names = runpy.run_path(str(EXAMPLE), run_name="__main__")
    found, report = names["found"], names["report"]
    assert not report.failed and len(report.accounts) == 2
    assert found.providers == ["hepsiburada", "trendyol"]
    assert {o.order.customer.name for o in found.orders} == {"Ayşe Yılmaz"}
    out = capsys.readouterr().out
    assert "trendyol" in out and "hepsiburada" in out


def test_every_quickstart_block_runs_or_typechecks(tmp_path: Path) -> None:
    """Blocks that need no environment run; every block passes mypy --strict (as a user's file)."""
    from mypy import api

    files = []
    for index, block in enumerate(doc_blocks()):
        path = tmp_path / f"quickstart_block_{index}.py"
        path.write_text(block, encoding="utf-8")
        files.append(str(path))
        if "from_env" not in block:
            runpy.run_path(str(path), run_name="__main__")
    out, err, status = api.run(["--strict", "--no-error-summary", *files, str(EXAMPLE)])
    assert status == 0, out + err
