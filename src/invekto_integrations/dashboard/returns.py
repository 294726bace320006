"""Returns recovered ("iade çevirme"): return cases from the marketplaces' claims, the seller's
contact and its outcome, and the panel (recovery rate, recovered revenue).

Recovery rate = recovered (exchanged + kept) ÷ decided (exchanged + kept + refunded); a claim the
marketplace cancelled and a claim without an outcome yet are outside the denominator.
Recovered revenue = claim amount − concession, summed over recovered cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.ids import new_id
from invekto_integrations.models.claims import ClaimStatus, ReturnClaim
from invekto_integrations.storage.dashboard_protocols import ReturnCaseRepository
from invekto_integrations.storage.dashboard_records import ReturnCase, ReturnOutcome

from ._base import Chart, Kpi, L, Panel, Rate, Series, Table, main_currency, money
from ._format import fmt_money
from ._period import ReportPeriod

__all__ = ["ClaimFacts", "ReturnsDay", "ReturnsPanel", "ReturnsRow", "apply_claim", "open_return_cases",
           "record_contact", "record_return_outcome", "returns_panel"]

# A claim status the marketplace reports settles a case that has no outcome from the seller yet.
_SETTLED_BY_CLAIM = {ClaimStatus.REFUNDED: ReturnOutcome.REFUNDED, ClaimStatus.CANCELLED: ReturnOutcome.CANCELLED,
                     ClaimStatus.REJECTED: ReturnOutcome.CANCELLED}


@dataclass(frozen=True)
class ClaimFacts:
    """What a case needs to know of a claim (from a `ReturnClaim` or a return-claim event)."""

    provider: str
    claim_id: str
    order_number: str
    status: ClaimStatus
    opened_at: datetime
    changed_at: datetime
    amount: Decimal
    currency: str
    reason: str | None = None
    phone: str | None = None
    account_id: str | None = None


def apply_claim(repo: ReturnCaseRepository, tenant_id: str, claim: ClaimFacts, *, now: datetime) -> ReturnCase | None:
    """Open the claim's case, or bring a known one up to date: the claim's status, and a
    refunded/cancelled/rejected claim settles a case with no outcome yet (a seller's recorded
    outcome is never overwritten). The case created or changed, ``None`` if nothing changed."""
    settled = _SETTLED_BY_CLAIM.get(claim.status)
    found = repo.get(tenant_id, claim.provider, claim.claim_id)
    if found is None:
        case = ReturnCase(
            id=new_id(), tenant_id=tenant_id, provider=claim.provider, account_id=claim.account_id,
            claim_id=claim.claim_id, order_number=claim.order_number, claim_status=claim.status.value,
            reason=claim.reason, customer_phone=claim.phone, claim_amount=claim.amount, currency=claim.currency,
            opened_at=claim.opened_at, outcome=settled or ReturnOutcome.PENDING,
            outcome_at=claim.changed_at if settled else None, created_at=now, updated_at=now,
        )
        return case if repo.add(tenant_id, case) else None
    update: dict[str, object] = {}
    if found.claim_status != claim.status.value:
        update["claim_status"] = claim.status.value
    if settled is not None and found.outcome is ReturnOutcome.PENDING:
        update.update(outcome=settled, outcome_at=claim.changed_at)
    if found.customer_phone is None and claim.phone is not None:
        update["customer_phone"] = claim.phone
    if found.claim_amount == 0 and claim.amount > 0 and claim.currency == found.currency:
        update["claim_amount"] = claim.amount  # the marketplace named the amount only now (on refund)
    if not update:
        return None
    case = found.model_copy(update={**update, "updated_at": now})
    repo.save(tenant_id, case)
    return case


def open_return_cases(repo: ReturnCaseRepository, tenant_id: str, claims: Iterable[ReturnClaim], *,
                      clock: Clock, account_id: str | None = None,
                      phones: dict[str, str] | None = None) -> list[ReturnCase]:
    """Record synced claims (`apply_claim` for each). ``phones`` maps an order number to the
    customer's phone (from the orders cache) for the contact step. Returns the cases created or changed."""
    now = clock.now()
    changed: list[ReturnCase] = []
    for claim in claims:
        case = apply_claim(repo, tenant_id, ClaimFacts(
            provider=claim.provider, claim_id=claim.external_id, order_number=claim.order_number,
            status=claim.status, opened_at=claim.created_at, changed_at=claim.updated_at,
            amount=claim.refund_amount or Decimal(0), currency=claim.currency,
            reason=next((line.reason for line in claim.lines if line.reason), None),
            phone=(phones or {}).get(claim.order_number), account_id=account_id), now=now)
        if case is not None:
            changed.append(case)
    return changed


