"""The error boundary: bad input and foreign failures leave the public API only as typed errors.

Each test here failed before the fix it pins (raw sqlite3/ValueError/TypeError/httpx errors, or a
misleading retried `ProviderUnavailable`).
"""

from __future__ import annotations

import inspect
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import (
    ConfigurationError,
    IntegrationError,
    InvalidArgument,
    PayloadError,
    ProviderUnavailable,
    StorageError,
)
from invekto_integrations.core.http import AsyncRunner, Call, ProviderConfig, SyncRunner
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.aras import ArasClient, AsyncArasClient
from invekto_integrations.providers.hepsiburada import AsyncHepsiburadaClient, HepsiburadaClient, HepsiburadaFeed
from invekto_integrations.providers.trendyol import AsyncTrendyolClient, TrendyolClient
from invekto_integrations.providers.yurtici import AsyncYurticiClient, YurticiClient
from invekto_integrations.storage import CachedOrder, MemoryStore, SQLiteStore
from invekto_integrations.storage.protocols import DuplicateRecord, TenantMismatch

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _order(row_id: str, ext: str, *, tenant: str = "t1") -> CachedOrder:
    return CachedOrder(
        id=row_id, tenant_id=tenant, provider="trendyol", account_id="a", external_order_id=ext,
        customer_phone=None, tracking_code=None, order_status="created", ordered_at=NOW, order_data_json="{}",
        raw_json=None, content_hash="h" + ext, synced_at=NOW, created_at=NOW,
    )


# --- errors themselves -----------------------------------------------------------------------
def test_invalid_argument_names_provider_field_record_and_is_a_value_error() -> None:
    err = InvalidArgument("must not be empty", provider="aras", field="tracking_number", record="TN1")
    assert isinstance(err, IntegrationError) and isinstance(err, ValueError)
    assert str(err) == "[aras] invalid argument (record=TN1, field=tracking_number): must not be empty"
    assert (err.provider, err.field, err.record) == ("aras", "tracking_number", "TN1")
    assert str(InvalidArgument("bad")) == "invalid argument: bad"


def test_payload_error_str_leads_with_the_request_id() -> None:
    err = PayloadError("not a number", provider="trendyol", field="totalPrice", record="42", request_id="r-9")
    assert str(err) == "Request r-9: [trendyol] malformed payload (record=42, field=totalPrice): not a number"
    no_id = PayloadError("x", provider="trendyol")
    assert str(no_id) == "[trendyol] malformed payload: x"


