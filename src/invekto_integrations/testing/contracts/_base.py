"""What the built-in contracts share: marketplaces list through ``iter_orders_changed``, carriers
read parcels one by one through ``track``, and both spell a raw status with its qualifiers.

A carrier's status is sometimes more than one code (Aras ``DURUM_KODU`` with ``TIP_KODU`` 3 for a
return, Yurtiçi ``operationStatus`` refined by the item's ``cargoEventId``/``returnStatus``), so a
raw status in these contracts is the code followed by ``/field=value`` qualifiers, e.g.
``"6/TIP_KODU=3"`` or ``"IND/cargoEventId=YK/cargoReasonId=GOK"``: `split_raw` reads it back for
both the mapping and the fake's scripted parcel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, ClassVar

from invekto_integrations.core.errors import ProviderError, ProviderUnavailable
from invekto_integrations.core.ratelimit import RateLimit
from invekto_integrations.models.orders import OrderStatus
from invekto_integrations.models.shipments import Shipment, ShipmentStatus
from invekto_integrations.providers.base import OrderOrError
from invekto_integrations.testing.conformance import ProviderContract

__all__ = ["CarrierContract", "MarketplaceContract", "split_raw"]


def split_raw(raw: str) -> tuple[str, dict[str, str]]:
    """``"6/TIP_KODU=3"`` → ``("6", {"TIP_KODU": "3"})``."""
    code, *qualifiers = raw.split("/")
    extra: dict[str, str] = {}
    for q in qualifiers:
        name, sep, value = q.partition("=")
        if not sep:
            raise ValueError(f"raw status qualifier {q!r} is not field=value")
        extra[name] = value
    return code, extra


class MarketplaceContract(ProviderContract):
    """A marketplace: the listing is the connector's own ``iter_orders_changed`` (the sync's query).

    ``lookback`` is how far back "every record" reaches (the fake's seeded history fits in it);
    ``ahead`` is added to the clock's now as the exclusive end, so that a record changed this very
    minute is included by a provider whose date filter has minute resolution.
    """

    lookback: ClassVar[timedelta] = timedelta(days=30)
    ahead: ClassVar[timedelta] = timedelta(minutes=1)

    def _until(self, client: Any) -> datetime:
        now: datetime = client.clock.now()
        return now + self.ahead

    def list_all(self, client: Any) -> list[Any]:
        until = self._until(client)
        return list(client.iter_orders_changed(until - self.ahead - self.lookback, until))

    async def alist_all(self, client: Any) -> list[Any]:
        until = self._until(client)
        return [item async for item in client.iter_orders_changed(until - self.ahead - self.lookback, until)]

    def list_changed_since(self, client: Any, since: datetime) -> list[Any]:
        return list(client.iter_orders_changed(since, self._until(client)))

    def record_id(self, record: OrderOrError) -> str:
        assert record.order is not None, "a quarantined record has no id"
        return record.order.external_id

    def is_quarantined(self, record: OrderOrError) -> bool:
        return record.error is not None

    def record_status(self, record: OrderOrError) -> Enum | None:
        return record.order.status if record.order is not None else None

    def unknown_status(self) -> Enum:
        return OrderStatus.UNKNOWN


class CarrierContract(ProviderContract):
    """A carrier: no listing; parcels are read back by `track`, the probe tracks a known parcel.

    Neither Turkish carrier documents a rate limit or a throttling answer: their fakes throttle with
    the server-busy SOAP fault (HTTP 503), which the connectors treat as an outage
    (`ProviderUnavailable`, retried, ``Retry-After`` honoured). With no published limit, the kit
    still checks pacing: the client is given `pacing_for_test` and must keep to it while the fake
    refuses anything faster.
    """

    throttled_error: ClassVar[type[ProviderError]] = ProviderUnavailable
    pacing_for_test: ClassVar[RateLimit | None] = RateLimit(5, 1.0)
    #: The parcel every account has, tracked by `probe`.
    probe_key: ClassVar[str] = ""

    def probe(self, client: Any) -> object:
        return client.track(self.probe_key)

    async def aprobe(self, client: Any) -> object:
        return await client.track(self.probe_key)

    def fetch_records(self, client: Any, ids: Sequence[str]) -> list[Any]:
        return [client.track(key) for key in ids]

    def record_status(self, record: Shipment) -> Enum | None:
        return record.status

    def unknown_status(self) -> Enum:
        return ShipmentStatus.UNKNOWN
