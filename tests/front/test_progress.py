"""Progress adapters: the protocol, plain text, rich and tqdm, driven by a real order sync."""

from __future__ import annotations

import io
from datetime import timedelta

from invekto_integrations import Integrations
from invekto_integrations.progress import (
    Progress,
    ProgressUpdate,
    RecordingProgress,
    RichProgress,
    TextProgress,
    TqdmProgress,
)


def _sync_with(progress: Progress) -> None:
    with Integrations.sandbox(["trendyol"]) as client:
        seller = client.fakes.trendyol.provision_account("Moda")
        client.accounts.add("moda", "trendyol", seller.credentials, settings=seller.settings)
        now = client.clock.now()
        client.fakes.trendyol.seed_orders(seller.account_key, 30, start=now - timedelta(days=60), end=now)
        client.orders.sync("moda", progress=progress)


def test_every_adapter_is_a_progress() -> None:
    for cls in (TextProgress, RecordingProgress):
        assert isinstance(cls(), Progress)


def test_text_progress_prints_a_bar_per_step() -> None:
    out = io.StringIO()
    with TextProgress(out) as bar:
        _sync_with(bar)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[....................]") and "moda/trendyol backfill" in lines[0]
    assert lines[-1].startswith("[####################] moda/trendyol backfill  100%")
    assert "fetched 30" in lines[-1]


def test_rich_progress_draws_a_task_per_account() -> None:
    from rich.console import Console

    out = io.StringIO()
    bar = RichProgress(console=Console(file=out, force_terminal=False, width=120))
    with bar:
        _sync_with(bar)
    assert len(bar._tasks) == 1
    task = bar._progress.tasks[0]
    assert task.completed == task.total == 100.0 and "moda/trendyol" in task.description
    assert "fetched 30" in out.getvalue()


def test_tqdm_progress_draws_a_bar_per_account() -> None:
    out = io.StringIO()
    bar = TqdmProgress(file=out)
    with bar:
        _sync_with(bar)
    assert len(bar._bars) == 1
    assert "moda/trendyol backfill" in out.getvalue() and "100/100" in out.getvalue()


def test_an_update_describes_itself() -> None:
    u = ProgressUpdate("k", "t/p backfill", 45, 100, {"fetched": 3})
    assert (u.fraction, u.describe()) == (0.45, "t/p backfill   45%  fetched 3")
    assert ProgressUpdate("k", "x", 5, 0).fraction == 1.0
