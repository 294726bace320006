"""`PostgresStore`: the repositories over one PostgreSQL database (extra ``postgres``).

Implemented: accounts, orders, checkpoints, quarantine, events, tenant_settings, return_claims,
outbox, consents, messaging_contacts, calendar_sync, shipments, cargo_notifications,
leases, timers. The other members of `storage.Store` are not
implemented on PostgreSQL yet: reading one raises `ConfigurationError` naming it (never a silent
in-memory stand-in), and `PostgresStore.MISSING` lists them.
"""

from __future__ import annotations

import contextlib

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.protocols import (
    AppointmentRepository,
    DoctorRepository,
    ServicePricingRepository,
    WaitlistRepository,
)

from ._db import PostgresDatabase, PostgresWakeups
from .api_tokens import PostgresApiTokens
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


def _missing(name: str) -> ConfigurationError:
    return ConfigurationError(
        f"PostgresStore has no {name!r} repository yet (not implemented on PostgreSQL); "
        "use SQLiteStore for this area, see docs/postgres.md"
    )


class PostgresStore(ConciseRepr, fields=("db.url",)):
    """Repositories over one PostgreSQL database, shared by any number of processes and hosts.

    ``url`` is a libpq URL (``postgresql://user:password@host:5432/db``); each repository applies
    its named migrations on construction (under an advisory lock, so processes may start together).
    ``schema``: keep every table in that schema (created if missing) instead of the user's default.
    """

    MISSING: tuple[str, ...] = (
        "appointments",
        "doctors",
        "service_pricing",
        "waitlist",
    )

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
            self.reports = PostgresReportReader(self.db)
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

    # -- not implemented on PostgreSQL yet ----------------------------------------------------
    @property
    def appointments(self) -> AppointmentRepository:
        raise _missing("appointments")

    @property
    def doctors(self) -> DoctorRepository:
        raise _missing("doctors")

    @property
    def service_pricing(self) -> ServicePricingRepository:
        raise _missing("service_pricing")

    @property
    def waitlist(self) -> WaitlistRepository:
        raise _missing("waitlist")

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
