"""The shared connector recipe (`providers/_common.py`) as the four built-in clients use it: hosts per
environment, options from `ConnectOptions`, the published rate limit and its override, tuned timeouts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.core.ratelimit import DEFAULT_REGISTRY, RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.providers import aras, hepsiburada, trendyol, yurtici
from invekto_integrations.providers._common import ProviderDefaults, connect_options, lazy, request_timeout
from invekto_integrations.providers.base import ConnectOptions, Environment

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _account(provider: str, **settings: Any) -> IntegrationAccount:
    return IntegrationAccount(id=f"acc-{provider}", tenant_id="t1", provider=provider, settings=settings,
                              api_key_encrypted="x", created_at=NOW, updated_at=NOW)


CASES: list[tuple[Any, dict[str, Any], Credentials, str, str]] = [
    (trendyol, {"seller_id": "100001"}, Credentials(api_key=SecretStr("k"), api_secret=SecretStr("s")),
     "https://apigw.trendyol.com/integration", "https://stageapigw.trendyol.com/integration"),
    (hepsiburada, {"merchant_id": "m-1", "integrator_name": "invekto_dev"},
     Credentials(api_key=SecretStr("m-1"), api_secret=SecretStr("s")),
     "https://oms-external.hepsiburada.com", "https://oms-external-sit.hepsiburada.com"),
    (aras, {"customer_code": "1000000000001"}, Credentials(api_key=SecretStr("u"), api_secret=SecretStr("p")),
     "https://customerservices.araskargo.com.tr", "https://customerservicestest.araskargo.com.tr"),
    (yurtici, {}, Credentials(api_key=SecretStr("u"), api_secret=SecretStr("p")),
     "https://ws.yurticikargo.com", "https://testws.yurticikargo.com"),
]
IDS = [c[0].PROVIDER.name for c in CASES]


@pytest.mark.parametrize(("package", "settings", "creds", "production", "test"), CASES, ids=IDS)
def test_hosts_follow_the_environment_setting_then_the_options(package: Any, settings: dict[str, Any],
                                                               creds: Credentials, production: str,
                                                               test: str) -> None:
    name = package.PROVIDER.name
    plain = package.connect(_account(name, **settings), creds, ConnectOptions())
    assert plain.config.base_url == production
    assert plain.config.provider == name
    by_option = package.connect(_account(name, **settings), creds, ConnectOptions(environment=Environment.TEST))
    assert by_option.config.base_url == test
    by_setting = package.connect(_account(name, **settings, environment="test"), creds, ConnectOptions())
    assert by_setting.config.base_url == test
    override = package.connect(_account(name, **settings, environment="test"), creds,
                               ConnectOptions(base_url="http://127.0.0.1:9/x"))
    assert override.config.base_url == "http://127.0.0.1:9/x"
    with pytest.raises(ConfigurationError, match=f"{name}: unknown environment 'staging'"):
        package.connect(_account(name, **settings, environment="staging"), creds, ConnectOptions())
    for client in (plain, by_option, by_setting, override):
        client.close()


@pytest.mark.parametrize(("package", "settings", "creds", "production", "test"), CASES, ids=IDS)
async def test_connect_passes_the_shared_options_to_both_clients(package: Any, settings: dict[str, Any],
                                                                 creds: Credentials, production: str,
                                                                 test: str) -> None:
    clock = FrozenClock(NOW)
    retry = RetryPolicy(max_attempts=2, clock=clock)
    registry = RateLimiterRegistry(clock)
    limit = RateLimit(3, 1.0)
    options = ConnectOptions(clock=clock, retry=retry, limiter_registry=registry, timeout=4.0, rate_limit=limit)
    account = _account(package.PROVIDER.name, **settings)
    with package.connect(account, creds, options) as sync:
        async with package.connect_async(account, creds, options) as asyn:
            for client in (sync, asyn):
                config = client.config
                assert config.clock is clock and config.retry is retry and config.limiter_registry is registry
                assert config.rate_limit == limit
                assert config.timeout.read == 4.0


def test_published_limits_and_tuning_apply_when_not_overridden() -> None:
    clock = FrozenClock(NOW)
    ty = trendyol.TrendyolClient("100001", "k", "s", clock=clock)
    hb = hepsiburada.HepsiburadaClient("m-1", "s", integrator_name="invekto_dev", clock=clock)
    ar = aras.ArasClient("u", "p", "1000000000001", clock=clock)
    yk = yurtici.YurticiClient("u", "p", clock=clock)
    try:
        assert ty.config.rate_limit == RateLimit.per_minute(1000)
        assert hb.config.rate_limit == RateLimit(1000, 1.0)
        assert ar.config.rate_limit is None and yk.config.rate_limit is None  # none published
        assert ty.config.timeout == httpx.Timeout(30.0, connect=10.0)
        assert ar.config.timeout == httpx.Timeout(25.0, connect=5.0)  # slow SOAP services
        assert ar.config.retry.max_attempts == 3 and ty.config.retry.max_attempts == RetryPolicy().max_attempts
        assert all(c.config.retry.clock is clock and c.config.limiter_registry is DEFAULT_REGISTRY
                   for c in (ty, hb, ar, yk))
        assert ty.config.user_agent == "100001 - SelfIntegration" and hb.config.user_agent == "invekto_dev"
        assert isinstance(ty.config.auth, httpx.BasicAuth) and ar.config.auth is None
    finally:
        for c in (ty, hb, ar, yk):
            c.close()


def test_defaults_helpers() -> None:
    defaults = ProviderDefaults("acme", {"production": "https://acme.invalid"})
    with pytest.raises(ConfigurationError, match="acme: unknown environment 'test'"):
        defaults.config(account_key="a", environment="test")
    assert defaults.config(account_key="a").base_url == "https://acme.invalid"
    assert request_timeout(5.0) == httpx.Timeout(5.0, connect=5.0)
    assert request_timeout(None) == httpx.Timeout(30.0, connect=10.0)
    options = ConnectOptions(extra={"page_size": 20, "other": 1})
    kw = connect_options(options, {"environment": "test"}, extra=("page_size",))
    assert kw["environment"] == "test" and kw["page_size"] == 20 and "other" not in kw
    make = lazy("fractions", "Fraction")
    assert str(make(1, 2)) == "1/2"
