"""PostgreSQL dashboard repositories (``return_cases``, ``review_cases``).

`save` is one ``INSERT ... ON CONFLICT (tenant_id, <natural key>) DO UPDATE``: the conflict
target leads with ``tenant_id``, so a case of one tenant never replaces another tenant's row.
Money is ``NUMERIC`` (read back as `Decimal`), times ``TIMESTAMPTZ``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.dashboard_records import ReturnCase, ReviewCase
from invekto_integrations.storage.protocols import TenantMismatch

from ._db import PostgresDatabase, Row

__all__ = ["RC_COLS", "RV_COLS", "PostgresReturnCases", "PostgresReviewCases"]

RC_COLS = ("tenant_id", "provider", "claim_id", "id", "account_id", "order_number", "claim_status", "reason",
           "customer_phone", "claim_amount", "currency", "opened_at", "contacted_at", "contact_channel", "outcome",
           "outcome_at", "concession_amount", "note", "created_at", "updated_at")
RV_COLS = ("tenant_id", "platform", "review_id", "id", "product_id", "customer_phone", "rating_before",
           "rating_after", "negative", "reviewed_at", "followed_up_at", "outcome", "outcome_at", "created_at",
           "updated_at")


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def _values(model: Any, cols: Sequence[str]) -> list[object]:
    return [getattr(model, c) for c in cols]


def _range(sql: str, column: str, start: datetime | None, end: datetime | None, params: list[object]) -> str:
    if start is not None:
        sql += f" AND {column} >= %s"
        params.append(start)
    if end is not None:
        sql += f" AND {column} < %s"
        params.append(end)
    return sql


class _CaseTable:
    table = ""
    cols: tuple[str, ...] = ()
    key = 3  # the first ``key`` columns: (tenant_id, natural key...)

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        names = ", ".join(self.cols)
        self._insert = f"INSERT INTO {self.table} ({names}) VALUES ({_marks(len(self.cols))})"
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self.cols[self.key:])
        self._upsert = f"{self._insert} ON CONFLICT ({', '.join(self.cols[:self.key])}) DO UPDATE SET {updates}"
        self._select = f"SELECT {names} FROM {self.table}"

    def _add(self, model: Any) -> bool:
        return self.db.execute(self._insert + " ON CONFLICT DO NOTHING", _values(model, self.cols)) == 1

    def _save(self, model: Any) -> None:
        self.db.execute(self._upsert, _values(model, self.cols))

    def _get(self, tenant_id: str, a: str, b: str) -> Row | None:
        k1, k2 = self.cols[1], self.cols[2]
        return self.db.fetchone(f"{self._select} WHERE tenant_id = %s AND {k1} = %s AND {k2} = %s",
                                (tenant_id, a, b))


class PostgresReturnCases(_CaseTable, ConciseRepr, fields=("db",)):
    table, cols = "return_cases", RC_COLS

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(db)
        db.migrate(
            "dashboard_0001_return_cases",
            [
                """CREATE TABLE return_cases (
                    tenant_id TEXT NOT NULL, provider TEXT NOT NULL, claim_id TEXT NOT NULL, id TEXT NOT NULL,
                    account_id TEXT, order_number TEXT NOT NULL, claim_status TEXT NOT NULL, reason TEXT,
                    customer_phone TEXT, claim_amount NUMERIC NOT NULL, currency TEXT NOT NULL,
                    opened_at TIMESTAMPTZ NOT NULL, contacted_at TIMESTAMPTZ, contact_channel TEXT,
                    outcome TEXT NOT NULL, outcome_at TIMESTAMPTZ, concession_amount NUMERIC NOT NULL, note TEXT,
                    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (tenant_id, provider, claim_id))""",
                "CREATE INDEX ix_return_cases_opened ON return_cases (tenant_id, opened_at, id)",
            ],
        )

    @staticmethod
    def _check(tenant_id: str, case: ReturnCase) -> None:
        if case.tenant_id != tenant_id:
            raise TenantMismatch("return case belongs to another tenant")

    def add(self, tenant_id: str, case: ReturnCase) -> bool:
        self._check(tenant_id, case)
        return self._add(case)

    def save(self, tenant_id: str, case: ReturnCase) -> None:
        self._check(tenant_id, case)
        self._save(case)

    def get(self, tenant_id: str, provider: str, claim_id: str) -> ReturnCase | None:
        r = self._get(tenant_id, provider, claim_id)
        return ReturnCase.model_validate(r) if r else None

    def find(self, tenant_id: str, *, opened_from: datetime | None = None, opened_to: datetime | None = None,
             provider: str | None = None) -> list[ReturnCase]:
        params: list[object] = [tenant_id]
        sql = _range(f"{self._select} WHERE tenant_id = %s", "opened_at", opened_from, opened_to, params)
        if provider is not None:
            sql += " AND provider = %s"
            params.append(provider)
        return [ReturnCase.model_validate(r) for r in self.db.fetchall(sql + " ORDER BY opened_at, id", params)]

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall("SELECT DISTINCT tenant_id FROM return_cases ORDER BY 1")]


class PostgresReviewCases(_CaseTable, ConciseRepr, fields=("db",)):
    table, cols = "review_cases", RV_COLS

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(db)
        db.migrate(
            "dashboard_0002_review_cases",
            [
                """CREATE TABLE review_cases (
                    tenant_id TEXT NOT NULL, platform TEXT NOT NULL, review_id TEXT NOT NULL, id TEXT NOT NULL,
                    product_id TEXT, customer_phone TEXT, rating_before INTEGER NOT NULL, rating_after INTEGER,
                    negative BOOLEAN NOT NULL, reviewed_at TIMESTAMPTZ NOT NULL, followed_up_at TIMESTAMPTZ,
                    outcome TEXT NOT NULL, outcome_at TIMESTAMPTZ, created_at TIMESTAMPTZ NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, platform, review_id))""",
                "CREATE INDEX ix_review_cases_reviewed ON review_cases (tenant_id, reviewed_at, id)",
            ],
        )

    @staticmethod
    def _check(tenant_id: str, case: ReviewCase) -> None:
        if case.tenant_id != tenant_id:
            raise TenantMismatch("review case belongs to another tenant")

    def add(self, tenant_id: str, case: ReviewCase) -> bool:
        self._check(tenant_id, case)
        return self._add(case)

    def save(self, tenant_id: str, case: ReviewCase) -> None:
        self._check(tenant_id, case)
        self._save(case)

    def get(self, tenant_id: str, platform: str, review_id: str) -> ReviewCase | None:
        r = self._get(tenant_id, platform, review_id)
        return ReviewCase.model_validate(r) if r else None

    def find(self, tenant_id: str, *, reviewed_from: datetime | None = None, reviewed_to: datetime | None = None,
             platform: str | None = None, negative: bool | None = None) -> list[ReviewCase]:
        params: list[object] = [tenant_id]
        sql = _range(f"{self._select} WHERE tenant_id = %s", "reviewed_at", reviewed_from, reviewed_to, params)
        if platform is not None:
            sql += " AND platform = %s"
            params.append(platform)
        if negative is not None:
            sql += " AND negative = %s"
            params.append(negative)
        return [ReviewCase.model_validate(r) for r in self.db.fetchall(sql + " ORDER BY reviewed_at, id", params)]
