"""Auto-tagging (3.14.6): tenant rules mapping UTM values, ad/campaign names and referral data to
labels and segments ("utm_campaign contains implant → label implant-lead, segment dental").

Rules are validated when saved (`save_rule`). Applying them (`apply_rules`) is deterministic:
rules run in (priority, rule_id) order, each match adds its labels/segments and one line of
explanation naming the rule, field and value; a rule with ``stop`` ends the run. Matching folds
case the Turkish-aware way (İ/I/ı → i, ş → s, ...), so "İmplant" matches "implant". Re-tagging
after a rule change is explicit (`retag_leads`): nothing changes behind the user's back.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import re2

from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.text import fold as fold_text
from invekto_integrations.models.attribution import Lead, TagRule, Touch
from invekto_integrations.models.events import LeadTagged

from ._store import AttributionStore

__all__ = [
    "RULE_FIELDS",
    "RULE_OPS",
    "RetagChange",
    "TagResult",
    "apply_rules",
    "fold",
    "retag_leads",
    "rule_subject",
    "save_rule",
    "validate_rule",
]

RULE_FIELDS = frozenset({
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "campaign_id", "campaign_name",
    "adset_id", "adset_name", "ad_id", "ad_name", "channel", "channel_name", "link_code", "source_type",
    "source_id", "source_url", "headline", "referral_body",
})
RULE_OPS = frozenset({"equals", "contains", "starts_with", "regex"})
_TAG = re.compile(r"^[\w.:-]{1,64}$")


def fold(text: str) -> str:
    """Case- and Turkish-accent-insensitive form used on both sides of a match."""
    return fold_text(text)


def validate_rule(rule: TagRule) -> TagRule:
    """The rule with labels/segments trimmed, or `InvalidArgument` naming the field and the rule."""
    where = rule.name or rule.rule_id
    if not rule.name.strip():
        raise InvalidArgument("a rule needs a name", field="name", record=rule.rule_id)
    if rule.field not in RULE_FIELDS:
        raise InvalidArgument(f"unknown field {rule.field!r} (one of {', '.join(sorted(RULE_FIELDS))})",
                              field="field", record=where)
    if rule.op not in RULE_OPS:
        raise InvalidArgument(f"unknown op {rule.op!r} (one of {', '.join(sorted(RULE_OPS))})", field="op",
                              record=where)
    if not rule.value.strip():
        raise InvalidArgument("the value to match is empty", field="value", record=where)
    if rule.op == "regex":
        if len(rule.value) > 200:
            raise InvalidArgument("a pattern is at most 200 characters", field="value", record=where)
        if _pattern(rule.value) is None:
            raise InvalidArgument("not a regular expression RE2 accepts (no backreferences or lookarounds)",
                                  field="value", record=where)
    labels = tuple(x.strip() for x in rule.labels if x.strip())
    segments = tuple(x.strip() for x in rule.segments if x.strip())
    if not labels and not segments:
        raise InvalidArgument("a rule must add at least one label or segment", field="labels", record=where)
    for name, values in (("labels", labels), ("segments", segments)):
        for v in values:
            if not _TAG.match(v):
                raise InvalidArgument(f"{v!r} is not a tag (letters, digits, . _ : -, up to 64)", field=name,
                                      record=where)
    return rule.model_copy(update={"labels": labels, "segments": segments})


def save_rule(store: AttributionStore, tenant_id: str, rule: TagRule) -> TagRule:
    """Validate and store a rule (a changed rule gets the next ``version``). Existing leads keep
    their tags until `retag_leads` is run."""
    checked = validate_rule(rule)
    old = store.tag_rules.get(tenant_id, rule.rule_id)
    if old is not None and old != checked:
        checked = checked.model_copy(update={"version": old.version + 1})
    store.tag_rules.save(tenant_id, checked)
    return checked


def rule_subject(lead: Lead, first_touch: Touch | None = None) -> dict[str, str]:
    """The values rules can match, from a lead (and its first touch's referral body)."""
    values: dict[str, str | None] = {
        "utm_source": lead.utm.source, "utm_medium": lead.utm.medium, "utm_campaign": lead.utm.campaign,
        "utm_content": lead.utm.content, "utm_term": lead.utm.term, "campaign_id": lead.ad.campaign_id,
        "campaign_name": lead.ad.campaign_name, "adset_id": lead.ad.adset_id, "adset_name": lead.ad.adset_name,
        "ad_id": lead.ad.ad_id, "ad_name": lead.ad.ad_name, "channel": lead.channel.value,
        "channel_name": lead.channel_name, "link_code": lead.link_code, "source_type": lead.source_type,
        "source_id": lead.source_id, "headline": lead.headline,
    }
    if first_touch is not None:
        values["source_url"] = first_touch.source_url
        body = (first_touch.referral or {}).get("body")
        values["referral_body"] = str(body) if body else None
    return {k: v for k, v in values.items() if v}


@functools.lru_cache(maxsize=512)
def _pattern(text: str) -> Any:
    """A tenant's pattern compiled by RE2: matching takes time linear in the text, whatever the
    pattern (Python's backtracking ``re`` can take exponential time on ``(a+)+$``, and the texts
    matched come from ads and link clicks). ``None`` for a pattern RE2 does not accept."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    try:
        return re2.compile(text, options)
    except re2.error:
        return None


def _matches(rule: TagRule, value: str) -> bool:
    if rule.op == "regex":
        pattern = _pattern(rule.value)
        if pattern is None:  # a rule stored before patterns were checked by RE2: it matches nothing
            return False
        return pattern.search(value) is not None or pattern.search(fold(value)) is not None
    have, want = fold(value), fold(rule.value)
    if rule.op == "equals":
        return have == want
    if rule.op == "starts_with":
        return have.startswith(want)
    return want in have


@dataclass(frozen=True)
class TagResult:
    labels: tuple[str, ...]
    segments: tuple[str, ...]
    explanation: tuple[str, ...]  # one line per rule that fired


def apply_rules(rules: Sequence[TagRule], subject: dict[str, str]) -> TagResult:
    """Labels and segments from the enabled rules that match ``subject``, in rule order, with why."""
    labels: list[str] = []
    segments: list[str] = []
    why: list[str] = []
    for rule in sorted(rules, key=lambda r: (r.priority, r.rule_id)):
        if not rule.enabled:
            continue
        value = subject.get(rule.field)
        if value is None or not _matches(rule, value):
            continue
        labels += [x for x in rule.labels if x not in labels]
        segments += [x for x in rule.segments if x not in segments]
        adds = ", ".join([*(f"label {x}" for x in rule.labels), *(f"segment {x}" for x in rule.segments)])
        why.append(f"rule {rule.name!r} v{rule.version}: {rule.field} {rule.op} {rule.value!r} "
                   f"matched {value!r} → {adds}")
        if rule.stop:
            break
    return TagResult(tuple(labels), tuple(segments), tuple(why))


def tag_lead(store: AttributionStore, tenant_id: str, lead: Lead, rules: Sequence[TagRule] | None = None) -> Lead:
    """``lead`` with the tags of the tenant's rules (not saved)."""
    rules = store.tag_rules.find(tenant_id) if rules is None else rules
    first = next((t for t in store.touches.find(tenant_id, lead.contact, since=lead.created_at)
                  if t.touch_id == lead.first_touch_id), None)
    result = apply_rules(rules, rule_subject(lead, first))
    return lead.model_copy(update={"labels": result.labels, "segments": result.segments,
                                   "tag_explanation": result.explanation})


@dataclass(frozen=True)
class RetagChange:
    lead_id: str
    contact: str
    old_labels: tuple[str, ...]
    new_labels: tuple[str, ...]
    old_segments: tuple[str, ...]
    new_segments: tuple[str, ...]


def retag_leads(store: AttributionStore, tenant_id: str, *, since: datetime | None = None,
                until: datetime | None = None, dry_run: bool = False) -> list[RetagChange]:
    """Apply the current rules again to the leads created in [since, until); return what changed
    (and save it unless ``dry_run``)."""
    rules = store.tag_rules.find(tenant_id)
    changes: list[RetagChange] = []
    for lead in store.leads.find(tenant_id, since=since, until=until):
        new = tag_lead(store, tenant_id, lead, rules)
        if (new.labels, new.segments, new.tag_explanation) == (lead.labels, lead.segments, lead.tag_explanation):
            continue
        changes.append(RetagChange(lead.lead_id, lead.contact, lead.labels, new.labels, lead.segments, new.segments))
        if not dry_run:
            store.leads.save(tenant_id, new)
    return changes


def lead_tagged_events(tenant_id: str, changes: Sequence[RetagChange], at: datetime) -> list[LeadTagged]:
    """`LeadTagged` events for the changes of a `retag_leads` run (publish them through the bus)."""
    return [LeadTagged(tenant_id=tenant_id, occurred_at=at, lead_id=c.lead_id, contact=c.contact,
                       labels=c.new_labels, segments=c.new_segments) for c in changes]


__all__ += ["lead_tagged_events", "tag_lead"]
