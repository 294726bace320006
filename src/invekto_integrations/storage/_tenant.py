"""The one tenant check every repository write makes before touching a row."""

from __future__ import annotations

from .protocols import TenantMismatch

__all__ = ["check_tenant"]


def check_tenant(tenant_id: str, record_tenant_id: str, what: str) -> None:
    """`TenantMismatch` unless the record handed to a ``tenant_id`` call belongs to that tenant."""
    if record_tenant_id != tenant_id:
        raise TenantMismatch(f"{what} belongs to tenant {record_tenant_id!r}, not {tenant_id!r}")
