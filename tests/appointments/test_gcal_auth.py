"""Google credentials: a service account with domain-wide delegation (a JWT-bearer grant signed with a
throwaway RSA key and verified by the fake) and user OAuth refresh tokens; refresh off the event loop."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import AuthenticationError, ConfigurationError
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.google_calendar import GOOGLE_TOKEN_URI, GoogleCredentials, credentials_for

from .gcal_fixtures import ACCOUNT, AYSE, START, async_client, ist, make_sandbox, rsa_key_pair, sync_client

SA_EMAIL = "takvim-sync@klinik-a.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def keys() -> tuple[str, bytes]:
    return rsa_key_pair()


def sa_creds(base: str, private: str, subject: str | None = AYSE) -> GoogleCredentials:
    return GoogleCredentials.service_account(SA_EMAIL, private, subject=subject, token_uri=f"{base}/token",
                                             private_key_id="k1")


def test_service_account_with_delegation_acts_as_the_subject(keys: tuple[str, bytes]) -> None:
    private, public = keys
    clock = FrozenClock(START)
    sb, fake = make_sandbox(clock)
    fake.register_service_account(SA_EMAIL, public, ACCOUNT)
    client = sync_client(sb, clock, sa_creds(sb.inprocess_url("google_calendar"), private))
    fake.human_insert(ACCOUNT, AYSE, ist(2, 10), ist(2, 11))
    changes = client.list_changes("primary")  # "primary" is the delegated user's calendar
    assert len(changes.events) == 1
    assert fake.token_grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    token_request = fake.requests_to("/token", "POST")[0]
    assert b"assertion=" in token_request.body and private.split("\n")[1].encode() not in token_request.body
    assert "BEGIN PRIVATE KEY" not in repr(client.auth) and "BEGIN" not in repr(client.auth.credentials)
    client.close()


def test_a_key_the_fake_does_not_know_is_refused(keys: tuple[str, bytes]) -> None:
    private, _ = keys
    _other_private, other_public = rsa_key_pair()
    clock = FrozenClock(START)
    sb, fake = make_sandbox(clock)
    fake.register_service_account(SA_EMAIL, other_public, ACCOUNT)  # registered with another key
    client = sync_client(sb, clock, sa_creds(sb.inprocess_url("google_calendar"), private))
    with pytest.raises(AuthenticationError) as info:
        client.list_events(AYSE)
    assert info.value.operation == "token_refresh" and "BEGIN" not in str(info.value)
    client.close()


def test_delegation_not_granted_is_an_authentication_error(keys: tuple[str, bytes]) -> None:
    private, public = keys
    clock = FrozenClock(START)
    sb, fake = make_sandbox(clock)
    fake.register_service_account(SA_EMAIL, public, ACCOUNT, delegation=False)
    client = sync_client(sb, clock, sa_creds(sb.inprocess_url("google_calendar"), private))
    with pytest.raises(AuthenticationError):
        client.list_events(AYSE)
    # Without a subject the service account acts as itself.
    own = sync_client(sb, clock, sa_creds(sb.inprocess_url("google_calendar"), private, subject=None))
    fake.add_calendar(ACCOUNT, SA_EMAIL)
    assert own.list_changes("primary").events == []
    client.close()
    own.close()


def test_async_refresh_does_not_block_the_event_loop(keys: tuple[str, bytes]) -> None:
    private, public = keys
    clock = FrozenClock(START)
    sb, fake = make_sandbox(clock)
    fake.register_service_account(SA_EMAIL, public, ACCOUNT)
    client = async_client(sb, clock, sa_creds(sb.inprocess_url("google_calendar"), private))
    loop_thread: list[int] = []
    refresh_threads: list[int] = []
    original = client.auth._refresh_with

    def spy(request: object, stale: str | None) -> str:
        refresh_threads.append(threading.get_ident())
        return original(request, stale)  # type: ignore[arg-type]

    client.auth._refresh_with = spy  # type: ignore[method-assign]

    async def main() -> int:
        loop_thread.append(threading.get_ident())
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        first = await client.list_changes(AYSE)
        fake.expire_access_tokens()
        await client.list_changes(AYSE, first.next_sync_token)
        task.cancel()
        await client.aclose()
        return ticks

    ticks = asyncio.run(main())
    assert len(refresh_threads) == 2 and loop_thread[0] not in refresh_threads
    assert ticks > 0 and client.auth.refreshes == 2


def test_account_settings_build_either_kind_of_credentials(keys: tuple[str, bytes]) -> None:
    private, _ = keys

    def account(**settings: object) -> IntegrationAccount:
        return IntegrationAccount(id="a", tenant_id="t1", provider="google_calendar", settings=settings,
                                  api_key_encrypted="-", created_at=START, updated_at=START)

    sa = credentials_for(account(auth="service_account", client_email=SA_EMAIL, subject=AYSE),
                         Credentials(api_key=SecretStr(private)), ConnectOptions(base_url="http://sb/google_calendar"))
    assert (sa.kind, sa.subject, sa.token_uri) == ("service_account", AYSE, "http://sb/google_calendar/token")
    key_file = json.dumps({"type": "service_account", "client_email": SA_EMAIL, "private_key": private,
                           "private_key_id": "k1", "token_uri": GOOGLE_TOKEN_URI})
    from_file = credentials_for(account(auth="service_account", subject=AYSE), Credentials(api_key=SecretStr(key_file)))
    assert from_file.client_email == SA_EMAIL and from_file.token_uri == GOOGLE_TOKEN_URI
    assert "PRIVATE" not in repr(from_file)
    user = credentials_for(account(client_id="cid"), Credentials(api_key=SecretStr("rt"), api_secret=SecretStr("cs")))
    assert user.kind == "oauth" and user.scopes == ("https://www.googleapis.com/auth/calendar.events",)
    with pytest.raises(ConfigurationError):
        credentials_for(account(), Credentials(api_key=SecretStr("rt")))
    with pytest.raises(ConfigurationError):
        credentials_for(account(auth="kerberos"), Credentials(api_key=SecretStr("rt")))
    with pytest.raises(ConfigurationError):
        GoogleCredentials.service_account(SA_EMAIL, "not a key").build()
