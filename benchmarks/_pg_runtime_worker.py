"""One runtime process of the PostgreSQL scaling benchmark: ``python -m benchmarks._pg_runtime_worker
URL OWNER TENANTS``. A transactional engine records each ``OrderCreated`` it handles (in the
runtime's transaction) and marks the order's outbox message sent; runs until SIGTERM."""

from __future__ import annotations

import signal
import sys
from datetime import timedelta

from invekto_integrations.core.clock import SystemClock
from invekto_integrations.models.events import DomainEvent, OrderCreated
from invekto_integrations.runtime import BaseEngine, EngineContext, Runtime
from invekto_integrations.storage.postgres import PostgresStore
from invekto_integrations.storage.records import OutboxStatus


class Recorder(BaseEngine):
    name = "recorder"
    consumes = frozenset({OrderCreated.TYPE})
    transactional = True

    def __init__(self, store: PostgresStore, owner: str) -> None:
        self.store = store
        self.owner = owner
        self.clock = SystemClock()

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        assert isinstance(event, OrderCreated)
        self.store.db.execute("INSERT INTO bench_seen VALUES (%s, %s, %s)", (ctx.tenant_id, event.event_id, self.owner))
        self.store.outbox.claim(ctx.tenant_id, f"msg-{event.external_order_id}", [OutboxStatus.QUEUED],
                                OutboxStatus.SENT, self.clock.now())


def main() -> None:
    url, owner, tenants = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    store = PostgresStore(url, max_connections=3)
    runtime = Runtime(store, [Recorder(store, owner)], clock=SystemClock(), owner=owner, tenants=tenants,
                      lease_ttl=timedelta(seconds=5), batch=100)
    signal.signal(signal.SIGTERM, lambda *_: runtime.stop())
    runtime.run_forever(idle=0.02)
    store.close()


if __name__ == "__main__":
    main()
