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


def test_every_command_of_the_issue_has_help() -> None:
    for command in (["demo"], ["serve"], ["sandbox"], ["accounts", "add"], ["accounts", "list"],
                    ["accounts", "rotate-keys"], ["sync", "orders"], ["customer", "orders"], ["track"],
                    ["campaign", "create"], ["campaign", "schedule"], ["campaign", "stats"],
                    ["attribution", "report"], ["pricing", "list"], ["pricing", "set"], ["dashboard"],
                    ["runtime", "status"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_accounts_add_and_an_ab_campaign_from_the_command_line(env: dict[str, str]) -> None:
    r = runner.invoke(app, ["accounts", "add", "moda", "aras", "--api-key", "fake_user", "--api-secret", "s3cr3t-pass",
                            "--setting", "customer_code=1000000000001", "--display-name", "Aras"], env=env)
    assert r.exit_code == 0, r.output
    assert "s3cr3t-pass" not in r.output and "fake_user" not in r.output
    listed = runner.invoke(app, ["accounts", "list", "moda"], env=env)
    assert listed.exit_code == 0 and "aras" in listed.output and "s3cr3t" not in listed.output
    assert runner.invoke(app, ["accounts", "add", "moda", "nope", "--api-key", "k"], env=env).exit_code == 1
    assert runner.invoke(app, ["accounts", "add", "moda", "aras", "--api-key", "k", "--setting", "x"],
                         env=env).exit_code == 2
    made = runner.invoke(app, ["campaign", "create", "moda", "Kış indirimi", "--variant", "A=kampanya_duyurusu",
                               "--variant", "B=kampanya_duyurusu*2", "--param", "name", "--holdout", "0.2",
                               "--audience", '{"kind": "last_order", "within_days": 90}',
                               "--at", "2030-01-01T10:00:00+03:00"], env=env)
    assert made.exit_code == 0, made.output
    assert "A×1" in made.output and "B×2" in made.output and "holdout 0.2" in made.output
    campaign_id = made.output.split()[1].rstrip(":")
    listed = runner.invoke(app, ["campaign", "list", "moda"], env=env)
    assert listed.exit_code == 0 and campaign_id in listed.output
    scheduled = runner.invoke(app, ["campaign", "schedule", "moda", campaign_id], env=env)
    assert scheduled.exit_code == 0 and "scheduled" in scheduled.output, scheduled.output
    stats = runner.invoke(app, ["campaign", "stats", "moda", campaign_id], env=env)
    assert stats.exit_code == 0, stats.output
    for bad in (["--variant", "A"], ["--variant", "A=t", "--holdout", "1.5"], ["--variant", "A=t", "--audience", "{"],
                ["--variant", "A=t", "--at", "soon"], ["--variant", "A=t*zero"]):
        r = runner.invoke(app, ["campaign", "create", "moda", "x", *bad], env=env)
        assert r.exit_code == 2, (bad, r.output)
    unknown = runner.invoke(app, ["campaign", "create", "moda", "x", "--variant", "A=t", "--audience",
                                  '{"kind": "nonsense"}'], env=env)
    assert unknown.exit_code == 1 and "error" in unknown.output
