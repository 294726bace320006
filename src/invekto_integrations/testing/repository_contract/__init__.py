"""The repository contract suite, shipped so that a caller's own store can run it.

Every test takes one fixture, ``store``: an object with the repositories of `storage.Store`
(a `MemoryStore`, a `SQLiteStore`, or your own). In your test module::

    import pytest
    from invekto_integrations.testing.repository_contract import *  # noqa: F403

    @pytest.fixture
    def store():
        s = MyPostgresStore(...)
        yield s
        s.close()

The built-in stores run it in this project's own tests (memory, SQLite in a temporary file and
on disk, PostgreSQL on a throwaway cluster). It covers accounts, checkpoints, quarantine, the
event log, the orders cache, the outbox (tenant checks and correlation counts), consents, return
claims, tenant settings, the clinic (appointments, doctors, service prices, waitlist and offers,
calendar sync state), the dashboard's cases, the attribution repositories (tracked-link codes
unique across tenants) and the campaign repositories, with tenant isolation throughout: every
write takes ``tenant_id`` and ids are unique per tenant.
"""

from .areas import (
    test_areas_attribution_keys_are_per_tenant,
    test_areas_campaign_keys_are_per_tenant,
    test_areas_dashboard_case_keys_are_per_tenant,
    test_areas_link_codes_are_unique_across_tenants,
    test_areas_writes_of_another_tenant,
)
from .clinic import (
    test_clinic_appointment_ids_are_per_tenant,
    test_clinic_book_if_free_refuses_overlap_per_doctor,
    test_clinic_buffer_blocks_following_time_and_cancelled_frees,
    test_clinic_calendar_sync_keys_are_per_tenant,
    test_clinic_doctors,
    test_clinic_find_filters_and_event_lookup,
    test_clinic_offers_one_pending_per_entry_and_cas,
    test_clinic_service_pricing_unique_active_name,
    test_clinic_update_is_compare_and_set_and_checks_overlap,
    test_clinic_waitlist_and_pricing_ids_are_per_tenant,
    test_clinic_waitlist_fair_order_and_status_cas,
    test_clinic_writes_of_another_tenant,
)
from .core import (
    test_accounts_round_trip_and_isolation,
    test_checkpoints,
    test_cursors_only_move_forward,
    test_event_ids_are_never_appended_twice,
    test_event_log_order_dedupe_and_isolation,
    test_events_round_trip_typed,
    test_quarantine,
)
from .ids import test_ids_are_per_tenant
from .isolation import (
    test_every_store_repository_has_isolation_cases,
    test_isolation_cases_cover_every_protocol_method,
    test_isolation_of_every_repository_method,
)
from .more import (
    test_calendar_conflict_ids_never_replace_a_row,
    test_outbox_grouped_counts,
    test_return_claims_upsert_find_and_isolation,
    test_tenant_settings_round_trip_and_isolation,
)
from .orders import (
    test_checkpoints_put_get_overwrite_and_isolation,
    test_ordercache_find_by_phone_newest_first_with_limit,
    test_ordercache_find_by_tracking_code,
    test_ordercache_get_many,
    test_ordercache_key_includes_provider_and_account,
    test_ordercache_order_twice_in_one_batch,
    test_ordercache_refuses_rows_of_another_tenant,
    test_ordercache_tenant_isolation,
    test_ordercache_update_keeps_id_and_created_at_and_refreshes_synced_at,
    test_ordercache_upsert_counts_inserted_updated_unchanged,
    test_quarantine_add_find_and_isolation,
)
from .tenants import (
    test_accounts_add_of_another_tenant,
    test_checkpoints_put_of_another_tenant,
    test_consents_upsert_of_another_tenant,
    test_outbox_writes_of_another_tenant,
    test_quarantine_add_of_another_tenant,
)

__all__ = [
    "test_accounts_add_of_another_tenant",
    "test_accounts_round_trip_and_isolation",
    "test_areas_attribution_keys_are_per_tenant",
    "test_areas_campaign_keys_are_per_tenant",
    "test_areas_dashboard_case_keys_are_per_tenant",
    "test_areas_link_codes_are_unique_across_tenants",
    "test_areas_writes_of_another_tenant",
    "test_calendar_conflict_ids_never_replace_a_row",
    "test_checkpoints",
    "test_checkpoints_put_get_overwrite_and_isolation",
    "test_checkpoints_put_of_another_tenant",
    "test_clinic_appointment_ids_are_per_tenant",
    "test_clinic_book_if_free_refuses_overlap_per_doctor",
    "test_clinic_buffer_blocks_following_time_and_cancelled_frees",
    "test_clinic_calendar_sync_keys_are_per_tenant",
    "test_clinic_doctors",
    "test_clinic_find_filters_and_event_lookup",
    "test_clinic_offers_one_pending_per_entry_and_cas",
    "test_clinic_service_pricing_unique_active_name",
    "test_clinic_update_is_compare_and_set_and_checks_overlap",
    "test_clinic_waitlist_and_pricing_ids_are_per_tenant",
    "test_clinic_waitlist_fair_order_and_status_cas",
    "test_clinic_writes_of_another_tenant",
    "test_consents_upsert_of_another_tenant",
    "test_cursors_only_move_forward",
    "test_event_ids_are_never_appended_twice",
    "test_event_log_order_dedupe_and_isolation",
    "test_events_round_trip_typed",
    "test_every_store_repository_has_isolation_cases",
    "test_ids_are_per_tenant",
    "test_isolation_cases_cover_every_protocol_method",
    "test_isolation_of_every_repository_method",
    "test_ordercache_find_by_phone_newest_first_with_limit",
    "test_ordercache_find_by_tracking_code",
    "test_ordercache_get_many",
    "test_ordercache_key_includes_provider_and_account",
    "test_ordercache_order_twice_in_one_batch",
    "test_ordercache_refuses_rows_of_another_tenant",
    "test_ordercache_tenant_isolation",
    "test_ordercache_update_keeps_id_and_created_at_and_refreshes_synced_at",
    "test_ordercache_upsert_counts_inserted_updated_unchanged",
    "test_outbox_grouped_counts",
    "test_outbox_writes_of_another_tenant",
    "test_quarantine",
    "test_quarantine_add_find_and_isolation",
    "test_quarantine_add_of_another_tenant",
    "test_return_claims_upsert_find_and_isolation",
    "test_tenant_settings_round_trip_and_isolation",
]
