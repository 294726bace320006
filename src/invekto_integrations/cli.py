"""The ``invekto-integrations`` command (extra ``cli``: typer + rich).

Every command works on the store of ``--database-url`` (else ``INVEKTO_DATABASE_URL``, default
``sqlite:///invekto.sqlite3``) with the keys of ``INVEKTO_KEYRING``. Library errors are printed
in one line and exit 1; bad arguments exit 2 (typer's usage errors).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from invekto_integrations._env import DATABASE_URL
from invekto_integrations._integrations import Integrations
from invekto_integrations.core.errors import IntegrationError

__all__ = ["app", "main"]

app = typer.Typer(help="invekto-integrations: marketplaces, cargo, WhatsApp, attribution, campaigns, "
                       "appointments — the SDK's command line.", no_args_is_help=True)
accounts_app = typer.Typer(help="Connected provider accounts (credentials encrypted per tenant).",
                           no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens of the service (stored hashed; shown once).", no_args_is_help=True)
sync_app = typer.Typer(help="Synchronise provider data into the store.", no_args_is_help=True)
customer_app = typer.Typer(help="Look a customer up across every connected platform.", no_args_is_help=True)
campaign_app = typer.Typer(help="Outbound campaigns: create, list, schedule, stats.", no_args_is_help=True)
attribution_app = typer.Typer(help="Ads attribution reports.", no_args_is_help=True)
pricing_app = typer.Typer(help="Service price ranges of a clinic.", no_args_is_help=True)
runtime_app = typer.Typer(help="The engine runtime.", no_args_is_help=True)
for sub, name in ((accounts_app, "accounts"), (tokens_app, "tokens"), (sync_app, "sync"), (customer_app, "customer"),
                  (campaign_app, "campaign"), (attribution_app, "attribution"), (pricing_app, "pricing"),
                  (runtime_app, "runtime")):
    app.add_typer(sub, name=name)

console = Console()
err = Console(stderr=True)

DbUrl = Annotated[str | None, typer.Option("--database-url", help=f"Store URL (else ${DATABASE_URL}).",
                                           envvar=DATABASE_URL)]


@contextmanager
def _client(database_url: str | None) -> Iterator[Integrations]:
    environ = dict(os.environ)
    if database_url:
        environ[DATABASE_URL] = database_url
    try:
        client = Integrations.from_env(environ)
    except IntegrationError as exc:
        _fail(exc)
    try:
        yield client
    except IntegrationError as exc:
        _fail(exc)
    finally:
        client.close()


def _fail(exc: BaseException) -> typer.Exit:
    err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
    raise typer.Exit(1)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    console.print(table)


def _day(text: str | None, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


# -- main jobs ------------------------------------------------------------------------------------------
@app.command()
def demo(
    database_url: Annotated[str | None, typer.Option(
        "--database-url", help="Run on this store (postgresql://...: the demo's own schema there), not the "
        "environment's.")] = None,
) -> None:
    """Run the demo against the sandbox (what `make demo` runs)."""
    from invekto_integrations.demo import main as demo_main

    raise typer.Exit(demo_main(["--database-url", database_url] if database_url else []))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (the Integrations service's is 7106).")] = 7106,
    database_url: DbUrl = None,
    runtime: Annotated[bool, typer.Option(help="Host the engine runtime in this process.")] = True,
) -> None:
    """Run the Integrations service (webhooks, tracked-link redirect, REST API, health).

    Webhook settings come from the environment: INVEKTO_WHATSAPP_VERIFY_TOKEN,
    INVEKTO_META_APP_SECRET, INVEKTO_WHATSAPP_ROUTES (phone_number_id=tenant,...),
    INVEKTO_WABA_TENANTS (waba_id=tenant,...), INVEKTO_PUBLIC_URL (the HTTPS address Google
    Calendar pushes to; without it calendars are polled)."""
    import uvicorn

    from invekto_integrations.service import IntegrationsService
    from invekto_integrations.service._config import config_from_env
    from invekto_integrations.service._engines import calendar_push_address, default_engines

    with _client(database_url) as client:
        config = config_from_env(os.environ)
        engines = default_engines(client, calendar_push_address=calendar_push_address(config.public_url))
        host_runtime = client.runtime(engines) if runtime else None
        service = IntegrationsService(client, config, runtime=host_runtime)
        console.print(f"invekto-integrations service on http://{host}:{port} "
                      f"({'with' if runtime else 'without'} the runtime)")
        uvicorn.run(service.app, host=host, port=port, log_level="warning")


@app.command()
def sandbox(port: Annotated[int, typer.Option(help="Port (0: a free one).")] = 0) -> None:
    """Run every provider fake on loopback until interrupted."""
    from invekto_integrations.testing.sandbox.__main__ import main as sandbox_main

    raise typer.Exit(sandbox_main(["--port", str(port)]))


# -- accounts and tokens -----------------------------------------------------------------------------
@accounts_app.command("list")
def accounts_list(tenant: str, database_url: DbUrl = None) -> None:
    """The tenant's connected accounts (never their credentials)."""
    with _client(database_url) as client:
        rows = [[a.id, a.provider, a.status, a.display_name if hasattr(a, "display_name") else ""]
                for a in client.accounts.list(tenant)]
        _table(f"accounts of {tenant}", ["id", "provider", "status", "name"], rows)


