"""Ads attribution (issue 15): tracked WhatsApp links, Click-to-WhatsApp referrals, lead source,
auto-tagging, ad spend and cost per lead, conversions, funnel reports under several attribution
models, and conversions sent back to Meta. Domain logic only: no HTTP here (the ads provider and
the store are passed in). See docs/attribution.md.
"""

from __future__ import annotations

from ._store import AttributionStore
from .capi import AllowAll, ConsentCheck, ConversionsSender, OptOutConsent, SendReport, hash_phone
from .conversions import (
    AttributionEngine,
    AutomaticEventsResult,
    ConversionRecorder,
    lead_created_event,
    record_automatic_events,
    record_automatic_events_by_waba,
)
from .ctwa import AdResolver, ReferralInfo, referral_info
from .engines import ConversionsSendEngine, SpendPullEngine
from .leads import InboundTouch, LeadOutcome, LeadSettings, LeadTracker, OtherChannel
from .links import CODE_ALPHABET, CODE_LENGTH, DEFAULT_TEXT, create_link, find_link_in_text, new_code, record_click
from .reports import (
    DEFAULT_LOOKBACK,
    FunnelReport,
    FunnelRow,
    LeadsPerCampaignReport,
    LeadsPerCampaignRow,
    funnel,
    leads_per_campaign,
    local_bounds,
)
from .rules import (
    RULE_FIELDS,
    RULE_OPS,
    RetagChange,
    TagResult,
    apply_rules,
    lead_tagged_events,
    retag_leads,
    save_rule,
    validate_rule,
)
from .spend import (
    CSV_COLUMNS,
    CsvImportResult,
    CsvLineError,
    InsightsPullResult,
    add_manual_spend,
    import_spend_csv,
    pull_insights,
    rolling_window,
    spend_entry,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CSV_COLUMNS",
    "DEFAULT_LOOKBACK",
    "DEFAULT_TEXT",
    "RULE_FIELDS",
    "RULE_OPS",
    "AdResolver",
    "AllowAll",
    "AttributionEngine",
    "AttributionStore",
    "AutomaticEventsResult",
    "ConsentCheck",
    "ConversionRecorder",
    "ConversionsSendEngine",
    "ConversionsSender",
    "CsvImportResult",
    "CsvLineError",
    "FunnelReport",
    "FunnelRow",
    "InboundTouch",
    "InsightsPullResult",
    "LeadOutcome",
    "LeadSettings",
    "LeadTracker",
    "LeadsPerCampaignReport",
    "LeadsPerCampaignRow",
    "OptOutConsent",
    "OtherChannel",
    "ReferralInfo",
    "RetagChange",
    "SendReport",
    "SpendPullEngine",
    "TagResult",
    "add_manual_spend",
    "apply_rules",
    "create_link",
    "find_link_in_text",
    "funnel",
    "hash_phone",
    "import_spend_csv",
    "lead_created_event",
    "lead_tagged_events",
    "leads_per_campaign",
    "local_bounds",
    "new_code",
    "pull_insights",
    "record_automatic_events",
    "record_automatic_events_by_waba",
    "record_click",
    "referral_info",
    "retag_leads",
    "rolling_window",
    "save_rule",
    "spend_entry",
    "validate_rule",
]
