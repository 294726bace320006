"""Recurring attribution work on the runtime: the daily Insights re-pull of a rolling window
(late attribution changes spend for about 28 days) and the Conversions API sender.

Both are timer-only engines; their effects are idempotent (spend is upserted per object and day,
events are sent once per event id), so a timer occurrence fired twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from invekto_integrations.providers.base import AdsInsightsSource
from invekto_integrations.runtime import BaseEngine, EngineContext, Schedule, Timer

from ._store import AttributionStore
from .capi import ConversionsSender
from .spend import pull_insights, rolling_window

__all__ = ["ConversionsSendEngine", "SpendPullEngine"]

InsightsConnection = tuple[AdsInsightsSource, str]
"""An Insights source and the ad account id to pull."""


class SpendPullEngine(BaseEngine):
    """Pulls each connected tenant's daily spend for the last ``window_days`` (tenant's days) at
    ``cron`` (tenant's timezone). ``connection(tenant_id)`` is ``None`` for a tenant without an ad
    account: it gets no timer."""

    name = "attribution.spend"

    def __init__(self, store: AttributionStore, connection: Callable[[str], InsightsConnection | None], *,
                 cron: str = "30 6 * * *", window_days: int = 28) -> None:
        self.store = store
        self.connection = connection
        self.cron = cron
        self.window_days = window_days

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [Schedule("insights-rolling", cron=self.cron)] if self.connection(ctx.tenant_id) else []

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        conn = self.connection(ctx.tenant_id)
        if conn is None:
            return
        source, account = conn
        today = ctx.now().astimezone(ctx.timezone).date()
        pull_insights(source, self.store.ad_spend, ctx.tenant_id, account,
                      *rolling_window(today, self.window_days), clock=ctx.clock)


class ConversionsSendEngine(BaseEngine):
    """Runs the tenant's `ConversionsSender` at ``cron`` (default every 15 minutes);
    ``sender(tenant_id)`` is ``None`` for a tenant that did not connect a dataset."""

    name = "attribution.capi"

    def __init__(self, sender: Callable[[str], ConversionsSender | None], *, cron: str = "*/15 * * * *") -> None:
        self.sender = sender
        self.cron = cron

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [Schedule("capi-send", cron=self.cron)] if self.sender(ctx.tenant_id) else []

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        sender = self.sender(ctx.tenant_id)
        if sender is not None:
            sender.run(ctx.tenant_id)
