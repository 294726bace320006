"""ROI and A/B reports: typed rows per campaign and variant (the dashboard renders them).

Per variant: recipients (sent a message or held out), sent (accepted by WhatsApp), delivered,
read, refused (by reason), replied, converted (recipients with a purchase or appointment),
revenue, cost, revenue per message, ROI; conversion rate with its Wilson interval, the p-value
against the first variant (the control) and the probability to be best. Against a holdout:
incremental revenue = revenue − holdout revenue per holdout recipient × the variant's recipients.

Cost: WhatsApp bills per *delivered* template by category (per-message pricing since 2025-07-01),
so cost = delivered × the tenant's price for the campaign's category.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal

from pydantic import BaseModel, ConfigDict

from invekto_integrations.storage.settings import TenantSettingsRepository, tenant_settings

from .models import HOLDOUT, Campaign, CampaignStatus, ConversionType, WinnerDecision
from .repository import CampaignRepository, ConversionRepository, RecipientRepository
from .stats import arm_results

__all__ = ["CampaignReport", "MessageCosts", "VariantReport", "campaign_report", "costs_from_settings"]

_CENT = Decimal("0.01")
MessageCosts = Mapping[str, Decimal] | Callable[[str, str], Decimal]  # category → price, or (tenant, category) → price


def _q(value: Decimal) -> Decimal:
    return value.quantize(_CENT, ROUND_HALF_EVEN)


class VariantReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: str
    variant: str
    is_holdout: bool
    recipients: int
    sent: int
    delivered: int
    read: int
    refused: int
    refused_reasons: dict[str, int]
    failed: int
    waiting: int
    replied: int
    converted: int  # recipients with the test's metric (purchase by default)
    purchases: int
    appointments: int
    revenue: Decimal
    currency: str
    cost: Decimal
    revenue_per_message: Decimal | None
    roi: Decimal | None  # (revenue − cost) / cost
    conversion_rate: float
    ci_low: float
    ci_high: float
    p_value_vs_control: float | None
    probability_best: float | None
    incremental_revenue: Decimal | None  # vs the holdout, when there is one


class CampaignReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    campaign_id: str
    name: str
    status: CampaignStatus
    metric: str
    rows: list[VariantReport]
    holdout: VariantReport | None
    winner: WinnerDecision | None
    total_revenue: Decimal
    total_cost: Decimal
    roi: Decimal | None


def costs_from_settings(repository: TenantSettingsRepository | None) -> Callable[[str, str], Decimal]:
    """Prices per delivered message from each tenant's settings (``message_costs``; unknown: 0)."""

    def price(tenant_id: str, category: str) -> Decimal:
        cost = tenant_settings(repository, tenant_id).message_cost(category)
        return cost.amount if cost is not None else Decimal(0)

    return price


def _price(costs: MessageCosts | None, tenant_id: str, category: str) -> Decimal:
    if costs is None:
        return Decimal(0)
    if callable(costs):
        return costs(tenant_id, category)
    return costs.get(category, Decimal(0))


def campaign_report(campaign: Campaign | str, *, tenant_id: str, campaigns: CampaignRepository,
                    recipients: RecipientRepository, conversions: ConversionRepository,
                    costs: MessageCosts | None = None) -> CampaignReport:
    c = campaigns.get(tenant_id, campaign) if isinstance(campaign, str) else campaign
    if c is None:
        from invekto_integrations.core.errors import InvalidArgument

        raise InvalidArgument(f"no campaign {campaign!r}", field="campaign_id", record=str(campaign))
    counts = recipients.counts(tenant_id, c.id)
    totals = conversions.totals(tenant_id, c.id)
    metric_types = ["reply", "purchase", "appointment"] if c.ab.metric == "any" else [c.ab.metric]
    converted = conversions.converted_phones(tenant_id, c.id, metric_types)
    price = _price(costs, tenant_id, c.category.value)
    currency = next((x.currency for x in conversions.find(tenant_id, c.id)), "TRY")

    def by(variant: str, kind: ConversionType) -> tuple[int, int, Decimal]:
        t = next((x for x in totals if x.variant == variant and x.conversion_type == kind.value), None)
        return (t.conversions, t.recipients, t.value) if t else (0, 0, Decimal(0))

    names = [v.name for v in c.variants]
    exposed = {n: counts[n].submitted if n in counts else 0 for n in names}
    arms = arm_results([(n, exposed[n], len(converted.get(n, set()))) for n in names], alpha=c.ab.alpha)
    hold = counts.get(HOLDOUT)
    hold_n = hold.holdout if hold else 0
    hold_rev = by(HOLDOUT, ConversionType.PURCHASE)[2]
    hold_per = hold_rev / hold_n if hold_n else None

    def row(name: str) -> VariantReport:
        k = counts.get(name)
        is_hold = name == HOLDOUT
        n = hold_n if is_hold else exposed.get(name, 0)
        purchases, _, revenue = by(name, ConversionType.PURCHASE)
        appts, _, appt_value = by(name, ConversionType.APPOINTMENT)
        revenue = revenue + appt_value
        replied = by(name, ConversionType.REPLY)[1]
        sent = k.sent if k else 0
        delivered = k.delivered if k else 0
        cost = _q(price * delivered)
        arm = next((a for a in arms if a.variant == name), None)
        conv = len(converted.get(name, set()))
        if arm is None:  # the holdout: same interval, not part of the variant comparison
            from .stats import wilson_interval

            lo, hi = wilson_interval(conv, n, alpha=c.ab.alpha)
        else:
            lo, hi = arm.ci_low, arm.ci_high
        return VariantReport(
            campaign_id=c.id, variant=name, is_holdout=is_hold, recipients=n, sent=sent, delivered=delivered,
            read=k.read if k else 0, refused=k.refused if k else 0,
            refused_reasons=dict(k.refused_reasons) if k else {}, failed=k.failed if k else 0,
            waiting=k.waiting if k else 0, replied=replied, converted=conv, purchases=purchases,
            appointments=appts, revenue=_q(revenue), currency=currency, cost=cost,
            revenue_per_message=_q(revenue / sent) if sent and not is_hold else None,
            roi=(revenue - cost) / cost if cost > 0 else None,
            conversion_rate=conv / n if n else 0.0, ci_low=lo, ci_high=hi,
            p_value_vs_control=arm.p_value_vs_control if arm else None,
            probability_best=arm.probability_best if arm else None,
            incremental_revenue=_q(revenue - hold_per * n) if hold_per is not None and not is_hold else None)

    rows = [row(n) for n in names]
    holdout = row(HOLDOUT) if hold_n else None
    total_revenue = sum((r.revenue for r in rows), Decimal(0))
    total_cost = sum((r.cost for r in rows), Decimal(0))
    return CampaignReport(campaign_id=c.id, name=c.name, status=c.status, metric=c.ab.metric, rows=rows,
                          holdout=holdout, winner=c.winner, total_revenue=total_revenue, total_cost=total_cost,
                          roi=(total_revenue - total_cost) / total_cost if total_cost > 0 else None)
