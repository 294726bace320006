"""PostgreSQL: runtime processes draining one backlog (1, 2, 4 processes; median of several runs,
the load average beside each), and a 100,000-order cache write into PostgreSQL vs SQLite (time
without tracing, then peak traced memory in a second pass). Starts its own throwaway cluster from
the server binaries (`invekto_integrations.testing.postgres_cluster`)."""

from __future__ import annotations

import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from invekto_integrations.core.clock import SystemClock
from invekto_integrations.events import EventBus
from invekto_integrations.models.events import OrderCreated
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.storage.postgres import PostgresStore
from invekto_integrations.storage.records import CachedOrder, OutboxRecord, OutboxStatus
from invekto_integrations.testing.postgres_cluster import PostgresCluster, find_postgres_bin

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _orders(tenant: str, n: int, page: int) -> Iterator[list[CachedOrder]]:
    """Pages of ``page`` orders, generated on the fly (the sync writes page by page)."""
    for start in range(0, n, page):
        batch = []
        for i in range(start, min(n, start + page)):
            data = f'{{"id": "{i}", "lines": [{{"sku": "S{i % 97}", "qty": 1, "price": "149.90"}}]}}'
            batch.append(CachedOrder(
                id=f"01J{i:023d}", tenant_id=tenant, provider="alpha", account_id="acc", external_order_id=str(i),
                customer_phone=f"+90532{i % 1_000_000:07d}", tracking_code=f"TR{i}", order_status="Created",
                ordered_at=T0 + timedelta(seconds=i), order_data_json=data, raw_json=None,
                content_hash=hashlib.sha256(data.encode()).hexdigest(), synced_at=T0, created_at=T0))
        yield batch


def _write(store: Any, n: int, *, traced: bool) -> float:
    """Seconds to write ``n`` orders page by page (order generation included); with ``traced``, the
    peak traced memory in MiB instead (tracing slows Python down, so it is a pass of its own)."""
    if traced:
        tracemalloc.start()
    t0 = time.perf_counter()
    for batch in _orders("t1", n, 100):
        store.orders.upsert_many("t1", batch)
    took = time.perf_counter() - t0
    peak = 0
    if traced:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert store.orders.count("t1") == n
    return peak / 2**20 if traced else took


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _drain(cluster: PostgresCluster, processes: int, tenants: list[str],
           per_tenant: int) -> tuple[float, int, int, float]:
    schema = cluster.create_schema()
    url = cluster.schema_url(schema)
    store = PostgresStore(url, max_connections=2)
    store.db.execute("CREATE TABLE bench_seen (tenant_id TEXT NOT NULL, event_id TEXT NOT NULL, owner TEXT NOT NULL)")
    bus = EventBus(store.events, SystemClock())
    now = SystemClock().now()
    for tenant in tenants:
        events = [OrderCreated(tenant_id=tenant, occurred_at=now, provider="alpha", account_id="acc",
                               external_order_id=f"{tenant}-{n}", order_status="Created") for n in range(per_tenant)]
        for start in range(0, per_tenant, 500):
            bus.publish(tenant, events[start:start + 500])
        for n in range(per_tenant):
            store.outbox.insert_if_absent(tenant, OutboxRecord(
                id=f"msg-{tenant}-{n}", tenant_id=tenant, idempotency_key=f"k{n}", purpose="bench", category="utility",
                to_phone="+905321234567", message_json="{}", status=OutboxStatus.QUEUED, due_at=now,
                created_at=now, updated_at=now))
    total = len(tenants) * per_tenant
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks._pg_runtime_worker", url, f"w{i}", ",".join(tenants)],
                              env=env, cwd=root) for i in range(processes)]
    try:
        while True:
            row = store.db.fetchone("SELECT COUNT(*) AS n FROM bench_seen")
            if row is not None and row["n"] >= total:
                break
            if time.perf_counter() - t0 > 600:
                raise RuntimeError("the backlog was not drained in 10 minutes")
            time.sleep(0.05)
        took = time.perf_counter() - t0
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
    load = os.getloadavg()[0]
    dupes = store.db.fetchone("SELECT COUNT(*) - COUNT(DISTINCT (tenant_id, event_id)) AS n FROM bench_seen")
    sent = store.db.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'")
    store.close()
    cluster.drop_schema(schema)
    return took, int(dupes["n"]) if dupes else -1, int(sent["n"]) if sent else -1, load