# --- storage ---------------------------------------------------------------------------------
def test_sqlite_duplicate_id_in_one_batch_is_a_storage_error_and_rolls_back(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    with pytest.raises(StorageError) as info:
        store.orders.upsert_many("t1", [_order("X", "A"), _order("X", "B")])
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert store.orders.count("t1") == 0  # the whole batch rolled back
    store.orders.upsert_many("t1", [_order("Y", "C")])  # the connection is usable afterwards
    assert store.orders.count("t1") == 1


def test_sqlite_transaction_wraps_errors_raised_in_its_body(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    db = store.db
    with pytest.raises(StorageError, match="no such table"), db.transaction() as conn:
        conn.execute("INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(StorageError, match="no such table"), db.transaction(), db.transaction() as inner:
        inner.execute("SELECT * FROM no_such_table")
    assert not db.connection().in_transaction


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_tenant_mismatch_is_a_typed_storage_error(kind: str, tmp_path: Path) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "s.db")
    with pytest.raises(TenantMismatch, match="another tenant") as info:
        store.orders.upsert_many("t1", [_order("Y", "C", tenant="t2")])
    assert isinstance(info.value, StorageError) and not isinstance(info.value, ValueError)


def test_duplicate_record_is_storage_error_and_value_error() -> None:
    assert issubclass(DuplicateRecord, StorageError) and issubclass(DuplicateRecord, ValueError)


# --- HTTP boundary and base_url ---------------------------------------------------------------
def _runner_config(clock: FrozenClock) -> ProviderConfig:
    retry = RetryPolicy(max_attempts=4, clock=clock)
    return ProviderConfig(provider="acme", base_url="http://127.0.0.1:9", retry=retry)


@pytest.mark.parametrize(
    ("path", "cause"),
    [("ftp://127.0.0.1:9/x", httpx.UnsupportedProtocol), ("http://[::1/x", httpx.InvalidURL)],
)
def test_a_bad_url_is_a_configuration_error_and_not_retried(path: str, cause: type[Exception]) -> None:
    clock = FrozenClock()
    runner = SyncRunner(_runner_config(clock))
    with runner, pytest.raises(ConfigurationError, match="acme fetch") as info:
        runner.run(Call("fetch", "GET", path, lambda r: r.status_code))
    assert isinstance(info.value.__cause__, cause)
    assert not isinstance(info.value, ProviderUnavailable)
    assert clock.slept == []  # no back-off: not treated as an outage


async def test_a_bad_url_is_a_configuration_error_async() -> None:
    clock = FrozenClock()
    runner = AsyncRunner(_runner_config(clock))
    try:
        with pytest.raises(ConfigurationError):
            await runner.run(Call("fetch", "GET", "ftp://127.0.0.1:9/x", lambda r: r.status_code))
    finally:
        await runner.aclose()
    assert clock.slept == []


@pytest.mark.parametrize(
    ("base_url", "match"),
    [("not a url", "http:// or https://"), ("ftp://host", "http:// or https://"), ("http://", "no host"),
     ("http://[::1", "not a URL"), ("", "http:// or https://")],
)
def test_provider_config_rejects_a_bad_base_url(base_url: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        ProviderConfig(provider="acme", base_url=base_url)
    assert str(info.value).startswith("acme: ")


def test_clients_reject_a_bad_base_url_and_timeout_naming_the_provider() -> None:
    with pytest.raises(ConfigurationError, match=r"^trendyol: base_url"):
        TrendyolClient("1", "k", "s", base_url="not a url")
    with pytest.raises(ConfigurationError, match=r"^aras: base_url"):
        ArasClient("u", "p", "c", base_url="ftp://x")
    with pytest.raises(ConfigurationError, match=r"^hepsiburada: timeout"):
        HepsiburadaClient("m", "k", integrator_name="x", timeout="abc")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^yurtici: timeout"):
        YurticiClient("u", "p", timeout=-1)
    assert ProviderConfig(provider="acme", base_url="https://api.example.com/v1/").base_url.endswith("/v1/")


# --- bad input to the connectors' public methods ---------------------------------------------
_DEAD = "http://127.0.0.1:9"  # never reached: every case fails before a request


def _trendyol() -> TrendyolClient:
    return TrendyolClient("1", "k", "s", base_url=_DEAD)


def _hepsiburada() -> HepsiburadaClient:
    return HepsiburadaClient("m", "k", integrator_name="x", base_url=_DEAD)


@pytest.mark.parametrize("number", ["", "   "])
def test_blank_order_numbers_are_invalid_arguments(number: str) -> None:
    for client, provider in ((_trendyol(), "trendyol"), (_hepsiburada(), "hepsiburada")):
        with pytest.raises(InvalidArgument) as info:
            client.get_order(number)
        assert (info.value.provider, info.value.field) == (provider, "order_number")
    with pytest.raises(InvalidArgument, match="package_number"):
        _hepsiburada().get_package(" ")


def test_trendyol_settings_are_checked() -> None:
    with pytest.raises(InvalidArgument) as info:
        TrendyolClient("1", "k", "s", base_url=_DEAD, order_date_encoding="x")
    assert (info.value.provider, info.value.field) == ("trendyol", "order_date_encoding")
    with pytest.raises(InvalidArgument, match="page_size"):
        TrendyolClient("1", "k", "s", base_url=_DEAD, page_size=0)


NAIVE = datetime(2026, 11, 1)
A, B = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until", "field"), [(NAIVE, B, "since"), (A, NAIVE, "until"), (B, A, "until")],
)
def test_naive_or_inverted_listing_windows_are_invalid_arguments(since: datetime, until: datetime, field: str) -> None:
    t, h = _trendyol(), _hepsiburada()
    listings = [
        ("trendyol", field, lambda: list(t.iter_packages(since, until))),
        ("trendyol", field, lambda: list(t.iter_claims(since, until))),
        ("hepsiburada", field, lambda: list(h.iter_orders_changed(since, until))),
        ("hepsiburada", {"since": "begin", "until": "end"}[field], lambda: list(h.iter_claims(since, until))),
        ("hepsiburada", {"since": "begin", "until": "end"}[field],
         lambda: list(h.iter_feed(HepsiburadaFeed.SHIPPED, since, until))),
    ]
    for provider, name, listing in listings:
        with pytest.raises(InvalidArgument) as info:
            listing()
        assert (info.value.provider, info.value.field) == (provider, name)


async def test_async_clients_check_their_input_too() -> None:
    t = AsyncTrendyolClient("1", "k", "s", base_url=_DEAD)
    h = AsyncHepsiburadaClient("m", "k", integrator_name="x", base_url=_DEAD)
    a = AsyncArasClient("u", "p", "c", base_url=_DEAD)
    y = AsyncYurticiClient("u", "p", base_url=_DEAD)
    try:
        with pytest.raises(InvalidArgument, match="order_number"):
            await t.get_order("")
        with pytest.raises(InvalidArgument, match="order_number"):
            await h.get_order("")
        with pytest.raises(InvalidArgument, match="until"):
            [o async for o in t.iter_packages(B, A)]
        with pytest.raises(InvalidArgument, match="tracking_number"):
            await a.track(" ")
        with pytest.raises(InvalidArgument, match="reference"):
            await y.track_by_reference("")
    finally:
        for c in (t, h, a, y):
            await c.aclose()


def test_blank_tracking_numbers_are_invalid_arguments() -> None:
    aras, yurtici = ArasClient("u", "p", "c", base_url=_DEAD), YurticiClient("u", "p", base_url=_DEAD)
    cases = [(aras.track, "aras", "tracking_number"), (aras.track_by_reference, "aras", "reference"),
             (yurtici.track, "yurtici", "tracking_number"), (yurtici.track_by_reference, "yurtici", "reference")]
    for method, provider, field in cases:
        with pytest.raises(InvalidArgument) as info:
            method(" ")
        assert (info.value.provider, info.value.field) == (provider, field)
        assert isinstance(info.value, ValueError)  # old `except ValueError` callers still catch it


# --- typed signatures ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls",
    [ArasClient, AsyncArasClient, YurticiClient, AsyncYurticiClient, HepsiburadaClient, AsyncHepsiburadaClient,
     TrendyolClient, AsyncTrendyolClient],
)
def test_public_methods_have_typed_signatures(cls: type) -> None:
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_") and name != "__init__":
            continue
        for p in inspect.signature(fn).parameters.values():
            assert p.kind is not inspect.Parameter.VAR_POSITIONAL, f"{cls.__name__}.{name}(*{p.name})"
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                assert str(p.annotation).startswith("Unpack["), f"{cls.__name__}.{name}(**{p.name}: {p.annotation})"


# --- sync and domain entry points ------------------------------------------------------------
def test_registering_a_blank_tracking_number_is_an_invalid_argument() -> None:
    from invekto_integrations.sync.shipments import ShipmentWatcher

    store = MemoryStore()
    watcher = ShipmentWatcher(store.shipments, store.events, lambda tenant, carrier: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidArgument) as info:
        watcher.register("t1", "aras", "  ", external_order_id="O-1")
    assert (info.value.provider, info.value.field, info.value.record) == ("aras", "tracking_number", "O-1")
    assert store.shipments.tenants() == []


def test_normalize_phone_raises_a_typed_error_naming_the_field() -> None:
    from invekto_integrations import normalize_phone

    for bad in ("", "0532***45**", "12", "abc"):
        with pytest.raises(InvalidArgument) as info:
            normalize_phone(bad)
        assert info.value.field == "phone" and isinstance(info.value, ValueError)
    with pytest.raises(InvalidArgument, match="expected a string"):
        normalize_phone(5321234567)  # type: ignore[arg-type]
    assert normalize_phone("0532 123 45 67") == "+905321234567"


def test_google_calendar_bad_input_is_typed() -> None:
    from invekto_integrations.providers.google_calendar import parse_notification
    from invekto_integrations.providers.google_calendar.client import GoogleCalendarEndpoints

    ep = GoogleCalendarEndpoints()
    with pytest.raises(InvalidArgument) as info:
        ep.free_busy(["c1"], NAIVE, B)
    assert info.value.provider == "google_calendar"
    with pytest.raises(InvalidArgument, match="naive"):
        ep.list_events("c1", time_min=NAIVE)
    with pytest.raises(InvalidArgument, match="push notification"):
        parse_notification({"X-Goog-Channel-ID": "ch"})


def test_iys_batch_without_consent_date_is_typed() -> None:
    from invekto_integrations.models.consent import ConsentRecord, ConsentStatus
    from invekto_integrations.providers.iys.client import IysEndpoints, IysSettings

    ep = IysEndpoints(IysSettings(iys_code="1", brand_code="2"))
    record = ConsentRecord(recipient="+905321234567", status=ConsentStatus.ONAY)
    with pytest.raises(InvalidArgument) as info:
        ep.add_consents_batch([record])
    assert (info.value.provider, info.value.field, info.value.record) == ("iys", "consent_date", "+905321234567")
