"""Management transitions, the frozen audience of a running campaign, and DST-correct schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from invekto_integrations.campaigns import (
    CampaignManager,
    CampaignStateError,
    CampaignStatus,
    OneShotTrigger,
    OrderCount,
    RecurringTrigger,
    Variant,
    next_occurrence,
    occurrence_key,
    to_rrule,
)
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidArgument

from .conftest import NOW, seed_profiles

A = [Variant(name="A", template_name="kis_a", body_params=["name"])]


def test_lifecycle_and_frozen_audience(store: Any) -> None:
    m = CampaignManager(store.campaigns, store.contact_profiles, clock=FrozenClock(NOW))
    c = m.create("t1", "Kış", trigger=OneShotTrigger(at=NOW + timedelta(days=1)), variants=A,
                 audience={"kind": "order_count", "min": 1})
    assert c.status == CampaignStatus.DRAFT
    c = m.edit("t1", c.id, name="Kış indirimi", audience=OrderCount(min=2))
    assert c.audience == OrderCount(min=2) and c.version == 2
    c = m.schedule("t1", c.id)
    with pytest.raises(CampaignStateError) as err:
        m.edit("t1", c.id, audience=OrderCount(min=1))
    assert err.value.record == c.id and "only a draft" in str(err.value)
    with pytest.raises(CampaignStateError):
        m.schedule("t1", c.id)
    c = m.mark_running("t1", c.id)
    assert c.status == CampaignStatus.RUNNING
    c = m.pause("t1", c.id)
    with pytest.raises(CampaignStateError):
        m.edit("t1", c.id, audience=OrderCount(min=1))
    assert m.resume("t1", c.id).status == CampaignStatus.RUNNING
    assert m.complete("t1", c.id).status == CampaignStatus.COMPLETED
    for op in (m.pause, m.resume, m.cancel, m.complete):
        with pytest.raises(CampaignStateError):
            op("t1", c.id)
    copy = m.duplicate("t1", c.id)
    assert copy.status == CampaignStatus.DRAFT and copy.audience == OrderCount(min=2)
    assert m.cancel("t1", copy.id).status == CampaignStatus.CANCELLED


def test_bad_input_is_named(store: Any) -> None:
    m = CampaignManager(store.campaigns, clock=FrozenClock(NOW))
    with pytest.raises(InvalidArgument) as err:
        m.create("t1", "x", trigger=OneShotTrigger(at=NOW), variants=A + A)
    assert "unique" in str(err.value)
    with pytest.raises(InvalidArgument):
        m.create("t1", "x", trigger=RecurringTrigger(cron="61 * * * *"), variants=A)
    with pytest.raises(InvalidArgument):
        m.create("t1", "x", trigger=RecurringTrigger(frequency="daily", timezone="Mars/Olympus"), variants=A)
    with pytest.raises(InvalidArgument):
        m.edit("t1", "nope", name="y")
    c = m.create("t1", "x", trigger=OneShotTrigger(at=NOW - timedelta(days=2)), variants=A)
    with pytest.raises(InvalidArgument):
        m.schedule("t1", c.id)
    with pytest.raises(InvalidArgument):
        m.edit("t1", c.id, status="running")


def test_preview_is_a_dry_run(store: Any) -> None:
    seed_profiles(store)
    m = CampaignManager(store.campaigns, store.contact_profiles, clock=FrozenClock(NOW))
    preview = m.preview("t1", {"kind": "platform", "any_of": ["trendyol"]}, sample=2)
    assert preview.count == 4
    assert [p.phone for p in preview.sample] == ["+905320000001", "+905320000003"]
    assert preview.sample[0].name == "Ayşe Yılmaz"


IST = ZoneInfo("Europe/Istanbul")


def test_weekly_in_istanbul_and_occurrence_keys() -> None:
    t = RecurringTrigger(frequency="weekly", at="10:00", weekdays=[0])
    at = next_occurrence(t, NOW, "Europe/Istanbul")
    assert at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 10:00 +03:00
    assert occurrence_key(at, "Europe/Istanbul") == "2026-11-30T10:00+03:00"
    assert to_rrule(t) == "FREQ=WEEKLY;BYHOUR=10;BYMINUTE=0;BYSECOND=0;BYDAY=MO"


def test_dst_change_keeps_the_wall_time() -> None:
    # Europe/Berlin leaves CET for CEST on 2026-03-29 and returns on 2026-10-25.
    t = RecurringTrigger(frequency="daily", at="10:00", timezone="Europe/Berlin")
    got = []
    at = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    for _ in range(3):
        at = next_occurrence(t, at, "Europe/Istanbul")
        got.append(at)
    assert got == [datetime(2026, 3, 28, 9, 0, tzinfo=UTC), datetime(2026, 3, 29, 8, 0, tzinfo=UTC),
                   datetime(2026, 3, 30, 8, 0, tzinfo=UTC)]
    gap = RecurringTrigger(cron="30 2 * * *", timezone="Europe/Berlin")  # 02:30 does not exist on 03-29
    assert next_occurrence(gap, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "UTC") == \
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST: forward by the gap
    fold = next_occurrence(gap, datetime(2026, 10, 24, 12, 0, tzinfo=UTC), "UTC")
    assert fold == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first of the two 02:30s


def test_monthly_on_the_31st_uses_short_months_last_day() -> None:
    t = RecurringTrigger(frequency="monthly", at="09:00", month_day=31)
    at = datetime(2026, 1, 31, 7, 0, tzinfo=UTC)
    at = next_occurrence(t, at, "Europe/Istanbul")
    assert at is not None and at.astimezone(IST).date().isoformat() == "2026-02-28"
    until = RecurringTrigger(frequency="daily", until=datetime(2026, 1, 2, tzinfo=UTC))
    assert next_occurrence(until, datetime(2026, 1, 2, 8, tzinfo=UTC), "Europe/Istanbul") is None
