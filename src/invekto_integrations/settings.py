"""Per-tenant settings, the public front: the `TenantSettings` record, its repository protocol and
`tenant_settings` (stored settings or the defaults). See docs/settings.md."""

from invekto_integrations.models.settings import (
    DEFAULT_TIMEZONE,
    ConsentPolicy,
    FrequencyCap,
    Niche,
    QuietHours,
    QuietHoursWindow,
    TenantSettings,
)
from invekto_integrations.storage.settings import TenantSettingsRepository, tenant_settings

__all__ = [
    "DEFAULT_TIMEZONE",
    "ConsentPolicy",
    "FrequencyCap",
    "Niche",
    "QuietHours",
    "QuietHoursWindow",
    "TenantSettings",
    "TenantSettingsRepository",
    "tenant_settings",
]
