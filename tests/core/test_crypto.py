from __future__ import annotations

import base64
import os

import pytest
from pydantic import SecretStr

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.crypto import CredentialCipher, DecryptionError, KeyRing, generate_key
from invekto_integrations.core.errors import AuthenticationError, ConfigurationError
from invekto_integrations.models.accounts import AccountStatus, Credentials
from invekto_integrations.storage import MemoryStore, SQLiteStore


def ring(*kids: str) -> KeyRing:
    return KeyRing({kid: base64.urlsafe_b64decode(generate_key()) for kid in kids})


def test_round_trip_and_fresh_nonce() -> None:
    cipher = CredentialCipher(ring("k1"))
    a = cipher.encrypt(b"secret", tenant_id="t1", provider="trendyol")
    b = cipher.encrypt(b"secret", tenant_id="t1", provider="trendyol")
    assert a != b  # a fresh nonce each time
    assert a.startswith("v1.k1.")
    assert cipher.decrypt(a, tenant_id="t1", provider="trendyol") == b"secret"


@pytest.mark.parametrize(("tenant", "provider"), [("t2", "trendyol"), ("t1", "hepsiburada")])
def test_ciphertext_bound_to_tenant_and_provider(tenant: str, provider: str) -> None:
    cipher = CredentialCipher(ring("k1"))
    token = cipher.encrypt(b"secret", tenant_id="t1", provider="trendyol")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, tenant_id=tenant, provider=provider)


def test_tampering_and_garbage_fail() -> None:
    cipher = CredentialCipher(ring("k1"))
    token = cipher.encrypt(b"secret", tenant_id="t1", provider="p")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (flipped, "v1.k1.@@@", "v2.k1.abc", "nonsense", "v1.unknown." + token.split(".", 2)[2]):
        with pytest.raises(DecryptionError):
            cipher.decrypt(bad, tenant_id="t1", provider="p")


def test_key_ring_from_env() -> None:
    k1, k2 = generate_key(), generate_key()
    parsed = KeyRing.from_env({"INVEKTO_KEYRING": f"new={k2}, old={k1}"})
    assert parsed.current == "new" and parsed.key_ids == ["new", "old"]
    assert k1 not in repr(parsed) and k2 not in repr(parsed)
    with pytest.raises(ConfigurationError):
        KeyRing.from_env({})
    with pytest.raises(ConfigurationError):
        KeyRing.parse("k1=" + base64.urlsafe_b64encode(b"short").decode())


@pytest.mark.parametrize("store_factory", [MemoryStore, SQLiteStore])
def test_rotation_reencrypts_every_row(store_factory: type) -> None:
    store = store_factory()
    old = ring("old")
    service = AccountService(store.accounts, CredentialCipher(old))
    creds = Credentials(api_key=SecretStr("KEY-123"), api_secret=SecretStr("SECRET-456"))
    a = service.add("t1", "trendyol", creds, settings={"seller_id": "1234"})
    b = service.add("t2", "hepsiburada", creds)

    new_ring = old.rotated("new", base64.urlsafe_b64decode(generate_key()))
    rotated = AccountService(store.accounts, CredentialCipher(new_ring))
    first = rotated.rotate()
    assert (first.rotated, first.current, first.failures) == (2, 0, [])
    again = rotated.rotate()
    assert (again.rotated, again.current) == (0, 2)  # idempotent
    for acc in (a, b):
        fresh = store.accounts.get(acc.tenant_id, acc.id)
        assert fresh is not None and fresh.api_key_encrypted.startswith("v1.new.")
        assert rotated.credentials(fresh).api_secret.get_secret_value() == "SECRET-456"  # type: ignore[union-attr]
    # The old ring alone can no longer read rotated rows.
    fresh_a = store.accounts.get("t1", a.id)
    assert fresh_a is not None
    with pytest.raises(DecryptionError):
        service.credentials(fresh_a)


