"""Fixtures of this folder live in send_world.py (imported by the tests as a uniquely named module)."""
