"""The example plugin's fake moves orders along the sandbox clock (Lifecycle + TurkishData)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.models.orders import OrderStatus, PhoneState
from invekto_integrations.testing.sandbox import FakeProvider, Sandbox

SRC = Path(__file__).resolve().parents[2] / "examples" / "plugin_echoshop" / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from invekto_echoshop import EchoShopClient  # noqa: E402
from invekto_echoshop.fake import EchoShopFake  # noqa: E402


@pytest.fixture
def sandbox_fakes(sandbox_clock: FrozenClock, sandbox_seed: int) -> Sequence[FakeProvider]:
    return [EchoShopFake(clock=sandbox_clock, seed=sandbox_seed, orders_per_account=5)]


def client(sb: Sandbox, token: str = "es-token-a") -> EchoShopClient:
    return EchoShopClient(token, base_url=sb.inprocess_url("echoshop"), transport=sb.transport(), clock=sb.clock)


def test_orders_move_along_the_clock(sandbox: Sandbox, sandbox_clock: FrozenClock) -> None:
    fake = sandbox.fake("echoshop")
    assert isinstance(fake, EchoShopFake)
    (number,) = fake.add_orders("shop-a", 1)
    with client(sandbox) as c:
        (order,) = c.get_order(number)
        assert order.status == OrderStatus.CREATED and order.cargo.tracking_number is None
        sandbox_clock.advance(days=7)
        (order,) = c.get_order(number)
        assert order.status == OrderStatus.DELIVERED and order.cargo.tracking_number
        assert order.updated_at > order.ordered_at
        # a scripted turn of events: returned today, seen by an incremental sync
        cursor = sandbox_clock.now()
        sandbox_clock.advance(60)
        fake.set_status("shop-a", number, "RETURNED")
        changed = [x.order for x in c.iter_orders(since=cursor) if x.order]
        assert [(o.order_number, o.status) for o in changed] == [(number, OrderStatus.RETURNED)]


def test_seeded_orders_carry_realistic_turkish_data(sandbox: Sandbox) -> None:
    with client(sandbox, "es-token-b") as c:
        orders = [x.order for x in c.iter_orders() if x.order]
    assert len(orders) == 5
    for o in orders:
        assert o.customer.phone_state == PhoneState.PRESENT and o.customer.phone
        assert normalize_phone(o.customer.phone) == o.customer.phone
        assert o.total == sum((ln.unit_price * ln.quantity for ln in o.lines), start=o.total * 0)
        assert o.currency == "TRY" and o.ordered_at <= o.updated_at
    assert {o.customer.city for o in orders} and all(o.customer.district for o in orders)


def test_same_seed_same_shop(sandbox_clock: FrozenClock) -> None:
    def numbers(seed: int) -> list[str]:
        sb = Sandbox([EchoShopFake(clock=sandbox_clock, seed=seed, orders_per_account=3)])
        with client(sb) as c:
            return sorted(x.order.order_number for x in c.iter_orders() if x.order)

    assert numbers(1) == numbers(1) != numbers(2)


def test_page_size_is_enforced_like_the_documented_api(sandbox: Sandbox) -> None:
    import httpx

    with httpx.Client(transport=sandbox.transport(), base_url=sandbox.inprocess_url("echoshop")) as http:
        r = http.get("/v1/orders", params={"size": 51}, headers={"Authorization": "Bearer es-token-a"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_parameter"
