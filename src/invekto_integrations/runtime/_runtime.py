"""`Runtime` and `AsyncRuntime`: one loop for every engine and tenant.

A round visits every (tenant, engine) pair. For each it takes the pair's lease (skipped while
another runtime holds it), brings the engine's recurring timers in line with its `schedules`,
hands it the events of its types after its cursor (moving the cursor after each handled event),
then fires its due timers (each claimed first, so an occurrence fires once however many runtimes
run), records the run, and gives the lease back. A runtime that dies keeps nothing for long: its
lease and its timer claims expire after ``lease_ttl`` and another runtime carries on.

The decisions live in one generator (`_Core._pair`) that yields `_Step`s (a handler call plus its
bookkeeping); `Runtime` runs the steps in the calling thread, `AsyncRuntime` awaits ``async``
handlers and runs plain ones in a worker thread. Storage calls are synchronous in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.ids import new_id
from invekto_integrations.events import EventBus
from invekto_integrations.models.events import decode_event
from invekto_integrations.models.settings import TenantSettings
from invekto_integrations.storage.protocols import AccountRepository, EventLog
from invekto_integrations.storage.runtime_protocols import LeaseRepository, TimerRecord, TimerRepository
from invekto_integrations.storage.settings import TenantSettingsRepository, tenant_settings

from ._engine import Engine, EngineContext, Timer
from ._schedule import Schedule
from ._status import EngineStatus, PairReport, RunReport
from ._wakeup import Idle

__all__ = ["AsyncRuntime", "Runtime", "RuntimeStore"]

log = logging.getLogger("invekto_integrations.runtime")


class RuntimeStore(Protocol):
    """The repositories the runtime needs (`MemoryStore` and `SQLiteStore` both fit)."""

    @property
    def events(self) -> EventLog: ...
    @property
    def leases(self) -> LeaseRepository: ...
    @property
    def timers(self) -> TimerRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def tenant_settings(self) -> TenantSettingsRepository: ...
    def atomic(self) -> contextlib.AbstractContextManager[object]:
        """A unit of work: repository calls made inside it on this thread commit together."""
        ...


class _Stale(Exception):
    """The step's work was taken over by another runtime (its lease or claim expired)."""


@dataclass
class _Step:
    """One handler call and what to record when it succeeds (in one transaction when ``atomic``)."""

    fn: Callable[..., Awaitable[None] | None]
    args: tuple[Any, ...]
    after: Callable[[], None]
    guard: Callable[[], bool]  # still ours to do? (checked first, inside the transaction)
    atomic: bool
    renew: Callable[[], bool]  # the heartbeat of a slow handler: keep the lease (and the claim)


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


