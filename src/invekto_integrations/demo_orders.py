"""The order-sync demo: marketplace order sync and cross-platform customer lookup, end to end, on
loopback; on SQLite or on PostgreSQL (``--database-url postgresql://...``, its own schema).

    .venv/bin/python -m invekto_integrations.demo_orders [--data-dir DIR] [--database-url URL]

(`make demo` runs the whole phase's demo, `invekto_integrations.demo`, on SQLite or PostgreSQL alike;
this one is the order-sync part on its own.)

What it does, on a fresh machine and without network access:

1. starts the provider sandbox on 127.0.0.1 with the marketplace fakes: the installed
   ``trendyol`` and ``hepsiburada`` plugins when their fakes offer the scenario hooks
   (`testing.scenarios.MarketplaceScenario`), otherwise the reference marketplace standing in
   for each (it says which it used);
2. creates two tenants, each with one account on each marketplace; the credentials are stored
   encrypted (`AccountService` + `CredentialCipher`, with a key ring generated for this run);
3. backfills every account (progress shown), then creates and changes orders in the fakes,
   runs an incremental sync, and looks up by phone a customer who bought on both platforms;
4. keeps everything in an embedded SQLite file (a temporary directory unless ``--data-dir``).
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from invekto_integrations._env import is_postgres_url
from invekto_integrations.accounts import AccountService
from invekto_integrations.core.clock import FrozenClock, SystemClock
from invekto_integrations.core.crypto import CredentialCipher, KeyRing, generate_key
from invekto_integrations.core.errors import ConfigurationError
from invekto_integrations.core.money import format_try
from invekto_integrations.events import EventBus
from invekto_integrations.models.accounts import IntegrationAccount
from invekto_integrations.providers.base import ConnectOptions, ProviderInfo
from invekto_integrations.providers.registry import ProviderRegistry
from invekto_integrations.storage import SQLiteStore, Store
from invekto_integrations.sync import CustomerLookup, OrderSyncEngine, SyncProgress, SyncRunReport
from invekto_integrations.testing.refmarket import make_refmarket_provider
from invekto_integrations.testing.sandbox import FakeProvider, Sandbox
from invekto_integrations.testing.scenarios import MarketplaceScenario, supports_scenarios

__all__ = ["choose_marketplaces", "main", "open_store", "run_demo"]

PLATFORMS = (("trendyol", "Trendyol"), ("hepsiburada", "Hepsiburada"))
TENANTS = (("moda-istanbul", "Moda İstanbul"), ("ege-kozmetik", "Ege Kozmetik"))
CUSTOMER_NAME = "Ayşe Yılmaz"
CUSTOMER_PHONE_FORMS = ("0532 412 34 56", "+90 532 412 3456", "5324123456")


def choose_marketplaces(registry: ProviderRegistry, clock: FrozenClock,
                        out: TextIO) -> tuple[list[ProviderInfo], list[FakeProvider]]:
    """The real plugins when installed with scenario-capable fakes, else reference stand-ins."""
    chosen: list[ProviderInfo] = []
    fakes: list[FakeProvider] = []
    installed = {p.name: p for p in registry.all()}
    for index, (name, label) in enumerate(PLATFORMS):
        info = installed.get(name)
        fake = info.fake(clock=clock, seed=7 + index) if info is not None and info.fake is not None else None
        if info is not None and fake is not None and supports_scenarios(fake) and info.connect_async is not None:
            out.write(f"  {label}: the installed '{name}' provider and its sandbox fake\n")
        else:
            why = "not installed" if info is None else "its fake has no scenario hooks"
            info = make_refmarket_provider(f"refmarket-{name}", f"Reference marketplace (stand-in for {label})")
            assert info.fake is not None
            fake = info.fake(clock=clock, seed=7 + index)
            out.write(f"  {label}: '{name}' {why}; using the reference marketplace fake '{info.name}'\n")
        chosen.append(info)
        fakes.append(fake)
    return chosen, fakes


class _ProgressPrinter:
    """Turns progress records into plain text lines: one line per account per 25 % step."""

    def __init__(self, out: TextIO, labels: dict[str, str]) -> None:
        self.out = out
        self.labels = labels
        self.shown: dict[str, int] = {}

    def __call__(self, p: SyncProgress) -> None:
        step = 4 if p.done else int(p.fraction * 4)
        if self.shown.get(p.account_id, -1) >= step:
            return
        self.shown[p.account_id] = step
        filled = int(p.fraction * 20)
        bar = "#" * filled + "." * (20 - filled)
        self.out.write(f"    [{bar}] {p.fraction:4.0%}  {self.labels[p.account_id]:<38} fetched {p.fetched:>4}, "
                       f"new {p.inserted:>4}, changed {p.updated:>3}\n")


def _print_report(out: TextIO, report: SyncRunReport, labels: dict[str, str]) -> None:
    for r in report.accounts:
        out.write(f"    {labels[r.account_id]:<38} {r.mode.value:<11} {r.status.value:<4} fetched {r.fetched:>4} "
                  f"| new {r.inserted:>4} | changed {r.updated:>3} | unchanged {r.unchanged:>4} "
                  f"| quarantined {r.quarantined} | events {r.events}\n")
        if r.error:
            out.write(f"      error: {r.error}\n")
    out.write(f"    total: {report.fetched} fetched, {report.inserted} new, {report.updated} changed, "
              f"{report.unchanged} unchanged, {report.quarantined} quarantined, {report.events} events\n")


def _scenario(fake: FakeProvider) -> MarketplaceScenario:
    assert isinstance(fake, MarketplaceScenario)
    return fake


_DEMO_SCHEMA = "invekto_demo"


def open_store(data_dir: Path, database_url: str | None) -> tuple[Store, str]:
    """A fresh store for this run: the demo's SQLite file, or (``--database-url postgresql://...``)
    the demo's own schema ``invekto_demo`` on that server, dropped and recreated."""
    if database_url is None:
        db_path = data_dir / "invekto-demo.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        return SQLiteStore(db_path), f"SQLite store at {db_path}"
    if not is_postgres_url(database_url):
        raise ConfigurationError("--database-url takes a postgresql://... URL (without it: a SQLite file)")
    from invekto_integrations.storage.postgres import PostgresDatabase, PostgresStore

    admin = PostgresDatabase(database_url, max_size=1)
    try:
        admin.execute(f"DROP SCHEMA IF EXISTS {_DEMO_SCHEMA} CASCADE")
    finally:
        admin.close()
    store = PostgresStore(database_url, schema=_DEMO_SCHEMA)
    return store, f"PostgreSQL store at {store.db.url} (schema {_DEMO_SCHEMA})"


