"""Page iterators, sync and async, that stream: one page in memory at a time.

A provider's list call returns a `Page[T]`: the items and the `Call` for the next page (or
``None``). One class serves every paging scheme (page/size, offset/limit, cursor); what differs is
how each provider builds ``next_call``, which lives with that provider's endpoint description.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .http import Call

__all__ = ["Page", "aiter_items", "aiter_pages", "iter_items", "iter_pages"]

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of results and how to get the next one."""

    items: list[T]
    next_call: Call[Page[T]] | None = None
    total: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def has_next_page(self) -> bool:
        return self.next_call is not None


def iter_pages(run: Callable[[Call[Page[T]]], Page[T]], first: Call[Page[T]]) -> Iterator[Page[T]]:
    call: Call[Page[T]] | None = first
    while call is not None:
        page = run(call)
        yield page
        call = page.next_call


def iter_items(run: Callable[[Call[Page[T]]], Page[T]], first: Call[Page[T]]) -> Iterator[T]:
    for page in iter_pages(run, first):
        yield from page.items


async def aiter_pages(
    run: Callable[[Call[Page[T]]], Awaitable[Page[T]]], first: Call[Page[T]]
) -> AsyncIterator[Page[T]]:
    call: Call[Page[T]] | None = first
    while call is not None:
        page = await run(call)
        yield page
        call = page.next_call


async def aiter_items(
    run: Callable[[Call[Page[T]]], Awaitable[Page[T]]], first: Call[Page[T]]
) -> AsyncIterator[T]:
    async for page in aiter_pages(run, first):
        for item in page.items:
            yield item
