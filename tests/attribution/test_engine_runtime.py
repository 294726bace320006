"""The attribution engine hosted by the runtime: events from the log become touches, leads and
conversions once, whatever the number of rounds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from invekto_integrations.attribution import AttributionEngine, LeadTracker
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.events import EventBus
from invekto_integrations.models.attribution import Channel, ConversionKind
from invekto_integrations.models.events import AppointmentBooked, InboundMessageReceived
from invekto_integrations.runtime import Runtime

from .conftest import START


def test_runtime_feeds_the_engine(store: Any, clock: FrozenClock) -> None:
    bus = EventBus(store.events, clock)
    ref = {"source_type": "ad", "source_id": "120210000000000000", "ctwa_clid": "ARAk1", "headline": "Kış"}
    bus.publish("t1", [
        InboundMessageReceived(tenant_id="t1", occurred_at=START, from_phone="905321234567",
                               provider_message_id="wamid.1", kind="text", text="Merhaba", ctwa_clid="ARAk1",
                               referral=ref),
        InboundMessageReceived(tenant_id="t1", occurred_at=START + timedelta(hours=2), from_phone="905321234567",
                               provider_message_id="wamid.2", kind="text", text="Fiyat?"),
        AppointmentBooked(tenant_id="t1", occurred_at=START + timedelta(hours=3), appointment_id="ap-1",
                          doctor_id="d1", patient_phone="+905321234567", starts_at=START + timedelta(days=2),
                          ends_at=START + timedelta(days=2, minutes=30), service_name="İmplant muayenesi"),
    ])
    engine = AttributionEngine(store, LeadTracker(store))
    runtime = Runtime(store, [engine], clock=clock, tenants=["t1"])
    runtime.run_once()
    runtime.run_once()
    lead = store.leads.latest("t1", "+905321234567")
    assert lead.channel is Channel.CTWA and lead.ad.ad_id == "120210000000000000" and lead.ctwa_clid == "ARAk1"
    kinds = sorted(c.kind.value for c in store.conversions.find("t1"))
    assert kinds == [ConversionKind.APPOINTMENT.value, ConversionKind.REPLY.value]
    assert store.events.cursor("t1", "attribution") == 3
    created = store.events.read("t1", types=["lead.created"])
    assert len(created) == 1
    assert (created[0].data["lead_id"], created[0].data["channel"], created[0].data["ctwa_clid"]) == \
        (lead.lead_id, "ctwa", "ARAk1")


def test_daily_insights_pull_and_capi_send_on_timers(store: Any, clock: FrozenClock) -> None:
    from datetime import date

    from invekto_integrations.attribution import ConversionsSendEngine, ConversionsSender, SpendPullEngine
    from invekto_integrations.models.attribution import Lead
    from invekto_integrations.testing.sandbox import Sandbox
    from invekto_integrations.testing.sandbox.fakes.meta import MetaFake

    from .conftest import meta_client

    fake = MetaFake(clock=clock)
    meta = meta_client(Sandbox([fake], clock=clock), clock)
    dataset = meta.create_dataset("waba-a")
    store.leads.add("t1", Lead(tenant_id="t1", contact="+905321234567", created_at=START, last_touch_at=START,
                               first_touch_id="x", channel=Channel.CTWA, ctwa_clid="C1"))
    engines = [SpendPullEngine(store, lambda t: (meta, "act_1001") if t == "t1" else None, window_days=3),
               ConversionsSendEngine(lambda t: ConversionsSender(store, meta, dataset_id=dataset, waba_id="waba-a",
                                                                 clock=clock) if t == "t1" else None)]
    runtime = Runtime(store, engines, clock=clock, tenants=["t1", "t2"])
    runtime.run_once()  # 12:00 in Istanbul: timers are set (next 06:30 and the next quarter hour)
    assert store.ad_spend.find("t1") == [] and fake.events(dataset) == []
    clock.advance(hours=19)  # 07:00 the next day in Istanbul
    runtime.run_once()
    days = sorted({e.day for e in store.ad_spend.find("t1")})
    assert days == [date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)]
    assert [e["event_name"] for e in fake.events(dataset)] == ["LeadSubmitted"]
    runtime.run_once()
    assert len(fake.events(dataset)) == 1 and store.ad_spend.find("t2") == []


def test_reports_use_the_tenants_timezone(store: Any) -> None:
    from datetime import UTC, date, datetime

    from invekto_integrations.attribution import InboundTouch, leads_per_campaign
    from invekto_integrations.models.settings import TenantSettings

    late = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # 11 March 01:30 in Istanbul
    LeadTracker(store).observe(InboundTouch(tenant_id="t1", from_id="905321234567", at=late, message_id="m1"))
    day = date(2026, 3, 10)
    assert leads_per_campaign(store, "t1", day, day).total == 0  # the default: Europe/Istanbul
    store.tenant_settings.save("t1", TenantSettings(tenant_id="t1", timezone="UTC"))
    report = leads_per_campaign(store, "t1", day, day)
    assert report.total == 1 and report.timezone == "UTC"
    assert leads_per_campaign(store, "t1", day, day, timezone="Europe/Istanbul").total == 0
