"""Aras Kargo's conformance contract: the shared suite against `ArasFake` (GetQueryJSON).

Two query-service users of the fake (``LoginInfo`` in the body; a bad login is Aras's plain-text
answer inside HTTP 200). Every user has the probe parcel; `seed_records` announces parcels with a
scripted status and `fetch_records` tracks them (status row + movements), since a carrier has no
listing. Raw statuses are the ``DURUM_KODU`` table (1–7) plus the qualified cases the mapping
handles: a return (``TIP_KODU`` 3 overrides delivery) and a failed attempt (``DEVIR_KODU`` at the
delivery branch).

Not applicable: paging, incremental sync and the async listing (a carrier has no listing;
account isolation is checked by reading the other user's parcels); `fetch_missing` (Aras answers
an unknown key with an empty result, the same as an announced parcel not scanned yet, which is
``pending`` and not an error); the rate-limit test (no limit is published). Only the passwords
are secrets (the user name is an identifier).
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
from invekto_integrations.providers.aras import PROVIDER
from invekto_integrations.providers.aras.mapping import ArasStatusCode, ArasTypeCode, unified_status
from invekto_integrations.testing.conformance import Who
from invekto_integrations.testing.sandbox import FakeProvider
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake

from ._base import CarrierContract, split_raw

__all__ = ["ArasContract"]

_USERS = {"primary": "fake_user", "secondary": "ikinci_kullanici", "wrong": "fake_user"}
_PASSWORDS = {"primary": "fake_pass", "secondary": "ikinci_sifre", "wrong": "yanlis_sifre"}
_CUSTOMER_CODES = {"primary": "1000000000001", "secondary": "1000000000002", "wrong": "1000000000001"}
PROBE_PARCEL = "3500000000017"


class ArasContract(CarrierContract):
    info = PROVIDER
    probe_key = PROBE_PARCEL

    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        users = {_USERS[w]: (_PASSWORDS[w], _CUSTOMER_CODES[w]) for w in ("primary", "secondary")}
        fake = ArasFake(clock=clock, seed=seed, users=users)
        for who in ("primary", "secondary"):
            fake.register_parcel(_USERS[who], PROBE_PARCEL, [(timedelta(0), "1"), (timedelta(0), "2")],
                                 reference="INV-PROBE")
        return fake

    def credentials(self, who: Who) -> Credentials:
        return Credentials(api_key=SecretStr(_USERS[who]), api_secret=SecretStr(_PASSWORDS[who]))

    def settings(self, who: Who) -> dict[str, Any]:
        return {"customer_code": _CUSTOMER_CODES[who]}

    def secrets(self) -> list[str]:
        return list(_PASSWORDS.values())

    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        assert isinstance(fake, ArasFake)
        code, extra = split_raw(status or ArasStatusCode.IN_TRANSIT.value)
        numbers = []
        for _ in range(count):
            n = len(fake.parcels) + 1
            number = f"35{n:011d}"
            fake.register_parcel(_USERS[who], number, [(timedelta(0), code, extra)], reference=f"INV{n:07d}")
            numbers.append(number)
        return numbers

    def record_id(self, record: Shipment) -> str:
        return record.tracking_number

    def raw_statuses(self) -> Sequence[str]:
        return [*(s.value for s in ArasStatusCode),
                f"{ArasStatusCode.AT_DELIVERY_BRANCH.value}/DEVIR_KODU=AY",  # wrong address: not delivered
                f"{ArasStatusCode.DELIVERED.value}/TIP_KODU={ArasTypeCode.RETURNED.value}"]

    def map_status(self, raw: str) -> Enum:
        code, extra = split_raw(raw)
        return unified_status(code, extra.get("TIP_KODU"), extra.get("DEVIR_KODU"))
