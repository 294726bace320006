"""Customer-lookup benchmark: phone lookup on a large orders cache in SQLite, indexed vs full scan.

Builds an ``orders_cache`` of 1,000,000 orders (``--quick``: 100,000) with the schema the SQLite
store migrates (the rows are inserted with ``executemany`` in batches, the secondary indexes built
after the load), then times `CustomerLookup` (the ``(tenant_id, customer_phone, ordered_at)``
index) against baselines in the same run: the same query as raw ``sqlite3`` on the index (tuples,
no models; issue 19's target: the lookup ≤ 2× this), and forced to scan the table (``NOT INDEXED``).
All must return the same orders.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from invekto_integrations.models.orders import CargoInfo, Customer, Order, OrderLine, OrderStatus, PhoneState
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.storage._sqlite_db import to_ts
from invekto_integrations.sync import CustomerLookup

from .bench_hotpaths import load

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TENANTS = 20
PROVIDERS = ("trendyol", "hepsiburada")
BATCH = 20_000
PASSES = 5

_COLS = ("id, tenant_id, provider, account_id, external_order_id, customer_phone, tracking_code, order_status, "
         "ordered_at, order_data_json, raw_json, content_hash, synced_at, created_at")


def _template() -> str:
    order = Order(
        provider="@P@", external_id="@X@", order_number="@N@", status=OrderStatus.SHIPPED, raw_status="Shipped",
        ordered_at=T0, updated_at=T0,
        customer=Customer(name="Ayşe Yılmaz", phone="+90@PH@", phone_state=PhoneState.PRESENT, city="İstanbul",
                          district="Kadıköy"),
        cargo=CargoInfo(company="Yurtiçi Kargo", tracking_number="@T@"),
        lines=[OrderLine(sku="SKU-1", barcode="8690000000001", name="Kadın Elbise", quantity=1,
                         unit_price=Decimal("149.90"))],
        total=Decimal("149.90"),
    )
    return order.model_dump_json(exclude={"raw"}).replace(T0.isoformat().replace("+00:00", "Z"), "@D@")


def build(path: Path, rows: int, customers: int, seed: int = 1) -> tuple[float, list[tuple[str, str]]]:
    """Fill a fresh store with ``rows`` orders; returns the build time and some (tenant, phone) pairs."""
    store = SQLiteStore(path)
    db = store.db
    db.execute("DROP INDEX ix_orders_phone")
    db.execute("DROP INDEX ix_orders_tracking")
    template = _template()
    rng = random.Random(seed)
    synced = to_ts(T0)
    t0 = time.perf_counter()
    sample: list[tuple[str, str]] = []
    conn = db.connection()
    for start in range(0, rows, BATCH):
        batch = []
        for i in range(start, min(rows, start + BATCH)):
            customer = rng.randrange(customers)
            tenant = f"tenant-{customer % TENANTS:02d}"
            provider = PROVIDERS[i % 2]
            phone = f"+905{customer:09d}"[:13]
            ordered = T0 - timedelta(minutes=rng.randrange(60 * 24 * 365))
            ext = f"{provider[:2].upper()}{i:09d}"
            data = (template.replace("@P@", provider).replace("@X@", ext).replace("@N@", str(i))
                    .replace("+90@PH@", phone).replace("@T@", f"7{i:012d}").replace("@D@", to_ts(ordered)))
            batch.append((f"row-{i:09d}", tenant, provider, f"acc-{tenant}-{provider}", ext, phone, f"7{i:012d}",
                          "shipped", to_ts(ordered), data, None, hashlib.sha256(data.encode()).hexdigest()[:32],
                          synced, synced))
            if i % 997 == 0:
                sample.append((tenant, phone))
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO orders_cache ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
        conn.execute("COMMIT")
    # The same indexes the migration creates, built once after the load.
    db.execute("CREATE INDEX ix_orders_phone ON orders_cache (tenant_id, customer_phone, ordered_at DESC)")
    db.execute("CREATE INDEX ix_orders_tracking ON orders_cache (tenant_id, tracking_code)")
    db.execute("ANALYZE")
    seconds = time.perf_counter() - t0
    store.close()
    return seconds, sample


def _raw(conn: sqlite3.Connection, tenant: str, phone: str) -> list[tuple[object, ...]]:
    return conn.execute(
        f"SELECT {_COLS} FROM orders_cache WHERE tenant_id = ? AND customer_phone = ? "
        "ORDER BY ordered_at DESC, external_order_id DESC LIMIT 100", (tenant, phone)).fetchall()


def _span(ratios: Iterable[float]) -> str:
    values = sorted(ratios)
    return f"{values[0]:.2f}–{values[-1]:.2f}×"


def _timed(fn: Callable[[str, str], object], probes: list[tuple[str, str]]) -> list[float]:
    out = []
    for tenant, phone in probes:
        t0 = time.perf_counter()
        fn(tenant, phone)
        out.append(time.perf_counter() - t0)
    return out


def run(quick: bool) -> list[str]:
    rows = 100_000 if quick else 1_000_000
    customers = rows // 5  # about five orders per customer
    lines = ["## Customer lookup", ""]
    with tempfile.TemporaryDirectory(prefix="invekto-bench-") as tmp:
        path = Path(tmp) / "lookup.sqlite3"
        build_s, sample = build(path, rows, customers)
        size = path.stat().st_size
        store = SQLiteStore(path)
        lookup = CustomerLookup(store.orders)
        rng = random.Random(2)
        probes = rng.sample(sample, min(500, len(sample)))
        raw_conn = sqlite3.connect(path)
        for tenant, phone in probes:  # same rows, same order, three ways
            ids = [r[4] for r in _raw(raw_conn, tenant, phone)]
            assert ids == [o.external_order_id for o in store.orders.find_by_phone(tenant, phone)]
            assert ids == [o.order.external_id for o in lookup.cached(tenant, phone).orders]
        found_total = sum(len(lookup.cached(t, p).orders) for t, p in probes)
        # Alternating passes over all probes; the medians are over every probe of every pass, and each
        # pass also gives its own ratios (median vs median within the pass): their range is printed.
        before = load()
        timings: list[float] = []
        rows_only: list[float] = []
        raw: list[float] = []
        per_pass: list[tuple[float, float]] = []
        for _ in range(PASSES):
            t_ = _timed(lambda t, p: lookup.cached(t, "0" + p[3:]), probes)
            r_ = _timed(store.orders.find_by_phone, probes)
            b_ = _timed(lambda t, p: _raw(raw_conn, t, p), probes)
            base = statistics.median(b_)
            per_pass.append((statistics.median(t_) / base, statistics.median(r_) / base))
            timings += t_
            rows_only += r_
            raw += b_
        # Baseline: the same query without the index (a full scan), on fewer probes (each reads the table).
        scan_probes = probes[: 10 if quick else 30]
        scans = _timed(lambda t, p: store.db.execute(
            "SELECT external_order_id FROM orders_cache NOT INDEXED WHERE tenant_id = ? AND customer_phone = ? "
            "ORDER BY ordered_at DESC, external_order_id DESC LIMIT 100", (t, p)).fetchall(), scan_probes)
        raw_conn.close()
        store.close()
        after = load()
    med = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[18]
    rows_med = statistics.median(rows_only)
    raw_med = statistics.median(raw)
    scan = statistics.median(scans)
    lines += [
        f"Cache: {rows:,} orders, {TENANTS} tenants, {customers:,} customers (~{rows / customers:.0f} orders each), "
        f"SQLite file {size / 2**20:,.0f} MiB; built in {build_s:.1f} s (executemany, {BATCH:,} rows per batch). "
        f"{len(probes)} phones probed, {PASSES} alternating passes. Load average {before} before, {after} after.",
        "",
        "| query | timings | median | p95 | vs raw indexed query | range over the passes |",
        "|---|---:|---:|---:|---:|---:|",
        f"| `CustomerLookup.cached` (index, phone normalization, `Order` deserialization) | {len(timings)} "
        f"| {med * 1e3:.3f} ms | {p95 * 1e3:.3f} ms | **{med / raw_med:.2f}×** | {_span(x for x, _ in per_pass)} |",
        f"| `find_by_phone` (index, `CachedOrder` rows) | {len(rows_only)} | {rows_med * 1e3:.3f} ms | "
        f"{statistics.quantiles(rows_only, n=20)[18] * 1e3:.3f} ms | **{rows_med / raw_med:.2f}×** "
        f"| {_span(y for _, y in per_pass)} |",
        f"| baseline: raw `sqlite3`, same query and columns, tuples | {len(raw)} | {raw_med * 1e3:.3f} ms | "
        f"{statistics.quantiles(raw, n=20)[18] * 1e3:.3f} ms | 1.00× | |",
        f"| baseline: same query `NOT INDEXED` (full scan) | {len(scans)} | {scan * 1e3:.1f} ms | – "
        f"| {scan / raw_med:,.0f}× | |",
        "",
        f"Orders found per lookup: {found_total / len(probes):.1f}. Full scan / `CustomerLookup.cached`: "
        f"**{scan / med:,.0f}×** (median vs median).",
    ]
    return lines