class _Core:
    """Everything but how a handler is invoked."""

    def __init__(
        self,
        store: RuntimeStore,
        engines: Sequence[Engine],
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        tenants: Iterable[str] | Callable[[], Iterable[str]] | None = None,
        settings: Callable[[str], TenantSettings] | None = None,
        bus: EventBus | None = None,
        lease_ttl: timedelta = timedelta(seconds=60),
        batch: int = 100,
        max_attempts: int = 5,
        retry_backoff: timedelta = timedelta(seconds=30),
        lag_cap: int = 1000,
    ) -> None:
        names = [e.name for e in engines]
        if any(not n for n in names):
            raise InvalidArgument("every engine needs a name", field="engines")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidArgument(f"engine names must be unique: {', '.join(dupes)}", field="engines")
        for e in engines:
            if e.transactional and (inspect.iscoroutinefunction(e.handle) or inspect.iscoroutinefunction(e.on_timer)):
                raise InvalidArgument(f"engine {e.name!r}: a transactional engine needs plain (not async) handlers",
                                      field="engines", record=e.name)
        if lease_ttl <= timedelta(0):
            raise InvalidArgument("lease_ttl must be positive", field="lease_ttl")
        if batch < 1 or max_attempts < 1 or lag_cap < 1:
            raise InvalidArgument("batch, max_attempts and lag_cap must be at least 1", field="batch")
        self.store = store
        self.engines = list(engines)
        self.clock = clock or (bus.clock if bus is not None else SystemClock())
        self.owner = owner or _default_owner()
        self.bus = bus or EventBus(store.events, self.clock)
        self._tenants = tenants
        self._settings = settings
        self.lease_ttl = lease_ttl
        self.batch = batch
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.lag_cap = lag_cap
        # Real seconds between heartbeats of a running handler (a third of the lease).
        self.beat = lease_ttl.total_seconds() / 3
        self._stop = threading.Event()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(owner={self.owner!r}, engines={[e.name for e in self.engines]!r})"

    # -- control -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Finish the step in progress, give the leases back and leave `run_forever` (thread-safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _idle(self) -> Idle:
        """The idle waits of a `run_forever` (woken by new work of a served tenant, where the store can)."""
        fixed = frozenset(self._tenants) if isinstance(self._tenants, list | tuple | set | frozenset) else None
        return Idle(self.store, self._stop, (lambda t: t in fixed) if fixed is not None else (lambda t: True))

    # -- selection ---------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        """The tenants served: as configured, else every tenant with settings, events, accounts or timers."""
        if self._tenants is not None:
            source = self._tenants() if callable(self._tenants) else self._tenants
            return sorted(set(source))
        store = self.store
        found = {*store.tenant_settings.tenants(), *store.events.tenants(), *store.accounts.tenants(),
                 *store.timers.tenants()}
        return sorted(found)

    def settings_for(self, tenant_id: str) -> TenantSettings:
        """The tenant's stored settings (defaults when none are stored), or what ``settings=`` says."""
        if self._settings is not None:
            return self._settings(tenant_id)
        return tenant_settings(self.store.tenant_settings, tenant_id)

    def context(self, tenant_id: str, engine: Engine) -> EngineContext:
        """The context ``engine`` is handed for ``tenant_id`` (also useful to call an engine by hand)."""
        return EngineContext(tenant_id=tenant_id, engine=engine.name, clock=self.clock, bus=self.bus,
                             settings=self.settings_for(tenant_id), timers=self.store.timers)

    # -- one round ---------------------------------------------------------------------------------
    def _round(self, tenant_ids: Sequence[str] | None) -> Generator[tuple[PairReport, Generator[_Step, None, None]]]:
        for tenant in tenant_ids if tenant_ids is not None else self.tenants():
            for engine in self.engines:
                if self.stopping:
                    return
                report = PairReport(engine=engine.name, tenant_id=tenant)
                yield report, self._pair(tenant, engine, report)

    def _pair(self, tenant: str, engine: Engine, report: PairReport) -> Generator[_Step, None, None]:
        leases = self.store.leases
        if not leases.acquire(tenant, engine.name, self.owner, self.clock.now(), self.lease_ttl):
            report.busy = True
            return
        try:
            ctx = self.context(tenant, engine)
            plans = self._sync_schedules(ctx, engine)
            if engine.consumes:
                yield from self._events(ctx, engine, report)
            if not self.stopping:
                yield from self._timers(ctx, engine, plans, report)
        except Exception as exc:  # storage trouble: recorded, the other pairs go on
            log.exception("runtime: %s/%s failed", engine.name, tenant)
            report.errors.append(_error_text(exc))
        finally:
            try:
                leases.note_run(tenant, engine.name, self.clock.now(),
                                error=report.errors[-1] if report.errors else None)
            finally:
                leases.release(tenant, engine.name, self.owner)

    def _renew(self, tenant: str, engine: Engine) -> bool:
        return self.store.leases.acquire(tenant, engine.name, self.owner, self.clock.now(), self.lease_ttl)

    def _events(self, ctx: EngineContext, engine: Engine, report: PairReport) -> Generator[_Step, None, None]:
        """Handle pending events in order; a failed event stops the pair's events for this round
        (delivered again next round) until it has failed ``max_attempts`` times (then skipped)."""
        events = self.store.events
        tenant, name = ctx.tenant_id, engine.name
        types = sorted(engine.consumes)
        failing = self.store.leases.get(tenant, name)
        if failing is not None and failing.failing_seq is None:
            failing = None
        while not self.stopping:
            batch = events.read(tenant, after=events.cursor(tenant, name), limit=self.batch, types=types)
            if not batch:
                return
            for stored in batch:
                if self.stopping or not self._renew(tenant, engine):
                    return
                seq = stored.seq

                def advance(seq: int = seq) -> None:
                    events.advance(tenant, name, seq)

                def fresh(seq: int = seq) -> bool:
                    return events.cursor(tenant, name) < seq

                try:
                    event = decode_event(stored.type, stored.version, stored.data)
                    yield _Step(engine.handle, (ctx, event), advance, fresh, engine.transactional,
                                lambda: self._renew(tenant, engine))
                except _Stale:
                    return  # another runtime handled it meanwhile
                except Exception as exc:
                    error = f"event {seq} ({stored.type}): {_error_text(exc)}"
                    log.warning("runtime: %s/%s: %s", name, tenant, error, exc_info=True)
                    report.errors.append(error)
                    failures = self.store.leases.note_failure(tenant, name, seq)
                    if failures < self.max_attempts:
                        return  # delivered again next round
                    log.error("runtime: %s/%s: giving up on event %s after %s failures", name, tenant, seq, failures)
                    events.advance(tenant, name, seq)
                    self.store.leases.note_failure(tenant, name, None)
                    failing = None
                    report.skipped_events += 1
                    continue
                report.handled += 1
                if failing is not None and seq >= (failing.failing_seq or 0):
                    self.store.leases.note_failure(tenant, name, None)  # past the event that failed before
                    failing = None
            if len(batch) < self.batch:
                return

    def _sync_schedules(self, ctx: EngineContext, engine: Engine) -> dict[str, Schedule]:
        """Make the engine's recurring timer rows match its declared schedules (writes only on change)."""
        timers = self.store.timers
        tz = ctx.settings.timezone
        plans = {s.key: s for s in engine.schedules(ctx)}
        rows = {r.key: r for r in timers.find(ctx.tenant_id, engine=engine.name) if r.recurrence is not None}
        now = self.clock.now()
        for key, plan in plans.items():
            spec, payload = plan.spec(tz), dict(plan.payload)
            row = rows.get(key)
            if row is not None and row.recurrence == spec and row.payload == payload and row.state == "pending":
                continue
            due = plan.next_after(now, tz)
            if due is None:
                continue
            timers.put_recurring(ctx.tenant_id, engine.name, key, recurrence=spec, due_at=due, payload=payload, at=now)
        if set(rows) - set(plans):
            timers.prune_recurring(ctx.tenant_id, engine.name, list(plans))
        return plans

    def _timers(self, ctx: EngineContext, engine: Engine, plans: dict[str, Schedule],
                report: PairReport) -> Generator[_Step, None, None]:
        timers = self.store.timers
        tenant, name = ctx.tenant_id, engine.name
        now = self.clock.now()
        for record in timers.claim_due(tenant, name, now, self.owner, now + self.lease_ttl, limit=self.batch):
            if self.stopping:
                return
            timer = Timer(tenant_id=tenant, engine=name, key=record.key, due_at=record.due_at,
                          payload=record.payload, recurring=record.recurrence is not None,
                          attempt=record.attempts + 1)
            plan = plans.get(record.key) if record.recurrence is not None else None

            def done(record: TimerRecord = record, plan: Schedule | None = plan) -> None:
                at = self.clock.now()
                nxt = plan.next_after(max(at, record.due_at), ctx.settings.timezone) if plan is not None else None
                if not timers.complete(tenant, name, record.key, owner=self.owner, due_at=record.due_at, at=at,
                                       next_due=nxt):
                    raise _Stale(f"timer {record.key}: claim lost")

            def mine(record: TimerRecord = record) -> bool:
                row = timers.get(tenant, name, record.key)
                return (row is not None and row.state == "pending" and row.claimed_by == self.owner
                        and row.due_at == record.due_at)

            def keep(record: TimerRecord = record) -> bool:
                until = self.clock.now() + self.lease_ttl
                return self._renew(tenant, engine) and timers.extend_claim(
                    tenant, name, record.key, owner=self.owner, due_at=record.due_at, until=until)

            try:
                yield _Step(engine.on_timer, (ctx, timer), done, mine, engine.transactional, keep)
            except _Stale:
                log.info("runtime: %s/%s: timer %s taken over by another runtime", name, tenant, record.key)
                continue
            except Exception as exc:
                error = f"timer {record.key}: {_error_text(exc)}"
                log.warning("runtime: %s/%s: %s", name, tenant, error, exc_info=True)
                report.errors.append(error)
                at = self.clock.now()
                if timer.attempt >= self.max_attempts:
                    log.error("runtime: %s/%s: giving up on timer %s after %s attempts", name, tenant, record.key,
                              timer.attempt)
                    nxt = plan.next_after(at, ctx.settings.timezone) if plan is not None else None
                    timers.complete(tenant, name, record.key, owner=self.owner, due_at=record.due_at, at=at,
                                    next_due=nxt)
                else:
                    wait = min(self.retry_backoff * (2 ** (timer.attempt - 1)), timedelta(hours=1))
                    timers.fail(tenant, name, record.key, owner=self.owner, due_at=record.due_at, error=error,
                                retry_at=at + wait)
                continue
            report.fired += 1

    # -- health ------------------------------------------------------------------------------------
    def status(self, tenant_ids: Sequence[str] | None = None) -> list[EngineStatus]:
        """Per engine and tenant: lag in events, last run, last error, next timer, lease holder."""
        out = []
        for tenant in tenant_ids if tenant_ids is not None else self.tenants():
            leases = {r.name: r for r in self.store.leases.find(tenant)}
            for engine in self.engines:
                lease = leases.get(engine.name)
                cursor: int | None = None
                lag = 0
                if engine.consumes:
                    cursor = self.store.events.cursor(tenant, engine.name)
                    lag = len(self.store.events.read(tenant, after=cursor, limit=self.lag_cap,
                                                     types=sorted(engine.consumes)))
                pending = self.store.timers.find(tenant, engine=engine.name, state="pending")
                out.append(EngineStatus(
                    engine=engine.name, tenant_id=tenant, cursor=cursor, lag=lag, lag_capped=lag >= self.lag_cap,
                    last_run_at=lease.last_run_at if lease else None, last_error=lease.last_error if lease else None,
                    last_error_at=lease.last_error_at if lease else None,
                    failing_seq=lease.failing_seq if lease else None, failures=lease.failures if lease else 0,
                    next_timer_at=min((t.due_at for t in pending), default=None), pending_timers=len(pending),
                    lease_owner=lease.owner if lease and lease.held(self.clock.now()) else None,
                    lease_expires_at=lease.expires_at if lease and lease.held(self.clock.now()) else None,
                ))
        return out


