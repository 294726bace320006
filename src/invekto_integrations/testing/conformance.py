"""The conformance kit: contract tests every provider (built-in or plugin) runs against its fake.

A provider author describes the provider once, as a `ProviderContract` subclass (hooks: how to
build the fake and a client, how to seed records, list them, map statuses, which secrets must
never leak), and runs the shared tests by subclassing `ConformanceSuite` in a pytest module::

    from invekto_integrations.testing.conformance import ConformanceSuite, ProviderContract

    class ShopContract(ProviderContract):
        info = PROVIDER
        def credentials(self, who): ...
        def probe(self, client): return client.list_orders_page()
        ...

    class TestShopConformance(ConformanceSuite):
        contract = ShopContract()

What the suite checks (each test skips when the hooks it needs are not implemented, e.g. a
carrier has no listing; a provider without one reads records by id through `fetch_records`):

- wrong credentials raise `AuthenticationError` (the fake answers with the provider's real body);
- two accounts see only their own records (by listing, or by reading the other's ids);
- listing pages to the end (sync and async clients); the async client is refused and retries
  like the sync one;
- incremental sync by a changed-since cursor returns exactly the new and changed records;
- every raw status maps to a unified status, end to end through the wire as well;
- server errors, throttling, timeouts, dropped connections, truncated bodies and malformed
  records come out as the typed errors (`ProviderUnavailable`, `RateLimited` or the contract's
  `throttled_error`, `PayloadError`), transient ones are retried, a throttling answer's
  ``Retry-After``/``X-RateLimit-Reset`` hint is honoured;
- the client-side rate limit keeps a burst of calls within the provider's published limit (at
  most a handful of 429s from the fake's server-side limit); a provider without a published limit
  is checked against the pacing its client is given (`ProviderContract.pacing_for_test`; the
  carriers set one);
- no secret appears in any log line (DEBUG, every logger), error string or repr;
- a loopback test runs the headline flow over a real socket.

Assertions on the requests the fake recorded (refused once, retried after each fault, one
account, more than one page) count only the requests `ProviderContract.is_probe_request` accepts
(default: all). A client with set-up requests of its own, such as Google's OAuth token exchange
before the first API call, leaves those out there; its fake keeps injected faults off them.

Everything runs on a `FrozenClock`: retry and rate-limit waits advance it instead of sleeping.
`suite_for` builds a suite class from a contract and `registered_suites` builds one per
registered provider whose `ProviderInfo.contract` is set.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, ClassVar, Literal

import httpx
import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import (
    AuthenticationError,
    NotFound,
    PayloadError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers.base import ConnectOptions, Environment, ProviderInfo
from invekto_integrations.testing.sandbox import FakeProvider, RecordedRequest, Sandbox

__all__ = [
    "ConformanceEnv",
    "ConformanceSuite",
    "ProviderContract",
    "Target",
    "Who",
    "registered_suites",
    "suite_for",
]

Who = Literal["primary", "secondary", "wrong"]
"""Which credentials a client gets: the first account, a second account, or refused ones."""

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Target:
    """Where and how a contract's client connects in one test."""

    base_url: str
    clock: FrozenClock
    retry: RetryPolicy
    limiter_registry: RateLimiterRegistry
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None
    rate_limit: RateLimit | None = None
    timeout: float = 5.0
    loopback: bool = False

    def connect_options(self, **extra: Any) -> ConnectOptions:
        return ConnectOptions(
            environment=Environment.TEST, base_url=self.base_url, transport=self.transport,
            async_transport=self.async_transport, clock=self.clock, retry=self.retry,
            limiter_registry=self.limiter_registry, timeout=self.timeout, rate_limit=self.rate_limit, extra=extra,
        )


def _optional(fn: Any) -> Any:
    """Marks a hook whose base implementation means "not applicable": its tests skip."""
    fn.__conformance_optional__ = True
    return fn


