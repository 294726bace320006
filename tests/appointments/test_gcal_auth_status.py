"""Issue 3: a calendar that refuses the credentials marks the tenant's Google Calendar account
``invalid_credentials`` when the sync engine is wired with `AccountService.mark_refused`."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.crypto import CredentialCipher, KeyRing
from invekto_integrations.core.errors import AuthenticationError, ProviderError
from invekto_integrations.models.accounts import AccountStatus, Credentials
from invekto_integrations.storage import MemoryStore

from .gcal_fixtures import AYSE, REFRESH_TOKEN, GcalClinic


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_revoked_grant_marks_the_calendar_account(engine: str) -> None:
    gc = GcalClinic(MemoryStore(), engine=engine)
    try:
        service = AccountService(gc.store.accounts, CredentialCipher(KeyRing({"k1": os.urandom(32)})), clock=gc.clock)
        creds = Credentials(api_key=SecretStr("client-id"), api_secret=SecretStr(REFRESH_TOKEN))
        mine = service.add("t1", "google_calendar", creds)
        other_provider = service.add("t1", "whatsapp_cloud", creds)
        other_tenant = service.add("t2", "google_calendar", creds)
        target = gc.sync.engine if engine == "async" else gc.sync
        target.on_auth_error = service.mark_refused

        gc.sync.sync_calendar("t1", AYSE)  # a healthy sync leaves the account alone
        assert gc.store.accounts.get("t1", mine.id).status == AccountStatus.ACTIVE

        gc.fake.revoke_refresh_token(REFRESH_TOKEN)
        gc.clock.advance(hours=2)  # the cached access token has expired: the next call refreshes
        with pytest.raises(ProviderError) as info:
            gc.sync.sync_calendar("t1", AYSE)
        assert isinstance(info.value, AuthenticationError)
        assert gc.store.accounts.get("t1", mine.id).status == AccountStatus.INVALID_CREDENTIALS
        assert gc.store.accounts.get("t1", other_provider.id).status == AccountStatus.ACTIVE
        assert gc.store.accounts.get("t2", other_tenant.id).status == AccountStatus.ACTIVE
    finally:
        gc.close()


def test_without_the_hook_nothing_is_marked() -> None:
    gc = GcalClinic(MemoryStore())
    try:
        service = AccountService(gc.store.accounts, CredentialCipher(KeyRing({"k1": os.urandom(32)})), clock=gc.clock)
        mine = service.add("t1", "google_calendar", Credentials(api_key=SecretStr("x")))
        gc.fake.revoke_refresh_token(REFRESH_TOKEN)
        with pytest.raises(AuthenticationError):
            gc.sync.sync_calendar("t1", AYSE)
        assert gc.store.accounts.get("t1", mine.id).status == AccountStatus.ACTIVE
    finally:
        gc.close()
