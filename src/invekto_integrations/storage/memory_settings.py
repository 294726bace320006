"""In-memory tenant settings."""

from __future__ import annotations

import threading

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.settings import TenantSettings

from .protocols import TenantMismatch

__all__ = ["MemoryTenantSettings"]


class MemoryTenantSettings(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[str, TenantSettings] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> TenantSettings | None:
        return self._rows.get(tenant_id)

    def save(self, tenant_id: str, settings: TenantSettings) -> None:
        if settings.tenant_id != tenant_id:
            raise TenantMismatch("settings belong to another tenant")
        with self._lock:
            self._rows[tenant_id] = settings

    def tenants(self) -> list[str]:
        return sorted(self._rows)
