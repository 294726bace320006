"""A world of engines over one PostgreSQL database, set up by the test and run by each runtime
process (``python pg_proc_world.py CONFIG OWNER``).

Three tenants, each with a backlog of ``OrderCreated`` events. A transactional probe engine, on
each event: records it, queues an order-confirmation message in the outbox (idempotency key per
order) and schedules a delayed timer (1 s after the order); on that timer: records the occurrence
and sends the message (an outbox claim queued -> sent, recorded as a send). A recurring timer beats
every second. Everything a handler writes commits with the runtime's cursor move or timer firing,
so the probe tables say exactly what was done, and how often.
"""

from __future__ import annotations

import faulthandler
import json
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from invekto_integrations.core.clock import SystemClock
from invekto_integrations.events import EventBus
from invekto_integrations.models.events import DomainEvent, OrderCreated
from invekto_integrations.runtime import BaseEngine, EngineContext, Runtime, Schedule, Timer
from invekto_integrations.storage.postgres import PostgresStore
from invekto_integrations.storage.records import OutboxRecord, OutboxStatus

TENANTS = ("t1", "t2", "t3")


def setup(url: str, orders_per_tenant: int) -> None:
    store = PostgresStore(url)
    try:
        store.db.execute("CREATE TABLE IF NOT EXISTS probe_seen (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, "
                         "key TEXT NOT NULL, owner TEXT NOT NULL)")
        clock = SystemClock()
        bus = EventBus(store.events, clock)
        now = clock.now()
        for tenant in TENANTS:
            bus.publish(tenant, [
                OrderCreated(tenant_id=tenant, occurred_at=now, provider="alpha", account_id="acc",
                             external_order_id=f"o{n}", order_status="Created", dedupe_key=f"created:{tenant}:{n}")
                for n in range(orders_per_tenant)
            ])
    finally:
        store.close()


class Probe(BaseEngine):
    name = "probe"
    consumes = frozenset({OrderCreated.TYPE})
    transactional = True

    def __init__(self, store: PostgresStore, owner: str) -> None:
        self.store = store
        self.owner = owner
        self.clock = SystemClock()

    def _seen(self, tenant: str, kind: str, key: str) -> None:
        self.store.db.execute("INSERT INTO probe_seen VALUES (%s, %s, %s, %s)", (tenant, kind, key, self.owner))

    def handle(self, ctx: EngineContext, event: DomainEvent) -> None:
        assert isinstance(event, OrderCreated)
        self._seen(ctx.tenant_id, "event", event.event_id)
        now = self.clock.now()
        self.store.outbox.insert_if_absent(ctx.tenant_id, OutboxRecord(
            id=f"msg-{event.event_id}", tenant_id=ctx.tenant_id, idempotency_key=f"confirm:{event.external_order_id}",
            purpose="order_confirmation", category="utility", to_phone="+905321234567", message_json="{}",
            status=OutboxStatus.QUEUED, due_at=now, created_at=now, updated_at=now))
        ctx.schedule_after(event, timedelta(seconds=1), key="delayed", payload={"order": event.external_order_id})

    def on_timer(self, ctx: EngineContext, timer: Timer) -> None:
        self._seen(ctx.tenant_id, "timer", timer.occurrence)
        if timer.key.startswith("delayed:"):
            record = self.store.outbox.get_by_key(ctx.tenant_id, f"confirm:{timer.payload['order']}")
            assert record is not None
            if self.store.outbox.claim(ctx.tenant_id, record.id, [OutboxStatus.QUEUED], OutboxStatus.SENT,
                                       self.clock.now()):
                self._seen(ctx.tenant_id, "send", record.idempotency_key)

    def schedules(self, ctx: EngineContext) -> Sequence[Schedule]:
        return [Schedule("beat", cron="* * * * * *")]  # every second


def build(url: str, owner: str) -> tuple[PostgresStore, Runtime]:
    store = PostgresStore(url, max_connections=4)
    runtime = Runtime(store, [Probe(store, owner)], clock=SystemClock(), owner=owner, tenants=TENANTS,
                      lease_ttl=timedelta(seconds=2), retry_backoff=timedelta(seconds=1))
    return store, runtime


def probe_rows(store: PostgresStore) -> list[tuple[str, str, str, str]]:
    return [(r["tenant_id"], r["kind"], r["key"], r["owner"])
            for r in store.db.fetchall("SELECT tenant_id, kind, key, owner FROM probe_seen")]


def done(store: PostgresStore, orders_per_tenant: int, *, beats: int = 3) -> bool:
    rows = probe_rows(store)
    for tenant in TENANTS:
        mine = [(kind, key) for t, kind, key, _ in rows if t == tenant]
        if sum(1 for kind, _ in mine if kind == "event") < orders_per_tenant:
            return False
        if sum(1 for kind, _ in mine if kind == "send") < orders_per_tenant:
            return False
        if sum(1 for kind, key in mine if kind == "timer" and key.startswith("beat@")) < beats:
            return False
    return True


def main() -> None:
    config: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
    owner = sys.argv[2]
    store, runtime = build(config["url"], owner)
    signal.signal(signal.SIGTERM, lambda *_: runtime.stop())
    faulthandler.register(signal.SIGUSR1)
    print(f"{owner} running", flush=True)
    runtime.run_forever(idle=0.05)
    store.close()
    print(f"{owner} stopped", flush=True)


if __name__ == "__main__":
    main()