@accounts_app.command("add")
def accounts_add(
    tenant: str, provider: str,
    api_key: Annotated[str, typer.Option(help="The key (or token, refresh token) of the account.",
                                         envvar="INVEKTO_API_KEY", prompt=True, hide_input=True)],
    api_secret: Annotated[str | None, typer.Option(help="Its secret, where the provider has one.",
                                                   envvar="INVEKTO_API_SECRET")] = None,
    setting: Annotated[list[str] | None, typer.Option(help="A non-secret setting, NAME=VALUE (repeat).")] = None,
    display_name: Annotated[str, typer.Option(help="A name people recognise.")] = "",
    database_url: DbUrl = None,
) -> None:
    """Connect a provider account for a tenant (credentials stored encrypted; never printed).

    Secrets come from --api-key/--api-secret, INVEKTO_API_KEY/INVEKTO_API_SECRET, or a hidden prompt."""
    from pydantic import SecretStr

    from invekto_integrations.models.accounts import Credentials

    settings: dict[str, str] = {}
    for item in setting or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--setting")
        settings[name.strip()] = value.strip()
    with _client(database_url) as client:
        account = client.accounts.add(tenant, provider, Credentials(
            api_key=SecretStr(api_key), api_secret=SecretStr(api_secret) if api_secret else None),
            settings=settings, display_name=display_name)
        console.print(f"account {account.id}: {account.provider} of {tenant} connected")


@accounts_app.command("rotate-keys")
def accounts_rotate(database_url: DbUrl = None) -> None:
    """Re-seal every account's credentials with the current key of INVEKTO_KEYRING."""
    with _client(database_url) as client:
        report = client.accounts.rotate()
        console.print(report)
        if getattr(report, "failed", None):
            raise typer.Exit(1)


@tokens_app.command("issue")
def tokens_issue(tenant: str, label: Annotated[str, typer.Option(help="What the token is for.")] = "api",
                 database_url: DbUrl = None) -> None:
    """Issue an API token for a tenant and print it once (only its digest is stored)."""
    from invekto_integrations.service import issue_token
    from invekto_integrations.service._app import tokens_of

    with _client(database_url) as client:
        clear, record = issue_token(tokens_of(client), tenant, label=label, clock=client.clock)
        console.print(f"token {record.token_id} for {tenant}: [bold]{clear}[/bold]")


# -- orders, customers, cargo ---------------------------------------------------------------------------
@sync_app.command("orders")
def sync_orders(tenant: str, database_url: DbUrl = None,
                progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True) -> None:
    """Backfill (first time) or incrementally sync the tenant's marketplace orders."""
    from invekto_integrations.progress import RichProgress

    with _client(database_url) as client:
        if progress:
            with RichProgress(console=console) as bar:
                report = client.orders.sync(tenant, progress=bar)
        else:
            report = client.orders.sync(tenant)
        console.print(report)
        if report.failed:
            raise typer.Exit(1)


@customer_app.command("orders")
def customer_orders(tenant: str, phone: str, database_url: DbUrl = None) -> None:
    """A customer's orders on every connected marketplace, by phone (any Turkish form)."""
    with _client(database_url) as client:
        found = client.orders.lookup(tenant, phone)
        rows = [[o.provider, o.order.order_number, o.order.status.value, o.order.ordered_at.date(), o.order.total]
                for o in found.orders]
        _table(f"orders of {found.phone}", ["platform", "order", "status", "date", "total"], rows)


@app.command()
def track(tenant: str, carrier: str, number: str, database_url: DbUrl = None) -> None:
    """A watched parcel's unified status and history."""
    with _client(database_url) as client:
        parcel = client.store.shipments.get(tenant, carrier, number)
        if parcel is None:
            err.print(f"no parcel {carrier} {number} watched for {tenant}")
            raise typer.Exit(1)
        console.print(f"{carrier} {number}: [bold]{parcel.status}[/bold]")
        hist = client.store.shipments.history(tenant, carrier, number)
        _table("history", ["at", "where", "what"], [[h.occurred_at, h.location, h.description] for h in hist])


