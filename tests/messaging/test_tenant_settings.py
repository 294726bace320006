"""Tenant settings: one persisted record per tenant that the engines read."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from invekto_integrations.core.money import Money
from invekto_integrations.messaging import MessageCategory, MessagingSettings, OutboundMessage, TemplateRef
from invekto_integrations.models.events import ShipmentStatusChanged
from invekto_integrations.settings import (
    ConsentPolicy,
    FrequencyCap,
    Niche,
    QuietHoursWindow,
    TenantSettings,
    tenant_settings,
)
from invekto_integrations.storage import MemoryStore, SQLiteStore
from invekto_integrations.storage.protocols import TenantMismatch
from invekto_integrations.sync.shipments import CargoMessageSettings, CargoNotifier

from .conftest import PHONE, WA_ID, Harness

NY = "America/New_York"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Any:
    s = MemoryStore() if request.param == "memory" else SQLiteStore()
    yield s
    s.close()


def test_round_trip_defaults_and_tenant_isolation(store: Any) -> None:
    assert store.tenant_settings.get("t1") is None
    defaults = tenant_settings(store.tenant_settings, "t1")
    assert defaults.timezone == "Europe/Istanbul" and defaults.locale == "tr-TR" and defaults.niche is Niche.ECOMMERCE
    custom = TenantSettings(
        tenant_id="t1", timezone=NY, locale="en-US", niche=Niche.DENTAL,
        quiet_hours=QuietHoursWindow(start=time(22), end=time(8)),
        frequency_caps=(FrequencyCap(max_messages=1, per=timedelta(days=1)), FrequencyCap(max_messages=3)),
        consent=ConsentPolicy(require_iys=False), opt_out_keywords=(" BITTI ", "DUR", "DUR"),
        message_costs={MessageCategory.MARKETING: Money(amount=Decimal("1.2345"), currency="TRY")},
        updated_at=datetime(2026, 11, 24, 9, tzinfo=UTC))
    store.tenant_settings.save("t1", custom)
    got = store.tenant_settings.get("t1")
    assert got == custom and got.opt_out_keywords == ("BITTI", "DUR")
    assert got.message_cost("marketing") == Money(amount=Decimal("1.2345")) and got.message_cost("utility") is None
    assert got.consent_policy().opt_out_keywords == ("BITTI", "DUR") and not got.consent_policy().require_iys
    rule = got.quiet_hours_rule()
    assert rule.timezone == NY and (rule.start, rule.end) == (time(22), time(8))
    assert store.tenant_settings.get("t2") is None and store.tenant_settings.tenants() == ["t1"]
    store.tenant_settings.save("t1", custom.model_copy(update={"locale": "tr-TR"}))  # replace
    assert store.tenant_settings.get("t1").locale == "tr-TR"
    with pytest.raises(TenantMismatch):
        store.tenant_settings.save("t2", custom)


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        TenantSettings(tenant_id="t1", timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        TenantSettings(tenant_id="")
    with pytest.raises(ValidationError):
        TenantSettings(tenant_id="t1", niche="bakery")  # type: ignore[arg-type]


def marketing(key: str) -> OutboundMessage:
    return OutboundMessage(tenant_id="t1", to_phone=PHONE, idempotency_key=key, category=MessageCategory.MARKETING,
                           purpose="campaign", template=TemplateRef(name="kampanya_duyurusu", body_params=["A", "1"]))


def wire(h: Harness) -> None:
    h.pipeline.settings_repository = h.store.tenant_settings
    h.consent.settings_repository = h.store.tenant_settings


def test_pipeline_applies_the_tenants_quiet_hours_in_its_timezone(harness: Harness) -> None:
    wire(harness)
    harness.store.tenant_settings.save("t1", TenantSettings(
        tenant_id="t1", timezone=NY, quiet_hours=QuietHoursWindow(start=time(22), end=time(8))))
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    harness.clock.set(datetime(2026, 11, 25, 3, 30, tzinfo=UTC))  # 22:30 in New York, 06:30 in Istanbul
    result = harness.pipeline.submit(marketing("m1"))
    assert result.status == "scheduled"
    row = harness.store.outbox.get("t1", result.message_id)
    assert row is not None and row.due_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00 New York
    # an explicit configure still overrides the stored settings (compatibility)
    harness.pipeline.configure("t1", MessagingSettings())
    assert harness.pipeline.settings("t1").quiet_hours.timezone == "Europe/Istanbul"


def test_every_stored_frequency_cap_is_enforced(harness: Harness) -> None:
    wire(harness)
    harness.store.tenant_settings.save("t1", TenantSettings(
        tenant_id="t1", frequency_caps=(FrequencyCap(max_messages=1, per=timedelta(days=1)),
                                        FrequencyCap(max_messages=2, per=timedelta(days=7)))))
    harness.iys.seed_consent("700001", "700001", PHONE, "ONAY")
    assert harness.pipeline.submit(marketing("a")).status == "sent"
    second = harness.pipeline.submit(marketing("b"))
    assert second.status == "refused" and second.reason == "frequency_cap"
    harness.clock.advance(86_400 + 60)
    assert harness.pipeline.submit(marketing("c")).status == "sent"
    harness.clock.advance(86_400 + 60)
    weekly = harness.pipeline.submit(marketing("d"))
    assert weekly.status == "refused" and weekly.reason == "frequency_cap"


def test_consent_reads_the_stored_opt_out_keywords(harness: Harness) -> None:
    wire(harness)
    harness.store.tenant_settings.save("t1", TenantSettings(tenant_id="t1", opt_out_keywords=("BİTTİ",)))
    harness.wa.inject_inbound(WA_ID, "iptal")  # not this tenant's keyword any more
    harness.deliver()
    assert harness.store.messaging_contacts.get("t1", PHONE).opted_out_at is None  # type: ignore[union-attr]
    harness.wa.inject_inbound(WA_ID, "Bitti")
    harness.deliver()
    contact = harness.store.messaging_contacts.get("t1", PHONE)
    assert contact is not None and contact.opt_out_keyword == "BİTTİ"


def test_cargo_notice_waits_for_the_tenants_quiet_hours(store: Any) -> None:
    store.tenant_settings.save("t1", TenantSettings(tenant_id="t1", timezone=NY,
                                                    quiet_hours=QuietHoursWindow(start=time(22), end=time(8))))
    notifier = CargoNotifier(store.events, store.cargo_notifications, sink=None,  # type: ignore[arg-type]
                             settings={}, settings_repository=store.tenant_settings)
    now = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 22:30 in New York
    event = ShipmentStatusChanged(tenant_id="t1", occurred_at=now, carrier="aras", tracking_number="123",
                                  old_status="in_transit", new_status="delivered", customer_phone=PHONE)
    message = notifier.render(event, CargoMessageSettings(), now)
    assert message is not None and message.not_before == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    # an explicit cargo quiet-hours setting still wins
    from invekto_integrations.messaging.quiet_hours import QuietHours

    own = notifier.render(event, CargoMessageSettings(quiet_hours=QuietHours(enabled=False)), now)
    assert own is not None and own.not_before is None
