"""The attribution repositories: SQLite's SQL aggregates agree with the memory store's Python on
random data under every model; tenants never see each other's rows."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from invekto_integrations.models.ads import AdsLevel
from invekto_integrations.models.attribution import (
    AdRef,
    AttributionModel,
    Channel,
    Conversion,
    ConversionKind,
    Lead,
    SpendEntry,
    SpendOrigin,
    Touch,
)
from invekto_integrations.storage.memory import MemoryStore
from invekto_integrations.storage.protocols import TenantMismatch
from invekto_integrations.storage.sqlite import SQLiteStore

from .conftest import START, open_store

CAMPAIGNS = [AdRef(campaign_id=f"c{i}", campaign_name=f"Kampanya {i}", adset_id=f"s{i}", ad_id=f"a{i}")
             for i in range(4)]


def _fill(stores: list[object], seed: int) -> None:
    rng = random.Random(seed)
    touches, conversions, leads = [], [], []
    for p in range(40):
        contact = f"+90532000{p:04d}"
        for k in range(rng.randint(1, 5)):
            at = START + timedelta(hours=rng.randint(0, 24 * 20), seconds=k)
            ad = rng.choice([*CAMPAIGNS, AdRef()])
            touches.append(Touch(tenant_id="t", contact=contact, at=at,
                                 channel=Channel.CTWA if ad.campaign_id else Channel.ORGANIC, ad=ad))
        leads.append(Lead(tenant_id="t", contact=contact, created_at=START, last_touch_at=START,
                          first_touch_id="x", channel=Channel.CTWA, ad=CAMPAIGNS[p % 4]))
        for k in range(rng.randint(0, 2)):
            conversions.append(Conversion(
                tenant_id="t", source_key=f"order:{p}:{k}", contact=contact, kind=ConversionKind.PURCHASE,
                occurred_at=START + timedelta(hours=rng.randint(0, 24 * 20)),
                value=Decimal(rng.randint(100, 5000)) / 4))
    for s in stores:
        for t in touches:
            s.touches.add("t", t)  # type: ignore[attr-defined]
        for c in conversions:
            s.conversions.add("t", c)  # type: ignore[attr-defined]
        for lead in leads:
            s.leads.add("t", lead)  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", list(AttributionModel))
@pytest.mark.parametrize("seed", [1, 2])
def test_sql_credit_matches_the_reference(model: AttributionModel, seed: int) -> None:
    memory, sqlite = MemoryStore(), SQLiteStore()
    try:
        _fill([memory, sqlite], seed)
        kw = {"since": START, "until": START + timedelta(days=30), "model": model, "lookback": timedelta(days=5),
              "half_life": timedelta(days=2)}
        want = {r.source: r for r in memory.attribution_reports.credit("t", **kw)}
        got = {r.source: r for r in sqlite.attribution_reports.credit("t", **kw)}
        assert set(want) == set(got)
        for key, row in want.items():
            assert abs(got[key].conversions - row.conversions) <= Decimal("0.0002"), key
            assert abs(got[key].revenue - row.revenue) <= Decimal("0.02"), key
        total = sum((r.conversions for r in got.values()), Decimal(0))
        assert abs(total - len(memory.conversions.find("t"))) < Decimal("0.01")  # credit sums to 1 each
        assert sorted(memory.attribution_reports.lead_counts("t", since=START, until=START + timedelta(days=1)),
                      key=lambda r: r.source.campaign_id or "") == \
            sorted(sqlite.attribution_reports.lead_counts("t", since=START, until=START + timedelta(days=1)),
                   key=lambda r: r.source.campaign_id or "")
    finally:
        sqlite.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_spend_manual_wins_and_tenants_are_apart(kind: str, request: pytest.FixtureRequest) -> None:
    store = open_store(kind, request)
    d1, d2 = date(2026, 3, 10), date(2026, 3, 11)

    def entry(day: date, amount: str, origin: SpendOrigin, level: AdsLevel = AdsLevel.AD, tenant: str = "t",
              ad: str = "a1") -> SpendEntry:
        return SpendEntry(tenant_id=tenant, day=day, level=level, campaign_id="c1",
                          adset_id="s1" if level is not AdsLevel.CAMPAIGN else None,
                          ad_id=ad if level is AdsLevel.AD else None, amount=Decimal(amount), origin=origin)

    store.ad_spend.upsert_many("t", [entry(d1, "10", SpendOrigin.INSIGHTS),
                                     entry(d1, "5", SpendOrigin.INSIGHTS, ad="a2"),
                                     entry(d2, "7.125", SpendOrigin.INSIGHTS),
                                     entry(d2, "30", SpendOrigin.MANUAL, AdsLevel.CAMPAIGN)])
    store.ad_spend.upsert_many("u", [entry(d1, "999", SpendOrigin.MANUAL, AdsLevel.CAMPAIGN, tenant="u")])
    totals = {(r.level, r.ad_id): r.amount for r in store.attribution_reports.spend_totals("t", since=d1, until=d2)}
    assert totals == {(AdsLevel.AD, "a1"): Decimal("10.00"), (AdsLevel.AD, "a2"): Decimal("5.00"),
                      (AdsLevel.CAMPAIGN, None): Decimal("30.00")}
    assert [e.amount for e in store.ad_spend.find("t", since=d2, until=d2)] == [Decimal("7.12"), Decimal("30.00")]
    with pytest.raises(TenantMismatch):
        store.ad_spend.upsert_many("t", [entry(d1, "1", SpendOrigin.MANUAL, tenant="u")])
    assert store.conversions.find("u") == [] and store.leads.find("u") == []
    store.close()


@pytest.mark.parametrize("seed", [1, 2, 6])
def test_postgres_reports_equal_sqlites(seed: int, postgres_url: str) -> None:
    """The same rows give the very same credit, lead and spend rows on PostgreSQL as on SQLite (the
    credit query is SQLite's in float8), under every model."""
    from invekto_integrations.storage.postgres import PostgresStore

    sqlite, pg = SQLiteStore(), PostgresStore(postgres_url)
    try:
        _fill([sqlite, pg], seed)
        spend = [SpendEntry(tenant_id="t", day=date(2026, 3, 10) + timedelta(days=i % 3), level=AdsLevel.AD,
                            campaign_id=ad.campaign_id or "c0", adset_id=ad.adset_id, ad_id=ad.ad_id,
                            amount=Decimal(17 * i + 3) / 8, origin=SpendOrigin.MANUAL if i % 5 == 0 else
                            SpendOrigin.INSIGHTS) for i, ad in enumerate(CAMPAIGNS * 3)]
        for s in (sqlite, pg):
            s.ad_spend.upsert_many("t", spend)
        for model in AttributionModel:
            for kinds in ((ConversionKind.PURCHASE,), tuple(ConversionKind)):
                kw = {"since": START + timedelta(days=2), "until": START + timedelta(days=18), "model": model,
                      "lookback": timedelta(days=5), "half_life": timedelta(days=2), "kinds": kinds}
                key = lambda r: (r.source.channel, r.source.campaign_id or "", r.source.ad_id or "")  # noqa: E731
                want = sorted(sqlite.attribution_reports.credit("t", **kw), key=key)
                assert want and sorted(pg.attribution_reports.credit("t", **kw), key=key) == want, model
        days = {"since": START, "until": START + timedelta(days=1)}
        by_source = lambda r: (r.source.campaign_id or "", r.source.channel)  # noqa: E731
        assert sorted(pg.attribution_reports.lead_counts("t", **days), key=by_source) == \
            sorted(sqlite.attribution_reports.lead_counts("t", **days), key=by_source)
        span = {"since": date(2026, 3, 10), "until": date(2026, 3, 11)}
        by_object = lambda r: (r.level.value, r.campaign_id, r.ad_id or "")  # noqa: E731
        want_spend = sorted(sqlite.attribution_reports.spend_totals("t", **span), key=by_object)
        assert want_spend and sorted(pg.attribution_reports.spend_totals("t", **span), key=by_object) == want_spend
        assert pg.ad_spend.find("t") == sqlite.ad_spend.find("t")
        assert pg.conversions.find("t") == sqlite.conversions.find("t")
        assert pg.leads.find("t") == sqlite.leads.find("t")
    finally:
        sqlite.close()
        pg.close()


def test_reports_to_pandas() -> None:
    pd = pytest.importorskip("pandas")
    from invekto_integrations.attribution import funnel, leads_per_campaign

    store = MemoryStore()
    _fill([store], 3)
    report = funnel(store, "t", date(2026, 3, 10), date(2026, 3, 31))
    frame = report.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(report.rows)
    assert {"level", "campaign_id", "spend", "leads", "conversions", "revenue", "cpl", "roas"} <= set(frame.columns)
    assert leads_per_campaign(store, "t", date(2026, 3, 10), date(2026, 3, 10)).to_pandas()["leads"].sum() == 40


def test_the_dashboard_panel_reads_the_real_reports() -> None:
    from invekto_integrations.attribution import funnel, leads_per_campaign
    from invekto_integrations.dashboard import attribution_panel
    from invekto_integrations.dashboard._period import ReportPeriod

    store = SQLiteStore()
    try:
        _fill([store], 4)
        period = ReportPeriod("t", date(2026, 3, 10), date(2026, 3, 31))
        report = funnel(store, "t", period.date_from, period.date_to, model=AttributionModel.LINEAR)
        panel = attribution_panel(period, report, model="linear",
                                  leads=leads_per_campaign(store, "t", period.date_from, period.date_to))
        assert panel.totals.leads == 40
        assert panel.totals.conversions == sum(r.conversions for r in report.rows if r.level in ("campaign",
                                                                                                 "channel"))
    finally:
        store.close()


@pytest.mark.parametrize("model", list(AttributionModel))
def test_credit_weights_sum_to_one(model: AttributionModel) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from invekto_integrations.models.attribution import credit_weights

    @settings(deadline=None, max_examples=60)
    @given(st.lists(st.integers(min_value=0, max_value=30 * 86_400), min_size=1, max_size=12))
    def check(ages_s: list[int]) -> None:
        ages = [timedelta(seconds=a) for a in sorted(ages_s, reverse=True)]  # oldest first
        weights = credit_weights(model, ages, timedelta(days=7))
        assert len(weights) == len(ages) and all(w >= 0 for w in weights)
        assert abs(sum(weights) - 1) < 1e-9

    check()


def test_time_decay_without_sqlite_math_functions() -> None:
    memory, sqlite = MemoryStore(), SQLiteStore()
    try:
        _fill([memory, sqlite], 5)
        kw = {"since": START, "until": START + timedelta(days=30), "model": AttributionModel.TIME_DECAY,
              "lookback": timedelta(days=5), "half_life": timedelta(days=2)}
        native = {r.source: r.revenue for r in sqlite.attribution_reports.credit("t", **kw)}
        sqlite.attribution_reports._native_pow = False  # a build without pow(): the Python function
        udf = {r.source: r.revenue for r in sqlite.attribution_reports.credit("t", **kw)}
        ref = {r.source: r.revenue for r in memory.attribution_reports.credit("t", **kw)}
        assert native.keys() == udf.keys() == ref.keys()
        assert all(abs(native[k] - udf[k]) <= Decimal("0.01") and abs(udf[k] - ref[k]) <= Decimal("0.02")
                   for k in ref)
    finally:
        sqlite.close()


def test_concurrent_writers_store_each_touch_and_conversion_once(store: object) -> None:
    """Four threads (on PostgreSQL: four pooled connections) store the same webhook touches and the
    same order conversions at once: each message's touch and each order's conversion is stored once,
    and exactly one writer is told it stored it."""
    import threading

    from invekto_integrations.models.attribution import Touch

    barrier = threading.Barrier(4)
    stored = [[0, 0] for _ in range(4)]

    def work(n: int) -> None:
        barrier.wait()
        for i in range(30):
            contact = f"+90532000{i:04d}"
            touch = Touch(tenant_id="t", contact=contact, at=START, channel=Channel.CTWA, message_id=f"wamid.{i}")
            stored[n][0] += store.touches.add_many("t", [touch])  # type: ignore[attr-defined]
            stored[n][1] += int(store.conversions.add("t", Conversion(  # type: ignore[attr-defined]
                tenant_id="t", source_key=f"order:{i}", contact=contact, kind=ConversionKind.PURCHASE,
                occurred_at=START, value=Decimal(10))))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(s[0] for s in stored) == 30 and sum(s[1] for s in stored) == 30
    assert len(store.conversions.find("t")) == 30  # type: ignore[attr-defined]
    assert all(len(store.touches.find("t", f"+90532000{i:04d}")) == 1 for i in range(30))  # type: ignore[attr-defined]


def test_postgres_report_queries_run_on_tenant_led_indexes(postgres_url: str) -> None:
    """With sequential scans priced out, the credit, lead and spend aggregates find an index for
    every table they read (tiny tables here: the planner would scan them otherwise)."""
    import json

    from invekto_integrations.storage.postgres import PostgresStore
    from invekto_integrations.storage.postgres.attribution import _CREDIT_SQL, _SPEND_SQL

    pg = PostgresStore(postgres_url)
    try:
        _fill([pg], 7)
        params = {"tenant": "t", "since": START, "until": START + timedelta(days=30), "currency": "TRY",
                  "kinds": ["purchase"], "model": "time_decay", "lookback": timedelta(days=5),
                  "half_life": 2 * 86_400 * 1_000_000}
        lead_sql = ("SELECT channel, COUNT(*) FROM attribution_leads WHERE tenant_id = %(tenant)s "
                    "AND created_at >= %(since)s AND created_at < %(until)s GROUP BY channel")
        spend = {"tenant": "t", "since": date(2026, 3, 10), "until": date(2026, 3, 11), "currency": "TRY"}
        with pg.atomic() as conn:
            conn.execute("SET LOCAL enable_seqscan = off")  # type: ignore[attr-defined]
            for sql, args in ((_CREDIT_SQL, params), (lead_sql, params), (_SPEND_SQL, spend)):
                [row] = conn.execute("EXPLAIN (FORMAT JSON) " + sql, args).fetchall()  # type: ignore[attr-defined]
                plan = json.dumps(row["QUERY PLAN"])
                assert "Seq Scan" not in plan and '"Index Name"' in plan, plan
    finally:
        pg.close()