async def run_demo(data_dir: Path, out: TextIO, *, database_url: str | None = None) -> int:
    """The whole demo; returns a process exit code (0 when every check passed)."""
    start = datetime.now(SystemClock().now().tzinfo).replace(second=0, microsecond=0)
    clock = FrozenClock(start)  # the sandbox's and the engine's time; moved on explicitly
    out.write("== invekto-integrations demo: marketplace order sync and cross-platform lookup ==\n\n")
    out.write("Marketplaces:\n")
    providers, fakes = choose_marketplaces(ProviderRegistry.load(), clock, out)
    registry = ProviderRegistry(providers)
    sandbox = Sandbox(fakes, clock=clock)
    store, where = open_store(data_dir, database_url)
    ring = KeyRing({"demo-1": base64.urlsafe_b64decode(generate_key())})  # a fresh key ring for this run
    service = AccountService(store.accounts, CredentialCipher(ring), registry=registry, clock=clock)
    failures = 0
    with sandbox:
        out.write(f"\nSandbox listening on {sandbox.base_url}; {where}\n\n")
        engine = OrderSyncEngine(
            service, store.orders, store.checkpoints, store.quarantine, EventBus(store.events, clock),
            options=lambda account: ConnectOptions(base_url=sandbox.url(account.provider), timeout=10.0),
            clock=clock,
        )
        labels: dict[str, str] = {}
        keys: dict[str, str] = {}
        seeded: dict[str, list[str]] = {}
        accounts: dict[tuple[str, str], IntegrationAccount] = {}
        out.write("Tenants and accounts (credentials stored encrypted):\n")
        for tenant, tenant_label in TENANTS:
            for info, fake in zip(providers, fakes, strict=True):
                hooks = _scenario(fake)
                seller = hooks.provision_account(f"{tenant_label} @ {info.label}")
                account = service.add(tenant, info.name, seller.credentials, settings=seller.settings,
                                      display_name=seller.display_name)
                accounts[(tenant, info.name)] = account
                labels[account.id] = f"{tenant}/{info.name}"
                keys[account.id] = seller.account_key
                # Four weeks of history: Hepsiburada's shipped/delivered feeds reach back about a month,
                # so older orders in those stages are not listable there (fact sheet §2.1).
                seeded[account.id] = hooks.seed_orders(seller.account_key, 40, start=start - timedelta(days=28),
                                                       end=start - timedelta(hours=2))
                stored = store.accounts.get(tenant, account.id)
                assert stored is not None
                token = stored.api_key_encrypted
                out.write(f"  {tenant_label:<14} {info.label:<48} credentials stored as {token[:18]}… "
                          f"(key id {CredentialCipher(ring).key_id(token)})\n")

        # The customer who buys on both platforms: first on the first marketplace, weeks ago.
        tenant = TENANTS[0][0]
        first_info, second_info = providers
        first_acc, second_acc = accounts[(tenant, first_info.name)], accounts[(tenant, second_info.name)]
        _scenario(fakes[0]).seed_customer_order(keys[first_acc.id], CUSTOMER_PHONE_FORMS[0], CUSTOMER_NAME,
                                                start - timedelta(days=21))
        expected = {account.id: len(seeded[account.id]) + 3 for account in accounts.values()}
        expected[first_acc.id] += 1
        expected[second_acc.id] += 1

        out.write("\n1) Backfill (first connection: the last 90 days, within each provider's history)\n")
        backfill = await engine.run(progress=_ProgressPrinter(out, labels))
        out.write("\n  Backfill report:\n")
        _print_report(out, backfill, labels)
        failures += len(backfill.failed)

        # Time passes; orders are created and changed on the marketplaces.
        clock.advance(hours=1)
        now = clock.now()
        out.write("\n2) One hour later, in the marketplaces: new orders, orders moving on, the same customer buying "
                  "again\n")
        for (_, _name), account in accounts.items():
            fake = fakes[0] if account.provider == first_info.name else fakes[1]
            hooks = _scenario(fake)
            hooks.seed_orders(keys[account.id], 3, start=now - timedelta(minutes=50), end=now - timedelta(minutes=5))
            for external_id in seeded[account.id][:4]:
                hooks.step_order(keys[account.id], external_id, now - timedelta(minutes=3))
        bought = _scenario(fakes[1]).seed_customer_order(keys[second_acc.id], CUSTOMER_PHONE_FORMS[1], CUSTOMER_NAME,
                                                         now - timedelta(minutes=25))
        out.write(f"  3 new orders per account, 4 orders per account moved one step on (delivered ones stay "
                  f"delivered),\n  and {CUSTOMER_NAME} ordered on {second_info.label} (order {bought})\n")

        out.write("\n3) Incremental sync (from each checkpoint, minus a 15-minute overlap)\n")
        incremental = await engine.run()
        _print_report(out, incremental, labels)
        failures += len(incremental.failed)

        out.write("\n4) A re-run right away finds nothing new (idempotent):\n")
        clock.advance(minutes=1)
        again = await engine.run()
        out.write(f"    {again.inserted} new, {again.updated} changed, {again.unchanged} unchanged, "
                  f"{again.events} events\n")
        if again.inserted or again.updated or again.events:
            failures += 1

        phone = CUSTOMER_PHONE_FORMS[2]
        out.write(f"\n5) Customer lookup in tenant '{tenant}' by phone '{phone}' (any Turkish form works)\n")
        lookup = CustomerLookup(store.orders, engine)
        found = await lookup.afind(tenant, phone)
        out.write(f"  {found.phone}: {len(found)} order(s) on {', '.join(found.providers) or 'no platform'}; "
                  f"names used: {', '.join(found.names)}\n")
        for item in found.orders:
            o = item.order
            items = ", ".join(f"{ln.quantity} × {ln.name}" for ln in o.lines)
            out.write(f"    {o.ordered_at:%Y-%m-%d %H:%M} UTC  {item.provider:<24} order {o.order_number:<12} "
                      f"{o.status.value:<10} {format_try(o.total, decimals=True):>10} {o.currency}  ({items})\n")
        if set(found.providers) != {first_info.name, second_info.name}:
            out.write("  !! expected the customer on both platforms\n")
            failures += 1
        other = TENANTS[1][0]
        out.write(f"  The same phone in tenant '{other}': {len(lookup.cached(other, phone))} order(s) "
                  "(tenants never see each other's data)\n")

        out.write("\n6) The event log (what later engines consume):\n")
        for tenant_id, _ in TENANTS:
            counts = Counter(e.type for e in store.events.read(tenant_id, limit=100_000))
            out.write(f"  {tenant_id:<14} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + "\n")
        out.write("\n7) Nothing duplicated, nothing missing: orders cached per account vs. created in the fakes\n")
        for (tenant_id, name), account in accounts.items():
            cached = store.orders.count(tenant_id, provider=name)
            verdict = "ok" if cached == expected[account.id] else "MISMATCH"
            failures += verdict != "ok"
            where = f"{tenant_id}/{name}"
            out.write(f"  {where:<38} {cached:>3} cached, {expected[account.id]:>3} created: {verdict}\n")
        engine.close()
    store.close()
    out.write("\nDone: " + ("every check passed.\n" if failures == 0 else f"{failures} check(s) failed.\n"))
    return 0 if failures == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m invekto_integrations.demo_orders",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where to keep the SQLite file (default: a temporary directory)")
    parser.add_argument("--database-url", default=None,
                        help="postgresql://... : run on that PostgreSQL server, in its own schema invekto_demo "
                             "(dropped and recreated; needs the extra postgres)")
    args = parser.parse_args(argv)
    import asyncio

    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run_demo(args.data_dir, sys.stdout, database_url=args.database_url))
    with tempfile.TemporaryDirectory(prefix="invekto-demo-") as tmp:
        return asyncio.run(run_demo(Path(tmp), sys.stdout, database_url=args.database_url))


if __name__ == "__main__":
    raise SystemExit(main())