class ProviderContract(ConciseRepr):
    """How the conformance suite drives one provider. Override the hooks that apply.

    Required: `credentials` and `probe` (and `info`, or `make_fake` + `make_client`). Everything
    marked optional skips its tests when not overridden.
    """

    #: The provider's registry entry (its ``fake`` and ``connect`` factories are the defaults).
    info: ClassVar[ProviderInfo | None] = None
    #: How many records the paging test seeds (make it more than two pages).
    records_for_paging: ClassVar[int] = 45
    #: At most this many 429s in the rate-limit test (float rounding at a bucket's edge).
    max_throttled: ClassVar[int] = 2
    #: The read timeout of the timeout test, in seconds (the fake stalls far longer).
    timeout_seconds: ClassVar[float] = 0.2
    #: The typed error of the provider's throttling answer after retries. `RateLimited` for a 429;
    #: a provider that throttles with its server-busy answer (a SOAP carrier's 503 fault, no
    #: documented limit) sets `ProviderUnavailable`.
    throttled_error: ClassVar[type[ProviderError]] = RateLimited
    #: For a provider that publishes no limit (the Turkish carriers): the pacing its client is given
    #: (``ConnectOptions.rate_limit``) in the rate-limit test, with the fake refusing anything
    #: faster, so the kit still checks that the client paces itself. ``None``: nothing to check.
    pacing_for_test: ClassVar[RateLimit | None] = None

    @property
    def name(self) -> str:
        if self.info is not None:
            return self.info.name
        return type(self).__name__.removesuffix("Contract").lower()

    # -- building -------------------------------------------------------------------------------
    def make_fake(self, *, clock: FrozenClock, seed: int) -> FakeProvider:
        """A fresh fake (default: ``info.fake(clock=..., seed=...)``)."""
        if self.info is None or self.info.fake is None:
            raise NotImplementedError("set `info` with a `fake` factory or override make_fake")
        fake = self.info.fake(clock=clock, seed=seed)
        if not isinstance(fake, FakeProvider):
            raise TypeError(f"{self.info.name}: ProviderInfo.fake returned {type(fake).__name__}, not a FakeProvider")
        return fake

    def credentials(self, who: Who) -> Credentials:
        """The credentials of ``who`` that the fake accepts (or, for ``"wrong"``, refuses).

        Raise `NotImplementedError` for ``"secondary"`` if the fake knows one account only.
        """
        raise NotImplementedError

    def settings(self, who: Who) -> dict[str, Any]:
        """Non-secret account settings (seller id, ...)."""
        return {}

    def account(self, who: Who) -> IntegrationAccount:
        return IntegrationAccount(
            id=f"acct-{who}", tenant_id=f"tenant-{who}", provider=self.name, settings=self.settings(who),
            api_key_encrypted="(not used by the sandbox)", created_at=START, updated_at=START,
        )

    def make_client(self, target: Target, who: Who) -> Any:
        """A sync client for ``who`` (default: ``info.connect(account, credentials, options)``)."""
        if self.info is None or self.info.connect is None:
            raise NotImplementedError("set `info` with a `connect` factory or override make_client")
        return self.info.connect(self.account(who), self.credentials(who), target.connect_options())

    @_optional
    def make_async_client(self, target: Target, who: Who) -> Any:
        """An async client for ``who`` (default: ``info.connect_async`` when the provider has one)."""
        if self.info is None or self.info.connect_async is None:
            raise NotImplementedError
        return self.info.connect_async(self.account(who), self.credentials(who), target.connect_options())

    def close_client(self, client: Any) -> None:
        close = getattr(client, "close", None)
        if callable(close):
            close()

    async def aclose_client(self, client: Any) -> None:
        close = getattr(client, "aclose", None)
        if callable(close):
            await close()

    def secrets(self) -> list[str]:
        """Strings that must never appear in logs, errors or reprs (default: every credential)."""
        out: list[str] = []
        for who in ("primary", "secondary", "wrong"):
            try:
                creds = self.credentials(who)
            except NotImplementedError:
                continue
            values = [creds.api_key, creds.api_secret, *creds.extra.values()]
            out += [v.get_secret_value() for v in values if isinstance(v, SecretStr)]
        return [s for s in out if len(s) >= 4]

    def is_probe_request(self, request: RecordedRequest) -> bool:
        """Whether a request the fake recorded counts in the suite's request-outcome assertions
        (refused once, retried after each fault, one account, at least two pages). Default: every
        request. A client that makes set-up requests of its own, such as an OAuth token exchange
        before its first API call, leaves the successful ones out here (a refused exchange is the
        auth failure and stays in); its fake should then also keep injected faults off them."""
        return True

    # -- the calls ------------------------------------------------------------------------------
    def probe(self, client: Any) -> object:
        """One cheap authenticated read (a first page, a tracking query); safe to repeat."""
        raise NotImplementedError

    @_optional
    async def aprobe(self, client: Any) -> object:
        raise NotImplementedError

    @_optional
    def seed_records(self, fake: FakeProvider, count: int, *, who: Who = "primary",
                     status: str | None = None) -> list[str]:
        """Create ``count`` records for ``who`` at the fake clock's now (with raw ``status`` if
        given); return their ids as `record_id` reads them from a listing."""
        raise NotImplementedError

    @_optional
    def touch_records(self, fake: FakeProvider, ids: Sequence[str], *, who: Who = "primary") -> None:
        """Change these records now, so a changed-since query must return them again."""
        raise NotImplementedError

    @_optional
    def list_all(self, client: Any) -> list[Any]:
        """Every record the account has, paging to the end."""
        raise NotImplementedError

    @_optional
    async def alist_all(self, client: Any) -> list[Any]:
        raise NotImplementedError

    @_optional
    def fetch_records(self, client: Any, ids: Sequence[str]) -> list[Any]:
        """Read these records one by one (a carrier's tracking query per parcel): for a provider
        without a listing, so the status, malformed-record and secret tests still go through the
        wire. A malformed record may raise `PayloadError`."""
        raise NotImplementedError

    @_optional
    def list_changed_since(self, client: Any, since: datetime) -> list[Any]:
        """Every record changed at or after ``since`` (the incremental sync query)."""
        raise NotImplementedError

    def record_id(self, record: Any) -> str:
        """The provider's id of a listed record."""
        raise NotImplementedError

    def is_quarantined(self, record: Any) -> bool:
        """True when a listed item is a malformed record set aside (e.g. `OrderOrError.error`)."""
        return False

    @_optional
    def fetch_missing(self, client: Any) -> object:
        """Read a record that does not exist (must raise `NotFound`)."""
        raise NotImplementedError

    # -- statuses -------------------------------------------------------------------------------
    @_optional
    def raw_statuses(self) -> Sequence[str]:
        """Every raw status the provider documents."""
        raise NotImplementedError

    def map_status(self, raw: str) -> Enum:
        """The provider's mapping of a raw status to the unified enum."""
        raise NotImplementedError

    def unknown_status(self) -> Enum | None:
        """What an undocumented raw status maps to (``None``: no fallback is promised)."""
        return None

    def record_status(self, record: Any) -> Enum | None:
        """The unified status of a listed record (``None``: not checked end to end)."""
        return None

    # -- rate limit -----------------------------------------------------------------------------
    def published_rate_limit(self) -> RateLimit | None:
        """The provider's published limit (default: the fake's ``published_rate_limit``)."""
        fake_cls = type(self.make_fake(clock=FrozenClock(START), seed=0))
        return fake_cls.published_rate_limit

    def rate_limit_for_test(self) -> RateLimit | None:
        """The limit enforced on both sides in the rate-limit test (scale it down if the published
        burst is large; the client must then honour ``Target.rate_limit``). Default: the published
        limit, else `pacing_for_test`."""
        return self.published_rate_limit() or self.pacing_for_test

    # -- support ----------------------------------------------------------------------------------
    def supports(self, hook: str) -> bool:
        """True when ``hook`` is implemented (an optional hook overridden, or a default that applies)."""
        base = getattr(ProviderContract, hook)
        mine = getattr(type(self), hook)
        if mine is not base or not getattr(base, "__conformance_optional__", False):
            return True
        return hook == "make_async_client" and self.info is not None and self.info.connect_async is not None


