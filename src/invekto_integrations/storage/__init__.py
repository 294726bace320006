"""Repositories: protocols, an in-memory and a SQLite implementation."""

from .memory import MemoryStore
from .protocols import (
    AccountRepository,
    CheckpointRepository,
    EventLog,
    OrderCacheRepository,
    QuarantineRepository,
    UpsertResult,
)
from .records import CachedOrder, Checkpoint, QuarantinedRecord, StoredEvent
from .sqlite import SQLiteStore
from .store import Store

__all__ = [
    "AccountRepository",
    "CachedOrder",
    "Checkpoint",
    "CheckpointRepository",
    "EventLog",
    "MemoryStore",
    "OrderCacheRepository",
    "QuarantineRepository",
    "QuarantinedRecord",
    "SQLiteStore",
    "Store",
    "StoredEvent",
    "UpsertResult",
]
