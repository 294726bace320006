"""Customer lookup across marketplaces, from the cache and with a refresh."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sync_world import START, World

from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.models.orders import OrderStatus
from invekto_integrations.sync import CustomerLookup, InvalidPhoneNumber


def buy_on_both(world: World, tenant: str = "t1") -> tuple[str, str]:
    a = world.connect(tenant, "alpha", orders=15)
    b = world.connect(tenant, "beta", orders=15)
    older = world.fake("alpha").seed_customer_order(world.key(a), "0532 765 43 21", "Hande Öz",
                                                    START - timedelta(days=9))
    newer = world.fake("beta").seed_customer_order(world.key(b), "+90 (532) 765 4321", "Hande Öz",
                                                   START - timedelta(days=2))
    return older, newer


@pytest.mark.parametrize("phone", ["0532 765 43 21", "+90 532 765 43 21", "5327654321", "905327654321",
                                   "(0532) 765-43-21", "+905327654321"])
async def test_finds_a_customer_on_both_platforms_newest_first(world: World, phone: str) -> None:
    older, newer = buy_on_both(world)
    await world.engine.run()
    found = world.lookup.find("t1", phone)
    assert found.phone == "+905327654321"
    assert [o.order.external_id for o in found.orders] == [newer, older]
    assert [o.provider for o in found.orders] == ["beta", "alpha"]
    assert found.providers == ["alpha", "beta"] and found.names == ["Hande Öz"]
    assert found.orders[0].order.status is OrderStatus.CREATED and found.orders[0].order.lines
    assert found.orders[0].order.raw is None  # the raw payload stays in the cache's raw_json


async def test_lookup_is_tenant_scoped(world: World) -> None:
    buy_on_both(world, "t1")
    world.connect("t2", "alpha", orders=5)
    await world.engine.run()
    assert len(world.lookup.find("t1", "05327654321")) == 2
    assert len(world.lookup.find("t2", "05327654321")) == 0


async def test_refresh_pulls_orders_placed_after_the_last_sync(world: World) -> None:
    buy_on_both(world)
    await world.engine.run()
    world.clock.advance(minutes=30)
    a = world.store.accounts.find("t1", provider="alpha")[0]
    fresh = world.fake("alpha").seed_customer_order(world.key(a), "05327654321", "Hande Öz",
                                                    world.clock.now() - timedelta(minutes=5))
    assert len(await world.lookup.afind("t1", "05327654321")) == 2  # the cache alone does not know yet
    found = await world.lookup.afind("t1", "05327654321", refresh=True)
    assert found.orders[0].order.external_id == fresh and len(found) == 3
    assert found.refreshed is not None and found.refreshed.inserted == 1
    assert {r.tenant_id for r in found.refreshed.accounts} == {"t1"}


def test_refresh_from_sync_code(world: World) -> None:
    buy_on_both(world)
    found = world.lookup.find("t1", "05327654321", refresh=True)  # the first refresh is the backfill
    assert len(found) == 2 and found.refreshed is not None


@pytest.mark.parametrize("bad", ["", "12", "0532***45**", "not a phone", "0212"])
def test_bad_phone_is_a_typed_error(world: World, bad: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        world.lookup.find("t1", bad)
    assert isinstance(info.value, ValueError) and repr(bad) in str(info.value)


async def test_refresh_needs_an_engine(world: World) -> None:
    with pytest.raises(ConfigurationError):
        await CustomerLookup(world.store.orders).afind("t1", "05327654321", refresh=True)
