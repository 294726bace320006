"""Engines that join providers and storage: order sync, customer lookup, shipment watching, calendar sync."""

from .lookup import CustomerLookup, CustomerOrder, CustomerOrders, InvalidPhoneNumber
from .orders import (
    AccountSyncReport,
    AccountSyncStatus,
    OrderSyncEngine,
    ProgressCallback,
    QuarantineNote,
    SyncMode,
    SyncProgress,
    SyncRunReport,
    SyncSettings,
)

__all__ = [
    "AccountSyncReport",
    "AccountSyncStatus",
    "CustomerLookup",
    "CustomerOrder",
    "CustomerOrders",
    "InvalidPhoneNumber",
    "OrderSyncEngine",
    "ProgressCallback",
    "QuarantineNote",
    "SyncMode",
    "SyncProgress",
    "SyncRunReport",
    "SyncSettings",
]
