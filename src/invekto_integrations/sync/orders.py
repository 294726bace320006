"""Order sync: marketplace orders into the tenant's orders cache, incrementally, with events.

`OrderSyncEngine` pulls every active marketplace account of the chosen tenants concurrently
(asyncio; each connector carries its account's token bucket, the engine bounds how many accounts
run at once). Per account it:

1. reads the account's checkpoint (stream ``"orders"``): none yet → **backfill** (the last
   ``SyncSettings.backfill``, bounded by the provider's history limit); otherwise **incremental**
   from the checkpoint minus an **overlap** window, so updates that the provider indexed late are
   not missed;
2. walks ``[since, now)`` in chunks (``SyncSettings.chunk``), streaming the connector's
   ``iter_orders_changed`` in batches: one batch in memory at a time, whatever the volume;
3. per batch: quarantines malformed records (`QuarantineRepository`, stored whole with the
   `PayloadError` naming provider, record and field), compares each order with its cached row,
   publishes `OrderCreated` / `OrderStatusChanged` / `TrackingCodeAssigned` through the
   `EventBus` with deterministic dedupe keys, then upserts the rows (idempotent by
   (tenant, provider, account, external id) and content hash);
4. after each chunk, moves the checkpoint to the chunk's end, so an interrupted backfill resumes
   where it stopped.

Events are published *before* the upsert: if the process dies in between, the next run sees the
same change again and the event log's dedupe key drops the repeat, so a change is emitted once.
A 401/403 marks the account ``invalid_credentials`` (`AccountService.watch_auth`); any failure of
one account is reported in its `AccountSyncReport` and the other accounts go on.

The engine depends on the `AsyncMarketplace` protocol only: connectors come from
`AccountService.connect_async`, i.e. from the provider registry. A connector may expose an
optional ``history_limit: timedelta`` (how far back its provider lists orders).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import pydantic_core

from invekto_integrations.accounts import AccountService
from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import (
    AuthenticationError,
    ConfigurationError,
    IntegrationError,
    InvalidArgument,
    PayloadError,
)
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.money import Money
from invekto_integrations.core.phone import try_normalize_phone
from invekto_integrations.core.reprs import ConciseRepr, html_table
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import AccountStatus, IntegrationAccount
from invekto_integrations.models.events import DomainEvent, OrderCreated, OrderStatusChanged, TrackingCodeAssigned
from invekto_integrations.models.orders import Order
from invekto_integrations.providers.base import AsyncMarketplace, ConnectOptions, OrderOrError, ProviderKind
from invekto_integrations.storage.protocols import (
    CheckpointRepository,
    EventLog,
    OrderCacheRepository,
    QuarantineRepository,
)
from invekto_integrations.storage.records import CachedOrder, Checkpoint, QuarantinedRecord

__all__ = [
    "STREAM",
    "AccountSyncReport",
    "AccountSyncStatus",
    "OrderSyncEngine",
    "ProgressCallback",
    "QuarantineNote",
    "SyncMode",
    "SyncProgress",
    "SyncRunReport",
    "SyncSettings",
    "cached_order_from",
]

log = logging.getLogger("invekto_integrations.sync.orders")
T = TypeVar("T")

STREAM = "orders"
_BACKFILL_CURSOR = "backfill"


class SyncMode(StrEnum):
    AUTO = "auto"  # backfill on first connection (or to resume one), incremental afterwards
    BACKFILL = "backfill"
    INCREMENTAL = "incremental"


class AccountSyncStatus(StrEnum):
    OK = "ok"
    AUTH_FAILED = "auth_failed"  # the provider refused the credentials; account marked invalid_credentials
    FAILED = "failed"  # provider unavailable after retries, page-level payload error, storage error ...
    SKIPPED = "skipped"  # a sync of this account was already running


@dataclass(frozen=True)
class SyncSettings:
    """Tuning of the order sync; the defaults suit Trendyol and Hepsiburada polling every 5–15 min."""

    overlap: timedelta = timedelta(minutes=15)
    backfill: timedelta = timedelta(days=90)
    history_limit: timedelta = timedelta(days=90)
    history_limits: dict[str, timedelta] = field(default_factory=dict)  # per provider name
    history_margin: timedelta = timedelta(minutes=10)  # stay this far inside the history limit
    chunk: timedelta = timedelta(days=7)
    batch_size: int = 200
    max_concurrency: int = 8
    max_quarantine_notes: int = 50

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_concurrency < 1:
            raise ConfigurationError("batch_size and max_concurrency must be at least 1")
        if self.chunk <= timedelta(0) or self.overlap < timedelta(0) or self.backfill <= timedelta(0):
            raise ConfigurationError("chunk and backfill must be positive, overlap not negative")


@dataclass(frozen=True)
class QuarantineNote:
    """A malformed record that was quarantined: which provider, account, record and field."""

    provider: str
    account_id: str
    record_id: str | None
    field: str | None
    message: str


@dataclass(frozen=True)
class SyncProgress:
    """Where one account's sync is; passed to the progress callback after every batch and chunk."""

    tenant_id: str
    account_id: str
    provider: str
    mode: SyncMode
    since: datetime
    until: datetime
    position: datetime  # everything modified before this is done
    chunks_done: int
    chunks_total: int
    fetched: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    done: bool = False

    @property
    def fraction(self) -> float:
        if self.done:
            return 1.0
        span = (self.until - self.since).total_seconds()
        if span <= 0:
            return 1.0
        return max(0.0, min(1.0, (self.position - self.since).total_seconds() / span))


