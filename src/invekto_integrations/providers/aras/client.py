"""Aras Kargo tracking over the customer information query service (WCF, SOAP 1.1).

``GetQueryJSON(loginInfo, queryInfo)`` takes two XML fragments as *strings* and answers JSON as
text inside ``GetQueryJSONResult``. QueryType 1 gives the cargo's status row (by
``IntegrationCode`` or ``TrackingNumber``), QueryType 9 its movements (by ``TrackingNumber``).
Errors come three ways: a SOAP fault (server errors), plain text instead of JSON in the result
(bad login and the like), or an empty result (unknown or not yet scanned → ``pending``).

Each request is described once (`cargo_call`, `history_call`); `ArasClient` and `AsyncArasClient`
only run them. Docs: the PDF that comes with the credentials (esasweb > Entegrasyonlar > XML Servisleri).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidArgument,
    InvalidRequest,
    PayloadError,
)
from invekto_integrations.core.http import AsyncRunner, Call, SyncRunner
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.shipments import Shipment
from invekto_integrations.providers._carrier import carrier_retry, carrier_timeout
from invekto_integrations.providers._common import (
    AsyncConnector,
    ProviderDefaults,
    SyncConnector,
    check_identifier,
    reveal,
)
from invekto_integrations.providers._soap import MAX_BODY_BYTES, SoapOperation, soap_call, soap_error_details, text_of

from .mapping import pending_shipment, pick_row, shipment_from_movements, to_shipment
from .wire import ArasCargo, ArasCargoTransaction, as_rows

__all__ = [
    "GET_QUERY_JSON",
    "HOSTS",
    "PATHS",
    "ArasClient",
    "ArasCredentials",
    "AsyncArasClient",
    "cargo_call",
    "history_call",
    "login_info",
    "query_info",
]

PROVIDER = "aras"
HOSTS = {
    "production": "https://customerservices.araskargo.com.tr",
    "test": "https://customerservicestest.araskargo.com.tr",
}
PATHS = {
    "production": "/ArasCargoCustomerIntegrationService/ArasCargoIntegrationService.svc",
    "test": "/ArasCargoIntegrationService.svc",
}
NAMESPACE = "http://tempuri.org/"
GET_QUERY_JSON = SoapOperation(
    name="GetQueryJSON",
    namespace=NAMESPACE,
    soap_action='"http://tempuri.org/IArasCargoIntegrationService/GetQueryJSON"',
)

DEFAULTS = ProviderDefaults(PROVIDER, HOSTS, error_details=soap_error_details, timeout=carrier_timeout,
                            retry=carrier_retry, max_body_bytes=MAX_BODY_BYTES)

def _no_constant(name: str) -> Any:
    """``NaN``/``Infinity`` are not JSON: a tracking number or amount sent so is refused, never read."""
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


_AUTH_TEXT = re.compile(r"kullan[ıi]c[ıi]|[şs]ifre|parola|password|login|yetki|giri[şs]|unauthori|authenticat",
                        re.IGNORECASE)
_NOT_FOUND_TEXT = re.compile(r"bulunamad|kay[ıi]t yok|not found|no record", re.IGNORECASE)


@dataclass(frozen=True)
class ArasCredentials:
    """The query-service account (separate from the SetOrder account) and the customer code."""

    username: str
    password: SecretStr
    customer_code: str

    def __repr__(self) -> str:
        return f"ArasCredentials(username={self.username!r}, customer_code={self.customer_code!r})"


def login_info(creds: ArasCredentials) -> str:
    """The ``loginInfo`` string parameter (an XML fragment; the envelope escapes it once more)."""
    return (
        f"<LoginInfo><UserName>{escape(creds.username)}</UserName>"
        f"<Password>{escape(creds.password.get_secret_value())}</Password>"
        f"<CustomerCode>{escape(creds.customer_code)}</CustomerCode></LoginInfo>"
    )


def query_info(query_type: int, **params: str) -> str:
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in params.items())
    return f"<QueryInfo><QueryType>{query_type}</QueryType>{inner}</QueryInfo>"


def _result_json(result: Element, *, record: str) -> dict[str, Any] | None:
    """The JSON inside ``GetQueryJSONResult``: ``None`` when empty, typed errors for plain text."""
    text = text_of(result, "GetQueryJSONResult")
    if text is None or text.lower() == "null":
        return None
    if text[0] not in "{[":
        message = text[:300]
        if _NOT_FOUND_TEXT.search(text):
            return None
        if _AUTH_TEXT.search(text):
            raise AuthenticationError(message, provider=PROVIDER, operation=GET_QUERY_JSON.name, status=200,
                                      code="text")
        raise InvalidRequest(message, provider=PROVIDER, operation=GET_QUERY_JSON.name, status=200, code="text")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"GetQueryJSONResult is not valid JSON: {exc.msg}", provider=PROVIDER,
                           field="GetQueryJSONResult", record=record, operation=GET_QUERY_JSON.name) from exc
    if not isinstance(data, dict):
        raise PayloadError("GetQueryJSONResult is not a JSON object", provider=PROVIDER, field="GetQueryJSONResult",
                           record=record, operation=GET_QUERY_JSON.name)
    query_result = data.get("QueryResult")
    if query_result in (None, "", []):
        return None
    if not isinstance(query_result, dict):
        raise PayloadError("QueryResult is not an object", provider=PROVIDER, field="QueryResult", record=record,
                           operation=GET_QUERY_JSON.name)
    return query_result


@dataclass(frozen=True)
class CargoAnswer:
    rows: list[ArasCargo]
    raw: dict[str, Any] | None


def cargo_call(
    creds: ArasCredentials, path: str, *, tracking_number: str | None = None, integration_code: str | None = None
) -> Call[CargoAnswer]:
    """QueryType 1: the status row of one cargo, by tracking number or by our IntegrationCode."""
    if bool(tracking_number) == bool(integration_code):
        raise InvalidArgument("give exactly one of tracking_number / integration_code", provider=PROVIDER,
                              field="tracking_number" if not tracking_number else "integration_code")
    key = tracking_number or integration_code or ""
    params = {"TrackingNumber": key} if tracking_number else {"IntegrationCode": key}

    def parse(result: Element) -> CargoAnswer:
        data = _result_json(result, record=key)
        if data is None:
            return CargoAnswer([], None)
        rows = [ArasCargo.model_validate(r) for r in as_rows(data.get("Cargo"))]
        return CargoAnswer(rows, data)

    return soap_call(GET_QUERY_JSON, [("loginInfo", login_info(creds)), ("queryInfo", query_info(1, **params))],
                     parse, provider=PROVIDER, path=path, record=key)


def history_call(creds: ArasCredentials, path: str, tracking_number: str) -> Call[list[ArasCargoTransaction]]:
    """QueryType 9: the movements of one cargo (``CargoTransaction`` object or list)."""

    def parse(result: Element) -> list[ArasCargoTransaction]:
        data = _result_json(result, record=tracking_number)
        if data is None:
            return []
        return [ArasCargoTransaction.model_validate(r) for r in as_rows(data.get("CargoTransaction"))]

    return soap_call(
        GET_QUERY_JSON,
        [("loginInfo", login_info(creds)), ("queryInfo", query_info(9, TrackingNumber=tracking_number))],
        parse, provider=PROVIDER, path=path, record=tracking_number,
    )


def _combine(answer: CargoAnswer | None, history: list[ArasCargoTransaction], key: str) -> Shipment:
    try:
        if answer is None or not answer.rows:
            return shipment_from_movements(key, history)
        return to_shipment(pick_row(answer.rows), history, queried_key=key, raw=answer.raw)
    except ValueError as exc:
        field = str(exc).split(":", 1)[0] if ":" in str(exc) else None
        raise PayloadError(str(exc), provider=PROVIDER, field=field, record=key, operation=GET_QUERY_JSON.name) from exc


class ArasOptions(TypedDict, total=False):
    """The keyword options of `ArasClient` / `AsyncArasClient` (see `_ArasBase`)."""

    environment: str
    base_url: str | None
    clock: Clock | None
    retry: RetryPolicy | None
    timeout: float | None
    limiter_registry: RateLimiterRegistry
    rate_limit: RateLimit | None


class _ArasBase:
    provider = PROVIDER

    def __init__(
        self,
        username: str,
        password: str | SecretStr,
        customer_code: str,
        *,
        environment: str = "production",
        base_url: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY,
        rate_limit: RateLimit | None = None,
    ) -> None:
        if not (username and customer_code):
            raise ConfigurationError("aras: username and customer_code are required")
        # No rate limit is published: none unless a caller sets an agreed one.
        self.config = DEFAULTS.config(
            account_key=f"{username}:{customer_code}", environment=environment, base_url=base_url, clock=clock,
            retry=retry, limiter_registry=limiter_registry, timeout=timeout, rate_limit=rate_limit,
        )
        self.credentials = ArasCredentials(username, SecretStr(reveal(password)), customer_code)
        self.path = PATHS[DEFAULTS.environment(environment).value]

    def _cargo(self, *, tracking_number: str | None = None, integration_code: str | None = None) -> Call[CargoAnswer]:
        return cargo_call(self.credentials, self.path, tracking_number=tracking_number,
                          integration_code=integration_code)

    def _history(self, tracking_number: str) -> Call[list[ArasCargoTransaction]]:
        return history_call(self.credentials, self.path, tracking_number)


def _require(key: str, what: str) -> str:
    return check_identifier(PROVIDER, what, key)


class ArasClient(_ArasBase, SyncConnector):
    """Sync Aras Kargo tracking client."""

    def __init__(self, username: str, password: str | SecretStr, customer_code: str, *,
                 transport: httpx.BaseTransport | None = None, **kw: Unpack[ArasOptions]) -> None:
        super().__init__(username, password, customer_code, **kw)
        self._runner = SyncRunner(self.config, transport=transport)

    def track(self, tracking_number: str) -> Shipment:
        """Status (QueryType 1) and movements (QueryType 9) by Aras tracking number (``KARGO_TAKIP_NO``).

        When QueryType 1 has no row, the status is read from the latest movement; no movements
        either means the parcel is not scanned yet (``pending``).

        Raises `AuthenticationError` (login refused), `ProviderUnavailable`, `PayloadError`.
        """
        key = _require(tracking_number, "tracking_number")
        answer = self._runner.run(self._cargo(tracking_number=key))
        if not answer.rows:
            # Some accounts may not answer QueryType 1 by tracking number: the movements still tell.
            return _combine(None, self._runner.run(self._history(key)), key)
        return self._finish(answer, key)

    def track_by_reference(self, reference: str) -> Shipment:
        """The same by the seller's IntegrationCode (MÖK) given at SetOrder."""
        key = _require(reference, "reference")
        answer = self._runner.run(self._cargo(integration_code=key))
        if not answer.rows:
            return pending_shipment(key, reference=key)
        return self._finish(answer, key)

    def _finish(self, answer: CargoAnswer, key: str) -> Shipment:
        number = pick_row(answer.rows).KARGO_TAKIP_NO
        history = self._runner.run(self._history(number)) if number else []
        return _combine(answer, history, key)


class AsyncArasClient(_ArasBase, AsyncConnector):
    """Async Aras Kargo tracking client (same methods as `ArasClient`)."""

    def __init__(self, username: str, password: str | SecretStr, customer_code: str, *,
                 transport: httpx.AsyncBaseTransport | None = None, **kw: Unpack[ArasOptions]) -> None:
        super().__init__(username, password, customer_code, **kw)
        self._runner = AsyncRunner(self.config, transport=transport)

    async def track(self, tracking_number: str) -> Shipment:
        key = _require(tracking_number, "tracking_number")
        answer = await self._runner.run(self._cargo(tracking_number=key))
        if not answer.rows:
            return _combine(None, await self._runner.run(self._history(key)), key)
        return await self._finish(answer, key)

    async def track_by_reference(self, reference: str) -> Shipment:
        key = _require(reference, "reference")
        answer = await self._runner.run(self._cargo(integration_code=key))
        if not answer.rows:
            return pending_shipment(key, reference=key)
        return await self._finish(answer, key)

    async def _finish(self, answer: CargoAnswer, key: str) -> Shipment:
        number = pick_row(answer.rows).KARGO_TAKIP_NO
        history = await self._runner.run(self._history(number)) if number else []
        return _combine(answer, history, key)
