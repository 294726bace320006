"""The tenant settings repository protocol (``tenant_settings``: one row per tenant)."""

from __future__ import annotations

from typing import Protocol

from invekto_integrations.models.settings import TenantSettings

__all__ = ["TenantSettingsRepository", "tenant_settings"]


class TenantSettingsRepository(Protocol):
    def get(self, tenant_id: str) -> TenantSettings | None: ...
    def save(self, tenant_id: str, settings: TenantSettings) -> None:
        """Insert or replace the tenant's settings (`TenantMismatch` for another tenant's record)."""
        ...

    def tenants(self) -> list[str]: ...


def tenant_settings(repository: TenantSettingsRepository | None, tenant_id: str) -> TenantSettings:
    """The tenant's stored settings, or the defaults when none are stored (or no repository is given)."""
    found = repository.get(tenant_id) if repository is not None else None
    return found if found is not None else TenantSettings(tenant_id=tenant_id)