def _case(repo: ReturnCaseRepository, tenant_id: str, provider: str, claim_id: str) -> ReturnCase:
    found = repo.get(tenant_id, provider, claim_id)
    if found is None:
        raise InvalidArgument(f"no return case for claim {claim_id}", provider=provider, field="claim_id",
                              record=claim_id)
    return found


def record_contact(repo: ReturnCaseRepository, tenant_id: str, provider: str, claim_id: str, *, at: datetime,
                   channel: str = "whatsapp", note: str | None = None) -> ReturnCase:
    """The seller reached the customer about the claim (the first contact time is kept)."""
    found = _case(repo, tenant_id, provider, claim_id)
    if at.tzinfo is None:
        raise InvalidArgument("contact time is naive", provider=provider, field="at", record=claim_id)
    case = found.model_copy(update={
        "contacted_at": found.contacted_at or at, "contact_channel": found.contact_channel or channel,
        "note": note if note is not None else found.note, "updated_at": at,
    })
    repo.save(tenant_id, ReturnCase.model_validate(case.model_dump()))
    return case


def record_return_outcome(repo: ReturnCaseRepository, tenant_id: str, provider: str, claim_id: str,
                          outcome: ReturnOutcome, *, at: datetime,
                          concession_amount: Decimal = Decimal(0)) -> ReturnCase:
    """What the customer chose after the contact; ``concession_amount`` is what keeping the sale cost."""
    found = _case(repo, tenant_id, provider, claim_id)
    if outcome is ReturnOutcome.PENDING:
        raise InvalidArgument("an outcome cannot be set back to pending", provider=provider, field="outcome",
                              record=claim_id)
    data = found.model_dump()
    data.update(outcome=outcome, outcome_at=at, concession_amount=concession_amount, updated_at=at)
    try:
        case = ReturnCase.model_validate(data)
    except ValueError as exc:
        raise InvalidArgument(str(exc), provider=provider, field="concession_amount", record=claim_id) from exc
    repo.save(tenant_id, case)
    return case


class ReturnsRow(BaseModel):
    """One marketplace's claims (``provider="all"``: the totals)."""

    model_config = ConfigDict(frozen=True)

    provider: str
    claims: int
    contacted: int
    exchanged: int
    kept: int
    refunded: int
    cancelled: int
    pending: int
    recovery_rate: Rate
    contact_rate: Rate
    claim_amount: Decimal
    recovered_amount: Decimal
    refunded_amount: Decimal


class ReturnsDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    opened: int
    recovered: int


