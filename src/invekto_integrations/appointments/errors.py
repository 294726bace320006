"""Errors of the clinic domain (all `IntegrationError`; the first two are also `ValueError`)."""

from __future__ import annotations

from invekto_integrations.core.errors import IntegrationError

__all__ = [
    "AppointmentError",
    "AppointmentNotFound",
    "ConcurrentModification",
    "InvalidServicePricing",
    "SlotUnavailable",
    "UnknownService",
]


class AppointmentError(IntegrationError):
    """Root of the clinic domain's errors."""


class InvalidServicePricing(AppointmentError, ValueError):
    """A service price row breaks a rule; ``field`` names it, ``service`` the service."""

    def __init__(self, message: str, *, field: str | None = None, service: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.service = service


class UnknownService(AppointmentError, ValueError):
    """No active service of that name for the tenant."""


class AppointmentNotFound(AppointmentError):
    """No such appointment (or doctor) for this tenant."""


class SlotUnavailable(AppointmentError):
    """The requested time is not free: outside working hours, busy in the calendar, or taken."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # outside_hours | calendar_busy | taken | held | not_eligible | in_past


class ConcurrentModification(AppointmentError):
    """The appointment changed since it was read (optimistic concurrency: reload and retry)."""
