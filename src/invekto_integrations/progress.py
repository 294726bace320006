"""Progress reporting: one small protocol, and ready adapters for plain text, rich and tqdm.

Engines report what they do as `ProgressUpdate`s (one bar per ``key``, e.g. per account); a
`Progress` shows them. `RichProgress` and `TqdmProgress` need the optional extras
(``pip install 'invekto-integrations[progress]'``); `TextProgress` needs nothing::

    with RichProgress() as bar:
        client.orders.sync(progress=bar)

Every adapter is also a context manager that closes its display on exit. The order sync's own
callback type (`SyncProgress` records) is adapted by `order_sync_callback`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self, TextIO, runtime_checkable

if TYPE_CHECKING:
    from invekto_integrations.sync.orders import ProgressCallback, SyncProgress

__all__ = [
    "Progress",
    "ProgressUpdate",
    "RecordingProgress",
    "RichProgress",
    "TextProgress",
    "TqdmProgress",
    "order_sync_callback",
    "order_sync_update",
]


@dataclass(frozen=True)
class ProgressUpdate:
    """Where one unit of work is: ``completed`` of ``total`` (same unit), with counters to show."""

    key: str  # one bar per key (an account id, a tenant ...)
    label: str  # what a person reads: "moda/trendyol backfill"
    completed: float
    total: float
    counts: Mapping[str, int] = field(default_factory=dict)
    done: bool = False

    @property
    def fraction(self) -> float:
        if self.done or self.total <= 0:
            return 1.0
        return max(0.0, min(1.0, self.completed / self.total))

    def describe(self) -> str:
        """``label  45%  fetched 120, new 118`` (counts with a value only)."""
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"{self.label}  {self.fraction:4.0%}" + (f"  {counts}" if counts else "")


@runtime_checkable
class Progress(Protocol):
    """What shows progress: told every update, closed once at the end."""

    def update(self, update: ProgressUpdate) -> None: ...

    def close(self) -> None: ...


def order_sync_update(p: SyncProgress) -> ProgressUpdate:
    """An order-sync progress record as a `ProgressUpdate` (percent of the account's window)."""
    return ProgressUpdate(
        key=p.account_id, label=f"{p.tenant_id}/{p.provider} {p.mode.value}", completed=round(p.fraction * 100, 1),
        total=100.0, counts={"fetched": p.fetched, "new": p.inserted, "changed": p.updated,
                             "quarantined": p.quarantined},
        done=p.done,
    )


def order_sync_callback(progress: Progress) -> ProgressCallback:
    """The order sync's callback that forwards every record to ``progress``."""

    def callback(p: SyncProgress) -> None:
        progress.update(order_sync_update(p))

    return callback


class _Closing:
    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingProgress(_Closing):
    """Keeps every update (tests, notebooks that draw their own chart)."""

    def __init__(self) -> None:
        self.updates: list[ProgressUpdate] = []
        self.closed = False

    def update(self, update: ProgressUpdate) -> None:
        self.updates.append(update)

    def close(self) -> None:
        self.closed = True

    def last(self, key: str) -> ProgressUpdate | None:
        return next((u for u in reversed(self.updates) if u.key == key), None)

    def __repr__(self) -> str:
        return f"<RecordingProgress updates={len(self.updates)} keys={len({u.key for u in self.updates})}>"


class TextProgress(_Closing):
    """Plain lines: one per key at the start, at each ``step`` of progress and when done."""

    def __init__(self, out: TextIO | None = None, *, step: float = 0.25) -> None:
        self.out = out or sys.stderr
        self.step = step
        self._shown: dict[str, float] = {}

    def update(self, update: ProgressUpdate) -> None:
        mark = 1.0 if update.done else int(update.fraction / self.step) * self.step
        if self._shown.get(update.key, -1.0) >= mark:
            return
        self._shown[update.key] = mark
        filled = int(update.fraction * 20)
        self.out.write(f"[{'#' * filled}{'.' * (20 - filled)}] {update.describe()}\n")

    def close(self) -> None:
        self.out.flush()

    def __repr__(self) -> str:
        return f"<TextProgress bars={len(self._shown)}>"


class RichProgress(_Closing):
    """A `rich.progress.Progress` with one task per key (``pip install 'invekto-integrations[progress]'``)."""

    def __init__(self, *, console: Any = None, transient: bool = False) -> None:
        try:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
        except ImportError as exc:  # pragma: no cover - the extra is in dev
            raise ImportError("RichProgress needs rich: pip install 'invekto-integrations[progress]'") from exc
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                  TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                  console=console, transient=transient)
        self._tasks: dict[str, Any] = {}
        self._progress.start()

    def update(self, update: ProgressUpdate) -> None:
        counts = ", ".join(f"{k} {v}" for k, v in update.counts.items())
        task = self._tasks.get(update.key)
        if task is None:
            task = self._progress.add_task(update.label, total=update.total, counts=counts)
            self._tasks[update.key] = task
        completed = update.total if update.done else update.completed
        self._progress.update(task, description=update.label, completed=completed, total=update.total,
                              counts=counts)

    def close(self) -> None:
        self._progress.stop()

    def __repr__(self) -> str:
        return f"<RichProgress tasks={len(self._tasks)}>"


class TqdmProgress(_Closing):
    """One `tqdm` bar per key (``pip install 'invekto-integrations[progress]'``)."""

    def __init__(self, *, file: TextIO | None = None, leave: bool = True) -> None:
        try:
            import tqdm
        except ImportError as exc:  # pragma: no cover - the extra is in dev
            raise ImportError("TqdmProgress needs tqdm: pip install 'invekto-integrations[progress]'") from exc
        self._tqdm = tqdm.tqdm
        self._file = file
        self._leave = leave
        self._bars: dict[str, Any] = {}

    def update(self, update: ProgressUpdate) -> None:
        bar = self._bars.get(update.key)
        if bar is None:
            bar = self._tqdm(total=round(update.total), desc=update.label, position=len(self._bars),
                             file=self._file, leave=self._leave,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} {postfix}")
            self._bars[update.key] = bar
        bar.set_description(update.label, refresh=False)
        bar.set_postfix(update.counts, refresh=False)
        bar.n = round(update.total if update.done else update.completed)
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()

    def __repr__(self) -> str:
        return f"<TqdmProgress bars={len(self._bars)}>"
