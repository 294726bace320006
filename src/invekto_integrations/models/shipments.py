"""The unified shipment: what every carrier connector (Aras, Yurtiçi, ...) returns from tracking.

The carrier's own status code and text are kept beside the unified `ShipmentStatus`, so nothing
the carrier said is lost; the per-carrier tables that map one onto the other live in each
provider's ``mapping.py``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.reprs import html_table

__all__ = ["TERMINAL_STATUSES", "Shipment", "ShipmentEvent", "ShipmentStatus"]


class ShipmentStatus(StrEnum):
    """The unified status set (karrio's tracker statuses, trimmed to what Turkish carriers report)."""

    PENDING = "pending"  # data sent to the carrier, parcel not scanned yet
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    ON_HOLD = "on_hold"
    RETURN_TO_SENDER = "return_to_sender"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """No further change is expected: a watcher stops polling."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURN_TO_SENDER, ShipmentStatus.CANCELLED})


class ShipmentEvent(BaseModel):
    """One movement of the parcel: when, where (branch / unit), what happened."""

    model_config = ConfigDict(frozen=True)

    occurred_at: datetime | None
    location: str | None = None
    description: str
    code: str | None = None


class Shipment(BaseModel):
    """A parcel as the carrier sees it now.

    ``tracking_number`` is the carrier's number when it has given one (Aras ``KARGO_TAKIP_NO``,
    Yurtiçi ``docId``), else the key it was queried by; ``reference`` is the seller's own key
    (Aras IntegrationCode, Yurtiçi cargoKey). ``status_at`` is when the current status was reached
    (the last movement), used to tell a repeated status apart from a new one.
    """

    model_config = ConfigDict(frozen=True)

    carrier: str
    tracking_number: str
    reference: str | None = None
    status: ShipmentStatus
    raw_status_code: str | None = None
    raw_status_text: str | None = None
    status_at: datetime | None = None
    events: list[ShipmentEvent] = Field(default_factory=list)
    delivered_to: str | None = None
    delivered_at: datetime | None = None
    estimated_delivery: datetime | None = None
    tracking_url: str | None = None
    raw: dict[str, Any] | None = Field(default=None, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def __repr__(self) -> str:
        at = f" at={self.status_at:%Y-%m-%d %H:%M}" if self.status_at else ""
        return (f"<Shipment {self.carrier} {self.tracking_number} {self.status.value}{at} "
                f"events={len(self.events)}>")

    def __str__(self) -> str:
        return repr(self)

    def _repr_html_(self) -> str:
        return html_table(f"{self.carrier} {self.tracking_number}: {self.status.value}",
                          ["when", "where", "what", "code"],
                          ([e.occurred_at, e.location, e.description, e.code] for e in self.events))
