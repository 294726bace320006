"""`Sandbox`: hosts fakes in-process and on a real loopback port (uvicorn in a thread).

    with Sandbox([TrendyolFake()]) as sb:          # starts a server on 127.0.0.1:<free port>
        url = sb.url("trendyol")                   # http://127.0.0.1:<port>/trendyol
        sb.fake("trendyol").faults.configure(error_rate=0.1)

    sb = Sandbox([TrendyolFake()])                 # not started: in-process only
    client = TrendyolClient(..., base_url=sb.inprocess_url("trendyol"), transport=sb.transport())

Every fake is mounted under ``/<name>``. A control API under ``/_sandbox`` lets another process
(the demo, a benchmark, a user's test) switch faults, move the clock and read requests.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from invekto_integrations.core.clock import Clock, FrozenClock
from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.core.ratelimit import RateLimit, RateLimiterRegistry

from ._fake import ConnectionDropped, FakeProvider
from ._transport import AsyncSandboxTransport, SyncSandboxTransport

if TYPE_CHECKING:
    from invekto_integrations.providers.base import ConnectOptions
    from invekto_integrations.testing.scenarios import MarketplaceScenario

    from .fakes.aras import ArasFake
    from .fakes.google_calendar import GoogleCalendarFake
    from .fakes.hepsiburada import HepsiburadaFake
    from .fakes.iys import IysFake
    from .fakes.trendyol import TrendyolFake
    from .fakes.whatsapp_cloud import WhatsAppCloudFake
    from .fakes.yurtici import YurticiFake

__all__ = ["INPROCESS_HOST", "Sandbox"]

INPROCESS_HOST = "http://sandbox.invalid"
F = TypeVar("F", bound=FakeProvider)


class Sandbox:
    """Hosts fakes under ``/<name>``: in-process through the transports, on loopback once started.

    ``clock`` is the time of every fake built without its own clock (default: the clock of the
    first fake that has one, else a `FrozenClock`); the control API moves it. ``fakes=None``
    hosts every registered provider's fake (``ProviderInfo.fake(clock=..., seed=...)``).
    """

    def __init__(
        self,
        fakes: Iterable[FakeProvider] | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
    ) -> None:
        self.seed = seed
        given = None if fakes is None else list(fakes)
        if clock is None:
            # The first fake built with its own clock sets the time; else a frozen clock.
            clock = next((f.clock for f in given or [] if f.clock_given), None) or FrozenClock()
        self.clock = clock
        if given is None:
            given = _registered_fakes(self.clock, seed)
        self._fakes: dict[str, FakeProvider] = {}
        for fake in given:
            if not fake.name:
                raise ConfigurationError(f"{type(fake).__name__} has no name")
            if fake.name in self._fakes:
                raise ConfigurationError(f"two fakes named {fake.name!r}")
            if not fake.clock_given:
                fake.clock = self.clock
                fake.clock_given = True
            self._fakes[fake.name] = fake
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._limiters = RateLimiterRegistry(self.clock)
        mounts = [Mount(f"/{n}", app=f.app) for n, f in self._fakes.items()]
        self.app = Starlette(routes=[*self._control_routes(), *mounts])

    # -- access ---------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self._fakes)

    def fake(self, name: str) -> FakeProvider:
        try:
            return self._fakes[name]
        except KeyError:
            raise ConfigurationError(f"no fake named {name!r} in this sandbox ({', '.join(self._fakes)})") from None

    def typed(self, name: str, kind: type[F]) -> F:
        """The fake ``name`` as its class ``kind`` (`ConfigurationError` when it is another class)."""
        fake = self.fake(name)
        if not isinstance(fake, kind):
            raise ConfigurationError(f"the fake {name!r} is a {type(fake).__name__}, not a {kind.__name__}")
        return fake

    # Typed accessors: `sb.trendyol.provision_account(...)` without a cast in user code.
    @property
    def trendyol(self) -> TrendyolFake:
        from .fakes.trendyol import TrendyolFake

        return self.typed("trendyol", TrendyolFake)

    @property
    def hepsiburada(self) -> HepsiburadaFake:
        from .fakes.hepsiburada import HepsiburadaFake

        return self.typed("hepsiburada", HepsiburadaFake)

    @property
    def aras(self) -> ArasFake:
        from .fakes.aras import ArasFake

        return self.typed("aras", ArasFake)

    @property
    def yurtici(self) -> YurticiFake:
        from .fakes.yurtici import YurticiFake

        return self.typed("yurtici", YurticiFake)

    @property
    def whatsapp_cloud(self) -> WhatsAppCloudFake:
        from .fakes.whatsapp_cloud import WhatsAppCloudFake

        return self.typed("whatsapp_cloud", WhatsAppCloudFake)

    @property
    def iys(self) -> IysFake:
        from .fakes.iys import IysFake

        return self.typed("iys", IysFake)

    @property
    def google_calendar(self) -> GoogleCalendarFake:
        from .fakes.google_calendar import GoogleCalendarFake

        return self.typed("google_calendar", GoogleCalendarFake)

    def marketplace(self, name: str) -> MarketplaceScenario:
        """A marketplace fake as its scenario hooks (provision_account, seed_orders, ...)."""
        from invekto_integrations.testing.scenarios import MarketplaceScenario

        fake = self.fake(name)
        if not isinstance(fake, MarketplaceScenario):
            raise ConfigurationError(f"the fake {name!r} has no marketplace scenario hooks")
        return fake

    def options(self, name: str, *, timeout: float | None = None, inprocess: bool | None = None) -> ConnectOptions:
        """How to connect to the fake ``name``: its URL, the sandbox's clock (so a client's
        "now" is the fakes' "now") and a rate-limit registry of this sandbox. On loopback once the
        sandbox serves, else in-process through the transports (``inprocess`` forces either)."""
        from invekto_integrations.providers.base import ConnectOptions

        if inprocess is None:
            inprocess = self.port is None
        if inprocess:
            return ConnectOptions(base_url=self.inprocess_url(name), transport=self.transport(),
                                  async_transport=self.async_transport(), clock=self.clock,
                                  limiter_registry=self._limiters, timeout=timeout)
        return ConnectOptions(base_url=self.url(name), clock=self.clock, limiter_registry=self._limiters,
                              timeout=timeout)

    def url(self, name: str) -> str:
        """The loopback base URL of a fake (the sandbox must be started)."""
        self.fake(name)
        if self.port is None:
            raise ConfigurationError("the sandbox is not serving: use `with Sandbox(...)` or start()")
        return f"http://{self.host}:{self.port}/{name}"

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise ConfigurationError("the sandbox is not serving")
        return f"http://{self.host}:{self.port}"

    def inprocess_url(self, name: str) -> str:
        self.fake(name)
        return f"{INPROCESS_HOST}/{name}"

    def transport(self) -> SyncSandboxTransport:
        """A sync httpx transport that serves every fake in-process (use with `inprocess_url`)."""
        return SyncSandboxTransport(self.app)

    def async_transport(self) -> AsyncSandboxTransport:
        return AsyncSandboxTransport(self.app)

    def reset(self) -> None:
        for fake in self._fakes.values():
            fake.reset()

    # -- serving --------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit TCP_NODELAY; without it uvicorn's split header/body writes
        # meet delayed ACKs and every loopback request costs ~40 ms instead of ~2 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self._requested_port))
        self.port = sock.getsockname()[1]
        logging.getLogger("uvicorn.error").addFilter(_DROP_FILTER)
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="sandbox-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise ConfigurationError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving (if started), then close every fake's webhook dispatcher: queued webhooks
        are delivered and no dispatcher thread runs afterwards (also for in-process use)."""
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None
            self.port = None
        for fake in self._fakes.values():
            fake.webhooks.close()

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM (or the server stops)."""
        self.start()
        stop = threading.Event()
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            # Installed explicitly: a process started in the background by a non-interactive shell
            # inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt.
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
        try:
            with contextlib.suppress(KeyboardInterrupt):
                while not stop.is_set() and self._thread is not None and self._thread.is_alive():
                    stop.wait(0.2)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __repr__(self) -> str:
        where = f"serving on {self.base_url}" if self.port is not None else "in-process"
        return f"<Sandbox {where} fakes={self.names} now={self.clock.now():%Y-%m-%d %H:%M}Z>"

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control API (for other processes) --------------------------------------------------------
    def _control_routes(self) -> list[Route]:
        def lookup(request: Request) -> FakeProvider | JSONResponse:
            name = request.path_params["name"]
            if name not in self._fakes:
                return JSONResponse({"error": f"no fake named {name!r}", "fakes": self.names}, status_code=404)
            return self._fakes[name]

        async def faults(request: Request) -> JSONResponse:
            fake = lookup(request)
            if isinstance(fake, JSONResponse):
                return fake
            if request.method == "POST":
                try:
                    body = await request.json()
                    if not isinstance(body, dict):
                        raise ValueError("the body must be a JSON object of fault settings")
                    if body.pop("clear", False):
                        fake.faults.clear()
                    if body.pop("published_rate_limit", False):
                        body["rate_limit"] = fake.published_rate_limit
                    elif isinstance(body.get("rate_limit"), dict):
                        rl = body["rate_limit"]
                        body["rate_limit"] = RateLimit(float(rl["requests"]), float(rl.get("per_seconds", 1.0)),
                                                       None if rl.get("burst") is None else float(rl["burst"]))
                    fake.faults.configure(**body)
                except (ValueError, KeyError, TypeError) as exc:
                    return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"settings": fake.faults.snapshot(), "counts": dict(fake.faults.counts)})

        async def requests(request: Request) -> JSONResponse:
            fake = lookup(request)
            if isinstance(fake, JSONResponse):
                return fake
            if request.method == "DELETE":
                fake.requests.clear()
                return JSONResponse([])
            return JSONResponse([r.to_dict() for r in list(fake.requests)])

        async def reset_one(request: Request) -> JSONResponse:
            fake = lookup(request)
            if isinstance(fake, JSONResponse):
                return fake
            fake.reset()
            return JSONResponse({"reset": [fake.name]})

        async def reset_all(_: Request) -> JSONResponse:
            self.reset()
            return JSONResponse({"reset": self.names})

        async def clock(request: Request) -> JSONResponse:
            if request.method == "GET":
                return JSONResponse({"now": self.clock.now().isoformat()})
            if not isinstance(self.clock, FrozenClock):
                return JSONResponse({"error": "the sandbox clock is not controllable"}, status_code=409)
            try:
                body = await request.json()
                if "to" in body:
                    self.clock.set(datetime.fromisoformat(str(body["to"])))
                else:
                    self.clock.advance(float(body.get("seconds", 0)))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"now": self.clock.now().isoformat()})

        async def health(_: Request) -> JSONResponse:
            return JSONResponse({"fakes": self.names, "now": self.clock.now().isoformat()})

        return [
            Route("/_sandbox/health", health),
            Route("/_sandbox/reset", reset_all, methods=["POST"]),
            Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
            Route("/_sandbox/clock/advance", clock, methods=["POST"]),
            Route("/_sandbox/{name}/faults", faults, methods=["GET", "POST"]),
            Route("/_sandbox/{name}/requests", requests, methods=["GET", "DELETE"]),
            Route("/_sandbox/{name}/reset", reset_one, methods=["POST"]),
        ]


class _DropFilter(logging.Filter):
    """Keeps uvicorn from logging a traceback for every connection a fake drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


_DROP_FILTER = _DropFilter()


def _registered_fakes(clock: Clock, seed: int) -> list[FakeProvider]:
    from invekto_integrations.providers.registry import ProviderRegistry

    fakes = []
    for info in ProviderRegistry.load().all():
        if info.fake is not None:
            fakes.append(info.fake(clock=clock, seed=seed))
    return fakes
