"""İYS's conformance contract: the shared suite against `IysFake`.

Two API users of the fake (İYS codes ``700001`` and ``700002``, one brand each); the "wrong" one
is the first user with a wrong password, refused by ``POST /oauth2/token`` (a password grant).

- probe: ``POST …/consents/status`` for a recipient every account has on record (a read, retried
  like one; a recipient without a record is İYS's 404, read as "no consent", ``None``);
- list_all: the provider-side change feed (``GET …/consents/changes?source=HS``) from the start,
  following the ``after`` cursor in small pages; a malformed element is a `ConsentChangeProblem`
  (quarantined), the rest of the page is kept;
- seed_records: consents put in place through the fake's controls (source HS), one recipient each,
  ``+90`` and ten digits; the record id is the recipient;
- raw_statuses: ``ONAY`` and ``RET`` → `ConsentStatus`, read back end to end through the feed.

The token exchange is set-up, as for Google: `is_probe_request` leaves successful exchanges out of
the request-outcome assertions (a refused one is the auth failure and stays in) and the fake keeps
injected faults off the token endpoint. Not applicable: incremental sync by time (the feed is
cursor based), `fetch_missing` (no record is ``None``, not an error). Secrets: the passwords.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, ClassVar

from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.models.consent import ConsentChangeProblem, ConsentRecord, ConsentStatus
from invekto_integrations.providers.iys import PROVIDER
from invekto_integrations.testing.conformance import ProviderContract, Who
from invekto_integrations.testing.sandbox import FakeProvider, RecordedRequest
from invekto_integrations.testing.sandbox.fakes.iys import IysFake

__all__ = ["IysContract"]

_USERS = {"primary": "iys-api-a", "secondary": "iys-api-b", "wrong": "iys-api-a"}
_PASSWORDS = {"primary": "iys-pass-a", "secondary": "iys-pass-b", "wrong": "yanlis-sifre"}
_CODES = {"primary": "700001", "secondary": "700002", "wrong": "700001"}
PROBE_RECIPIENT = "+905320000000"
_PAGE = 20


class IysContract(ProviderContract):
    info = PROVIDER
    records_for_paging: ClassVar[int] = 45

    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        fake = IysFake(clock=clock, seed=seed, faults_on_token_endpoint=False)
        for code in ("700001", "700002"):  # the probe reads a record (a 200 with a body to check)
            fake.seed_consent(code, code, PROBE_RECIPIENT)
        return fake

    def credentials(self, who: Who) -> Credentials:
        return Credentials(api_key=SecretStr(_USERS[who]), api_secret=SecretStr(_PASSWORDS[who]))

    def settings(self, who: Who) -> dict[str, Any]:
        return {"iys_code": _CODES[who], "brand_code": _CODES[who]}

    def secrets(self) -> list[str]:
        return list(_PASSWORDS.values())  # the user name is an identifier

    def is_probe_request(self, request: RecordedRequest) -> bool:
        return not (request.path.endswith("/oauth2/token") and request.outcome == "ok")

    # -- the calls ------------------------------------------------------------------------------
    def probe(self, client: Any) -> object:
        return client.query_consent(PROBE_RECIPIENT)

    async def aprobe(self, client: Any) -> object:
        return await client.query_consent(PROBE_RECIPIENT)

    def list_all(self, client: Any) -> list[Any]:
        out: list[Any] = []
        for page in client.iter_changes(source="HS", limit=_PAGE):
            out += [*page.items, *page.problems]
        return out

    async def alist_all(self, client: Any) -> list[Any]:
        out: list[Any] = []
        async for page in client.iter_changes(source="HS", limit=_PAGE):
            out += [*page.items, *page.problems]
        return out

    def record_id(self, record: ConsentRecord) -> str:
        return record.recipient

    def is_quarantined(self, record: Any) -> bool:
        return isinstance(record, ConsentChangeProblem)

    # -- the fake's controls --------------------------------------------------------------------
    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        assert isinstance(fake, IysFake)
        code = _CODES[who]
        ids = []
        for _ in range(count):
            n = sum(len(rows) for rows in fake.consents.values()) + 1
            recipient = f"+90581{n:07d}"  # a range libphonenumber calls unallocated: İYS judges by format
            fake.seed_consent(code, code, recipient, status or "ONAY")
            ids.append(recipient)
        return ids

    # -- statuses -------------------------------------------------------------------------------
    def raw_statuses(self) -> Sequence[str]:
        return [s.value for s in ConsentStatus]

    def map_status(self, raw: str) -> Enum:
        return ConsentStatus(raw)

    def record_status(self, record: Any) -> Enum | None:
        return record.status if isinstance(record, ConsentRecord) else None
