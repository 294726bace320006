"""Campaign benchmarks: audience evaluation over 1,000,000 contacts, and sending through the pipeline.

1. Audience: ``campaign_contacts`` + ``campaign_contact_facts`` with 1,000,000 contacts of one
   tenant (``--quick``: 100,000), loaded with ``executemany`` and the migration's indexes built
   after the load. For several criteria, times the compiled count and the full keyset-paged
   selection (``select`` in pages of 1,000, what a campaign run does), against a baseline in the
   same run: loading every contact's profile into Python and evaluating the same tree (`matches`)
   on a sample of contacts, extrapolated.
2. Sending: a one-shot campaign with two variants and a 10 % holdout to N customers with İYS
   consent, through the real `SendPipeline` and WhatsApp client to the WhatsApp fake over loopback
   at its published limit (80 messages/s per phone number; fake and client limited alike), İYS
   multi-query prefetch against the İYS fake. Also the engine's own cost with a `RecordingSink`
   (assignment, entry, personalization; no HTTP).
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from invekto_integrations.campaigns import (
    AllOf,
    AnyOf,
    AudienceContext,
    ConsentState,
    ContactProfile,
    Criterion,
    Everyone,
    LastOrder,
    NotCriterion,
    OrderCount,
    OrderTotal,
    Platform,
    Product,
    Tag,
    matches,
)
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.storage._sqlite_db import to_ts

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
T = "tenant-bench"
BATCH = 20_000
PRODUCTS = [f"Ürün {i}" for i in range(500)]
TAGS = ["vip", "implant-lead", "kis-2026", "sadik", "yeni"]
_INDEXES = [
    "ix_campaign_contacts_last_order", "ix_campaign_contacts_orders", "ix_campaign_contacts_total",
    "ix_campaign_contacts_last_appt", "ix_campaign_contact_facts_phone",
]


def _index_sql(db: Any) -> list[str]:
    return [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name IN "
                                     f"({','.join('?' * len(_INDEXES))})", _INDEXES)]


def build(path: Path, contacts: int, seed: int = 1) -> tuple[SQLiteStore, float, int]:
    store = SQLiteStore(path)
    db = store.db
    indexes = _index_sql(db)
    for name in _INDEXES:
        db.execute(f"DROP INDEX {name}")
    rng = random.Random(seed)
    conn = db.connection()
    t0 = time.perf_counter()
    facts_n = 0
    for start in range(0, contacts, BATCH):
        rows, facts, consents = [], [], []
        for i in range(start, min(contacts, start + BATCH)):
            phone = f"+9053{i:08d}"
            orders = rng.choice((0, 0, 1, 1, 1, 2, 3, 5))
            total = Decimal(rng.randrange(50, 5000) * orders) if orders else Decimal(0)
            last = NOW - timedelta(days=rng.randrange(720)) if orders else None
            rows.append((T, phone, f"Müşteri {i}", orders, str(total), int(total * 10_000), "TRY",
                         to_ts(last - timedelta(days=30)) if last else None, to_ts(last) if last else None,
                         PRODUCTS[i % 500] if orders else None, 0, None, None, to_ts(NOW)))
            if orders:
                facts.append((T, "platform", rng.choice(("trendyol", "hepsiburada")), phone))
                for p in {rng.randrange(500) for _ in range(orders)}:
                    facts.append((T, "product", PRODUCTS[p].casefold().replace("ü", "u"), phone))
            if rng.random() < 0.05:
                facts.append((T, "tag", rng.choice(TAGS), phone))
            if rng.random() < 0.6:
                consents.append((T, "700001", phone, "MESAJ", "BIREYSEL", "ONAY" if rng.random() < 0.9 else "RET",
                                 None, None, None, None, "iys_query", to_ts(NOW), to_ts(NOW)))
        facts_n += len(facts)
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO campaign_contacts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.executemany("INSERT OR IGNORE INTO campaign_contact_facts VALUES (?,?,?,?)", facts)
        conn.executemany("INSERT INTO consents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", consents)
        conn.execute("COMMIT")
    for sql in indexes:
        db.execute(sql)
    db.execute("ANALYZE")
    return store, time.perf_counter() - t0, facts_n


CRITERIA: list[tuple[str, Criterion]] = [
    ("everyone", Everyone()),
    ("bought 90d ago or later, not in last 30d", AllOf(items=[LastOrder(within_days=90),
                                                             NotCriterion(item=LastOrder(within_days=30))])),
    ("2+ orders and spent >= 5,000 TRY", AllOf(items=[OrderCount(min=2), OrderTotal(min=Decimal(5000))])),
    ("trendyol buyers of product 7 or 8", AllOf(items=[Platform(any_of=["trendyol"]),
                                                       Product(any_of=["Ürün 7", "Ürün 8"])])),
    ("tag vip or never ordered", AnyOf(items=[Tag(any_of=["vip"]), LastOrder(never=True)])),
    ("İYS allowed and ordered in the last year", AllOf(items=[ConsentState(state="allowed"),
                                                             LastOrder(within_days=365)])),
]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def audience(quick: bool) -> list[str]:
    contacts = 100_000 if quick else 1_000_000
    ctx = AudienceContext(now=NOW, brand_code="700001")
    with tempfile.TemporaryDirectory() as tmp:
        store, built, facts = build(Path(tmp) / "bench.db", contacts)
        profiles = store.contact_profiles
        out = [f"Audience over {contacts:,} contacts of one tenant ({facts:,} fact rows, consents for ~60 %), "
               f"SQLite file; load + index {built:.1f} s.", "",
               "| criteria | matches | count (ms) | select, pages of 1,000 (s) | contacts/s selected | "
               "baseline: load + evaluate every profile (s, extrapolated) | speed-up |",
               "|---|---:|---:|---:|---:|---:|---:|"]
        sample_phones = [r[0] for r in store.db.execute(
            "SELECT phone FROM campaign_contacts WHERE tenant_id = ? ORDER BY phone LIMIT 5000", (T,))]
        for label, tree in CRITERIA:
            t0 = time.perf_counter()
            n = profiles.count(T, tree, ctx)
            t_count = time.perf_counter() - t0
            t0 = time.perf_counter()
            got = 0
            after = None
            while page := profiles.select(T, tree, ctx, after_phone=after, limit=1000):
                got += len(page)
                after = page[-1]
            t_select = time.perf_counter() - t0
            assert got == n, (label, got, n)
            # Baseline: what "load every contact and filter in Python" costs, measured on 5,000 and scaled.
            t0 = time.perf_counter()
            onay = {r[0] for r in store.db.execute(
                "SELECT recipient FROM consents WHERE tenant_id = ? AND status = 'ONAY'", (T,))}
            for phone in sample_phones:
                prof: ContactProfile | None = profiles.get(T, phone)
                assert prof is not None
                matches(tree, prof, ctx, (False, phone in onay, False))
            t_base = (time.perf_counter() - t0) * contacts / len(sample_phones)
            out.append(f"| {label} | {n:,} | {t_count * 1000:.0f} | {t_select:.2f} | {got / t_select:,.0f} | "
                       f"{t_base:.0f} | {t_base / t_select:.0f}× |")
        out += ["", f"Peak RSS of the process: {_rss_mb():.0f} MB."]
        store.close()
    return out


def run(quick: bool) -> list[str]:
    from . import bench_campaigns_send

    return ["## Campaigns", "", *audience(quick), "", *bench_campaigns_send.run_send(quick)]
