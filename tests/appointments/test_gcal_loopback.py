"""The calendar flow over real sockets: the sandbox on uvicorn, tokens and API calls over TCP, and the
fake's push notifications POSTed over TCP to a receiver mounted in the same server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.storage.sqlite_calendar import SQLiteCalendarSync
from invekto_integrations.sync.calendar import CalendarSync
from invekto_integrations.testing.sandbox import FakeProvider, Sandbox
from invekto_integrations.testing.sandbox.fakes.google_calendar import GoogleCalendarFake

from .gcal_fixtures import ACCOUNT, AYSE, START, ist, sync_client


class Receiver(FakeProvider):
    """Our push endpoint: records what arrives and answers 200 at once."""

    name: ClassVar[str] = "receiver"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.received: list[dict[str, str]] = []

    def authenticate(self, request: Request) -> str:
        return "hooks"

    def routes(self) -> list[BaseRoute]:
        async def hook(request: Request) -> Response:
            self.received.append(dict(request.headers))
            return Response(status_code=200)

        return [Route("/gcal/t1", hook, methods=["POST"])]


@pytest.mark.loopback
def test_calendar_sync_over_loopback(tmp_path: Path) -> None:
    from .conftest import Clinic, make_doctor

    store = SQLiteStore(tmp_path / "clinic.sqlite3")
    clinic = Clinic(store, now=START)
    clock: FrozenClock = clinic.clock
    store.doctors.save("t1", make_doctor(doctor_id="d1", name="Dr. Ayşe", calendar_id=AYSE))
    fake = GoogleCalendarFake(clock=clock, allow_http_addresses=True)
    receiver = Receiver(clock=clock)
    with Sandbox([fake, receiver], clock=clock) as sb:
        client = sync_client(sb, clock, loopback=True)
        sync = CalendarSync(clinic.book, store.doctors, SQLiteCalendarSync(store.db), {"t1": client}, clock=clock)
        sync.connect_doctor("t1", "d1")
        appt = clinic.book.book("t1", doctor_id="d1", service_name="Muayene", starts_at=ist(2, 10),
                                patient_phone="+905321111110")
        assert [r.action for r in sync.push_pending("t1")] == ["inserted"]
        sync.sync_calendar("t1", AYSE)
        sync.watch_calendar("t1", AYSE, f"{sb.url('receiver')}/gcal/t1")
        event_id = str(clinic.book.get("t1", appt.id).calendar_event_id)
        fake.human_move(ACCOUNT, AYSE, event_id, ist(2, 11), ist(2, 11, 30))
        deliveries = fake.webhooks.drain()
        assert [d.status for d in deliveries] == [200, 200]
        actions = [sync.handle_notification("t1", h).action for h in receiver.received]
        assert actions == ["sync_ack", "queued"]
        [report] = sync.run_queued()
        assert report.moved == 1
        assert clinic.book.get("t1", appt.id).starts_at == ist(2, 11)
        assert fake.requests_to("/token", "POST")[0].headers["host"].startswith("127.0.0.1")
        client.close()
    store.close()
