"""Spend (CSV, manual, Insights sync and async), the Meta client's errors and the Conversions API."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from invekto_integrations.attribution import import_spend_csv, pull_insights, spend_entry
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import (
    AuthenticationError,
    InvalidArgument,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from invekto_integrations.models.ads import AdsLevel, ConversionEvent
from invekto_integrations.models.attribution import SpendOrigin
from invekto_integrations.providers.meta import AsyncMetaClient, MetaClient, parse_automatic_events
from invekto_integrations.testing.sandbox import Sandbox
from invekto_integrations.testing.sandbox.fakes.meta import MetaFake

from .conftest import START, meta_client

T = "tenant-a"

CSV = """date;campaign_id;campaign_name;adset_id;ad_id;amount;currency
2026-03-10;utm:kis;Kış;;;1.234,50;TRY
2026-03-11;utm:kis;Kış;;;-5;TRY
2026-03-1x;utm:kis;Kış;;;10;TRY
2026-03-12;;Kış;;;10;TRY
2026-03-12;120;Kış;121;122;99.9;
2026-03-13;120;Kış;;122;5;TRY
"""


def test_csv_import_reports_line_numbered_errors(store: Any) -> None:
    result = import_spend_csv(store.ad_spend, T, CSV)
    assert result.imported == 2
    assert [str(e) for e in result.errors] == [
        "line 3, amount: spend cannot be negative: -5",
        "line 4, date: not a YYYY-MM-DD date: '2026-03-1x'",
        "line 5, campaign_id: campaign_id is required",
        "line 7, adset_id: an ad-level entry needs its adset_id",
    ]
    rows = store.ad_spend.find(T)
    assert [(r.day, r.level, r.amount, r.origin) for r in rows] == [
        (date(2026, 3, 10), AdsLevel.CAMPAIGN, Decimal("1234.50"), SpendOrigin.MANUAL),
        (date(2026, 3, 12), AdsLevel.AD, Decimal("99.90"), SpendOrigin.MANUAL),
    ]
    assert import_spend_csv(store.ad_spend, "tenant-b", CSV, all_or_nothing=True).imported == 0
    assert store.ad_spend.find("tenant-b") == []
    bad = import_spend_csv(store.ad_spend, T, "day,campaign,amount\n2026-03-10,x,1\n")
    assert bad.errors[0].line == 1 and "missing column" in bad.errors[0].message


def test_manual_entries_are_validated() -> None:
    with pytest.raises(InvalidArgument) as info:
        spend_entry(T, date(2026, 3, 10), "c", "abc")
    assert info.value.field == "amount"
    with pytest.raises(InvalidArgument):
        spend_entry(T, date(2026, 3, 10), "c", "1", currency="TL")


def test_long_ranges_use_an_async_report_run(store: Any, meta: MetaClient, meta_fake: MetaFake,
                                             clock: FrozenClock) -> None:
    meta_fake.set_spend("act_1001", "120210000000000000", date(2026, 2, 1), "0.5")
    result = pull_insights(meta, store.ad_spend, T, "act_1001", date(2026, 1, 1), date(2026, 3, 10),
                           level=AdsLevel.CAMPAIGN, clock=clock, poll_every=10)
    assert result.async_run_id is not None and result.entries == 2 * 69
    polls = meta_fake.requests_to(f"/{result.async_run_id}", "GET")
    assert len(polls) == 2 and [s for s in clock.slept if s] == [10]  # not started, then completed
    feb1 = [r for r in store.ad_spend.find(T, since=date(2026, 2, 1), until=date(2026, 2, 1))
            if r.campaign_id == "120200000000000001"]
    assert feb1[0].amount == Decimal("50.50") and feb1[0].origin is SpendOrigin.INSIGHTS
    # pulling again (the rolling re-pull) replaces, never duplicates
    pull_insights(meta, store.ad_spend, T, "act_1001", date(2026, 3, 1), date(2026, 3, 10), level=AdsLevel.CAMPAIGN,
                  clock=clock)
    assert len(store.ad_spend.find(T)) == 2 * 69


def test_graph_errors_are_typed(meta_sandbox: Sandbox, meta: MetaClient, meta_fake: MetaFake,
                                clock: FrozenClock) -> None:
    with pytest.raises(AuthenticationError) as auth:
        meta_client(meta_sandbox, clock, token="nope").get_ad("1")
    assert auth.value.code == "190" and auth.value.request_id == "AbCdEfSandbox"
    with pytest.raises(NotFound) as missing:
        meta.get_ad("220210000000000000")  # another business's ad
    assert missing.value.code == "100/33"
    meta_fake.unreadable_ads.add("120210000000000001")
    with pytest.raises(PermissionDenied):
        meta.get_ad("120210000000000001")
    meta_fake.faults.configure(script=["rate_limit"], retry_after_seconds=90)
    assert meta.get_ad("120210000000000000").campaign_name == "Kış Kampanyası"
    assert [s for s in clock.slept if s] == [120.0]  # estimated_time_to_regain_access: 2 minutes
    meta_fake.faults.configure(script=["rate_limit"] * 3)
    with pytest.raises(RateLimited) as throttled:
        meta.get_ad("120210000000000000")
    assert throttled.value.code == "17/2446079"


def test_conversions_api_checks(meta: MetaClient, meta_fake: MetaFake, clock: FrozenClock) -> None:
    dataset = meta.create_dataset("waba-a")
    assert meta.create_dataset("waba-a") == dataset  # the existing one comes back
    good = ConversionEvent(event_name="LeadSubmitted", event_time=clock.now(), event_id="l1", ctwa_clid="C1")
    with pytest.raises(InvalidParameter) as info:
        meta.send_events(dataset, [good, good.model_copy(update={"event_name": "Lead", "event_id": "l2"})])
    assert info.value.code == "100/2804066" and info.value.request_id
    with pytest.raises(InvalidArgument):  # before any I/O
        meta.send_events(dataset, [good.model_copy(update={"event_name": "Purchase"})])
    old = good.model_copy(update={"event_time": clock.now() - timedelta(days=8), "event_id": "l3"})
    with pytest.raises(InvalidParameter):
        meta.send_events(dataset, [old])
    assert meta.send_events(dataset, [good], test_event_code="TEST1").events_received == 1
    assert meta.send_events(dataset, [good]).events_received == 1
    assert [e["event_id"] for e in meta_fake.events(dataset)] == ["l1"]  # deduplicated


async def test_async_client_reads_the_same(meta_sandbox: Sandbox, clock: FrozenClock) -> None:
    from pydantic import SecretStr

    from invekto_integrations.core.ratelimit import RateLimiterRegistry

    async with AsyncMetaClient(SecretStr("meta-token-a"), base_url=meta_sandbox.inprocess_url("meta"),
                               transport=meta_sandbox.async_transport(), clock=clock,
                               limiter_registry=RateLimiterRegistry(clock)) as client:
        ad = await client.get_ad("120210000000000002")
        rows = [r async for r in client.iter_insights("1001", date(2026, 3, 9), date(2026, 3, 10), limit=2)]
    assert ad.campaign_name == "İmplant Kampanyası" and len(rows) == 6


def test_automatic_events_tolerate_one_bad_item() -> None:
    body = {"entry": [{"id": "W", "changes": [{"field": "messages", "value": {}}, {
        "field": "automatic_events", "value": {"automatic_events": [
            {"id": "wamid.1", "event_name": "Purchase", "timestamp": 1764070000, "ctwa_clid": "C",
             "custom_data": {"currency": "try", "value": "1499.90"}},
            {"id": "wamid.2", "event_name": "LeadSubmitted", "timestamp": "soon"}]}}]}]}
    events, errors = parse_automatic_events(body)
    assert [(e.message_id, e.value, e.currency, e.waba_id) for e in events] == \
        [("wamid.1", Decimal("1499.90"), "TRY", "W")]
    assert errors[0].field == "timestamp" and errors[0].record == "wamid.2"


def test_start_is_noon_in_istanbul() -> None:
    assert START.hour == 9


def test_sender_respects_opt_outs_and_keeps_transient_failures_pending(store: Any, meta: MetaClient,
                                                                        meta_fake: MetaFake,
                                                                        clock: FrozenClock) -> None:
    from invekto_integrations.attribution import ConversionsSender, OptOutConsent
    from invekto_integrations.models.attribution import CapiStatus, Channel, Lead

    for i, phone in enumerate(["+905321111111", "+905322222222"]):
        store.leads.add(T, Lead(tenant_id=T, contact=phone, created_at=clock.now(), last_touch_at=clock.now(),
                                first_touch_id=f"t{i}", channel=Channel.CTWA, ctwa_clid=f"C{i}"))
    store.messaging_contacts.set_opt_out(T, "+905322222222", clock.now(), "DUR")
    dataset = meta.create_dataset("waba-a")
    sender = ConversionsSender(store, meta, dataset_id=dataset, waba_id="waba-a", clock=clock,
                               consent=OptOutConsent(store.messaging_contacts))
    meta_fake.faults.configure(script=["error"] * 3)  # 5xx through the client's retries
    first = sender.run(T)
    assert (first.sent, first.skipped_consent, first.pending) == (0, 1, 1)
    second = sender.run(T)
    assert (second.sent, second.already_done) == (1, 1)
    statuses = sorted(d.status for d in store.capi_deliveries.find(T))
    assert statuses == sorted([CapiStatus.SENT, CapiStatus.SKIPPED_CONSENT])
    assert [e["user_data"]["ctwa_clid"] for e in meta_fake.events(dataset)] == ["C0"]


def test_report_run_status_words() -> None:
    from invekto_integrations.models.ads import ReportRunStatus

    assert ReportRunStatus.parse("Job Completed") is ReportRunStatus.COMPLETED
    assert ReportRunStatus.parse("Job Failed Permanently") is ReportRunStatus.FAILED
    assert ReportRunStatus.parse("Job Queued") is ReportRunStatus.RUNNING


def test_automatic_events_are_routed_by_waba(store: Any) -> None:
    from invekto_integrations.attribution import record_automatic_events_by_waba

    body = {"entry": [{"id": waba, "changes": [{"field": "automatic_events", "value": {"automatic_events": [
        {"id": f"wamid.{waba}", "event_name": "Purchase", "timestamp": 1764070000, "ctwa_clid": "C",
         "custom_data": {"currency": "TRY", "value": 10}}]}}]} for waba in ("waba-a", "waba-x")]}
    events, _ = parse_automatic_events(body)
    result = record_automatic_events_by_waba(store, events, {"waba-a": "tenant-a"}.get)
    assert [c.source_key for c in result.stored["tenant-a"]] == ["meta:wamid.waba-a:Purchase"]
    assert [e.waba_id for e in result.unrouted] == ["waba-x"]
    assert store.conversions.find("tenant-a")[0].counted  # nothing of ours to match: it counts
