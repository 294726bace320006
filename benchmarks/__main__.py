"""Run the benchmarks: ``python -m benchmarks [--quick] [hotpaths] [sync] [lookup] [noshow] [attribution]
[campaigns] [hostile] [dashboard] [postgres]`` (all by default)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import sys
from collections.abc import Callable

from . import (
    bench_attribution,
    bench_campaigns,
    bench_dashboard,
    bench_hostile,
    bench_hotpaths,
    bench_lookup,
    bench_noshow,
    bench_postgres,
    bench_sync,
)

BENCHMARKS: dict[str, Callable[[bool], list[str]]] = {
    "hotpaths": bench_hotpaths.run,
    "sync": bench_sync.run,
    "lookup": bench_lookup.run,
    "noshow": bench_noshow.run,
    "attribution": bench_attribution.run,
    "campaigns": bench_campaigns.run,
    "hostile": bench_hostile.run,
    "dashboard": bench_dashboard.run,
    "postgres": bench_postgres.run,
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"which benchmarks: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run (~1 minute)")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    print(f"# invekto-integrations benchmarks ({'quick' if args.quick else 'full'})")
    print(f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print("load average (1/5/15 min): " + "/".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"command: python -m benchmarks {' '.join(sys.argv[1:])}".rstrip())
    for name in names:
        print()
        for line in BENCHMARKS[name](args.quick):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
