"""Every public class shows itself concisely: no ``<... object at 0x...>``, no 900-character order."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

import invekto_integrations
from invekto_integrations import Integrations
from invekto_integrations.providers.registry import ProviderRegistry

BUDGET = 160  # characters of one repr
ALL_FAKES = ["trendyol", "hepsiburada", "aras", "yurtici", "whatsapp_cloud", "iys", "google_calendar"]


def _public_classes() -> dict[type, str]:
    found: dict[type, str] = {}
    modules = [invekto_integrations, *(importlib.import_module(m.name) for m in
                                       pkgutil.walk_packages(invekto_integrations.__path__, "invekto_integrations.")
                                       if not m.name.endswith("__main__"))]
    for module in modules:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if isinstance(obj, type):
                found.setdefault(obj, f"{module.__name__}.{name}")
    return found


def test_no_public_class_uses_the_default_object_repr() -> None:
    classes = _public_classes()
    assert len(classes) > 300  # the walk really walked
    default = sorted(where for cls, where in classes.items()
                     if cls.__repr__ is object.__repr__  # type: ignore[comparison-overlap]
                     and not getattr(cls, "_is_protocol", False) and not typing.is_typeddict(cls))
    assert default == [], ("give these classes a concise repr, e.g. "
                           "`class X(ConciseRepr, fields=(...))` from invekto_integrations.core.reprs")


@pytest.fixture(scope="module")
def samples() -> Iterator[dict[str, Any]]:
    with Integrations.sandbox(ALL_FAKES) as client:
        sb = client.fakes
        ago = client.clock.now() - timedelta(days=3)
        seller = sb.trendyol.provision_account("Moda İstanbul")
        account = client.accounts.add("moda", "trendyol", seller.credentials, settings=seller.settings)
        sb.trendyol.seed_orders(seller.account_key, 8, start=ago - timedelta(days=5), end=ago)
        sb.trendyol.seed_customer_order(seller.account_key, "0532 412 34 56", "Ayşe Yılmaz", ago)
        report = client.orders.sync("moda")
        connector = client.accounts.connect(account)
        items = list(connector.iter_orders_changed(ago - timedelta(days=6), client.clock.now()))
        found = client.orders.lookup("moda", "0532 412 34 56")
        registry = ProviderRegistry.load()
        out: dict[str, Any] = {
            "order": items[0].order, "order_or_error": items[0], "sync report": report,
            "account report": report.accounts[0], "lookup": found, "customer order": found.orders[0],
            "client": client, "sandbox": sb, "store": client.store, "order engine": client.orders.engine,
            "lookup service": client.orders.lookup_service, "watcher": client.shipments.watcher,
            "pipeline": client.messages.pipeline, "consent": client.consent.service,
            "appointment book": client.appointments.book_service, "connector": connector, "account": account,
            "registry": registry, "provider info": registry.get("trendyol"), "settings": client.settings,
            "fast client": client.with_options(timeout=3, max_retries=1), "keyring": client._ctx.keyring,
            "resource": client.orders, "cached row": client.store.orders.find_by_phone("moda", "+905324123456")[0],
            "event": client.store.events.read("moda", limit=1)[0], "clock": client.clock,
        }
        for name in ALL_FAKES:
            out[f"fake {name}"] = sb.fake(name)
        yield out
        connector.close()


def test_sample_objects_fit_the_budget(samples: dict[str, Any]) -> None:
    too_long = {name: len(repr(obj)) for name, obj in samples.items() if len(repr(obj)) > BUDGET}
    assert too_long == {}
    for name, obj in samples.items():
        assert " object at 0x" not in repr(obj), name


def test_an_order_reads_like_an_order(samples: dict[str, Any]) -> None:
    order = samples["order"]
    text = repr(order)
    assert order.order_number in text and order.status.value in text and str(order.total) in text
    assert str(order) == text  # print(order) is as short
    assert "raw" not in text


def test_results_render_as_tables_in_a_notebook(samples: dict[str, Any]) -> None:
    for name in ("order", "sync report", "lookup"):
        html = samples[name]._repr_html_()
        assert html.startswith("<div>") and "<table>" in html and "</table>" in html, name
    lookup = samples["lookup"]
    assert lookup.orders[0].order.order_number in lookup._repr_html_()
    report = samples["sync report"]
    assert "moda/trendyol" in report._repr_html_()
    assert str(report).count("\n") == len(report.accounts)  # print(report): a head line and one per account


def test_a_table_escapes_and_stops() -> None:
    from invekto_integrations.core.reprs import html_table

    html = html_table("<b>t</b>", ["a"], ([f"<i>{n}</i>"] for n in range(80)), limit=10)
    assert "<b>" not in html and "&lt;i&gt;0&lt;/i&gt;" in html
    assert html.count("<tr>") == 11 and "70 more" in html
