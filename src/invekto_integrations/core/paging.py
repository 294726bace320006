"""Page iterators, sync and async, that stream: one page in memory at a time.

A provider's list call returns a `Page[T]`: the items and the `Call` for the next page (or
``None``). One class serves every paging scheme (page/size, offset/limit, cursor); what differs is
how each provider builds ``next_call``, which lives with that provider's endpoint description.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import ConfigurationError
from .http import Call
from .reprs import html_table

__all__ = ["Page", "aiter_items", "aiter_pages", "iter_items", "iter_pages"]

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of results and how to get the next one.

    A page returned by a client knows the runner that fetched it: ``page.get_next_page()`` (or
    ``await page.aget_next_page()``) fetches the next one, ``iter_pages()`` walks the rest, and
    iterating a page yields its items and then every later page's (openai's auto-paging)."""

    items: list[T]
    next_call: Call[Page[T]] | None = None
    total: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    fetch: Callable[[Call[Page[T]]], Page[T]] | None = field(default=None, repr=False, compare=False)
    afetch: Callable[[Call[Page[T]]], Awaitable[Page[T]]] | None = field(default=None, repr=False, compare=False)

    @property
    def has_next_page(self) -> bool:
        return self.next_call is not None

    def get_next_page(self) -> Page[T]:
        """The next page (`ConfigurationError` on the last page or a page not fetched by a sync client)."""
        if self.next_call is None:
            raise ConfigurationError("this is the last page (check has_next_page)")
        if self.fetch is None:
            raise ConfigurationError("this page was not fetched by a sync client: use aget_next_page()")
        return self.fetch(self.next_call)

    async def aget_next_page(self) -> Page[T]:
        """The next page, fetched by the async client that fetched this one."""
        if self.next_call is None:
            raise ConfigurationError("this is the last page (check has_next_page)")
        if self.afetch is None:
            raise ConfigurationError("this page was not fetched by an async client: use get_next_page()")
        return await self.afetch(self.next_call)

    def iter_pages(self) -> Iterator[Page[T]]:
        """This page and every later one, fetched one at a time."""
        page: Page[T] = self
        yield page
        while page.has_next_page:
            page = page.get_next_page()
            yield page

    async def aiter_pages(self) -> AsyncIterator[Page[T]]:
        page: Page[T] = self
        yield page
        while page.has_next_page:
            page = await page.aget_next_page()
            yield page

    def __iter__(self) -> Iterator[T]:
        """Every item of this page, then of the later pages (fetched as the loop reaches them)."""
        for page in self.iter_pages():
            yield from page.items

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.aiter_pages():
            for item in page.items:
                yield item

    def __len__(self) -> int:
        """The items on this page (``total`` is the provider's count over all pages, when it sends one)."""
        return len(self.items)

    def __repr__(self) -> str:
        total = f" total={self.total}" if self.total is not None else ""
        return f"<Page items={len(self.items)}{total} has_next_page={self.has_next_page}>"

    def _repr_html_(self) -> str:
        return html_table(repr(self), ["#", "item"], ((i, repr(item)) for i, item in enumerate(self.items)))


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
