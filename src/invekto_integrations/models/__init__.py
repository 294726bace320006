"""Unified domain types shared by every provider."""