ProgressCallback = Callable[[SyncProgress], None]


@dataclass(frozen=True)
class AccountSyncReport:
    """What one account's sync did."""

    tenant_id: str
    account_id: str
    provider: str
    mode: SyncMode
    status: AccountSyncStatus
    since: datetime | None
    until: datetime | None
    started_at: datetime
    finished_at: datetime
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    events: int = 0
    history_clamped: bool = False  # the checkpoint was older than the provider's history: a gap
    checkpoint: datetime | None = None
    error: str | None = None
    quarantine: tuple[QuarantineNote, ...] = ()

    @property
    def upserted(self) -> int:
        return self.inserted + self.updated

    @property
    def ok(self) -> bool:
        return self.status is AccountSyncStatus.OK

    def __repr__(self) -> str:
        return f"<AccountSyncReport {self.summary()}>"

    def summary(self) -> str:
        head = f"{self.tenant_id}/{self.provider} [{self.mode.value}] {self.status.value}"
        counts = (f"fetched={self.fetched} inserted={self.inserted} updated={self.updated} "
                  f"unchanged={self.unchanged} quarantined={self.quarantined} events={self.events}")
        return f"{head}: {counts}" + (f" error={self.error}" if self.error else "")


@dataclass(frozen=True)
class SyncRunReport:
    """Every account's report of one run."""

    started_at: datetime
    finished_at: datetime
    accounts: tuple[AccountSyncReport, ...]

    def _sum(self, name: str) -> int:
        return sum(int(getattr(a, name)) for a in self.accounts)

    @property
    def fetched(self) -> int:
        return self._sum("fetched")

    @property
    def inserted(self) -> int:
        return self._sum("inserted")

    @property
    def updated(self) -> int:
        return self._sum("updated")

    @property
    def unchanged(self) -> int:
        return self._sum("unchanged")

    @property
    def quarantined(self) -> int:
        return self._sum("quarantined")

    @property
    def events(self) -> int:
        return self._sum("events")

    @property
    def failed(self) -> list[AccountSyncReport]:
        return [a for a in self.accounts if a.status in (AccountSyncStatus.FAILED, AccountSyncStatus.AUTH_FAILED)]

    def __repr__(self) -> str:
        failed = f" failed={len(self.failed)}" if self.failed else ""
        return (f"<SyncRunReport accounts={len(self.accounts)}{failed} fetched={self.fetched} new={self.inserted} "
                f"changed={self.updated} unchanged={self.unchanged} quarantined={self.quarantined} "
                f"events={self.events}>")

    def __str__(self) -> str:
        return "\n".join([repr(self), *(f"  {a.summary()}" for a in self.accounts)])

    def _repr_html_(self) -> str:
        return html_table(f"Sync run {self.started_at:%Y-%m-%d %H:%M}: {len(self.accounts)} account(s)",
                          ["account", "mode", "status", "fetched", "new", "changed", "unchanged", "quarantined",
                           "events", "error"],
                          ([f"{a.tenant_id}/{a.provider}", a.mode, a.status, a.fetched, a.inserted, a.updated,
                            a.unchanged, a.quarantined, a.events, a.error] for a in self.accounts))

    def for_account(self, account_id: str) -> AccountSyncReport:
        for a in self.accounts:
            if a.account_id == account_id:
                return a
        raise KeyError(account_id)


