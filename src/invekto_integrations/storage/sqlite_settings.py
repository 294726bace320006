"""SQLite tenant settings (table ``tenant_settings``: one JSON document per tenant)."""

from __future__ import annotations

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.settings import TenantSettings

from ._sqlite_db import SQLiteDatabase
from .protocols import TenantMismatch

__all__ = ["SQLiteTenantSettings"]


class SQLiteTenantSettings(ConciseRepr, fields=("db",)):
    # One JSON document per tenant: settings are read whole and change shape as areas add fields
    # (new fields get their defaults when an older document is read).
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "settings_0001_tenant_settings",
            ["""CREATE TABLE tenant_settings (
                    tenant_id TEXT PRIMARY KEY, settings_json TEXT NOT NULL, updated_at TEXT)"""],
        )

    def get(self, tenant_id: str) -> TenantSettings | None:
        r = self.db.execute("SELECT settings_json FROM tenant_settings WHERE tenant_id = ?", (tenant_id,)).fetchone()
        return TenantSettings.model_validate_json(r[0]) if r else None

    def save(self, tenant_id: str, settings: TenantSettings) -> None:
        if settings.tenant_id != tenant_id:
            raise TenantMismatch("settings belong to another tenant")
        updated = settings.updated_at.isoformat() if settings.updated_at else None
        self.db.execute(
            "INSERT INTO tenant_settings (tenant_id, settings_json, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant_id) DO UPDATE SET settings_json = excluded.settings_json, "
            "updated_at = excluded.updated_at", (tenant_id, settings.model_dump_json(), updated))

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT tenant_id FROM tenant_settings ORDER BY 1")]
