"""Tracked-link codes, lead source and the re-engagement window, and tag rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from invekto_integrations.attribution import (
    CODE_ALPHABET,
    CODE_LENGTH,
    InboundTouch,
    LeadSettings,
    LeadTracker,
    OtherChannel,
    apply_rules,
    create_link,
    find_link_in_text,
    lead_tagged_events,
    new_code,
    record_click,
    referral_info,
    retag_leads,
    save_rule,
    validate_rule,
)
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.models.attribution import Channel, TagRule, contact_key

from .conftest import START

T = "tenant-a"


def test_codes_are_random_unambiguous_and_short() -> None:
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OILU") & set(CODE_ALPHABET)


@pytest.mark.parametrize("text", [
    "Merhaba, bilgi almak istiyorum. Referans: {code}",
    "fiyat? {lower}",
    "selam {lower}, yarın arayın",
    "Referans:{code}!!",
    "ref{lower}",
])
def test_code_is_found_whatever_the_text_around_it(store: Any, clock: FrozenClock, text: str) -> None:
    link = create_link(store.tracked_links, T, "+90 850 123 45 67", utm_campaign="kis", clock=clock)
    message = text.format(code=link.code, lower=link.code.lower())
    assert find_link_in_text(store.tracked_links, T, message) == link
    assert find_link_in_text(store.tracked_links, "tenant-b", message) is None  # another tenant's code
    assert find_link_in_text(store.tracked_links, T, "Merhaba, fiyat alabilir miyim?") is None


def test_link_input_is_validated(store: Any, clock: FrozenClock) -> None:
    with pytest.raises(InvalidArgument) as info:
        create_link(store.tracked_links, T, "+90 850 123 45 67", text="Merhaba", clock=clock)
    assert info.value.field == "text"
    with pytest.raises(InvalidArgument) as info:
        create_link(store.tracked_links, T, "12", clock=clock)
    assert info.value.field == "wa_number"
    assert record_click(store.tracked_links, T, "NOPE2345", clock=clock) is None


def _msg(phone: str, at: Any, text: str = "Merhaba", ref: dict[str, Any] | None = None, mid: str = "") -> InboundTouch:
    return InboundTouch(tenant_id=T, from_id=phone, at=at, message_id=mid or f"m-{phone}-{at.timestamp()}",
                        text=text, referral=referral_info(ref))


def test_lead_window_and_later_touches(store: Any, clock: FrozenClock) -> None:
    tracker = LeadTracker(store, settings=LeadSettings(reengagement_window=timedelta(days=30),
                                                       other_channels=(OtherChannel("instagram-bio",
                                                                                    ("İnstagram",)),)))
    first = tracker.observe(_msg("905321234567", START, "instagramdan gördüm"))
    assert first.new_lead and first.lead.channel is Channel.OTHER and first.lead.channel_name == "instagram-bio"
    assert first.lead.contact == "+905321234567"
    again = tracker.observe(_msg("905321234567", START, "instagramdan gördüm"))  # redelivered
    assert not again.new_lead and store.leads.latest(T, "+905321234567").lead_id == first.lead.lead_id
    later = tracker.observe(_msg("905321234567", START + timedelta(days=20), "fiyat?"))
    assert not later.new_lead and later.touch is None  # a plain follow-up is no touch
    ctwa = tracker.observe(_msg("905321234567", START + timedelta(days=21), "x",
                                {"source_type": "ad", "source_id": "1", "ctwa_clid": "C1"}))
    assert not ctwa.new_lead and ctwa.touch is not None and ctwa.touch.channel is Channel.CTWA
    assert len(store.touches.find(T, "+905321234567")) == 2
    back = tracker.observe(_msg("905321234567", START + timedelta(days=52), "Merhaba"))
    assert back.new_lead and back.lead.channel is Channel.ORGANIC and "re-engaged after the window" in back.notes
    assert len(store.leads.find(T)) == 2


def test_whatsapp_ids_that_are_not_phone_numbers_are_kept() -> None:
    assert contact_key("905321234567") == "+905321234567"
    assert contact_key("0532 123 45 67") == "+905321234567"
    assert contact_key("1555000") == "wa:1555000"


def rule(**kw: Any) -> TagRule:
    base: dict[str, Any] = {"tenant_id": T, "name": "r", "field": "utm_campaign", "op": "contains", "value": "x",
                            "labels": ("l",)}
    return TagRule(**{**base, **kw})


@pytest.mark.parametrize(("kw", "field"), [
    ({"field": "utm_nope"}, "field"), ({"op": "like"}, "op"), ({"value": " "}, "value"),
    ({"op": "regex", "value": "(unclosed"}, "value"), ({"labels": (), "segments": ()}, "labels"),
    ({"labels": ("has space",)}, "labels"), ({"name": ""}, "name"),
])
def test_rules_are_validated_when_saved(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_rule(rule(**kw))
    assert info.value.field == field


def test_rules_apply_in_order_explain_and_stop() -> None:
    rules = [
        rule(rule_id="b", name="implant", value="İMPLANT", labels=("implant-lead",), segments=("dental",)),
        rule(rule_id="a", name="regex", field="ad_name", op="regex", value=r"^video", labels=("video",),
             priority=10),
        rule(rule_id="c", name="stopper", field="utm_source", op="equals", value="instagram", labels=("ig",),
             priority=5, stop=True),
    ]
    subject = {"utm_campaign": "implant-mart-2026", "ad_name": "Video-1", "utm_source": "Instagram"}
    result = apply_rules(rules, subject)
    assert result.labels == ("ig",) and len(result.explanation) == 1
    result = apply_rules(rules[:2], subject)
    assert result.labels == ("video", "implant-lead") and result.segments == ("dental",)
    assert result.explanation[0].startswith("rule 'regex' v1: ad_name regex '^video' matched 'Video-1'")
    assert apply_rules(rules[:2], subject) == result  # deterministic


def test_retagging_is_explicit(store: Any, clock: FrozenClock) -> None:
    link = create_link(store.tracked_links, T, "+90 850 123 45 67", utm_campaign="implant-mart", clock=clock)
    r = save_rule(store, T, rule(value="implant", labels=("implant-lead",)))
    lead = LeadTracker(store).observe(_msg("905321234567", START, f"ref {link.code}")).lead
    assert lead.labels == ("implant-lead",)
    changed = save_rule(store, T, r.model_copy(update={"labels": ("implant-2",)}))
    assert changed.version == 2
    assert store.leads.latest(T, lead.contact).labels == ("implant-lead",)  # nothing changes behind our back
    preview = retag_leads(store, T, dry_run=True)
    assert [(c.old_labels, c.new_labels) for c in preview] == [(("implant-lead",), ("implant-2",))]
    assert store.leads.latest(T, lead.contact).labels == ("implant-lead",)
    applied = retag_leads(store, T)
    assert [(e.TYPE, e.lead_id, e.labels) for e in lead_tagged_events(T, applied, clock.now())] == \
        [("lead.tagged", lead.lead_id, ("implant-2",))]
    assert store.leads.latest(T, lead.contact).labels == ("implant-2",)
    assert "v2" in store.leads.latest(T, lead.contact).tag_explanation[0]
    assert retag_leads(store, T) == []


def test_the_public_redirect_knows_only_the_code(store: Any, clock: FrozenClock) -> None:
    a = create_link(store.tracked_links, "tenant-a", "+90 850 123 45 67", utm_campaign="kis", clock=clock)
    b = create_link(store.tracked_links, "tenant-b", "+90 850 765 43 21", utm_campaign="bahar", clock=clock)
    assert record_click(store.tracked_links, None, b.code.lower(), query={"gclid": "G1"}, clock=clock) == b
    assert [c.gclid for c in store.tracked_links.clicks("tenant-b", b.code)] == ["G1"]
    assert store.tracked_links.clicks("tenant-a", a.code) == []
    assert record_click(store.tracked_links, "tenant-a", b.code, clock=clock) is None  # not tenant-a's code
    assert record_click(store.tracked_links, None, "../etc/passwd", clock=clock) is None


def test_referral_from_the_typed_model_or_the_raw_dict() -> None:
    from invekto_integrations.models.messaging import Referral

    typed = referral_info(Referral(source_id="120", source_type="ad", headline="Kış", ctwa_clid="C9"))
    raw = referral_info({"source_id": "120", "source_type": "ad", "headline": "Kış", "ctwa_clid": "C9",
                         "welcome_message": {"text": "Merhaba!"}})
    assert typed is not None and raw is not None
    assert (typed.source_id, typed.is_ad, typed.ctwa_clid) == (raw.source_id, raw.is_ad, raw.ctwa_clid) == \
        ("120", True, "C9")
    assert raw.raw["welcome_message"] == {"text": "Merhaba!"}
    assert referral_info(None) is None and referral_info({}) is None
    assert referral_info({}, ctwa_clid="C1") is not None
