"""A fake Meta Graph / Marketing API built from the documented wire format (docs/attribution.md).

- Auth: ``Authorization: Bearer <token>`` or ``?access_token=``; a token belongs to one ad account
  (``act_...``). A bad token answers 401 with Graph error 190.
- ``GET /{v}/{id}``: an ad (``fields=id,name,adset_id,campaign_id,account_id,adset{name},campaign{name}``)
  or an async report run (``id,async_status,async_percent_completion``). An ad of another account, or
  an unknown id, answers code 100 / subcode 33; ids in `unreadable_ads` answer code 10 (permission).
- ``GET /{v}/act_{id}/insights``: daily rows (``time_increment=1``) at ``level`` ad/adset/campaign in
  ``time_range``, metrics as strings, cursor paging (``paging.cursors.after`` + ``paging.next``).
- ``POST /{v}/act_{id}/insights``: ``{"report_run_id"}``; each poll of the run advances it
  (Not Started → Running → Completed, `report_polls` reads); ``GET /{v}/{run}/insights`` pages its rows.
- ``POST /{v}/{waba}/dataset``: creates or returns the WABA's dataset id.
- ``POST /{v}/{dataset}/events``: the Conversions API for business messaging; checks
  ``action_source``/``messaging_channel``/event-name allowlist (code 100, subcode 2804066),
  ``event_time`` (seconds, not future, not older than 7 days), Purchase value + currency; keeps one
  copy per (event_name, event_id) (`received_events`) and answers ``events_received``.
- Errors are Graph bodies ``{"error":{message,type,code,error_subcode,fbtrace_id}}``; throttling is
  HTTP 400 code 17 with ``X-Business-Use-Case-Usage`` (``estimated_time_to_regain_access`` minutes);
  server errors are HTTP 500 code 2 ``is_transient``.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.testing.sandbox import FakeProvider

__all__ = ["FakeAd", "MetaFake"]

_VERSION = re.compile(r"^v\d+\.\d+$")
_ALLOWED_EVENTS = frozenset({
    # confirmed on Meta pages
    "Purchase", "LeadSubmitted",
    # reported accepted by SDKs (unverified; the fake accepts them)
    "AddToCart", "InitiateCheckout", "ViewContent", "QualifiedLead", "OrderCreated", "OrderShipped",
    "OrderDelivered", "OrderCanceled", "OrderReturned", "CartAbandoned",
})
_CHANNELS = frozenset({"whatsapp", "messenger", "instagram"})
_MAX_AGE = timedelta(days=7)


@dataclass
class FakeAd:
    ad_id: str
    name: str
    adset_id: str
    adset_name: str
    campaign_id: str
    campaign_name: str
    daily_spend: Decimal = Decimal("100.00")  # default spend of each day (overridable per day)


@dataclass
class _Run:
    run_id: str
    level: str
    since: date
    until: date
    polls: int = 0


@dataclass
class _Account:
    account_id: str  # act_...
    ads: dict[str, FakeAd] = field(default_factory=dict)
    spend: dict[tuple[str, date], Decimal] = field(default_factory=dict)  # (ad_id, day) -> spend
    first_day: date = date(2026, 1, 1)
    runs: dict[str, _Run] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)  # waba -> dataset


def _seed_ads(account: str) -> list[FakeAd]:
    if account == "act_1001":
        return [
            FakeAd("120210000000000000", "Kış-Video-1", "120201000000000001", "İstanbul 25-45",
                   "120200000000000001", "Kış Kampanyası", Decimal("150.00")),
            FakeAd("120210000000000001", "Kış-Görsel-2", "120201000000000001", "İstanbul 25-45",
                   "120200000000000001", "Kış Kampanyası", Decimal("50.00")),
            FakeAd("120210000000000002", "İmplant-Video", "120201000000000002", "Ankara 30-55",
                   "120200000000000002", "İmplant Kampanyası", Decimal("200.00")),
        ]
    return [FakeAd("220210000000000000", "Bahar-1", "220201000000000001", "İzmir", "220200000000000001",
                   "Bahar Kampanyası", Decimal("75.00"))]


def _error(status: int, code: int, message: str, *, subcode: int | None = None, kind: str = "OAuthException",
           transient: bool | None = None, headers: dict[str, str] | None = None,
           trace: str = "AbCdEfSandbox") -> Response:
    err: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": trace}
    if subcode is not None:
        err["error_subcode"] = subcode
    if transient is not None:
        err["is_transient"] = transient
    return JSONResponse({"error": err}, status_code=status, headers=headers)


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError):
        return -1


class MetaFake(FakeProvider):
    name: ClassVar[str] = "meta"
    # Graph limits are usage-based; the fake's limit matches the client's pacing (docs/attribution.md).
    published_rate_limit: ClassVar[RateLimit | None] = RateLimit(20, 1.0)

    def __init__(self, *, tokens: dict[str, str] | None = None, report_polls: int = 2, **kw: Any) -> None:
        super().__init__(**kw)
        self.tokens = tokens or {"meta-token-a": "act_1001", "meta-token-b": "act_2002"}
        self.report_polls = report_polls
        self.unreadable_ads: set[str] = set()
        self.accounts = self.per_account(self._new_account)
        self._init_state()

    def _init_state(self) -> None:
        self.received_events: dict[str, list[dict[str, Any]]] = {}  # dataset -> unique events
        self._event_keys: set[tuple[str, str, str]] = set()
        self._seq = 0

    def _new_account(self, account: str) -> _Account:
        state = _Account(account_id=account)
        for ad in _seed_ads(account):
            state.ads[ad.ad_id] = ad
        return state

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.unreadable_ads.clear()
            self._init_state()

    def next_id(self, prefix: int) -> str:
        """A fresh numeric id (Graph ids are digit strings)."""
        with self._lock:
            self._seq += 1
            return str(prefix + self._seq)

    # -- test controls --------------------------------------------------------------------------
    def account(self, token: str) -> _Account:
        return self.accounts.get(self.tokens[token])

    def add_ad(self, account_id: str, ad: FakeAd) -> None:
        with self._lock:
            self.accounts.get(account_id).ads[ad.ad_id] = ad

    def set_spend(self, account_id: str, ad_id: str, day: date, amount: Decimal | str) -> None:
        with self._lock:
            self.accounts.get(account_id).spend[(ad_id, day)] = Decimal(str(amount))

    def events(self, dataset_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.received_events.get(dataset_id, []))

    # -- the wire -------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else \
            request.query_params.get("access_token", "")
        account = self.tokens.get(token)
        if account is None:
            return _error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        return account

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {}
        if retry_after is not None:
            minutes = max(1, math.ceil(retry_after / 60))
            headers["x-business-use-case-usage"] = json.dumps({"1001": [{
                "type": "ads_insights", "call_count": 100, "total_cputime": 25, "total_time": 25,
                "estimated_time_to_regain_access": minutes}]})
        return _error(400, 17, "User request limit reached", subcode=2446079, headers=headers)

    def server_error_response(self, status: int) -> Response:
        return _error(status, 2, "An unexpected error has occurred. Please retry your request later.",
                      transient=True)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{version}/me/adaccounts", self._ad_accounts, methods=["GET"]),
            Route("/{version}/{account:str}/insights", self._insights, methods=["GET", "POST"]),
            Route("/{version}/{waba}/dataset", self._dataset, methods=["POST"]),
            Route("/{version}/{dataset}/events", self._events, methods=["POST"]),
            Route("/{version}/{object_id}", self._object, methods=["GET"]),
        ]

    def _check_version(self, request: Request) -> Response | None:
        if not _VERSION.match(request.path_params["version"]):
            return _error(400, 2635, f"Unknown API version {request.path_params['version']}")
        return None

    async def _ad_accounts(self, request: Request) -> Response:
        if (bad := self._check_version(request)) is not None:
            return bad
        state = self.accounts.get(self.account_of(request))
        row: dict[str, Any] = {"id": state.account_id, "account_id": state.account_id.removeprefix("act_"),
                               "name": f"Sandbox {state.account_id}", "currency": "TRY",
                               "timezone_name": "Europe/Istanbul"}
        if self.maybe_malformed():
            row.pop("id")
        return self._page(request, [row], int(request.query_params.get("limit", "25")), malform=False)

    async def _object(self, request: Request) -> Response:
        if (bad := self._check_version(request)) is not None:
            return bad
        state = self.accounts.get(self.account_of(request))
        object_id = request.path_params["object_id"]
        run = state.runs.get(object_id)
        if run is not None:
            with self._lock:
                run.polls += 1
                polls = run.polls
            if polls >= self.report_polls:
                status, pct = "Job Completed", 100
            elif polls == 1:
                status, pct = "Job Not Started", 0
            else:
                status, pct = "Job Running", int(100 * polls / self.report_polls)
            return JSONResponse({"id": run.run_id, "async_status": status, "async_percent_completion": pct})
        if object_id in self.unreadable_ads:
            return _error(400, 10, "(#10) Application does not have permission for this action")
        ad = state.ads.get(object_id)
        if ad is None:
            return _error(400, 100, f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
                          "loaded due to missing permissions, or does not support this operation.",
                          subcode=33, kind="GraphMethodException")
        body: dict[str, Any] = {"id": ad.ad_id, "name": ad.name, "adset_id": ad.adset_id,
                                "campaign_id": ad.campaign_id, "account_id": state.account_id.removeprefix("act_"),
                                "adset": {"name": ad.adset_name, "id": ad.adset_id},
                                "campaign": {"name": ad.campaign_name, "id": ad.campaign_id}}
        if self.maybe_malformed():
            body.pop("id")
        return JSONResponse(body)

    def _rows(self, state: _Account, level: str, since: date, until: date) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        day = since
        today = self.clock.now().date()
        while day <= until:
            if state.first_day <= day <= today:
                groups: dict[str, dict[str, Any]] = {}
                for ad in sorted(state.ads.values(), key=lambda a: a.ad_id):
                    spend = state.spend.get((ad.ad_id, day), ad.daily_spend)
                    key = {"ad": ad.ad_id, "adset": ad.adset_id, "campaign": ad.campaign_id}[level]
                    row = groups.setdefault(key, {"campaign_id": ad.campaign_id, "campaign_name": ad.campaign_name,
                                                  "spend": Decimal(0), "impressions": 0, "clicks": 0,
                                                  "account_currency": "TRY", "date_start": day.isoformat(),
                                                  "date_stop": day.isoformat()})
                    if level in ("adset", "ad"):
                        row.update(adset_id=ad.adset_id, adset_name=ad.adset_name)
                    if level == "ad":
                        row.update(ad_id=ad.ad_id, ad_name=ad.name)
                    row["spend"] += spend
                    row["impressions"] += int(spend * 40)
                    row["clicks"] += int(spend / 5)
                for row in groups.values():
                    row["spend"] = format(row["spend"].normalize(), "f")
                    row["impressions"], row["clicks"] = str(row["impressions"]), str(row["clicks"])
                    row["actions"] = [{"action_type": "onsite_conversion.messaging_conversation_started_7d",
                                       "value": str(int(row["clicks"]) // 10)}]
                    rows.append(row)
            day += timedelta(days=1)
        return rows

    def _page(self, request: Request, rows: list[dict[str, Any]], limit: int, *, malform: bool = True) -> Response:
        start = _offset(request.query_params.get("after"))
        if start < 0:
            return _error(400, 100, "Invalid parameter: after cursor")
        chunk = rows[start:start + limit]
        data: list[dict[str, Any]] = []
        for row in chunk:
            row = dict(row)
            if malform and self.maybe_malformed():
                row["spend"] = {"amount": row["spend"]}  # not a string: a broken record
                row.pop("date_start")
            data.append(row)
        body: dict[str, Any] = {"data": data}
        if chunk:
            paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk))}}
            if start + len(chunk) < len(rows):
                query = dict(request.query_params)
                query["after"] = _cursor(start + len(chunk))
                paging["next"] = f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{urlencode(query)}"
            body["paging"] = paging
        return JSONResponse(body)

    def _range(self, params: Any) -> tuple[str, date, date] | Response:
        level = params.get("level", "ad")
        if level not in ("ad", "adset", "campaign", "account"):
            return _error(400, 100, f"(#100) level must be one of ad, adset, campaign, account: {level}")
        raw = params.get("time_range")
        try:
            if raw:
                tr = json.loads(raw)
                since, until = date.fromisoformat(tr["since"]), date.fromisoformat(tr["until"])
            else:  # about the last 30 days, as documented
                until = self.clock.now().date()
                since = until - timedelta(days=29)
        except (ValueError, KeyError, TypeError):
            return _error(400, 100, "(#100) time_range must be {'since':YYYY-MM-DD,'until':YYYY-MM-DD}")
        if until < since:
            return _error(400, 100, "(#100) time_range: since must be before until")
        if params.get("time_increment", "1") != "1":
            return _error(400, 100, "(#100) the sandbox serves time_increment=1 only")
        return level if level != "account" else "campaign", since, until

    async def _insights(self, request: Request) -> Response:
        if (bad := self._check_version(request)) is not None:
            return bad
        account_key = self.account_of(request)
        state = self.accounts.get(account_key)
        target = request.path_params["account"]
        if target.startswith("act_"):
            if target != state.account_id:
                return _error(403, 200, f"(#200) Ad account owner has NOT grant ads_management or ads_read "
                                         f"permission ({target})")
            body = await request.body()
            params: Any = request.query_params
            if request.method == "POST" and body:
                try:
                    params = {**dict(request.query_params), **{k: str(v) for k, v in json.loads(body).items()}}
                except (ValueError, AttributeError):
                    from urllib.parse import parse_qsl

                    params = {**dict(request.query_params), **dict(parse_qsl(body.decode()))}
            parsed = self._range(params)
            if isinstance(parsed, Response):
                return parsed
            level, since, until = parsed
            if request.method == "POST":
                run_id = self.next_id(6023000000000000)
                with self._lock:
                    state.runs[run_id] = _Run(run_id, level, since, until)
                return JSONResponse({"report_run_id": run_id})
            limit = int(request.query_params.get("limit", "25"))
            return self._page(request, self._rows(state, level, since, until), max(1, min(limit, 5000)))
        run = state.runs.get(target)
        if run is None or request.method != "GET":
            return _error(400, 100, f"Unsupported request. Object with ID '{target}' does not exist", subcode=33)
        if run.polls < self.report_polls:
            return _error(400, 100, "(#100) the report run has not completed")
        limit = int(request.query_params.get("limit", "25"))
        return self._page(request, self._rows(state, run.level, run.since, run.until), max(1, min(limit, 5000)))

    async def _dataset(self, request: Request) -> Response:
        if (bad := self._check_version(request)) is not None:
            return bad
        state = self.accounts.get(self.account_of(request))
        waba = request.path_params["waba"]
        with self._lock:
            dataset = state.datasets.get(waba)
            if dataset is None:
                dataset = self.next_id(1400000000000000)
                state.datasets[waba] = dataset
        return JSONResponse({"id": dataset})

    def _check_event(self, e: Any, i: int, now: datetime) -> Response | None:
        if not isinstance(e, dict):
            return _error(400, 100, f"(#100) data[{i}] must be an object")
        name = e.get("event_name")
        if e.get("action_source") != "business_messaging":
            return _error(400, 100, f"(#100) data[{i}].action_source must be business_messaging")
        if e.get("messaging_channel") not in _CHANNELS:
            return _error(400, 100, f"(#100) data[{i}].messaging_channel must be whatsapp, messenger or instagram")
        if name not in _ALLOWED_EVENTS:
            return _error(400, 100, "Invalid parameter", subcode=2804066)
        t = e.get("event_time")
        if not isinstance(t, int) or t > now.timestamp() + 60 or t < (now - _MAX_AGE).timestamp():
            return _error(400, 100, f"(#100) data[{i}].event_time must be Unix seconds within the last 7 days")
        user = e.get("user_data")
        if not isinstance(user, dict) or not (user.get("ctwa_clid") or user.get("whatsapp_business_account_id")):
            return _error(400, 100, f"(#100) data[{i}].user_data needs ctwa_clid or whatsapp_business_account_id")
        custom = e.get("custom_data") or {}
        if name == "Purchase" and (not isinstance(custom.get("value"), int | float) or not custom.get("currency")):
            return _error(400, 100, f"(#100) data[{i}]: Purchase requires custom_data.value and currency")
        return None

    async def _events(self, request: Request) -> Response:
        if (bad := self._check_version(request)) is not None:
            return bad
        state = self.accounts.get(self.account_of(request))
        dataset = request.path_params["dataset"]
        if dataset not in state.datasets.values():
            return _error(400, 100, f"Unsupported post request. Object with ID '{dataset}' does not exist",
                          subcode=33, kind="GraphMethodException")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, 100, "(#100) the body must be JSON")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not data or len(data) > 1000:
            return _error(400, 100, "(#100) data must hold 1 to 1000 events")
        now = self.clock.now()
        for i, e in enumerate(data):
            if (bad := self._check_event(e, i, now)) is not None:
                return bad  # the whole request is refused, as Graph does
        with self._lock:
            for e in data:
                key = (dataset, str(e["event_name"]), str(e.get("event_id", "")))
                if e.get("event_id") and key in self._event_keys:
                    continue  # deduplicated by (event_name, event_id)
                self._event_keys.add(key)
                self.received_events.setdefault(dataset, []).append(
                    {**e, "test_event_code": body.get("test_event_code")})
        return JSONResponse({"events_received": len(data), "messages": [],
                             "fbtrace_id": f"AbCdEf{self.next_id(0)}"})
