"""Yurtiçi Kargo tracking over KOPS ``ShippingOrderDispatcherServices.queryShipment`` (SOAP 1.1).

Only the operation element is namespace-qualified; its parameters are unqualified. Errors come in
HTTP 200 bodies: ``outFlag`` 1/2 with ``outResult``/``errCode`` on ``ShippingDeliveryVO`` (login
and the like), or ``errCode``/``errMessage`` on a key's ``shippingDeliveryDetailVO``; a SOAP fault
(``YurticikargoWSException``) for the rest. A parcel announced but not scanned answers NOP with
no item detail: ``pending``.

`query_call` describes the request once; `YurticiClient` / `AsyncYurticiClient` only run it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Unpack
from xml.etree.ElementTree import Element

import httpx
from pydantic import SecretStr

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    PayloadError,
    ProviderError,
    ProviderUnavailable,
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
from invekto_integrations.providers._soap import (
    MAX_BODY_BYTES,
    SoapFault,
    SoapOperation,
    child,
    soap_call,
    soap_error_details,
    text_of,
)

from .mapping import to_shipment
from .wire import ShippingDeliveryDetailVO, ShippingDeliveryVO, result_vo

__all__ = ["HOSTS", "PATH", "QUERY_SHIPMENT", "AsyncYurticiClient", "YurticiClient", "query_call"]

PROVIDER = "yurtici"
HOSTS = {
    "production": "https://ws.yurticikargo.com",
    "test": "https://testws.yurticikargo.com",
}
PATH = "/KOPSWebServices/ShippingOrderDispatcherServices"
NAMESPACE = "http://yurticikargo.com.tr/ShippingOrderDispatcherServices"
QUERY_SHIPMENT = SoapOperation(name="queryShipment", namespace=NAMESPACE, soap_action='""', qualified=False)

KeyType = Literal["cargo_key", "invoice_key"]
_KEY_TYPES: dict[str, int] = {"cargo_key": 0, "invoice_key": 1}
AUTH_ERROR_CODES = frozenset({"1625", "1626", "80265"})
NOT_FOUND_CODES = frozenset({"82519"})
UNEXPECTED_CODES = frozenset({"936"})
_AUTH_TEXT = re.compile(r"kullan[ıi]c[ıi]|[şs]ifre|parola|password|yetki|login|giri[şs]", re.IGNORECASE)
DEFAULTS = ProviderDefaults(PROVIDER, HOSTS, error_details=soap_error_details, timeout=carrier_timeout,
                            retry=carrier_retry, max_body_bytes=MAX_BODY_BYTES)


@dataclass(frozen=True)
class QueryAnswer:
    vo: ShippingDeliveryVO
    detail: ShippingDeliveryDetailVO


def _fault_error(fault: SoapFault, provider: str, operation: str, status: int) -> ProviderError | None:
    """``YurticikargoWSException{errorCode, errText}`` in the fault detail names the real problem."""
    exc = child(fault.detail, "YurticikargoWSException") if fault.detail is not None else None
    if exc is None:
        return None
    code = text_of(exc, "errorCode")
    message = text_of(exc, "errText") or fault.message
    return _error_for_code(code, message, operation=operation, status=status)


def _error_for_code(code: str | None, message: str, *, operation: str, status: int | None) -> ProviderError:
    kw: dict[str, Any] = {"provider": PROVIDER, "operation": operation, "code": code}
    if code in AUTH_ERROR_CODES:
        return AuthenticationError(message, status=status, **kw)
    if code in NOT_FOUND_CODES:
        return NotFound(message, status=status, **kw)
    if code in UNEXPECTED_CODES:
        return ProviderUnavailable(message, status=None, **kw)  # "unexpected error": worth a retry
    return InvalidRequest(message, status=status, **kw)


def _check_vo(vo: ShippingDeliveryVO) -> None:
    flag = (vo.outFlag or "0").strip()
    if flag == "0":
        return
    message = vo.outResult or f"outFlag={flag}"
    code = vo.errCode if vo.errCode and vo.errCode != "0" else None
    if flag == "1" and (code in AUTH_ERROR_CODES or (code is None and _AUTH_TEXT.search(message))):
        raise AuthenticationError(message, provider=PROVIDER, operation=QUERY_SHIPMENT.name, status=200,
                                  code=code or "outFlag=1")
    if flag == "2":
        raise ProviderUnavailable(message, provider=PROVIDER, operation=QUERY_SHIPMENT.name,
                                  code=code or "outFlag=2")
    raise _error_for_code(code or f"outFlag={flag}", message, operation=QUERY_SHIPMENT.name, status=200)


def query_call(
    user: str, password: SecretStr, language: str, key: str, key_type: KeyType = "cargo_key"
) -> Call[QueryAnswer]:
    """``queryShipment`` for one key with history (``addHistoricalData=true``, ``onlyTracking=false``)."""
    params: list[tuple[str, str | bool | int | None]] = [
        ("wsUserName", user),
        ("wsPassword", password.get_secret_value()),
        ("wsLanguage", language),
        ("keys", key),
        ("keyType", _KEY_TYPES[key_type]),
        ("addHistoricalData", True),
        ("onlyTracking", False),
    ]

    def parse(response: Element) -> QueryAnswer:
        node = result_vo(response)
        if node is None:
            raise PayloadError("no ShippingDeliveryVO in queryShipmentResponse", provider=PROVIDER,
                               field="ShippingDeliveryVO", record=key, operation=QUERY_SHIPMENT.name)
        vo = ShippingDeliveryVO.from_xml(node)
        _check_vo(vo)
        details = vo.shippingDeliveryDetailVO
        detail = next((d for d in details if key in (d.cargoKey, d.invoiceKey)), details[0] if details else None)
        if detail is None:
            raise PayloadError("no shippingDeliveryDetailVO for the key", provider=PROVIDER,
                               field="shippingDeliveryDetailVO", record=key, operation=QUERY_SHIPMENT.name)
        if detail.errCode and detail.errCode.strip() not in ("0", ""):
            raise _error_for_code(detail.errCode.strip(), detail.errMessage or f"errCode={detail.errCode}",
                                  operation=QUERY_SHIPMENT.name, status=200)
        return QueryAnswer(vo, detail)

    return soap_call(QUERY_SHIPMENT, params, parse, provider=PROVIDER, path=PATH, record=key,
                     fault_error=_fault_error)


def _to_shipment(answer: QueryAnswer, key: str) -> Shipment:
    try:
        return to_shipment(answer.detail, queried_key=key, raw=answer.detail.model_dump(mode="json"))
    except ValueError as exc:
        field = str(exc).split(":", 1)[0] if ":" in str(exc) else None
        raise PayloadError(str(exc), provider=PROVIDER, field=field, record=key,
                           operation=QUERY_SHIPMENT.name) from exc


def _require(key: str, what: str) -> str:
    return check_identifier(PROVIDER, what, key)


class YurticiOptions(TypedDict, total=False):
    """The keyword options of `YurticiClient` / `AsyncYurticiClient` (see `_YurticiBase`)."""

    language: str
    environment: str
    base_url: str | None
    clock: Clock | None
    retry: RetryPolicy | None
    timeout: float | None
    limiter_registry: RateLimiterRegistry
    rate_limit: RateLimit | None


class _YurticiBase:
    provider = PROVIDER

    def __init__(
        self,
        username: str,
        password: str | SecretStr,
        *,
        language: str = "TR",
        environment: str = "production",
        base_url: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        limiter_registry: RateLimiterRegistry = DEFAULT_REGISTRY,
        rate_limit: RateLimit | None = None,
    ) -> None:
        if not username:
            raise ConfigurationError("yurtici: username is required")
        # No rate limit is published: none unless a caller sets an agreed one.
        self.config = DEFAULTS.config(
            account_key=username, environment=environment, base_url=base_url, clock=clock, retry=retry,
            limiter_registry=limiter_registry, timeout=timeout, rate_limit=rate_limit,
        )
        self.username = username
        self._password = SecretStr(reveal(password))
        self.language = language

    def _call(self, key: str, key_type: KeyType) -> Call[Shipment]:
        return query_call(self.username, self._password, self.language, key, key_type).map(
            lambda answer: _to_shipment(answer, key)
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(username={self.username!r})"


class YurticiClient(_YurticiBase, SyncConnector):
    """Sync Yurtiçi Kargo tracking client."""

    def __init__(self, username: str, password: str | SecretStr, *,
                 transport: httpx.BaseTransport | None = None, **kw: Unpack[YurticiOptions]) -> None:
        super().__init__(username, password, **kw)
        self._runner = SyncRunner(self.config, transport=transport)

    def track(self, tracking_number: str) -> Shipment:
        """Status and movements by ``cargoKey`` (keyType 0): the key the sender registered, which is the
        tracking code marketplaces hand out for Yurtiçi. Raises `NotFound` (82519), `AuthenticationError`."""
        return self._runner.run(self._call(_require(tracking_number, "tracking_number"), "cargo_key"))

    def track_by_reference(self, reference: str) -> Shipment:
        """The same by ``invoiceKey`` (keyType 1)."""
        return self._runner.run(self._call(_require(reference, "reference"), "invoice_key"))


class AsyncYurticiClient(_YurticiBase, AsyncConnector):
    """Async Yurtiçi Kargo tracking client (same methods as `YurticiClient`)."""

    def __init__(self, username: str, password: str | SecretStr, *,
                 transport: httpx.AsyncBaseTransport | None = None, **kw: Unpack[YurticiOptions]) -> None:
        super().__init__(username, password, **kw)
        self._runner = AsyncRunner(self.config, transport=transport)

    async def track(self, tracking_number: str) -> Shipment:
        return await self._runner.run(self._call(_require(tracking_number, "tracking_number"), "cargo_key"))

    async def track_by_reference(self, reference: str) -> Shipment:
        return await self._runner.run(self._call(_require(reference, "reference"), "invoice_key"))
