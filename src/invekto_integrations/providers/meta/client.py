"""Meta Graph / Marketing API endpoints, described once, and the thin sync and async clients.

    GET  /{v}/me/adaccounts                          the ad accounts the token can read
    GET  /{v}/{ad-id}?fields=...                     an ad with its ad set and campaign
    GET  /{v}/act_{account}/insights                 spend per day and level (cursor paging)
    POST /{v}/act_{account}/insights                 start an async report run → report_run_id
    GET  /{v}/{report-run-id}                        async_status, async_percent_completion
    GET  /{v}/{report-run-id}/insights               the run's rows (cursor paging)
    POST /{v}/{waba-id}/dataset                      create or get the WABA's dataset
    POST /{v}/{dataset-id}/events                    Conversions API for business messaging

Docs: https://developers.facebook.com/docs/marketing-api/insights and
https://developers.facebook.com/docs/marketing-api/conversions-api/business-messaging/
Events are deduplicated by Meta on (event_name, event_id), so sending them is safe to repeat.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.http import AsyncRunner, Call, SyncRunner
from invekto_integrations.core.paging import Page, aiter_items, iter_items
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.ads import (
    AdAccount,
    AdInfo,
    AdsLevel,
    ConversionEvent,
    ConversionsResult,
    InsightsRow,
    ReportRun,
    ReportRunStatus,
)
from invekto_integrations.providers._common import AsyncConnector, ProviderDefaults, SyncConnector, check_identifier
from invekto_integrations.providers.base import Environment

from .mapping import PROVIDER, ad_info, error_from_meta, insights_row, usage_retry_after
from .wire import (
    WireAd,
    WireAdAccount,
    WireDataset,
    WireErrorBody,
    WireEventsResponse,
    WireInsightsPage,
    WireReportRun,
    WireReportRunStarted,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "GRAPH_BASE_URL",
    "INSIGHTS_FIELDS",
    "MAX_EVENTS_PER_REQUEST",
    "AsyncMetaClient",
    "MetaClient",
    "MetaEndpoints",
    "MetaSettings",
    "event_payload",
]

GRAPH_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v25.0"
MAX_EVENTS_PER_REQUEST = 1000
INSIGHTS_FIELDS = ("campaign_id,campaign_name,adset_id,adset_name,ad_id,ad_name,spend,impressions,clicks,"
                   "actions,account_currency")
_AD_FIELDS = "id,name,adset_id,campaign_id,account_id,adset{name},campaign{name}"
_ALL_ERRORS = frozenset(range(400, 600))
# Graph's limits are usage-based (X-Business-Use-Case-Usage), not a published rate; this pacing
# keeps a burst of lookups well inside them (a choice, see docs/attribution.md).
DEFAULTS = ProviderDefaults(
    provider=PROVIDER,
    hosts={Environment.PRODUCTION.value: GRAPH_BASE_URL, Environment.TEST.value: GRAPH_BASE_URL},
    rate_limit=RateLimit(20, 1.0),
)


@dataclass(frozen=True)
class MetaSettings:
    """The Graph API version to call (pin one; Meta retires versions after about two years)."""

    api_version: str = DEFAULT_API_VERSION


class BearerToken(httpx.Auth):
    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(***)"


def _raise_for_graph(response: httpx.Response, operation: str, record: str | None = None) -> None:
    if response.is_success:
        return
    code: int | str | None = None
    subcode: int | str | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    request_id = response.headers.get("x-fb-trace-id")
    try:
        body = WireErrorBody.model_validate(response.json())
        code, subcode = body.error.code, body.error.error_subcode
        message = body.error.message or message
        request_id = body.error.fbtrace_id or request_id
    except ValueError:
        pass
    raise error_from_meta(http_status=response.status_code, code=code, subcode=subcode, message=message,
                          operation=operation, request_id=request_id, record=record,
                          retry_after=usage_retry_after(response.headers.get("x-business-use-case-usage")))


def _account(ad_account_id: str) -> str:
    account = check_identifier(PROVIDER, "ad_account_id", ad_account_id)
    return account if account.startswith("act_") else f"act_{account}"


def _range(since: date, until: date) -> str:
    if until < since:
        raise InvalidArgument(f"until {until} is before since {since}", provider=PROVIDER, field="until")
    return json.dumps({"since": since.isoformat(), "until": until.isoformat()}, separators=(",", ":"))


def event_payload(event: ConversionEvent, *, waba_id: str | None = None) -> dict[str, Any]:
    """One ``data[]`` item of ``POST /{dataset-id}/events`` (business messaging)."""
    if event.event_name == "Purchase" and (event.value is None or not event.currency):
        raise InvalidArgument("a Purchase needs value and currency", provider=PROVIDER, field="value",
                              record=event.event_id)
    user: dict[str, Any] = {}
    wabaid = event.whatsapp_business_account_id or waba_id
    if wabaid:
        user["whatsapp_business_account_id"] = wabaid
    if event.ctwa_clid:
        user["ctwa_clid"] = event.ctwa_clid
    if event.hashed_phones:
        user["ph"] = list(event.hashed_phones)
    item: dict[str, Any] = {
        "event_name": event.event_name,
        "event_time": int(event.event_time.timestamp()),
        "event_id": event.event_id,
        "action_source": "business_messaging",
        "messaging_channel": event.messaging_channel,
        "user_data": user,
    }
    custom = dict(event.custom_data)
    if event.value is not None:
        custom["value"] = float(event.value)  # JSON number, as documented
        custom["currency"] = (event.currency or "TRY").upper()
    if custom:
        item["custom_data"] = custom
    return item


class MetaEndpoints(ConciseRepr):
    """Request builders and parsers; no I/O (the clients run them)."""

    def __init__(self, settings: MetaSettings) -> None:
        self.settings = settings

    def _path(self, *parts: str) -> str:
        return "/" + "/".join((self.settings.api_version, *parts))

    def list_ad_accounts(self, *, limit: int = 100, after: str | None = None) -> Call[Page[AdAccount]]:
        """One page of ``GET /me/adaccounts`` (the ad accounts the token can read)."""
        def parse(response: httpx.Response) -> Page[AdAccount]:
            _raise_for_graph(response, "list_ad_accounts")
            body = WireInsightsPage.model_validate(response.json())
            items = []
            for raw in body.data:
                w = WireAdAccount.model_validate(raw)
                items.append(AdAccount(id=w.id, name=w.name, currency=w.currency, timezone=w.timezone_name))
            cursor = body.paging.cursors.after if body.paging and body.paging.cursors else None
            more = bool(body.paging and body.paging.next) and cursor is not None and bool(items)
            return Page(items=items, next_call=self.list_ad_accounts(limit=limit, after=cursor) if more else None)

        return Call("list_ad_accounts", "GET", self._path("me", "adaccounts"), parse,
                    params={"fields": "id,name,currency,timezone_name", "limit": limit, "after": after},
                    ok_statuses=_ALL_ERRORS)

    def get_ad(self, ad_id: str) -> Call[AdInfo]:
        ad = check_identifier(PROVIDER, "ad_id", ad_id)

        def parse(response: httpx.Response) -> AdInfo:
            _raise_for_graph(response, "get_ad", ad)
            return ad_info(WireAd.model_validate(response.json()))

        return Call("get_ad", "GET", self._path(ad), parse, params={"fields": _AD_FIELDS}, ok_statuses=_ALL_ERRORS,
                    record=ad)

    def _insights_page(self, operation: str, path: str, params: dict[str, Any], level: AdsLevel,
                       after: str | None) -> Call[Page[InsightsRow]]:
        def parse(response: httpx.Response) -> Page[InsightsRow]:
            _raise_for_graph(response, operation)
            body = WireInsightsPage.model_validate(response.json())
            items = [insights_row(raw, level) for raw in body.data]
            cursor = body.paging.cursors.after if body.paging and body.paging.cursors else None
            more = bool(body.paging and body.paging.next) and cursor is not None and bool(items)
            nxt = self._insights_page(operation, path, params, level, cursor) if more else None
            return Page(items=items, next_call=nxt, info={"after": cursor})

        return Call(operation, "GET", path, parse, params={**params, "after": after}, ok_statuses=_ALL_ERRORS)

    def _insights_params(self, since: date, until: date, level: AdsLevel, limit: int) -> dict[str, Any]:
        return {"level": level.value, "fields": INSIGHTS_FIELDS, "time_range": _range(since, until),
                "time_increment": 1, "limit": limit}

    def insights(self, ad_account_id: str, since: date, until: date, *, level: AdsLevel = AdsLevel.AD,
                 limit: int = 500, after: str | None = None) -> Call[Page[InsightsRow]]:
        """One page of daily rows (``time_increment=1``) of ``level`` in [since, until] (account days)."""
        return self._insights_page("insights", self._path(_account(ad_account_id), "insights"),
                                   self._insights_params(since, until, level, limit), level, after)

    def start_report_run(self, ad_account_id: str, since: date, until: date, *,
                         level: AdsLevel = AdsLevel.AD) -> Call[str]:
        """Start an async Insights report (long ranges); returns the ``report_run_id``."""
        def parse(response: httpx.Response) -> str:
            _raise_for_graph(response, "start_report_run")
            return WireReportRunStarted.model_validate(response.json()).report_run_id

        params = self._insights_params(since, until, level, 500)
        params.pop("limit")
        return Call("start_report_run", "POST", self._path(_account(ad_account_id), "insights"), parse,
                    params=params, ok_statuses=_ALL_ERRORS, idempotent=False)

    def get_report_run(self, run_id: str) -> Call[ReportRun]:
        run = check_identifier(PROVIDER, "report_run_id", run_id)

        def parse(response: httpx.Response) -> ReportRun:
            _raise_for_graph(response, "get_report_run", run)
            w = WireReportRun.model_validate(response.json())
            return ReportRun(id=w.id, status=ReportRunStatus.parse(w.async_status),
                             percent=w.async_percent_completion or 0)

        return Call("get_report_run", "GET", self._path(run), parse,
                    params={"fields": "id,async_status,async_percent_completion"}, ok_statuses=_ALL_ERRORS,
                    record=run)

    def report_run_insights(self, run_id: str, *, level: AdsLevel = AdsLevel.AD, limit: int = 500,
                            after: str | None = None) -> Call[Page[InsightsRow]]:
        run = check_identifier(PROVIDER, "report_run_id", run_id)
        return self._insights_page("report_run_insights", self._path(run, "insights"), {"limit": limit}, level,
                                   after)

    def create_dataset(self, waba_id: str) -> Call[str]:
        """The WABA's dataset id (created, or the existing one returned)."""
        waba = check_identifier(PROVIDER, "waba_id", waba_id)

        def parse(response: httpx.Response) -> str:
            _raise_for_graph(response, "create_dataset", waba)
            return WireDataset.model_validate(response.json()).id

        return Call("create_dataset", "POST", self._path(waba, "dataset"), parse, ok_statuses=_ALL_ERRORS,
                    idempotent=True)

    def send_events(self, dataset_id: str, events: Sequence[ConversionEvent], *, waba_id: str | None = None,
                    test_event_code: str | None = None, partner_agent: str | None = None) -> Call[ConversionsResult]:
        """``POST /{dataset-id}/events`` with up to 1,000 events; repeating it is safe (event_id)."""
        dataset = check_identifier(PROVIDER, "dataset_id", dataset_id)
        if not events:
            raise InvalidArgument("no events to send", provider=PROVIDER, field="events")
        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise InvalidArgument(f"at most {MAX_EVENTS_PER_REQUEST} events per request, got {len(events)}",
                                  provider=PROVIDER, field="events")
        body: dict[str, Any] = {"data": [event_payload(e, waba_id=waba_id) for e in events]}
        if partner_agent:
            body["partner_agent"] = partner_agent
        if test_event_code:
            body["test_event_code"] = test_event_code

        def parse(response: httpx.Response) -> ConversionsResult:
            _raise_for_graph(response, "send_events")
            w = WireEventsResponse.model_validate(response.json())
            return ConversionsResult(events_received=w.events_received,
                                     messages=tuple(str(m) for m in w.messages or ()), fbtrace_id=w.fbtrace_id)

        return Call("send_events", "POST", self._path(dataset, "events"), parse, json=body,
                    ok_statuses=_ALL_ERRORS, idempotent=True)


