"""What the marketplace connectors share: sans-IO plans, date windows and phone reading.

A listing that needs several requests (split a range into windows, narrow a window that holds
too many rows, enrich a thin record) is written once as a *plan*: a generator that yields
`Fetch(call)` when it needs an answer and anything else as an output item. `drive` runs a plan
on a sync runner, `adrive` on an async one, so `TrendyolClient` and `AsyncTrendyolClient` share
the orchestration as well as the endpoint descriptions. An error raised by the runner is thrown
back into the plan, which may handle it (e.g. a `NotFound` while enriching one record).

A plan that has several independent lookups to make (enrich each thin record of a feed) yields
`Gather(sub_plans)`: each sub-plan yields only `Fetch` (or `Gather`) and *returns* its result,
and the plan receives the list of results in the sub-plans' order. `drive` runs them one after
another; `adrive(..., concurrency=n)` runs up to ``n`` at once (each request still takes its
token from the account's bucket, so the rate limit holds). A sub-plan handles its own per-record
errors; one it does not handle cancels the others and is thrown into the plan at the ``Gather``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import pydantic

from invekto_integrations.core.errors import InvalidArgument, NotFound, PayloadError, ProviderError
from invekto_integrations.core.http import Call
from invekto_integrations.core.paging import Page
from invekto_integrations.core.phone import is_masked, normalize_phone
from invekto_integrations.models.orders import PhoneState

from ._common import check_identifier

__all__ = [
    "Fetch",
    "Gather",
    "Plan",
    "SubPlan",
    "adrive",
    "all_pages",
    "check_identifier",
    "check_window",
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
"""A generator yielding `Fetch` / `Gather` (answered through ``send``) or output items."""

SubPlan = Generator[Any, Any, Any]
"""A generator yielding only `Fetch` / `Gather` and returning one result (``return value``)."""


@dataclass(frozen=True)
class Gather:
    """A plan's request for the results of independent sub-plans, as a list in their order."""

    plans: Sequence[SubPlan]


_Outcome = tuple[Any, Exception | None]  # what a step answered: a value, or the error to throw back


def _resume(plan: SubPlan, outcome: _Outcome) -> Any:
    value, error = outcome
    return plan.throw(error) if error is not None else plan.send(value)


def _loop(plan: SubPlan, answer: Callable[[Fetch[Any] | Gather], _Outcome]) -> Generator[Any, None, Any]:
    """Run ``plan``, answering its steps with ``answer``; yields its output items, returns its result."""
    outcome: _Outcome = (None, None)
    while True:
        try:
            step = _resume(plan, outcome)
        except StopIteration as stop:
            return stop.value
        if isinstance(step, Fetch | Gather):
            outcome = answer(step)
        else:
            outcome = (None, None)
            yield step


def _only_steps(item: Any) -> TypeError:
    return TypeError(f"a gathered sub-plan yields only Fetch or Gather, not {type(item).__name__}")


def drive(plan: Plan, run: Callable[[Call[Any]], Any]) -> Iterator[Any]:
    """Run ``plan`` with a sync runner, yielding its output items (gathered sub-plans one by one)."""

    def finish(sub: SubPlan) -> Any:
        steps = _loop(sub, answer)
        try:
            item = next(steps)
        except StopIteration as stop:
            return stop.value
        raise _only_steps(item)

    def answer(step: Fetch[Any] | Gather) -> _Outcome:
        try:
            if isinstance(step, Fetch):
                return run(step.call), None
            return [finish(sub) for sub in step.plans], None
        except Exception as exc:
            return None, exc

    yield from _loop(plan, answer)


async def adrive(plan: Plan, run: Callable[[Call[Any]], Awaitable[Any]], *,
                 concurrency: int = 1) -> AsyncIterator[Any]:
    """Run ``plan`` with an async runner, yielding its output items; the sub-plans of a `Gather`
    run up to ``concurrency`` at a time."""
    if concurrency < 1:
        raise InvalidArgument(f"concurrency must be at least 1, got {concurrency}", field="concurrency")
    async for item in _aloop(plan, run, concurrency, []):
        yield item


