"""Type-check the Python code blocks of docs/ (and README.md) with ``mypy --strict``.

Every fenced block opened with exactly ```` ```python ```` is written to its own module and
checked; a block that is a deliberate fragment (an excerpt, a sketch with ``...``) is fenced
```` ```python fragment ```` and skipped. Run by ``make test``; exits non-zero on any error and
names the page and the block's first line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def blocks(page: Path) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)]


def main() -> int:
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    with tempfile.TemporaryDirectory(prefix="docblocks-") as tmp:
        origin: dict[str, str] = {}
        for page in pages:
            for line, code in blocks(page):
                name = f"{page.stem}_line{line}.py".replace("-", "_")
                (Path(tmp) / name).write_text(code, encoding="utf-8")
                origin[name] = f"{page.relative_to(ROOT)}:{line}"
        if not origin:
            return 0
        # Each block is its own module: --scripts-are-modules keeps same-named blocks apart.
        proc = subprocess.run(  # noqa: S603  (our own interpreter on files we just wrote)
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--scripts-are-modules",
             "--config-file", str(ROOT / "pyproject.toml"), *sorted(origin)],
            cwd=tmp, capture_output=True, text=True, check=False)
        out = proc.stdout
        for name, where in origin.items():
            out = out.replace(name, where)
        print(out, end="")
        print(proc.stderr, end="", file=sys.stderr)
        return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
