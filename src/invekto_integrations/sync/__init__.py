"""Engines that join providers and storage (orders, shipments, calendar)."""
