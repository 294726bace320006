"""The command line on a real SQLite file: output, exit codes, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from invekto_integrations.cli import app
from invekto_integrations.core.crypto import generate_key

runner = CliRunner()


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return {"INVEKTO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "INVEKTO_KEYRING": f"k1={generate_key()}"}


def test_help_explains_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "demo", "sandbox", "accounts", "sync", "customer", "track", "campaign",
                    "attribution", "pricing", "dashboard", "runtime", "tokens"):
        assert command in result.output


def test_pricing_tokens_dashboard_and_status(env: dict[str, str], tmp_path: Path) -> None:
    r = runner.invoke(app, ["pricing", "set", "klinik", "İmplant", "15000", "30000", "--minutes", "60"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["pricing", "set", "klinik", "İmplant", "16000", "32000"], env=env)
    assert r.exit_code == 0 and "16000" in r.output
    listed = runner.invoke(app, ["pricing", "list", "klinik"], env=env)
    assert listed.exit_code == 0 and "İmplant" in listed.output and "32000" in listed.output
    bad = runner.invoke(app, ["pricing", "set", "klinik", "Dolgu", "3000", "1000"], env=env)
    assert bad.exit_code == 1 and "error" in bad.output
    token = runner.invoke(app, ["tokens", "issue", "klinik"], env=env)
    assert token.exit_code == 0 and "inv_" in token.output
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["dashboard", "klinik", "--out", str(out), "--niche", "dental"], env=env)
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert runner.invoke(app, ["dashboard", "klinik", "--from", "yesterday"], env=env).exit_code == 2
    status = runner.invoke(app, ["runtime", "status"], env=env)
    assert status.exit_code == 0, status.output
    assert runner.invoke(app, ["customer", "orders", "moda", "0532 412 34 56"], env=env).exit_code == 0
    assert runner.invoke(app, ["track", "moda", "aras", "123"], env=env).exit_code == 1


def test_bad_configuration_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    r = runner.invoke(app, ["pricing", "list", "klinik"], env={**env, "INVEKTO_DATABASE_URL": "mysql://x"})
    assert r.exit_code == 1 and "ConfigurationError" in r.output
