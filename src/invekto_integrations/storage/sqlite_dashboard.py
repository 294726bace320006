"""SQLite dashboard repositories (``return_cases``, ``review_cases``) and the report reader.

The reader's range queries run on indexes that lead with ``tenant_id`` and then the time column
(migration ``dashboard_0003_report_indexes`` adds the ones the other areas' tables lacked);
``tests/dashboard`` checks with ``EXPLAIN QUERY PLAN`` that none of them scans a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from .dashboard_records import ReturnCase, ReturnOutcome, ReviewCase, ReviewOutcome
from .protocols import TenantMismatch
from .records import (
    Appointment,
    CachedOrder,
    OutboxRecord,
    ServicePricing,
    TrackedShipment,
    WaitlistEntry,
    WaitlistOffer,
)
from .sqlite_appointments import _APPT_SELECT, _OF_COLS, _WL_COLS, SQLiteAppointments, SQLiteWaitlist
from .sqlite_messaging import _SELECT as _OUTBOX_SELECT
from .sqlite_messaging import SQLiteOutbox

if TYPE_CHECKING:
    from .sqlite import SQLiteOrderCache
    from .sqlite_appointments import SQLiteServicePricing
    from .sqlite_shipments import SQLiteShipments

__all__ = ["SQLiteReportReader", "SQLiteReturnCases", "SQLiteReviewCases"]

_RC_COLS = ("id", "tenant_id", "provider", "account_id", "claim_id", "order_number", "claim_status", "reason",
            "customer_phone", "claim_amount", "currency", "opened_at", "contacted_at", "contact_channel", "outcome",
            "outcome_at", "concession_amount", "note", "created_at", "updated_at")
_RV_COLS = ("id", "tenant_id", "platform", "review_id", "product_id", "customer_phone", "rating_before",
            "rating_after", "negative", "reviewed_at", "followed_up_at", "outcome", "outcome_at", "created_at",
            "updated_at")
_TS = {"opened_at", "contacted_at", "outcome_at", "created_at", "updated_at", "reviewed_at", "followed_up_at"}
_MONEY = {"claim_amount", "concession_amount"}


def _values(model: Any, cols: Sequence[str]) -> list[object]:
    out: list[object] = []
    for c in cols:
        v = getattr(model, c)
        if c in _TS:
            v = to_ts(v) if v is not None else None
        elif c in _MONEY:
            v = str(v)  # Decimal as text: exact
        elif isinstance(v, bool):
            v = int(v)
        elif isinstance(v, ReturnOutcome | ReviewOutcome):
            v = v.value
        out.append(v)
    return out


def _read(r: Any, cols: Sequence[str]) -> dict[str, Any]:
    data = {c: r[c] for c in cols}
    for c in cols:
        if c in _TS and data[c] is not None:
            data[c] = from_ts(data[c])
        elif c in _MONEY:
            data[c] = Decimal(data[c])
    return data


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _range(sql: str, column: str, start: datetime | None, end: datetime | None,
           params: list[object]) -> str:
    if start is not None:
        sql += f" AND {column} >= ?"
        params.append(to_ts(start))
    if end is not None:
        sql += f" AND {column} < ?"
        params.append(to_ts(end))
    return sql


class SQLiteReturnCases(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "dashboard_0001_return_cases",
            [
                """CREATE TABLE return_cases (
                    id TEXT NOT NULL, tenant_id TEXT NOT NULL, provider TEXT NOT NULL, account_id TEXT,
                    claim_id TEXT NOT NULL, order_number TEXT NOT NULL, claim_status TEXT NOT NULL, reason TEXT,
                    customer_phone TEXT, claim_amount TEXT NOT NULL, currency TEXT NOT NULL,
                    opened_at TEXT NOT NULL, contacted_at TEXT, contact_channel TEXT, outcome TEXT NOT NULL,
                    outcome_at TEXT, concession_amount TEXT NOT NULL, note TEXT,
                    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, provider, claim_id))""",
                "CREATE INDEX ix_return_cases_opened ON return_cases (tenant_id, opened_at)",
            ],
        )

    def _check(self, tenant_id: str, case: ReturnCase) -> None:
        if case.tenant_id != tenant_id:
            raise TenantMismatch("return case belongs to another tenant")

    def add(self, tenant_id: str, case: ReturnCase) -> bool:
        self._check(tenant_id, case)
        cur = self.db.execute(
            f"INSERT OR IGNORE INTO return_cases ({', '.join(_RC_COLS)}) VALUES ({_marks(len(_RC_COLS))})",
            _values(case, _RC_COLS),
        )
        return cur.rowcount == 1

    def save(self, tenant_id: str, case: ReturnCase) -> None:
        self._check(tenant_id, case)
        self.db.execute(
            f"INSERT OR REPLACE INTO return_cases ({', '.join(_RC_COLS)}) VALUES ({_marks(len(_RC_COLS))})",
            _values(case, _RC_COLS),
        )

    def get(self, tenant_id: str, provider: str, claim_id: str) -> ReturnCase | None:
        r = self.db.execute(
            f"SELECT {', '.join(_RC_COLS)} FROM return_cases WHERE tenant_id = ? AND provider = ? AND claim_id = ?",
            (tenant_id, provider, claim_id),
        ).fetchone()
        return ReturnCase.model_validate(_read(r, _RC_COLS)) if r else None

    def find(self, tenant_id: str, *, opened_from: datetime | None = None, opened_to: datetime | None = None,
             provider: str | None = None) -> list[ReturnCase]:
        params: list[object] = [tenant_id]
        sql = _range(f"SELECT {', '.join(_RC_COLS)} FROM return_cases WHERE tenant_id = ?", "opened_at",
                     opened_from, opened_to, params)
        if provider is not None:
            sql += " AND provider = ?"
            params.append(provider)
        rows = self.db.execute(sql + " ORDER BY opened_at, id", params)
        return [ReturnCase.model_validate(_read(r, _RC_COLS)) for r in rows]

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tenant_id FROM return_cases ORDER BY 1")]


class SQLiteReviewCases(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate(
            "dashboard_0002_review_cases",
            [
                """CREATE TABLE review_cases (
                    id TEXT NOT NULL, tenant_id TEXT NOT NULL, platform TEXT NOT NULL, review_id TEXT NOT NULL,
                    product_id TEXT, customer_phone TEXT, rating_before INTEGER NOT NULL, rating_after INTEGER,
                    negative INTEGER NOT NULL, reviewed_at TEXT NOT NULL, followed_up_at TEXT,
                    outcome TEXT NOT NULL, outcome_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, platform, review_id))""",
                "CREATE INDEX ix_review_cases_reviewed ON review_cases (tenant_id, reviewed_at)",
            ],
        )

    def _check(self, tenant_id: str, case: ReviewCase) -> None:
        if case.tenant_id != tenant_id:
            raise TenantMismatch("review case belongs to another tenant")

    def add(self, tenant_id: str, case: ReviewCase) -> bool:
        self._check(tenant_id, case)
        cur = self.db.execute(
            f"INSERT OR IGNORE INTO review_cases ({', '.join(_RV_COLS)}) VALUES ({_marks(len(_RV_COLS))})",
            _values(case, _RV_COLS),
        )
        return cur.rowcount == 1

    def save(self, tenant_id: str, case: ReviewCase) -> None:
        self._check(tenant_id, case)
        self.db.execute(
            f"INSERT OR REPLACE INTO review_cases ({', '.join(_RV_COLS)}) VALUES ({_marks(len(_RV_COLS))})",
            _values(case, _RV_COLS),
        )

    @staticmethod
    def _row(r: Any) -> ReviewCase:
        data = _read(r, _RV_COLS)
        data["negative"] = bool(data["negative"])
        return ReviewCase.model_validate(data)

    def get(self, tenant_id: str, platform: str, review_id: str) -> ReviewCase | None:
        r = self.db.execute(
            f"SELECT {', '.join(_RV_COLS)} FROM review_cases WHERE tenant_id = ? AND platform = ? AND review_id = ?",
            (tenant_id, platform, review_id),
        ).fetchone()
        return self._row(r) if r else None

    def find(self, tenant_id: str, *, reviewed_from: datetime | None = None, reviewed_to: datetime | None = None,
             platform: str | None = None, negative: bool | None = None) -> list[ReviewCase]:
        params: list[object] = [tenant_id]
        sql = _range(f"SELECT {', '.join(_RV_COLS)} FROM review_cases WHERE tenant_id = ?", "reviewed_at",
                     reviewed_from, reviewed_to, params)
        if platform is not None:
            sql += " AND platform = ?"
            params.append(platform)
        if negative is not None:
            sql += " AND negative = ?"
            params.append(int(negative))
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY reviewed_at, id", params)]


class SQLiteReportReader(ConciseRepr, fields=("db",)):
    """Range reads over the other areas' tables; builds the indexes they need on first use."""

    def __init__(self, db: SQLiteDatabase, *, orders: SQLiteOrderCache, shipments: SQLiteShipments,
                 service_pricing: SQLiteServicePricing) -> None:
        # The repositories of the other tables are built first (their migrations create the tables).
        self.db = db
        self._orders = orders
        self._shipments = shipments
        self._pricing = service_pricing
        #: Every range read: name -> SQL (tests run EXPLAIN QUERY PLAN on each).
        self.queries: dict[str, str] = {
            "orders": f"SELECT {orders._COLS} FROM orders_cache WHERE tenant_id = ? AND ordered_at >= ? "
                      "AND ordered_at < ? ORDER BY ordered_at, id",
            "shipments": "SELECT * FROM shipments WHERE tenant_id = ? AND created_at >= ? AND created_at < ? "
                         "ORDER BY created_at, carrier, tracking_number",
            "appointments": f"{_APPT_SELECT} WHERE tenant_id = ? AND starts_at >= ? AND starts_at < ? "
                            "ORDER BY starts_at, id",
            "booked_appointments": f"{_APPT_SELECT} WHERE tenant_id = ? AND COALESCE(booked_at, created_at) >= ? "
                                   "AND COALESCE(booked_at, created_at) < ? "
                                   "ORDER BY COALESCE(booked_at, created_at), id",
            "waitlist_entries": f"SELECT {', '.join(_WL_COLS)} FROM waitlist WHERE tenant_id = ? "
                                "AND created_at >= ? AND created_at < ? ORDER BY created_at, id",
            "waitlist_offers": f"SELECT {', '.join(_OF_COLS)} FROM waitlist_offers WHERE tenant_id = ? "
                               "AND created_at >= ? AND created_at < ? ORDER BY created_at, id",
            "return_cases": f"SELECT {', '.join(_RC_COLS)} FROM return_cases WHERE tenant_id = ? "
                            "AND opened_at >= ? AND opened_at < ? ORDER BY opened_at, id",
            "campaign_messages": f"{_OUTBOX_SELECT} WHERE tenant_id = ? AND purpose = 'campaign' "
                                 "AND created_at >= ? AND created_at < ? ORDER BY created_at, id",
            "review_cases": f"SELECT {', '.join(_RV_COLS)} FROM review_cases WHERE tenant_id = ? "
                            "AND reviewed_at >= ? AND reviewed_at < ? ORDER BY reviewed_at, id",
        }
        db.migrate(
            "dashboard_0003_report_indexes",
            [
                "CREATE INDEX IF NOT EXISTS ix_dash_orders_ordered ON orders_cache (tenant_id, ordered_at)",
                "CREATE INDEX IF NOT EXISTS ix_dash_shipments_created ON shipments (tenant_id, created_at)",
                "CREATE INDEX IF NOT EXISTS ix_dash_appointments_start ON appointments (tenant_id, starts_at)",
                "CREATE INDEX IF NOT EXISTS ix_dash_appointments_booked ON appointments "
                "(tenant_id, COALESCE(booked_at, created_at))",
                "CREATE INDEX IF NOT EXISTS ix_dash_waitlist_created ON waitlist (tenant_id, created_at)",
                "CREATE INDEX IF NOT EXISTS ix_dash_offers_created ON waitlist_offers (tenant_id, created_at)",
            ],
        )
        db.migrate("dashboard_0004_outbox_purpose_index",
                   ["CREATE INDEX IF NOT EXISTS ix_dash_outbox_purpose ON outbox (tenant_id, purpose, created_at)"])

    def _rows(self, name: str, tenant_id: str, start: datetime, end: datetime) -> list[Any]:
        return list(self.db.execute(self.queries[name], (tenant_id, to_ts(start), to_ts(end))))

    def orders(self, tenant_id: str, start: datetime, end: datetime) -> list[CachedOrder]:
        return [self._orders._row(r) for r in self._rows("orders", tenant_id, start, end)]

    def shipments(self, tenant_id: str, start: datetime, end: datetime) -> list[TrackedShipment]:
        return [self._shipments._row(r) for r in self._rows("shipments", tenant_id, start, end)]

    def appointments(self, tenant_id: str, start: datetime, end: datetime) -> list[Appointment]:
        return [SQLiteAppointments._row(r) for r in self._rows("appointments", tenant_id, start, end)]

    def booked_appointments(self, tenant_id: str, start: datetime, end: datetime) -> list[Appointment]:
        return [SQLiteAppointments._row(r) for r in self._rows("booked_appointments", tenant_id, start, end)]

    def waitlist_entries(self, tenant_id: str, start: datetime, end: datetime) -> list[WaitlistEntry]:
        return [SQLiteWaitlist._entry(r) for r in self._rows("waitlist_entries", tenant_id, start, end)]

    def waitlist_offers(self, tenant_id: str, start: datetime, end: datetime) -> list[WaitlistOffer]:
        return [SQLiteWaitlist._offer(r) for r in self._rows("waitlist_offers", tenant_id, start, end)]

    def campaign_messages(self, tenant_id: str, start: datetime, end: datetime) -> list[OutboxRecord]:
        return [SQLiteOutbox._row(r) for r in self._rows("campaign_messages", tenant_id, start, end)]

    def services(self, tenant_id: str) -> Sequence[ServicePricing]:
        return self._pricing.find(tenant_id, active_only=False)
