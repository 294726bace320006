"""Google Calendar's conformance contract: the shared suite against `GoogleCalendarFake`.

Two OAuth users of the fake (refresh tokens of the accounts ``klinik-a`` and ``klinik-b``; the
"wrong" one is a refresh token the token endpoint refuses with ``invalid_grant``). Every client
reads its own ``primary`` calendar (the token's user), so the same probe works for both accounts.

- probe: the first page of ``events.list``;
- list_all: a full sync (``list_changes`` without a token), paged to the end (small pages);
- list_changed_since: the listing with ``updatedMin`` (what changed at or after a time, deletions
  included); the sync-token flavour is covered by the provider's own tests (a token cannot be
  rewound to an arbitrary time);
- seed/touch: events "made by hand in Google" through the fake's controls (`human_insert`,
  `human_edit`);
- fetch_missing: ``events.get`` of an id that does not exist (404 → `NotFound`).

The token exchange: the client's first request is a ``POST /token`` (google-auth's refresh). It is
set-up, not the probe: `is_probe_request` leaves successful exchanges out of the request-outcome
assertions (a refused one is the auth failure and stays in), and the fake is built with
``faults_on_token_endpoint=False`` so injected faults hit the API calls the assertions count. Token
endpoint faults are tested in tests/appointments/test_gcal_client.py.

Not applicable: the status tests. An event's ``status`` (confirmed, tentative, cancelled) has no
unified enum in the SDK (the sync reads ``cancelled`` and ``transparency`` directly), so
`raw_statuses` is not provided. Secrets: the refresh tokens and the OAuth client secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.providers.base import EventOrError
from invekto_integrations.providers.google_calendar import PROVIDER
from invekto_integrations.testing.conformance import ProviderContract, Who
from invekto_integrations.testing.sandbox import FakeProvider, RecordedRequest
from invekto_integrations.testing.sandbox.fakes.google_calendar import GoogleCalendarFake

__all__ = ["GoogleCalendarContract"]

CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - the sandbox's test secret
_REFRESH = {"primary": "rt-klinik-a", "secondary": "rt-klinik-b", "wrong": "rt-not-issued-by-the-fake"}
_ACCOUNTS = {"primary": "klinik-a", "secondary": "klinik-b"}
_PRINCIPALS = {"primary": "resepsiyon@klinik-a.example", "secondary": "resepsiyon@klinik-b.example"}
_PAGE = 20  # the listing's page size: records_for_paging (45) takes three pages


def _events(changes: Any) -> list[EventOrError]:
    return list(changes.items)


class GoogleCalendarContract(ProviderContract):
    info = PROVIDER
    records_for_paging: ClassVar[int] = 45

    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        return GoogleCalendarFake(clock=clock, seed=seed, faults_on_token_endpoint=False)

    def credentials(self, who: Who) -> Credentials:
        return Credentials(api_key=SecretStr(_REFRESH[who]), api_secret=SecretStr(CLIENT_SECRET))

    def settings(self, who: Who) -> dict[str, Any]:
        return {"auth": "oauth", "client_id": CLIENT_ID}

    def is_probe_request(self, request: RecordedRequest) -> bool:
        return not (request.path.endswith("/token") and request.outcome == "ok")

    # -- the calls ------------------------------------------------------------------------------
    def probe(self, client: Any) -> object:
        return client.list_events("primary", max_results=_PAGE)

    async def aprobe(self, client: Any) -> object:
        return await client.list_events("primary", max_results=_PAGE)

    def list_all(self, client: Any) -> list[Any]:
        return _events(client.list_changes("primary", max_results=_PAGE))

    async def alist_all(self, client: Any) -> list[Any]:
        return _events(await client.list_changes("primary", max_results=_PAGE))

    def list_changed_since(self, client: Any, since: datetime) -> list[Any]:
        return _events(client.list_changes("primary", max_results=_PAGE, updated_min=since))

    def fetch_missing(self, client: Any) -> object:
        return client.get_event("primary", "nosuchevent0000000000000000")

    def record_id(self, record: EventOrError) -> str:
        assert record.event is not None, "a quarantined record has no id"
        return record.event.id

    def is_quarantined(self, record: EventOrError) -> bool:
        return record.event is None

    # -- the fake's controls --------------------------------------------------------------------
    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        assert isinstance(fake, GoogleCalendarFake)
        if who not in _ACCOUNTS:
            raise NotImplementedError
        start = fake.clock.now() + timedelta(days=1)
        ids = []
        for i in range(count):
            at = start + timedelta(minutes=30 * i)
            event = fake.human_insert(_ACCOUNTS[who], _PRINCIPALS[who], at, at + timedelta(minutes=30),
                                      summary=f"Blok {i + 1}")
            if status is not None and status != "confirmed":
                event = fake.human_edit(_ACCOUNTS[who], _PRINCIPALS[who], event["id"], status=status)
            ids.append(str(event["id"]))
        return ids

    def touch_records(self, fake: FakeProvider, ids: Sequence[str], *, who: Who = "primary") -> None:
        assert isinstance(fake, GoogleCalendarFake)
        for event_id in ids:
            fake.human_edit(_ACCOUNTS[who], _PRINCIPALS[who], event_id, summary="Blok (düzenlendi)")
