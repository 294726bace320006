"""The audience language: typed, serializable criteria over a customer profile.

A campaign's audience is one `Criterion` tree stored as JSON (``target_criteria_json``). Leaves
speak the seller's and the clinic's words (order count, total spent, last order, platform,
product, tag, segment, appointments, services, consent, niche); ``all``/``any``/``not`` combine
them. Relative dates ("in the last 90 days") are stored relative and bound to the evaluation
instant, so a recurring campaign's audience moves with the calendar.

The SQLite store compiles a tree to one indexed query over the profile tables
(`storage.sqlite_campaigns`); the memory store evaluates `matches` on each profile. Both read
the same tree, and the repository contract suite checks they agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.money import DecimalAmount
from invekto_integrations.storage.records import fold_name

__all__ = [
    "AllOf",
    "AnyOf",
    "AppointmentCount",
    "AppointmentService",
    "AudienceContext",
    "ConsentState",
    "ContactProfile",
    "Criterion",
    "Everyone",
    "LastAppointment",
    "LastOrder",
    "Niche",
    "NotCriterion",
    "OrderCount",
    "OrderTotal",
    "Platform",
    "Product",
    "Segment",
    "Tag",
    "matches",
    "parse_criteria",
]


class _Leaf(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Range(_Leaf):
    @model_validator(mode="after")
    def _ordered(self) -> _Range:
        lo, hi = getattr(self, "min", None), getattr(self, "max", None)
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"{self.__class__.__name__}: min {lo} is above max {hi}")
        if lo is None and hi is None:
            raise ValueError(f"{self.__class__.__name__}: give min, max or both")
        return self


class _Window(_Leaf):
    """A relative window ``[now - within_days, now - not_within_days)``; ``None`` = open end.

    ``within_days=90, not_within_days=30``: "last ... 90 days ago or later, but not in the last 30".
    A profile that never had one matches only ``never=True``.
    """

    within_days: int | None = Field(default=None, ge=0)
    not_within_days: int | None = Field(default=None, ge=0)
    never: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> _Window:
        if self.never and (self.within_days is not None or self.not_within_days is not None):
            raise ValueError(f"{self.__class__.__name__}: never=True takes no day bounds")
        if not self.never and self.within_days is None and self.not_within_days is None:
            raise ValueError(f"{self.__class__.__name__}: give within_days, not_within_days or never")
        if (self.within_days is not None and self.not_within_days is not None
                and self.not_within_days >= self.within_days):
            raise ValueError(f"{self.__class__.__name__}: not_within_days must be below within_days")
        return self

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """(at or after, before): the instants the last event must fall between."""
        lo = now - timedelta(days=self.within_days) if self.within_days is not None else None
        hi = now - timedelta(days=self.not_within_days) if self.not_within_days is not None else None
        return lo, hi


class Everyone(_Leaf):
    kind: Literal["everyone"] = "everyone"


class OrderCount(_Range):
    kind: Literal["order_count"] = "order_count"
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class OrderTotal(_Range):
    """Lifetime spend (order totals summed, in the tenant's currency)."""

    kind: Literal["order_total"] = "order_total"
    min: DecimalAmount | None = None
    max: DecimalAmount | None = None


class LastOrder(_Window):
    kind: Literal["last_order"] = "last_order"


class _Values(_Leaf):
    any_of: list[str] = Field(min_length=1)

    def folded(self) -> list[str]:
        return sorted({fold_value(v) for v in self.any_of})


class Platform(_Values):
    """Ordered on any of these marketplaces (provider names: trendyol, hepsiburada)."""

    kind: Literal["platform"] = "platform"


class Product(_Values):
    """Bought any of these products (name or SKU, compared after Turkish folding)."""

    kind: Literal["product"] = "product"


class Tag(_Values):
    """Carries any of these labels (from attribution's auto-tagging)."""

    kind: Literal["tag"] = "tag"


class Segment(_Values):
    kind: Literal["segment"] = "segment"


class AppointmentCount(_Range):
    kind: Literal["appointment_count"] = "appointment_count"
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class LastAppointment(_Window):
    kind: Literal["last_appointment"] = "last_appointment"


class AppointmentService(_Values):
    """Had an appointment for any of these services."""

    kind: Literal["appointment_service"] = "appointment_service"


class ConsentState(_Leaf):
    """``allowed``: İYS ONAY on record and no opt-out; ``not_opted_out``: no opt-out (İYS is
    checked again at send); ``opted_out`` / ``rejected``: for suppression lists and reports."""

    kind: Literal["consent"] = "consent"
    state: Literal["allowed", "not_opted_out", "opted_out", "rejected"]


class Niche(_Values):
    """The tenant's niche (e-commerce, dental, aesthetic): all of the tenant's contacts or none."""

    kind: Literal["niche"] = "niche"


class AllOf(_Leaf):
    kind: Literal["all"] = "all"
    items: list[Criterion] = Field(min_length=1)


class AnyOf(_Leaf):
    kind: Literal["any"] = "any"
    items: list[Criterion] = Field(min_length=1)


class NotCriterion(_Leaf):
    kind: Literal["not"] = "not"
    item: Criterion


Criterion = Annotated[
    Everyone | OrderCount | OrderTotal | LastOrder | Platform | Product | Tag | Segment | AppointmentCount
    | LastAppointment | AppointmentService | ConsentState | Niche | AllOf | AnyOf | NotCriterion,
    Field(discriminator="kind"),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotCriterion.model_rebuild()

_ADAPTER: TypeAdapter[Criterion] = TypeAdapter(Criterion)
MAX_DEPTH = 8


def parse_criteria(data: str | dict[str, object] | Criterion, *, record: str | None = None) -> Criterion:
    """A criterion from JSON text, a dict or a model; a bad tree is `InvalidArgument` naming the field."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    try:
        tree = _ADAPTER.validate_json(data) if isinstance(data, str) else _ADAPTER.validate_python(data)
    except ValueError as exc:
        field = None
        errors = getattr(exc, "errors", None)
        if callable(errors):
            first = errors()[0] if errors() else None
            if first:
                field = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidArgument(f"audience criteria: {exc}", field=field or "target_criteria", record=record) from exc
    if _depth(tree) > MAX_DEPTH:
        raise InvalidArgument(f"audience criteria nest deeper than {MAX_DEPTH}", field="target_criteria",
                              record=record)
    return tree


def criteria_json(tree: Criterion) -> str:
    return _ADAPTER.dump_json(tree).decode()


def _depth(tree: Criterion) -> int:
    if isinstance(tree, AllOf | AnyOf):
        return 1 + max(_depth(i) for i in tree.items)
    if isinstance(tree, NotCriterion):
        return 1 + _depth(tree.item)
    return 1


def fold_value(value: str) -> str:
    """How product names, tags, services and platforms are compared: Turkish-folded, trimmed."""
    return fold_name(value)


class ContactProfile(BaseModel):
    """What campaigns know about one customer of one tenant (a projection of orders,
    appointments and labels; rebuilt from the repositories, kept current from events)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    phone: str  # E.164
    name: str | None = None
    order_count: int = 0
    order_total: DecimalAmount = Decimal(0)
    currency: str = "TRY"
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    last_product: str | None = None
    appointment_count: int = 0
    last_appointment_at: datetime | None = None
    last_service: str | None = None
    platforms: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()  # folded
    tags: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    updated_at: datetime


class AudienceContext(BaseModel):
    """What a criterion is evaluated against besides the profile: the instant relative windows
    are bound to, the tenant's niche and each phone's consent facts."""

    model_config = ConfigDict(frozen=True)

    now: datetime
    niche: str | None = None
    brand_code: str | None = None  # the İYS brand whose consents count (None: any of the tenant's)


ConsentFacts = tuple[bool, bool, bool]  # (opted_out, iys_onay, iys_ret)


def matches(tree: Criterion, profile: ContactProfile, ctx: AudienceContext, consent: ConsentFacts) -> bool:
    """Evaluate ``tree`` on one profile (the memory store's evaluator; SQLite compiles instead)."""
    match tree:
        case Everyone():
            return True
        case OrderCount(min=lo, max=hi) | AppointmentCount(min=lo, max=hi):
            n = profile.order_count if isinstance(tree, OrderCount) else profile.appointment_count
            return (lo is None or n >= lo) and (hi is None or n <= hi)
        case OrderTotal(min=lo, max=hi):
            return profile.order_count > 0 and (lo is None or profile.order_total >= lo) and (
                hi is None or profile.order_total <= hi)
        case LastOrder() | LastAppointment():
            last = profile.last_order_at if isinstance(tree, LastOrder) else profile.last_appointment_at
            if tree.never:
                return last is None
            if last is None:
                return False
            lo_at, hi_at = tree.bounds(ctx.now)
            return (lo_at is None or last >= lo_at) and (hi_at is None or last < hi_at)
        case Platform():
            return bool(profile.platforms & set(tree.folded()))
        case Product():
            return bool(profile.products & set(tree.folded()))
        case Tag():
            return bool(profile.tags & set(tree.folded()))
        case Segment():
            return bool(profile.segments & set(tree.folded()))
        case AppointmentService():
            return bool(profile.services & set(tree.folded()))
        case ConsentState(state=state):
            opted_out, onay, ret = consent
            if state == "allowed":
                return onay and not ret and not opted_out
            if state == "not_opted_out":
                return not opted_out
            if state == "opted_out":
                return opted_out
            return ret
        case Niche():
            return ctx.niche is not None and fold_value(ctx.niche) in tree.folded()
        case AllOf(items=items):
            return all(matches(i, profile, ctx, consent) for i in items)
        case AnyOf(items=items):
            return any(matches(i, profile, ctx, consent) for i in items)
        case NotCriterion(item=item):
            return not matches(item, profile, ctx, consent)
    raise InvalidArgument(f"unknown criterion {tree!r}", field="target_criteria")
