"""`AsyncCalendarSync` under concurrency on one event loop: concurrent pushes of the same
appointments insert each event once, concurrent pulls apply a move once (per-calendar
`asyncio.Lock`s; the flows are the sync engine's). The functional scenarios run on both engines
in test_gcal_e2e.py / test_gcal_manual.py / test_gcal_recurring.py."""

from __future__ import annotations

import asyncio

from invekto_integrations.storage import MemoryStore
from invekto_integrations.sync.calendar import AsyncCalendarSync

from .gcal_fixtures import ACCOUNT, AYSE, GcalClinic, ist


def test_concurrent_async_pushes_and_pulls_apply_once() -> None:
    gc = GcalClinic(MemoryStore(), engine="async")
    try:
        assert gc.runner is not None
        engine: AsyncCalendarSync = gc.sync.engine
        appts = [gc.book_at(ist(2, h)) for h in (9, 10, 11)]

        async def pushes() -> list[str]:
            results = await asyncio.gather(*(engine.push_appointment("t1", a.id) for _ in range(4) for a in appts))
            return [r.action for r in results]

        actions = gc.runner.run(pushes())
        assert sorted(actions) == ["inserted"] * 3 + ["up_to_date"] * 9
        assert len(gc.live_events()) == 3 and gc.posts() == 3

        gc.runner.run(engine.sync_calendar("t1", AYSE))
        event_id = str(gc.book.get("t1", appts[0].id).calendar_event_id)
        gc.fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 15), ist(2, 15, 30))

        async def pulls() -> int:
            reports = await asyncio.gather(*(engine.sync_calendar("t1", AYSE) for _ in range(3)))
            return sum(r.moved for r in reports)

        assert gc.runner.run(pulls()) == 1
        assert len(gc.store.events.read("t1", types=["appointment.moved"])) == 1
    finally:
        gc.close()
