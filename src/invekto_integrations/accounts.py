"""Connecting provider accounts: encrypted credentials per tenant, status, key rotation."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import SecretStr

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.crypto import CredentialCipher, DecryptionError
from invekto_integrations.core.errors import AuthenticationError, ConfigurationError
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.accounts import AccountStatus, Credentials, IntegrationAccount
from invekto_integrations.providers.base import ConnectOptions
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.storage.protocols import AccountRepository

__all__ = ["AccountService", "RotationFailure", "RotationReport"]

T = TypeVar("T")
log = logging.getLogger("invekto_integrations.accounts")


@dataclass(frozen=True)
class RotationFailure:
    """A row key rotation could not re-encrypt, and why (``reason``: ``unknown_key_id`` when its key
    id is not in the ring, ``wrong_key`` when the id is known but its key does not open the row,
    ``malformed``); the row is left as it was."""

    tenant_id: str
    account_id: str
    provider: str
    key_id: str | None
    reason: str
    message: str


@dataclass
class RotationReport:
    """What `AccountService.rotate` did: rows re-encrypted, rows already under the current key, and
    the rows it could not open (all others were rotated regardless)."""

    rotated: int = 0
    current: int = 0
    failures: list[RotationFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        text = f"{self.rotated} rotated, {self.current} already current, {len(self.failures)} failed"
        for f in self.failures:
            text += f"; {f.tenant_id}/{f.account_id} ({f.provider}, key {f.key_id!r}): {f.reason}"
        return text


class AccountService(ConciseRepr, fields=("accounts", "clock")):
    """Stores accounts with their secrets encrypted, and builds connectors from them."""

    def __init__(
        self,
        accounts: AccountRepository,
        cipher: CredentialCipher,
        *,
        registry: ProviderRegistry | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.accounts = accounts
        self.cipher = cipher
        self._registry = registry
        self.clock = clock or SystemClock()

    @property
    def registry(self) -> ProviderRegistry:
        if self._registry is None:
            self._registry = ProviderRegistry.load()
        return self._registry

    def add(
        self,
        tenant_id: str,
        provider: str,
        credentials: Credentials,
        *,
        settings: dict[str, Any] | None = None,
        display_name: str = "",
    ) -> IntegrationAccount:
        if not tenant_id:
            raise ConfigurationError("tenant_id is required")
        now = self.clock.now()
        account = IntegrationAccount(
            id=new_id(), tenant_id=tenant_id, provider=provider, display_name=display_name,
            status=AccountStatus.ACTIVE, settings=dict(settings or {}),
            api_key_encrypted=self._seal(credentials, tenant_id, provider), created_at=now, updated_at=now,
        )
        self.accounts.add(tenant_id, account)
        return account

    def credentials(self, account: IntegrationAccount) -> Credentials:
        plain = json.loads(self.cipher.decrypt(account.api_key_encrypted, tenant_id=account.tenant_id,
                                               provider=account.provider))
        return Credentials(
            api_key=SecretStr(plain["api_key"]),
            api_secret=SecretStr(plain["api_secret"]) if plain.get("api_secret") is not None else None,
            extra={k: SecretStr(v) for k, v in plain.get("extra", {}).items()},
        )

    def connect(self, account: IntegrationAccount, options: ConnectOptions | None = None) -> Any:
        return self.registry.connect(account, self.credentials(account), options)

    def connect_async(self, account: IntegrationAccount, options: ConnectOptions | None = None) -> Any:
        return self.registry.connect_async(account, self.credentials(account), options)

    @contextmanager
    def watch_auth(self, account: IntegrationAccount) -> Iterator[None]:
        """Marks the account ``invalid_credentials`` when a call inside answers 401/403."""
        try:
            yield
        except AuthenticationError:
            self.accounts.set_status(account.tenant_id, account.id, AccountStatus.INVALID_CREDENTIALS,
                                     self.clock.now())
            raise

    def guarded(self, account: IntegrationAccount, fn: Callable[[], T]) -> T:
        with self.watch_auth(account):
            return fn()

    def mark_refused(self, tenant_id: str, error: AuthenticationError) -> int:
        """Mark the tenant's active accounts of ``error.provider`` ``invalid_credentials`` (for engines
        handed a connector per tenant, e.g. ``CalendarSync(on_auth_error=service.mark_refused)``).
        Returns how many accounts changed."""
        now = self.clock.now()
        found = self.accounts.find(tenant_id, provider=error.provider, status=AccountStatus.ACTIVE)
        for account in found:
            self.accounts.set_status(tenant_id, account.id, AccountStatus.INVALID_CREDENTIALS, now)
        return len(found)

    def set_credentials(self, account: IntegrationAccount, credentials: Credentials) -> IntegrationAccount:
        """Replace an account's secret (sealed again for its tenant and provider) and make it active:
        the way out of ``invalid_credentials``."""
        now = self.clock.now()
        token = self._seal(credentials, account.tenant_id, account.provider)
        self.accounts.update_secret(account.tenant_id, account.id, token, now)
        self.accounts.set_status(account.tenant_id, account.id, AccountStatus.ACTIVE, now)
        return account.model_copy(update={"api_key_encrypted": token, "status": AccountStatus.ACTIVE,
                                          "updated_at": now})

    def rotate(self) -> RotationReport:
        """Re-encrypt every secret not under the current key. A row that cannot be opened is left as
        it is and reported (tenant, account id, key id and why); every other row is still rotated."""
        report = RotationReport()
        for tenant_id in self.accounts.tenants():
            for account in self.accounts.find(tenant_id):
                try:
                    if not self.cipher.needs_rotation(account.api_key_encrypted):
                        report.current += 1
                        continue
                    token = self.cipher.reencrypt(account.api_key_encrypted, tenant_id=tenant_id,
                                                  provider=account.provider)
                except DecryptionError as exc:
                    report.failures.append(RotationFailure(
                        tenant_id=tenant_id, account_id=account.id, provider=account.provider, key_id=exc.key_id,
                        reason=exc.reason, message=exc.message))
                    log.warning("key rotation: account %s of tenant %s not rotated (%s)", account.id, tenant_id,
                                exc.reason)
                    continue
                self.accounts.update_secret(tenant_id, account.id, token, self.clock.now())
                report.rotated += 1
        return report

    def _seal(self, credentials: Credentials, tenant_id: str, provider: str) -> str:
        return self.cipher.encrypt(json.dumps(credentials.reveal()).encode(), tenant_id=tenant_id, provider=provider)