class ReturnsPanel(Panel):
    """Return claims opened in the period and what became of them."""

    kind = "returns"
    title = L("İade çevirme", "Returns recovered")

    totals: ReturnsRow
    by_provider: list[ReturnsRow]
    daily: list[ReturnsDay]
    skipped_records: list[str] = Field(default_factory=list)  # cases in another currency than the panel's

    @property
    def is_empty(self) -> bool:
        return self.totals.claims == 0

    def notes(self) -> list[str]:
        if not self.skipped_records:
            return []
        return [f"Başka para biriminde / in another currency: {', '.join(self.skipped_records)}"]

    def kpis(self) -> list[Kpi]:
        t = self.totals
        return [
            Kpi(key="claims", label=L("İade talebi", "Return claims"), value=str(t.claims)),
            Kpi(key="contact_rate", label=L("İletişim oranı", "Contact rate"), value=t.contact_rate.percent()),
            Kpi(key="recovery_rate", label=L("Çevirme oranı", "Recovery rate"), value=t.recovery_rate.percent()),
            Kpi(key="recovered_amount", label=L("Kurtarılan ciro", "Recovered revenue"),
                value=fmt_money(t.recovered_amount, self.currency)),
        ]

    def tables(self) -> list[Table]:
        cols = [("provider", L("Pazaryeri", "Marketplace")), ("claims", L("Talep", "Claims")),
                ("contacted", L("İletişim", "Contacted")), ("exchanged", L("Değişim", "Exchanged")),
                ("kept", L("Vazgeçti", "Kept")), ("refunded", L("İade edildi", "Refunded")),
                ("cancelled", L("İptal", "Cancelled")), ("pending", L("Bekleyen", "Pending")),
                ("recovery_rate", L("Çevirme oranı", "Recovery rate")),
                ("claim_amount", L("Talep tutarı", "Claimed")),
                ("recovered_amount", L("Kurtarılan", "Recovered")), ("refunded_amount", L("İade tutarı", "Refunded"))]
        rows = [[r.provider, r.claims, r.contacted, r.exchanged, r.kept, r.refunded, r.cancelled, r.pending,
                 r.recovery_rate.value, r.claim_amount, r.recovered_amount, r.refunded_amount]
                for r in [*self.by_provider, self.totals]]
        daily = Table(key="daily", title=L("Günlük", "Daily"),
                      columns=[("day", L("Gün", "Day")), ("opened", L("Açılan", "Opened")),
                               ("recovered", L("Çevrilen", "Recovered"))],
                      rows=[[d.day, d.opened, d.recovered] for d in self.daily])
        return [Table(key="by_provider", title=L("Pazaryerine göre", "By marketplace"), columns=cols, rows=rows),
                daily]

    def charts(self) -> list[Chart]:
        t = self.totals
        outcomes = [("Değişim / Exchanged", t.exchanged), ("Vazgeçti / Kept", t.kept),
                    ("İade / Refunded", t.refunded), ("İptal / Cancelled", t.cancelled),
                    ("Bekleyen / Pending", t.pending)]
        return [
            Chart(key="returns_outcomes", title=L("Sonuçlar", "Outcomes"), kind="pie",
                  categories=[k for k, _ in outcomes],
                  series=[Series(label=L("Talep", "Claims"), values=[Decimal(v) for _, v in outcomes])]),
            Chart(key="returns_daily", title=L("Günlük talepler", "Claims per day"), kind="line",
                  categories=[d.day.isoformat() for d in self.daily],
                  series=[Series(label=L("Açılan", "Opened"), values=[Decimal(d.opened) for d in self.daily]),
                          Series(label=L("Çevrilen", "Recovered"),
                                 values=[Decimal(d.recovered) for d in self.daily])]),
        ]


def _row(provider: str, cases: list[ReturnCase]) -> ReturnsRow:
    count = {o: sum(1 for c in cases if c.outcome is o) for o in ReturnOutcome}
    recovered = count[ReturnOutcome.EXCHANGED] + count[ReturnOutcome.KEPT]
    decided = recovered + count[ReturnOutcome.REFUNDED]
    contacted = sum(1 for c in cases if c.contacted_at is not None)
    return ReturnsRow(
        provider=provider, claims=len(cases), contacted=contacted,
        exchanged=count[ReturnOutcome.EXCHANGED], kept=count[ReturnOutcome.KEPT],
        refunded=count[ReturnOutcome.REFUNDED], cancelled=count[ReturnOutcome.CANCELLED],
        pending=count[ReturnOutcome.PENDING], recovery_rate=Rate(numerator=recovered, denominator=decided),
        contact_rate=Rate(numerator=contacted, denominator=len(cases)),
        claim_amount=money(sum((c.claim_amount for c in cases), Decimal(0))),
        recovered_amount=money(sum((c.recovered_amount for c in cases), Decimal(0))),
        refunded_amount=money(sum((c.claim_amount for c in cases if c.outcome is ReturnOutcome.REFUNDED),
                                  Decimal(0))),
    )


def returns_panel(repo: ReturnCaseRepository, period: ReportPeriod) -> ReturnsPanel:
    """Claims opened in the period (local days of the tenant's zone), one indexed range read."""
    found = repo.find(period.tenant_id, opened_from=period.start, opened_to=period.end)
    currency = main_currency([c.currency for c in found])
    cases = [c for c in found if c.currency == currency]
    skipped = [f"{c.provider}/{c.claim_id} ({c.currency})" for c in found if c.currency != currency]
    by_provider: dict[str, list[ReturnCase]] = defaultdict(list)
    opened: dict[date, int] = defaultdict(int)
    recovered: dict[date, int] = defaultdict(int)
    for c in cases:
        by_provider[c.provider].append(c)
        day = period.local_date(c.opened_at)
        opened[day] += 1
        recovered[day] += int(c.recovered)
    return ReturnsPanel(
        **ReturnsPanel._head(period, currency),
        totals=_row("all", cases), skipped_records=skipped,
        by_provider=[_row(p, rows) for p, rows in sorted(by_provider.items())],
        daily=[ReturnsDay(day=d, opened=opened[d], recovered=recovered[d]) for d in period.days()] if cases else [],
    )
