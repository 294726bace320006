"""The headline flow over a real loopback socket: both fakes served by uvicorn, the watcher polling
them through real HTTP, events and messages exactly once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cargo_world import ARAS_LIFECYCLE, START, YURTICI_LIFECYCLE

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.messaging.base import RecordingSink
from invekto_integrations.models.events import ShipmentStatusChanged
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.providers.yurtici import YurticiClient
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier, ShipmentWatcher
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake

pytestmark = pytest.mark.loopback


def test_watcher_over_loopback(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    aras_fake, yurtici_fake = ArasFake(clock=clock), YurticiFake(clock=clock)
    aras_fake.register_parcel("fake_user", "3500000000017", ARAS_LIFECYCLE)
    yurtici_fake.register_parcel("YKTEST", "ORD2024001", YURTICI_LIFECYCLE)
    retry = RetryPolicy(max_attempts=2, clock=clock)
    with Sandbox([aras_fake, yurtici_fake], clock=clock) as sb, \
            ArasClient("fake_user", "fake_pass", "1000000000001", base_url=sb.url("aras"), clock=clock,
                       retry=retry, timeout=5) as aras, \
            YurticiClient("YKTEST", "YK", base_url=sb.url("yurtici"), clock=clock, retry=retry, timeout=5) as yk:
        clients = {"aras": aras, "yurtici": yk}
        store = SQLiteStore(tmp_path / "loop.sqlite")
        sink = RecordingSink()
        watcher = ShipmentWatcher(store.shipments, store.events, lambda t, c: clients.get(c), clock=clock)
        notifier = CargoNotifier(store.events, store.cargo_notifications, sink, {"t1": CargoMessageSettings()},
                                 shipments=store.shipments, clock=clock)
        watcher.register("t1", "Aras Kargo", "3500000000017", customer_phone="+905321112233")
        watcher.register("t1", "Yurtiçi Kargo", "ORD2024001", customer_phone="+905321112233")
        for step in range(30 * 3):  # 30 hours in 20-minute ticks; only due parcels are asked
            clock.set(START + timedelta(minutes=20 * step))
            watcher.run_once("t1")
            notifier.poll("t1")
        events = store.events.read("t1", types=[ShipmentStatusChanged.TYPE])
        assert len(events) == 8
        assert len(sink.messages) == 6
        assert {m.metadata["status"] for m in sink.messages} == {"in_transit", "out_for_delivery", "delivered"}
        assert all(r.account == "fake_user" and r.method == "POST" for r in aras_fake.requests)
        store.close()
