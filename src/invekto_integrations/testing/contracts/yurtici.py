"""Yurtiçi Kargo's conformance contract: the shared suite against `YurticiFake` (queryShipment).

Two KOPS users of the fake (``wsUserName``/``wsPassword`` in the body; a bad login is
``outFlag=1`` with ``errCode`` 1625 inside HTTP 200). Every user has the probe parcel;
`seed_records` registers cargo keys with a scripted status and `fetch_records` tracks them,
since a carrier has no listing. Raw statuses are the ``operationStatus`` table (NOP … BI) plus the
item qualifiers the mapping reads: courier hand-over (``cargoEventId`` YK with ``cargoReasonId``
GOK/KTN), the transfer event (TX), the problem reason (AAS) and the return markers
(``rejectStatus`` 9/10, ``returnStatus`` 2/3) that override a delivery.

A key the user never registered is error 82519 (`NotFound`); a registered parcel not scanned yet
is NOP, ``pending``. Not applicable: paging, incremental sync and the async listing (no listing;
account isolation is checked by reading the other user's keys); the rate-limit test (no limit is
published). Only the passwords are secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import Enum
from typing import Any

from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.models.shipments import Shipment
from invekto_integrations.providers.yurtici import PROVIDER
from invekto_integrations.providers.yurtici.mapping import (
    COURIER_REASONS,
    PROBLEM_REASON,
    RETURNED_REJECT_STATUSES,
    RETURNED_RETURN_STATUSES,
    TRANSFER_EVENT,
    YurticiOperationStatus,
    unified_status,
)
from invekto_integrations.providers.yurtici.wire import ShippingDeliveryItemDetailVO
from invekto_integrations.testing.conformance import Who
from invekto_integrations.testing.sandbox import FakeProvider
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

from ._base import CarrierContract, split_raw

__all__ = ["YurticiContract"]

_USERS = {"primary": "YKTEST", "secondary": "YKTEST2", "wrong": "YKTEST"}
_PASSWORDS = {"primary": "yk-test-sifre", "secondary": "yk-ikinci-sifre", "wrong": "yk-yanlis-sifre"}
PROBE_PARCEL = "ORD2024001"

_IND = YurticiOperationStatus.IN_DELIVERY_PROCESS.value
_DLV = YurticiOperationStatus.DELIVERED.value


class YurticiContract(CarrierContract):
    info = PROVIDER
    probe_key = PROBE_PARCEL

    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        fake = YurticiFake(clock=clock, seed=seed,
                           users={_USERS[w]: _PASSWORDS[w] for w in ("primary", "secondary")})
        for who in ("primary", "secondary"):
            fake.register_parcel(_USERS[who], PROBE_PARCEL, [(timedelta(0), "ISR"), (timedelta(0), _IND)])
        return fake

    def credentials(self, who: Who) -> Credentials:
        return Credentials(api_key=SecretStr(_USERS[who]), api_secret=SecretStr(_PASSWORDS[who]))

    def settings(self, who: Who) -> dict[str, Any]:
        return {"language": "TR"}

    def secrets(self) -> list[str]:
        return list(_PASSWORDS.values())

    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        assert isinstance(fake, YurticiFake)
        code, extra = split_raw(status or _IND)
        keys = []
        for _ in range(count):
            key = f"ORD{len(fake.parcels) + 1:07d}"
            fake.register_parcel(_USERS[who], key, [(timedelta(0), code, extra)])
            keys.append(key)
        return keys

    def record_id(self, record: Shipment) -> str:
        # The cargoKey we registered (``tracking_number`` becomes Yurtiçi's docId once scanned).
        return record.reference or record.tracking_number

    def fetch_missing(self, client: Any) -> object:
        return client.track("YOKBOYLEBIRKEY01")

    def raw_statuses(self) -> Sequence[str]:
        return [
            *(s.value for s in YurticiOperationStatus),
            *(f"{_IND}/cargoEventId=YK/cargoReasonId={reason}" for reason in sorted(COURIER_REASONS)),
            f"{_IND}/cargoEventId={TRANSFER_EVENT}",
            f"{_IND}/cargoReasonId={PROBLEM_REASON}",
            *(f"{_DLV}/rejectStatus={s}" for s in sorted(RETURNED_REJECT_STATUSES)),
            *(f"{_DLV}/returnStatus={s}" for s in sorted(RETURNED_RETURN_STATUSES)),
        ]

    def map_status(self, raw: str) -> Enum:
        code, extra = split_raw(raw)
        item = ShippingDeliveryItemDetailVO.model_validate(extra) if extra else None
        return unified_status(code, None, item)