class MetaClient(SyncConnector):
    """Sync Meta connector (implements `providers.base.AdsProvider`)."""

    provider = PROVIDER

    def __init__(self, token: SecretStr, settings: MetaSettings | None = None, *, base_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry | None = None,
                 timeout: float | None = None, rate_limit: RateLimit | None = None,
                 environment: Environment | str = Environment.PRODUCTION, account_key: str = "default") -> None:
        self.clock = clock or SystemClock()
        self.settings = settings or MetaSettings()
        self.endpoints = MetaEndpoints(self.settings)
        config = DEFAULTS.config(account_key=account_key, auth=BearerToken(token), environment=environment,
                                 base_url=base_url, clock=self.clock, retry=retry, limiter_registry=limiter_registry,
                                 timeout=timeout, rate_limit=rate_limit)
        self._runner = SyncRunner(config, transport=transport)

    def list_ad_accounts(self) -> list[AdAccount]:
        """Every ad account the token can read (``GET /me/adaccounts``, paged to the end)."""
        return list(iter_items(self._runner.run, self.endpoints.list_ad_accounts()))

    def get_ad(self, ad_id: str) -> AdInfo:
        """The ad with its ad set and campaign. Raises `PermissionDenied`/`InvalidParameter` (code
        10/100) when the token cannot read the ad's account, `NotFound` for an unknown id."""
        return self._runner.run(self.endpoints.get_ad(ad_id))

    def insights(self, ad_account_id: str, since: date, until: date, *, level: AdsLevel = AdsLevel.AD,
                 limit: int = 500, after: str | None = None) -> Page[InsightsRow]:
        return self._runner.run(self.endpoints.insights(ad_account_id, since, until, level=level, limit=limit,
                                                        after=after))

    def iter_insights(self, ad_account_id: str, since: date, until: date, *, level: AdsLevel = AdsLevel.AD,
                      limit: int = 500) -> Iterator[InsightsRow]:
        """Every daily row, following ``paging.cursors.after`` to the end."""
        return iter_items(self._runner.run, self.endpoints.insights(ad_account_id, since, until, level=level,
                                                                    limit=limit))

    def start_report_run(self, ad_account_id: str, since: date, until: date, *,
                         level: AdsLevel = AdsLevel.AD) -> str:
        return self._runner.run(self.endpoints.start_report_run(ad_account_id, since, until, level=level))

    def get_report_run(self, run_id: str) -> ReportRun:
        return self._runner.run(self.endpoints.get_report_run(run_id))

    def iter_report_run_insights(self, run_id: str, *, level: AdsLevel = AdsLevel.AD,
                                 limit: int = 500) -> Iterator[InsightsRow]:
        return iter_items(self._runner.run, self.endpoints.report_run_insights(run_id, level=level, limit=limit))

    def create_dataset(self, waba_id: str) -> str:
        return self._runner.run(self.endpoints.create_dataset(waba_id))

    def send_events(self, dataset_id: str, events: Sequence[ConversionEvent], *, waba_id: str | None = None,
                    test_event_code: str | None = None, partner_agent: str | None = None) -> ConversionsResult:
        """Send conversion events (business messaging). Raises `InvalidParameter` (code 100, e.g.
        subcode 2804066 for an event name outside the allowlist), `RateLimited`, ..."""
        return self._runner.run(self.endpoints.send_events(dataset_id, events, waba_id=waba_id,
                                                           test_event_code=test_event_code,
                                                           partner_agent=partner_agent))


