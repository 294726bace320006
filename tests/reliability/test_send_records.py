"""What the send pipeline records when the provider's answer is not a plain yes or no (found by the
send soak): a 2xx answer it cannot read means the provider has the message (``uncertain``, never
resent, never ``failed``); a message that gives up after its retries is a failure the campaign
sees (its recipient ends ``failed``, not ``submitted`` forever)."""

from __future__ import annotations

from pathlib import Path

import pytest
from send_world import START, build, seed_audience, sent_on_fake

from invekto_integrations.campaigns import LastOrder, OneShotTrigger, RecipientStatus, Variant
from invekto_integrations.core.clock import Clock
from invekto_integrations.messaging import MessageCategory, OutboundMessage
from invekto_integrations.messaging.base import TemplateRef
from invekto_integrations.storage.records import OutboxStatus


@pytest.mark.parametrize("fault", ["truncate", "malformed"])
def test_an_unreadable_2xx_answer_to_a_send_is_uncertain_not_failed(tmp_path: Path, sleepless: Clock,
                                                                    fault: str) -> None:
    w = build(tmp_path / "w.db", sleepless)
    try:
        w.wa.faults.configure(script=[fault])
        result = w.pipeline.submit(OutboundMessage(
            tenant_id="t1", idempotency_key="k1", purpose="cargo_status", category=MessageCategory.UTILITY,
            to_phone="+905321112233", template=TemplateRef(name="kargo_yola_cikti",
                                                           body_params=["Aras Kargo", "35", "http://x"])))
        assert result.status == "uncertain" and result.reason == "answer_unreadable", result
        assert sum(sent_on_fake(w).values()) == 1  # the fake took it in
        w.clock.advance(hours=1)
        w.pipeline.dispatch_due("t1")
        row = w.store.outbox.get_by_key("t1", "k1")
        assert row is not None and row.status == OutboxStatus.UNCERTAIN
        assert sum(sent_on_fake(w).values()) == 1  # and never again
    finally:
        w.close()


def test_a_campaign_message_that_gives_up_fails_its_recipient(tmp_path: Path, sleepless: Clock) -> None:
    w = build(tmp_path / "w.db", sleepless)
    try:
        audience = seed_audience(w, 1, no_consent=0)
        c = w.campaigns.manager.create("t1", "Kış", trigger=OneShotTrigger(at=START),
                                       variants=[Variant(name="A", template_name="kis_a",
                                                         body_params=["name", "last_product"])],
                                       audience=LastOrder(within_days=90))
        w.campaigns.manager.schedule("t1", c.id)
        # every send is throttled (the client retries, then the pipeline defers it) until it gives up
        w.wa.faults.configure(script=["rate_limit"] * 1000)
        w.campaigns.run_occurrence("t1", c.id, "once", at=START)
        for _ in range(60):
            w.pipeline.dispatch_due("t1")
            w.pump()
            w.clock.advance(minutes=5)
        recipients = {r.phone: r for r in w.store.campaign_recipients.find("t1", c.id)}
        first = recipients[audience["t1"][0]]
        row = w.store.outbox.get("t1", first.message_id or "")
        assert row is not None and row.status == OutboxStatus.FAILED and (row.reason or "").startswith("gave up")
        assert first.status == RecipientStatus.FAILED, first
        assert sum(sent_on_fake(w).values()) == 0
    finally:
        w.close()
