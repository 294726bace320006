"""Fake Aras Kargo customer query service (``GetQueryJSON``), from the fact sheet's wire format.

Serves both documented paths (prod ``/ArasCargoCustomerIntegrationService/ArasCargoIntegrationService.svc``
and test ``/ArasCargoIntegrationService.svc``), accepts both SOAPAction spellings, checks the
``LoginInfo`` fragment, and answers JSON as escaped text in ``GetQueryJSONResult``: ``Cargo`` as an
object (or a list for parcels registered with ``cargo_as_list=True``), all values strings, a
one-movement ``CargoTransaction`` as an object. Unknown keys get an empty result, a parcel not yet
scanned ``{"QueryResult":null}``, a bad login plain text, server faults a SOAP 1.1 Fault.

    fake.register_parcel("fake_user", "3500000000017", reference="INV2024001",
                         lifecycle=[(timedelta(hours=1), "1"), (timedelta(hours=8), "2"), ...])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._parcels import CarrierFake, ScriptedParcel, Step

__all__ = ["ArasFake"]

IST = ZoneInfo("Europe/Istanbul")
PATHS = ("/ArasCargoCustomerIntegrationService/ArasCargoIntegrationService.svc", "/ArasCargoIntegrationService.svc")
ACTIONS = ("http://tempuri.org/IArasCargoIntegrationService/GetQueryJSON", "http://tempuri.org/GetQueryJSON")
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
BAD_LOGIN_TEXT = "Kullanıcı adı, şifre veya müşteri kodu hatalı."

STATUS_TEXT = {
    "1": ("ÇIKIŞ ŞUBESİNDE", "AT ORIGIN BRANCH", "Kargonuz çıkış şubesinde."),
    "2": ("YOLDA", "IN TRANSIT", "Kargonuz varış transfer merkezine gönderiliyor."),
    "3": ("TESLİMAT ŞUBESİNDE", "AT DELIVERY BRANCH", "Kargonuz teslimat şubesinde."),
    "4": ("TESLİMATTA", "OUT FOR DELIVERY", "Kargonuz dağıtıma çıkarıldı."),
    "5": ("PARÇALI TESLİMAT", "PARTIALLY DELIVERED", "Kargonuzun bir kısmı teslim edildi."),
    "6": ("TESLİM EDİLDİ", "DELIVERED", "Kargonuz teslim edildi."),
    "7": ("YÖNLENDİRİLDİ", "REDIRECTED", "Kargonuz yönlendirildi."),
}


def _local(dt: datetime) -> str:
    return dt.astimezone(IST).strftime("%Y-%m-%dT%H:%M:%S")


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(el: Element, name: str) -> Element | None:
    for node in el.iter():
        if _local_name(node.tag) == name:
            return node
    return None


def _text(el: Element | None, name: str) -> str:
    node = _find(el, name) if el is not None else None
    return (node.text or "").strip() if node is not None else ""


def _parse_call(body: bytes) -> tuple[Element, Element]:
    """The ``loginInfo`` and ``queryInfo`` fragments of a GetQueryJSON call, parsed."""
    root = SafeET.fromstring(body, forbid_dtd=True)
    op = _find(root, "GetQueryJSON")
    if op is None:
        raise ValueError("no GetQueryJSON")
    login = SafeET.fromstring(_text(op, "loginInfo") or "<LoginInfo/>", forbid_dtd=True)
    query = SafeET.fromstring(_text(op, "queryInfo") or "<QueryInfo/>", forbid_dtd=True)
    return login, query


def envelope(result_text: str | None) -> str:
    inner = "<GetQueryJSONResult/>" if result_text is None else \
        f"<GetQueryJSONResult>{escape(result_text)}</GetQueryJSONResult>"
    return (f'<s:Envelope xmlns:s="{ENV}"><s:Body><GetQueryJSONResponse xmlns="http://tempuri.org/">'
            f"{inner}</GetQueryJSONResponse></s:Body></s:Envelope>")


def fault(code: str, message: str) -> str:
    return (f'<s:Envelope xmlns:s="{ENV}"><s:Body><s:Fault><faultcode>s:{code}</faultcode>'
            f'<faultstring xml:lang="tr-TR">{escape(message)}</faultstring></s:Fault></s:Body></s:Envelope>')


def _xml(text: str, status: int = 200) -> Response:
    return Response(text.encode("utf-8"), status_code=status, media_type="text/xml; charset=utf-8")


class ArasFake(CarrierFake):
    name: ClassVar[str] = "aras"

    def __init__(self, *, users: dict[str, tuple[str, str]] | None = None,
                 cargo_by_tracking_number: bool = True, **kw: Any) -> None:
        super().__init__(**kw)
        # False: QueryType 1 ignores TrackingNumber (as some accounts may), only IntegrationCode works.
        self.cargo_by_tracking_number = cargo_by_tracking_number
        # username -> (password, customer code); the fact sheet's example account by default.
        self.users = users or {"fake_user": ("fake_pass", "1000000000001")}
        self.parcels: dict[tuple[str, str], ScriptedParcel] = {}
        self.by_reference: dict[tuple[str, str], str] = {}

    # -- scripting -----------------------------------------------------------------------------
    def register_parcel(self, account: str, tracking_number: str, lifecycle: Sequence[Step], *,
                        reference: str | None = None, start: datetime | None = None,
                        receiver: str = "AYŞE YILMAZ", origin: str = "KADIKÖY", destination: str = "ÇANKAYA",
                        cargo_as_list: bool = False) -> ScriptedParcel:
        """Announce a parcel of ``account`` (a user name) with a scripted ``DURUM_KODU`` lifecycle.

        A step's extra may set ``TIP_KODU`` (``"3"`` = returned), ``DEVIR_KODU`` or ``IADE_SEBEBI``.
        """
        parcel = ScriptedParcel.build(account, tracking_number, lifecycle, start or self.clock.now(), reference,
                                      {"receiver": receiver, "origin": origin, "destination": destination,
                                       "cargo_as_list": cargo_as_list})
        with self._lock:
            self.parcels[(account, tracking_number)] = parcel
            if reference:
                self.by_reference[(account, reference)] = tracking_number
        return parcel

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.parcels.clear()
            self.by_reference.clear()

    # -- FakeProvider --------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | Response:
        return "soap"  # credentials travel in the body: see `authenticate_body`

    def authenticate_body(self, request: Request, body: bytes) -> str | Response:
        """The ``LoginInfo`` in the body: the user name is the account, a bad login Aras's plain text
        (HTTP 200). A body that does not parse is left to the endpoint (its formatter fault)."""
        try:
            login, _ = _parse_call(body)
        except (DefusedXmlException, ValueError, SyntaxError, LookupError):
            return "?"
        user = _text(login, "UserName")
        known = self.users.get(user)
        if known is None or known != (_text(login, "Password"), _text(login, "CustomerCode")):
            return _xml(envelope(BAD_LOGIN_TEXT))
        return user

    def routes(self) -> list[BaseRoute]:
        return [Route(p, self._endpoint, methods=["POST"]) for p in PATHS]

    def server_error_response(self, status: int) -> Response:
        return _xml(fault("Server", "Server was unable to process request."), 500 if status < 503 else status)

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else {}
        return Response(fault("Server", "Server Too Busy").encode(), status_code=503, headers=headers,
                        media_type="text/xml; charset=utf-8")

    # -- the endpoint -------------------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> Response:
        canned = self.take_canned()
        if canned is not None:
            return canned
        action = request.headers.get("soapaction", "").strip().strip('"')
        if action not in ACTIONS:
            return _xml(fault("Client", f"The message with Action '{action}' cannot be processed."), 500)
        try:
            login, query = _parse_call(await request.body())
        except (DefusedXmlException, ValueError, SyntaxError, LookupError):
            return _xml(fault("Client", "The formatter threw an exception while trying to deserialize the message."),
                        500)
        user = _text(login, "UserName")
        known = self.users.get(user)
        if known is None or known != (_text(login, "Password"), _text(login, "CustomerCode")):
            return _xml(envelope(BAD_LOGIN_TEXT))
        query_type = _text(query, "QueryType")
        number = _text(query, "TrackingNumber")
        code = _text(query, "IntegrationCode")
        parcel = self._lookup(user, number, code)
        if query_type == "1" and number and not self.cargo_by_tracking_number:
            parcel = None
        if query_type not in ("1", "9"):
            return _xml(envelope(json.dumps({"QueryResult": None})))
        if parcel is None:
            return _xml(envelope(None))
        now = self.clock.now()
        if parcel.current(now) is None:
            return _xml(envelope(json.dumps({"QueryResult": None})))
        if self.maybe_malformed():
            return _xml(envelope('{"QueryResult":{"Cargo":{"KARGO_TAKIP_NO":'))
        body = self._cargo(parcel, now) if query_type == "1" else self._transactions(parcel, now)
        return _xml(envelope(json.dumps({"QueryResult": body}, ensure_ascii=False)))

    def _lookup(self, user: str, number: str, code: str) -> ScriptedParcel | None:
        with self._lock:
            if number:
                return self.parcels.get((user, number))
            if code:
                tn = self.by_reference.get((user, code))
                return self.parcels.get((user, tn)) if tn else None
        return None

    def _row(self, parcel: ScriptedParcel, now: datetime) -> dict[str, str]:
        step = parcel.current(now)
        assert step is not None
        first = parcel.steps[0]
        tr, en, _ = STATUS_TEXT.get(step.code, ("BİLİNMİYOR", "UNKNOWN", ""))
        delivered = step.code == "6"
        d = parcel.details
        row = {
            "MUSTERI_OZEL_KODU": parcel.reference or "", "IRSALIYE_NUMARA": "A" + parcel.tracking_number[-7:],
            "GONDERICI": "ÖRNEK MAĞAZA LTD", "ALICI": d["receiver"], "KARGO_TAKIP_NO": parcel.tracking_number,
            "CIKIS_SUBE": d["origin"], "VARIS_SUBE": d["destination"], "CIKIS_TARIH": _local(first.at),
            "ADET": "1", "DESI": "2", "ODEME_TIPI": "ÜG", "TUTAR": "85.50", "REFERANS": "",
            "TESLIM_ALAN": d["receiver"] if delivered else "",
            "TESLIM_TARIHI": step.at.astimezone(IST).strftime("%d.%m.%Y") if delivered else "",
            "TESLIM_SAATI": step.at.astimezone(IST).strftime("%H:%M:%S") if delivered else "",
            "VARIS_KODU": "0612", "TIP_KODU": step.extra.get("TIP_KODU", "1"), "DURUM_KODU": step.code,
            "DURUMU": tr, "IADE_SEBEBI": step.extra.get("IADE_SEBEBI", ""), "KARGO_LINK_NO": parcel.tracking_number,
            "WORLDWIDE": "0", "KARGO_KODU": parcel.tracking_number, "DURUM_EN": en,
            "DEVIR_KODU": step.extra.get("DEVIR_KODU", ""), "ISLEM_TARIHI": _local(step.at),
            "HACIMSEL_AGIRLIK": "2", "AGIRLIK": "1.2",
        }
        return row

    def _cargo(self, parcel: ScriptedParcel, now: datetime) -> dict[str, Any]:
        row = self._row(parcel, now)
        if parcel.details["cargo_as_list"]:
            older = dict(row, DURUM_KODU="1", DURUMU=STATUS_TEXT["1"][0], ISLEM_TARIHI=_local(parcel.steps[0].at
                                                                                          - timedelta(days=30)))
            return {"Cargo": [older, row]}
        return {"Cargo": row}

    def _transactions(self, parcel: ScriptedParcel, now: datetime) -> dict[str, Any]:
        d = parcel.details
        rows = []
        for step in parcel.reached(now):
            tr, _, text = STATUS_TEXT.get(step.code, ("BİLİNMİYOR", "", ""))
            unit = d["origin"] if step.code == "1" else "ORHANLI TRANSFER" if step.code == "2" else d["destination"]
            rows.append({"ISLEM_TARIHI": _local(step.at), "BIRIM": unit, "ISLEM": tr, "ACIKLAMA": text})
        return {"CargoTransaction": rows[0] if len(rows) == 1 else rows}
