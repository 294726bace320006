"""PostgreSQL attribution repositories and the report aggregates in SQL.

The same tables as SQLite's (migrations ``attribution_0001`` ... ``0008``), with PostgreSQL types:
times ``TIMESTAMPTZ``, days ``DATE``, exact money ``NUMERIC`` next to integer minor units
(``*_minor``, kuruş) for sums, flags ``BOOLEAN``. Every primary key and index leads with
``tenant_id``; the public redirect, which knows only a code, finds the link's tenant through the
routing table ``attribution_link_codes`` (code → tenant), which also keeps codes unique across
tenants.

The credit query is SQLite's, step for step, in ``float8`` (SQLite's REAL): the same shares, sums
and decay weights (``power(2, -age_us / half_life_us)``, the C ``pow`` on both), so both stores
give the same report from the same rows (``tests/attribution`` compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from invekto_integrations.core.errors import StorageError
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.models.ads import AdsLevel
from invekto_integrations.models.attribution import (
    AdCacheEntry,
    AdRef,
    AttributionModel,
    CapiDelivery,
    Channel,
    Conversion,
    ConversionKind,
    CreditRow,
    Lead,
    LeadCountRow,
    LinkClick,
    SourceKey,
    SpendEntry,
    SpendTotalRow,
    TagRule,
    Touch,
    TrackedLink,
    Utm,
)
from invekto_integrations.storage.protocols import DuplicateRecord, TenantMismatch

from ._db import PostgresDatabase, Row

__all__ = [
    "PostgresAdCache",
    "PostgresAttributionReports",
    "PostgresCapiDeliveries",
    "PostgresConversions",
    "PostgresLeads",
    "PostgresSpend",
    "PostgresTagRules",
    "PostgresTouches",
    "PostgresTrackedLinks",
]

_CENT = Decimal("0.01")
_CREDIT = Decimal("0.0001")


def _minor(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).quantize(Decimal(1), ROUND_HALF_EVEN))


def _check(tenant_id: str, record_tenant: str, what: str) -> None:
    if record_tenant != tenant_id:
        raise TenantMismatch(f"{what} belongs to another tenant")


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def _insert_many(db: PostgresDatabase, sql: str, rows: Sequence[Sequence[object]]) -> int:
    """``executemany`` (pipelined) in one transaction; the number of rows actually inserted."""
    if not rows:
        return 0
    try:
        with db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(sql, rows)
            return max(cur.rowcount, 0)  # psycopg sums the row counts of executemany
    except psycopg.Error as exc:  # pragma: no cover - transaction() wraps it already
        raise StorageError(f"PostgreSQL error: {exc}") from exc


_AD_COLS = ("campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name")
_UTM_COLS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_SOURCE_DDL = ", ".join(f"{c} TEXT" for c in (*_AD_COLS, *_UTM_COLS))


def _ad_values(ad: AdRef) -> list[object]:
    return [getattr(ad, c) for c in _AD_COLS]


def _utm_values(utm: Utm) -> list[object]:
    return [getattr(utm, c.removeprefix("utm_")) for c in _UTM_COLS]


def _ad(r: Row) -> AdRef:
    return AdRef(**{c: r[c] for c in _AD_COLS})


def _utm(r: Row) -> Utm:
    return Utm(**{c.removeprefix("utm_"): r[c] for c in _UTM_COLS})


class PostgresTrackedLinks(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("attribution_0001_links", [
            """CREATE TABLE attribution_links (
                tenant_id TEXT NOT NULL, code TEXT NOT NULL, link_id TEXT NOT NULL, data_json TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, code))""",
            "CREATE INDEX ix_attribution_links_id ON attribution_links (tenant_id, link_id)",
            # The public redirect knows only the code: a routing table, unique by code (see the docs).
            """CREATE TABLE attribution_link_codes (code TEXT PRIMARY KEY, tenant_id TEXT NOT NULL)""",
            """CREATE TABLE attribution_clicks (
                tenant_id TEXT NOT NULL, click_id TEXT NOT NULL, code TEXT NOT NULL, at TIMESTAMPTZ NOT NULL,
                fbclid TEXT, gclid TEXT, user_agent TEXT, PRIMARY KEY (tenant_id, click_id))""",
            "CREATE INDEX ix_attribution_clicks_code ON attribution_clicks (tenant_id, code, at)",
        ])

    def add(self, tenant_id: str, link: TrackedLink) -> None:
        _check(tenant_id, link.tenant_id, "link")
        with self.db.transaction():
            if self.db.execute("INSERT INTO attribution_link_codes (code, tenant_id) VALUES (%s, %s) "
                               "ON CONFLICT DO NOTHING", (link.code, tenant_id)) != 1:
                raise DuplicateRecord(f"link code {link.code} exists")
            self.db.execute("INSERT INTO attribution_links (tenant_id, code, link_id, data_json, created_at) "
                            "VALUES (%s, %s, %s, %s, %s)",
                            (tenant_id, link.code, link.link_id, link.model_dump_json(), link.created_at))

    def get_by_code(self, tenant_id: str, code: str) -> TrackedLink | None:
        r = self.db.fetchone("SELECT data_json FROM attribution_links WHERE tenant_id = %s AND code = %s",
                             (tenant_id, code))
        return TrackedLink.model_validate_json(r["data_json"]) if r else None

    def resolve_code(self, code: str) -> TrackedLink | None:
        # Two point reads, no join (on Citus the routing table is distributed by code).
        route = self.db.fetchone("SELECT tenant_id FROM attribution_link_codes WHERE code = %s", (code,))
        return self.get_by_code(route["tenant_id"], code) if route else None

    def find(self, tenant_id: str) -> list[TrackedLink]:
        rows = self.db.fetchall("SELECT data_json FROM attribution_links WHERE tenant_id = %s ORDER BY link_id",
                                (tenant_id,))
        return [TrackedLink.model_validate_json(r["data_json"]) for r in rows]

    def record_click(self, tenant_id: str, click: LinkClick) -> None:
        _check(tenant_id, click.tenant_id, "click")
        self.db.execute("INSERT INTO attribution_clicks (tenant_id, click_id, code, at, fbclid, gclid, user_agent) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (tenant_id, click.click_id, click.code, click.at, click.fbclid, click.gclid,
                         click.user_agent))

    def clicks(self, tenant_id: str, code: str) -> list[LinkClick]:
        rows = self.db.fetchall("SELECT * FROM attribution_clicks WHERE tenant_id = %s AND code = %s "
                                "ORDER BY at, click_id", (tenant_id, code))
        return [LinkClick.model_validate(r) for r in rows]


_TOUCH_COLS = ("tenant_id", "touch_id", "contact", "at", "channel", "channel_name", *_AD_COLS, *_UTM_COLS,
               "link_code", "ctwa_clid", "source_type", "source_id", "source_url", "headline", "referral",
               "message_id")


def _touch_values(t: Touch) -> tuple[object, ...]:
    return (t.tenant_id, t.touch_id, t.contact, t.at, t.channel.value, t.channel_name, *_ad_values(t.ad),
            *_utm_values(t.utm), t.link_code, t.ctwa_clid, t.source_type, t.source_id, t.source_url, t.headline,
            Jsonb(t.referral) if t.referral is not None else None, t.message_id)


def _touch(r: Row) -> Touch:
    return Touch(tenant_id=r["tenant_id"], touch_id=r["touch_id"], contact=r["contact"], at=r["at"],
                 channel=Channel(r["channel"]), channel_name=r["channel_name"], ad=_ad(r), utm=_utm(r),
                 link_code=r["link_code"], ctwa_clid=r["ctwa_clid"], source_type=r["source_type"],
                 source_id=r["source_id"], source_url=r["source_url"], headline=r["headline"],
                 referral=r["referral"], message_id=r["message_id"])


class PostgresTouches(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("attribution_0002_touches", [
            f"""CREATE TABLE attribution_touches (
                tenant_id TEXT NOT NULL, touch_id TEXT NOT NULL, contact TEXT NOT NULL, at TIMESTAMPTZ NOT NULL,
                channel TEXT NOT NULL, channel_name TEXT, {_SOURCE_DDL}, link_code TEXT, ctwa_clid TEXT,
                source_type TEXT, source_id TEXT, source_url TEXT, headline TEXT, referral JSONB,
                message_id TEXT, PRIMARY KEY (tenant_id, touch_id))""",
            "CREATE INDEX ix_attribution_touches_contact ON attribution_touches (tenant_id, contact, at)",
            # NULL message ids never collide (as on SQLite): only a message seen twice is refused.
            "CREATE UNIQUE INDEX ux_attribution_touches_message "
            "ON attribution_touches (tenant_id, message_id, channel)",
        ])
        self._sql = (f"INSERT INTO attribution_touches ({', '.join(_TOUCH_COLS)}) VALUES "
                     f"({_marks(len(_TOUCH_COLS))}) ON CONFLICT DO NOTHING")

    def add(self, tenant_id: str, touch: Touch) -> bool:
        return self.add_many(tenant_id, [touch]) == 1

    def add_many(self, tenant_id: str, touches: Sequence[Touch]) -> int:
        for t in touches:
            _check(tenant_id, t.tenant_id, "touch")
        return _insert_many(self.db, self._sql, [_touch_values(t) for t in touches])

    def find(self, tenant_id: str, contact: str, *, since: datetime | None = None,
             until: datetime | None = None) -> list[Touch]:
        sql = "SELECT * FROM attribution_touches WHERE tenant_id = %s AND contact = %s"
        params: list[object] = [tenant_id, contact]
        if since is not None:
            sql += " AND at >= %s"
            params.append(since)
        if until is not None:
            sql += " AND at < %s"
            params.append(until)
        return [_touch(r) for r in self.db.fetchall(sql + " ORDER BY at, touch_id", params)]


_LEAD_COLS = ("tenant_id", "lead_id", "contact", "created_at", "last_touch_at", "first_touch_id", "channel",
              "channel_name", *_AD_COLS, *_UTM_COLS, "link_code", "ctwa_clid", "source_type", "source_id",
              "headline", "labels", "segments", "explanation")


def _lead_values(lead: Lead) -> tuple[object, ...]:
    return (lead.tenant_id, lead.lead_id, lead.contact, lead.created_at, lead.last_touch_at,
            lead.first_touch_id, lead.channel.value, lead.channel_name, *_ad_values(lead.ad), *_utm_values(lead.utm),
            lead.link_code, lead.ctwa_clid, lead.source_type, lead.source_id, lead.headline,
            Jsonb(list(lead.labels)), Jsonb(list(lead.segments)), Jsonb(list(lead.tag_explanation)))


def _lead(r: Row) -> Lead:
    return Lead(tenant_id=r["tenant_id"], lead_id=r["lead_id"], contact=r["contact"], created_at=r["created_at"],
                last_touch_at=r["last_touch_at"], first_touch_id=r["first_touch_id"], channel=Channel(r["channel"]),
                channel_name=r["channel_name"], ad=_ad(r), utm=_utm(r), link_code=r["link_code"],
                ctwa_clid=r["ctwa_clid"], source_type=r["source_type"], source_id=r["source_id"],
                headline=r["headline"], labels=tuple(r["labels"]), segments=tuple(r["segments"]),
                tag_explanation=tuple(r["explanation"]))


class PostgresLeads(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("attribution_0003_leads", [
            f"""CREATE TABLE attribution_leads (
                tenant_id TEXT NOT NULL, lead_id TEXT NOT NULL, contact TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL, last_touch_at TIMESTAMPTZ NOT NULL, first_touch_id TEXT NOT NULL,
                channel TEXT NOT NULL, channel_name TEXT, {_SOURCE_DDL}, link_code TEXT, ctwa_clid TEXT,
                source_type TEXT, source_id TEXT, headline TEXT, labels JSONB NOT NULL, segments JSONB NOT NULL,
                explanation JSONB NOT NULL, PRIMARY KEY (tenant_id, lead_id))""",
            "CREATE INDEX ix_attribution_leads_contact ON attribution_leads (tenant_id, contact, created_at)",
            "CREATE INDEX ix_attribution_leads_created ON attribution_leads (tenant_id, created_at)",
            "CREATE INDEX ix_attribution_leads_clid ON attribution_leads (tenant_id, ctwa_clid)",
        ])
        self._sql = f"INSERT INTO attribution_leads ({', '.join(_LEAD_COLS)}) VALUES ({_marks(len(_LEAD_COLS))})"

    def add(self, tenant_id: str, lead: Lead) -> None:
        _check(tenant_id, lead.tenant_id, "lead")
        if self.db.execute(self._sql + " ON CONFLICT DO NOTHING", _lead_values(lead)) != 1:
            raise DuplicateRecord(f"lead {lead.lead_id} exists")

    def add_many(self, tenant_id: str, leads: Sequence[Lead]) -> int:
        for lead in leads:
            _check(tenant_id, lead.tenant_id, "lead")
        return _insert_many(self.db, self._sql + " ON CONFLICT DO NOTHING", [_lead_values(x) for x in leads])

    def save(self, tenant_id: str, lead: Lead) -> None:
        _check(tenant_id, lead.tenant_id, "lead")
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _LEAD_COLS[2:])
        self.db.execute(self._sql + f" ON CONFLICT (tenant_id, lead_id) DO UPDATE SET {updates}", _lead_values(lead))

    def get(self, tenant_id: str, lead_id: str) -> Lead | None:
        r = self.db.fetchone("SELECT * FROM attribution_leads WHERE tenant_id = %s AND lead_id = %s",
                             (tenant_id, lead_id))
        return _lead(r) if r else None

    def latest(self, tenant_id: str, contact: str) -> Lead | None:
        r = self.db.fetchone("SELECT * FROM attribution_leads WHERE tenant_id = %s AND contact = %s "
                             "ORDER BY created_at DESC, lead_id DESC LIMIT 1", (tenant_id, contact))
        return _lead(r) if r else None

    def by_ctwa_clid(self, tenant_id: str, ctwa_clid: str) -> Lead | None:
        r = self.db.fetchone("SELECT * FROM attribution_leads WHERE tenant_id = %s AND ctwa_clid = %s "
                             "ORDER BY created_at, lead_id LIMIT 1", (tenant_id, ctwa_clid))
        return _lead(r) if r else None

    def find(self, tenant_id: str, *, since: datetime | None = None, until: datetime | None = None) -> list[Lead]:
        sql = "SELECT * FROM attribution_leads WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if since is not None:
            sql += " AND created_at >= %s"
            params.append(since)
        if until is not None:
            sql += " AND created_at < %s"
            params.append(until)
        return [_lead(r) for r in self.db.fetchall(sql + " ORDER BY created_at, lead_id", params)]


_CONV_COLS = ("tenant_id", "conversion_id", "source_key", "contact", "kind", "at", "value", "value_minor",
              "currency", "origin", "lead_id", "ctwa_clid", "counted", "duplicate_of")


def _conv_values(c: Conversion) -> tuple[object, ...]:
    return (c.tenant_id, c.conversion_id, c.source_key, c.contact, c.kind.value, c.occurred_at, c.value,
            _minor(c.value), c.currency, c.origin.value, c.lead_id, c.ctwa_clid, c.counted, c.duplicate_of)


def _conv(r: Row) -> Conversion:
    return Conversion(tenant_id=r["tenant_id"], conversion_id=r["conversion_id"], source_key=r["source_key"],
                      contact=r["contact"], kind=r["kind"], occurred_at=r["at"], value=r["value"],
                      currency=r["currency"], origin=r["origin"], lead_id=r["lead_id"], ctwa_clid=r["ctwa_clid"],
                      counted=r["counted"], duplicate_of=r["duplicate_of"])


class PostgresConversions(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("attribution_0004_conversions", [
            """CREATE TABLE attribution_conversions (
                tenant_id TEXT NOT NULL, conversion_id TEXT NOT NULL, source_key TEXT NOT NULL, contact TEXT,
                kind TEXT NOT NULL, at TIMESTAMPTZ NOT NULL, value NUMERIC, value_minor BIGINT,
                currency TEXT NOT NULL, origin TEXT NOT NULL, lead_id TEXT, ctwa_clid TEXT,
                counted BOOLEAN NOT NULL, duplicate_of TEXT,
                PRIMARY KEY (tenant_id, conversion_id), UNIQUE (tenant_id, source_key))""",
            "CREATE INDEX ix_attribution_conversions_at ON attribution_conversions (tenant_id, counted, at)",
            "CREATE INDEX ix_attribution_conversions_contact ON attribution_conversions (tenant_id, contact, at)",
        ])
        self._sql = (f"INSERT INTO attribution_conversions ({', '.join(_CONV_COLS)}) VALUES "
                     f"({_marks(len(_CONV_COLS))}) ON CONFLICT DO NOTHING")

    def add(self, tenant_id: str, conversion: Conversion) -> bool:
        return self.add_many(tenant_id, [conversion]) == 1

    def add_many(self, tenant_id: str, conversions: Sequence[Conversion]) -> int:
        for c in conversions:
            _check(tenant_id, c.tenant_id, "conversion")
        return _insert_many(self.db, self._sql, [_conv_values(c) for c in conversions])

    def get(self, tenant_id: str, conversion_id: str) -> Conversion | None:
        r = self.db.fetchone("SELECT * FROM attribution_conversions WHERE tenant_id = %s AND conversion_id = %s",
                             (tenant_id, conversion_id))
        return _conv(r) if r else None

    def by_source_key(self, tenant_id: str, source_key: str) -> Conversion | None:
        r = self.db.fetchone("SELECT * FROM attribution_conversions WHERE tenant_id = %s AND source_key = %s",
                             (tenant_id, source_key))
        return _conv(r) if r else None

    def find(self, tenant_id: str, *, contact: str | None = None, kind: ConversionKind | None = None,
             since: datetime | None = None, until: datetime | None = None,
             counted: bool | None = None) -> list[Conversion]:
        sql = "SELECT * FROM attribution_conversions WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        for cond, value in (("at >= %s", since), ("at < %s", until), ("contact = %s", contact),
                            ("kind = %s", kind.value if kind else None), ("counted = %s", counted)):
            if value is not None:
                sql += f" AND {cond}"
                params.append(value)
        return [_conv(r) for r in self.db.fetchall(sql + " ORDER BY at, conversion_id", params)]

    def mark_duplicate(self, tenant_id: str, conversion_id: str, duplicate_of: str) -> None:
        self.db.execute("UPDATE attribution_conversions SET counted = FALSE, duplicate_of = %s "
                        "WHERE tenant_id = %s AND conversion_id = %s", (duplicate_of, tenant_id, conversion_id))


_SPEND_COLS = ("tenant_id", "origin", "level", "object_id", "day", *_AD_COLS, "amount_minor", "currency")


class PostgresSpend(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        db.migrate("attribution_0005_spend", [
            """CREATE TABLE attribution_spend (
                tenant_id TEXT NOT NULL, origin TEXT NOT NULL, level TEXT NOT NULL, object_id TEXT NOT NULL,
                day DATE NOT NULL, campaign_id TEXT NOT NULL, campaign_name TEXT, adset_id TEXT, adset_name TEXT,
                ad_id TEXT, ad_name TEXT, amount_minor BIGINT NOT NULL, currency TEXT NOT NULL,
                PRIMARY KEY (tenant_id, origin, level, object_id, day))""",
            "CREATE INDEX ix_attribution_spend_day ON attribution_spend (tenant_id, day)",
            "CREATE INDEX ix_attribution_spend_campaign ON attribution_spend (tenant_id, campaign_id, day, origin)",
        ])

    def upsert_many(self, tenant_id: str, entries: Sequence[SpendEntry]) -> int:
        for e in entries:
            _check(tenant_id, e.tenant_id, "spend entry")
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _SPEND_COLS[5:])
        rows = [(e.tenant_id, e.origin.value, e.level.value, e.object_id, e.day,
                 *_ad_values(AdRef(campaign_id=e.campaign_id, campaign_name=e.campaign_name, adset_id=e.adset_id,
                                   adset_name=e.adset_name, ad_id=e.ad_id, ad_name=e.ad_name)),
                 _minor(e.amount), e.currency) for e in entries]
        _insert_many(self.db, f"INSERT INTO attribution_spend ({', '.join(_SPEND_COLS)}) "
                              f"VALUES ({_marks(len(_SPEND_COLS))}) "
                              f"ON CONFLICT (tenant_id, origin, level, object_id, day) DO UPDATE SET {updates}", rows)
        return len(rows)

    @staticmethod
    def _row(r: Row) -> SpendEntry:
        return SpendEntry(tenant_id=r["tenant_id"], day=r["day"], level=AdsLevel(r["level"]),
                          campaign_id=r["campaign_id"], campaign_name=r["campaign_name"], adset_id=r["adset_id"],
                          adset_name=r["adset_name"], ad_id=r["ad_id"], ad_name=r["ad_name"],
                          amount=Decimal(r["amount_minor"]) / 100, currency=r["currency"], origin=r["origin"])

    def find(self, tenant_id: str, *, since: date | None = None, until: date | None = None) -> list[SpendEntry]:
        sql = "SELECT * FROM attribution_spend WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if since is not None:
            sql += " AND day >= %s"
            params.append(since)
        if until is not None:
            sql += " AND day <= %s"
            params.append(until)
        return [self._row(r) for r in self.db.fetchall(sql + " ORDER BY day, origin, level, object_id", params)]

    def delete(self, tenant_id: str, entry: SpendEntry) -> bool:
        return self.db.execute(
            "DELETE FROM attribution_spend WHERE tenant_id = %s AND origin = %s AND level = %s AND object_id = %s "
            "AND day = %s", (tenant_id, entry.origin.value, entry.level.value, entry.object_id, entry.day)) == 1


class _JsonTable:
    """A small (tenant_id, key) → JSON table for records read whole (rules, cache, deliveries)."""

    table = ""
    key = ""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    def _put(self, tenant_id: str, key: str, data: str, sort: int = 0) -> None:
        self.db.execute(f"INSERT INTO {self.table} (tenant_id, {self.key}, sort, data_json) VALUES (%s, %s, %s, %s) "
                        f"ON CONFLICT (tenant_id, {self.key}) DO UPDATE SET sort = EXCLUDED.sort, "
                        "data_json = EXCLUDED.data_json", (tenant_id, key, sort, data))

    def _get(self, tenant_id: str, key: str) -> str | None:
        r = self.db.fetchone(f"SELECT data_json FROM {self.table} WHERE tenant_id = %s AND {self.key} = %s",
                             (tenant_id, key))
        return str(r["data_json"]) if r else None

    def _all(self, tenant_id: str) -> list[str]:
        rows = self.db.fetchall(f"SELECT data_json FROM {self.table} WHERE tenant_id = %s ORDER BY sort, {self.key}",
                                (tenant_id,))
        return [str(r["data_json"]) for r in rows]

    def _delete(self, tenant_id: str, key: str) -> bool:
        return self.db.execute(f"DELETE FROM {self.table} WHERE tenant_id = %s AND {self.key} = %s",
                               (tenant_id, key)) == 1


def _json_ddl(table: str, key: str) -> list[str]:
    return [f"""CREATE TABLE {table} (tenant_id TEXT NOT NULL, {key} TEXT NOT NULL, sort BIGINT NOT NULL,
                data_json TEXT NOT NULL, PRIMARY KEY (tenant_id, {key}))"""]


class PostgresTagRules(_JsonTable, ConciseRepr, fields=("db",)):
    table, key = "attribution_tag_rules", "rule_id"

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(db)
        db.migrate("attribution_0006_tag_rules", _json_ddl(self.table, self.key))

    def save(self, tenant_id: str, rule: TagRule) -> None:
        _check(tenant_id, rule.tenant_id, "rule")
        self._put(tenant_id, rule.rule_id, rule.model_dump_json(), rule.priority)

    def delete(self, tenant_id: str, rule_id: str) -> bool:
        return self._delete(tenant_id, rule_id)

    def get(self, tenant_id: str, rule_id: str) -> TagRule | None:
        data = self._get(tenant_id, rule_id)
        return TagRule.model_validate_json(data) if data else None

    def find(self, tenant_id: str) -> list[TagRule]:
        return [TagRule.model_validate_json(d) for d in self._all(tenant_id)]


class PostgresAdCache(_JsonTable, ConciseRepr, fields=("db",)):
    table, key = "attribution_ad_cache", "ad_id"

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(db)
        db.migrate("attribution_0007_ad_cache", _json_ddl(self.table, self.key))

    def get(self, tenant_id: str, ad_id: str) -> AdCacheEntry | None:
        data = self._get(tenant_id, ad_id)
        return AdCacheEntry.model_validate_json(data) if data else None

    def put(self, tenant_id: str, entry: AdCacheEntry) -> None:
        _check(tenant_id, entry.tenant_id, "ad cache entry")
        self._put(tenant_id, entry.ad_id, entry.model_dump_json())


class PostgresCapiDeliveries(_JsonTable, ConciseRepr, fields=("db",)):
    table, key = "attribution_capi_deliveries", "event_id"

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(db)
        db.migrate("attribution_0008_capi_deliveries", _json_ddl(self.table, self.key))

    def get(self, tenant_id: str, event_id: str) -> CapiDelivery | None:
        data = self._get(tenant_id, event_id)
        return CapiDelivery.model_validate_json(data) if data else None

    def put(self, tenant_id: str, delivery: CapiDelivery) -> None:
        _check(tenant_id, delivery.tenant_id, "delivery")
        self._put(tenant_id, delivery.event_id, delivery.model_dump_json())

    def find(self, tenant_id: str) -> list[CapiDelivery]:
        return [CapiDelivery.model_validate_json(d) for d in self._all(tenant_id)]


# --- the report aggregates, in SQL -----------------------------------------------------------
_SOURCE = "channel, channel_name, campaign_id, campaign_name, adset_id, adset_name, ad_id, ad_name"
# Ages in integer microseconds (EXTRACT(EPOCH ...) is exact numeric): SQLite's at_us arithmetic.
_AGE_US = "((EXTRACT(EPOCH FROM c.at) - EXTRACT(EPOCH FROM t.at)) * 1000000)::bigint"
_DECAY = "power(2.0::float8, (-({age}))::float8 / %(half_life)s::float8)"

# SQLite's query (storage/sqlite_attribution.py) in PostgreSQL: one row per (conversion, touch in
# its window) numbered oldest first, with the path's length and (time decay) its total weight from
# one window; then each touch's share, in float8 like SQLite's REAL. Shares sum to 1 per conversion.
_CREDIT_SQL = f"""
WITH conv AS (
    SELECT conversion_id, contact, at, COALESCE(value_minor, 0) AS value_minor
    FROM attribution_conversions
    WHERE tenant_id = %(tenant)s AND counted AND at >= %(since)s AND at < %(until)s
      AND currency = %(currency)s AND contact IS NOT NULL AND kind = ANY(%(kinds)s)
),
path AS (
    SELECT c.value_minor, {_AGE_US} AS age_us,
           t.channel, t.channel_name, t.campaign_id, t.campaign_name, t.adset_id, t.adset_name, t.ad_id, t.ad_name,
           ROW_NUMBER() OVER w AS pos, COUNT(*) OVER w AS n,
           SUM(CASE WHEN %(model)s::text = 'time_decay' THEN {_DECAY.format(age=_AGE_US)} ELSE 1.0::float8 END)
               OVER w AS decay_sum
    FROM conv c JOIN attribution_touches t
      ON t.tenant_id = %(tenant)s AND t.contact = c.contact AND t.at <= c.at AND t.at >= c.at - %(lookback)s
    WINDOW w AS (PARTITION BY c.conversion_id ORDER BY t.at, t.touch_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
credited AS (
    SELECT *, CASE %(model)s::text
        WHEN 'last_touch' THEN CASE WHEN pos = n THEN 1.0::float8 ELSE 0.0::float8 END
        WHEN 'first_touch' THEN CASE WHEN pos = 1 THEN 1.0::float8 ELSE 0.0::float8 END
        WHEN 'linear' THEN 1.0::float8 / n
        WHEN 'position_based' THEN CASE WHEN n = 1 THEN 1.0::float8 WHEN n = 2 THEN 0.5::float8
                                        WHEN pos = 1 OR pos = n THEN 0.4::float8 ELSE 0.2::float8 / (n - 2) END
        ELSE {_DECAY.format(age="age_us")} / decay_sum
    END AS credit
    FROM path
)
SELECT {_SOURCE}, SUM(credit) AS conversions, SUM(credit * value_minor) AS revenue_minor
FROM credited WHERE credit > 0 GROUP BY {_SOURCE}
UNION ALL
SELECT 'unattributed', NULL, NULL, NULL, NULL, NULL, NULL, NULL, COUNT(*)::float8, SUM(value_minor)::float8
FROM conv c WHERE NOT EXISTS (
    SELECT 1 FROM attribution_touches t
    WHERE t.tenant_id = %(tenant)s AND t.contact = c.contact AND t.at <= c.at AND t.at >= c.at - %(lookback)s)
HAVING COUNT(*) > 0
"""

_SPEND_SQL = """
SELECT level, campaign_id, MAX(campaign_name) AS campaign_name,
       CASE WHEN level = 'campaign' THEN NULL ELSE adset_id END AS adset_id, MAX(adset_name) AS adset_name,
       CASE WHEN level = 'ad' THEN ad_id ELSE NULL END AS ad_id, MAX(ad_name) AS ad_name,
       SUM(amount_minor) AS amount_minor
FROM attribution_spend s
WHERE s.tenant_id = %(tenant)s AND s.day >= %(since)s AND s.day <= %(until)s AND s.currency = %(currency)s
  AND (s.origin = 'manual' OR NOT EXISTS (
        SELECT 1 FROM attribution_spend m
        WHERE m.tenant_id = s.tenant_id AND m.campaign_id = s.campaign_id AND m.day = s.day
          AND m.origin = 'manual'))
GROUP BY 1, 2, 4, 6
"""


def _source(r: Row) -> SourceKey:
    return SourceKey(channel=r["channel"], channel_name=r["channel_name"], campaign_id=r["campaign_id"],
                     campaign_name=r["campaign_name"], adset_id=r["adset_id"], adset_name=r["adset_name"],
                     ad_id=r["ad_id"], ad_name=r["ad_name"])


class PostgresAttributionReports(ConciseRepr, fields=("db",)):
    """The report aggregates computed by PostgreSQL (one query each; nothing per row in Python)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    def credit(self, tenant_id: str, *, since: datetime, until: datetime, model: AttributionModel,
               lookback: timedelta, half_life: timedelta, currency: str = "TRY",
               kinds: Sequence[ConversionKind] = (ConversionKind.PURCHASE,)) -> list[CreditRow]:
        if not kinds:
            return []
        params: dict[str, Any] = {
            "tenant": tenant_id, "since": since, "until": until, "currency": currency,
            "kinds": [k.value for k in kinds], "model": model.value, "lookback": lookback,
            "half_life": int(half_life.total_seconds() * 1_000_000)}
        rows = self.db.fetchall(_CREDIT_SQL, params)  # type: ignore[arg-type]
        return [CreditRow(source=_source(r), conversions=Decimal(repr(float(r["conversions"]))).quantize(_CREDIT),
                          revenue=(Decimal(repr(float(r["revenue_minor"] or 0))) / 100).quantize(_CENT))
                for r in rows]

    def lead_counts(self, tenant_id: str, *, since: datetime, until: datetime) -> list[LeadCountRow]:
        rows = self.db.fetchall(
            f"SELECT {_SOURCE}, COUNT(*) AS leads FROM attribution_leads "
            f"WHERE tenant_id = %s AND created_at >= %s AND created_at < %s GROUP BY {_SOURCE}",
            (tenant_id, since, until))
        return [LeadCountRow(source=_source(r), leads=int(r["leads"])) for r in rows]

    def spend_totals(self, tenant_id: str, *, since: date, until: date, currency: str = "TRY") -> list[SpendTotalRow]:
        rows = self.db.fetchall(_SPEND_SQL, {"tenant": tenant_id, "since": since,  # type: ignore[arg-type]
                                             "until": until, "currency": currency})
        return [SpendTotalRow(level=AdsLevel(r["level"]), campaign_id=r["campaign_id"],
                              campaign_name=r["campaign_name"], adset_id=r["adset_id"],
                              adset_name=r["adset_name"] if r["adset_id"] else None, ad_id=r["ad_id"],
                              ad_name=r["ad_name"] if r["ad_id"] else None,
                              amount=Decimal(int(r["amount_minor"])) / 100) for r in rows]
