"""Configuration from the environment, for the front door (`Integrations.from_env`).

    INVEKTO_DATABASE_URL   sqlite:///relative.db | sqlite:////absolute.db | sqlite:// (memory) | memory://
                           | postgresql://user:password@host:5432/db (extra ``postgres``)
                           (default: sqlite:///invekto.sqlite3 in the working directory)
    INVEKTO_KEYRING        kid=base64key[,kid2=base64key...], the current key first
    INVEKTO_LOG            debug | info | warning: log this library's records to stderr

Constructor arguments always win; the environment is the fallback (as openai and stripe do).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from invekto_integrations.core.errors import ConfigurationError

__all__ = [
    "DATABASE_URL",
    "DEFAULT_DATABASE_URL",
    "LOG",
    "configure_logging",
    "is_postgres_url",
    "sqlite_path",
]

DATABASE_URL = "INVEKTO_DATABASE_URL"
LOG = "INVEKTO_LOG"
DEFAULT_DATABASE_URL = "sqlite:///invekto.sqlite3"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_HANDLER_NAME = "invekto-env-log"


def sqlite_path(url: str) -> str | None:
    """The SQLite path of a database URL (``":memory:"`` for ``sqlite://``), ``None`` for ``memory://``.

    A PostgreSQL URL is answered by `is_postgres_url`; any other scheme is a `ConfigurationError`
    naming the variable."""
    text = url.strip()
    if text in ("memory://", "memory:"):
        return None
    if text in ("sqlite://", "sqlite:///:memory:", "sqlite://:memory:"):
        return ":memory:"
    if text.startswith("sqlite:///"):
        path = text.removeprefix("sqlite:///")  # sqlite:////abs/path keeps its leading slash
        if not path:
            raise ConfigurationError(f"{DATABASE_URL}={url!r} names no file")
        return str(Path(path))
    raise ConfigurationError(
        f"{DATABASE_URL}={_redacted(url)!r}: use sqlite:///path/to/file.db, sqlite://, memory:// or postgresql://..."
    )


def is_postgres_url(url: str) -> bool:
    """``postgresql://...`` or ``postgres://...`` (also with an SQLAlchemy-style ``+driver``)."""
    scheme = url.strip().partition("://")[0].split("+", 1)[0].lower()
    return scheme in ("postgresql", "postgres")


def _redacted(url: str) -> str:
    """The URL without a password (``user:secret@host`` -> ``user:***@host``), for error messages."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(DATABASE_URL) or DEFAULT_DATABASE_URL


def configure_logging(level: str | None = None, environ: Mapping[str, str] | None = None) -> int | None:
    """Send the library's log records (logger ``invekto_integrations``) to stderr at ``level``
    (else ``INVEKTO_LOG``); returns the level set, ``None`` when neither is given. Idempotent:
    one handler however often it is called. Headers and bodies are never logged."""
    env = os.environ if environ is None else environ
    name = (level or env.get(LOG) or "").strip().lower()
    if not name:
        return None
    if name not in _LEVELS:
        raise ConfigurationError(f"{LOG}={name!r}: one of {', '.join(_LEVELS)}")
    logger = logging.getLogger("invekto_integrations")
    logger.setLevel(_LEVELS[name])
    if not any(h.get_name() == _HANDLER_NAME for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s"))
        logger.addHandler(handler)
    return _LEVELS[name]
