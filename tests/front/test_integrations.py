"""The front door: built from parts or the environment, sandboxed on one clock, per-request options."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from invekto_integrations import (
    AsyncIntegrations,
    ClientSettings,
    ConfigurationError,
    Integrations,
    KeyRing,
    NotFound,
    ProviderUnavailable,
)
from invekto_integrations._env import configure_logging, sqlite_path
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.crypto import generate_key
from invekto_integrations.progress import RecordingProgress
from invekto_integrations.providers.trendyol import TrendyolClient
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.sync import SyncMode
from invekto_integrations.testing.sandbox import Sandbox, SandboxClockWarning
from invekto_integrations.testing.sandbox.fakes.trendyol import TrendyolFake

PHONE = "0532 412 34 56"


def _ring() -> KeyRing:
    return KeyRing({"k1": base64.urlsafe_b64decode(generate_key())})


def _seed_two_marketplaces(client: Integrations, tenant: str = "moda") -> None:
    ago = client.clock.now() - timedelta(days=3)
    for fake in (client.fakes.trendyol, client.fakes.hepsiburada):  # type: ignore[attr-defined]
        seller = fake.provision_account("Moda")
        client.accounts.add(tenant, fake.name, seller.credentials, settings=seller.settings)
        fake.seed_orders(seller.account_key, 12, start=ago - timedelta(days=10), end=ago)
        fake.seed_customer_order(seller.account_key, PHONE, "Ayşe Yılmaz", ago)


def test_sandbox_client_syncs_two_marketplaces_and_finds_the_customer() -> None:
    with Integrations.sandbox(start=datetime(2026, 3, 2, 10, tzinfo=UTC)) as client:
        assert client.clock is client.fakes.clock  # one clock: the frozen-clock trap cannot happen
        _seed_two_marketplaces(client)
        progress = RecordingProgress()
        report = client.orders.sync("moda", progress=progress)
        assert not report.failed
        assert {a.provider for a in report.accounts} == {"trendyol", "hepsiburada"}
        assert report.inserted == 26 == client.orders.count("moda")
        found = client.orders.lookup("moda", "+90 532 412 3456")
        assert found.providers == ["hepsiburada", "trendyol"]
        # Progress: every account reports from the start (0 %) to the end (done).
        for account in report.accounts:
            updates = [u for u in progress.updates if u.key == account.account_id]
            assert updates[0].completed == 0 and not updates[0].done
            assert updates[-1].done
        again = client.orders.sync("moda")
        assert (again.inserted, again.updated) == (0, 0)
        assert again.accounts[0].mode is SyncMode.INCREMENTAL


def test_sandbox_over_loopback_uses_real_http() -> None:
    with Integrations.sandbox(["trendyol"], serve=True) as client:
        seller = client.fakes.trendyol.provision_account()
        account = client.accounts.add("t1", "trendyol", seller.credentials, settings=seller.settings)
        client.fakes.trendyol.seed_orders(seller.account_key, 3, start=client.clock.now() - timedelta(days=2),
                                          end=client.clock.now() - timedelta(days=1))
        assert client.orders.sync("t1").inserted == 3
        connector = client.accounts.connect(account)
        try:
            assert isinstance(connector, TrendyolClient)
            assert connector.config.base_url == client.fakes.url("trendyol")
        finally:
            connector.close()


async def test_async_twin_has_the_same_shape() -> None:
    async with AsyncIntegrations.sandbox() as client:
        ago = client.clock.now() - timedelta(days=2)
        for fake in (client.fakes.trendyol, client.fakes.hepsiburada):
            seller = fake.provision_account()
            client.accounts.add("a", fake.name, seller.credentials, settings=seller.settings)
            fake.seed_customer_order(seller.account_key, PHONE, "Ayşe", ago)
        report = await client.orders.sync("a")
        assert report.inserted == 2
        found = await client.orders.lookup("a", PHONE)
        assert len(found) == 2
    sync_names = {n for n in vars(Integrations) if not n.startswith("_")} | set(Integrations.__annotations__)
    async_names = {n for n in vars(AsyncIntegrations) if not n.startswith("_")} | set(AsyncIntegrations.__annotations__)
    assert sync_names - {"close"} == async_names - {"aclose"}


def test_sync_inside_an_event_loop_says_what_to_use() -> None:
    import asyncio

    async def inside() -> None:
        with Integrations.sandbox(["trendyol"]) as client, \
                pytest.raises(ConfigurationError, match="AsyncIntegrations"):
            client.orders.sync()

    asyncio.run(inside())


def test_from_env_reads_database_url_keyring_and_log(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    env = {"INVEKTO_DATABASE_URL": f"sqlite:///{db}", "INVEKTO_KEYRING": f"k1={generate_key()}",
           "INVEKTO_LOG": "debug"}
    logger = logging.getLogger("invekto_integrations")
    before = list(logger.handlers), logger.level
    try:
        with Integrations.from_env(env) as client:
            assert isinstance(client.store, SQLiteStore)
            assert logger.level == logging.DEBUG
            assert any(h.get_name() == "invekto-env-log" for h in logger.handlers)
        assert db.exists()
        configure_logging(environ=env)  # idempotent: still one handler
        assert sum(h.get_name() == "invekto-env-log" for h in logger.handlers) == 1
    finally:
        logger.handlers[:] = before[0]
        logger.setLevel(before[1])
    with pytest.raises(ConfigurationError, match="INVEKTO_KEYRING"):
        Integrations.from_env({"INVEKTO_DATABASE_URL": "memory://"})
    with pytest.raises(ConfigurationError, match="INVEKTO_DATABASE_URL"):
        Integrations.from_env({"INVEKTO_DATABASE_URL": "mysql://x", "INVEKTO_KEYRING": f"k1={generate_key()}"})


def test_database_urls() -> None:
    assert sqlite_path("sqlite:///data/x.db") == "data/x.db"
    assert sqlite_path("sqlite:////var/x.db") == "/var/x.db"
    assert sqlite_path("sqlite://") == ":memory:"
    assert sqlite_path("memory://") is None
    with pytest.raises(ConfigurationError):
        sqlite_path("sqlite:///")


def test_with_options_is_a_copy_with_timeout_and_retries() -> None:
    client = Integrations(MemoryStore(), _ring(), clock=FrozenClock())
    fast = client.with_options(timeout=2.5, max_retries=0)
    assert fast is not client and fast.store is client.store and fast.clock is client.clock
    assert (client.settings.timeout, client.settings.max_retries) == (None, None)
    assert (fast.settings.timeout, fast.settings.max_retries) == (2.5, 0)
    account = client.accounts.add("t", "trendyol", _creds(), settings={"seller_id": "1"})
    options = fast._ctx.connect_options(account)
    assert options.timeout == 2.5
    assert options.retry is not None and options.retry.max_attempts == 1
    assert client._ctx.connect_options(account).retry is None
    connector = fast.accounts.connect(account)
    try:
        assert connector.config.timeout.read == 2.5
        assert connector.config.retry.max_attempts == 1
    finally:
        connector.close()
    assert "timeout=2.5" in repr(fast)
    with pytest.raises(ConfigurationError):
        ClientSettings(max_retries=-1)


def _creds() -> object:
    from pydantic import SecretStr

    from invekto_integrations.models.accounts import Credentials

    return Credentials(api_key=SecretStr("k"), api_secret=SecretStr("s"))


def test_unknown_provider_is_refused_when_added() -> None:
    with Integrations.sandbox(["trendyol"]) as client, pytest.raises(ConfigurationError, match="nope"):
        client.accounts.add("t", "nope", _creds())  # type: ignore[arg-type]


def test_typed_fake_accessors_and_options() -> None:
    with Integrations.sandbox(["trendyol", "aras"]) as client:
        sb = client.fakes
        assert isinstance(sb.trendyol, TrendyolFake)
        assert sb.aras.name == "aras"
        with pytest.raises(ConfigurationError, match="hepsiburada"):
            _ = sb.hepsiburada
        options = sb.options("trendyol")
        assert options.clock is sb.clock and options.transport is not None
        assert options.base_url == sb.inprocess_url("trendyol")
        assert sb.marketplace("trendyol") is sb.trendyol
        with pytest.raises(ConfigurationError, match="scenario"):
            sb.marketplace("aras")


def test_a_client_on_another_clock_is_warned_about_the_empty_window() -> None:
    fake = TrendyolFake(clock=FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC)))
    with Sandbox([fake]) as sb:
        key, secret = fake.credentials["100001"]
        later = FrozenClock(datetime(2026, 6, 1, tzinfo=UTC))  # e.g. the system clock
        with TrendyolClient("100001", key, secret, base_url=sb.url("trendyol"), clock=later) as client, \
                pytest.warns(SandboxClockWarning, match="after the sandbox clock"):
            assert list(client.iter_orders_changed(later.now() - timedelta(days=1), later.now())) == []
        # On the sandbox's clock: no warning, and the seeded orders are there.
        opts = sb.options("trendyol")
        with TrendyolClient("100001", key, secret, base_url=opts.base_url, clock=opts.clock) as client:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("error", SandboxClockWarning)
                now = sb.clock.now()
                assert list(client.iter_orders_changed(now - timedelta(days=13), now))


def test_404_and_connection_errors_name_the_url() -> None:
    fake = TrendyolFake()
    with Sandbox([fake]) as sb:
        key, secret = fake.credentials["100001"]
        wrong = sb.base_url + "/not-trendyol"  # the classic: the sandbox root instead of the fake's mount
        with TrendyolClient("100001", key, secret, base_url=wrong) as client, pytest.raises(NotFound) as err:
            client.get_order("123")
        assert f"GET {wrong}/order/sellers/100001/orders" in str(err.value)
        assert "orderNumber" not in str(err.value)  # no query string (it may carry keys elsewhere)
    from invekto_integrations.core.retry import RetryPolicy

    with TrendyolClient("1", "k", "s", base_url="http://127.0.0.1:9", retry=RetryPolicy.disabled()) as client, \
            pytest.raises(ProviderUnavailable) as down:
        client.get_order("123")
    assert "http://127.0.0.1:9/order/sellers/1/orders" in str(down.value)
