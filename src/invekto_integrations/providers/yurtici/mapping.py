"""Yurtiçi Kargo status tables and wire → unified `Shipment` mapping.

``operationStatus`` (NOP/IND/ISR/CNL/ISC/DLV/BI, with ``operationCode`` 0–6 as a fallback) gives
the headline status; the item's ``cargoEventId``/``cargoReasonId`` refine "IND" (with the courier,
waiting at the branch) and ``rejectStatus``/``returnStatus`` turn a delivery into a return.
Dates are ``YYYYMMDD`` + ``HHMMSS`` in Istanbul time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from invekto_integrations.models.shipments import Shipment, ShipmentEvent, ShipmentStatus
from invekto_integrations.providers._carrier import log_unknown_code, parse_yyyymmdd_hhmmss

from .wire import ShippingDeliveryDetailVO, ShippingDeliveryItemDetailVO

__all__ = [
    "OPERATION_CODES",
    "RETURNED_REJECT_STATUSES",
    "RETURNED_RETURN_STATUSES",
    "STATUS_TABLE",
    "TRACKING_URL",
    "YurticiOperationStatus",
    "to_shipment",
    "unified_status",
]

TRACKING_URL = "https://www.yurticikargo.com/tr/online-servisler/gonderi-sorgula?code={code}"


class YurticiOperationStatus(StrEnum):
    NOT_PROCESSED = "NOP"  # 0 Kargo İşlem Görmemiş
    IN_DELIVERY_PROCESS = "IND"  # 1 Kargo Teslimattadır (shipped, in the network)
    PROCESSED_NOT_INVOICED = "ISR"  # 2 Kargo işlem görmüş, faturası henüz düzenlenmemiştir
    DISPATCH_BLOCKED = "CNL"  # 3 Kargo Çıkışı Engellendi
    ALREADY_CANCELLED = "ISC"  # 4 Kargo daha önceden iptal edilmiştir
    DELIVERED = "DLV"  # 5 Kargo teslim edilmiştir
    INVOICE_CANCELLED = "BI"  # 6 Fatura şube tarafından iptal edilmiştir


OPERATION_CODES: dict[str, YurticiOperationStatus] = {
    "0": YurticiOperationStatus.NOT_PROCESSED,
    "1": YurticiOperationStatus.IN_DELIVERY_PROCESS,
    "2": YurticiOperationStatus.PROCESSED_NOT_INVOICED,
    "3": YurticiOperationStatus.DISPATCH_BLOCKED,
    "4": YurticiOperationStatus.ALREADY_CANCELLED,
    "5": YurticiOperationStatus.DELIVERED,
    "6": YurticiOperationStatus.INVOICE_CANCELLED,
}

STATUS_TABLE: dict[YurticiOperationStatus, ShipmentStatus] = {
    YurticiOperationStatus.NOT_PROCESSED: ShipmentStatus.PENDING,
    YurticiOperationStatus.IN_DELIVERY_PROCESS: ShipmentStatus.IN_TRANSIT,
    YurticiOperationStatus.PROCESSED_NOT_INVOICED: ShipmentStatus.PICKED_UP,
    YurticiOperationStatus.DISPATCH_BLOCKED: ShipmentStatus.CANCELLED,
    YurticiOperationStatus.ALREADY_CANCELLED: ShipmentStatus.CANCELLED,
    YurticiOperationStatus.DELIVERED: ShipmentStatus.DELIVERED,
    YurticiOperationStatus.INVOICE_CANCELLED: ShipmentStatus.CANCELLED,
}

# rejectStatus 9 = return done, 10 = return closed; returnStatus 2 = delivered with a return
# invoice, 3 = returned to sender (the S-Y9 reading). Either overrides DLV.
RETURNED_REJECT_STATUSES = frozenset({"9", "10"})
RETURNED_RETURN_STATUSES = frozenset({"2", "3"})
# cargoEventId "YK" with one of these reasons: handed to the courier (out for delivery).
COURIER_REASONS = frozenset({"GOK", "KTN"})
TRANSFER_EVENT = "TX"  # devir: not delivered, waiting at the branch
PROBLEM_REASON = "AAS"


def operation_status(status: str | None, code: str | None) -> YurticiOperationStatus | None:
    value = (status or "").strip().upper()
    if value:
        try:
            return YurticiOperationStatus(value)
        except ValueError:
            log_unknown_code("yurtici", value)
            return None
    by_code = OPERATION_CODES.get((code or "").strip())
    if by_code is None and code:
        log_unknown_code("yurtici", f"operationCode={code}")
    return by_code


def unified_status(
    status: str | None,
    code: str | None = None,
    item: ShippingDeliveryItemDetailVO | None = None,
) -> ShipmentStatus:
    """The unified status of one detail record (an unknown code is logged once: ``unknown``)."""
    op = operation_status(status, code)
    if op is None:
        return ShipmentStatus.PENDING if not (status or code) else ShipmentStatus.UNKNOWN
    if item is not None and (
        (item.rejectStatus or "") in RETURNED_REJECT_STATUSES or (item.returnStatus or "") in RETURNED_RETURN_STATUSES
    ):
        return ShipmentStatus.RETURN_TO_SENDER
    unified = STATUS_TABLE[op]
    if op == YurticiOperationStatus.IN_DELIVERY_PROCESS and item is not None:
        event, reason = (item.cargoEventId or "").upper(), (item.cargoReasonId or "").upper()
        if event == "YK" and reason in COURIER_REASONS:
            return ShipmentStatus.OUT_FOR_DELIVERY
        if event == TRANSFER_EVENT:
            return ShipmentStatus.DELIVERY_FAILED
        if reason == PROBLEM_REASON:
            return ShipmentStatus.ON_HOLD
    return unified


def _when(date: str | None, time: str | None, field: str) -> datetime | None:
    try:
        return parse_yyyymmdd_hhmmss(date, time)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from exc


def _doc_id(item: ShippingDeliveryItemDetailVO | None) -> str | None:
    if item is None or not item.docId or set(item.docId) == {"0"}:
        return None
    return item.docId


def to_shipment(detail: ShippingDeliveryDetailVO, *, queried_key: str, raw: dict[str, Any] | None = None) -> Shipment:
    item = detail.shippingDeliveryItemDetailVO
    status = unified_status(detail.operationStatus, detail.operationCode, item)
    doc_id = _doc_id(item)
    events: list[ShipmentEvent] = []
    delivered_at = status_at = None
    delivered_to = tracking_url = None
    raw_text = detail.operationMessage
    if item is not None:
        for ev in item.invDocCargoVOArray:
            place = ev.unitName or ev.townName
            if ev.cityName and ev.townName and ev.unitName:
                place = f"{ev.unitName} ({ev.townName}/{ev.cityName})"
            events.append(ShipmentEvent(
                occurred_at=_when(ev.eventDate, ev.eventTime, "invDocCargoVOArray.eventDate"),
                location=place,
                description=ev.eventName or ev.reasonName or "",
                code=ev.eventId,
            ))
        events.sort(key=lambda e: e.occurred_at.timestamp() if e.occurred_at else 0.0)
        delivered_at = _when(item.deliveryDate, item.deliveryTime, "deliveryDate")
        if status == ShipmentStatus.DELIVERED:
            delivered_to = item.receiverInfo or item.receiverCustName
        else:
            delivered_at = None
        status_at = events[-1].occurred_at if events else None
        if status_at is None:
            status_at = delivered_at or _when(item.documentDate, item.documentTime, "documentDate")
        if status == ShipmentStatus.DELIVERED and delivered_at and (status_at is None or delivered_at > status_at):
            status_at = delivered_at
        tracking_url = item.trackingUrl or (TRACKING_URL.format(code=doc_id) if doc_id else None)
        if item.cargoEventExplanation and status != ShipmentStatus.PENDING:
            raw_text = f"{raw_text or ''} / {item.cargoEventExplanation}".strip(" /")
    code = detail.operationStatus or detail.operationCode
    if item is not None and status == ShipmentStatus.RETURN_TO_SENDER:
        code = f"{code}/rejectStatus={item.rejectStatus or ''}/returnStatus={item.returnStatus or ''}"
    return Shipment(
        carrier="yurtici",
        tracking_number=doc_id or queried_key,
        reference=detail.cargoKey or (item.cargoKey if item else None),
        status=status,
        raw_status_code=code,
        raw_status_text=raw_text,
        status_at=status_at,
        events=events,
        delivered_to=delivered_to,
        delivered_at=delivered_at,
        tracking_url=tracking_url,
        raw=raw,
    )
