"""Fakes of real providers, built from their documented wire formats (see each module)."""
