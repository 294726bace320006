"""Dashboard benchmark: the e-commerce panel of one tenant-month on a large orders cache in SQLite.

Reuses the customer-lookup benchmark's orders cache (1,000,000 orders over 20 tenants and a
year; ``--quick``: 100,000; the store's dashboard migration keeps the ``(tenant_id,
ordered_at)`` index), then times `ecommerce_panel` for one tenant and month (the
indexed range read, `Order` deserialization, aggregation) and the range read alone against a
baseline in the same run: the same query forced to scan the table (``NOT INDEXED``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from invekto_integrations.dashboard import ReportPeriod, ecommerce_panel
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.storage._sqlite_db import to_ts

from .bench_lookup import build


def _median(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(quick: bool) -> list[str]:
    rows = 100_000 if quick else 1_000_000
    lines = ["## Dashboard panels", ""]
    with tempfile.TemporaryDirectory(prefix="invekto-bench-") as tmp:
        path = Path(tmp) / "dashboard.sqlite3"
        build(path, rows, rows // 5)
        store = SQLiteStore(path)  # the range index (dashboard_0003) was kept up during the load
        store.db.execute("ANALYZE")
        period = ReportPeriod("tenant-03", date(2026, 1, 1), date(2026, 1, 31), "Europe/Istanbul")
        panel = ecommerce_panel(store.reports, store.return_cases, period)
        panel_s = _median(lambda: ecommerce_panel(store.reports, store.return_cases, period), 5)
        query = store.reports.queries["orders"]
        args = (period.tenant_id, to_ts(period.start), to_ts(period.end))
        indexed_s = _median(lambda: store.db.execute(query, args).fetchall(), 5)
        scan = query.replace("FROM orders_cache", "FROM orders_cache NOT INDEXED")
        scan_s = _median(lambda: store.db.execute(scan, args).fetchall(), 3)
        assert len(store.db.execute(scan, args).fetchall()) == panel.orders
        store.close()
    lines += [
        f"`ecommerce_panel` for one tenant and one month on an orders cache of {rows:,} orders (20 tenants, one "
        "year); medians of 5 runs (scan: 3).",
        "",
        "| orders in the panel | panel (read + parse + aggregate) | range read, indexed | range read, full scan "
        "(`NOT INDEXED`) |",
        "|---|---|---|---|",
        f"| {panel.orders:,} | {panel_s * 1000:.1f} ms | {indexed_s * 1000:.1f} ms | {scan_s * 1000:.1f} ms |",
        "",
    ]
    return lines
