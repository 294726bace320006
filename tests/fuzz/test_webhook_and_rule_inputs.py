"""Fuzzing the inputs that arrive from outside without a provider client in between: WhatsApp and
Meta webhook bodies (valid envelopes mutated, and anything at all), Google push headers, and the
tenants' tagging rules with the texts they are matched against. Only values or typed errors, fast."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invekto_integrations.attribution.rules import apply_rules, validate_rule
from invekto_integrations.core.errors import IntegrationError, InvalidArgument
from invekto_integrations.models.attribution import TagRule
from invekto_integrations.providers.google_calendar.mapping import parse_notification
from invekto_integrations.providers.meta import parse_automatic_events
from invekto_integrations.providers.whatsapp_cloud.webhooks import WhatsAppWebhooks

FAST = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63) | st.floats()
           | st.text(max_size=20) | st.sampled_from(["", "NaN", "1e999", "-1", "\x00", "İ", "9" * 300]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=10)

INBOUND = {"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "908500000001", "phone_number_id": "1000000001"},
        "contacts": [{"profile": {"name": "Ayşe"}, "wa_id": "905324123456"}],
        "messages": [{"from": "905324123456", "id": "wamid.X", "timestamp": "1772442000", "type": "text",
                      "text": {"body": "Merhaba"}, "referral": {"source_url": "https://fb.me/x", "source_id": "1",
                                                                "source_type": "ad", "ctwa_clid": "ARA1"}}],
        "statuses": [{"id": "wamid.Y", "status": "delivered", "timestamp": "1772442001",
                      "recipient_id": "905324123456", "pricing": {"billable": True, "category": "marketing"}}]}}]}]}
AUTOMATIC = {"object": "whatsapp_business_account", "entry": [{"id": "waba-a", "changes": [{
    "field": "automatic_events", "value": {"messaging_product": "whatsapp", "automatic_events": [{
        "id": "ae-1", "event_name": "Purchase", "timestamp": 1772442000, "ctwa_clid": "ARA1",
        "custom_data": {"currency": "TRY", "value": 1250}}]}}]}]}


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, doc: dict[str, Any]) -> bytes:
    """The envelope with one node replaced by any JSON value (or removed), or something else entirely."""
    kind = draw(st.sampled_from(["mutate", "mutate", "mutate", "any", "bytes", "deep"]))
    if kind == "any":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        return b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    copy = json.loads(json.dumps(doc))
    path = draw(st.sampled_from(_paths(copy)[1:]))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return json.dumps(copy).encode()


@FAST
@given(mutated(INBOUND))
def test_whatsapp_webhook_bodies(body: bytes) -> None:
    hooks = WhatsAppWebhooks()
    batch = hooks.parse(body)  # never raises: a bad body or record is a problem in the batch
    assert len(batch.inbound) + len(batch.statuses) + len(batch.problems) >= 0
    hooks.channel_ids(body)


@FAST
@given(mutated(AUTOMATIC) | st.text(max_size=50))
def test_meta_automatic_events_bodies(body: bytes | str) -> None:
    try:
        events, problems = parse_automatic_events(body)
    except IntegrationError:
        return
    assert isinstance(events, list) and isinstance(problems, list)


header_names = st.sampled_from(["X-Goog-Channel-ID", "x-goog-resource-state", "X-Goog-Resource-ID",
                                "X-Goog-Message-Number", "X-Goog-Channel-Expiration", "X-Goog-Channel-Token",
                                "X-Goog-Resource-URI", "x-goog-channel-id", "Other"])
header_values = st.text(max_size=40) | st.sampled_from(["1", "0", "-5", str(2**70), "exists", "sync",
                                                        "Tue, 31 Dec 9999 23:59:59 GMT", "Mon, 99 Foo 2026"])


@FAST
@given(st.dictionaries(header_names, header_values, max_size=8))
def test_google_push_headers(headers: dict[str, str]) -> None:
    try:
        note = parse_notification(headers)
    except InvalidArgument:
        return
    assert note.channel_id and note.resource_state
    assert note.message_number is None or 0 < note.message_number < 2**63


RULE_FIELDS = ["utm_source", "utm_campaign", "campaign_name", "headline", "referral_body", "link_code", "nope"]
patterns = st.sampled_from(["(a+)+$", "(a|aa)+$", "(.*a){20}", "^(\\w+\\s?)*$", "(a)\\1", "(?=a)a", "[", "ı+",
                            "İstanbul|ankara", ".*", "\\d{3,}", "(?i)KIŞ", "a{1000}{1000}"]) | st.text(max_size=20)


@FAST
@given(field=st.sampled_from(RULE_FIELDS), op=st.sampled_from(["equals", "contains", "starts_with", "regex", "x"]),
       value=patterns, labels=st.lists(st.text(max_size=12), max_size=3),
       subject=st.dictionaries(st.sampled_from(RULE_FIELDS), st.text(max_size=60)
                               | st.sampled_from(["a" * 3000 + "b", "aaaa" * 500 + "!", "İSTANBUL kış"]), max_size=4))
def test_tagging_rules(field: str, op: str, value: str, labels: list[str], subject: dict[str, str]) -> None:
    rule = TagRule(tenant_id="t1", name="r", field=field, op=op, value=value, labels=tuple(labels))
    try:
        checked = validate_rule(rule)
    except InvalidArgument as exc:
        assert exc.field in ("name", "field", "op", "value", "labels", "segments")
        return
    result = apply_rules([checked], subject)
    assert set(result.labels) <= set(checked.labels)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)+$", "(a|a?)+b", "^(\\w+\\s?)*$"])
def test_found_by_fuzzing_catastrophic_patterns_match_in_linear_time(pattern: str) -> None:
    # Python's backtracking `re` takes exponential time here (minutes at 40 characters, forever at
    # 5000); the rules now match with RE2, whose time is linear in the text.
    rule = validate_rule(TagRule(tenant_id="t1", name="slow", field="referral_body", op="regex", value=pattern,
                                 labels=("x",)))
    for text in ("a" * 5000 + "!", "word " * 2000 + "!"):
        apply_rules([rule], {"referral_body": text})


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=a)a", "(?<!x)a"])
def test_patterns_re2_cannot_run_are_refused_naming_the_field(pattern: str) -> None:
    with pytest.raises(InvalidArgument, match="RE2") as info:
        validate_rule(TagRule(tenant_id="t1", name="r", field="headline", op="regex", value=pattern, labels=("x",)))
    assert info.value.field == "value"
    # a rule stored before the check matches nothing rather than failing the tagging of every lead
    stored = TagRule(tenant_id="t1", name="r", field="headline", op="regex", value=pattern, labels=("x",))
    with contextlib.suppress(InvalidArgument):
        assert apply_rules([stored], {"headline": "aaa"}).labels == ()


@pytest.mark.parametrize("body", [
    b'{"entry": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",  # RecursionError escaped
    b'{"entry": 5}', b'{"entry": [{"id": "w", "changes": 7}]}',  # TypeError: not iterable
    b'{"entry": [{"id": "w", "changes": [{"field": "automatic_events", "value": {"automatic_events": 1}}]}]}',
])
def test_found_by_fuzzing_meta_bodies_of_the_wrong_shape(body: bytes) -> None:
    try:
        events, _ = parse_automatic_events(body)
    except IntegrationError:
        return
    assert events == []


@pytest.mark.parametrize("record", [True, 5, None, 1.5])
def test_found_by_fuzzing_a_whatsapp_record_that_is_not_an_object_is_a_problem(record: Any) -> None:
    doc = json.loads(json.dumps(INBOUND))
    doc["entry"][0]["changes"][0]["value"]["messages"] = [record]  # was a ValidationError of WebhookProblem
    batch = WhatsAppWebhooks().parse(json.dumps(doc).encode())
    assert batch.inbound == [] and len(batch.problems) == 1 and len(batch.statuses) == 1


@pytest.mark.parametrize("text", ["℠", "㎒", "Ǆ", "ⅷ", "ﬁ", "İ\u0307"])
def test_found_by_fuzzing_fold_is_idempotent_on_compatibility_forms(text: str) -> None:
    from invekto_integrations.core.text import fold

    assert fold(fold(text)) == fold(text)  # ℠ folded to "SM", which folds again to "sm"


@FAST
@given(st.text(max_size=40))
def test_fold_is_idempotent_on_any_text(text: str) -> None:
    from invekto_integrations.core.text import fold

    assert fold(fold(text)) == fold(text)