def run(quick: bool) -> list[str]:
    lines = ["## PostgreSQL", ""]
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        return [*lines, "PostgreSQL server binaries not found (apt-get install postgresql): skipped."]
    cluster = PostgresCluster(bin_dir).start()
    try:
        tenants = [f"t{i}" for i in range(8)]
        per_tenant = 100 if quick else 400
        runs = 3
        total = len(tenants) * per_tenant
        lines += [f"Runtime processes draining one backlog: {len(tenants)} tenants × {per_tenant:,} `OrderCreated` "
                  f"events ({total:,}), a transactional engine recording each event and marking its outbox "
                  "message sent; time from the processes' start (including their start-up) to the last event; "
                  f"median of {runs} runs (passes interleaved: 1, 2, 4, 1, 2, 4, ...), 1-minute load average "
                  "at the end of each run.", "",
                  "| processes | median time (s) | events/s | speed-up vs 1 | runs (s) | load avg | duplicates | "
                  "messages sent |",
                  "|---:|---:|---:|---:|---|---|---:|---:|"]
        results: dict[int, list[tuple[float, int, int, float]]] = {1: [], 2: [], 4: []}
        for _ in range(runs):
            for processes in results:
                results[processes].append(_drain(cluster, processes, tenants, per_tenant))
        base = statistics.median(r[0] for r in results[1])
        for processes, rs in results.items():
            took = statistics.median(r[0] for r in rs)
            dupes, sent = max(r[1] for r in rs), min(r[2] for r in rs)
            lines.append(f"| {processes} | {took:.1f} | {total / took:,.0f} | {base / took:.2f}× | "
                         f"{', '.join(f'{r[0]:.1f}' for r in rs)} | {', '.join(f'{r[3]:.1f}' for r in rs)} | "
                         f"{dupes} | {sent:,} |")
        n = 10_000 if quick else 100_000
        lines += ["", f"Writing {n:,} orders to the orders cache in pages of 100 (`upsert_many`, as the sync does; "
                  "the orders are generated page by page inside the timed loop), then the same write again "
                  "into a fresh store under `tracemalloc` for the writing process's peak traced memory:", "",
                  "| store | time (s) | orders/s | peak traced memory | load avg (1/5/15 min) |",
                  "|---|---:|---:|---:|---|"]
        with tempfile.TemporaryDirectory(prefix="invekto-bench-") as tmp:
            figures = []
            for name in ("time", "memory"):
                sqlite = SQLiteStore(Path(tmp) / f"orders-{name}.sqlite3")
                figures.append(_write(sqlite, n, traced=name == "memory"))
                sqlite.close()
            lines.append(f"| SQLite (file, WAL) | {figures[0]:.1f} | {n / figures[0]:,.0f} | {figures[1]:.1f} MiB | "
                         f"{_load()} |")
        figures = []
        version = "?"
        for name in ("time", "memory"):
            schema = cluster.create_schema()
            pg = PostgresStore(cluster.schema_url(schema))
            row = pg.db.fetchone("SHOW server_version")
            version = str(row["server_version"]).split()[0] if row else version
            figures.append(_write(pg, n, traced=name == "memory"))
            pg.close()
            cluster.drop_schema(schema)
        lines.append(f"| PostgreSQL {version} (loopback, fsync off) | {figures[0]:.1f} | {n / figures[0]:,.0f} | "
                     f"{figures[1]:.1f} MiB | {_load()} |")
    finally:
        cluster.stop()
    return lines
