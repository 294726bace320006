"""The shipped repository contract suite, run on every built-in store (the ``store`` fixture of
this directory's conftest: memory, SQLite in a temporary file, SQLite on disk)."""

from invekto_integrations.testing.repository_contract import *  # noqa: F403
