"""Checked by ``mypy --strict`` in ``make test`` (not collected by pytest): both built-in stores fit
`RuntimeStore`, and engines written as users write them fit `Engine`."""

from __future__ import annotations

from collections.abc import Sequence

from invekto_integrations.models.events import DomainEvent
from invekto_integrations.runtime import (
    AsyncRuntime,
    BaseEngine,
    Engine,
    EngineContext,
    EngineStatus,
    Runtime,
    RuntimeStore,
    Schedule,
    Timer,
)
from invekto_integrations.storage import MemoryStore, SQLiteStore


class Plain:
    """An engine without the base class: the protocol is enough."""

    name = "plain"
    consumes = frozenset({"order.created"})
    transactional = False

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        ctx.publish()

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        ctx.schedule(f"again:{timer.occurrence}", timer.due_at)

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [Schedule("daily", cron="0 10 * * *")]


class Async(BaseEngine):
    name = "async"

    async def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        return None


def hosts() -> list[EngineStatus]:
    engines: list[Engine] = [Plain(), Async()]
    stores: list[RuntimeStore] = [SQLiteStore(":memory:"), MemoryStore()]
    sync = Runtime(SQLiteStore(":memory:"), engines)
    also = AsyncRuntime(MemoryStore(), engines)
    return sync.status() + also.status() + [s for store in stores for s in Runtime(store, engines).status()]