def _heartbeat(step: _Step, done: threading.Event, every: float) -> None:
    while not done.wait(every):
        try:
            if not step.renew():
                log.warning("runtime: a slow handler lost its lease or claim to another runtime")
                return
        except Exception:  # the handler goes on; at worst another runtime repeats its work
            log.warning("runtime: heartbeat failed", exc_info=True)


def _drive_sync(store: RuntimeStore, step: _Step, beat: float) -> None:
    """Run one step in this thread; a non-transactional one is kept alive by a heartbeat thread (every
    ``beat`` real seconds) while it runs. A transactional one holds the write lock: no heartbeat."""
    done = threading.Event()
    pulse = None
    if not step.atomic:
        pulse = threading.Thread(target=_heartbeat, args=(step, done, beat), name="runtime-heartbeat", daemon=True)
        pulse.start()
    try:
        with store.atomic() if step.atomic else contextlib.nullcontext():
            if not step.guard():
                raise _Stale("taken over")
            result = step.fn(*step.args)
            if result is not None:
                _wait(result)
            step.after()
    finally:
        done.set()
        if pulse is not None:
            pulse.join()


def _wait(awaitable: Awaitable[None]) -> None:
    """Run an ``async`` handler to completion from synchronous code."""

    async def main() -> None:
        await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    raise RuntimeError("an async handler cannot run under Runtime inside an event loop: use AsyncRuntime")


