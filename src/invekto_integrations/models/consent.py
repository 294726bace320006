"""Unified consent types (İYS: İleti Yönetim Sistemi), shared by the İYS connector and the pipeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ConsentChangeProblem",
    "ConsentChanges",
    "ConsentReceipt",
    "ConsentRecord",
    "ConsentStatus",
    "ConsentType",
    "MessageCategory",
    "RecipientType",
]


class MessageCategory(StrEnum):
    """Legal/commercial category. MARKETING needs İYS consent; the others are transactional."""

    MARKETING = "marketing"
    UTILITY = "utility"  # cargo status, appointment reminders, waitlist offers for a booked service
    AUTHENTICATION = "authentication"
    SERVICE = "service"  # free-form reply inside the 24-hour customer-service window


class ConsentType(StrEnum):
    """İYS channel types: MESAJ (SMS/MMS-type messages), ARAMA (voice call), EPOSTA (e-mail)."""

    MESAJ = "MESAJ"
    ARAMA = "ARAMA"
    EPOSTA = "EPOSTA"


class RecipientType(StrEnum):
    BIREYSEL = "BIREYSEL"  # individual consumer
    TACIR = "TACIR"  # merchant / trader


class ConsentStatus(StrEnum):
    ONAY = "ONAY"  # consent
    RET = "RET"  # rejection / withdrawal


class ConsentRecord(BaseModel):
    """One consent (or rejection) for a recipient, channel type and recipient type.

    ``recipient`` is ``+905XXXXXXXXX`` for MESAJ/ARAMA or an e-mail address for EPOSTA.
    ``consent_date`` is when the provider collected it; ``creation_date`` when İYS recorded it.
    """

    model_config = ConfigDict(frozen=True)

    recipient: str
    type: ConsentType = ConsentType.MESAJ
    recipient_type: RecipientType = RecipientType.BIREYSEL
    status: ConsentStatus
    source: str | None = None  # HS_WEB, HS_MESAJ, ... or IYS for citizen changes
    consent_date: datetime | None = None
    creation_date: datetime | None = None
    transaction_id: str | None = None
    # Brands that work with retailers (dealers, franchises): the retailer the consent came through
    # and the retailer codes allowed to see it.
    retailer_code: str | None = None
    retailer_access: tuple[str, ...] = ()


class ConsentReceipt(BaseModel):
    """What the registry answered to an added consent: its transaction id and when it recorded it
    (``creation_date`` orders this consent against the change feed)."""

    model_config = ConfigDict(frozen=True)

    transaction_id: str
    creation_date: datetime | None = None


class ConsentChangeProblem(BaseModel):
    """A change-feed element that does not match the documented consent shape (kept out of the cache)."""

    model_config = ConfigDict(frozen=True)

    index: int  # position in the page's ``list``
    recipient: str | None = None
    field: str | None = None
    error: str
    raw: Any = None


class ConsentChanges(BaseModel):
    """One page of the consent change feed and the cursor to pass next time.

    ``problems`` lists elements that could not be read; the rest of the page is in ``items``.
    """

    model_config = ConfigDict(frozen=True)

    after: str | None
    items: list[ConsentRecord] = Field(default_factory=list)
    problems: list[ConsentChangeProblem] = Field(default_factory=list)
