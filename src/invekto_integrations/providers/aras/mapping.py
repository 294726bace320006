"""Aras Kargo status table and wire → unified `Shipment` mapping.

``DURUM_KODU`` 1–7 is the status; ``TIP_KODU`` 3 (returned) overrides it. No record (or no
``KARGO_TAKIP_NO`` yet) means the parcel was announced but not scanned: ``pending``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from invekto_integrations.core.text import fold
from invekto_integrations.models.shipments import Shipment, ShipmentEvent, ShipmentStatus
from invekto_integrations.providers._carrier import log_unknown_code, parse_local_datetime

from .wire import ArasCargo, ArasCargoTransaction

__all__ = [
    "STATUS_TABLE",
    "TRACKING_URL",
    "ArasStatusCode",
    "ArasTypeCode",
    "movement_status",
    "pending_shipment",
    "pick_row",
    "shipment_from_movements",
    "to_shipment",
    "unified_status",
]

TRACKING_URL = "https://kargotakip.araskargo.com.tr/mainpage.aspx?code={code}"


class ArasStatusCode(StrEnum):
    """``DURUM_KODU``."""

    AT_ORIGIN_BRANCH = "1"  # Çıkış Şubesinde
    IN_TRANSIT = "2"  # Yolda
    AT_DELIVERY_BRANCH = "3"  # Teslimat Şubesinde
    OUT_FOR_DELIVERY = "4"  # Teslimatta
    PARTIALLY_DELIVERED = "5"  # Parçalı Teslimat
    DELIVERED = "6"  # Teslim Edildi
    REDIRECTED = "7"  # Yönlendirildi


class ArasTypeCode(StrEnum):
    """``TIP_KODU``."""

    NORMAL = "1"
    REDIRECTED = "2"  # yönlendirildi
    RETURNED = "3"  # iade edildi


STATUS_TABLE: dict[ArasStatusCode, ShipmentStatus] = {
    ArasStatusCode.AT_ORIGIN_BRANCH: ShipmentStatus.PICKED_UP,
    ArasStatusCode.IN_TRANSIT: ShipmentStatus.IN_TRANSIT,
    ArasStatusCode.AT_DELIVERY_BRANCH: ShipmentStatus.IN_TRANSIT,
    ArasStatusCode.OUT_FOR_DELIVERY: ShipmentStatus.OUT_FOR_DELIVERY,
    # Sources disagree (delivered vs in transit). Some pieces are still on the way, so it is not
    # terminal: the watcher keeps polling until 6 and never tells the customer "delivered" early.
    ArasStatusCode.PARTIALLY_DELIVERED: ShipmentStatus.IN_TRANSIT,
    ArasStatusCode.DELIVERED: ShipmentStatus.DELIVERED,
    ArasStatusCode.REDIRECTED: ShipmentStatus.IN_TRANSIT,
}


def unified_status(
    durum_kodu: str | None, tip_kodu: str | None = None, devir_kodu: str | None = None
) -> ShipmentStatus:
    """The unified status of a ``Cargo`` row; an unknown code is logged once and is ``unknown``."""
    if (tip_kodu or "").strip() == ArasTypeCode.RETURNED:
        return ShipmentStatus.RETURN_TO_SENDER
    code = (durum_kodu or "").strip()
    if not code:
        return ShipmentStatus.PENDING
    try:
        status = STATUS_TABLE[ArasStatusCode(code)]
    except ValueError:
        log_unknown_code("aras", code)
        return ShipmentStatus.UNKNOWN
    if code == ArasStatusCode.AT_DELIVERY_BRANCH and devir_kodu:
        # Waiting at the delivery branch with a non-delivery ("devir") reason: a failed attempt.
        return ShipmentStatus.DELIVERY_FAILED
    return status


def _when(value: str | None, field: str) -> datetime | None:
    try:
        return parse_local_datetime(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from exc


def _event(row: ArasCargoTransaction) -> ShipmentEvent:
    return ShipmentEvent(
        occurred_at=_when(row.ISLEM_TARIHI, "ISLEM_TARIHI"),
        location=row.BIRIM,
        description=row.ACIKLAMA or row.ISLEM or "",
        code=row.ISLEM,
    )


def pending_shipment(key: str, *, reference: str | None = None) -> Shipment:
    """Announced to Aras (or not at all yet) but not scanned by a branch."""
    return Shipment(carrier="aras", tracking_number=key, reference=reference, status=ShipmentStatus.PENDING)


def pick_row(rows: Sequence[ArasCargo]) -> ArasCargo:
    """Several rows (a list ``Cargo``): the most recently updated one, else the last."""

    def key(item: tuple[int, ArasCargo]) -> tuple[float, int]:
        idx, row = item
        try:
            when = parse_local_datetime(row.ISLEM_TARIHI)
        except ValueError:
            when = None
        return (when.timestamp() if when else float("-inf"), idx)

    return max(enumerate(rows), key=key)[1]


def to_shipment(
    cargo: ArasCargo,
    transactions: Sequence[ArasCargoTransaction],
    *,
    queried_key: str,
    raw: dict[str, Any] | None = None,
) -> Shipment:
    """A ``Cargo`` row plus its movements as a unified `Shipment`."""
    number = cargo.KARGO_TAKIP_NO
    if not number:
        return pending_shipment(queried_key, reference=cargo.MUSTERI_OZEL_KODU)
    status = unified_status(cargo.DURUM_KODU, cargo.TIP_KODU, cargo.DEVIR_KODU)
    events = sorted((_event(t) for t in transactions),
                    key=lambda e: e.occurred_at.timestamp() if e.occurred_at else 0.0)
    status_at = _when(cargo.ISLEM_TARIHI, "ISLEM_TARIHI")
    if status_at is None and events:
        status_at = events[-1].occurred_at
    delivered_at = None
    if status == ShipmentStatus.DELIVERED and cargo.TESLIM_TARIHI:
        joined = cargo.TESLIM_TARIHI if not cargo.TESLIM_SAATI or "T" in cargo.TESLIM_TARIHI or ":" in \
            cargo.TESLIM_TARIHI else f"{cargo.TESLIM_TARIHI} {cargo.TESLIM_SAATI}"
        delivered_at = _when(joined, "TESLIM_TARIHI")
    if status == ShipmentStatus.DELIVERED and delivered_at is None:
        delivered_at = status_at
    raw_text = cargo.DURUMU or cargo.DURUM_EN
    if cargo.TIP_KODU == ArasTypeCode.RETURNED and cargo.IADE_SEBEBI:
        raw_text = f"{raw_text or 'İADE'} ({cargo.IADE_SEBEBI})"
    return Shipment(
        carrier="aras",
        tracking_number=number,
        reference=cargo.MUSTERI_OZEL_KODU,
        status=status,
        raw_status_code=cargo.DURUM_KODU if not cargo.TIP_KODU or cargo.TIP_KODU == ArasTypeCode.NORMAL
        else f"{cargo.DURUM_KODU}/TIP_KODU={cargo.TIP_KODU}",
        raw_status_text=raw_text,
        status_at=status_at,
        events=events,
        delivered_to=cargo.TESLIM_ALAN if status == ShipmentStatus.DELIVERED else None,
        delivered_at=delivered_at,
        tracking_url=TRACKING_URL.format(code=cargo.KARGO_LINK_NO or number),
        raw=raw,
    )


# Operation names (``ISLEM``) of QueryType 9 movements, ASCII-folded, most specific first: used only
# when QueryType 1 gives nothing for a tracking number (not every account may allow that lookup).
_MOVEMENT_TABLE: tuple[tuple[str, ShipmentStatus], ...] = (
    ("IADE", ShipmentStatus.RETURN_TO_SENDER),
    ("PARCALI", ShipmentStatus.IN_TRANSIT),
    ("TESLIM EDILDI", ShipmentStatus.DELIVERED),
    ("TESLIMATTA", ShipmentStatus.OUT_FOR_DELIVERY),
    ("DAGITIMDA", ShipmentStatus.OUT_FOR_DELIVERY),
    ("TESLIMAT SUBESINDE", ShipmentStatus.IN_TRANSIT),
    ("VARIS SUBESINDE", ShipmentStatus.IN_TRANSIT),
    ("YONLENDIRILDI", ShipmentStatus.IN_TRANSIT),
    ("YOLDA", ShipmentStatus.IN_TRANSIT),
    ("TRANSFER", ShipmentStatus.IN_TRANSIT),
    ("CIKIS SUBESINDE", ShipmentStatus.PICKED_UP),
)


def movement_status(islem: str | None) -> ShipmentStatus:
    """The unified status an Aras movement name (``ISLEM``) stands for; ``unknown`` (logged once) else."""
    text = fold(islem or "").upper()
    for needle, status in _MOVEMENT_TABLE:
        if needle in text:
            return status
    log_unknown_code("aras", f"ISLEM={islem}")
    return ShipmentStatus.UNKNOWN


def shipment_from_movements(tracking_number: str, transactions: Sequence[ArasCargoTransaction]) -> Shipment:
    """A `Shipment` read from movements alone (no ``Cargo`` row): status from the latest movement."""
    events = sorted((_event(t) for t in transactions),
                    key=lambda e: e.occurred_at.timestamp() if e.occurred_at else 0.0)
    if not events:
        return pending_shipment(tracking_number)
    last = events[-1]
    status = movement_status(last.code)
    return Shipment(
        carrier="aras",
        tracking_number=tracking_number,
        status=status,
        raw_status_code=None,
        raw_status_text=last.code,
        status_at=last.occurred_at,
        events=events,
        delivered_at=last.occurred_at if status == ShipmentStatus.DELIVERED else None,
        tracking_url=TRACKING_URL.format(code=tracking_number),
    )
