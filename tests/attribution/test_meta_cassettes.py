"""vcrpy cassettes of Meta's documented examples (meta.md): the exact requests the client sends
and the documented answers it must parse (``record_mode="none"``: no network, ever)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import vcr
from pydantic import SecretStr

from invekto_integrations.attribution import hash_phone
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidParameter
from invekto_integrations.core.ratelimit import RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.models.ads import AdsLevel, ConversionEvent, ReportRunStatus
from invekto_integrations.providers.meta import MetaClient

CASSETTES = Path(__file__).parent.parent / "cassettes"


def _json(r1: Any, r2: Any) -> None:
    def body(r: Any) -> Any:
        raw = r.body or b""
        text = raw.decode() if isinstance(raw, bytes) else raw
        return json.loads(text) if text.startswith(("{", "[")) else text

    assert body(r1) == body(r2), f"{body(r1)!r} != {body(r2)!r}"


def recorder(provider: str) -> vcr.VCR:
    v = vcr.VCR(cassette_library_dir=str(CASSETTES / provider), record_mode="none", filter_headers=["authorization"],
                match_on=["method", "scheme", "host", "port", "path", "query", "json_body"])
    v.register_matcher("json_body", _json)
    return v


@pytest.fixture
def client() -> MetaClient:
    clock = FrozenClock(datetime(2026, 11, 25, 11, 10, tzinfo=UTC))
    return MetaClient(SecretStr("EAAG-token"), clock=clock, retry=RetryPolicy.disabled(),
                      limiter_registry=RateLimiterRegistry(clock))


def test_ad_lookup(client: MetaClient) -> None:
    with recorder("meta").use_cassette("get_ad.yaml") as cassette:
        ad = client.get_ad("120210000000000000")
        assert cassette.play_count == 1
    assert (ad.campaign_name, ad.adset_name, ad.ad_name, ad.account_id) == \
        ("Kış Kampanyası", "İstanbul 25-45", "Kış-Video-1", "123456")


def test_insights_pages_with_the_cursor(client: MetaClient) -> None:
    with recorder("meta").use_cassette("insights.yaml") as cassette:
        rows = list(client.iter_insights("123456", date(2026, 11, 1), date(2026, 11, 24)))
        assert cassette.play_count == 2
    assert [(r.date_start, r.spend) for r in rows] == [(date(2026, 11, 1), Decimal("5339.5")),
                                                       (date(2026, 11, 2), Decimal("4120.25"))]
    assert rows[0].impressions == 361324
    assert rows[0].actions == {"onsite_conversion.messaging_conversation_started_7d": Decimal(57)}


def test_async_report_run(client: MetaClient) -> None:
    with recorder("meta").use_cassette("report_run.yaml") as cassette:
        run_id = client.start_report_run("act_123456", date(2026, 1, 1), date(2026, 11, 24), level=AdsLevel.CAMPAIGN)
        assert client.get_report_run(run_id).status is ReportRunStatus.RUNNING
        assert client.get_report_run(run_id).status.finished
        rows = list(client.iter_report_run_insights(run_id, level=AdsLevel.CAMPAIGN))
        assert cassette.play_count == 4
    assert rows[0].spend == Decimal("812.40") and rows[0].currency == "TRY"


def _event(name: str, event_id: str, **kw: object) -> ConversionEvent:
    return ConversionEvent(event_name=name, event_time=datetime.fromtimestamp(1764070000, UTC), event_id=event_id,
                           ctwa_clid="ARAkLkA8rmlFeiCktEJQ-", whatsapp_business_account_id="102012345678901", **kw)


def test_purchase_for_business_messaging(client: MetaClient) -> None:
    event = _event("Purchase", "order-10234", value=Decimal("1499.90"), currency="TRY",
                   hashed_phones=(hash_phone("+905321234567") or "",))
    with recorder("meta").use_cassette("capi_purchase.yaml") as cassette:
        result = client.send_events("1400000000000001", [event], partner_agent="invekto",
                                    test_event_code="TEST12345")
        assert cassette.play_count == 1
    assert result.events_received == 1 and result.fbtrace_id == "AbCdEf123"


def test_event_name_outside_the_allowlist(client: MetaClient) -> None:
    with recorder("meta").use_cassette("capi_invalid_event.yaml"), pytest.raises(InvalidParameter) as info:
        client.send_events("1400000000000001", [_event("Lead", "lead-1")])
    assert info.value.code == "100/2804066" and info.value.request_id == "AbCdEf456"
