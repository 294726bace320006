"""Fixtures of this folder live in cargo_world.py (a uniquely named module the tests import from:
two folders both importing a module named `conftest` clash when run together)."""

from cargo_world import *  # noqa: F403
