"""Fake Yurtiçi Kargo KOPS ``ShippingOrderDispatcherServices.queryShipment``, from the fact sheet.

Answers the documented envelope (``env``/``ns1`` prefixes, ``ShippingDeliveryVO`` →
``shippingDeliveryDetailVO`` → ``shippingDeliveryItemDetailVO`` → ``invDocCargoVOArray``), with
errors in HTTP 200 bodies: bad login ``outFlag=1`` + ``errCode`` on the VO, missing language
``outFlag=1``, unknown key ``errCode=82519`` on the detail; a parcel not yet scanned is NOP with no
item. Keys may come as repeated ``<keys>`` or comma-joined. Server errors are SOAP faults carrying
``YurticikargoWSException``. Dates are ``YYYYMMDD``/``HHMMSS`` Istanbul time.

    fake.register_parcel("YKTEST", "ORD2024001", lifecycle=[(timedelta(hours=2), "ISR"),
        (timedelta(hours=6), "IND"), (timedelta(hours=20), "IND", {"cargoEventId": "YK", "cargoReasonId": "GOK"}),
        (timedelta(hours=26), "DLV")])
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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

__all__ = ["YurticiFake"]

IST = ZoneInfo("Europe/Istanbul")
PATH = "/KOPSWebServices/ShippingOrderDispatcherServices"
NS = "http://yurticikargo.com.tr/ShippingOrderDispatcherServices"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"

OPERATIONS = {  # operationStatus -> (operationCode, operationMessage)
    "NOP": ("0", "Kargo İşlem Görmemiş."),
    "IND": ("1", "Kargo Teslimattadır."),
    "ISR": ("2", "Kargo işlem görmüş, faturası henüz düzenlenmemiştir."),
    "CNL": ("3", "Kargo Çıkışı Engellendi."),
    "ISC": ("4", "Kargo daha önceden iptal edilmiştir."),
    "DLV": ("5", "Kargo teslim edilmiştir."),
    "BI": ("6", "Fatura şube tarafından iptal edilmiştir."),
}
EVENTS = {  # event placeholders per step (ids modelled on the item-level codes, ≈)
    "ISR": ("KB", "Kargo Kabul Edildi"),
    "IND": ("YK", "Kargo Yüklendi"),
    "DLV": ("OK", "Teslim Edildi"),
    "CNL": ("IP", "Kargo Çıkışı Engellendi"),
    "ISC": ("IP", "Kargo İptal"),
    "BI": ("IP", "Fatura İptal"),
}


def _d(dt: datetime) -> str:
    return dt.astimezone(IST).strftime("%Y%m%d")


def _t(dt: datetime) -> str:
    return dt.astimezone(IST).strftime("%H%M%S")


def _tag(name: str, value: str | None) -> str:
    return f"<{name}>{escape(value)}</{name}>" if value is not None else ""


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(el: Element, name: str) -> list[str]:
    return [(c.text or "").strip() for c in el if _local_name(c.tag) == name]


def envelope(vo_xml: str) -> str:
    return (f'<env:Envelope xmlns:env="{ENV}"><env:Header/><env:Body>'
            f'<ns1:queryShipmentResponse xmlns:ns1="{NS}"><ShippingDeliveryVO>{vo_xml}</ShippingDeliveryVO>'
            f"</ns1:queryShipmentResponse></env:Body></env:Envelope>")


def fault(code: int, text: str, faultcode: str = "Server") -> str:
    return (f'<env:Envelope xmlns:env="{ENV}"><env:Body><env:Fault><faultcode>env:{faultcode}</faultcode>'
            f"<faultstring>{escape(text)}</faultstring><detail>"
            f'<ns2:YurticikargoWSException xmlns:ns2="http://yurticikargo.com.tr/WSExceptions/">'
            f"<errorCode>{code}</errorCode><errText>{escape(text)}</errText></ns2:YurticikargoWSException>"
            f"</detail></env:Fault></env:Body></env:Envelope>")


_BAD_LOGIN = envelope("<outFlag>1</outFlag><outResult>Kullanıcı adı veya şifre hatalı.</outResult>"
                      "<errCode>1625</errCode><count>0</count>")


def _xml(text: str, status: int = 200) -> Response:
    return Response(text.encode("utf-8"), status_code=status, media_type="text/xml; charset=utf-8")


class YurticiFake(CarrierFake):
    name: ClassVar[str] = "yurtici"

    def __init__(self, *, users: dict[str, str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.users = users or {"YKTEST": "YK"}  # the public test account
        self.parcels: dict[tuple[str, str], ScriptedParcel] = {}
        self.by_invoice: dict[tuple[str, str], str] = {}
        self._doc_ids = 100365926600

    def register_parcel(self, account: str, tracking_number: str, lifecycle: Sequence[Step], *,
                        invoice_key: str | None = None, doc_id: str | None = None, start: datetime | None = None,
                        receiver: str = "AYŞE YILMAZ") -> ScriptedParcel:
        """Announce ``tracking_number`` (the cargoKey) for user ``account`` with an ``operationStatus``
        lifecycle; a step's extra may set ``cargoEventId``/``cargoReasonId``/``rejectStatus``/``returnStatus``."""
        with self._lock:
            if doc_id is None:
                self._doc_ids += 1
                doc_id = str(self._doc_ids)
            parcel = ScriptedParcel.build(account, tracking_number, lifecycle, start or self.clock.now(),
                                          invoice_key or tracking_number, {"doc_id": doc_id, "receiver": receiver})
            self.parcels[(account, tracking_number)] = parcel
            self.by_invoice[(account, invoice_key or tracking_number)] = tracking_number
        return parcel

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.parcels.clear()
            self.by_invoice.clear()

    def authenticate(self, request: Request) -> str | Response:
        return "soap"  # wsUserName/wsPassword travel in the body: see `authenticate_body`

    def authenticate_body(self, request: Request, body: bytes) -> str | Response:
        """``wsUserName``/``wsPassword`` in the body: the user is the account, a bad login Yurtiçi's
        ``outFlag=1`` answer (HTTP 200). Anything else that is wrong is left to the endpoint."""
        try:
            root = SafeET.fromstring(body, forbid_dtd=True)
        except (DefusedXmlException, ValueError, SyntaxError, LookupError):
            return "?"
        op = next((el for el in root.iter() if _local_name(el.tag) == "queryShipment"), None)
        if op is None or not (_kids(op, "wsLanguage") or [""])[0]:
            return "?"  # the endpoint answers (no such operation / language missing) as before
        user = (_kids(op, "wsUserName") or [""])[0]
        password = (_kids(op, "wsPassword") or [""])[0]
        if self.users.get(user) != password or not password:
            return _xml(_BAD_LOGIN)
        return user

    def routes(self) -> list[BaseRoute]:
        return [Route(PATH, self._endpoint, methods=["POST"])]

    def server_error_response(self, status: int) -> Response:
        return _xml(fault(936, "Beklenmeyen bir hata oluştu."), 500)

    def rate_limited_response(self, retry_after: float | None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else {}
        return Response(fault(936, "Sunucu meşgul.").encode(), status_code=503, headers=headers,
                        media_type="text/xml; charset=utf-8")

    async def _endpoint(self, request: Request) -> Response:
        canned = self.take_canned()
        if canned is not None:
            return canned
        try:
            root = SafeET.fromstring(await request.body(), forbid_dtd=True)
        except (DefusedXmlException, ValueError, SyntaxError, LookupError):
            return _xml(fault(0, "Unmarshalling Error", "Client"), 500)
        op = next((el for el in root.iter() if _local_name(el.tag) == "queryShipment"), None)
        if op is None:
            return _xml(fault(0, "Cannot find dispatch method", "Client"), 500)
        user = (_kids(op, "wsUserName") or [""])[0]
        password = (_kids(op, "wsPassword") or [""])[0]
        language = (_kids(op, "wsLanguage") or [""])[0]
        if not language:
            return _xml(envelope("<outFlag>1</outFlag><outResult>Web servis kullanıcı dili boş olamaz.</outResult>"
                                 "<errCode>82530</errCode><count>0</count>"))
        if self.users.get(user) != password or not password:
            return _xml(_BAD_LOGIN)
        keys = [k.strip() for raw in _kids(op, "keys") for k in raw.split(",") if k.strip()]
        key_type = (_kids(op, "keyType") or [""])[0]
        if not keys:
            return _xml(envelope(self._detail_error("", "82526", "Sorgulanacak anahtar değerleri boş olamaz.")))
        if key_type not in ("0", "1"):
            return _xml(envelope(self._detail_error(keys[0], "82527", "Anahtar tipi boş olamaz.")))
        history = ((_kids(op, "addHistoricalData") or ["false"])[0]).lower() == "true"
        details = [self._detail(user, key, key_type, history) for key in keys]
        return _xml(envelope(f"<outFlag>0</outFlag><outResult>Başarılı</outResult><count>{len(keys)}</count>"
                             f"<senderCustId>1010954</senderCustId>{''.join(details)}"))

    @staticmethod
    def _detail_error(key: str, code: str, message: str) -> str:
        return (f"<outFlag>0</outFlag><outResult>Başarılı</outResult><count>1</count>"
                f"<shippingDeliveryDetailVO>{_tag('cargoKey', key)}<errCode>{code}</errCode>"
                f"{_tag('errMessage', message)}<jobId>0</jobId></shippingDeliveryDetailVO>")

    def _detail(self, user: str, key: str, key_type: str, history: bool) -> str:
        with self._lock:
            cargo_key = key if key_type == "0" else self.by_invoice.get((user, key))
            parcel = self.parcels.get((user, cargo_key)) if cargo_key else None
        if parcel is None:
            return (f"<shippingDeliveryDetailVO>{_tag('cargoKey', key)}<errCode>82519</errCode>"
                    f"<errMessage>Bu kullanıcıya ait {escape(key)} kargo anahtarı bulunamadı.</errMessage>"
                    f"<jobId>0</jobId></shippingDeliveryDetailVO>")
        now = self.clock.now()
        step = parcel.current(now)
        status = step.code if step else "NOP"
        code, message = OPERATIONS.get(status, ("9", "?"))
        head = (f"{_tag('cargoKey', parcel.tracking_number)}<errCode>0</errCode>"
                f"{_tag('invoiceKey', parcel.reference)}<jobId>0</jobId><operationCode>{code}</operationCode>"
                f"{_tag('operationMessage', message)}{_tag('operationStatus', status)}")
        if step is None or status == "NOP":
            return f"<shippingDeliveryDetailVO>{head}</shippingDeliveryDetailVO>"
        if self.maybe_malformed():
            return (f"<shippingDeliveryDetailVO>{head}<shippingDeliveryItemDetailVO><deliveryDate>2024-13-45"
                    f"</deliveryDate></shippingDeliveryItemDetailVO></shippingDeliveryDetailVO>")
        item = self._item(parcel, step.code, now, history)
        return f"<shippingDeliveryDetailVO>{head}{item}</shippingDeliveryDetailVO>"

    def _item(self, parcel: ScriptedParcel, status: str, now: datetime, history: bool) -> str:
        steps = parcel.reached(now)
        last = steps[-1]
        first = parcel.steps[0]
        d = parcel.details
        delivered = status == "DLV"
        event_id, event_name = EVENTS.get(status, ("", ""))
        extra = last.extra
        parts = [
            _tag("cargoKey", parcel.tracking_number), _tag("docId", d["doc_id"]),
            _tag("senderCustName", "ÖRNEK MAĞAZA LTD"), _tag("receiverCustName", d["receiver"]),
            _tag("receiverInfo", d["receiver"] if delivered else None),
            _tag("documentDate", _d(first.at)), _tag("documentTime", _t(first.at)),
            _tag("trackingUrl", f"https://www.yurticikargo.com/tr/online-servisler/gonderi-sorgula?code={d['doc_id']}"),
            _tag("deliveryDate", _d(last.at) if delivered else None),
            _tag("deliveryTime", _t(last.at) if delivered else None),
            "<totalPrice>72.46</totalPrice><totalVat>14.49</totalVat><totalAmount>86.95</totalAmount>",
            "<arrivalUnitName>ÇANKAYA</arrivalUnitName><departureUnitName>KADIKÖY</departureUnitName>",
            "<deliveryUnitName>ÇANKAYA</deliveryUnitName>",
            _tag("cargoEventId", extra.get("cargoEventId", event_id)),
            _tag("cargoEventExplanation", extra.get("cargoEventExplanation", event_name)),
            _tag("cargoReasonId", extra.get("cargoReasonId", "OK")),
            _tag("cargoReasonExplanation", extra.get("cargoReasonExplanation", "Sorun Yok")),
            _tag("rejectStatus", extra.get("rejectStatus")),
            _tag("returnStatus", extra.get("returnStatus")),
        ]
        if history:
            for s in steps:
                eid, name = EVENTS.get(s.code, ("", s.code))
                eid = s.extra.get("cargoEventId", eid)
                if s.extra.get("cargoReasonId") in ("GOK", "KTN"):
                    name = "Kurye Dağıtımda"
                unit = ("KADIKÖY", "İSTANBUL", "KADIKÖY") if s.code == "ISR" else ("ÇANKAYA", "ANKARA", "ÇANKAYA")
                parts.append(
                    f"<invDocCargoVOArray><unitId>3412</unitId>{_tag('unitName', unit[0])}{_tag('eventId', eid)}"
                    f"{_tag('eventName', name)}<reasonId>OK</reasonId><reasonName>Sorun Yok</reasonName>"
                    f"{_tag('eventDate', _d(s.at))}{_tag('eventTime', _t(s.at))}{_tag('cityName', unit[1])}"
                    f"{_tag('townName', unit[2])}</invDocCargoVOArray>"
                )
        return f"<shippingDeliveryItemDetailVO>{''.join(parts)}</shippingDeliveryItemDetailVO>"