@dataclass
class ConformanceEnv:
    """One test's world: a fake on a frozen clock, served by a sandbox, and clients against it."""

    contract: ProviderContract
    fake: FakeProvider
    sandbox: Sandbox
    clock: FrozenClock
    attempts: int = 4
    _clients: list[tuple[Any, bool]] = field(default_factory=list)

    def target(self, *, loopback: bool = False, rate_limit: RateLimit | None = None,
               timeout: float = 5.0) -> Target:
        retry = RetryPolicy(max_attempts=self.attempts, max_total_seconds=3600, clock=self.clock,
                            rng=random.Random(0))
        registry = RateLimiterRegistry(self.clock)  # fresh: never shares buckets with other tests
        if loopback:
            self.sandbox.start()
            return Target(self.sandbox.url(self.fake.name), self.clock, retry, registry, rate_limit=rate_limit,
                          timeout=timeout, loopback=True)
        return Target(self.sandbox.inprocess_url(self.fake.name), self.clock, retry, registry,
                      transport=self.sandbox.transport(), async_transport=self.sandbox.async_transport(),
                      rate_limit=rate_limit, timeout=timeout)

    def client(self, who: Who = "primary", **target: Any) -> Any:
        try:
            client = self.contract.make_client(self.target(**target), who)
        except NotImplementedError:
            pytest.skip(f"{self.contract.name}: no {who} credentials in this contract")
        self._clients.append((client, False))
        return client

    def close(self) -> None:
        for client, _ in self._clients:
            self.contract.close_client(client)
        self.sandbox.stop()


