"""What the attribution area needs from a store (both `MemoryStore` and `SQLiteStore` have it)."""

from __future__ import annotations

from typing import Protocol

from invekto_integrations.storage.protocols_attribution import (
    AdCacheRepository,
    AttributionReportQueries,
    CapiDeliveryRepository,
    ConversionRepository,
    LeadRepository,
    SpendRepository,
    TagRuleRepository,
    TouchRepository,
    TrackedLinkRepository,
)
from invekto_integrations.storage.settings import TenantSettingsRepository

__all__ = ["AttributionStore"]


class AttributionStore(Protocol):
    @property
    def tracked_links(self) -> TrackedLinkRepository: ...
    @property
    def touches(self) -> TouchRepository: ...
    @property
    def leads(self) -> LeadRepository: ...
    @property
    def conversions(self) -> ConversionRepository: ...
    @property
    def ad_spend(self) -> SpendRepository: ...
    @property
    def tag_rules(self) -> TagRuleRepository: ...
    @property
    def ad_cache(self) -> AdCacheRepository: ...
    @property
    def capi_deliveries(self) -> CapiDeliveryRepository: ...
    @property
    def attribution_reports(self) -> AttributionReportQueries: ...
    @property
    def tenant_settings(self) -> TenantSettingsRepository: ...
