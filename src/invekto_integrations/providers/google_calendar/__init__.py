"""Google Calendar API v3 connector: events (full and incremental sync), free/busy, push channels.

Account settings: ``auth`` (``oauth``, default, or ``service_account``), ``client_id`` (OAuth),
``client_email`` and ``subject`` (service account with domain-wide delegation: the Workspace user
to act as), ``token_uri`` (default Google's; the sandbox's ``<base_url>/token`` when a base URL is
given), ``scopes`` (default ``calendar.events``). Secrets: OAuth ``api_key`` = refresh token and
``api_secret`` = client secret; service account ``api_key`` = the private key PEM or the whole
JSON key file, ``extra["private_key_id"]`` optional. See docs/calendar.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers._common import connectors, lazy
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo, ProviderKind

from .auth import DEFAULT_SCOPES, GOOGLE_TOKEN_URI, GoogleAuth, GoogleCredentials
from .client import (
    API_PREFIX,
    GOOGLE_API_BASE_URL,
    AsyncGoogleCalendarClient,
    GoogleCalendarClient,
    GoogleCalendarEndpoints,
    default_retry,
)
from .mapping import (
    error_from_google,
    event_from_wire,
    event_id_for,
    event_to_wire,
    is_valid_event_id,
    parse_notification,
)

if TYPE_CHECKING:
    from invekto_integrations.providers.base import AsyncCalendar, Calendar

    # mypy checks that both clients satisfy the calendar protocols
    def _conforms(sync: GoogleCalendarClient, asyn: AsyncGoogleCalendarClient) -> tuple[Calendar, AsyncCalendar]:
        return sync, asyn

__all__ = [
    "API_PREFIX",
    "DEFAULT_SCOPES",
    "GOOGLE_API_BASE_URL",
    "GOOGLE_TOKEN_URI",
    "PROVIDER",
    "AsyncGoogleCalendarClient",
    "GoogleAuth",
    "GoogleCalendarClient",
    "GoogleCalendarEndpoints",
    "GoogleCredentials",
    "credentials_for",
    "default_retry",
    "error_from_google",
    "event_from_wire",
    "event_id_for",
    "event_to_wire",
    "is_valid_event_id",
    "parse_notification",
]


def credentials_for(account: IntegrationAccount, credentials: Credentials,
                    options: ConnectOptions | None = None) -> GoogleCredentials:
    """The `GoogleCredentials` of an account (settings + secrets)."""
    s = account.settings
    token_uri = str(s.get("token_uri") or "")
    if not token_uri:
        token_uri = f"{options.base_url.rstrip('/')}/token" if options and options.base_url else GOOGLE_TOKEN_URI
    raw_scopes = s.get("scopes") or DEFAULT_SCOPES
    scopes = tuple(str(x) for x in (raw_scopes.split() if isinstance(raw_scopes, str) else raw_scopes))
    kind = str(s.get("auth", "oauth"))
    if kind == "service_account":
        key = credentials.api_key.get_secret_value()
        subject = str(s["subject"]) if s.get("subject") else None
        if key.lstrip().startswith("{"):
            return GoogleCredentials.service_account_info(key, subject=subject, token_uri=token_uri, scopes=scopes)
        if not s.get("client_email"):
            raise ConfigurationError("google_calendar: a service account needs settings['client_email']")
        key_id = credentials.extra.get("private_key_id")
        return GoogleCredentials.service_account(
            str(s["client_email"]), credentials.api_key, subject=subject, token_uri=token_uri, scopes=scopes,
            private_key_id=key_id.get_secret_value() if key_id else None)
    if kind != "oauth":
        raise ConfigurationError(f"google_calendar: unknown auth kind {kind!r} (oauth or service_account)")
    if credentials.api_secret is None or not s.get("client_id"):
        raise ConfigurationError("google_calendar: OAuth needs settings['client_id'] and the client secret")
    return GoogleCredentials.oauth(str(s["client_id"]), credentials.api_secret, credentials.api_key,
                                   token_uri=token_uri, scopes=scopes)


def _kwargs(account: IntegrationAccount, credentials: Credentials, options: ConnectOptions) -> dict[str, Any]:
    return {"credentials": credentials_for(account, credentials, options), "base_url": options.base_url,
            "clock": options.clock, "retry": options.retry, "limiter_registry": options.limiter_registry,
            "timeout": options.timeout, "rate_limit": options.rate_limit}


_connect, _connect_async = connectors(GoogleCalendarClient, AsyncGoogleCalendarClient, _kwargs)
_fake = lazy("invekto_integrations.testing.sandbox.fakes.google_calendar", "GoogleCalendarFake")
_contract = lazy("invekto_integrations.testing.contracts.google_calendar", "GoogleCalendarContract")


PROVIDER = ProviderInfo(
    name="google_calendar",
    kind=ProviderKind.CALENDAR,
    label="Google Calendar",
    docs_url="https://developers.google.com/calendar/api/v3/reference",
    connect=_connect,
    connect_async=_connect_async,
    fake=_fake,
    contract=_contract,
    settings_keys=("auth", "client_id", "client_email", "subject", "token_uri", "scopes", "calendar_id"),
    secret_keys=("api_key", "api_secret", "private_key_id"),
)