class SyncStore(Protocol):
    """The repositories the engine needs (`MemoryStore` and `SQLiteStore` both fit)."""

    # Read-only properties: a store may hold more specific types (``SQLiteOrderCache``).
    @property
    def orders(self) -> OrderCacheRepository: ...
    @property
    def checkpoints(self) -> CheckpointRepository: ...
    @property
    def quarantine(self) -> QuarantineRepository: ...
    @property
    def events(self) -> EventLog: ...


def cached_order_from(account: IntegrationAccount, order: Order, *, now: datetime,
                      existing: CachedOrder | None = None) -> CachedOrder:
    """The ``orders_cache`` row of a unified order: the order (without its raw payload) as
    ``order_data_json``, the raw payload beside it, and a hash of the order for change detection."""
    data = order.model_dump_json(exclude={"raw"})
    # The hash leaves out updated_at: some feeds only give a lower bound for it (Hepsiburada packages:
    # the listing window's start), and a newer timestamp on identical content is not a change.
    content = _without_updated_at(data)
    return CachedOrder(
        id=existing.id if existing else new_id(), tenant_id=account.tenant_id, provider=account.provider,
        account_id=account.id, external_order_id=order.external_id,
        customer_phone=_e164(order.customer.phone),
        tracking_code=order.cargo.tracking_number or None, order_status=order.status.value,
        ordered_at=order.ordered_at, order_data_json=data,
        raw_json=_json_text(order.raw) if order.raw is not None else None,
        content_hash=hashlib.sha256(content.encode()).hexdigest(), synced_at=now,
        created_at=existing.created_at if existing else now,
    )


def _json_text(value: Any) -> str:
    """Compact JSON, in Rust (``json.dumps`` of the raw payload was a fifth of a commit); a lone
    surrogate from a hostile body cannot be UTF-8, so that payload falls back to ASCII escapes."""
    try:
        return pydantic_core.to_json(value, fallback=str).decode()
    except pydantic_core.PydanticSerializationError:
        return json.dumps(value, default=str)


_UPDATED_AT = ',"updated_at":"'


def _without_updated_at(data: str) -> str:
    """``order.model_dump_json(exclude={"raw", "updated_at"})`` cut out of the full dump instead of a
    second serialization. The key's first occurrence is the top-level one: string values escape
    their quotes, and the nested objects come after it; its value is a timestamp (no escapes)."""
    start = data.find(_UPDATED_AT)
    if start < 0:
        raise ValueError("order JSON without updated_at")
    end = data.index('"', start + len(_UPDATED_AT))
    return data[:start] + data[end + 1:]


_E164 = re.compile(r"\+[1-9]\d{7,14}")


def _e164(phone: str | None) -> str | None:
    """Connectors give E.164 already (the fast path); anything else is normalized or dropped."""
    if not phone:
        return None
    if _E164.fullmatch(phone):
        return phone
    return try_normalize_phone(phone)


def _check(order: Order) -> None:
    """What the cache needs beyond the model: an id and timezone-aware times."""
    if not order.external_id:
        raise PayloadError("empty external id", provider=order.provider, field="external_id",
                           record=order.order_number or None)
    for name in ("ordered_at", "updated_at"):
        if getattr(order, name).tzinfo is None:
            raise PayloadError("naive timestamp (no timezone)", provider=order.provider, field=name,
                               record=order.external_id)


