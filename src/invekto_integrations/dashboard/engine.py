"""`ReturnCaseEngine`: a runtime engine that keeps the return cases in step with the claims sync.

It consumes the claims sync's ``return_claim.opened`` / ``return_claim.updated`` events (one case
per claim, its latest status, settled by a refund/cancel/reject the marketplace reports), so the
returns panel needs no caller wiring: host it in a `runtime.Runtime` beside the sync. The value at
stake is the refund amount the marketplace names, else the cached order's total (Hepsiburada
caches by order number; a Trendyol claim's package is not found that way, so its amount waits for
the refund). Effects are idempotent by claim (a re-delivered event changes nothing) and the
engine is transactional: on SQLite the case write commits with the cursor move.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import ValidationError

from invekto_integrations.core.money import Money
from invekto_integrations.models.claims import ClaimStatus
from invekto_integrations.models.events import DomainEvent, ReturnClaimOpened, ReturnClaimUpdated
from invekto_integrations.models.orders import Order
from invekto_integrations.runtime import BaseEngine, EngineContext
from invekto_integrations.storage.dashboard_protocols import ReturnCaseRepository
from invekto_integrations.storage.protocols import OrderCacheRepository

from .returns import ClaimFacts, apply_claim

__all__ = ["ReturnCaseEngine"]


class ReturnCaseEngine(BaseEngine):
    name = "dashboard.return_cases"
    consumes = frozenset({ReturnClaimOpened.TYPE, ReturnClaimUpdated.TYPE})
    transactional = True

    def __init__(self, repo: ReturnCaseRepository, *, orders: OrderCacheRepository | None = None) -> None:
        """``orders`` (optional): the orders cache, whose order total stands for the value at stake
        while the marketplace names no refund amount (a requested claim usually has none)."""
        self.repo = repo
        self.orders = orders

    def _order_total(self, tenant_id: str, event: ReturnClaimOpened | ReturnClaimUpdated) -> Money | None:
        if self.orders is None:
            return None
        row = self.orders.get(tenant_id, event.provider, event.account_id, event.external_order_id)
        if row is None:
            return None
        try:
            order = Order.model_validate_json(row.order_data_json)
        except ValidationError:
            return None
        return Money(amount=order.total, currency=order.currency) if order.total > 0 else None

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        if not isinstance(event, ReturnClaimOpened | ReturnClaimUpdated):
            return None
        try:
            status = ClaimStatus(event.status)
        except ValueError:
            status = ClaimStatus.UNKNOWN
        refund = event.refund_amount or self._order_total(ctx.tenant_id, event)
        apply_claim(self.repo, ctx.tenant_id, ClaimFacts(
            provider=event.provider, claim_id=event.claim_id, order_number=event.external_order_id, status=status,
            opened_at=event.claimed_at, changed_at=event.occurred_at,
            amount=refund.amount if refund is not None else Decimal(0),
            currency=refund.currency if refund is not None else "TRY",
            reason=event.reasons[0] if event.reasons else None, phone=event.customer_phone,
            account_id=event.account_id), now=ctx.now())
        return None