class Runtime(_Core):
    """Hosts engines in the calling thread (a CLI, a worker process, a thread of a service).

    ``owner`` names this runtime in leases and claims (default host:pid:random). ``tenants``: the
    tenants served (default: every tenant with settings, events, accounts or timers). ``settings``:
    overrides the tenant settings read from ``store.tenant_settings`` (their timezone places
    schedules; default Europe/Istanbul). ``lease_ttl``: how long a
    lease or timer claim lasts without renewal (a dead runtime's work is taken over after it).
    ``max_attempts``: failures of one event or timer occurrence before it is skipped (logged).
    """

    def run_once(self, tenant_ids: Sequence[str] | None = None) -> RunReport:
        """One round over every tenant and engine (see the module docstring)."""
        report = RunReport(started_at=self.clock.now())
        for pair, flow in self._round(tenant_ids):
            report.pairs.append(pair)
            _run_flow(self.store, flow, self.beat)
        report.finished_at = self.clock.now()
        return report

    def run_forever(self, *, idle: float = 1.0) -> None:
        """Rounds until `stop`; waits ``idle`` seconds after a round that found nothing to do (on a
        store with wake-ups, PostgreSQL, new work from any process ends the wait early)."""
        self._stop.clear()
        waiting = self._idle()
        try:
            while not self.stopping:
                report = self.run_once()
                if report.did_work or self.stopping:
                    continue
                if isinstance(self.clock, SystemClock):
                    waiting.wait(idle)
                else:
                    self.clock.sleep(idle)
        finally:
            waiting.close()