def test_secret_copied_to_another_tenant_row_fails() -> None:
    store = MemoryStore()
    service = AccountService(store.accounts, CredentialCipher(ring("k")))
    creds = Credentials(api_key=SecretStr("KEY"))
    a = service.add("t1", "trendyol", creds)
    b = service.add("t2", "trendyol", Credentials(api_key=SecretStr("OTHER")))
    store.accounts.update_secret("t2", b.id, a.api_key_encrypted, b.updated_at)
    stolen = store.accounts.get("t2", b.id)
    assert stolen is not None
    with pytest.raises(DecryptionError):
        service.credentials(stolen)


def test_credentials_never_in_repr() -> None:
    """Reprs only; logs and error texts of whole flows: tests/sync/test_secrets_whole_flows.py."""
    store = MemoryStore()
    service = AccountService(store.accounts, CredentialCipher(ring("k")))
    creds = Credentials(api_key=SecretStr("KEY-PLAIN"), api_secret=SecretStr("SECRET-PLAIN"),
                        extra={"app_secret": SecretStr("APP-PLAIN")})
    account = service.add("t1", "trendyol", creds)
    loaded = service.credentials(account)
    texts = [repr(creds), str(creds), repr(loaded), repr(account), str(account), creds.model_dump_json()]
    for text in texts:
        for plain in ("KEY-PLAIN", "SECRET-PLAIN", "APP-PLAIN"):
            assert plain not in text


def test_auth_failure_marks_account_invalid() -> None:
    store = MemoryStore()
    service = AccountService(store.accounts, CredentialCipher(ring("k")))
    account = service.add("t1", "trendyol", Credentials(api_key=SecretStr("K")))

    def call() -> None:
        raise AuthenticationError("refused", provider="trendyol", status=401)

    with pytest.raises(AuthenticationError):
        service.guarded(account, call)
    found = store.accounts.get("t1", account.id)
    assert found is not None and found.status is AccountStatus.INVALID_CREDENTIALS


@pytest.mark.parametrize("store_factory", [MemoryStore, SQLiteStore])
def test_rotation_rotates_every_row_it_can_and_reports_the_others(store_factory: type) -> None:
    """Issue 13, defect 10: a row that cannot be opened no longer stops rotation of the rest."""
    store = store_factory()
    old = ring("old")
    service = AccountService(store.accounts, CredentialCipher(old))
    creds = Credentials(api_key=SecretStr("KEY-123"), api_secret=SecretStr("SECRET-456"))
    first = service.add("t1", "trendyol", creds)
    # a row sealed with another key of the same id (a re-generated "old" key): id known, key wrong
    wrong = AccountService(store.accounts, CredentialCipher(ring("old"))).add("t1", "hepsiburada", creds)
    # a row under a key id nobody kept
    lost = AccountService(store.accounts, CredentialCipher(ring("lost"))).add("t2", "aras", creds)
    last = service.add("t2", "yurtici", creds)

    rotated = AccountService(store.accounts, CredentialCipher(old.rotated("new", os.urandom(32))))
    report = rotated.rotate()
    assert report.rotated == 2 and not report.ok
    for acc in (first, last):
        fresh = store.accounts.get(acc.tenant_id, acc.id)
        assert fresh is not None and fresh.api_key_encrypted.startswith("v1.new.")
        assert rotated.credentials(fresh).api_key.get_secret_value() == "KEY-123"
    by_account = {f.account_id: f for f in report.failures}
    assert set(by_account) == {wrong.id, lost.id}
    assert (by_account[wrong.id].tenant_id, by_account[wrong.id].key_id, by_account[wrong.id].reason) == \
        ("t1", "old", "wrong_key")
    assert "key id 'old' is known" in by_account[wrong.id].message
    assert (by_account[lost.id].tenant_id, by_account[lost.id].key_id, by_account[lost.id].reason) == \
        ("t2", "lost", "unknown_key_id")
    assert wrong.id in report.summary() and "KEY-123" not in report.summary()
    untouched = store.accounts.get("t1", wrong.id)
    assert untouched is not None and untouched.api_key_encrypted == wrong.api_key_encrypted