# -- campaigns, attribution, pricing, dashboard --------------------------------------------------------
def _campaign_store(client: Integrations) -> Any:
    return client.store


@campaign_app.command("list")
def campaign_list(tenant: str, database_url: DbUrl = None) -> None:
    """The tenant's campaigns."""
    with _client(database_url) as client:
        rows = [[c.id, c.name, c.status, c.trigger.type] for c in _campaign_store(client).campaigns.find(tenant)]
        _table(f"campaigns of {tenant}", ["id", "name", "status", "trigger"], rows)


@campaign_app.command("create")
def campaign_create(
    tenant: str, name: str,
    variant: Annotated[list[str], typer.Option(
        help="A variant, NAME=TEMPLATE or NAME=TEMPLATE*WEIGHT (repeat for an A/B test; weights split the "
             "audience).")],
    param: Annotated[list[str] | None, typer.Option(
        help="A template body parameter for every variant: a variable (name, last_product) or quoted literal "
             "text (repeat, in order).")] = None,
    audience: Annotated[str | None, typer.Option(help='The audience as JSON, e.g. \'{"kind": "last_order", '
                                                      '"within_days": 90}\' (default: everyone).')] = None,
    at: Annotated[str | None, typer.Option(help="When to send (ISO 8601 with offset; default: now).")] = None,
    holdout: Annotated[str, typer.Option(help="Share kept out as a control group, e.g. 0.2.")] = "0",
    metric: Annotated[str, typer.Option(help="What a conversion is: purchase, reply, appointment, any.")]
    = "purchase",
    window_days: Annotated[int, typer.Option(help="Conversion window in days.")] = 7,
    database_url: DbUrl = None,
) -> None:
    """Create a draft one-shot campaign, with A/B variants and a holdout (then `campaign schedule`)."""
    import json
    from datetime import datetime
    from decimal import Decimal, InvalidOperation

    from pydantic import ValidationError

    from invekto_integrations.campaigns import ABSettings, OneShotTrigger, Variant

    try:
        variants = []
        for item in variant:
            label, sep, rest = item.partition("=")
            template, _, weight = rest.partition("*")
            if not sep or not template:
                raise typer.BadParameter(f"{item!r} is not NAME=TEMPLATE[*WEIGHT]", param_hint="--variant")
            variants.append(Variant(name=label, template_name=template, weight=Decimal(weight or "1"),
                                    body_params=list(param or [])))
        ab = ABSettings.model_validate({"holdout": Decimal(holdout), "metric": metric})
    except (ValidationError, InvalidOperation) as exc:
        raise typer.BadParameter(str(exc).splitlines()[0]) from None
    try:
        criteria = json.loads(audience) if audience else None
    except ValueError:
        raise typer.BadParameter("--audience is not JSON") from None
    try:
        when = datetime.fromisoformat(at) if at else None
    except ValueError:
        raise typer.BadParameter(f"{at!r} is not an ISO 8601 time", param_hint="--at") from None
    from datetime import timedelta as td

    with _client(database_url) as client:
        try:
            trigger = OneShotTrigger(at=when or client.clock.now())
        except ValidationError as exc:
            raise typer.BadParameter(str(exc).splitlines()[0], param_hint="--at") from None
        made = client.campaigns.manager.create(tenant, name, trigger=trigger, variants=variants, audience=criteria,
                                               ab=ab, conversion_window=td(days=window_days))
        console.print(f"campaign {made.id}: {made.name} ({made.status}), variants "
                      f"{', '.join(f'{v.name}×{v.weight}' for v in made.variants)}, holdout {made.ab.holdout}")


@campaign_app.command("schedule")
def campaign_schedule(tenant: str, campaign_id: str, database_url: DbUrl = None) -> None:
    """Schedule a draft campaign (its trigger's timers start)."""
    from invekto_integrations.campaigns import CampaignManager

    with _client(database_url) as client:
        done = CampaignManager(_campaign_store(client).campaigns, clock=client.clock).schedule(tenant, campaign_id)
        console.print(f"{done.id}: {done.status}")


