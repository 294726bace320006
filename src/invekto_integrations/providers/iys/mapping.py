"""İYS raw codes and formats → unified consent types."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from invekto_integrations.core.errors import InvalidArgument, PayloadError
from invekto_integrations.core.phone import tr_phone_by_format
from invekto_integrations.models.consent import ConsentRecord, ConsentStatus, ConsentType, RecipientType

from .wire import WireConsent

__all__ = [
    "PROVIDER",
    "TR_TZ",
    "ConsentSourceCode",
    "IysErrorCode",
    "format_iys_date",
    "iys_recipient",
    "parse_iys_date",
    "to_consent",
    "to_wire",
]

PROVIDER = "iys"
TR_TZ = ZoneInfo("Europe/Istanbul")
_FORMAT = "%Y-%m-%d %H:%M:%S"


class ConsentSourceCode(StrEnum):
    """How the provider (HS = hizmet sağlayıcı) obtained a consent (``source``)."""

    HS_FIZIKSEL_ORTAM = "HS_FIZIKSEL_ORTAM"
    HS_ISLAK_IMZA = "HS_ISLAK_IMZA"
    HS_WEB = "HS_WEB"
    HS_CAGRI_MERKEZI = "HS_CAGRI_MERKEZI"
    HS_SOSYAL_MEDYA = "HS_SOSYAL_MEDYA"
    HS_EPOSTA = "HS_EPOSTA"
    HS_MESAJ = "HS_MESAJ"
    HS_MOBIL = "HS_MOBIL"
    HS_EORTAM = "HS_EORTAM"
    HS_ETKINLIK = "HS_ETKINLIK"
    HS_2015 = "HS_2015"
    HS_ATM = "HS_ATM"
    HS_KARAR = "HS_KARAR"


class IysErrorCode(StrEnum):
    """Codes seen in client code and tests (the full list is at apidocs.iys.org.tr)."""

    TOKEN_HOURLY_LIMIT = "H084"  # noqa: S105 - an error code, not a secret
    INVALID_TOKEN = "H351"  # noqa: S105
    RATE_LIMIT = "H124"
    FIRST_RECORD_RET = "H175"
    RECIPIENTS_NOT_FOUND = "H168"
    SEARCH_FAILED = "H103"


def parse_iys_date(value: str | None) -> datetime | None:
    """``YYYY-MM-DD HH:mm:ss`` in Turkey local time → aware UTC-comparable datetime."""
    if not value:
        return None
    text = value.strip()
    try:
        return datetime.strptime(text[:19], _FORMAT).replace(tzinfo=TR_TZ)
    except ValueError:
        parsed = datetime.fromisoformat(text)  # tolerate ISO-8601 if a client/proxy sends it
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=TR_TZ)


def format_iys_date(value: datetime) -> str:
    return value.astimezone(TR_TZ).strftime(_FORMAT)


def to_consent(w: WireConsent) -> ConsentRecord:
    """A wire consent → `ConsentRecord`; a value outside the documented enums or date format is a
    `PayloadError` naming the field and the recipient."""
    field = "type"
    try:
        ctype = ConsentType(w.type)
        field = "recipientType"
        rtype = RecipientType(w.recipientType)
        field = "status"
        status = ConsentStatus(w.status)
        field = "consentDate"
        consent_date = parse_iys_date(w.consentDate)
        field = "creationDate"
        creation_date = parse_iys_date(w.creationDate)
    except ValueError as exc:
        raise PayloadError(f"{field}: {exc}", provider=PROVIDER, field=field, record=w.recipient) from exc
    return ConsentRecord(recipient=w.recipient, type=ctype, recipient_type=rtype, status=status, source=w.source,
                         consent_date=consent_date, creation_date=creation_date, transaction_id=w.transactionId,
                         retailer_code=w.retailerCode, retailer_access=tuple(w.retailerAccess or ()))


def iys_recipient(recipient: str, ctype: ConsentType) -> str:
    """The recipient as İYS takes it: ``+90`` and ten digits for MESAJ/ARAMA (judged by format, not
    by libphonenumber's allocated ranges), an e-mail address for EPOSTA."""
    if ctype == ConsentType.EPOSTA:
        if "@" not in recipient.strip():
            raise InvalidArgument(f"not an e-mail address: {recipient!r}", provider=PROVIDER, field="recipient")
        return recipient.strip()
    found = tr_phone_by_format(recipient)
    if found is None:
        raise InvalidArgument(f"not a +90 number with ten digits: {recipient!r}", provider=PROVIDER,
                              field="recipient")
    return found


def to_wire(c: ConsentRecord, *, default_source: str = ConsentSourceCode.HS_MESAJ) -> dict[str, Any]:
    if c.consent_date is None:
        raise InvalidArgument("consent_date is required to register a consent", provider=PROVIDER,
                              field="consent_date", record=c.recipient)
    body: dict[str, Any] = {
        "recipient": iys_recipient(c.recipient, c.type), "type": c.type.value, "source": c.source or default_source,
        "status": c.status.value, "consentDate": format_iys_date(c.consent_date),
        "recipientType": c.recipient_type.value,
    }
    if c.retailer_code is not None:
        body["retailerCode"] = c.retailer_code
    if c.retailer_access:
        body["retailerAccess"] = list(c.retailer_access)
    return body
