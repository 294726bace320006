"""Concise reprs and notebook tables: how objects of this library show themselves.

Two rules: a ``repr`` fits on a line (a few fields, never secrets, never a whole payload), and
results people look at in a notebook (orders, shipments, reports, result lists) have a
``_repr_html_`` table. `ConciseRepr` gives a class ``<Name field=value ...>`` from the fields it
names; `html_table` draws the tables.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")

__all__ = ["ConciseRepr", "ResultList", "fields_repr", "html_table", "short"]

_MAX_TEXT = 48


def short(value: Any) -> str:
    """One value, briefly: scalars as their repr (long text cut), times to the minute, anything
    else by its type name (and its length for collections)."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return repr(value) if not isinstance(value, Decimal) else str(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") + ("Z" if value.utcoffset() is not None and
                                                  not value.utcoffset() else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 1] + "…"
        return repr(text)
    if isinstance(value, list | tuple | set | frozenset | dict):
        return f"<{type(value).__name__} of {len(value)}>"
    if type(value).__repr__ is not object.__repr__:  # type: ignore[comparison-overlap]
        own = repr(value)  # an object with its own short repr (a clock, a store) shows it
        if len(own) <= 60:
            return own
    return f"<{type(value).__name__}>"


def fields_repr(obj: object, *fields: str) -> str:
    """``<ClassName a=1 b='x'>`` of some fields of ``obj`` (for pydantic models and dataclasses,
    whose generated repr shows every field: whole JSON payloads, long timestamps)."""
    parts = " ".join(f"{name}={short(getattr(obj, name, None))}" for name in fields)
    return f"<{type(obj).__name__} {parts}>"


class ConciseRepr:
    """``<ClassName a=1 b='x'>`` from the fields a subclass names: ``class Engine(ConciseRepr,
    fields=("clock", "config.base_url"))`` (dotted paths show their last part; missing ones are skipped)."""

    __slots__ = ()
    _repr_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, fields: tuple[str, ...] | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if fields is not None:
            cls._repr_fields = fields

    def __repr__(self) -> str:
        parts = []
        for path in self._repr_fields:
            value: Any = self
            try:
                for name in path.split("."):
                    value = getattr(value, name)
            except AttributeError:  # not set (yet): left out
                continue
            parts.append(f"{path.rsplit('.', 1)[-1].lstrip('_')}={short(value)}")
        return f"<{type(self).__name__}{' ' if parts else ''}{' '.join(parts)}>"


def html_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, limit: int = 50,
               total: int | None = None) -> str:
    """A small HTML table for ``_repr_html_`` (values escaped; at most ``limit`` rows shown)."""
    shown: list[Sequence[Any]] = []
    count = 0
    for row in rows:
        count += 1
        if len(shown) < limit:
            shown.append(row)
    total = count if total is None else total
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in shown)
    more = f"<p>… {total - len(shown)} more</p>" if total > len(shown) else ""
    return (f"<div><strong>{html.escape(title)}</strong><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{more}</div>")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


class ResultList(list[T], Generic[T]):
    """A list returned by the front door: its repr names the first few items and counts the rest,
    and a notebook shows it as a table (one row per item)."""

    _SHOWN: ClassVar[int] = 5

    def __repr__(self) -> str:
        if len(self) <= self._SHOWN:
            return super().__repr__()
        head = ", ".join(repr(x) for x in self[: self._SHOWN])
        return f"[{head}, … {len(self) - self._SHOWN} more]"

    def _repr_html_(self) -> str:
        kind = type(self[0]).__name__ if self else "item"
        return html_table(f"{len(self)} × {kind}", ["#", kind], ((i, repr(x)) for i, x in enumerate(self)))