class AsyncMetaClient(AsyncConnector):
    """Async twin of `MetaClient` (same methods, awaited)."""

    provider = PROVIDER

    def __init__(self, token: SecretStr, settings: MetaSettings | None = None, *, base_url: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, clock: Clock | None = None,
                 retry: RetryPolicy | None = None, limiter_registry: RateLimiterRegistry | None = None,
                 timeout: float | None = None, rate_limit: RateLimit | None = None,
                 environment: Environment | str = Environment.PRODUCTION, account_key: str = "default") -> None:
        self.clock = clock or SystemClock()
        self.settings = settings or MetaSettings()
        self.endpoints = MetaEndpoints(self.settings)
        config = DEFAULTS.config(account_key=account_key, auth=BearerToken(token), environment=environment,
                                 base_url=base_url, clock=self.clock, retry=retry, limiter_registry=limiter_registry,
                                 timeout=timeout, rate_limit=rate_limit)
        self._runner = AsyncRunner(config, transport=transport)

    async def list_ad_accounts(self) -> list[AdAccount]:
        return [a async for a in aiter_items(self._runner.run, self.endpoints.list_ad_accounts())]

    async def get_ad(self, ad_id: str) -> AdInfo:
        return await self._runner.run(self.endpoints.get_ad(ad_id))

    async def insights(self, ad_account_id: str, since: date, until: date, *, level: AdsLevel = AdsLevel.AD,
                       limit: int = 500, after: str | None = None) -> Page[InsightsRow]:
        return await self._runner.run(self.endpoints.insights(ad_account_id, since, until, level=level, limit=limit,
                                                              after=after))

    def iter_insights(self, ad_account_id: str, since: date, until: date, *, level: AdsLevel = AdsLevel.AD,
                      limit: int = 500) -> AsyncIterator[InsightsRow]:
        return aiter_items(self._runner.run, self.endpoints.insights(ad_account_id, since, until, level=level,
                                                                     limit=limit))

    async def start_report_run(self, ad_account_id: str, since: date, until: date, *,
                               level: AdsLevel = AdsLevel.AD) -> str:
        return await self._runner.run(self.endpoints.start_report_run(ad_account_id, since, until, level=level))

    async def get_report_run(self, run_id: str) -> ReportRun:
        return await self._runner.run(self.endpoints.get_report_run(run_id))

    def iter_report_run_insights(self, run_id: str, *, level: AdsLevel = AdsLevel.AD,
                                 limit: int = 500) -> AsyncIterator[InsightsRow]:
        return aiter_items(self._runner.run, self.endpoints.report_run_insights(run_id, level=level, limit=limit))

    async def create_dataset(self, waba_id: str) -> str:
        return await self._runner.run(self.endpoints.create_dataset(waba_id))

    async def send_events(self, dataset_id: str, events: Sequence[ConversionEvent], *, waba_id: str | None = None,
                          test_event_code: str | None = None,
                          partner_agent: str | None = None) -> ConversionsResult:
        return await self._runner.run(self.endpoints.send_events(dataset_id, events, waba_id=waba_id,
                                                                 test_event_code=test_event_code,
                                                                 partner_agent=partner_agent))
