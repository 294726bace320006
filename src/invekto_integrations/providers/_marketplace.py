"""What the marketplace connectors share: sans-IO plans, date windows and phone reading.

A listing that needs several requests (split a range into windows, narrow a window that holds
too many rows, enrich a thin record) is written once as a *plan*: a generator that yields
`Fetch(call)` when it needs an answer and anything else as an output item. `drive` runs a plan
on a sync runner, `adrive` on an async one, so `TrendyolClient` and `AsyncTrendyolClient` share
the orchestration as well as the endpoint descriptions. An error raised by the runner is thrown
back into the plan, which may handle it (e.g. a `NotFound` while enriching one record).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import pydantic

from invekto_integrations.core.errors import NotFound, PayloadError, ProviderError
from invekto_integrations.core.http import Call
from invekto_integrations.core.phone import is_masked, normalize_phone
from invekto_integrations.models.orders import PhoneState

__all__ = [
    "Fetch",
    "Plan",
    "adrive",
    "drive",
    "from_epoch_ms",
    "order_not_found",
    "payload_error",
    "read_phone",
    "split_windows",
    "to_epoch_ms",
]

T = TypeVar("T")
Y = TypeVar("Y")


@dataclass(frozen=True)
class Fetch(Generic[T]):
    """A plan's request for the parsed answer of one call."""

    call: Call[T]


Plan = Generator[Any, Any, None]
"""A generator yielding `Fetch` (answered through ``send``) or output items."""


def drive(plan: Plan, run: Callable[[Call[Any]], Any]) -> Iterator[Any]:
    """Run ``plan`` with a sync runner, yielding its output items."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration:
            return
        value, error = None, None
        if isinstance(step, Fetch):
            try:
                value = run(step.call)
            except Exception as exc:
                error = exc
        else:
            yield step


async def adrive(plan: Plan, run: Callable[[Call[Any]], Awaitable[Any]]) -> AsyncIterator[Any]:
    """Run ``plan`` with an async runner, yielding its output items."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration:
            return
        value, error = None, None
        if isinstance(step, Fetch):
            try:
                value = await run(step.call)
            except Exception as exc:
                error = exc
        else:
            yield step


def split_windows(since: datetime, until: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    """Half-open windows ``[a, b)`` of at most ``span`` covering ``[since, until)``, in order."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("naive datetime: give timezone-aware bounds")
    if span <= timedelta(0):
        raise ValueError("span must be positive")
    windows: list[tuple[datetime, datetime]] = []
    start = since
    while start < until:
        end = min(start + span, until)
        windows.append((start, end))
        start = end
    return windows


def to_epoch_ms(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware value")
    return int(when.timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def read_phone(raw: str | None, region: str = "TR") -> tuple[str | None, PhoneState]:
    """A provider's phone field as ``(E.164 or None, state)``: never invents a number."""
    if raw is None or not str(raw).strip():
        return None, PhoneState.ABSENT
    text = str(raw)
    if is_masked(text):
        return None, PhoneState.MASKED
    try:
        return normalize_phone(text, region), PhoneState.PRESENT
    except ValueError:
        return None, PhoneState.INVALID


def payload_error(provider: str, exc: Exception, record: str | None, operation: str) -> PayloadError:
    """A `PayloadError` naming the first invalid field of a pydantic error (or the message)."""
    field: str | None = None
    message = str(exc)
    if isinstance(exc, pydantic.ValidationError) and exc.errors():
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        message = first["msg"]
    elif isinstance(exc, PayloadError):
        field, message = exc.field, exc.message
    return PayloadError(message, provider=provider, field=field, record=record, operation=operation)


def order_not_found(provider: str, order_number: str, cause: ProviderError | None = None) -> NotFound:
    """`Marketplace.get_order`'s answer to an unknown order number: a `NotFound` naming the provider
    and the order (with the provider's own status, code and request id when it answered an error)."""
    detail = f": {cause.message}" if cause is not None and cause.message else ""
    return NotFound(f"order {order_number} not found{detail}", provider=provider, operation="get_order",
                    status=cause.status if cause else None, code=cause.code if cause else None,
                    request_id=cause.request_id if cause else None)
