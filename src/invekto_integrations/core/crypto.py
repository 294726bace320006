"""Credential cipher: AES-256-GCM with key ids, tenant binding and rotation.

Ciphertext format (ASCII, safe in any column): ``v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``.
The associated data binds a ciphertext to ``(tenant_id, provider)``: copied into another tenant's
row it fails to decrypt. Keys come from configuration (`KeyRing.from_env`), never from code.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretBytes

from .errors import ConfigurationError, IntegrationError
from .reprs import ConciseRepr

__all__ = ["CredentialCipher", "DecryptionError", "KeyRing", "generate_key"]

ENV_VAR = "INVEKTO_KEYRING"
_VERSION = "v1"


class DecryptionError(IntegrationError):
    """A ciphertext could not be opened: wrong tenant/provider, unknown key, or tampering.

    ``reason`` says which: ``unknown_key_id`` (the ring has no key of that id), ``wrong_key`` (the
    id is known but its key does not open the ciphertext), or ``malformed``; ``key_id`` is the id
    the ciphertext names, when it could be read.
    """

    def __init__(self, message: str, *, reason: str = "malformed", key_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.key_id = key_id


def generate_key() -> str:
    """A new random 256-bit key, base64url-encoded, for a key-ring entry."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _aad(tenant_id: str, provider: str) -> bytes:
    return f"invekto|{tenant_id}|{provider}".encode()


class KeyRing:
    """Named AES keys; the first (or ``current``) encrypts, any of them decrypts.

    The environment form is ``kid=base64key,kid2=base64key`` with the current key first.
    """

    def __init__(self, keys: Mapping[str, bytes], current: str | None = None) -> None:
        if not keys:
            raise ConfigurationError("the key ring is empty")
        for kid, key in keys.items():
            if not kid or "." in kid:
                raise ConfigurationError(f"invalid key id {kid!r}: non-empty, without dots")
            if len(key) != 32:
                raise ConfigurationError(f"key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
        self._keys = {kid: SecretBytes(key) for kid, key in keys.items()}
        self.current = current or next(iter(keys))
        if self.current not in self._keys:
            raise ConfigurationError(f"current key {self.current!r} is not in the ring")

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={list(self._keys)!r}, current={self.current!r})"

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def key(self, kid: str) -> bytes:
        try:
            return self._keys[kid].get_secret_value()
        except KeyError:
            raise DecryptionError(f"unknown key id {kid!r}: it is not in the key ring ({ENV_VAR})",
                                  reason="unknown_key_id", key_id=kid) from None

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        keys: dict[str, bytes] = {}
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            kid, sep, b64 = part.partition("=")
            if not sep:
                raise ConfigurationError("key ring entries look like kid=base64key")
            try:
                keys[kid.strip()] = base64.urlsafe_b64decode(b64.strip() + "=" * (-len(b64.strip()) % 4))
            except ValueError as exc:
                raise ConfigurationError(f"key {kid.strip()!r} is not valid base64") from exc
        return cls(keys)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyRing:
        env = os.environ if environ is None else environ
        text = env.get(ENV_VAR)
        if not text:
            raise ConfigurationError(f"set {ENV_VAR} to a key ring (kid=base64key,...) to store credentials")
        return cls.parse(text)

    def rotated(self, new_kid: str, new_key: bytes) -> KeyRing:
        """A ring with a new current key in front of the existing ones."""
        keys = {new_kid: new_key}
        keys.update({kid: self.key(kid) for kid in self._keys})
        return KeyRing(keys, current=new_kid)


class CredentialCipher(ConciseRepr, fields=("ring",)):
    """Encrypts and decrypts secrets bound to a tenant and a provider."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    def encrypt(self, plaintext: bytes, *, tenant_id: str, provider: str) -> str:
        nonce = secrets.token_bytes(12)  # fresh per encryption; never reused with a key
        sealed = AESGCM(self.ring.key(self.ring.current)).encrypt(nonce, plaintext, _aad(tenant_id, provider))
        return f"{_VERSION}.{self.ring.current}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, tenant_id: str, provider: str) -> bytes:
        _, kid, body = self._split(token)
        try:
            raw = base64.urlsafe_b64decode(body)
        except ValueError as exc:
            raise DecryptionError("ciphertext is not valid base64", key_id=kid) from exc
        if len(raw) < 12 + 16:
            raise DecryptionError("ciphertext is too short", key_id=kid)
        try:
            return AESGCM(self.ring.key(kid)).decrypt(raw[:12], raw[12:], _aad(tenant_id, provider))
        except InvalidTag:
            raise DecryptionError(
                f"credential does not open for tenant {tenant_id!r} / provider {provider!r}: key id {kid!r} is "
                "known, but the key under that id is not the one it was sealed with (or the row was copied "
                "from another tenant/provider, or tampered with)",
                reason="wrong_key", key_id=kid,
            ) from None

    def key_id(self, token: str) -> str:
        return self._split(token)[1]

    def needs_rotation(self, token: str) -> bool:
        return self.key_id(token) != self.ring.current

    def reencrypt(self, token: str, *, tenant_id: str, provider: str) -> str:
        return self.encrypt(self.decrypt(token, tenant_id=tenant_id, provider=provider),
                            tenant_id=tenant_id, provider=provider)

    @staticmethod
    def _split(token: str) -> tuple[str, str, str]:
        parts = token.split(".", 2)
        if len(parts) != 3 or parts[0] != _VERSION:
            raise DecryptionError("not a credential ciphertext of a known version")
        return parts[0], parts[1], parts[2]
