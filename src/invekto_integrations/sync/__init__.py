"""Engines that join providers and storage: order sync and cross-platform customer lookup."""

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
