"""Watch two parcels through their whole lifecycle against the sandbox fakes, with messages.

    .venv/bin/python examples/cargo_watch.py

Everything runs in-process on a frozen clock: the fakes move the parcels as the clock advances,
the watcher polls only what is due, and the notifier prints what it would send on WhatsApp.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.messaging.base import RecordingSink
from invekto_integrations.providers.aras import ArasClient
from invekto_integrations.providers.base import Carrier
from invekto_integrations.providers.yurtici import YurticiClient
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier, ShipmentWatcher
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.aras import ArasFake
from invekto_integrations.testing.sandbox.fakes.yurtici import YurticiFake


def main() -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    aras_fake, yk_fake = ArasFake(clock=clock), YurticiFake(clock=clock)
    aras_fake.register_parcel("fake_user", "3500000000017", [
        (timedelta(hours=1), "1"), (timedelta(hours=6), "2"), (timedelta(hours=21), "4"), (timedelta(hours=25), "6"),
    ])
    yk_fake.register_parcel("YKTEST", "ORD2024001", [
        (timedelta(hours=2), "ISR"), (timedelta(hours=9), "IND"),
        (timedelta(hours=22), "IND", {"cargoEventId": "YK", "cargoReasonId": "GOK"}), (timedelta(hours=27), "DLV"),
    ])
    sandbox = Sandbox([aras_fake, yk_fake], clock=clock)
    clients: dict[str, Carrier] = {
        "aras": ArasClient("fake_user", "fake_pass", "1000000000001", base_url=sandbox.inprocess_url("aras"),
                           transport=sandbox.transport(), clock=clock),
        "yurtici": YurticiClient("YKTEST", "YK", base_url=sandbox.inprocess_url("yurtici"),
                                 transport=sandbox.transport(), clock=clock),
    }
    store = SQLiteStore()
    sink = RecordingSink()
    watcher = ShipmentWatcher(store.shipments, store.events, lambda tenant, carrier: clients.get(carrier),
                              clock=clock)
    notifier = CargoNotifier(store.events, store.cargo_notifications, sink, {"demo": CargoMessageSettings()},
                             shipments=store.shipments, clock=clock)
    watcher.register("demo", "Aras Kargo", "3500000000017", customer_phone="+905321112233")
    watcher.register("demo", "Yurtiçi Kargo Marketplace", "ORD2024001", customer_phone="+905321112233")
    for _ in range(32 * 6):
        report = watcher.run_once("demo")
        if report.changed:
            for row in store.shipments.find("demo"):
                print(f"{clock.now():%d.%m %H:%M}Z {row.carrier:8} {row.tracking_number:14} {row.status}")
        notifier.poll("demo")
        clock.advance(minutes=10)
    print()
    for message in sink.messages:
        local = message.not_before.astimezone(ZoneInfo("Europe/Istanbul")) if message.not_before else None
        when = f" (not before {local:%d.%m %H:%M} Istanbul)" if local else ""
        print(f"→ {message.to_phone}: {message.text}{when}")
    for client in clients.values():
        client.close()
    store.close()


if __name__ == "__main__":
    main()
