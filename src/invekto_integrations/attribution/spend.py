"""Ad spend (3.14.4): manual entries per campaign / ad set / ad and day (TRY by default), CSV
import with line-numbered errors, and Marketing API Insights pulls (per day and level, paging,
async report runs for long ranges). Where both exist for a campaign and day, manual entries win
(applied when the reports read spend, so neither source is ever overwritten by the other).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidArgument, ProviderError, ProviderUnavailable
from invekto_integrations.core.money import to_decimal
from invekto_integrations.models.ads import AdsLevel, InsightsRow
from invekto_integrations.models.attribution import SpendEntry, SpendOrigin
from invekto_integrations.providers.base import AdsInsightsSource
from invekto_integrations.storage.protocols_attribution import SpendRepository

__all__ = [
    "CSV_COLUMNS",
    "CsvImportResult",
    "CsvLineError",
    "InsightsPullResult",
    "add_manual_spend",
    "import_spend_csv",
    "pull_insights",
    "spend_entry",
]

CSV_COLUMNS = ("date", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name", "amount",
               "currency")
_REQUIRED = ("date", "campaign_id", "amount")


def _opt(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def spend_entry(tenant_id: str, day: date, campaign_id: str, amount: Decimal | str | int, *,
                campaign_name: str | None = None, adset_id: str | None = None, adset_name: str | None = None,
                ad_id: str | None = None, ad_name: str | None = None, currency: str = "TRY",
                origin: SpendOrigin = SpendOrigin.MANUAL) -> SpendEntry:
    """A validated entry; its level is ad when ``ad_id`` is given, else ad set, else campaign."""
    if not campaign_id or not campaign_id.strip():
        raise InvalidArgument("campaign_id is required", field="campaign_id")
    try:
        value = to_decimal(amount)
    except ValueError as exc:
        raise InvalidArgument(str(exc), field="amount", record=campaign_id) from None
    if value < 0:
        raise InvalidArgument(f"spend cannot be negative: {value}", field="amount", record=campaign_id)
    if ad_id and not adset_id:
        raise InvalidArgument("an ad-level entry needs its adset_id", field="adset_id", record=ad_id)
    level = AdsLevel.AD if ad_id else AdsLevel.ADSET if adset_id else AdsLevel.CAMPAIGN
    cur = currency.strip().upper()
    if len(cur) != 3 or not cur.isalpha():
        raise InvalidArgument(f"currency must be a 3-letter code, got {currency!r}", field="currency",
                              record=campaign_id)
    return SpendEntry(tenant_id=tenant_id, day=day, level=level, campaign_id=campaign_id.strip(),
                      campaign_name=campaign_name, adset_id=adset_id, adset_name=adset_name, ad_id=ad_id,
                      ad_name=ad_name, amount=value, currency=cur, origin=origin)


def add_manual_spend(repo: SpendRepository, tenant_id: str, day: date, campaign_id: str,
                     amount: Decimal | str | int, **kw: str | None) -> SpendEntry:
    """Store (or replace) one manual entry for an object and day."""
    entry = spend_entry(tenant_id, day, campaign_id, amount, **kw)  # type: ignore[arg-type]
    repo.upsert_many(tenant_id, [entry])
    return entry


@dataclass(frozen=True)
class CsvLineError:
    line: int        # 1-based line of the file (the header is line 1)
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f", {self.field}" if self.field else ""
        return f"line {self.line}{where}: {self.message}"


@dataclass
class CsvImportResult:
    imported: int = 0
    errors: list[CsvLineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_spend_csv(repo: SpendRepository, tenant_id: str, text: str, *, all_or_nothing: bool = False,
                     default_currency: str = "TRY") -> CsvImportResult:
    """Import manual spend from CSV with the header ``CSV_COLUMNS`` (only date, campaign_id and
    amount are required; ``;`` works as a separator too; amounts may be "1.234,50").

    A bad line is reported with its line number and field and the others are imported, unless
    ``all_or_nothing`` (then nothing is stored when any line is bad).
    """
    sample = text.lstrip("\ufeff")[:2048]
    text = text.lstrip("\ufeff")
    # newline="": the csv module reads line ends itself (a bare "\r" otherwise raises csv.Error).
    reader = csv.DictReader(io.StringIO(text, newline=""),
                            delimiter=";" if sample.count(";") > sample.count(",") else ",")
    result = CsvImportResult()
    try:
        header = [h.strip().lower() for h in reader.fieldnames or []]
    except csv.Error as exc:
        result.errors.append(CsvLineError(1, None, f"unreadable CSV: {exc}"))
        return result
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        result.errors.append(CsvLineError(1, missing[0], f"missing column(s): {', '.join(missing)}"))
        return result
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        result.errors.append(CsvLineError(1, unknown[0], f"unknown column(s): {', '.join(unknown)}"))
        return result
    entries: list[SpendEntry] = []
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # malformed quoting and the like: the line is reported, reading stops
            result.errors.append(CsvLineError(reader.line_num, None, f"unreadable CSV: {exc}"))
            break
        line = reader.line_num
        data = {(k or "").strip().lower(): (v or "") for k, v in row.items() if k is not None}
        if None in row:
            result.errors.append(CsvLineError(line, None, "more values than columns"))
            continue
        try:
            day = date.fromisoformat(data["date"].strip())
        except ValueError:
            result.errors.append(CsvLineError(line, "date", f"not a YYYY-MM-DD date: {data['date']!r}"))
            continue
        try:
            entries.append(spend_entry(
                tenant_id, day, data["campaign_id"], data["amount"].strip(),
                campaign_name=_opt(data.get("campaign_name")),
                adset_id=_opt(data.get("adset_id")), adset_name=_opt(data.get("adset_name")),
                ad_id=_opt(data.get("ad_id")), ad_name=_opt(data.get("ad_name")),
                currency=_opt(data.get("currency")) or default_currency))
        except InvalidArgument as exc:
            result.errors.append(CsvLineError(line, exc.field, exc.message))
    if result.errors and all_or_nothing:
        return result
    if entries:
        result.imported = repo.upsert_many(tenant_id, entries)
    return result


@dataclass
class InsightsPullResult:
    entries: int = 0
    days: int = 0
    async_run_id: str | None = None
    skipped: list[str] = field(default_factory=list)


def _entries(tenant_id: str, rows: Iterable[InsightsRow], currency: str | None) -> Iterator[SpendEntry]:
    for row in rows:
        if row.date_start != row.date_stop:
            raise InvalidArgument(f"an Insights row spans {row.date_start}..{row.date_stop}: pull per day",
                                  provider="meta", field="time_increment")
        if not row.campaign_id:
            continue
        yield SpendEntry(tenant_id=tenant_id, day=row.date_start, level=row.level, campaign_id=row.campaign_id,
                         campaign_name=row.campaign_name,
                         adset_id=row.adset_id if row.level is not AdsLevel.CAMPAIGN else None,
                         adset_name=row.adset_name if row.level is not AdsLevel.CAMPAIGN else None,
                         ad_id=row.ad_id if row.level is AdsLevel.AD else None,
                         ad_name=row.ad_name if row.level is AdsLevel.AD else None,
                         amount=row.spend, currency=(row.currency or currency or "TRY").upper(),
                         origin=SpendOrigin.INSIGHTS)


def pull_insights(source: AdsInsightsSource, repo: SpendRepository, tenant_id: str, ad_account_id: str,
                  since: date, until: date, *, level: AdsLevel = AdsLevel.AD, currency: str | None = None,
                  async_after_days: int = 31, poll_every: float = 5.0, max_polls: int = 120,
                  clock: Clock | None = None, batch: int = 1000) -> InsightsPullResult:
    """Pull daily spend of [since, until] (ad account days) into ``repo`` as Insights entries
    (upserted on object and day, so re-pulling the last 28 days to catch late changes is safe).

    Ranges longer than ``async_after_days`` go through an async report run, polled every
    ``poll_every`` seconds on ``clock`` (at most ``max_polls`` times).
    """
    if until < since:
        raise InvalidArgument(f"until {until} is before since {since}", field="until")
    clock = clock or SystemClock()
    result = InsightsPullResult(days=(until - since).days + 1)
    if result.days > async_after_days:
        run_id = source.start_report_run(ad_account_id, since, until, level=level)
        result.async_run_id = run_id
        for _ in range(max_polls):
            run = source.get_report_run(run_id)
            if run.status.finished:
                break
            clock.sleep(poll_every)
        else:
            raise ProviderUnavailable(f"report run {run_id} did not finish after {max_polls} polls",
                                      provider="meta", operation="get_report_run")
        if run.status.value != "Job Completed":
            raise ProviderError(f"report run {run_id} ended with {run.status.value}", provider="meta",
                                operation="get_report_run", code=run.status.value)
        rows: Iterable[InsightsRow] = source.iter_report_run_insights(run_id, level=level)
    else:
        rows = source.iter_insights(ad_account_id, since, until, level=level)
    pending: list[SpendEntry] = []
    for entry in _entries(tenant_id, rows, currency):
        pending.append(entry)
        if len(pending) >= batch:
            result.entries += repo.upsert_many(tenant_id, pending)
            pending = []
    if pending:
        result.entries += repo.upsert_many(tenant_id, pending)
    return result


__all__ += ["rolling_window"]


def rolling_window(today: date, days: int = 28) -> tuple[date, date]:
    """The [since, until] to re-pull daily: Insights numbers change for about 28 days."""
    return today - timedelta(days=days - 1), today
