"""Issue 19, secrets: the whole two-tenant demo (`make demo`) at DEBUG leaks no credential.

The demo runs in-process with every logger (httpx, httpcore, uvicorn, the sandbox, the library) at
DEBUG into one handler that keeps each formatted line, its arguments and its exception text; stdout
and stderr are captured; afterwards every file the demo left (the SQLite database with its WAL, the
HTML dashboards) is read as bytes. None of it may hold a marketplace key or secret, a carrier
password, a WhatsApp or Meta access token, the OAuth refresh token or client secret, the app secret,
the webhook verify token, the service's ``inv_`` API tokens or the credential keyring's key (in
plain, or in the encoded forms they travel in: Basic auth, ``Bearer``).

The secrets are collected from the demo's own configuration and from the sandbox as it hands them
out: ``provision_account`` of the marketplace fakes, ``issue_token`` and the keyring are observed
(wrapped, their results passed on unchanged)."""

from __future__ import annotations

import base64
import io
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations import _integrations, demo
from invekto_integrations.core.crypto import KeyRing
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.testing.sandbox.fakes.hepsiburada import HepsiburadaFake
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

pytestmark = [pytest.mark.loopback, pytest.mark.filterwarnings("ignore::ResourceWarning")]

LOGGERS = ("", "invekto_integrations", "httpx", "httpcore", "uvicorn", "uvicorn.access", "uvicorn.error",
           "starlette", "asyncio")


class Everything(logging.Handler):
    """Every record of every logger, formatted, with its arguments and its exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(self.format(record))  # includes the formatted traceback, if any
        except Exception as exc:  # a record that cannot be formatted still shows its parts
            self.texts.append(f"{record.name} unformattable {record.msg!r}: {exc!r}")
        self.texts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.texts += [repr(exc), str(exc), repr(exc.__cause__), repr(exc.__context__)]


@pytest.fixture
def capture() -> Iterator[Everything]:
    handler = Everything()
    loggers = [logging.getLogger(n) for n in LOGGERS]
    saved = [(lg.level, lg.disabled) for lg in loggers]
    logging.getLogger().addHandler(handler)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    yield handler
    logging.getLogger().removeHandler(handler)
    for lg, (level, disabled) in zip(loggers, saved, strict=True):
        lg.setLevel(level)
        lg.disabled = disabled


def _forms(values: list[str], pairs: list[tuple[str, str]]) -> set[str]:
    """The values and the forms they travel in (``Bearer x``, Basic ``user:pass``)."""
    out = {v for v in values if len(v) >= 4}
    out |= {f"Bearer {v}" for v in values if len(v) >= 4}
    for user, password in pairs:
        out.add(base64.b64encode(f"{user}:{password}".encode()).decode())
    return out


def _creds(c: Credentials) -> tuple[list[str], list[tuple[str, str]]]:
    values = [c.api_key.get_secret_value()]
    pairs = []
    if c.api_secret is not None:
        values.append(c.api_secret.get_secret_value())
        pairs.append((c.api_key.get_secret_value(), c.api_secret.get_secret_value()))
    values += [v.get_secret_value() for v in c.extra.values()]
    return values, pairs


def test_the_whole_demo_at_debug_leaks_no_secret(capture: Everything, capfd: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, list[Any]] = {"creds": [], "tokens": [], "keys": []}

    def observe_provision(cls: Any) -> None:
        original = cls.provision_account

        def provision(self: Any, *args: Any, **kwargs: Any) -> Any:
            seller = original(self, *args, **kwargs)
            seen["creds"].append((cls.__name__, seller.credentials))
            return seller

        monkeypatch.setattr(cls, "provision_account", provision)

    observe_provision(TrendyolFake)
    observe_provision(HepsiburadaFake)
    import invekto_integrations.service as service_pkg

    original_issue = service_pkg.issue_token

    def issue(*args: Any, **kwargs: Any) -> Any:
        clear, record = original_issue(*args, **kwargs)
        seen["tokens"].append(clear)
        return clear, record

    monkeypatch.setattr(service_pkg, "issue_token", issue)
    original_ring = _integrations._sandbox_keyring

    def ring() -> KeyRing:
        made = original_ring()
        seen["keys"].append(made)
        return made

    monkeypatch.setattr(_integrations, "_sandbox_keyring", ring)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    out = io.StringIO()
    code = demo.run_demo(tmp_path, out, port=port)
    printed = capfd.readouterr()
    text = out.getvalue()
    assert code == 0, text

    # -- the secrets, from the demo's configuration and what the sandbox handed out --------------
    values: list[str] = [demo.APP_SECRET, demo.VERIFY_TOKEN, *demo.WA_TOKENS.values(), "meta-token-a",
                         "fake_pass", "rt-klinik-a", "sandbox-client-secret"]
    pairs: list[tuple[str, str]] = [("fake_user", "fake_pass"), ("YKTEST", "YK")]
    assert {name for name, _ in seen["creds"]} == {"TrendyolFake", "HepsiburadaFake"}, seen["creds"]
    for name, creds in seen["creds"]:
        more, more_pairs = _creds(creds)
        if name == "HepsiburadaFake":  # its api_key is the merchant id, which documented URLs carry
            more = more[1:]
        values += more
        pairs += more_pairs
    assert len(seen["tokens"]) == 2 and all(t.startswith("inv_") for t in seen["tokens"])
    values += seen["tokens"]
    assert len(seen["keys"]) == 1
    ring_ = seen["keys"][0]
    for key in (ring_.key(kid) for kid in ring_.key_ids):  # the raw key, in the encodings it travels in
        values += [base64.urlsafe_b64encode(key).decode(), base64.b64encode(key).decode(), key.hex()]
    secrets = _forms(values, pairs)

    # -- everything the run left behind ----------------------------------------------------------
    assert len(capture.texts) > 500 and any(t.startswith("httpx ") for t in capture.texts), \
        "DEBUG logging of the demo was not captured"
    assert any(t.startswith("invekto_integrations") and " DEBUG " in t for t in capture.texts)
    texts = {"log": "\n".join(capture.texts), "stdout": printed.out + text, "stderr": printed.err}
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "invekto-demo.sqlite3" for p in files)
    assert sum(p.name.startswith("dashboard-") for p in files) == 2
    blobs = {str(p.relative_to(tmp_path)): p.read_bytes() for p in files}
    leaks = sorted({f"{where}: {s[:4]}…" for s in secrets for where, t in texts.items() if s in t})
    leaks += sorted({f"{where}: {s[:4]}…" for s in secrets for where, b in blobs.items()
                     if s.encode() in b or s.encode("utf-16-le") in b})
    assert not leaks, f"secrets leaked: {leaks}"
