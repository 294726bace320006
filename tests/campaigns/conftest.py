"""Fixtures of the campaigns area: a store of each kind and a seeded audience."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.storage.memory import MemoryStore
from invekto_integrations.storage.sqlite import SQLiteStore

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 12:00 Istanbul


def open_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if kind == "postgres":  # a fresh schema of the session's throwaway cluster
        from invekto_integrations.storage.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_url"))
    return MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "c.db")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s = open_store(request.param, request, tmp_path)
    yield s
    s.close()


def seed_profiles(store: Any, tenant: str = "t1") -> None:
    """Twelve customers with varied histories (phones +90532000000N)."""
    p = store.contact_profiles
    d = lambda days: NOW - timedelta(days=days)  # noqa: E731
    p.record_order(tenant, "+905320000001", order_ref="ty:1", at=d(10), total=Decimal("250.50"),
                   platform="trendyol", products=["Kışlık Mont"], name="Ayşe Yılmaz")
    p.record_order(tenant, "+905320000001", order_ref="ty:2", at=d(60), total=Decimal("100"),
                   platform="trendyol", products=["Atkı"])
    p.record_order(tenant, "+905320000002", order_ref="hb:1", at=d(45), total=Decimal("1000.00"),
                   platform="hepsiburada", products=["Bot"], name="Mehmet Kaya")
    p.record_order(tenant, "+905320000003", order_ref="ty:3", at=d(120), total=Decimal("999.99"),
                   platform="trendyol", products=["İpek Şal"], name="İlknur Şahin")
    p.record_order(tenant, "+905320000004", order_ref="ty:4", at=d(5), total=Decimal("75"),
                   platform="Trendyol", products=["kışlık mont"], name="Can Demir")
    p.record_appointment(tenant, "+905320000005", appointment_ref="a1", at=d(200), service="Diş Temizliği",
                         name="Zeynep Ak")
    p.record_appointment(tenant, "+905320000006", appointment_ref="a2", at=d(20), service="İmplant",
                         name="Hakan Çelik")
    p.record_appointment(tenant, "+905320000006", appointment_ref="a3", at=d(400), service="Diş Temizliği")
    p.add_labels(tenant, "+905320000007", "tag", ["implant-lead"], at=NOW)
    p.add_labels(tenant, "+905320000008", "segment", ["Dental"], at=NOW)
    p.add_labels(tenant, "+905320000009", "tag", ["vip"], at=NOW)
    p.record_order(tenant, "+905320000010", order_ref="ty:10", at=d(31), total=Decimal("500"),
                   platform="trendyol", products=["Bere"], name="Ece Tan")
    p.record_order("t2", "+905320000001", order_ref="ty:99", at=d(1), total=Decimal("5"), platform="trendyol")
