"""The attribution area's conversion repository as a feed: its records are credited to campaign messages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from invekto_integrations.campaigns import AttributionConversionFeed, CampaignEngine, OneShotTrigger, Variant
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.messaging.base import OutboundMessage, SubmitResult
from invekto_integrations.models.attribution import Conversion, ConversionKind
from invekto_integrations.storage.memory import MemoryStore

from .conftest import NOW


class AcceptingSink:
    def __init__(self) -> None:
        self.n = 0

    def submit(self, message: OutboundMessage) -> SubmitResult:
        self.n += 1
        return SubmitResult(message_id=f"m{self.n}", status="sent")


def test_attribution_conversions_are_credited_once() -> None:
    clock = FrozenClock(NOW)
    store = MemoryStore()
    engine = CampaignEngine(campaigns=store.campaigns, recipients=store.campaign_recipients,
                            conversions=store.campaign_conversions, profiles=store.contact_profiles,
                            sink=AcceptingSink(), clock=clock,
                            conversion_feed=AttributionConversionFeed(store.conversions))
    phone = "+905321112233"
    store.contact_profiles.record_appointment("t1", phone, appointment_ref="old", at=NOW - timedelta(days=200),
                                              service="İmplant")
    c = engine.manager.create("t1", "Kontrol", trigger=OneShotTrigger(at=NOW),
                              variants=[Variant(name="A", template_name="kontrol", body_params=["name"])])
    engine.manager.schedule("t1", c.id)
    assert engine.run_occurrence("t1", c.id, "once").submitted == 1
    clock.advance(86400)
    store.conversions.add("t1", Conversion(tenant_id="t1", source_key="appointment:A1", contact=phone,
                                           kind=ConversionKind.APPOINTMENT, occurred_at=clock.now(),
                                           value=Decimal(1500)))
    store.conversions.add("t1", Conversion(tenant_id="t1", source_key="lead:x", contact=phone,
                                           kind=ConversionKind.LEAD_SUBMITTED, occurred_at=clock.now()))
    assert engine.sweep_conversions("t1") == 1
    assert engine.sweep_conversions("t1") == 0  # overlapping sweeps credit nothing twice
    [conv] = store.campaign_conversions.find("t1", c.id)
    assert (conv.conversion_type, conv.value_amount, conv.message_id, conv.variant) == (
        "appointment", Decimal(1500), "m1", "A")


def test_lead_labels_from_attribution_feed_the_audience() -> None:
    from invekto_integrations.campaigns import AudienceContext, Segment, Tag, import_lead_labels
    from invekto_integrations.models.attribution import Channel, Lead

    store = MemoryStore()
    store.leads.add("t1", Lead(tenant_id="t1", contact="+905321112233", created_at=NOW, last_touch_at=NOW,
                               first_touch_id="x", channel=Channel.CTWA, labels=("implant-lead",),
                               segments=("dental",)))
    store.leads.add("t1", Lead(tenant_id="t1", contact="wa:abc", created_at=NOW, last_touch_at=NOW,
                               first_touch_id="y", channel=Channel.ORGANIC, labels=("x",)))
    assert import_lead_labels(store.contact_profiles, store.leads, "t1", since=None, at=NOW) == 1
    ctx = AudienceContext(now=NOW)
    assert store.contact_profiles.select("t1", Tag(any_of=["Implant-Lead"]), ctx) == ["+905321112233"]
    assert store.contact_profiles.select("t1", Segment(any_of=["DENTAL"]), ctx) == ["+905321112233"]
