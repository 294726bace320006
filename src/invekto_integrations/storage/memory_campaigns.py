"""In-memory campaign repositories (unit tests); same behaviour as `sqlite_campaigns`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from invekto_integrations.campaigns.audience import (
    AudienceContext,
    ContactProfile,
    Criterion,
    fold_value,
    matches,
)
from invekto_integrations.campaigns.models import (
    HOLDOUT,
    Campaign,
    CampaignStatus,
    Conversion,
    Recipient,
    RecipientStatus,
)
from invekto_integrations.campaigns.repository import ConversionTotals, RecipientCounts
from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.reprs import ConciseRepr

from .protocols import ConsentCacheRepository, MessagingContactRepository, TenantMismatch

__all__ = ["MemoryCampaignConversions", "MemoryCampaigns", "MemoryContactProfiles", "MemoryRecipients"]

_SENT = frozenset({"accepted", "sent", "delivered", "read"})


def _check(tenant_id: str, record_tenant: str, what: str) -> None:
    if tenant_id != record_tenant:
        raise TenantMismatch(f"{what} belongs to another tenant")


class MemoryCampaigns(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Campaign] = {}
        self._lock = threading.Lock()

    def add(self, tenant_id: str, campaign: Campaign) -> None:
        _check(tenant_id, campaign.tenant_id, "campaign")
        with self._lock:
            if (tenant_id, campaign.id) in self._rows:
                raise StorageError(f"campaign {campaign.id} exists")
            self._rows[(tenant_id, campaign.id)] = campaign

    def get(self, tenant_id: str, campaign_id: str) -> Campaign | None:
        return self._rows.get((tenant_id, campaign_id))

    def replace(self, tenant_id: str, campaign: Campaign, *, expected_version: int) -> bool:
        _check(tenant_id, campaign.tenant_id, "campaign")
        with self._lock:
            current = self._rows.get((tenant_id, campaign.id))
            if current is None or current.version != expected_version:
                return False
            self._rows[(tenant_id, campaign.id)] = campaign
            return True

    def find(self, tenant_id: str, *, statuses: Sequence[CampaignStatus] | None = None,
             trigger_type: str | None = None) -> list[Campaign]:
        return sorted((c for (t, _), c in self._rows.items() if t == tenant_id
                       and (statuses is None or c.status in statuses)
                       and (trigger_type is None or c.trigger_type == trigger_type)), key=lambda c: c.id)

    def tenants(self) -> list[str]:
        return sorted({t for t, _ in self._rows})


class MemoryRecipients(ConciseRepr):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str, str], Recipient] = {}
        self._by_message: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(r: Recipient) -> tuple[str, str, str, str]:
        return (r.tenant_id, r.campaign_id, r.occurrence, r.phone)

    def enter_many(self, tenant_id: str, recipients: Sequence[Recipient]) -> list[Recipient]:
        out = []
        with self._lock:
            for r in recipients:
                _check(tenant_id, r.tenant_id, "recipient")
                if self._key(r) not in self._rows:
                    self._rows[self._key(r)] = r
                    if r.message_id:
                        self._by_message[(tenant_id, r.message_id)] = self._key(r)
                    out.append(r)
        return out

    def get(self, tenant_id: str, campaign_id: str, occurrence: str, phone: str) -> Recipient | None:
        return self._rows.get((tenant_id, campaign_id, occurrence, phone))

    def update(self, tenant_id: str, recipient: Recipient) -> None:
        _check(tenant_id, recipient.tenant_id, "recipient")
        with self._lock:
            if self._key(recipient) not in self._rows:
                raise StorageError(f"recipient {recipient.phone} of {recipient.campaign_id} was never entered")
            self._rows[self._key(recipient)] = recipient
            if recipient.message_id:
                self._by_message[(tenant_id, recipient.message_id)] = self._key(recipient)

    def by_message(self, tenant_id: str, message_id: str) -> Recipient | None:
        key = self._by_message.get((tenant_id, message_id))
        return self._rows.get(key) if key else None

    def last_touch(self, tenant_id: str, phone: str, *, at: datetime, since: datetime) -> Recipient | None:
        best: Recipient | None = None
        for r in self._rows.values():
            if r.tenant_id != tenant_id or r.phone != phone:
                continue
            touched = _touched_at(r)
            if touched is None or not since <= touched <= at:
                continue
            if best is None or (touched, r.campaign_id) > (_touched_at(best) or touched, best.campaign_id):
                best = r
        return best

    def find(self, tenant_id: str, campaign_id: str, *, statuses: Sequence[RecipientStatus] | None = None,
             occurrence: str | None = None, after_phone: str | None = None, limit: int = 1000) -> list[Recipient]:
        rows = sorted((r for r in self._rows.values() if r.tenant_id == tenant_id and r.campaign_id == campaign_id
                       and (statuses is None or r.status in statuses)
                       and (occurrence is None or r.occurrence == occurrence)
                       and (after_phone is None or r.phone > after_phone)),
                      key=lambda r: (r.occurrence, r.phone))
        return rows[:limit]

    def counts(self, tenant_id: str, campaign_id: str) -> dict[str, RecipientCounts]:
        acc: dict[str, dict[str, int]] = {}
        reasons: dict[str, dict[str, int]] = {}
        for r in self._rows.values():
            if r.tenant_id != tenant_id or r.campaign_id != campaign_id:
                continue
            c = acc.setdefault(r.variant, {})
            for k in _count_keys(r):
                c[k] = c.get(k, 0) + 1
            if r.status == RecipientStatus.REFUSED:
                rr = reasons.setdefault(r.variant, {})
                rr[r.reason or "unknown"] = rr.get(r.reason or "unknown", 0) + 1
        return {v: RecipientCounts(variant=v, refused_reasons=reasons.get(v, {}), **c) for v, c in sorted(acc.items())}


def _touched_at(r: Recipient) -> datetime | None:
    """When the customer was touched: the send (or, for the holdout, when they were held out)."""
    if r.status == RecipientStatus.HOLDOUT or r.variant == HOLDOUT:
        return r.entered_at
    if r.status == RecipientStatus.SUBMITTED and r.delivery in _SENT:
        return r.submitted_at
    return None


def _count_keys(r: Recipient) -> list[str]:
    keys = ["entered"]
    status_key = {RecipientStatus.HOLDOUT: "holdout", RecipientStatus.WAITING: "waiting",
                  RecipientStatus.SUBMITTED: "submitted", RecipientStatus.REFUSED: "refused",
                  RecipientStatus.FAILED: "failed", RecipientStatus.SKIPPED: "skipped"}.get(r.status)
    if status_key:
        keys.append(status_key)
    if r.delivery in _SENT:
        keys.append("sent")
    if r.delivery in ("delivered", "read"):
        keys.append("delivered")
    if r.delivery == "read":
        keys.append("read")
    return keys


class MemoryCampaignConversions(ConciseRepr):
    def __init__(self) -> None:
        self._rows: list[Conversion] = []
        self._refs: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def add(self, tenant_id: str, conversion: Conversion) -> bool:
        _check(tenant_id, conversion.tenant_id, "conversion")
        key = (tenant_id, conversion.conversion_type.value, conversion.source_ref)
        with self._lock:
            if key in self._refs:
                return False
            self._refs.add(key)
            self._rows.append(conversion)
            return True

    def find(self, tenant_id: str, campaign_id: str) -> list[Conversion]:
        return sorted((c for c in self._rows if c.tenant_id == tenant_id and c.campaign_id == campaign_id),
                      key=lambda c: (c.occurred_at, c.id))

    def totals(self, tenant_id: str, campaign_id: str) -> list[ConversionTotals]:
        groups: dict[tuple[str, str], list[Conversion]] = {}
        for c in self.find(tenant_id, campaign_id):
            groups.setdefault((c.variant, c.conversion_type.value), []).append(c)
        return [ConversionTotals(variant=v, conversion_type=t, conversions=len(cs),
                                 recipients=len({c.phone for c in cs}),
                                 value=sum((c.value_amount for c in cs), Decimal(0)))
                for (v, t), cs in sorted(groups.items())]

    def converted_phones(self, tenant_id: str, campaign_id: str, types: Sequence[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for c in self.find(tenant_id, campaign_id):
            if c.conversion_type.value in types:
                out.setdefault(c.variant, set()).add(c.phone)
        return out


class MemoryContactProfiles(ConciseRepr):
    """Profiles in a dict; `select` evaluates the criteria on each (memory is for tests)."""

    def __init__(self, consents: ConsentCacheRepository | None = None,
                 contacts: MessagingContactRepository | None = None) -> None:
        self._rows: dict[tuple[str, str], ContactProfile] = {}
        self._refs: set[tuple[str, str]] = set()
        self._consents = consents
        self._contacts = contacts
        self._lock = threading.Lock()

    def _base(self, tenant_id: str, phone: str, at: datetime) -> ContactProfile:
        return self._rows.get((tenant_id, phone)) or ContactProfile(tenant_id=tenant_id, phone=phone, updated_at=at)

    def record_order(self, tenant_id: str, phone: str, *, order_ref: str, at: datetime, total: Decimal,
                     currency: str = "TRY", platform: str | None = None, products: Sequence[str] = (),
                     name: str | None = None) -> bool:
        with self._lock:
            if (tenant_id, "order:" + order_ref) in self._refs:
                return False
            self._refs.add((tenant_id, "order:" + order_ref))
            p = self._base(tenant_id, phone, at)
            latest = p.last_order_at is None or at >= p.last_order_at
            self._rows[(tenant_id, phone)] = p.model_copy(update={
                "name": name or p.name, "order_count": p.order_count + 1, "order_total": p.order_total + total,
                "currency": currency,
                "first_order_at": min(at, p.first_order_at) if p.first_order_at else at,
                "last_order_at": max(at, p.last_order_at) if p.last_order_at else at,
                "last_product": (products[0] if products else p.last_product) if latest else p.last_product,
                "platforms": p.platforms | ({fold_value(platform)} if platform else set()),
                "products": p.products | {fold_value(x) for x in products}, "updated_at": at})
            return True

    def record_appointment(self, tenant_id: str, phone: str, *, appointment_ref: str, at: datetime,
                           service: str | None = None, name: str | None = None) -> bool:
        with self._lock:
            if (tenant_id, "appointment:" + appointment_ref) in self._refs:
                return False
            self._refs.add((tenant_id, "appointment:" + appointment_ref))
            p = self._base(tenant_id, phone, at)
            latest = p.last_appointment_at is None or at >= p.last_appointment_at
            self._rows[(tenant_id, phone)] = p.model_copy(update={
                "name": p.name or name, "appointment_count": p.appointment_count + 1,
                "last_appointment_at": max(at, p.last_appointment_at) if p.last_appointment_at else at,
                "last_service": (service or p.last_service) if latest else p.last_service,
                "services": p.services | ({fold_value(service)} if service else set()), "updated_at": at})
            return True

    def add_labels(self, tenant_id: str, phone: str, kind: str, values: Sequence[str], *, at: datetime) -> None:
        field = {"tag": "tags", "segment": "segments"}.get(kind)
        if field is None:
            raise StorageError(f"unknown label kind {kind!r} (tag or segment)")
        with self._lock:
            p = self._base(tenant_id, phone, at)
            self._rows[(tenant_id, phone)] = p.model_copy(update={
                field: getattr(p, field) | {fold_value(v) for v in values}, "updated_at": at})

    def upsert_many(self, tenant_id: str, profiles: Sequence[ContactProfile]) -> int:
        with self._lock:
            for p in profiles:
                _check(tenant_id, p.tenant_id, "profile")
                self._rows[(tenant_id, p.phone)] = p.model_copy(update={
                    k: frozenset(fold_value(x) for x in getattr(p, k))
                    for k in ("platforms", "products", "tags", "segments", "services")})
        return len(profiles)

    def get(self, tenant_id: str, phone: str) -> ContactProfile | None:
        return self._rows.get((tenant_id, phone))

    def _consent(self, tenant_id: str, ctx: AudienceContext) -> tuple[set[str], set[str]]:
        onay: set[str] = set()
        ret: set[str] = set()
        if self._consents is not None:
            for rec in self._consents.find(tenant_id):
                if rec.type == "MESAJ" and (ctx.brand_code is None or rec.brand_code == ctx.brand_code):
                    (onay if rec.status == "ONAY" else ret).add(rec.recipient)
        return onay, ret

    def _opted_out(self, tenant_id: str, phone: str) -> bool:
        if self._contacts is None:
            return False
        contact = self._contacts.get(tenant_id, phone)
        return contact is not None and contact.opted_out_at is not None

    def _matching(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext) -> list[str]:
        onay, ret = self._consent(tenant_id, ctx)
        return sorted(p.phone for (t, _), p in list(self._rows.items()) if t == tenant_id and matches(
            criteria, p, ctx, (self._opted_out(tenant_id, p.phone), p.phone in onay, p.phone in ret)))

    def select(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext, *, after_phone: str | None = None,
               limit: int = 1000) -> list[str]:
        return [p for p in self._matching(tenant_id, criteria, ctx) if after_phone is None or p > after_phone][:limit]

    def count(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext) -> int:
        return len(self._matching(tenant_id, criteria, ctx))

    def contains(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext, phone: str) -> bool:
        profile = self._rows.get((tenant_id, phone))
        if profile is None:
            return False
        onay, ret = self._consent(tenant_id, ctx)
        return matches(criteria, profile, ctx, (self._opted_out(tenant_id, phone), phone in onay, phone in ret))
