"""Engines that join providers and storage: order and claim sync, customer lookup, shipment watching,
calendar sync."""

from .claims import ClaimAccountReport, ClaimSyncEngine, ClaimSyncReport, ClaimSyncSettings
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
    "ClaimAccountReport",
    "ClaimSyncEngine",
    "ClaimSyncReport",
    "ClaimSyncSettings",
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
