"""`PostgresStore`: the repositories over one PostgreSQL database (extra ``postgres``).

Every member of `storage.Store` is implemented on PostgreSQL (`PostgresStore.MISSING` is empty;
it stays as the place to name one a future area has not brought to PostgreSQL yet).
"""

from __future__ import annotations

import contextlib

from invekto_integrations.core.reprs import ConciseRepr

from ._db import PostgresDatabase, PostgresWakeups
from .api_tokens import PostgresApiTokens
from .appointments import (
    PostgresAppointments,
    PostgresDoctors,
    PostgresServicePricing,
    PostgresWaitlist,
    clinic_tables,
)
from .attribution import (
    PostgresAdCache,
    PostgresAttributionReports,
    PostgresCapiDeliveries,
    PostgresConversions,
    PostgresLeads,
    PostgresSpend,
    PostgresTagRules,
    PostgresTouches,
    PostgresTrackedLinks,
)
from .calendar import PostgresCalendarSync
from .core import (
    PostgresAccounts,
    PostgresCheckpoints,
    PostgresEventLog,
    PostgresOrderCache,
    PostgresQuarantine,
    PostgresReturnClaims,
    PostgresTenantSettings,
)
from .dashboard import PostgresReturnCases, PostgresReviewCases
from .messaging import PostgresConsentCache, PostgresMessagingContacts, PostgresOutbox
from .reports import PostgresReportReader
from .runtime import PostgresLeases, PostgresTimers
from .shipments import PostgresCargoNotifications, PostgresShipments

__all__ = ["PostgresStore"]


class PostgresStore(ConciseRepr, fields=("db.url",)):
    """Repositories over one PostgreSQL database, shared by any number of processes and hosts.

    ``url`` is a libpq URL (``postgresql://user:password@host:5432/db``); each repository applies
    its named migrations on construction (under an advisory lock, so processes may start together).
    ``schema``: keep every table in that schema (created if missing) instead of the user's default.
    """

    #: Repositories of `storage.Store` not implemented on PostgreSQL (none today).
    MISSING: tuple[str, ...] = ()

    def __init__(self, url: str, *, schema: str | None = None, min_connections: int = 1,
                 max_connections: int = 10) -> None:
        self.db = PostgresDatabase(url, schema=schema, min_size=min_connections, max_size=max_connections)
        try:
            self.accounts = PostgresAccounts(self.db)
            self.orders = PostgresOrderCache(self.db)
            self.checkpoints = PostgresCheckpoints(self.db)
            self.quarantine = PostgresQuarantine(self.db)
            self.events = PostgresEventLog(self.db)
            self.tenant_settings = PostgresTenantSettings(self.db)
            self.return_claims = PostgresReturnClaims(self.db)
            self.outbox = PostgresOutbox(self.db)
            self.consents = PostgresConsentCache(self.db)
            self.messaging_contacts = PostgresMessagingContacts(self.db)
            self.calendar_sync = PostgresCalendarSync(self.db)
            self.shipments = PostgresShipments(self.db)
            self.cargo_notifications = PostgresCargoNotifications(self.db)
            self.leases = PostgresLeases(self.db)
            self.timers = PostgresTimers(self.db)
            # dashboard cases
            self.return_cases = PostgresReturnCases(self.db)
            self.review_cases = PostgresReviewCases(self.db)
            # the clinic (before the report reader, which reads its tables)
            self.appointments = PostgresAppointments(self.db)
            self.doctors = PostgresDoctors(self.db)
            self.service_pricing = PostgresServicePricing(self.db)
            self.waitlist = PostgresWaitlist(self.db)
            self.reports = PostgresReportReader(self.db, clinic=clinic_tables(self.service_pricing))
            # attribution
            self.tracked_links = PostgresTrackedLinks(self.db)
            self.touches = PostgresTouches(self.db)
            self.leads = PostgresLeads(self.db)
            self.conversions = PostgresConversions(self.db)
            self.ad_spend = PostgresSpend(self.db)
            self.tag_rules = PostgresTagRules(self.db)
            self.ad_cache = PostgresAdCache(self.db)
            self.capi_deliveries = PostgresCapiDeliveries(self.db)
            self.attribution_reports = PostgresAttributionReports(self.db)
            # campaigns; imported here: the campaigns package imports messaging, which imports storage
            from .campaigns import (
                PostgresCampaignConversions,
                PostgresCampaigns,
                PostgresContactProfiles,
                PostgresRecipients,
            )

            self.campaigns = PostgresCampaigns(self.db)
            self.campaign_recipients = PostgresRecipients(self.db)
            self.campaign_conversions = PostgresCampaignConversions(self.db)
            self.contact_profiles = PostgresContactProfiles(self.db)
            # the service's API tokens (digests only)
            self.api_tokens = PostgresApiTokens(self.db)
        except BaseException:
            self.db.close()
            raise

    def wakeups(self) -> PostgresWakeups:
        """A ``LISTEN`` connection told of every new event, timer and outbox row (any process): an
        idle `Runtime` waits on it instead of only sleeping. Close it when done."""
        return self.db.wakeups()

    def atomic(self) -> contextlib.AbstractContextManager[object]:
        """One transaction on one pooled connection: every repository call made inside it on this
        thread commits or rolls back together."""
        return self.db.transaction()

    def close(self) -> None:
        self.db.close()
