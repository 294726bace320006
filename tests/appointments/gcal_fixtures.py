"""Google Calendar test helpers: the fake in a sandbox, clients, and a clinic wired to the calendar sync.

Push notifications from the fake reach `CalendarSync.handle_notification` over an httpx
`MockTransport` (the fake's `WebhookDispatcher` posts from its own thread, as a real webhook would).
"""

from __future__ import annotations

import asyncio
import inspect
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry
from invekto_integrations.core.retry import RetryPolicy
from invekto_integrations.providers.google_calendar import (
    AsyncGoogleCalendarClient,
    GoogleCalendarClient,
    GoogleCredentials,
)
from invekto_integrations.storage.memory_calendar import MemoryCalendarSync
from invekto_integrations.storage.sqlite_calendar import SQLiteCalendarSync
from invekto_integrations.sync.calendar import AsyncCalendarSync, CalendarSync, ConflictPolicy
from invekto_integrations.testing.sandbox import Sandbox, WebhookDispatcher
from invekto_integrations.testing.sandbox.fakes.google_calendar import GoogleCalendarFake

__all__ = [
    "ACCOUNT",
    "AYSE",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "ENGINES",
    "HOOK",
    "IST",
    "MEHMET",
    "REFRESH_TOKEN",
    "START",
    "Blocking",
    "GcalClinic",
    "async_client",
    "ist",
    "make_sandbox",
    "oauth",
    "rsa_key_pair",
    "sync_client",
]

IST = ZoneInfo("Europe/Istanbul")
START = datetime(2026, 2, 26, 6, 0, tzinfo=UTC)  # Thursday 09:00 Istanbul, before the Monday of the clinic tests
ACCOUNT = "klinik-a"
AYSE = "dr.ayse@klinik-a.example"
MEHMET = "dr.mehmet@klinik-a.example"
CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
CLIENT_SECRET = "sandbox-client-secret"
REFRESH_TOKEN = "rt-klinik-a"
HOOK = "https://hooks.klinik-a.example/gcal/t1"
ENGINES = ("sync", "async")


class Blocking:
    """`AsyncCalendarSync` seen through the `CalendarSync` interface: each coroutine method runs to
    completion on one event loop (an `asyncio.Runner` kept for the whole test), so the very same
    scenarios drive both engines (parity tests)."""

    def __init__(self, engine: AsyncCalendarSync, runner: asyncio.Runner) -> None:
        self.engine = engine
        self.runner = runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.engine, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.runner.run(attr(*args, **kwargs))

        return call


def ist(day: int, h: int, m: int = 0, month: int = 3) -> datetime:
    """A wall-clock time in Istanbul in 2026, as aware UTC."""
    return datetime(2026, month, day, h, m, tzinfo=IST).astimezone(UTC)


def make_sandbox(clock: FrozenClock, **kw: Any) -> tuple[Sandbox, GoogleCalendarFake]:
    fake = GoogleCalendarFake(clock=clock, **kw)
    return Sandbox([fake], clock=clock), fake


def oauth(sb: Sandbox, refresh_token: str = REFRESH_TOKEN, *, loopback: bool = False) -> GoogleCredentials:
    base = sb.url("google_calendar") if loopback else sb.inprocess_url("google_calendar")
    return GoogleCredentials.oauth(CLIENT_ID, CLIENT_SECRET, refresh_token, token_uri=f"{base}/token")


def _retry(clock: FrozenClock, attempts: int) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, max_total_seconds=3600, clock=clock, rng=random.Random(0))


def sync_client(sb: Sandbox, clock: FrozenClock, creds: GoogleCredentials | None = None, *, attempts: int = 4,
                loopback: bool = False) -> GoogleCalendarClient:
    return GoogleCalendarClient(
        creds or oauth(sb, loopback=loopback),
        base_url=sb.url("google_calendar") if loopback else sb.inprocess_url("google_calendar"),
        transport=None if loopback else sb.transport(), clock=clock, retry=_retry(clock, attempts),
        limiter_registry=RateLimiterRegistry(clock), rate_limit=RateLimit(1000, 1.0, burst=1000))


def async_client(sb: Sandbox, clock: FrozenClock, creds: GoogleCredentials | None = None, *,
                 attempts: int = 4) -> AsyncGoogleCalendarClient:
    return AsyncGoogleCalendarClient(
        creds or oauth(sb), base_url=sb.inprocess_url("google_calendar"), transport=sb.async_transport(),
        clock=clock, retry=_retry(clock, attempts), limiter_registry=RateLimiterRegistry(clock),
        rate_limit=RateLimit(1000, 1.0, burst=1000))


