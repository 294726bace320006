"""Attribution funnel benchmark: the funnel report over 1,000,000 touches and 100,000 conversions
(``--quick``: 100,000 and 10,000) in one tenant of a SQLite file store, under each model.

The rows are written with ``executemany`` into the tables the store migrates (indexes included):
100,000 contacts with 10 touches each over 60 days, spread over 20 campaigns × 3 ad sets × 4 ads
(plus organic touches), one lead per contact and spend rows per ad and day. Each model's report
over the 60 days (7-day lookback) is timed; the peak of Python's traced memory (tracemalloc) and
the growth of the process's max RSS (which includes SQLite's page cache and sort buffers) are
reported. The aggregation runs in SQL; Python only rolls up the grouped rows.
"""

from __future__ import annotations

import multiprocessing
import random
import resource
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from invekto_integrations.attribution import funnel
from invekto_integrations.core.ids import new_id
from invekto_integrations.models.attribution import AttributionModel
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.storage.sqlite_attribution import us

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 60
TENANT = "bench"
BATCH = 50_000


def _ads() -> list[tuple[str, str, str, str, str, str]]:
    out = []
    for c in range(20):
        for s in range(3):
            for a in range(4):
                out.append((f"c{c}", f"Kampanya {c}", f"c{c}s{s}", f"Set {s}", f"c{c}s{s}a{a}", f"Reklam {a}"))
    return out


def build(path: Path, touches: int, conversions: int, seed: int = 7) -> tuple[float, int]:
    store = SQLiteStore(path)
    conn = store.db.connection()
    rng = random.Random(seed)
    ads = _ads()
    contacts = touches // 10
    t0 = time.perf_counter()
    horizon = DAYS * 86_400_000_000
    start = us(T0)
    rows: list[tuple[object, ...]] = []

    def flush(sql: str) -> None:
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        rows.clear()

    touch_sql = ("INSERT INTO attribution_touches (tenant_id, touch_id, contact, at_us, channel, campaign_id, "
                 "campaign_name, adset_id, adset_name, ad_id, ad_name, message_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
    for p in range(contacts):
        contact = f"+9053{p:08d}"
        for k in range(10):
            at = start + rng.randrange(horizon)
            if rng.random() < 0.15:
                rows.append((TENANT, new_id(), contact, at, "organic", None, None, None, None, None, None,
                             f"m{p}-{k}"))
            else:
                ad = rng.choice(ads)
                rows.append((TENANT, new_id(), contact, at, "ctwa", *ad, f"m{p}-{k}"))
        if len(rows) >= BATCH:
            flush(touch_sql)
    if rows:
        flush(touch_sql)
    lead_sql = ("INSERT INTO attribution_leads (tenant_id, lead_id, contact, created_us, last_touch_us, "
                "first_touch_id, channel, campaign_id, campaign_name, adset_id, adset_name, ad_id, ad_name, "
                "labels_json, segments_json, explanation_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'[]','[]','[]')")
    for p in range(contacts):
        at = start + rng.randrange(horizon)
        rows.append((TENANT, new_id(), f"+9053{p:08d}", at, at, "x", "ctwa", *rng.choice(ads)))
        if len(rows) >= BATCH:
            flush(lead_sql)
    if rows:
        flush(lead_sql)
    conv_sql = ("INSERT INTO attribution_conversions (tenant_id, conversion_id, source_key, contact, kind, at_us, "
                "value, value_minor, currency, origin, counted) VALUES (?,?,?,?,'purchase',?,?,?,'TRY','detected',1)")
    for i in range(conversions):
        minor = rng.randrange(10_000, 500_000)
        rows.append((TENANT, new_id(), f"order:{i}", f"+9053{rng.randrange(contacts):08d}",
                     start + rng.randrange(horizon), f"{minor / 100:.2f}", minor))
        if len(rows) >= BATCH:
            flush(conv_sql)
    if rows:
        flush(conv_sql)
    spend_sql = ("INSERT INTO attribution_spend (tenant_id, origin, level, object_id, day, campaign_id, campaign_name, "
                 "adset_id, adset_name, ad_id, ad_name, amount_minor, currency) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'TRY')")
    for d in range(DAYS):
        day = (T0.date() + timedelta(days=d)).isoformat()
        for ad in ads:
            rows.append((TENANT, "insights", "ad", ad[4], day, *ad, rng.randrange(5_000, 50_000)))
    flush(spend_sql)
    conn.execute("ANALYZE")
    elapsed = time.perf_counter() - t0
    store.close()
    return elapsed, contacts


def _reports(path: str, conversions: int) -> tuple[list[str], int]:
    """Every model's report in a fresh process: its max RSS is the reports' own (SQLite included)."""
    lines: list[str] = []
    store = SQLiteStore(path)
    try:
        for model in AttributionModel:
            tracemalloc.start()
            t0 = time.perf_counter()
            report = funnel(store, TENANT, date(2026, 1, 1), date(2026, 3, 1), model=model,
                            lookback=timedelta(days=7), timezone="UTC")
            elapsed = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            total = sum(r.conversions for r in report.rows if r.level in ("campaign", "channel"))
            assert abs(total - conversions) < 1, f"credit must sum to the conversions ({total})"
            lines.append(f"| {model.value} | {elapsed:.1f} | {len(report.rows)} | {peak / 2**20:.1f} MiB |")
    finally:
        store.close()
    return lines, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(quick: bool) -> list[str]:
    touches, conversions = (100_000, 10_000) if quick else (1_000_000, 100_000)
    out = ["## Attribution funnel (SQLite)", ""]
    with tempfile.TemporaryDirectory(prefix="bench-attr-") as tmp:
        path = Path(tmp) / "attr.sqlite3"
        built, contacts = build(path, touches, conversions)
        out.append(f"{touches:,} touches of {contacts:,} contacts, {conversions:,} conversions, "
                   f"{contacts:,} leads, {DAYS * 240:,} spend rows in one tenant; built in {built:.1f} s "
                   f"({path.stat().st_size / 2**20:.0f} MiB file).")
        out += ["", "| model | time (s) | funnel rows | peak traced memory (Python) |", "|---|---:|---:|---:|"]
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            lines, rss = pool.apply(_reports, (str(path), conversions))
        out += lines
        out += ["", f"Max RSS of the process that ran the five reports: {rss / 1024:.0f} MiB "
                    "(interpreter, SQLite page cache and sort buffers included)."]
    return out
