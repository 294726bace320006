"""Serve the sandbox on a loopback port until Ctrl-C: ``python -m invekto_integrations.testing.sandbox``.

    python -m invekto_integrations.testing.sandbox --port 7200 --seed 7 --providers trendyol,aras

Serves every fake registered through the provider entry points (or the ones named with
``--providers``; ``echoshop``, the framework's example fake, is always available), prints one
``<name> <url>`` line per fake and the control API address, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from invekto_integrations.core.clock import Clock, FrozenClock, SystemClock
from invekto_integrations.core.errors import ConfigurationError

from ._fake import FakeProvider
from ._runner import Sandbox

__all__ = ["available_fakes", "main"]


def available_fakes(clock: Clock, seed: int) -> dict[str, FakeProvider]:
    """Every registered provider's fake, plus the example ``echoshop`` fake, by name."""
    from invekto_integrations.providers.registry import ProviderRegistry

    from .example import EchoShopFake

    fakes: dict[str, FakeProvider] = {}
    for info in ProviderRegistry.load().all():
        if info.fake is not None:
            fake = info.fake(clock=clock, seed=seed)
            fakes[fake.name] = fake
    fakes.setdefault(EchoShopFake.name, EchoShopFake(clock=clock, seed=seed))
    return fakes


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m invekto_integrations.testing.sandbox",
                                description="Serve provider fakes on a loopback port.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7200, help="port (0 picks a free one; default 7200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    p.add_argument("--providers", default="",
                   help="comma-separated fake names (default: every registered provider's fake)")
    p.add_argument("--real-time", action="store_true",
                   help="run on the real clock instead of a controllable frozen clock")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    clock: Clock = SystemClock() if args.real_time else FrozenClock()
    fakes = available_fakes(clock, args.seed)
    wanted = [n.strip() for n in args.providers.split(",") if n.strip()]
    if wanted:
        unknown = [n for n in wanted if n not in fakes]
        if unknown:
            print(f"unknown fake(s): {', '.join(unknown)}; available: {', '.join(sorted(fakes))}", file=sys.stderr)
            return 2
        chosen = [fakes[n] for n in wanted]
    else:
        registered = [f for n, f in fakes.items() if n != "echoshop"]
        chosen = registered or [fakes["echoshop"]]
    sandbox = Sandbox(chosen, clock=clock, host=args.host, port=args.port, seed=args.seed)
    try:
        sandbox.start()
    except (ConfigurationError, OSError) as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    for name in sandbox.names:
        print(f"{name} {sandbox.url(name)}", flush=True)
    print(f"control {sandbox.base_url}/_sandbox", flush=True)
    print("serving; Ctrl-C to stop", flush=True)
    sandbox.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
