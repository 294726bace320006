"""Fixtures of this folder live in sync_world.py (a uniquely named module the tests import from:
two folders both importing a module named `conftest` clash when run together)."""

from sync_world import *  # noqa: F403