def _run_flow(store: RuntimeStore, flow: Generator[_Step, None, None], beat: float) -> None:
    try:
        step = next(flow)
        while True:
            try:
                _drive_sync(store, step, beat)
            except Exception as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(None)
    except StopIteration:
        return


class AsyncRuntime(_Core):
    """The same runtime for an event loop: ``async`` handlers are awaited, plain ones run in a
    worker thread (the loop stays responsive); `run_forever` is a coroutine."""

    async def run_once(self, tenant_ids: Sequence[str] | None = None) -> RunReport:
        report = RunReport(started_at=self.clock.now())
        for pair, flow in self._round(tenant_ids):
            report.pairs.append(pair)
            await self._run_flow(flow)
        report.finished_at = self.clock.now()
        return report

    async def run_forever(self, *, idle: float = 1.0) -> None:
        self._stop.clear()
        waiting = self._idle()
        try:
            while not self.stopping:
                report = await self.run_once()
                await asyncio.sleep(0)  # let the loop run others even when every step was instant
                if report.did_work or self.stopping:
                    continue
                if isinstance(self.clock, SystemClock):
                    await asyncio.to_thread(waiting.wait, idle)
                else:
                    await self.clock.asleep(idle)
        finally:
            await asyncio.to_thread(waiting.close)

    async def _run_flow(self, flow: Generator[_Step, None, None]) -> None:
        try:
            step = next(flow)
            while True:
                try:
                    await self._drive(step)
                except Exception as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(None)
        except StopIteration:
            return

    async def _drive(self, step: _Step) -> None:
        if step.atomic or not inspect.iscoroutinefunction(step.fn):
            await asyncio.to_thread(_drive_sync, self.store, step, self.beat)
            return
        if not step.guard():
            raise _Stale("taken over")
        done = threading.Event()
        pulse = asyncio.create_task(asyncio.to_thread(_heartbeat, step, done, self.beat))
        try:
            result = step.fn(*step.args)
            if result is not None:
                await result
        finally:
            done.set()
            await pulse
        step.after()

    @contextlib.asynccontextmanager
    async def running(self, *, idle: float = 1.0) -> AsyncIterator[asyncio.Task[None]]:
        """``async with runtime.running():`` runs `run_forever` in a task and stops it on exit."""
        task = asyncio.create_task(self.run_forever(idle=idle))
        try:
            yield task
        finally:
            self.stop()
            await task