@campaign_app.command("stats")
def campaign_stats(tenant: str, campaign_id: str, database_url: DbUrl = None) -> None:
    """Per-variant sent, delivered, read, replied, converted, revenue and ROI."""
    from invekto_integrations.campaigns import campaign_report
    from invekto_integrations.campaigns.reports import costs_from_settings

    with _client(database_url) as client:
        s = _campaign_store(client)
        report = campaign_report(campaign_id, tenant_id=tenant, campaigns=s.campaigns,
                                 recipients=s.campaign_recipients, conversions=s.campaign_conversions,
                                 costs=costs_from_settings(s.tenant_settings))
        console.print(report)


@attribution_app.command("report")
def attribution_report(
    tenant: str, start: Annotated[str | None, typer.Option(help="First day (default: 30 days ago).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (default: today).")] = None,
    model: Annotated[str, typer.Option(help="last_touch, first_touch, linear, time_decay, position_based")]
    = "last_touch",
    database_url: DbUrl = None,
) -> None:
    """The campaign → ad set → ad → leads → conversions funnel with CPL and ROAS."""
    from invekto_integrations.models.attribution import AttributionModel

    try:
        chosen = AttributionModel(model)
    except ValueError:
        raise typer.BadParameter(f"unknown model {model!r}") from None
    with _client(database_url) as client:
        today = client.clock.now().date()
        report = client.attribution.funnel(tenant, _day(start, today - timedelta(days=30)), _day(end, today),
                                           model=chosen)
        _table(f"funnel of {tenant} ({chosen.value})",
               ["level", "campaign", "ad set", "ad", "spend", "leads", "conversions", "revenue", "CPL", "ROAS"],
               [[r.level, r.campaign_name or r.campaign_id or r.channel, r.adset_name or r.adset_id,
                 r.ad_name or r.ad_id, r.spend, r.leads, r.conversions, r.revenue, r.cpl, r.roas]
                for r in report.rows])


@pricing_app.command("list")
def pricing_list(tenant: str, database_url: DbUrl = None) -> None:
    """The clinic's active services and their price ranges."""
    with _client(database_url) as client:
        rows = [[s.id, s.service_name, s.price_min, s.price_max, s.currency, s.duration_minutes]
                for s in client.store.service_pricing.find(tenant)]
        _table(f"services of {tenant}", ["id", "service", "min", "max", "currency", "minutes"], rows)


@pricing_app.command("set")
def pricing_set(tenant: str, service: str, price_min: str, price_max: str,
                minutes: Annotated[int, typer.Option(help="Duration in minutes.")] = 30,
                database_url: DbUrl = None) -> None:
    """Add a service with its price range, or change an existing one's range."""
    from invekto_integrations.appointments.pricing import PriceCatalog

    with _client(database_url) as client:
        catalog = PriceCatalog(client.store.service_pricing, clock=client.clock)
        existing = client.store.service_pricing.get_active(tenant, service)
        if existing is None:
            saved = catalog.create(tenant, service, price_min, price_max, minutes)
        else:
            saved = catalog.edit(tenant, existing.id, price_min=price_min, price_max=price_max)
        console.print(f"{saved.service_name}: {saved.price_min}–{saved.price_max} {saved.currency}")


@app.command()
def dashboard(
    tenant: str, out: Annotated[Path, typer.Option(help="Where to write the HTML report.")] = Path("report.html"),
    start: Annotated[str | None, typer.Option("--from", help="First day (default: 30 days ago).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (default: today).")] = None,
    niche: Annotated[str, typer.Option(help="ecommerce, dental or aesthetic")] = "ecommerce",
    database_url: DbUrl = None,
) -> None:
    """Write the tenant's self-contained HTML dashboard report."""
    if niche not in ("ecommerce", "dental", "aesthetic"):
        raise typer.BadParameter("niche must be ecommerce, dental or aesthetic")
    with _client(database_url) as client:
        today = client.clock.now().date()
        report = client.dashboard.report(tenant, _day(start, today - timedelta(days=30)), _day(end, today),
                                         niche=niche)  # type: ignore[arg-type]
        out.write_text(report.to_html(), encoding="utf-8")
        console.print(f"wrote {out} ({out.stat().st_size:,} bytes)")


@runtime_app.command("status")
def runtime_status(database_url: DbUrl = None) -> None:
    """Per engine and tenant: lag in events, last run, last error, next timer."""
    from invekto_integrations.service._engines import default_engines

    with _client(database_url) as client:
        runtime = client.runtime(default_engines(client))
        _table("runtime", ["engine", "tenant", "lag", "last run", "last error", "next timer"],
               [[s.engine, s.tenant_id, s.lag, s.last_run_at, (s.last_error or "")[:60], s.next_timer_at]
                for s in runtime.status()])


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``invekto-integrations`` script."""
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name="invekto-integrations", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