def _updated_at(row: CachedOrder) -> datetime | None:
    try:
        return Order.model_validate_json(row.order_data_json).updated_at
    except ValueError:
        return None


@dataclass
class _Counters:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    events: int = 0
    notes: list[QuarantineNote] = field(default_factory=list)
    seen_bad: set[tuple[str | None, str]] = field(default_factory=set)


class OrderSyncEngine(ConciseRepr, fields=("orders", "clock")):
    """Syncs marketplace orders of many tenants and accounts into the orders cache."""

    def __init__(
        self,
        accounts: AccountService,
        orders: OrderCacheRepository,
        checkpoints: CheckpointRepository,
        quarantine: QuarantineRepository,
        bus: EventBus,
        *,
        options: ConnectOptions | Callable[[IntegrationAccount], ConnectOptions] | None = None,
        settings: SyncSettings | None = None,
        clock: Clock | None = None,
        offload_storage: bool = True,
    ) -> None:
        """``options`` builds each connector (one for all, or per account, e.g. per sandbox URL);
        ``offload_storage`` runs repository calls in worker threads so HTTP keeps flowing."""
        self.accounts = accounts
        self.orders = orders
        self.checkpoints = checkpoints
        self.quarantine = quarantine
        self.bus = bus
        self._options = options
        self.settings = settings or SyncSettings()
        self.clock = clock or bus.clock or SystemClock()
        self.offload_storage = offload_storage
        self._running: set[tuple[str, str]] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_store(cls, store: SyncStore, accounts: AccountService, **kw: Any) -> OrderSyncEngine:
        """An engine over a `MemoryStore`/`SQLiteStore` (events published on ``store.events``)."""
        clock = kw.get("clock") or accounts.clock
        kw.setdefault("clock", clock)
        return cls(accounts, store.orders, store.checkpoints, store.quarantine, EventBus(store.events, clock), **kw)

    # -- selection ---------------------------------------------------------------------------------
    def marketplace_accounts(self, tenant_ids: Sequence[str] | None = None,
                             account_ids: Sequence[str] | None = None) -> list[IntegrationAccount]:
        """Active accounts of marketplace providers (unknown providers are skipped with a warning)."""
        tenants = list(tenant_ids) if tenant_ids is not None else self.accounts.accounts.tenants()
        wanted = set(account_ids) if account_ids is not None else None
        out = []
        for tenant in tenants:
            for account in self.accounts.accounts.find(tenant, status=AccountStatus.ACTIVE):
                if wanted is not None and account.id not in wanted:
                    continue
                try:
                    info = self.accounts.registry.get(account.provider)
                except ConfigurationError:
                    log.warning("account %s: provider %r is not installed; not synced", account.id, account.provider)
                    continue
                if info.kind is ProviderKind.MARKETPLACE:
                    out.append(account)
        return out

    # -- running -----------------------------------------------------------------------------------
    async def run(
        self,
        *,
        tenant_ids: Sequence[str] | None = None,
        account_ids: Sequence[str] | None = None,
        mode: SyncMode = SyncMode.AUTO,
        progress: ProgressCallback | None = None,
    ) -> SyncRunReport:
        """Sync every selected account concurrently (at most ``settings.max_concurrency`` at once)."""
        started = self.clock.now()
        accounts = await self.run_storage(self.marketplace_accounts, tenant_ids, account_ids)
        gate = asyncio.Semaphore(self.settings.max_concurrency)

        async def one(account: IntegrationAccount) -> AccountSyncReport:
            async with gate:
                return await self.sync_account(account, mode=mode, progress=progress)

        reports = await asyncio.gather(*(one(a) for a in accounts))
        return SyncRunReport(started_at=started, finished_at=self.clock.now(), accounts=tuple(reports))

    def run_blocking(self, **kw: Any) -> SyncRunReport:
        """`run` from synchronous code (a CLI, a cron job); not from inside an event loop. Takes no
        lease (only this process skips an account already syncing): a deployment runs
        `OrderPollEngine` on a `Runtime`, never both for one tenant (docs/runtime.md)."""
        return asyncio.run(self.run(**kw))

    async def sync_account(self, account: IntegrationAccount, *, mode: SyncMode = SyncMode.AUTO,
                           progress: ProgressCallback | None = None) -> AccountSyncReport:
        """Sync one account; never raises for provider or storage failures (see the report)."""
        key = (account.tenant_id, account.id)
        started = self.clock.now()
        if key in self._running:
            return AccountSyncReport(
                tenant_id=account.tenant_id, account_id=account.id, provider=account.provider, mode=mode,
                status=AccountSyncStatus.SKIPPED, since=None, until=None, started_at=started, finished_at=started,
                error="a sync of this account is already running",
            )
        self._running.add(key)
        run = _AccountRun(self, account, mode, progress)
        try:
            with self.accounts.watch_auth(account):
                connector: AsyncMarketplace = self.accounts.connect_async(account, self._options_for(account))
                try:
                    await run.pull(connector)
                finally:
                    await connector.aclose()
            status, error = AccountSyncStatus.OK, None
        except AuthenticationError as exc:
            status, error = AccountSyncStatus.AUTH_FAILED, str(exc)
            log.warning("account %s (%s): credentials refused; marked invalid", account.id, account.provider)
        except IntegrationError as exc:
            status, error = AccountSyncStatus.FAILED, str(exc)
            log.warning("account %s (%s): sync failed: %s", account.id, account.provider, exc)
        except Exception as exc:  # a connector bug must not stop the other accounts
            status, error = AccountSyncStatus.FAILED, f"{type(exc).__name__}: {exc}"
            log.exception("account %s (%s): unexpected error", account.id, account.provider)
        finally:
            self._running.discard(key)
        c = run.counters
        return AccountSyncReport(
            tenant_id=account.tenant_id, account_id=account.id, provider=account.provider, mode=run.mode,
            status=status, since=run.since, until=run.until, started_at=started, finished_at=self.clock.now(),
            fetched=c.fetched, inserted=c.inserted, updated=c.updated, unchanged=c.unchanged,
            quarantined=c.quarantined, events=c.events, history_clamped=run.clamped, checkpoint=run.position,
            error=error, quarantine=tuple(c.notes),
        )

    # -- helpers -------------------------------------------------------------------------------------
    def _options_for(self, account: IntegrationAccount) -> ConnectOptions:
        if self._options is None:
            return ConnectOptions()
        if isinstance(self._options, ConnectOptions):
            return self._options
        return self._options(account)

    def history_limit(self, provider: str, connector: object | None = None) -> timedelta:
        limit = self.settings.history_limits.get(provider, self.settings.history_limit)
        own = getattr(connector, "history_limit", None)
        if isinstance(own, timedelta):
            limit = min(limit, own)
        return limit

    async def run_storage(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a repository call on the engine's one storage thread (or inline).

        One thread, not a pool: SQLite has a single writer anyway, and serializing here avoids
        lock contention (a shared-cache in-memory database even refuses concurrent writers)."""
        if not self.offload_storage:
            return fn(*args, **kwargs)
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="order-sync-storage")
            pool = self._pool
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop the storage thread (the engine can still be used; it starts a new one)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    # -- one batch: quarantine, compare, publish, upsert (runs in a worker thread) ------------------------
    def commit_batch(self, account: IntegrationAccount, items: Sequence[OrderOrError], *, backfill: bool,
                     counters: _Counters) -> None:
        tenant = account.tenant_id
        now = self.clock.now()
        latest: dict[str, Order] = {}
        for item in items:
            counters.fetched += 1
            order, error = item.order, item.error
            if order is not None:
                try:
                    _check(order)
                except PayloadError as exc:
                    order, error = None, exc
            if order is None:
                self._quarantine(account, error, item.raw if item.raw is not None else _raw_of(item), now, counters)
                continue
            seen = latest.get(order.external_id)
            if seen is None or order.updated_at >= seen.updated_at:
                latest[order.external_id] = order
        if not latest:
            return
        existing = self.orders.get_many(tenant, account.provider, account.id, list(latest))
        rows: list[CachedOrder] = []
        events: list[DomainEvent] = []
        for ext, order in latest.items():
            prev = existing.get(ext)
            row = cached_order_from(account, order, now=now, existing=prev)
            if prev is not None and prev.content_hash != row.content_hash:
                prev_updated = _updated_at(prev)
                if prev_updated is not None and order.updated_at < prev_updated:
                    counters.unchanged += 1  # an older version than the cached one: never regress
                    continue
            rows.append(row)
            events.extend(_events_for(account, order, row, prev, backfill=backfill))
        if events:
            counters.events += len(self.bus.publish(tenant, events))
        result = self.orders.upsert_many(tenant, rows)
        counters.inserted += result.inserted
        counters.updated += result.updated
        counters.unchanged += result.unchanged

    def _quarantine(self, account: IntegrationAccount, error: PayloadError | None, raw: dict[str, Any],
                    now: datetime, counters: _Counters) -> None:
        err = error or PayloadError("connector yielded neither an order nor an error", provider=account.provider)
        raw_json = json.dumps(raw, ensure_ascii=False, default=str, sort_keys=True)
        fingerprint = (err.record, hashlib.sha256(raw_json.encode()).hexdigest())
        if fingerprint in counters.seen_bad:  # the same record twice in one run (overlapping windows)
            return
        counters.seen_bad.add(fingerprint)
        self.quarantine.add(account.tenant_id, QuarantinedRecord(
            id=new_id(), tenant_id=account.tenant_id, provider=account.provider, account_id=account.id,
            record_id=err.record, field=err.field, error=str(err), raw_json=raw_json, created_at=now,
        ))
        counters.quarantined += 1
        if len(counters.notes) < self.settings.max_quarantine_notes:
            counters.notes.append(QuarantineNote(account.provider, account.id, err.record, err.field, err.message))
        log.warning("quarantined %s record %s (field %s): %s", account.provider, err.record, err.field, err.message)


def _raw_of(item: OrderOrError) -> dict[str, Any]:
    if item.order is not None:
        return item.order.raw if item.order.raw is not None else item.order.model_dump(mode="json")
    return {}


def _total(order: Order) -> Money | None:
    try:
        return order.total_money
    except InvalidArgument:  # a currency that is no ISO code: the event says "unknown" rather than guess
        log.warning("order %s: total in unreadable currency %r", order.external_id, order.currency)
        return None


def _events_for(account: IntegrationAccount, order: Order, row: CachedOrder, prev: CachedOrder | None,
                *, backfill: bool) -> list[DomainEvent]:
    """The domain events of one order's change, each with a dedupe key that names the fact."""
    base = f"{account.provider}:{account.id}:{order.external_id}"
    common: dict[str, Any] = {
        "tenant_id": account.tenant_id, "provider": account.provider, "account_id": account.id,
        "external_order_id": order.external_id, "customer_phone": row.customer_phone, "backfill": backfill,
        "total": _total(order),
    }
    out: list[DomainEvent] = []
    if prev is None:
        out.append(OrderCreated(occurred_at=order.ordered_at, dedupe_key=f"order.created:{base}",
                                order_status=row.order_status, **common))
    elif prev.order_status != row.order_status:
        out.append(OrderStatusChanged(
            occurred_at=order.updated_at, old_status=prev.order_status, new_status=row.order_status,
            dedupe_key=f"order.status:{base}:{prev.order_status}>{row.order_status}@{order.updated_at.isoformat()}",
            **common,
        ))
    if row.tracking_code and row.tracking_code != (prev.tracking_code if prev else None):
        out.append(TrackingCodeAssigned(
            occurred_at=order.updated_at, tracking_code=row.tracking_code, cargo_company=order.cargo.company,
            dedupe_key=f"order.tracking:{base}:{row.tracking_code}", **common,
        ))
    return out


class _AccountRun:
    """The state of one account's sync (counters, range, checkpoint) while it runs."""

    def __init__(self, engine: OrderSyncEngine, account: IntegrationAccount, mode: SyncMode,
                 progress: ProgressCallback | None) -> None:
        self.engine = engine
        self.account = account
        self.mode = mode
        self.progress = progress
        self.counters = _Counters()
        self.since: datetime | None = None
        self.until: datetime | None = None
        self.position: datetime | None = None
        self.clamped = False

    async def pull(self, connector: AsyncMarketplace) -> None:
        e, a, s = self.engine, self.account, self.engine.settings
        now = e.clock.now()
        earliest = now - e.history_limit(a.provider, connector) + s.history_margin
        cp: Checkpoint | None = await e.run_storage(e.checkpoints.get, a.tenant_id, a.id, STREAM)
        old_pos = cp.position if cp is not None else None
        self.position = old_pos
        if self.mode is SyncMode.BACKFILL or old_pos is None:
            since, mode = now - s.backfill, SyncMode.BACKFILL
        elif cp is not None and cp.cursor == _BACKFILL_CURSOR:
            since, mode = old_pos - s.overlap, SyncMode.BACKFILL  # resume an interrupted backfill
        else:
            since, mode = old_pos - s.overlap, SyncMode.INCREMENTAL
        if since < earliest:
            # Only a gap when the checkpoint itself is beyond reach (a long pause), not on a backfill.
            self.clamped = mode is SyncMode.INCREMENTAL
            since = earliest
        self.mode, self.since, self.until = mode, since, now
        chunks = _chunks(since, now, s.chunk)
        backfill = mode is SyncMode.BACKFILL
        batch: list[OrderOrError] = []
        self._report(since, 0, len(chunks))  # a bar with its range from the start, before any answer
        for index, (start, end) in enumerate(chunks):
            reached = start
            async for item in connector.iter_orders_changed(start, end):
                batch.append(item)
                if item.order is not None:  # changes come oldest first: progress moves within a chunk
                    reached = max(reached, min(end, item.order.updated_at))
                if len(batch) >= s.batch_size:
                    await e.run_storage(e.commit_batch, a, batch, backfill=backfill, counters=self.counters)
                    batch = []
                    self._report(reached, index, len(chunks))
            if batch:
                await e.run_storage(e.commit_batch, a, batch, backfill=backfill, counters=self.counters)
                batch = []
            last = index == len(chunks) - 1
            if old_pos is not None and old_pos >= end:
                new_pos, cursor = old_pos, cp.cursor if cp is not None else None
            else:
                new_pos, cursor = end, (_BACKFILL_CURSOR if backfill and not last else None)
            checkpoint = Checkpoint(tenant_id=a.tenant_id, account_id=a.id, stream=STREAM,
                                    position=new_pos, cursor=cursor, updated_at=e.clock.now())
            await e.run_storage(e.checkpoints.put, a.tenant_id, checkpoint)
            self.position = new_pos
            self._report(end, index + 1, len(chunks))
        self._report(now, len(chunks), len(chunks), done=True)

    def _report(self, position: datetime, done_chunks: int, total: int, *, done: bool = False) -> None:
        if self.progress is None or self.since is None or self.until is None:
            return
        c = self.counters
        self.progress(SyncProgress(
            tenant_id=self.account.tenant_id, account_id=self.account.id, provider=self.account.provider,
            mode=self.mode, since=self.since, until=self.until, position=position, chunks_done=done_chunks,
            chunks_total=total, fetched=c.fetched, inserted=c.inserted, updated=c.updated, unchanged=c.unchanged,
            quarantined=c.quarantined, done=done,
        ))


def _chunks(since: datetime, until: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    out = []
    start = since
    while start < until:
        end = min(until, start + size)
        out.append((start, end))
        start = end
    return out
