"""A small SOAP 1.1 toolkit shared by the SOAP carriers (Aras, Yurtiçi): envelopes out, safe parsing in.

Requests are built from an `SoapOperation` (name, namespace, SOAPAction, whether child elements
are namespace-qualified) and a list of parameters; answers are parsed with ``defusedxml``, which
refuses DTDs, entity declarations (the "billion laughs" bomb) and external references before any
expansion happens. Parsing is namespace-agnostic: carriers' prefixes (``s``, ``env``, ``ns1``) vary.

SOAP faults become the typed errors of `core.errors`: ``Client`` faults are `InvalidRequest`
(our fault, not retried), ``Server`` faults `ProviderUnavailable` (retried for reads); a carrier
can refine the mapping with ``fault_error``. Everything else that does not parse is a
`PayloadError` naming the provider and the operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
import httpx
from defusedxml import DefusedXmlException

from invekto_integrations.core.errors import (
    InvalidRequest,
    PayloadError,
    ProviderError,
    ProviderUnavailable,
)
from invekto_integrations.core.http import Call, ErrorDetails

__all__ = [
    "SOAP_ENV",
    "SoapFault",
    "SoapOperation",
    "child",
    "children",
    "envelope",
    "local_name",
    "parse_xml",
    "soap_call",
    "soap_error_details",
    "text_of",
]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MAX_BODY_BYTES = 8 * 1024 * 1024  # a tracking answer is a few KB; anything this big is not one

T = TypeVar("T")


@dataclass(frozen=True)
class SoapOperation:
    """One documented SOAP operation.

    ``qualified`` says whether parameter elements live in the operation's namespace (WCF/ASMX
    style, a default ``xmlns`` on the operation element) or are unqualified (JAX-WS schemas
    without ``elementFormDefault="qualified"``: only the operation element is prefixed).
    """

    name: str
    namespace: str
    soap_action: str = ""
    qualified: bool = True
    read_only: bool = True


@dataclass(frozen=True)
class SoapFault:
    code: str
    message: str
    detail: Element | None = None

    @property
    def code_local(self) -> str:
        """``soap:Server`` → ``Server`` (also ``s:Client.Authentication`` → ``Client.Authentication``)."""
        return self.code.rsplit(":", 1)[-1]


def _param_xml(name: str, value: str | bool | int | None) -> str:
    if value is None:
        return f"<{name}/>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def envelope(operation: SoapOperation, params: Sequence[tuple[str, str | bool | int | None]]) -> bytes:
    """The request envelope; a parameter repeated in ``params`` is sent as repeated elements."""
    body = "".join(_param_xml(name, value) for name, value in params)
    if operation.qualified:
        op = f'<{operation.name} xmlns="{escape(operation.namespace)}">{body}</{operation.name}>'
        ns_decl = ""
    else:
        op = f"<op:{operation.name}>{body}</op:{operation.name}>"
        ns_decl = f' xmlns:op="{escape(operation.namespace)}"'
    text = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"{ns_decl}><soap:Header/><soap:Body>{op}</soap:Body></soap:Envelope>'
    )
    return text.encode("utf-8")


# -- reading ------------------------------------------------------------------------------------
def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> Iterator[Element]:
    for el in element:
        if local_name(el.tag) == name:
            yield el


def child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next(children(element, name), None)


def text_of(element: Element | None, name: str | None = None) -> str | None:
    """Stripped text of ``element`` (or of its child ``name``); empty text is ``None``."""
    target = child(element, name) if name is not None else element
    if target is None or target.text is None:
        return None
    value = target.text.strip()
    return value or None


def parse_xml(content: bytes, *, provider: str, operation: str | None = None, field: str = "body") -> Element:
    """Parse untrusted XML: DTDs, entities and external references are refused, size is capped."""
    if len(content) > MAX_BODY_BYTES:
        raise PayloadError(f"XML body of {len(content)} bytes is over the limit", provider=provider,
                           field=field, operation=operation)
    try:
        root: Element = SafeET.fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise PayloadError(f"unsafe XML refused ({type(exc).__name__})", provider=provider, field=field,
                           operation=operation) from exc
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: an unknown declared encoding
        raise PayloadError(f"malformed XML: {exc}", provider=provider, field=field, operation=operation) from exc
    return root


def _body(root: Element, provider: str, operation: str | None) -> Element:
    if local_name(root.tag) != "Envelope":
        raise PayloadError(f"not a SOAP envelope (root <{local_name(root.tag)}>)", provider=provider,
                           field="Envelope", operation=operation)
    body = child(root, "Body")
    if body is None:
        raise PayloadError("SOAP envelope without a Body", provider=provider, field="Body", operation=operation)
    return body


def find_fault(body: Element) -> SoapFault | None:
    fault = child(body, "Fault")
    if fault is None:
        return None
    return SoapFault(
        code=text_of(fault, "faultcode") or "Server",
        message=text_of(fault, "faultstring") or "SOAP fault",
        detail=child(fault, "detail"),
    )


def default_fault_error(fault: SoapFault, *, provider: str, operation: str, status: int) -> ProviderError:
    if fault.code_local.startswith("Client"):
        return InvalidRequest(fault.message, provider=provider, operation=operation, status=status,
                              code=fault.code_local)
    return ProviderUnavailable(fault.message, provider=provider, operation=operation, status=max(status, 500),
                               code=fault.code_local)


FaultMapper = Callable[[SoapFault, str, str, int], ProviderError | None]


def soap_error_details(response: httpx.Response) -> ErrorDetails:
    """`ProviderConfig.error_details` for SOAP services: the fault code and string when there is one."""
    try:
        root = SafeET.fromstring(response.content[:MAX_BODY_BYTES], forbid_dtd=True)
        body = child(root, "Body")
        fault = find_fault(body) if body is not None else None
    except (DefusedXmlException, ParseError, ValueError, LookupError):
        fault = None
    if fault is not None:
        return ErrorDetails(code=fault.code_local, message=fault.message[:300])
    text = response.text.strip()
    return ErrorDetails(message=text[:300] or None)


def soap_call(
    operation: SoapOperation,
    params: Sequence[tuple[str, str | bool | int | None]],
    parse: Callable[[Element], T],
    *,
    provider: str,
    path: str = "",
    record: str | None = None,
    fault_error: FaultMapper | None = None,
) -> Call[T]:
    """A `Call` that posts the envelope and hands the operation's response element to ``parse``.

    HTTP 500 is read (SOAP 1.1 sends faults with it); a fault becomes a typed error, a 500 that is
    not a fault is `ProviderUnavailable`.
    """

    def parse_response(response: httpx.Response) -> T:
        status = response.status_code
        try:
            root = parse_xml(response.content, provider=provider, operation=operation.name)
        except PayloadError:
            if status >= 500:
                raise ProviderUnavailable(f"HTTP {status} without a SOAP fault", provider=provider,
                                          operation=operation.name, status=status) from None
            raise
        body = _body(root, provider, operation.name)
        fault = find_fault(body)
        if fault is not None:
            err = fault_error(fault, provider, operation.name, status) if fault_error else None
            raise err or default_fault_error(fault, provider=provider, operation=operation.name, status=status)
        if status >= 300:
            raise ProviderUnavailable(f"HTTP {status} without a SOAP fault", provider=provider,
                                      operation=operation.name, status=status)
        result = next(iter(body), None)
        if result is None:
            raise PayloadError("empty SOAP Body", provider=provider, field="Body", record=record,
                               operation=operation.name)
        return parse(result)

    return Call(
        operation=operation.name,
        method="POST",
        path=path,
        parse=parse_response,
        content=envelope(operation, params),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": operation.soap_action},
        idempotent=operation.read_only,
        ok_statuses=frozenset({500}),
        record=record,
    )
