"""Yurtiçi Kargo's queryShipment answer, field names exactly as sent (schema from the WSDL).

``ShippingDeliveryVO`` (outFlag/outResult/errCode) → ``shippingDeliveryDetailVO*`` (one per key:
errCode, operationStatus/operationCode) → ``shippingDeliveryItemDetailVO?`` (absent until the
branch scans the parcel) → ``invDocCargoVOArray*`` (movements). All leaf values are strings.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.providers._soap import children, local_name

__all__ = ["InvDocCargoVO", "ShippingDeliveryDetailVO", "ShippingDeliveryItemDetailVO", "ShippingDeliveryVO",
           "flat"]


def flat(element: Element, *, lists: tuple[str, ...] = (), nested: dict[str, Any] | None = None) -> dict[str, Any]:
    """Leaf children as ``{name: text}``; names in ``lists`` collected as lists of elements."""
    out: dict[str, Any] = {name: [] for name in lists}
    for el in element:
        name = local_name(el.tag)
        if name in lists:
            out[name].append(el)
        elif len(el) == 0:
            text = (el.text or "").strip()
            out[name] = text or None
        else:
            out[name] = el
    return out


class _Vo(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, arbitrary_types_allowed=True)


class InvDocCargoVO(_Vo):
    unitId: str | None = None
    unitName: str | None = None
    eventId: str | None = None
    eventName: str | None = None
    reasonId: str | None = None
    reasonName: str | None = None
    eventDate: str | None = None
    eventTime: str | None = None
    cityName: str | None = None
    townName: str | None = None

    @classmethod
    def from_xml(cls, el: Element) -> InvDocCargoVO:
        return cls.model_validate(flat(el))


class ShippingDeliveryItemDetailVO(_Vo):
    cargoKey: str | None = None
    docId: str | None = None
    invoiceKey: str | None = None
    senderCustName: str | None = None
    receiverCustName: str | None = None
    receiverInfo: str | None = None
    documentDate: str | None = None
    documentTime: str | None = None
    trackingUrl: str | None = None
    deliveryDate: str | None = None
    deliveryTime: str | None = None
    arrivalUnitName: str | None = None
    departureUnitName: str | None = None
    deliveryUnitName: str | None = None
    cargoEventId: str | None = None
    cargoEventExplanation: str | None = None
    cargoReasonId: str | None = None
    cargoReasonExplanation: str | None = None
    rejectStatus: str | None = None
    rejectStatusExplanation: str | None = None
    returnStatus: str | None = None
    returnStatusExplanation: str | None = None
    invDocCargoVOArray: list[InvDocCargoVO] = Field(default_factory=list)

    @classmethod
    def from_xml(cls, el: Element) -> ShippingDeliveryItemDetailVO:
        data = flat(el, lists=("invDocCargoVOArray", "invDocFieldVOArray"))
        data["invDocCargoVOArray"] = [InvDocCargoVO.from_xml(e) for e in data["invDocCargoVOArray"]]
        data.pop("invDocFieldVOArray", None)
        return cls.model_validate(data)


class ShippingDeliveryDetailVO(_Vo):
    cargoKey: str | None = None
    invoiceKey: str | None = None
    errCode: str | None = None
    errMessage: str | None = None
    jobId: str | None = None
    operationCode: str | None = None
    operationMessage: str | None = None
    operationStatus: str | None = None
    shippingDeliveryItemDetailVO: ShippingDeliveryItemDetailVO | None = None

    @classmethod
    def from_xml(cls, el: Element) -> ShippingDeliveryDetailVO:
        data = flat(el, lists=("shippingDeliveryItemDetailVO",))
        items = data.pop("shippingDeliveryItemDetailVO")
        data["shippingDeliveryItemDetailVO"] = ShippingDeliveryItemDetailVO.from_xml(items[0]) if items else None
        return cls.model_validate(data)


class ShippingDeliveryVO(_Vo):
    outFlag: str | None = None
    outResult: str | None = None
    errCode: str | None = None
    count: str | None = None
    senderCustId: str | None = None
    shippingDeliveryDetailVO: list[ShippingDeliveryDetailVO] = Field(default_factory=list)

    @classmethod
    def from_xml(cls, el: Element) -> ShippingDeliveryVO:
        data = flat(el, lists=("shippingDeliveryDetailVO",))
        data["shippingDeliveryDetailVO"] = [ShippingDeliveryDetailVO.from_xml(e)
                                            for e in data["shippingDeliveryDetailVO"]]
        return cls.model_validate(data)


def result_vo(response: Element) -> Element | None:
    """``queryShipmentResponse`` → its ``ShippingDeliveryVO`` (older stubs call it ``return``)."""
    for name in ("ShippingDeliveryVO", "return"):
        found = next(children(response, name), None)
        if found is not None:
            return found
    return None
