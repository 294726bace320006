"""Issue 19, fault soak of the send paths: the shipment watcher with its proactive cargo messages,
and the campaign sender, with 20 % of the requests to every fake (Aras, Yurtiçi, WhatsApp Cloud,
İYS) faulted: throttled (429 / SOAP "Server Too Busy"), 5xx, stalled past the read timeout,
dropped mid-response, cut in half, or with a record broken out of its documented shape.

Each scenario runs twice in the same world shape, once clean and once under faults; the faulty run
must end where the clean one did:
- every parcel status change is appended exactly once (none lost, none doubled);
- the WhatsApp fake takes in no message twice (whatever the client saw);
- no message is silently lost: every message of the clean run has its outbox row in the faulty
  run, which ends accepted (and the fake has it once), or failed / uncertain with a recorded
  reason (uncertain: the call may have reached the provider, so it is never resent); nothing is
  left queued; every campaign recipient ends submitted or with a recorded failure.

In-process (sandbox transports); retries and throttling sleep on a recording clock, so a run
costs only its requests and the stalls (each cut off by a 0.25 s read timeout)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from send_world import (
    LIVE,
    RECORDED_FAILURES,
    START,
    TENANTS,
    SendWorld,
    build,
    seed_audience,
    seed_parcels,
    sent_on_fake,
)

from invekto_integrations.campaigns import LastOrder, OneShotTrigger, RecipientStatus, Variant
from invekto_integrations.core.clock import Clock
from invekto_integrations.models.events import ShipmentStatusChanged
from invekto_integrations.storage.records import OutboxStatus

PARCELS_PER_CARRIER = 6  # per tenant and carrier: 24 parcels, 84 status changes, 60 cargo messages
AUDIENCE = 60  # per tenant


def _outbox(w: SendWorld) -> dict[tuple[str, str], Any]:
    out = {}
    for t in TENANTS:  # the SQLite outbox has no listing method: read the ids, then each row through it
        for (row_id,) in w.store.db.execute("SELECT id FROM outbox WHERE tenant_id = ?", (t,)).fetchall():
            row = w.store.outbox.get(t, row_id)
            out[(t, re.sub(r"^campaign:[0-9A-Z]{26}:", "campaign:*:", row.idempotency_key))] = row  # ids differ
    return out


def _check_messages(w: SendWorld, clean: dict[tuple[str, str], Any], message_key: Any) -> Counter[str]:
    """The no-duplicate / none-lost checks shared by both soaks; returns the outbox statuses."""
    on_fake = sent_on_fake(w)
    assert [k for k, n in on_fake.items() if n > 1] == [], "a message reached the provider twice"
    rows = _outbox(w)
    assert set(rows) == set(clean), "the faulty run recorded other messages than the clean run"
    statuses: Counter[str] = Counter()
    for key, row in rows.items():
        statuses[row.status.value] += 1
        assert row.status in LIVE or row.status in RECORDED_FAILURES, (key, row.status, row.reason)
        sent = on_fake.get(message_key(row), 0)
        if row.status in LIVE:
            assert sent == 1 and row.provider_message_id, (key, row.status, sent)
        else:
            assert row.reason, (key, row.status)  # a recorded failure says why
            if row.status == OutboxStatus.FAILED:  # failed means the provider never took it
                assert sent == 0, (key, row.reason, sent)
    return statuses


# -- the shipment watcher and its proactive messages ----------------------------------------------
def _run_cargo(tmp: Path, sleeper: Clock, *, faults: bool) -> tuple[SendWorld, dict[str, str]]:
    w = build(tmp / f"cargo-{faults}.db", sleeper)
    phones = seed_parcels(w, PARCELS_PER_CARRIER)
    w.faults(faults)
    end = START + timedelta(hours=48)
    while w.clock.now() < end:
        for tenant in TENANTS:
            w.watcher.run_once(tenant)
            w.notifier.poll(tenant)
            w.pipeline.dispatch_due(tenant)
        w.pump()
        w.clock.advance(minutes=30)
    w.faults(False)  # the tail: what was left waiting goes out, nothing is redone
    for _ in range(8):
        for tenant in TENANTS:
            w.watcher.run_once(tenant)
            w.notifier.poll(tenant)
            w.pipeline.dispatch_due(tenant)
        w.pump()
        w.clock.advance(minutes=30)
    return w, phones


def _changes(w: SendWorld) -> list[tuple[str, str, str, str, str]]:
    return sorted((t, e.data["carrier"], e.data["tracking_number"], e.data["old_status"], e.data["new_status"])
                  for t in TENANTS for e in w.store.events.read(t, limit=100_000, types=[ShipmentStatusChanged.TYPE]))


def _cargo_key(row: Any) -> tuple[str, str, str]:
    import json

    msg = json.loads(row.message_json)
    return (row.to_phone.lstrip("+"), msg["template"]["name"], msg["template"]["body_params"][1])


def test_watcher_soak_every_change_once_no_message_twice_none_lost(tmp_path: Path, sleepless: Clock) -> None:
    clean, _ = _run_cargo(tmp_path, sleepless, faults=False)
    try:
        clean_changes = _changes(clean)
        clean_rows = _outbox(clean)
        # the clean run: every lifecycle step once, every configured change announced once
        # Aras: picked up, in transit (codes 2 and 3), out for delivery, delivered; Yurtiçi: three
        assert len(clean_changes) == 2 * PARCELS_PER_CARRIER * (4 + 3)
        assert all(r.status in LIVE for r in clean_rows.values())
        assert len(clean_rows) == 2 * PARCELS_PER_CARRIER * (3 + 2)  # in transit, (out for delivery,) delivered
        assert all(n == 1 for n in sent_on_fake(clean).values())
    finally:
        clean.close()

    w, _ = _run_cargo(tmp_path, sleepless, faults=True)
    try:
        changes = _changes(w)
        assert [c for c, n in Counter(changes).items() if n > 1] == [], "a status change was appended twice"
        assert changes == clean_changes, "status changes were lost or invented under faults"
        assert {s.status for t in TENANTS for s in w.store.shipments.find(t)} == {"delivered"}
        statuses = _check_messages(w, clean_rows, _cargo_key)
        assert statuses[OutboxStatus.QUEUED.value] == statuses[OutboxStatus.SCHEDULED.value] == 0
        # the cargo outbox handed every message over once
        notes = [n for t in TENANTS for n in w.store.cargo_notifications.find(t)]
        assert len(notes) == len(clean_rows) and all(n.submitted_at is not None for n in notes)
        _faults_really_injected(w)
    finally:
        w.close()


# -- the campaign sender ---------------------------------------------------------------------------------
def _run_campaign(tmp: Path, sleeper: Clock, *, faults: bool) -> tuple[SendWorld, dict[str, str]]:
    w = build(tmp / f"campaign-{faults}.db", sleeper)
    seed_audience(w, AUDIENCE)
    ids: dict[str, str] = {}
    for tenant in TENANTS:
        c = w.campaigns.manager.create(
            tenant, "Kış", trigger=OneShotTrigger(at=START),
            variants=[Variant(name="A", template_name="kis_a", body_params=["name", "last_product"])],
            audience=LastOrder(within_days=90))
        w.campaigns.manager.schedule(tenant, c.id)
        ids[tenant] = c.id
    w.faults(faults)
    for tenant in TENANTS:
        w.campaigns.run_occurrence(tenant, ids[tenant], "once", at=START)
    for _ in range(40):  # deferred sends go out as they come due; statuses come back
        for tenant in TENANTS:
            w.pipeline.dispatch_due(tenant)
        w.pump()
        w.clock.advance(minutes=5)
    w.faults(False)
    for _ in range(30):
        for tenant in TENANTS:
            w.pipeline.dispatch_due(tenant)
        w.pump()
        w.clock.advance(minutes=10)
    return w, ids


def _campaign_key(row: Any) -> tuple[str, str, str]:
    import json

    msg = json.loads(row.message_json)
    return (row.to_phone.lstrip("+"), msg["template"]["name"], msg["template"]["body_params"][1])


def test_campaign_soak_no_message_twice_every_recipient_sent_or_recorded(tmp_path: Path, sleepless: Clock) -> None:
    clean, _ = _run_campaign(tmp_path, sleepless, faults=False)
    try:
        clean_rows = _outbox(clean)
        assert len(clean_rows) == 2 * (AUDIENCE - 3)  # three of each tenant have no İYS consent
        assert all(r.status in LIVE for r in clean_rows.values())
        assert sum(sent_on_fake(clean).values()) == len(clean_rows)
    finally:
        clean.close()

    w, ids = _run_campaign(tmp_path, sleepless, faults=True)
    try:
        statuses = _check_messages(w, clean_rows, _campaign_key)
        assert statuses[OutboxStatus.QUEUED.value] == statuses[OutboxStatus.SCHEDULED.value] == 0
        assert statuses[OutboxStatus.SENDING.value] == 0
        for tenant in TENANTS:
            recipients = w.store.campaign_recipients.find(tenant, ids[tenant], limit=10_000)
            assert len(recipients) == AUDIENCE
            by_status = Counter(r.status for r in recipients)
            assert by_status[RecipientStatus.REFUSED] == 3, by_status  # no consent, whatever İYS answered
            for r in recipients:
                if r.status == RecipientStatus.REFUSED:
                    continue
                row = w.store.outbox.get(tenant, r.message_id or "")
                assert row is not None, r  # every sent recipient points at its message
                if row.status == OutboxStatus.FAILED:
                    assert r.status == RecipientStatus.FAILED and r.reason, (r, row.reason)
                else:
                    assert r.status == RecipientStatus.SUBMITTED, (r.status, row.status)
        _faults_really_injected(w, stalls=False)
    finally:
        w.close()


def _faults_really_injected(w: SendWorld, *, stalls: bool = True) -> None:
    """Every kind was injected (``stalls``: the rare 1 % too; a campaign's few hundred requests may
    draw none) and faults were about a fifth of the requests."""
    total = Counter[str]()
    served = 0
    for fake in (w.aras, w.yurtici, w.wa, w.iys):
        total.update(fake.faults.counts)
        served += len(fake.requests)
    for kind in ("rate_limit", "error", "drop", "truncate", *(("timeout",) if stalls else ())):
        assert total[kind] > 0, (kind, total)
    assert sum(total.values()) >= 0.12 * served, (total, served)
