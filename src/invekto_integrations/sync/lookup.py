"""Customer lookup across platforms: one phone, every marketplace order of that customer.

The phone may come in any common Turkish form (``0532 123 45 67``, ``+90 532 123 4567``,
``532...``, ``90532...``); it is normalized to E.164, the form the order cache stores, and the
cache's ``(tenant_id, customer_phone, ordered_at)`` index answers newest first. With
``refresh=True`` a targeted incremental sync of that tenant's marketplace accounts runs first, so
the answer includes orders placed minutes ago.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from invekto_integrations.core.errors import ConfigurationError, IntegrationError
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.core.reprs import ConciseRepr, html_table
from invekto_integrations.models.orders import Order
from invekto_integrations.storage.protocols import OrderCacheRepository

from .orders import OrderSyncEngine, SyncMode, SyncRunReport

__all__ = ["CustomerLookup", "CustomerOrder", "CustomerOrders", "InvalidPhoneNumber"]

log = logging.getLogger("invekto_integrations.sync.lookup")


class InvalidPhoneNumber(IntegrationError, ValueError):
    """The text given as a phone number is not a usable number (empty, masked, invalid)."""

    def __init__(self, raw: str) -> None:
        super().__init__(f"not a usable phone number: {raw!r}")
        self.raw = raw


@dataclass(frozen=True)
class CustomerOrder:
    """One order of the customer, with where it came from."""

    provider: str
    account_id: str
    order: Order
    synced_at: datetime

    def __repr__(self) -> str:
        return f"CustomerOrder({self.order!r})"


@dataclass(frozen=True)
class CustomerOrders:
    """The answer of a lookup: the customer's orders on every connected marketplace, newest first."""

    tenant_id: str
    phone: str  # E.164
    orders: tuple[CustomerOrder, ...]
    refreshed: SyncRunReport | None = None

    @property
    def providers(self) -> list[str]:
        return sorted({o.provider for o in self.orders})

    @property
    def names(self) -> list[str]:
        """The names the customer used, most recent first (marketplaces differ in spelling)."""
        seen: dict[str, None] = {}
        for o in self.orders:
            if o.order.customer.name:
                seen.setdefault(o.order.customer.name, None)
        return list(seen)

    def __len__(self) -> int:
        return len(self.orders)

    def __repr__(self) -> str:
        names = ", ".join(repr(n) for n in self.names[:2])
        return (f"<CustomerOrders {self.tenant_id} {self.phone}: {len(self.orders)} order(s) on "
                f"{', '.join(self.providers) or 'no platform'}{'; names ' + names if names else ''}>")

    def _repr_html_(self) -> str:
        return html_table(f"{self.phone} in {self.tenant_id}: {len(self.orders)} order(s)",
                          ["ordered", "platform", "order", "status", "total", "items"],
                          ([o.order.ordered_at, o.provider, o.order.order_number, o.order.status,
                            f"{o.order.total} {o.order.currency}",
                            ", ".join(f"{ln.quantity} × {ln.name}" for ln in o.order.lines)] for o in self.orders))


class CustomerLookup(ConciseRepr, fields=("orders", "region")):
    """Finds a customer's orders in the cache, optionally refreshing from the providers first."""

    def __init__(self, orders: OrderCacheRepository, engine: OrderSyncEngine | None = None, *,
                 region: str = "TR") -> None:
        self.orders = orders
        self.engine = engine
        self.region = region

    def normalize(self, phone: str) -> str:
        try:
            return normalize_phone(phone, self.region)
        except ValueError:
            raise InvalidPhoneNumber(phone) from None

    def cached(self, tenant_id: str, phone: str, *, limit: int = 100) -> CustomerOrders:
        """From the cache only (no provider call)."""
        e164 = self.normalize(phone)
        found = []
        for row in self.orders.find_by_phone(tenant_id, e164, limit=limit):
            try:
                order = Order.model_validate_json(row.order_data_json)
            except ValidationError:
                log.warning("orders_cache row %s has unreadable order data; skipped", row.id)
                continue
            found.append(CustomerOrder(provider=row.provider, account_id=row.account_id, order=order,
                                       synced_at=row.synced_at))
        return CustomerOrders(tenant_id=tenant_id, phone=e164, orders=tuple(found))

    async def afind(self, tenant_id: str, phone: str, *, refresh: bool = False, limit: int = 100) -> CustomerOrders:
        """The customer's orders, newest first; with ``refresh`` an incremental sync of the tenant's
        marketplace accounts runs first (its report is in ``refreshed``)."""
        e164 = self.normalize(phone)  # reject bad input before any provider call
        report = None
        if refresh:
            if self.engine is None:
                raise ConfigurationError("refresh needs a CustomerLookup built with an OrderSyncEngine")
            report = await self.engine.run(tenant_ids=[tenant_id], mode=SyncMode.INCREMENTAL)
        if self.engine is not None:
            result = await self.engine.run_storage(self.cached, tenant_id, e164, limit=limit)
        else:
            result = self.cached(tenant_id, e164, limit=limit)
        return CustomerOrders(tenant_id=tenant_id, phone=e164, orders=result.orders, refreshed=report)

    def find(self, tenant_id: str, phone: str, *, refresh: bool = False, limit: int = 100) -> CustomerOrders:
        """`afind` from synchronous code (without ``refresh`` it is just the cache query)."""
        if not refresh:
            return self.cached(tenant_id, phone, limit=limit)
        return asyncio.run(self.afind(tenant_id, phone, refresh=True, limit=limit))
