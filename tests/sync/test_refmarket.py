"""The reference marketplace connector against its fake (sync and async clients, one wire description)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sync_world import PROVIDERS, START, World

from invekto_integrations.core.errors import AuthenticationError, NotFound
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.models.orders import OrderStatus, PhoneState
from invekto_integrations.providers.base import AsyncMarketplace, ConnectOptions, Marketplace
from invekto_integrations.testing.refmarket import RefMarketFake
from invekto_integrations.testing.scenarios import supports_scenarios


def sync_client(world: World, account, **kw) -> Marketplace:  # type: ignore[no-untyped-def]
    opts = ConnectOptions(base_url=world.sandbox.inprocess_url(account.provider), transport=world.sandbox.transport(),
                          clock=world.clock)
    client: Marketplace = world.service.connect(account, opts)
    return client


def test_fakes_offer_the_scenario_hooks(world: World) -> None:
    assert supports_scenarios(world.fake("alpha"))
    assert all(p.fake is not None for p in PROVIDERS)


def test_sync_client_lists_in_windows_of_at_most_14_days(world: World) -> None:
    a = world.connect("t1", "alpha", orders=12, days=40)
    client = sync_client(world, a)
    items = list(client.iter_orders_changed(START - timedelta(days=45), START))
    client.close()
    assert len(items) == 12 and all(i.order is not None and i.error is None for i in items)
    listed = world.fake("alpha").requests_to("/orders")
    assert len(listed) >= 4  # 45 days → 4 windows
    for r in listed:
        since, until = r.query["modifiedFrom"], r.query["modifiedTo"]
        assert since < until
    order = items[0].order
    assert order is not None and order.provider == "alpha" and order.raw is not None
    assert order.ordered_at.tzinfo is not None and order.lines[0].unit_price > 0


async def test_async_client_same_results_and_get_order(world: World) -> None:
    a = world.connect("t1", "beta")
    fake = world.fake("beta")
    oid = fake.seed_customer_order(world.key(a), "0532 765 43 21", "Hande Öz", START - timedelta(days=1))
    masked = fake.seed_customer_order(world.key(a), "0532***21**", "Gizli Kişi", START - timedelta(days=1))
    opts = ConnectOptions(base_url=world.sandbox.inprocess_url("beta"), async_transport=world.sandbox.async_transport(),
                          clock=world.clock)
    client: AsyncMarketplace = world.service.connect_async(a, opts)
    items = [i async for i in client.iter_orders_changed(START - timedelta(days=2), START)]
    by_id = {i.order.external_id: i.order for i in items if i.order}
    assert by_id[oid].customer.phone == "+905327654321" and by_id[oid].customer.phone_state is PhoneState.PRESENT
    assert by_id[masked].customer.phone is None and by_id[masked].customer.phone_state is PhoneState.MASKED
    number = fake.order(world.key(a), oid)["orderNumber"]
    [got] = await client.get_order(number)
    assert got.external_id == oid and got.status is OrderStatus.CREATED
    with pytest.raises(NotFound):
        await client.get_order("nope")
    await client.aclose()


def test_malformed_item_comes_back_as_an_error_naming_field_and_record(world: World) -> None:
    a = world.connect("t1", "alpha", orders=3, days=5)
    fake = world.fake("alpha")
    bad = fake.order_ids(world.key(a))[0]
    fake.corrupt_order(world.key(a), bad)
    client = sync_client(world, a)
    items = list(client.iter_orders_changed(START - timedelta(days=6), START))
    client.close()
    [err] = [i for i in items if i.error is not None]
    assert err.error is not None and err.error.record == bad and err.error.field == "orderDate"
    assert err.raw is not None and err.raw["id"] == bad


def test_wrong_credentials_raise_authentication_error(world: World) -> None:
    bad = world.service.add("t1", "alpha", Credentials(api_key="x", api_secret="y"),  # type: ignore[arg-type]
                            settings={"seller_id": "1"})
    client = sync_client(world, bad)
    with pytest.raises(AuthenticationError) as info:
        list(client.iter_orders_changed(START - timedelta(days=1), START))
    client.close()
    assert info.value.status == 401


def test_fake_refuses_windows_beyond_its_documented_limits(world: World) -> None:
    a = world.connect("t1", "alpha")
    fake = world.fake("alpha")
    assert isinstance(fake, RefMarketFake)
    import httpx

    creds = world.service.credentials(a)
    with httpx.Client(transport=world.sandbox.transport(), base_url=world.sandbox.inprocess_url("alpha"),
                      auth=(creds.api_key.get_secret_value(), creds.api_secret.get_secret_value())) as http:  # type: ignore[union-attr]
        seller = a.settings["seller_id"]
        too_wide = http.get(f"/sellers/{seller}/orders", params={"modifiedFrom": "2026-01-01T00:00:00Z",
                                                                  "modifiedTo": "2026-02-01T00:00:00Z"})
        too_old = http.get(f"/sellers/{seller}/orders", params={"modifiedFrom": "2025-10-01T00:00:00Z",
                                                                 "modifiedTo": "2025-10-02T00:00:00Z"})
        other = http.get("/sellers/424242/orders", params={"modifiedFrom": "2026-03-01T00:00:00Z",
                                                            "modifiedTo": "2026-03-02T00:00:00Z"})
    assert too_wide.status_code == too_old.status_code == 400
    assert too_wide.json()["code"] == "invalid_range"
    assert other.status_code == 403
