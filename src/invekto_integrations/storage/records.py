"""Rows the repositories store, as pydantic models (the shapes both implementations agree on)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CachedOrder", "Checkpoint", "QuarantinedRecord", "StoredEvent"]


class CachedOrder(BaseModel):
    """A row of ``orders_cache``: one marketplace order (or package) of one tenant's account."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: str
    account_id: str
    external_order_id: str
    customer_phone: str | None = None
    tracking_code: str | None = None
    order_status: str
    ordered_at: datetime
    order_data_json: str
    raw_json: str | None = None
    content_hash: str
    synced_at: datetime
    created_at: datetime


class Checkpoint(BaseModel):
    """Where an incremental sync of one (tenant, account, stream) got to."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    account_id: str
    stream: str
    position: datetime | None = None
    cursor: str | None = None
    updated_at: datetime


class StoredEvent(BaseModel):
    """A domain event as the log holds it; ``seq`` orders a tenant's events."""

    model_config = ConfigDict(frozen=True)

    seq: int
    event_id: str
    tenant_id: str
    type: str
    version: int
    occurred_at: datetime
    recorded_at: datetime
    dedupe_key: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class QuarantinedRecord(BaseModel):
    """A provider record that failed validation, kept whole with the reason (nothing is lost)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    provider: str
    account_id: str
    record_id: str | None
    field: str | None
    error: str
    raw_json: str
    created_at: datetime
