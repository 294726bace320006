"""In-memory attribution repositories (the reference implementation; thread-safe, not durable)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.ads import AdsLevel
from invekto_integrations.models.attribution import (
    AdCacheEntry,
    AttributionModel,
    CapiDelivery,
    Conversion,
    ConversionKind,
    CreditRow,
    Lead,
    LeadCountRow,
    LinkClick,
    SourceKey,
    SpendEntry,
    SpendOrigin,
    SpendTotalRow,
    TagRule,
    Touch,
    TrackedLink,
    credit_weights,
)

from .protocols import DuplicateRecord, TenantMismatch

__all__ = [
    "MemoryAdCache",
    "MemoryAttributionReports",
    "MemoryCapiDeliveries",
    "MemoryConversions",
    "MemoryLeads",
    "MemorySpend",
    "MemoryTagRules",
    "MemoryTouches",
    "MemoryTrackedLinks",
]

_CENT = Decimal("0.01")
_CREDIT = Decimal("0.0001")


def _check(tenant_id: str, record_tenant: str, what: str) -> None:
    if record_tenant != tenant_id:
        raise TenantMismatch(f"{what} belongs to another tenant")


def _in(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


class MemoryTrackedLinks(ConciseRepr):
    def __init__(self) -> None:
        self._links: dict[tuple[str, str], TrackedLink] = {}
        self._by_code: dict[str, TrackedLink] = {}
        self._clicks: list[LinkClick] = []
        self._lock = threading.Lock()

    def add(self, tenant_id: str, link: TrackedLink) -> None:
        _check(tenant_id, link.tenant_id, "link")
        with self._lock:
            if link.code in self._by_code:
                raise DuplicateRecord(f"link code {link.code} exists")
            self._links[(tenant_id, link.code)] = link
            self._by_code[link.code] = link

    def get_by_code(self, tenant_id: str, code: str) -> TrackedLink | None:
        return self._links.get((tenant_id, code))

    def resolve_code(self, code: str) -> TrackedLink | None:
        return self._by_code.get(code)

    def find(self, tenant_id: str) -> list[TrackedLink]:
        return sorted((v for (t, _), v in self._links.items() if t == tenant_id), key=lambda x: x.link_id)

    def record_click(self, tenant_id: str, click: LinkClick) -> None:
        _check(tenant_id, click.tenant_id, "click")
        with self._lock:
            self._clicks.append(click)

    def clicks(self, tenant_id: str, code: str) -> list[LinkClick]:
        return sorted((c for c in self._clicks if c.tenant_id == tenant_id and c.code == code),
                      key=lambda c: (c.at, c.click_id))


class MemoryTouches(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Touch] = {}
        self._by_message: set[tuple[str, str, str]] = set()
        self._by_contact: dict[tuple[str, str], list[Touch]] = defaultdict(list)
        self._lock = threading.Lock()

    def add(self, tenant_id: str, touch: Touch) -> bool:
        _check(tenant_id, touch.tenant_id, "touch")
        with self._lock:
            if (tenant_id, touch.touch_id) in self._rows:
                return False
            if touch.message_id is not None:
                key = (tenant_id, touch.message_id, touch.channel.value)
                if key in self._by_message:
                    return False
                self._by_message.add(key)
            self._rows[(tenant_id, touch.touch_id)] = touch
            self._by_contact[(tenant_id, touch.contact)].append(touch)
            return True

    def add_many(self, tenant_id: str, touches: Sequence[Touch]) -> int:
        return sum(1 for t in touches if self.add(tenant_id, t))

    def find(self, tenant_id: str, contact: str, *, since: datetime | None = None,
             until: datetime | None = None) -> list[Touch]:
        rows = [t for t in self._by_contact.get((tenant_id, contact), []) if _in(t.at, since, until)]
        return sorted(rows, key=lambda t: (t.at, t.touch_id))

    def all(self, tenant_id: str) -> list[Touch]:
        return [t for (tn, _), t in self._rows.items() if tn == tenant_id]


class MemoryLeads(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Lead] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, lead: Lead) -> None:
        _check(tenant_id, lead.tenant_id, "lead")
        with self._lock:
            if (tenant_id, lead.lead_id) in self._rows:
                raise DuplicateRecord(f"lead {lead.lead_id} exists")
            self._rows[(tenant_id, lead.lead_id)] = lead

    def save(self, tenant_id: str, lead: Lead) -> None:
        _check(tenant_id, lead.tenant_id, "lead")
        with self._lock:
            self._rows[(tenant_id, lead.lead_id)] = lead

    def get(self, tenant_id: str, lead_id: str) -> Lead | None:
        return self._rows.get((tenant_id, lead_id))

    def _of(self, tenant_id: str) -> list[Lead]:
        return sorted((v for (t, _), v in self._rows.items() if t == tenant_id),
                      key=lambda x: (x.created_at, x.lead_id))

    def latest(self, tenant_id: str, contact: str) -> Lead | None:
        rows = [lead for lead in self._of(tenant_id) if lead.contact == contact]
        return rows[-1] if rows else None

    def by_ctwa_clid(self, tenant_id: str, ctwa_clid: str) -> Lead | None:
        return next((lead for lead in self._of(tenant_id) if lead.ctwa_clid == ctwa_clid), None)

    def find(self, tenant_id: str, *, since: datetime | None = None, until: datetime | None = None) -> list[Lead]:
        return [lead for lead in self._of(tenant_id) if _in(lead.created_at, since, until)]


class MemoryConversions(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Conversion] = {}
        self._keys: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, conversion: Conversion) -> bool:
        _check(tenant_id, conversion.tenant_id, "conversion")
        with self._lock:
            if (tenant_id, conversion.source_key) in self._keys:
                return False
            self._keys[(tenant_id, conversion.source_key)] = conversion.conversion_id
            self._rows[(tenant_id, conversion.conversion_id)] = conversion
            return True

    def add_many(self, tenant_id: str, conversions: Sequence[Conversion]) -> int:
        return sum(1 for c in conversions if self.add(tenant_id, c))

    def get(self, tenant_id: str, conversion_id: str) -> Conversion | None:
        return self._rows.get((tenant_id, conversion_id))

    def by_source_key(self, tenant_id: str, source_key: str) -> Conversion | None:
        cid = self._keys.get((tenant_id, source_key))
        return self._rows.get((tenant_id, cid)) if cid else None

    def find(self, tenant_id: str, *, contact: str | None = None, kind: ConversionKind | None = None,
             since: datetime | None = None, until: datetime | None = None,
             counted: bool | None = None) -> list[Conversion]:
        rows = [c for (t, _), c in self._rows.items() if t == tenant_id and contact in (None, c.contact)
                and kind in (None, c.kind) and counted in (None, c.counted) and _in(c.occurred_at, since, until)]
        return sorted(rows, key=lambda c: (c.occurred_at, c.conversion_id))

    def mark_duplicate(self, tenant_id: str, conversion_id: str, duplicate_of: str) -> None:
        with self._lock:
            found = self._rows.get((tenant_id, conversion_id))
            if found is not None:
                self._rows[(tenant_id, conversion_id)] = found.model_copy(
                    update={"counted": False, "duplicate_of": duplicate_of})


def _spend_key(e: SpendEntry) -> tuple[str, str, str, date]:
    return (e.origin.value, e.level.value, e.object_id, e.day)


class MemorySpend(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[str, dict[tuple[str, str, str, date], SpendEntry]] = defaultdict(dict)
        self._lock = threading.Lock()

    def upsert_many(self, tenant_id: str, entries: Sequence[SpendEntry]) -> int:
        for e in entries:
            _check(tenant_id, e.tenant_id, "spend entry")
        with self._lock:
            for e in entries:
                self._rows[tenant_id][_spend_key(e)] = e.model_copy(
                    update={"amount": e.amount.quantize(_CENT, ROUND_HALF_EVEN)})
        return len(entries)

    def find(self, tenant_id: str, *, since: date | None = None, until: date | None = None) -> list[SpendEntry]:
        rows = [e for e in self._rows.get(tenant_id, {}).values()
                if (since is None or e.day >= since) and (until is None or e.day <= until)]
        return sorted(rows, key=lambda e: (e.day, e.origin.value, e.level.value, e.object_id))

    def delete(self, tenant_id: str, entry: SpendEntry) -> bool:
        with self._lock:
            return self._rows.get(tenant_id, {}).pop(_spend_key(entry), None) is not None


class MemoryTagRules(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], TagRule] = {}

    def save(self, tenant_id: str, rule: TagRule) -> None:
        _check(tenant_id, rule.tenant_id, "rule")
        self._rows[(tenant_id, rule.rule_id)] = rule

    def delete(self, tenant_id: str, rule_id: str) -> bool:
        return self._rows.pop((tenant_id, rule_id), None) is not None

    def get(self, tenant_id: str, rule_id: str) -> TagRule | None:
        return self._rows.get((tenant_id, rule_id))

    def find(self, tenant_id: str) -> list[TagRule]:
        return sorted((r for (t, _), r in self._rows.items() if t == tenant_id), key=lambda r: (r.priority, r.rule_id))


class MemoryAdCache(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], AdCacheEntry] = {}

    def get(self, tenant_id: str, ad_id: str) -> AdCacheEntry | None:
        return self._rows.get((tenant_id, ad_id))

    def put(self, tenant_id: str, entry: AdCacheEntry) -> None:
        _check(tenant_id, entry.tenant_id, "ad cache entry")
        self._rows[(tenant_id, entry.ad_id)] = entry


class MemoryCapiDeliveries(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], CapiDelivery] = {}

    def get(self, tenant_id: str, event_id: str) -> CapiDelivery | None:
        return self._rows.get((tenant_id, event_id))

    def put(self, tenant_id: str, delivery: CapiDelivery) -> None:
        _check(tenant_id, delivery.tenant_id, "delivery")
        self._rows[(tenant_id, delivery.event_id)] = delivery

    def find(self, tenant_id: str) -> list[CapiDelivery]:
        return sorted((d for (t, _), d in self._rows.items() if t == tenant_id), key=lambda d: d.event_id)


def _source_of(t: Touch) -> SourceKey:
    return SourceKey(channel=t.channel.value, channel_name=t.channel_name, campaign_id=t.ad.campaign_id,
                     campaign_name=t.ad.campaign_name, adset_id=t.ad.adset_id, adset_name=t.ad.adset_name,
                     ad_id=t.ad.ad_id, ad_name=t.ad.ad_name)


class MemoryAttributionReports(ConciseRepr):
    """The report aggregates over the memory repositories, in Python (same results as SQL)."""

    def __init__(self, touches: MemoryTouches, leads: MemoryLeads, conversions: MemoryConversions,
                 spend: MemorySpend) -> None:
        self._touches = touches
        self._leads = leads
        self._conversions = conversions
        self._spend = spend

    def credit(self, tenant_id: str, *, since: datetime, until: datetime, model: AttributionModel,
               lookback: timedelta, half_life: timedelta, currency: str = "TRY",
               kinds: Sequence[ConversionKind] = (ConversionKind.PURCHASE,)) -> list[CreditRow]:
        conv_sum: dict[SourceKey, float] = defaultdict(float)
        rev_sum: dict[SourceKey, float] = defaultdict(float)
        for c in self._conversions.find(tenant_id, since=since, until=until, counted=True):
            if c.currency != currency or c.contact is None or c.kind not in kinds:
                continue
            value = float(c.value or 0)
            touches = self._touches.find(tenant_id, c.contact, since=c.occurred_at - lookback,
                                         until=c.occurred_at + timedelta(microseconds=1))
            if not touches:
                key = SourceKey(channel="unattributed")
                conv_sum[key] += 1.0
                rev_sum[key] += value
                continue
            weights = credit_weights(model, [c.occurred_at - t.at for t in touches], half_life)
            for t, w in zip(touches, weights, strict=True):
                if w > 0:
                    conv_sum[_source_of(t)] += w
                    rev_sum[_source_of(t)] += w * value
        return [CreditRow(source=k, conversions=Decimal(repr(conv_sum[k])).quantize(_CREDIT),
                          revenue=Decimal(repr(rev_sum[k])).quantize(_CENT)) for k in conv_sum]

    def lead_counts(self, tenant_id: str, *, since: datetime, until: datetime) -> list[LeadCountRow]:
        counts: dict[SourceKey, int] = defaultdict(int)
        for lead in self._leads.find(tenant_id, since=since, until=until):
            counts[SourceKey(channel=lead.channel.value, channel_name=lead.channel_name,
                             campaign_id=lead.ad.campaign_id, campaign_name=lead.ad.campaign_name,
                             adset_id=lead.ad.adset_id, adset_name=lead.ad.adset_name, ad_id=lead.ad.ad_id,
                             ad_name=lead.ad.ad_name)] += 1
        return [LeadCountRow(source=k, leads=v) for k, v in counts.items()]

    def spend_totals(self, tenant_id: str, *, since: date, until: date, currency: str = "TRY") -> list[SpendTotalRow]:
        entries = [e for e in self._spend.find(tenant_id, since=since, until=until) if e.currency == currency]
        manual = {(e.campaign_id, e.day) for e in entries if e.origin is SpendOrigin.MANUAL}
        totals: dict[tuple[AdsLevel, str, str | None, str | None], Decimal] = defaultdict(Decimal)
        names: dict[tuple[AdsLevel, str, str | None, str | None], SpendEntry] = {}
        for e in entries:
            if e.origin is SpendOrigin.INSIGHTS and (e.campaign_id, e.day) in manual:
                continue
            key = (e.level, e.campaign_id, e.adset_id if e.level is not AdsLevel.CAMPAIGN else None,
                   e.ad_id if e.level is AdsLevel.AD else None)
            totals[key] += e.amount
            names.setdefault(key, e)
        return [SpendTotalRow(level=k[0], campaign_id=k[1], campaign_name=names[k].campaign_name, adset_id=k[2],
                              adset_name=names[k].adset_name if k[2] else None, ad_id=k[3],
                              ad_name=names[k].ad_name if k[3] else None, amount=v) for k, v in totals.items()]