def rsa_key_pair() -> tuple[str, bytes]:
    """A throwaway RSA key: (private PEM text, public PEM bytes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@dataclass
class GcalClinic:
    """The clinic of tests/appointments/conftest.py (doctors d1, d2; Muayene 30', İmplant 60'+15'),
    with d1 = Dr. Ayşe on her Google calendar, the calendar sync, and push notifications wired."""

    store: Any
    policy: ConflictPolicy = ConflictPolicy.CALENDAR_WINS
    busy: str = "none"  # none | freebusy | mirror
    engine: str = "sync"  # sync | async (AsyncCalendarSync over AsyncGoogleCalendarClient)
    clinic: Any = field(init=False)
    sandbox: Sandbox = field(init=False)
    fake: GoogleCalendarFake = field(init=False)
    client: GoogleCalendarClient = field(init=False)
    sync: Any = field(init=False)  # CalendarSync, or AsyncCalendarSync behind `Blocking`
    notes: list[Any] = field(init=False, default_factory=list)
    inbox: list[dict[str, str]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        from invekto_integrations.sync.calendar import FreeBusyTimes, MirrorBusyTimes

        from .conftest import Clinic, make_doctor

        self.repo: Any = SQLiteCalendarSync(self.store.db) if hasattr(self.store, "db") else MemoryCalendarSync()
        calendars: dict[str, Any] = {}
        busy: Any = None
        if self.busy == "freebusy":
            busy = FreeBusyTimes(calendars, self.store.appointments)
        elif self.busy == "mirror":
            busy = MirrorBusyTimes(self.repo)
        self.clinic = Clinic(self.store, busy=busy, now=START)
        self.clock: FrozenClock = self.clinic.clock
        self.sandbox, self.fake = make_sandbox(self.clock)
        self.client = sync_client(self.sandbox, self.clock)
        calendars["t1"] = self.client
        week = {d: [_tr(9, 17)] for d in range(1, 6)}
        self.store.doctors.save("t1", make_doctor(doctor_id="d1", name="Dr. Ayşe", calendar_id=AYSE, working_hours=week,
                                            breaks={}))
        self.book = self.clinic.book
        self.runner: asyncio.Runner | None = None
        self.aclient: AsyncGoogleCalendarClient | None = None
        if self.engine == "async":
            self.runner = asyncio.Runner()
            self.aclient = async_client(self.sandbox, self.clock)
            engine = AsyncCalendarSync(self.book, self.store.doctors, self.repo, {"t1": self.aclient},
                                       clock=self.clock, policy=self.policy, quarantine=self.store.quarantine)
            self.sync = Blocking(engine, self.runner)
        else:
            self.sync = CalendarSync(self.book, self.store.doctors, self.repo, calendars, clock=self.clock,
                                     policy=self.policy, quarantine=self.store.quarantine)
        self.sync.connect_doctor("t1", "d1")

        def serve(request: httpx.Request) -> httpx.Response:
            # The endpoint answers at once; the test thread hands each message to the engine in
            # order (`deliver`), so the store is never written from two threads in one test.
            self.inbox.append(dict(request.headers))
            return httpx.Response(200)

        self.fake.webhooks = WebhookDispatcher(transport=httpx.MockTransport(serve))

    def book_at(self, when: datetime, *, phone: str = "+905321111110", service: str = "Muayene") -> Any:
        return self.book.book("t1", doctor_id="d1", service_name=service, starts_at=when, patient_phone=phone)

    def notify(self) -> list[Any]:
        """Wait for the fake's push notifications and pass them to `CalendarSync.handle_notification`."""
        self.fake.webhooks.drain()
        results = []
        while self.inbox:
            results.append(self.sync.handle_notification("t1", self.inbox.pop(0)))
        self.notes.extend(results)
        return results

    def deliver(self) -> list[Any]:
        """`notify`, then run the syncs the notifications queued."""
        self.notify()
        return self.sync.run_queued()

    def warm_token(self) -> None:
        """Fetch the access token of the client the engine uses (so a scripted fault hits the API)."""
        if self.runner is not None and self.aclient is not None:
            self.runner.run(self.aclient.list_changes(AYSE))
        else:
            self.client.list_changes(AYSE)

    def live_events(self) -> list[dict[str, Any]]:
        return self.fake.events(ACCOUNT, AYSE)

    def posts(self) -> int:
        return len(self.fake.requests_to(f"/calendars/{AYSE}/events", "POST"))

    def close(self) -> None:
        self.client.close()
        if self.runner is not None:
            if self.aclient is not None:
                self.runner.run(self.aclient.aclose())
            self.runner.close()


def _tr(h1: int, h2: int) -> Any:
    from invekto_integrations.appointments.models import TimeRange

    return TimeRange(start=time(h1), end=time(h2))


def week_after(dt: datetime) -> datetime:
    return dt + timedelta(days=7)
