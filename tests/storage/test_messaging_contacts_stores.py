"""`messaging_contacts` behaves the same on memory, SQLite and PostgreSQL: inbound times and clicks
only move forward, a later opt decision is never undone by an earlier one, tenants are apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .conftest import open_store

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
PHONE = "+905321234567"


@pytest.fixture(params=["memory", "sqlite-file", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s = open_store(request.param, request, tmp_path)
    yield s
    s.close()


def test_inbound_and_clicks_only_move_forward(store: Any) -> None:
    contacts = store.messaging_contacts
    assert contacts.get("t1", PHONE) is None
    c = contacts.record_inbound("t1", PHONE, T0, wa_id="905321234567", ctwa_clid="click-1", referral_json='{"a": 1}')
    assert (c.last_inbound_at, c.wa_id, c.ctwa_clid, c.ctwa_at) == (T0, "905321234567", "click-1", T0)
    later = T0 + timedelta(minutes=5)
    c = contacts.record_inbound("t1", PHONE, later, ctwa_clid="click-2", referral_json='{"a": 2}')
    assert (c.last_inbound_at, c.wa_id, c.ctwa_clid, c.referral_json) == (later, "905321234567", "click-2", '{"a": 2}')
    # A redelivered older message moves nothing back.
    c = contacts.record_inbound("t1", PHONE, T0, ctwa_clid="click-1", referral_json='{"a": 1}')
    assert (c.last_inbound_at, c.ctwa_clid, c.ctwa_at) == (later, "click-2", later)
    assert contacts.get("t2", PHONE) is None


def test_a_later_opt_decision_is_never_undone_by_an_earlier_one(store: Any) -> None:
    contacts = store.messaging_contacts
    out = contacts.set_opt_out("t1", PHONE, T0 + timedelta(hours=1), "DUR")
    assert (out.opted_out_at, out.opt_out_keyword) == (T0 + timedelta(hours=1), "DUR")
    stale = contacts.clear_opt_out("t1", PHONE, T0)  # an opt-in decided before the opt-out, arriving late
    assert stale.opted_out_at == T0 + timedelta(hours=1) and stale.opt_out_keyword == "DUR"
    back_in = contacts.clear_opt_out("t1", PHONE, T0 + timedelta(hours=2))
    assert (back_in.opted_out_at, back_in.opt_out_keyword, back_in.opt_changed_at) == (
        None, None, T0 + timedelta(hours=2))
    late_out = contacts.set_opt_out("t1", PHONE, T0 + timedelta(hours=1, minutes=30), "STOP")
    assert late_out.opted_out_at is None
    assert contacts.set_opt_out("t2", PHONE, T0, "İPTAL").opt_out_keyword == "İPTAL"
    current = contacts.get("t1", PHONE)
    assert current is not None and current.opted_out_at is None
