"""Fixtures of this folder live in runtime_world.py (uniquely named: two folders importing a module
called `conftest` clash)."""

from runtime_world import *  # noqa: F403
