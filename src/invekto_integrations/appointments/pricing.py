"""Service price ranges (seed table ``service_pricing``): create, edit, deactivate, and the
Turkish price answer the messaging layer sends ("İmplant: 15.000–25.000 TL")."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.money import format_try, to_decimal
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.protocols import ServicePricingRepository

from .errors import InvalidServicePricing, UnknownService
from .models import ServicePricing

__all__ = ["PriceCatalog", "format_price", "format_price_list"]

_EDITABLE = frozenset({"service_name", "price_min", "price_max", "duration_minutes", "buffer_minutes",
                       "description", "requires_specialist"})


def _amount(value: Decimal) -> str:
    return format_try(value, decimals=value != value.to_integral_value())


def format_price(service: ServicePricing) -> str:
    """``"İmplant: 15.000–25.000 TL"`` (en dash, Turkish thousands dot); one price when min == max."""
    if service.price_min == service.price_max:
        return f"{service.service_name}: {_amount(service.price_min)} TL"
    return f"{service.service_name}: {_amount(service.price_min)}–{_amount(service.price_max)} TL"


def format_price_list(services: Sequence[ServicePricing]) -> str:
    """One line per service, in the given order."""
    return "\n".join(format_price(s) for s in services)


def _to_amount(field: str, value: Any, service: str | None) -> Decimal:
    if isinstance(value, float):
        raise InvalidServicePricing(f"{field} must be a Decimal or a string, not a float", field=field,
                                    service=service)
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise InvalidServicePricing(f"{field}: {exc}", field=field, service=service) from exc


class PriceCatalog(ConciseRepr):
    """The tenant's service list; every write is validated before it reaches storage, and
    storage refuses a second active service with the same (folded) name."""

    def __init__(self, repo: ServicePricingRepository, *, clock: Clock | None = None) -> None:
        self.repo = repo
        self.clock = clock or SystemClock()

    @staticmethod
    def _build(data: dict[str, Any]) -> ServicePricing:
        name = data.get("service_name")
        for field in ("price_min", "price_max"):
            data[field] = _to_amount(field, data[field], name)
            if not data[field].is_finite() or data[field] <= 0:
                raise InvalidServicePricing(f"service {name!r}: {field} must be a positive amount", field=field,
                                            service=name)
        if data["price_min"] > data["price_max"]:
            raise InvalidServicePricing(
                f"service {name!r}: price_min {data['price_min']} is above price_max {data['price_max']}",
                field="price_min", service=name)
        duration = data.get("duration_minutes")
        if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
            raise InvalidServicePricing(f"service {name!r}: duration_minutes must be a positive whole number",
                                        field="duration_minutes", service=name)
        try:
            return ServicePricing.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise InvalidServicePricing(f"service {name!r}: {err['msg']}", field=loc or None, service=name) from exc

    def create(self, tenant_id: str, service_name: str, price_min: Decimal | str | int, price_max: Decimal | str | int,
               duration_minutes: int, *, buffer_minutes: int = 0, description: str | None = None,
               requires_specialist: bool = False) -> ServicePricing:
        """Add an active service. Raises `InvalidServicePricing` or `DuplicateServiceName`."""
        now = self.clock.now()
        service = self._build({
            "id": new_id(), "tenant_id": tenant_id, "service_name": service_name, "price_min": price_min,
            "price_max": price_max, "duration_minutes": duration_minutes, "buffer_minutes": buffer_minutes,
            "description": description, "requires_specialist": requires_specialist, "created_at": now,
            "updated_at": now,
        })
        self.repo.add(tenant_id, service)
        return service

    def _get(self, tenant_id: str, service_id: str) -> ServicePricing:
        found = self.repo.get(tenant_id, service_id)
        if found is None:
            raise UnknownService(f"no service {service_id} for tenant {tenant_id}")
        return found

    def edit(self, tenant_id: str, service_id: str, **changes: Any) -> ServicePricing:
        """Change some of: service_name, price_min, price_max, duration_minutes, buffer_minutes,
        description, requires_specialist. The whole row is re-validated."""
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise InvalidServicePricing(f"not editable: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
        current = self._get(tenant_id, service_id)
        data = current.model_dump()
        data.update(changes)
        data["updated_at"] = self.clock.now()
        service = self._build(data)
        self.repo.save(tenant_id, service)
        return service

    def deactivate(self, tenant_id: str, service_id: str) -> ServicePricing:
        current = self._get(tenant_id, service_id)
        if not current.is_active:
            return current
        service = current.model_copy(update={"is_active": False, "updated_at": self.clock.now()})
        self.repo.save(tenant_id, service)
        return service

    def reactivate(self, tenant_id: str, service_id: str) -> ServicePricing:
        """Active again (`DuplicateServiceName` if another active service took the name meanwhile)."""
        current = self._get(tenant_id, service_id)
        service = current.model_copy(update={"is_active": True, "updated_at": self.clock.now()})
        self.repo.save(tenant_id, service)
        return service

    def get_active(self, tenant_id: str, service_name: str) -> ServicePricing:
        found = self.repo.get_active(tenant_id, service_name)
        if found is None:
            raise UnknownService(f"no active service {service_name!r} for tenant {tenant_id}")
        return found

    def answer(self, tenant_id: str, service_name: str | None = None) -> str | None:
        """The text for "fiyat?": one service's range, or the whole active list; ``None`` if nothing matches."""
        if service_name is not None:
            found = self.repo.get_active(tenant_id, service_name)
            return format_price(found) if found else None
        services = self.repo.find(tenant_id)
        return format_price_list(services) if services else None
