"""Return-claim sync: marketplace claims into the ``return_claims`` table, with events.

Both marketplaces list claims by *creation* date only, so a status change of an older claim is
only seen by listing it again: every run re-lists the claims created in the last
``ClaimSyncSettings.window`` (30 days by default; returns are decided well within that). Per
account and batch the engine compares each claim with its stored row, publishes
`ReturnClaimOpened` (first sight) or `ReturnClaimUpdated` (unified or raw status changed) with
deterministic dedupe keys, then upserts the rows; publishing first and deduplicating makes a
crash between the two emit nothing twice. A 401/403 marks the account ``invalid_credentials``;
any failure of one account is reported and the other accounts go on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import AuthenticationError, ConfigurationError, IntegrationError, InvalidArgument
from invekto_integrations.core.money import Money
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.claims import ReturnClaim
from invekto_integrations.models.events import DomainEvent, ReturnClaimOpened, ReturnClaimUpdated
from invekto_integrations.providers.base import ClaimSource, ConnectOptions, ProviderKind
from invekto_integrations.storage.claims import ReturnClaimRepository, StoredClaim
from invekto_integrations.storage.protocols import CheckpointRepository, OrderCacheRepository
from invekto_integrations.storage.records import Checkpoint

__all__ = [
    "CLAIMS_STREAM",
    "ClaimAccountReport",
    "ClaimAccountStatus",
    "ClaimSyncEngine",
    "ClaimSyncReport",
    "ClaimSyncSettings",
]

log = logging.getLogger("invekto_integrations.sync.claims")

CLAIMS_STREAM = "claims"


@dataclass(frozen=True)
class ClaimSyncSettings:
    window: timedelta = timedelta(days=30)  # claims created this far back are re-listed every run
    batch_size: int = 200

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.batch_size < 1:
            raise ConfigurationError("window must be positive and batch_size at least 1")


class ClaimAccountStatus(StrEnum):
    OK = "ok"
    AUTH_FAILED = "auth_failed"
    FAILED = "failed"


@dataclass
class ClaimAccountReport:
    tenant_id: str
    account_id: str
    provider: str
    status: ClaimAccountStatus = ClaimAccountStatus.OK
    fetched: int = 0
    opened: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None


@dataclass
class ClaimSyncReport:
    accounts: list[ClaimAccountReport] = field(default_factory=list)

    @property
    def opened(self) -> int:
        return sum(a.opened for a in self.accounts)

    @property
    def updated(self) -> int:
        return sum(a.updated for a in self.accounts)

    @property
    def failed(self) -> list[ClaimAccountReport]:
        return [a for a in self.accounts if a.status is not ClaimAccountStatus.OK]


class ClaimSyncEngine(ConciseRepr, fields=("clock",)):
    """Pulls the claims of every active marketplace account whose connector lists claims."""

    def __init__(self, accounts: AccountService, claims: ReturnClaimRepository, checkpoints: CheckpointRepository,
                 events: EventBus, *, orders: OrderCacheRepository | None = None, clock: Clock | None = None,
                 settings: ClaimSyncSettings | None = None,
                 options: ConnectOptions | Callable[[IntegrationAccount], ConnectOptions] | None = None) -> None:
        """``orders`` (optional) lends the customer's phone to the events; ``options`` builds each
        connector (one for all, or per account), as for `OrderSyncEngine`."""
        self.accounts = accounts
        self.claims = claims
        self.checkpoints = checkpoints
        self.events = events
        self.orders = orders
        self.clock = clock or SystemClock()
        self.settings = settings or ClaimSyncSettings()
        self._options = options

    def run(self, tenant_ids: Sequence[str] | None = None) -> ClaimSyncReport:
        """One pass over the tenants' active accounts (every tenant with an account by default)."""
        report = ClaimSyncReport()
        for tenant in tenant_ids if tenant_ids is not None else self.accounts.accounts.tenants():
            for account in self.accounts.accounts.find(tenant, status=AccountStatus.ACTIVE):
                connector = self._connect(account)
                if connector is None:
                    continue
                report.accounts.append(self.sync_account(account, connector))
        return report

    def _connect(self, account: IntegrationAccount) -> ClaimSource | None:
        try:
            info = self.accounts.registry.get(account.provider)
        except ConfigurationError:
            return None
        if info.kind is not ProviderKind.MARKETPLACE:
            return None
        options = self._options(account) if callable(self._options) else self._options
        connector = self.accounts.connect(account, options)
        if isinstance(connector, ClaimSource):
            return connector
        close = getattr(connector, "close", None)
        if callable(close):
            close()
        return None

    def sync_account(self, account: IntegrationAccount, connector: ClaimSource) -> ClaimAccountReport:
        """List the account's claims of the window, publish what changed and store them."""
        rep = ClaimAccountReport(account.tenant_id, account.id, account.provider)
        now = self.clock.now()
        first = self.checkpoints.get(account.tenant_id, account.id, CLAIMS_STREAM) is None
        try:
            with self.accounts.watch_auth(account):
                batch: list[ReturnClaim] = []
                for claim in connector.iter_claims(now - self.settings.window, now):
                    batch.append(claim)
                    if len(batch) >= self.settings.batch_size:
                        self._commit(account, batch, rep, now, backfill=first)
                        batch = []
                if batch:
                    self._commit(account, batch, rep, now, backfill=first)
            self.checkpoints.put(account.tenant_id, Checkpoint(
                tenant_id=account.tenant_id, account_id=account.id, stream=CLAIMS_STREAM, position=now,
                updated_at=self.clock.now()))
        except AuthenticationError as exc:
            rep.status, rep.error = ClaimAccountStatus.AUTH_FAILED, str(exc)
            log.warning("claims of %s account %s: credentials refused", account.provider, account.id)
        except IntegrationError as exc:
            rep.status, rep.error = ClaimAccountStatus.FAILED, str(exc)
            log.warning("claims of %s account %s failed: %s", account.provider, account.id, exc)
        finally:
            connector.close()
        return rep

    def _commit(self, account: IntegrationAccount, batch: Sequence[ReturnClaim], rep: ClaimAccountReport,
                now: datetime, *, backfill: bool) -> None:
        tenant = account.tenant_id
        # The same claim twice in one listing (paging overlap): the last one wins.
        latest = {c.external_id: c for c in batch}
        rep.fetched += len(batch)
        known = self.claims.get_many(tenant, account.provider, account.id, list(latest))
        rows: list[StoredClaim] = []
        events: list[DomainEvent] = []
        for claim in latest.values():
            row = _stored(tenant, account, claim, now)
            rows.append(row)
            prev = known.get(claim.external_id)
            if prev is not None and (prev.status, prev.raw_status) == (row.status, row.raw_status):
                continue
            events.append(self._event(account, claim, prev, backfill=backfill))
        if events:
            self.events.publish(tenant, events)
        result = self.claims.upsert_many(tenant, rows)
        rep.opened += sum(isinstance(e, ReturnClaimOpened) for e in events)
        rep.updated += sum(isinstance(e, ReturnClaimUpdated) for e in events)
        rep.unchanged += len(rows) - len(events)
        log.debug("claims of %s: %s", account.id, result)

    def _event(self, account: IntegrationAccount, claim: ReturnClaim, prev: StoredClaim | None, *,
               backfill: bool) -> DomainEvent:
        base = f"{account.provider}:{account.id}:{claim.external_id}"
        common = {
            "tenant_id": account.tenant_id, "provider": account.provider, "account_id": account.id,
            "claim_id": claim.external_id, "external_order_id": claim.order_number, "status": claim.status.value,
            "raw_status": claim.raw_status, "claimed_at": claim.created_at, "refund_amount": _refund(claim),
            "customer_phone": self._phone(account, claim.order_number),
            "reasons": sorted({line.reason for line in claim.lines if line.reason}),
            "quantity": sum(line.quantity for line in claim.lines), "backfill": backfill,
        }
        if prev is None:
            return ReturnClaimOpened(occurred_at=claim.created_at, dedupe_key=f"claim.opened:{base}", **common)
        return ReturnClaimUpdated(
            occurred_at=claim.updated_at, old_status=prev.status, old_raw_status=prev.raw_status,
            dedupe_key=f"claim.updated:{base}:{prev.raw_status}>{claim.raw_status}@{claim.updated_at.isoformat()}",
            **common)

    def _phone(self, account: IntegrationAccount, order_number: str) -> str | None:
        # Best effort: the cache is keyed by the provider's order unit (Hepsiburada: the order
        # number; Trendyol: the package id, so no match there).
        if self.orders is None:
            return None
        cached = self.orders.get(account.tenant_id, account.provider, account.id, order_number)
        return cached.customer_phone if cached is not None else None


def _refund(claim: ReturnClaim) -> Money | None:
    if claim.refund_amount is None:
        return None
    try:
        return Money(amount=claim.refund_amount, currency=claim.currency)
    except InvalidArgument:
        return None


def _stored(tenant_id: str, account: IntegrationAccount, claim: ReturnClaim, now: datetime) -> StoredClaim:
    data = claim.model_dump_json(exclude={"raw"})
    return StoredClaim(
        tenant_id=tenant_id, provider=account.provider, account_id=account.id, claim_id=claim.external_id,
        external_order_id=claim.order_number, status=claim.status.value, raw_status=claim.raw_status,
        claimed_at=claim.created_at, updated_at=claim.updated_at, refund_amount=claim.refund_amount,
        currency=claim.currency, claim_json=data, content_hash=hashlib.sha256(data.encode()).hexdigest(),
        first_seen_at=now, synced_at=now)
