"""The shared SOAP helper: envelopes, safe parsing, faults → typed errors; hostile bodies via the fakes."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable

import httpx
import pytest

from invekto_integrations.core.errors import InvalidRequest, NotFound, PayloadError, ProviderUnavailable
from invekto_integrations.providers._soap import (
    SoapOperation,
    envelope,
    parse_xml,
    soap_call,
    soap_error_details,
    text_of,
)
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.providers.yurtici import YurticiClient
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<GetQueryJSONResponse xmlns="http://tempuri.org/"><GetQueryJSONResult>&lol9;</GetQueryJSONResult>
</GetQueryJSONResponse></s:Body></s:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><r>&xxe;</r></s:Body></s:Envelope>"""

MALFORMED = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetQueryJSONResponse>'

OP = SoapOperation("Ping", "http://example.org/ns", '"urn:ping"')


def test_envelope_qualified_and_unqualified() -> None:
    qualified = envelope(OP, [("a", "x<y"), ("b", True), ("c", None)]).decode()
    assert '<Ping xmlns="http://example.org/ns"><a>x&lt;y</a><b>true</b><c/></Ping>' in qualified
    plain = envelope(SoapOperation("Ping", "http://example.org/ns", qualified=False), [("k", "1"), ("k", "2")])
    assert b'xmlns:op="http://example.org/ns"' in plain
    assert b"<op:Ping><k>1</k><k>2</k></op:Ping>" in plain


def bounded(fn: Callable[[], object], seconds: float = 10.0) -> BaseException | None:
    """Run ``fn`` in a thread under a hard time bound and a memory bound; return what it raised.

    Not a speed target: an expanded billion laughs takes minutes and gigabytes, a refusal
    milliseconds and kilobytes, so either bound fails a parser that expands entities."""
    box: dict[str, BaseException] = {}

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            box["error"] = exc

    tracemalloc.start()
    try:
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(seconds)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not worker.is_alive(), f"still parsing after {seconds} s: the entities are being expanded"
    assert peak < 32 * 1024 * 1024, f"{peak} bytes allocated: the entities were expanded"
    return box.get("error")


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_declarations_are_refused_before_expansion(body: bytes) -> None:
    err = bounded(lambda: parse_xml(body, provider="aras", operation="GetQueryJSON"))
    assert isinstance(err, PayloadError)
    assert "unsafe XML" in str(err)
    assert err.provider == "aras"


@pytest.mark.parametrize("body", [MALFORMED, b'<?xml version="1.0" encoding="foo"?><a/>', b"<a>\xff</a>", b"",
                                  b'<?xml version="1.0" encoding="utf-16"?><a/>'])
def test_malformed_xml_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError, match="malformed XML"):
        parse_xml(body, provider="yurtici")


def test_text_of_is_namespace_agnostic() -> None:
    root = parse_xml(b'<a:r xmlns:a="urn:x"><a:v> 1 </a:v><w/></a:r>', provider="p")
    assert text_of(root, "v") == "1"
    assert text_of(root, "w") is None


def _run(body: bytes, status: int) -> object:
    call = soap_call(OP, [], lambda el: el.tag, provider="p")
    response = httpx.Response(status, content=body, request=httpx.Request("POST", "http://x"))
    return call.parse(response)


def test_fault_codes_map_to_typed_errors() -> None:
    client_fault = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
                    b"<faultcode>s:Client</faultcode><faultstring>bad input</faultstring></s:Fault></s:Body>"
                    b"</s:Envelope>")
    with pytest.raises(InvalidRequest, match="bad input"):
        _run(client_fault, 500)
    with pytest.raises(ProviderUnavailable, match="unable"):
        _run(client_fault.replace(b"s:Client", b"soap:Server").replace(b"bad input", b"unable"), 500)
    with pytest.raises(ProviderUnavailable, match="without a SOAP fault"):
        _run(b"<html>502 Bad Gateway</html", 500)
    with pytest.raises(PayloadError, match="not a SOAP envelope"):
        _run(b"<html/>", 200)


def test_error_details_read_the_fault() -> None:
    body = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
            b"<faultcode>s:Server</faultcode><faultstring>Server Too Busy</faultstring></s:Fault></s:Body>"
            b"</s:Envelope>")
    details = soap_error_details(httpx.Response(503, content=body))
    assert (details.code, details.message) == ("Server", "Server Too Busy")
    assert soap_error_details(httpx.Response(503, content=b"down")).message == "down"


# -- through the connectors and fakes -------------------------------------------------------------
WRONG = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body></s:Envelope>'  # mismatched


@pytest.mark.parametrize("body", [BILLION_LAUGHS, WRONG])
def test_aras_hostile_bodies_give_payload_errors(aras: ArasClient, aras_fake: ArasFake, body: bytes) -> None:
    aras_fake.serve_raw(body)
    with pytest.raises(PayloadError) as err:
        aras.track("3500000000017")
    assert err.value.provider == "aras"
    assert len(aras_fake.requests) == 1  # not retried: a wrong body does not get better


@pytest.mark.parametrize("body", [BILLION_LAUGHS, WRONG])
def test_yurtici_hostile_bodies_give_payload_errors(yurtici: YurticiClient, yurtici_fake: YurticiFake,
                                                    body: bytes) -> None:
    yurtici_fake.serve_raw(body)
    with pytest.raises(PayloadError):
        yurtici.track("ORD2024001")
    assert len(yurtici_fake.requests) == 1


def test_a_cut_body_is_read_again(aras: ArasClient, aras_fake: ArasFake, yurtici: YurticiClient,
                                  yurtici_fake: YurticiFake) -> None:
    # MALFORMED is an envelope cut mid-transfer: the query is a read, so it is asked again
    aras_fake.serve_raw(MALFORMED)
    assert aras.track("3500000000017").tracking_number == "3500000000017"
    assert len(aras_fake.requests) == 3  # the cut status query, again, then the movements
    yurtici_fake.serve_raw(MALFORMED)
    with pytest.raises(NotFound):  # read again: the fake holds no such parcel
        yurtici.track("ORD2024001")
    assert len(yurtici_fake.requests) == 2
