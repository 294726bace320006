"""The send pipeline's dispatcher as a runtime engine: a message held for quiet hours goes out when
the runtime's dispatch timer fires at or after 09:00, once."""

from __future__ import annotations

from datetime import UTC, datetime

from invekto_integrations.runtime import Runtime
from invekto_integrations.runtime.engines import OutboxDispatchEngine

from .conftest import Harness
from .test_pipeline import cargo, posts


def test_held_message_is_dispatched_by_the_runtime_at_nine(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 11, 24, 19, 30, tzinfo=UTC))  # 22:30 in Istanbul
    assert harness.pipeline.submit(cargo()).status == "scheduled"
    rt = Runtime(harness.store, [OutboxDispatchEngine(harness.pipeline)], clock=harness.clock,
                 bus=harness.pipeline.events, tenants=["t1"])
    rt.run_once()
    harness.clock.set(datetime(2026, 11, 25, 5, 59, 30, tzinfo=UTC))
    rt.run_once()
    assert posts(harness) == 0
    harness.clock.set(datetime(2026, 11, 25, 6, 0, 30, tzinfo=UTC))
    report = rt.run_once()
    assert report.fired == 1 and posts(harness) == 1
    harness.clock.set(datetime(2026, 11, 25, 6, 5, tzinfo=UTC))
    rt.run_once()
    assert posts(harness) == 1
    [status] = rt.status()
    assert status.engine == "messaging.dispatcher" and status.last_error is None
    assert status.next_timer_at == datetime(2026, 11, 25, 6, 6, tzinfo=UTC)