async def _aloop(plan: SubPlan, run: Callable[[Call[Any]], Awaitable[Any]], concurrency: int,
                 result: list[Any]) -> AsyncIterator[Any]:
    """`_loop` for an async runner (an async generator cannot return: the result goes in ``result``)."""
    outcome: _Outcome = (None, None)
    while True:
        try:
            step = _resume(plan, outcome)
        except StopIteration as stop:
            result.append(stop.value)
            return
        if isinstance(step, Fetch | Gather):
            outcome = await _aanswer(step, run, concurrency)
        else:
            outcome = (None, None)
            yield step


async def _aanswer(step: Fetch[Any] | Gather, run: Callable[[Call[Any]], Awaitable[Any]],
                   concurrency: int) -> _Outcome:
    try:
        if isinstance(step, Fetch):
            return await run(step.call), None
        return await _agather(step.plans, run, concurrency), None
    except Exception as exc:
        return None, exc


async def _agather(plans: Sequence[SubPlan], run: Callable[[Call[Any]], Awaitable[Any]],
                   concurrency: int) -> list[Any]:
    """Each sub-plan's result, in order, running at most ``concurrency`` of them at a time."""
    results: list[Any] = [None] * len(plans)
    queue = iter(enumerate(plans))  # shared: each worker takes the next sub-plan when it is free

    async def finish(sub: SubPlan) -> Any:
        box: list[Any] = []
        async for item in _aloop(sub, run, concurrency, box):
            raise _only_steps(item)
        return box[0]

    async def worker() -> None:
        for index, sub in queue:
            results[index] = await finish(sub)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(plans)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return results


def all_pages(first: Call[Page[T]]) -> Generator[Any, Any, list[T]]:
    """A sub-plan: the items of every page from ``first`` on (for `Gather`ing independent listings)."""
    items: list[T] = []
    call: Call[Page[T]] | None = first
    while call is not None:
        page: Page[T] = yield Fetch(call)
        items.extend(page.items)
        call = page.next_call
    return items


def split_windows(since: datetime, until: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    """Half-open windows ``[a, b)`` of at most ``span`` covering ``[since, until)``, in order."""
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidArgument("naive datetime: give timezone-aware bounds",
                              field="since" if since.tzinfo is None else "until")
    if span <= timedelta(0):
        raise InvalidArgument("span must be positive", field="span")
    windows: list[tuple[datetime, datetime]] = []
    start = since
    while start < until:
        end = min(start + span, until)
        windows.append((start, end))
        start = end
    return windows


def to_epoch_ms(when: datetime) -> int:
    if when.tzinfo is None:
        raise InvalidArgument("naive datetime: give a timezone-aware value")
    return int(when.timestamp() * 1000)


def check_window(provider: str, since: datetime, until: datetime, *, since_field: str = "since",
                 until_field: str = "until") -> tuple[datetime, datetime]:
    """``(since, until)`` in UTC, or `InvalidArgument` naming the provider and the field: a naive
    bound has no meaning, and ``until`` before ``since`` is a caller's mistake (an empty answer
    would hide it). ``since == until`` is an empty window, allowed."""
    for name, value in ((since_field, since), (until_field, until)):
        if not isinstance(value, datetime):
            raise InvalidArgument(f"expected a datetime, got {type(value).__name__}", provider=provider, field=name)
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidArgument(f"naive datetime {value.isoformat()}: give a timezone-aware value",
                                  provider=provider, field=name)
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    if until < since:
        raise InvalidArgument(f"{until_field} {until.isoformat()} is before {since_field} {since.isoformat()}",
                              provider=provider, field=until_field)
    return since, until


def from_epoch_ms(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime; `ValueError` (never OverflowError/OSError) when
    the value is beyond any date (``10**20``), so a parser quarantines the record."""
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"epoch milliseconds {str(ms)[:24]} are out of range") from exc


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