def _ids(contract: ProviderContract, records: Iterable[Any]) -> list[str]:
    return [contract.record_id(r) for r in records if not contract.is_quarantined(r)]


def _throttle_hint(fake: FakeProvider) -> bool:
    """True when the fake's throttling answer tells the client how long to wait."""
    headers = fake.rate_limited_response(2.0).headers
    return any(h in headers for h in ("retry-after", "x-ratelimit-reset"))


def _run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


class ConformanceSuite(ConciseRepr):
    """Subclass with ``contract = MyContract()`` in a test module; pytest runs every test below."""

    contract: ClassVar[ProviderContract]

    # -- fixtures ---------------------------------------------------------------------------------
    @pytest.fixture
    def env(self) -> Iterator[ConformanceEnv]:
        contract = type(self).contract
        clock = FrozenClock(START)
        fake = contract.make_fake(clock=clock, seed=0)
        fake.rate_limit_clock = clock  # server-side limit and client waits on one timeline
        sandbox = Sandbox([fake], clock=clock)
        env = ConformanceEnv(contract, fake, sandbox, clock)
        try:
            yield env
        finally:
            env.close()

    @staticmethod
    def _requests(env: ConformanceEnv) -> list[RecordedRequest]:
        """The fake's recorded requests that count for the contract (`ProviderContract.is_probe_request`)."""
        return [r for r in list(env.fake.requests) if env.contract.is_probe_request(r)]

    def _need(self, *hooks: str) -> ProviderContract:
        contract = type(self).contract
        missing = [h for h in hooks if not contract.supports(h)]
        if missing:
            pytest.skip(f"{contract.name}: not applicable ({', '.join(missing)} not provided)")
        return contract

    def _need_reader(self, *hooks: str) -> ProviderContract:
        """Like `_need`, plus a way to read seeded records back: `list_all` or `fetch_records`."""
        contract = self._need(*hooks)
        if not (contract.supports("list_all") or contract.supports("fetch_records")):
            pytest.skip(f"{contract.name}: not applicable (neither list_all nor fetch_records provided)")
        return contract

    @staticmethod
    def _read(c: ProviderContract, client: Any, ids: Sequence[str]) -> list[Any]:
        """The listing when there is one, else the seeded ``ids`` read one by one."""
        records: list[Any] = c.list_all(client) if c.supports("list_all") else c.fetch_records(client, ids)
        return records

    # -- auth and accounts ------------------------------------------------------------------------
    def test_wrong_credentials_raise_authentication_error(self, env: ConformanceEnv) -> None:
        client = env.client("wrong")
        with pytest.raises(AuthenticationError) as info:
            env.contract.probe(client)
        assert info.value.provider == env.contract.name
        assert info.value.status in (401, 403) or info.value.code
        assert [r.outcome for r in self._requests(env)] == ["auth_failed"], "refused credentials must not be retried"

    def test_good_credentials_are_accepted(self, env: ConformanceEnv) -> None:
        env.contract.probe(env.client("primary"))
        requests = self._requests(env)
        assert requests and all(r.outcome == "ok" for r in requests)
        assert len({r.account for r in requests}) == 1

    def test_accounts_see_only_their_own_records(self, env: ConformanceEnv) -> None:
        contract = type(self).contract
        if not contract.supports("list_all") and contract.supports("fetch_records"):
            self._accounts_by_fetch(env)
            return
        c = self._need("seed_records", "list_all")
        mine = c.seed_records(env.fake, 3, who="primary")
        try:
            theirs = c.seed_records(env.fake, 2, who="secondary")
        except NotImplementedError:
            pytest.skip(f"{c.name}: the fake has a single account")
        primary = set(_ids(c, c.list_all(env.client("primary"))))
        secondary = set(_ids(c, c.list_all(env.client("secondary"))))
        assert set(mine) <= primary and not set(theirs) & primary
        assert set(theirs) <= secondary and not set(mine) & secondary

    def _accounts_by_fetch(self, env: ConformanceEnv) -> None:
        """Without a listing: records seeded for another account, read by id, are unknown to this
        one (`NotFound`) or at least not seen in the status they were seeded with."""
        c = self._need("seed_records", "raw_statuses")
        raw = list(c.raw_statuses())[-1]
        seeded_as = c.map_status(raw)
        try:
            theirs = c.seed_records(env.fake, 2, who="secondary", status=raw)
        except NotImplementedError:
            pytest.skip(f"{c.name}: the fake has a single account")
        mine = c.seed_records(env.fake, 2, status=raw)
        client = env.client("primary")
        got = {c.record_id(r): c.record_status(r) for r in c.fetch_records(client, mine)}
        if all(v is None for v in got.values()):
            pytest.skip(f"{c.name}: record_status not provided")
        assert got == dict.fromkeys(mine, seeded_as)
        for rid in theirs:
            try:
                records = c.fetch_records(client, [rid])
            except NotFound:
                continue
            assert all(c.record_status(r) != seeded_as for r in records), f"{rid} of another account is visible"

    # -- listing ----------------------------------------------------------------------------------
    def test_lists_every_record_paging_to_the_end(self, env: ConformanceEnv) -> None:
        c = self._need("seed_records", "list_all")
        before = set(_ids(c, c.list_all(env.client())))
        seeded = c.seed_records(env.fake, c.records_for_paging)
        env.fake.requests.clear()
        ids = _ids(c, c.list_all(env.client()))
        assert len(ids) == len(set(ids)), "a record came twice: paging overlaps"
        assert set(ids) == before | set(seeded)
        assert len(self._requests(env)) >= 2, "seed more than one page (records_for_paging)"

    def test_async_client_retries_and_refuses_like_the_sync_one(self, env: ConformanceEnv) -> None:
        c = self._need("make_async_client", "aprobe")

        async def probe(who: Who) -> object:
            client = c.make_async_client(env.target(), who)
            try:
                return await c.aprobe(client)
            finally:
                await c.aclose_client(client)

        with pytest.raises(AuthenticationError) as info:
            _run(probe("wrong"))
        assert info.value.provider == c.name
        assert [r.outcome for r in self._requests(env)] == ["auth_failed"]
        env.fake.requests.clear()
        env.fake.faults.configure(script=["rate_limit", "error", "drop"], retry_after_seconds=2)
        _run(probe("primary"))
        assert [r.outcome for r in self._requests(env)][:4] == ["rate_limit", "error", "drop", "ok"]

    def test_async_client_lists_the_same(self, env: ConformanceEnv) -> None:
        c = self._need("seed_records", "list_all", "make_async_client", "alist_all")
        c.seed_records(env.fake, c.records_for_paging)
        sync_ids = _ids(c, c.list_all(env.client()))

        async def go() -> list[str]:
            client = c.make_async_client(env.target(), "primary")
            try:
                return _ids(c, await c.alist_all(client))
            finally:
                await c.aclose_client(client)

        assert _run(go()) == sync_ids

    def test_incremental_sync_returns_only_changed_records(self, env: ConformanceEnv) -> None:
        c = self._need("seed_records", "list_changed_since")
        old = c.seed_records(env.fake, 6)
        env.clock.advance(3600)
        cursor = env.clock.now()
        env.clock.advance(60)
        new = c.seed_records(env.fake, 4)
        touched: list[str] = []
        if c.supports("touch_records"):
            touched = old[:2]
            c.touch_records(env.fake, touched)
        changed = _ids(c, c.list_changed_since(env.client(), cursor))
        assert set(changed) == set(new) | set(touched)
        assert len(changed) == len(set(changed))
        env.clock.advance(60)
        assert _ids(c, c.list_changed_since(env.client(), env.clock.now())) == []

    def test_missing_record_raises_not_found(self, env: ConformanceEnv) -> None:
        c = self._need("fetch_missing")
        with pytest.raises(NotFound) as info:
            c.fetch_missing(env.client())
        assert info.value.provider == c.name

    # -- statuses ---------------------------------------------------------------------------------
    def test_every_raw_status_maps_to_a_unified_status(self) -> None:
        c = self._need("raw_statuses")
        raws = list(c.raw_statuses())
        assert raws, "a provider documents at least one status"
        unknown = c.unknown_status()
        for raw in raws:
            mapped = c.map_status(raw)
            assert isinstance(mapped, Enum), f"{raw!r} maps to {mapped!r}, not a unified enum member"
            assert unknown is None or mapped != unknown, f"documented status {raw!r} maps to the fallback"
        if unknown is not None:
            assert c.map_status("__NOT_A_DOCUMENTED_STATUS__") == unknown

    def test_statuses_are_mapped_end_to_end(self, env: ConformanceEnv) -> None:
        c = self._need_reader("raw_statuses", "seed_records")
        expected: dict[str, Enum] = {}
        for raw in c.raw_statuses():
            for rid in c.seed_records(env.fake, 1, status=raw):
                expected[rid] = c.map_status(raw)
        records = [r for r in self._read(c, env.client(), list(expected)) if not c.is_quarantined(r)]
        got = {c.record_id(r): c.record_status(r) for r in records if c.record_id(r) in expected}
        missing = sorted(set(expected) - set(got))
        assert not missing, f"seeded records not read back: {missing[:5]}"
        if all(v is None for v in got.values()):
            pytest.skip(f"{c.name}: record_status not provided")
        assert got == expected

    # -- errors -----------------------------------------------------------------------------------
    @pytest.mark.parametrize(("kind", "error"), [
        ("error", ProviderUnavailable), ("rate_limit", RateLimited), ("drop", ProviderUnavailable),
        ("timeout", ProviderUnavailable),
    ])
    def test_persistent_faults_raise_typed_errors(self, env: ConformanceEnv, kind: str,
                                                  error: type[ProviderError]) -> None:
        c = env.contract
        if kind == "rate_limit":
            error = c.throttled_error
        env.attempts = 2
        env.fake.faults.configure(script=[kind] * env.attempts, timeout_seconds=30.0)
        client = env.client(timeout=c.timeout_seconds) if kind == "timeout" else env.client()
        with pytest.raises(error) as info:
            c.probe(client)
        assert info.value.provider == c.name
        assert env.fake.faults.counts[kind] == env.attempts, "a transient fault must be retried"

    def test_transient_faults_are_retried(self, env: ConformanceEnv) -> None:
        c = env.contract
        env.fake.faults.configure(script=["rate_limit", "error", "drop"], retry_after_seconds=2)
        c.probe(env.client())
        requests = self._requests(env)
        assert [r.outcome for r in requests][:4] == ["rate_limit", "error", "drop", "ok"]
        waited = requests[1].at - requests[0].at  # the fake's clock is the clients' clock
        if _throttle_hint(env.fake):
            assert waited >= timedelta(seconds=2), "Retry-After must be honoured"
        else:  # no hint is documented (a bare 429): the client must still back off
            assert waited > timedelta(0), "the client retried without waiting"

    def test_truncated_body_is_a_typed_error(self, env: ConformanceEnv) -> None:
        c = env.contract
        env.fake.faults.configure(script=["truncate"] * env.attempts)
        with pytest.raises((PayloadError, ProviderUnavailable)) as info:
            c.probe(env.client())
        assert isinstance(info.value, ProviderError) and info.value.provider == c.name

    def test_malformed_record_is_reported_not_swallowed(self, env: ConformanceEnv) -> None:
        c = self._need_reader("seed_records")
        seeded = c.seed_records(env.fake, 3)
        env.fake.faults.configure(malformed_rate=1.0)
        try:
            records = self._read(c, env.client(), seeded)
        except PayloadError as exc:
            assert exc.provider == c.name
            return
        assert env.fake.faults.counts["malformed"] >= len(seeded)
        bad = [r for r in records if c.is_quarantined(r)]
        assert len(bad) == env.fake.faults.counts["malformed"], "each malformed record is set aside, none lost"

    # -- rate limit -------------------------------------------------------------------------------
    def test_client_rate_limit_respects_the_published_limit(self, env: ConformanceEnv) -> None:
        c = env.contract
        limit = c.rate_limit_for_test()
        if limit is None:
            pytest.skip(f"{c.name}: no published rate limit and no pacing_for_test")
        env.fake.faults.configure(rate_limit=limit, retry_after_seconds=1)
        override = limit if limit != c.published_rate_limit() else None
        client = env.client(rate_limit=override)
        # An unpaced client meets about one 429 per refill: well above max_throttled.
        calls = int(limit.capacity) * 6 + 10
        started = env.clock.monotonic()
        for _ in range(calls):
            c.probe(client)
        throttled = env.fake.faults.counts["rate_limit"]
        assert throttled <= c.max_throttled, f"{throttled} requests were throttled by the provider"
        minimum = (calls - limit.capacity - throttled) / limit.rate
        assert env.clock.monotonic() - started >= minimum * 0.9, "the client did not pace its calls"

    # -- secrets ----------------------------------------------------------------------------------
    def test_no_secret_in_logs_errors_or_reprs(self, env: ConformanceEnv, caplog: pytest.LogCaptureFixture) -> None:
        c = env.contract
        secrets = c.secrets()
        assert secrets, "the contract must name the secrets to look for"
        texts: list[str] = []
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="invekto_integrations"):
            good = env.client("primary")
            texts += [repr(good), str(good)]
            c.probe(good)
            env.fake.faults.configure(script=["error"] * env.attempts)
            for who in ("wrong", "primary"):
                try:
                    c.probe(env.client(who))
                except ProviderError as exc:
                    texts += [str(exc), repr(exc), repr(exc.__cause__), str(exc.__cause__)]
            if c.supports("seed_records") and (c.supports("list_all") or c.supports("fetch_records")):
                seeded = c.seed_records(env.fake, 2)
                env.fake.faults.configure(malformed_rate=1.0)
                try:
                    records = self._read(c, good, seeded)
                    texts += [repr(r) for r in records]
                    texts += [str(getattr(r, "error", "")) for r in records]
                except ProviderError as exc:
                    texts += [str(exc), repr(exc)]
        texts += [record.getMessage() for record in caplog.records]
        texts += [str(record.args) for record in caplog.records]
        texts.append(caplog.text)
        leaks = sorted({s[:3] + "…" for s in secrets for t in texts if s in t})
        assert not leaks, f"secrets leaked into logs, errors or reprs (starting {', '.join(leaks)})"

    # -- over a real socket -----------------------------------------------------------------------
    @pytest.mark.loopback
    def test_over_loopback(self, env: ConformanceEnv) -> None:
        c = env.contract
        with pytest.raises(AuthenticationError):
            c.probe(env.client("wrong", loopback=True))
        env.fake.faults.configure(script=["drop", "error"])
        client = env.client("primary", loopback=True)
        first = len(self._requests(env))
        c.probe(client)  # a probe may take several requests (a carrier's status, then its movements)
        assert [r.outcome for r in self._requests(env)][first:first + 3] == ["drop", "error", "ok"]
        if c.supports("seed_records") and (c.supports("list_all") or c.supports("fetch_records")):
            seeded = c.seed_records(env.fake, c.records_for_paging if c.supports("list_all") else 3)
            assert set(seeded) <= set(_ids(c, self._read(c, client, seeded)))


def suite_for(contract: ProviderContract, name: str | None = None) -> type[ConformanceSuite]:
    """A `ConformanceSuite` subclass for ``contract``, named ``TestConformance_<provider>``."""
    cls_name = name or f"TestConformance_{contract.name}"
    return type(cls_name, (ConformanceSuite,), {"contract": contract, "__module__": _caller_module()})


def registered_suites(registry: Any = None) -> dict[str, type[ConformanceSuite]]:
    """One suite class per registered provider with a ``contract`` factory, by class name.

    In a test module: ``globals().update(registered_suites())``.
    """
    from invekto_integrations.providers.registry import ProviderRegistry

    reg = registry if registry is not None else ProviderRegistry.load()
    out: dict[str, type[ConformanceSuite]] = {}
    for info in reg.all():
        if info.contract is not None:
            suite = suite_for(info.contract())
            out[suite.__name__] = suite
    return out


def _caller_module() -> str:
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return str(frame.f_globals.get("__name__", __name__)) if frame is not None else __name__

