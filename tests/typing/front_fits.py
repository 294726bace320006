"""Checked by ``mypy --strict`` in ``make test`` (not collected by pytest): the front door takes the
built-in stores, and what users write against it (resources, results, options) is typed."""

from __future__ import annotations

from datetime import date

from invekto_integrations import AsyncIntegrations, ClientSettings, Integrations, KeyRing
from invekto_integrations.messaging import SubmitStatus
from invekto_integrations.models.orders import Order
from invekto_integrations.progress import RecordingProgress, TextProgress
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.sync import CustomerOrders, SyncRunReport


def build(ring: KeyRing) -> list[Integrations]:
    return [Integrations(SQLiteStore(":memory:"), ring), Integrations(MemoryStore(), ring),
            Integrations(SQLiteStore(), ring, settings=ClientSettings(timeout=5.0)).with_options(max_retries=0)]


def use(client: Integrations) -> tuple[SyncRunReport, CustomerOrders, list[Order]]:
    with TextProgress() as bar:
        report = client.orders.sync("moda", progress=bar)
    found = client.orders.lookup("moda", "0532 412 34 56")
    orders = [item.order for item in found.orders]
    client.dashboard.report("moda", date(2026, 1, 1), date(2026, 1, 31)).to_html()
    return report, found, orders


def sandboxed() -> int:
    with Integrations.sandbox(["trendyol", "aras"]) as client:
        seller = client.fakes.trendyol.provision_account("Moda")
        client.fakes.aras.register_parcel("fake_user", "1", [])
        client.accounts.add("moda", "trendyol", seller.credentials, settings=seller.settings)
        return client.orders.sync("moda").inserted


async def sandboxed_async() -> bool:
    async with AsyncIntegrations.sandbox() as client:
        report = await client.orders.sync("moda", progress=RecordingProgress())
        found = await client.orders.lookup("moda", "5324123456")
        return not report.failed and len(found) >= 0 and SubmitStatus("sent") is SubmitStatus.SENT
