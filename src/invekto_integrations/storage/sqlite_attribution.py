"""SQLite attribution repositories and the report aggregates in SQL.

Times of touches, leads and conversions are integer microseconds since the epoch (``*_us``), so
lookback windows are integer arithmetic the (tenant_id, contact, at_us) index serves; money is
kept exactly (TEXT) and in integer minor units (``*_minor``, kuruş) for sums. Every table leads
its primary key and indexes with ``tenant_id``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

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
    decay_weight,
)

from ._sqlite_db import SQLiteDatabase
from .protocols import DuplicateRecord, TenantMismatch

__all__ = [
    "SQLiteAdCache",
    "SQLiteAttributionReports",
    "SQLiteCapiDeliveries",
    "SQLiteConversions",
    "SQLiteLeads",
    "SQLiteSpend",
    "SQLiteTagRules",
    "SQLiteTouches",
    "SQLiteTrackedLinks",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CENT = Decimal("0.01")
_CREDIT = Decimal("0.0001")


def us(dt: datetime) -> int:
    """Aware datetime → integer microseconds since the epoch."""
    if dt.tzinfo is None:
        raise StorageError("naive datetime cannot be stored")
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _minor(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).quantize(Decimal(1), ROUND_HALF_EVEN))


def _check(tenant_id: str, record_tenant: str, what: str) -> None:
    if record_tenant != tenant_id:
        raise TenantMismatch(f"{what} belongs to another tenant")


_AD_COLS = ("campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name")
_UTM_COLS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_SOURCE_DDL = ", ".join(f"{c} TEXT" for c in (*_AD_COLS, *_UTM_COLS))


def _ad_values(ad: AdRef) -> list[object]:
    return [getattr(ad, c) for c in _AD_COLS]


def _utm_values(utm: Utm) -> list[object]:
    return [getattr(utm, c.removeprefix("utm_")) for c in _UTM_COLS]


def _ad(r: Any) -> AdRef:
    return AdRef(**{c: r[c] for c in _AD_COLS})


def _utm(r: Any) -> Utm:
    return Utm(**{c.removeprefix("utm_"): r[c] for c in _UTM_COLS})


class SQLiteTrackedLinks(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate("attribution_0001_links", [
            """CREATE TABLE attribution_links (
                tenant_id TEXT NOT NULL, code TEXT NOT NULL, link_id TEXT NOT NULL, data_json TEXT NOT NULL,
                created_us INTEGER NOT NULL, PRIMARY KEY (tenant_id, code))""",
            """CREATE TABLE attribution_clicks (
                tenant_id TEXT NOT NULL, click_id TEXT NOT NULL, code TEXT NOT NULL, at_us INTEGER NOT NULL,
                fbclid TEXT, gclid TEXT, user_agent TEXT, PRIMARY KEY (tenant_id, click_id))""",
            "CREATE INDEX ix_attribution_clicks_code ON attribution_clicks (tenant_id, code, at_us)",
        ])
        # The public redirect knows only the code: codes are unique across tenants.
        db.migrate("attribution_0009_link_code_unique", [
            "CREATE UNIQUE INDEX ux_attribution_links_code ON attribution_links (code)",
        ])

    def add(self, tenant_id: str, link: TrackedLink) -> None:
        _check(tenant_id, link.tenant_id, "link")
        cur = self.db.execute(
            "INSERT INTO attribution_links VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
            (tenant_id, link.code, link.link_id, link.model_dump_json(), us(link.created_at)))
        if cur.rowcount != 1:
            raise DuplicateRecord(f"link code {link.code} exists")

    def get_by_code(self, tenant_id: str, code: str) -> TrackedLink | None:
        r = self.db.execute("SELECT data_json FROM attribution_links WHERE tenant_id = ? AND code = ?",
                            (tenant_id, code)).fetchone()
        return TrackedLink.model_validate_json(r[0]) if r else None

    def resolve_code(self, code: str) -> TrackedLink | None:
        r = self.db.execute("SELECT data_json FROM attribution_links WHERE code = ?", (code,)).fetchone()
        return TrackedLink.model_validate_json(r[0]) if r else None

    def find(self, tenant_id: str) -> list[TrackedLink]:
        rows = self.db.execute("SELECT data_json FROM attribution_links WHERE tenant_id = ? ORDER BY link_id",
                               (tenant_id,))
        return [TrackedLink.model_validate_json(r[0]) for r in rows]

    def record_click(self, tenant_id: str, click: LinkClick) -> None:
        _check(tenant_id, click.tenant_id, "click")
        self.db.execute("INSERT INTO attribution_clicks VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                        (tenant_id, click.click_id, click.code, us(click.at), click.fbclid, click.gclid,
                         click.user_agent))

    def clicks(self, tenant_id: str, code: str) -> list[LinkClick]:
        rows = self.db.execute("SELECT * FROM attribution_clicks WHERE tenant_id = ? AND code = ? "
                               "ORDER BY at_us, click_id", (tenant_id, code))
        return [LinkClick(tenant_id=r["tenant_id"], click_id=r["click_id"], code=r["code"], at=from_us(r["at_us"]),
                          fbclid=r["fbclid"], gclid=r["gclid"], user_agent=r["user_agent"]) for r in rows]


_TOUCH_COLS = ("tenant_id", "touch_id", "contact", "at_us", "channel", "channel_name", *_AD_COLS, *_UTM_COLS,
               "link_code", "ctwa_clid", "source_type", "source_id", "source_url", "headline", "referral_json",
               "message_id")


def _touch_values(t: Touch) -> tuple[object, ...]:
    return (t.tenant_id, t.touch_id, t.contact, us(t.at), t.channel.value, t.channel_name, *_ad_values(t.ad),
            *_utm_values(t.utm), t.link_code, t.ctwa_clid, t.source_type, t.source_id, t.source_url, t.headline,
            json.dumps(t.referral) if t.referral is not None else None, t.message_id)


def _touch(r: Any) -> Touch:
    return Touch(tenant_id=r["tenant_id"], touch_id=r["touch_id"], contact=r["contact"], at=from_us(r["at_us"]),
                 channel=Channel(r["channel"]), channel_name=r["channel_name"], ad=_ad(r), utm=_utm(r),
                 link_code=r["link_code"], ctwa_clid=r["ctwa_clid"], source_type=r["source_type"],
                 source_id=r["source_id"], source_url=r["source_url"], headline=r["headline"],
                 referral=json.loads(r["referral_json"]) if r["referral_json"] else None, message_id=r["message_id"])


class SQLiteTouches(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate("attribution_0002_touches", [
            f"""CREATE TABLE attribution_touches (
                tenant_id TEXT NOT NULL, touch_id TEXT NOT NULL, contact TEXT NOT NULL, at_us INTEGER NOT NULL,
                channel TEXT NOT NULL, channel_name TEXT, {_SOURCE_DDL}, link_code TEXT, ctwa_clid TEXT,
                source_type TEXT, source_id TEXT, source_url TEXT, headline TEXT, referral_json TEXT,
                message_id TEXT, PRIMARY KEY (tenant_id, touch_id))""",
            "CREATE INDEX ix_attribution_touches_contact ON attribution_touches (tenant_id, contact, at_us)",
            "CREATE UNIQUE INDEX ux_attribution_touches_message "
            "ON attribution_touches (tenant_id, message_id, channel)",
        ])

    def _insert(self, conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> int:
        before = conn.total_changes
        conn.executemany(f"INSERT INTO attribution_touches ({', '.join(_TOUCH_COLS)}) VALUES "
                         f"({', '.join('?' * len(_TOUCH_COLS))}) ON CONFLICT DO NOTHING", rows)
        return conn.total_changes - before

    def add(self, tenant_id: str, touch: Touch) -> bool:
        return self.add_many(tenant_id, [touch]) == 1

    def add_many(self, tenant_id: str, touches: Sequence[Touch]) -> int:
        for t in touches:
            _check(tenant_id, t.tenant_id, "touch")
        with self.db.transaction() as conn:
            return self._insert(conn, [_touch_values(t) for t in touches])

    def find(self, tenant_id: str, contact: str, *, since: datetime | None = None,
             until: datetime | None = None) -> list[Touch]:
        rows = self.db.execute(
            "SELECT * FROM attribution_touches WHERE tenant_id = ? AND contact = ? AND at_us >= ? AND at_us < ? "
            "ORDER BY at_us, touch_id",
            (tenant_id, contact, us(since) if since else -(2**62), us(until) if until else 2**62))
        return [_touch(r) for r in rows]


_LEAD_COLS = ("tenant_id", "lead_id", "contact", "created_us", "last_touch_us", "first_touch_id", "channel",
              "channel_name", *_AD_COLS, *_UTM_COLS, "link_code", "ctwa_clid", "source_type", "source_id",
              "headline", "labels_json", "segments_json", "explanation_json")


def _lead_values(lead: Lead) -> tuple[object, ...]:
    return (lead.tenant_id, lead.lead_id, lead.contact, us(lead.created_at), us(lead.last_touch_at),
            lead.first_touch_id, lead.channel.value, lead.channel_name, *_ad_values(lead.ad), *_utm_values(lead.utm),
            lead.link_code, lead.ctwa_clid, lead.source_type, lead.source_id, lead.headline,
            json.dumps(list(lead.labels)), json.dumps(list(lead.segments)), json.dumps(list(lead.tag_explanation)))


def _lead(r: Any) -> Lead:
    return Lead(tenant_id=r["tenant_id"], lead_id=r["lead_id"], contact=r["contact"],
                created_at=from_us(r["created_us"]), last_touch_at=from_us(r["last_touch_us"]),
                first_touch_id=r["first_touch_id"], channel=Channel(r["channel"]), channel_name=r["channel_name"],
                ad=_ad(r), utm=_utm(r), link_code=r["link_code"], ctwa_clid=r["ctwa_clid"],
                source_type=r["source_type"], source_id=r["source_id"], headline=r["headline"],
                labels=tuple(json.loads(r["labels_json"])), segments=tuple(json.loads(r["segments_json"])),
                tag_explanation=tuple(json.loads(r["explanation_json"])))


class SQLiteLeads(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate("attribution_0003_leads", [
            f"""CREATE TABLE attribution_leads (
                tenant_id TEXT NOT NULL, lead_id TEXT NOT NULL, contact TEXT NOT NULL, created_us INTEGER NOT NULL,
                last_touch_us INTEGER NOT NULL, first_touch_id TEXT NOT NULL, channel TEXT NOT NULL,
                channel_name TEXT, {_SOURCE_DDL}, link_code TEXT, ctwa_clid TEXT, source_type TEXT, source_id TEXT,
                headline TEXT, labels_json TEXT NOT NULL, segments_json TEXT NOT NULL,
                explanation_json TEXT NOT NULL, PRIMARY KEY (tenant_id, lead_id))""",
            "CREATE INDEX ix_attribution_leads_contact ON attribution_leads (tenant_id, contact, created_us)",
            "CREATE INDEX ix_attribution_leads_created ON attribution_leads (tenant_id, created_us)",
            "CREATE INDEX ix_attribution_leads_clid ON attribution_leads (tenant_id, ctwa_clid)",
        ])
        self._sql = (f"INSERT INTO attribution_leads ({', '.join(_LEAD_COLS)}) VALUES "
                     f"({', '.join('?' * len(_LEAD_COLS))})")

    def add(self, tenant_id: str, lead: Lead) -> None:
        _check(tenant_id, lead.tenant_id, "lead")
        cur = self.db.execute(self._sql + " ON CONFLICT DO NOTHING", _lead_values(lead))
        if cur.rowcount != 1:
            raise DuplicateRecord(f"lead {lead.lead_id} exists")

    def add_many(self, tenant_id: str, leads: Sequence[Lead]) -> int:
        for lead in leads:
            _check(tenant_id, lead.tenant_id, "lead")
        with self.db.transaction() as conn:
            before = conn.total_changes
            conn.executemany(self._sql + " ON CONFLICT DO NOTHING", [_lead_values(x) for x in leads])
            return conn.total_changes - before

    def save(self, tenant_id: str, lead: Lead) -> None:
        _check(tenant_id, lead.tenant_id, "lead")
        updates = ", ".join(f"{c} = excluded.{c}" for c in _LEAD_COLS[2:])
        self.db.execute(self._sql + f" ON CONFLICT (tenant_id, lead_id) DO UPDATE SET {updates}", _lead_values(lead))

    def get(self, tenant_id: str, lead_id: str) -> Lead | None:
        r = self.db.execute("SELECT * FROM attribution_leads WHERE tenant_id = ? AND lead_id = ?",
                            (tenant_id, lead_id)).fetchone()
        return _lead(r) if r else None

    def latest(self, tenant_id: str, contact: str) -> Lead | None:
        r = self.db.execute("SELECT * FROM attribution_leads WHERE tenant_id = ? AND contact = ? "
                            "ORDER BY created_us DESC, lead_id DESC LIMIT 1", (tenant_id, contact)).fetchone()
        return _lead(r) if r else None

    def by_ctwa_clid(self, tenant_id: str, ctwa_clid: str) -> Lead | None:
        r = self.db.execute("SELECT * FROM attribution_leads WHERE tenant_id = ? AND ctwa_clid = ? "
                            "ORDER BY created_us, lead_id LIMIT 1", (tenant_id, ctwa_clid)).fetchone()
        return _lead(r) if r else None

    def find(self, tenant_id: str, *, since: datetime | None = None, until: datetime | None = None) -> list[Lead]:
        rows = self.db.execute(
            "SELECT * FROM attribution_leads WHERE tenant_id = ? AND created_us >= ? AND created_us < ? "
            "ORDER BY created_us, lead_id",
            (tenant_id, us(since) if since else -(2**62), us(until) if until else 2**62))
        return [_lead(r) for r in rows]


_CONV_COLS = ("tenant_id", "conversion_id", "source_key", "contact", "kind", "at_us", "value", "value_minor",
              "currency", "origin", "lead_id", "ctwa_clid", "counted", "duplicate_of")


def _conv_values(c: Conversion) -> tuple[object, ...]:
    return (c.tenant_id, c.conversion_id, c.source_key, c.contact, c.kind.value, us(c.occurred_at),
            str(c.value) if c.value is not None else None, _minor(c.value), c.currency, c.origin.value, c.lead_id,
            c.ctwa_clid, int(c.counted), c.duplicate_of)


def _conv(r: Any) -> Conversion:
    return Conversion(tenant_id=r["tenant_id"], conversion_id=r["conversion_id"], source_key=r["source_key"],
                      contact=r["contact"], kind=r["kind"], occurred_at=from_us(r["at_us"]),
                      value=Decimal(r["value"]) if r["value"] is not None else None, currency=r["currency"],
                      origin=r["origin"], lead_id=r["lead_id"], ctwa_clid=r["ctwa_clid"], counted=bool(r["counted"]),
                      duplicate_of=r["duplicate_of"])


class SQLiteConversions(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate("attribution_0004_conversions", [
            """CREATE TABLE attribution_conversions (
                tenant_id TEXT NOT NULL, conversion_id TEXT NOT NULL, source_key TEXT NOT NULL, contact TEXT,
                kind TEXT NOT NULL, at_us INTEGER NOT NULL, value TEXT, value_minor INTEGER, currency TEXT NOT NULL,
                origin TEXT NOT NULL, lead_id TEXT, ctwa_clid TEXT, counted INTEGER NOT NULL, duplicate_of TEXT,
                PRIMARY KEY (tenant_id, conversion_id), UNIQUE (tenant_id, source_key))""",
            "CREATE INDEX ix_attribution_conversions_at ON attribution_conversions (tenant_id, counted, at_us)",
            "CREATE INDEX ix_attribution_conversions_contact ON attribution_conversions (tenant_id, contact, at_us)",
        ])
        self._sql = (f"INSERT INTO attribution_conversions ({', '.join(_CONV_COLS)}) VALUES "
                     f"({', '.join('?' * len(_CONV_COLS))}) ON CONFLICT DO NOTHING")

    def add(self, tenant_id: str, conversion: Conversion) -> bool:
        return self.add_many(tenant_id, [conversion]) == 1

    def add_many(self, tenant_id: str, conversions: Sequence[Conversion]) -> int:
        for c in conversions:
            _check(tenant_id, c.tenant_id, "conversion")
        with self.db.transaction() as conn:
            before = conn.total_changes
            conn.executemany(self._sql, [_conv_values(c) for c in conversions])
            return conn.total_changes - before

    def get(self, tenant_id: str, conversion_id: str) -> Conversion | None:
        r = self.db.execute("SELECT * FROM attribution_conversions WHERE tenant_id = ? AND conversion_id = ?",
                            (tenant_id, conversion_id)).fetchone()
        return _conv(r) if r else None

    def by_source_key(self, tenant_id: str, source_key: str) -> Conversion | None:
        r = self.db.execute("SELECT * FROM attribution_conversions WHERE tenant_id = ? AND source_key = ?",
                            (tenant_id, source_key)).fetchone()
        return _conv(r) if r else None

    def find(self, tenant_id: str, *, contact: str | None = None, kind: ConversionKind | None = None,
             since: datetime | None = None, until: datetime | None = None,
             counted: bool | None = None) -> list[Conversion]:
        sql = "SELECT * FROM attribution_conversions WHERE tenant_id = ? AND at_us >= ? AND at_us < ?"
        params: list[object] = [tenant_id, us(since) if since else -(2**62), us(until) if until else 2**62]
        for col, value in (("contact", contact), ("kind", kind.value if kind else None),
                           ("counted", None if counted is None else int(counted))):
            if value is not None:
                sql += f" AND {col} = ?"
                params.append(value)
        return [_conv(r) for r in self.db.execute(sql + " ORDER BY at_us, conversion_id", params)]

    def mark_duplicate(self, tenant_id: str, conversion_id: str, duplicate_of: str) -> None:
        self.db.execute("UPDATE attribution_conversions SET counted = 0, duplicate_of = ? "
                        "WHERE tenant_id = ? AND conversion_id = ?", (duplicate_of, tenant_id, conversion_id))


_SPEND_COLS = ("tenant_id", "origin", "level", "object_id", "day", *_AD_COLS, "amount_minor", "currency")


class SQLiteSpend(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.migrate("attribution_0005_spend", [
            """CREATE TABLE attribution_spend (
                tenant_id TEXT NOT NULL, origin TEXT NOT NULL, level TEXT NOT NULL, object_id TEXT NOT NULL,
                day TEXT NOT NULL, campaign_id TEXT NOT NULL, campaign_name TEXT, adset_id TEXT, adset_name TEXT,
                ad_id TEXT, ad_name TEXT, amount_minor INTEGER NOT NULL, currency TEXT NOT NULL,
                PRIMARY KEY (tenant_id, origin, level, object_id, day))""",
            "CREATE INDEX ix_attribution_spend_day ON attribution_spend (tenant_id, day)",
            "CREATE INDEX ix_attribution_spend_campaign ON attribution_spend (tenant_id, campaign_id, day, origin)",
        ])

    def upsert_many(self, tenant_id: str, entries: Sequence[SpendEntry]) -> int:
        for e in entries:
            _check(tenant_id, e.tenant_id, "spend entry")
        updates = ", ".join(f"{c} = excluded.{c}" for c in _SPEND_COLS[5:])
        rows = [(e.tenant_id, e.origin.value, e.level.value, e.object_id, e.day.isoformat(),
                 *_ad_values(AdRef(campaign_id=e.campaign_id, campaign_name=e.campaign_name, adset_id=e.adset_id,
                                   adset_name=e.adset_name, ad_id=e.ad_id, ad_name=e.ad_name)),
                 _minor(e.amount), e.currency) for e in entries]
        with self.db.transaction() as conn:
            conn.executemany(
                f"INSERT INTO attribution_spend ({', '.join(_SPEND_COLS)}) "
                f"VALUES ({', '.join('?' * len(_SPEND_COLS))}) "
                f"ON CONFLICT (tenant_id, origin, level, object_id, day) DO UPDATE SET {updates}", rows)
        return len(rows)

    @staticmethod
    def _row(r: Any) -> SpendEntry:
        return SpendEntry(tenant_id=r["tenant_id"], day=date.fromisoformat(r["day"]), level=AdsLevel(r["level"]),
                          campaign_id=r["campaign_id"], campaign_name=r["campaign_name"], adset_id=r["adset_id"],
                          adset_name=r["adset_name"], ad_id=r["ad_id"], ad_name=r["ad_name"],
                          amount=Decimal(r["amount_minor"]) / 100, currency=r["currency"], origin=r["origin"])

    def find(self, tenant_id: str, *, since: date | None = None, until: date | None = None) -> list[SpendEntry]:
        rows = self.db.execute(
            "SELECT * FROM attribution_spend WHERE tenant_id = ? AND day >= ? AND day <= ? "
            "ORDER BY day, origin, level, object_id",
            (tenant_id, since.isoformat() if since else "0000-00-00", until.isoformat() if until else "9999-99-99"))
        return [self._row(r) for r in rows]

    def delete(self, tenant_id: str, entry: SpendEntry) -> bool:
        cur = self.db.execute("DELETE FROM attribution_spend WHERE tenant_id = ? AND origin = ? AND level = ? "
                              "AND object_id = ? AND day = ?",
                              (tenant_id, entry.origin.value, entry.level.value, entry.object_id,
                               entry.day.isoformat()))
        return cur.rowcount == 1


class _JsonTable:
    """A small (tenant_id, key) → JSON table for records read whole (rules, cache, deliveries)."""

    table = ""
    key = ""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    def _put(self, tenant_id: str, key: str, data: str, sort: object = 0) -> None:
        self.db.execute(f"INSERT INTO {self.table} VALUES (?,?,?,?) ON CONFLICT (tenant_id, {self.key}) "
                        "DO UPDATE SET sort = excluded.sort, data_json = excluded.data_json",
                        (tenant_id, key, sort, data))

    def _get(self, tenant_id: str, key: str) -> str | None:
        r = self.db.execute(f"SELECT data_json FROM {self.table} WHERE tenant_id = ? AND {self.key} = ?",
                            (tenant_id, key)).fetchone()
        return str(r[0]) if r else None

    def _all(self, tenant_id: str) -> list[str]:
        rows = self.db.execute(f"SELECT data_json FROM {self.table} WHERE tenant_id = ? ORDER BY sort, {self.key}",
                               (tenant_id,))
        return [str(r[0]) for r in rows]

    def _delete(self, tenant_id: str, key: str) -> bool:
        return self.db.execute(f"DELETE FROM {self.table} WHERE tenant_id = ? AND {self.key} = ?",
                               (tenant_id, key)).rowcount == 1


def _json_ddl(table: str, key: str) -> list[str]:
    return [f"""CREATE TABLE {table} (tenant_id TEXT NOT NULL, {key} TEXT NOT NULL, sort INTEGER NOT NULL,
                data_json TEXT NOT NULL, PRIMARY KEY (tenant_id, {key}))"""]


class SQLiteTagRules(_JsonTable, ConciseRepr, fields=("db",)):
    table, key = "attribution_tag_rules", "rule_id"

    def __init__(self, db: SQLiteDatabase) -> None:
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


class SQLiteAdCache(_JsonTable, ConciseRepr, fields=("db",)):
    table, key = "attribution_ad_cache", "ad_id"

    def __init__(self, db: SQLiteDatabase) -> None:
        super().__init__(db)
        db.migrate("attribution_0007_ad_cache", _json_ddl(self.table, self.key))

    def get(self, tenant_id: str, ad_id: str) -> AdCacheEntry | None:
        data = self._get(tenant_id, ad_id)
        return AdCacheEntry.model_validate_json(data) if data else None

    def put(self, tenant_id: str, entry: AdCacheEntry) -> None:
        _check(tenant_id, entry.tenant_id, "ad cache entry")
        self._put(tenant_id, entry.ad_id, entry.model_dump_json())


class SQLiteCapiDeliveries(_JsonTable, ConciseRepr, fields=("db",)):
    table, key = "attribution_capi_deliveries", "event_id"

    def __init__(self, db: SQLiteDatabase) -> None:
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

# One row per (conversion, touch in its window), numbered oldest first, with the path's length
# and (time decay only) its total weight, all from one window (one sort); then each touch's share.
# `attr_decay` is registered on the connection (2^(-age/half_life)). The shares of every model
# sum to 1 per conversion.
_CREDIT_SQL = f"""
WITH conv AS (
    SELECT conversion_id, contact, at_us, COALESCE(value_minor, 0) AS value_minor
    FROM attribution_conversions
    WHERE tenant_id = :tenant AND counted = 1 AND at_us >= :since AND at_us < :until
      AND currency = :currency AND contact IS NOT NULL AND kind IN (:kinds)
),
path AS (
    SELECT c.value_minor, c.at_us - t.at_us AS age_us,
           t.channel, t.channel_name, t.campaign_id, t.campaign_name, t.adset_id, t.adset_name, t.ad_id, t.ad_name,
           ROW_NUMBER() OVER w AS pos, COUNT(*) OVER w AS n,
           SUM(CASE WHEN :model = 'time_decay' THEN attr_decay(c.at_us - t.at_us, :half_life) ELSE 1 END)
               OVER w AS decay_sum
    FROM conv c JOIN attribution_touches t
      ON t.tenant_id = :tenant AND t.contact = c.contact AND t.at_us <= c.at_us AND t.at_us >= c.at_us - :lookback
    WINDOW w AS (PARTITION BY c.conversion_id ORDER BY t.at_us, t.touch_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
credited AS (
    SELECT *, CASE :model
        WHEN 'last_touch' THEN CASE WHEN pos = n THEN 1.0 ELSE 0.0 END
        WHEN 'first_touch' THEN CASE WHEN pos = 1 THEN 1.0 ELSE 0.0 END
        WHEN 'linear' THEN 1.0 / n
        WHEN 'position_based' THEN CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5
                                        WHEN pos = 1 OR pos = n THEN 0.4 ELSE 0.2 / (n - 2) END
        ELSE attr_decay(age_us, :half_life) / decay_sum
    END AS credit
    FROM path
)
SELECT {_SOURCE}, SUM(credit) AS conversions, SUM(credit * value_minor) AS revenue_minor
FROM credited WHERE credit > 0 GROUP BY {_SOURCE}
UNION ALL
SELECT 'unattributed', NULL, NULL, NULL, NULL, NULL, NULL, NULL, COUNT(*), SUM(value_minor)
FROM conv c WHERE NOT EXISTS (
    SELECT 1 FROM attribution_touches t
    WHERE t.tenant_id = :tenant AND t.contact = c.contact AND t.at_us <= c.at_us AND t.at_us >= c.at_us - :lookback)
HAVING COUNT(*) > 0
"""

_SPEND_SQL = """
SELECT level, campaign_id, MAX(campaign_name) AS campaign_name,
       CASE WHEN level = 'campaign' THEN NULL ELSE adset_id END AS adset_id, MAX(adset_name) AS adset_name,
       CASE WHEN level = 'ad' THEN ad_id ELSE NULL END AS ad_id, MAX(ad_name) AS ad_name,
       SUM(amount_minor) AS amount_minor
FROM attribution_spend s
WHERE s.tenant_id = :tenant AND s.day >= :since AND s.day <= :until AND s.currency = :currency
  AND (s.origin = 'manual' OR NOT EXISTS (
        SELECT 1 FROM attribution_spend m
        WHERE m.tenant_id = s.tenant_id AND m.campaign_id = s.campaign_id AND m.day = s.day
          AND m.origin = 'manual'))
GROUP BY 1, 2, 4, 6
"""


def _decay(age_us: int, half_life_us: int) -> float:
    return decay_weight(age_us / 1e6, half_life_us / 1e6)


def _source(r: Any) -> SourceKey:
    return SourceKey(channel=r["channel"], channel_name=r["channel_name"], campaign_id=r["campaign_id"],
                     campaign_name=r["campaign_name"], adset_id=r["adset_id"], adset_name=r["adset_name"],
                     ad_id=r["ad_id"], ad_name=r["ad_name"])


class SQLiteAttributionReports(ConciseRepr, fields=("db",)):
    """The report aggregates computed by SQLite (one query each; nothing per row in Python)."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        self._native_pow: bool | None = None

    def _conn(self) -> sqlite3.Connection:
        conn = self.db.connection()
        conn.create_function("attr_decay", 2, _decay, deterministic=True)
        if self._native_pow is None:
            try:  # SQLite's math functions are a compile-time option (on in most builds since 3.35)
                conn.execute("SELECT pow(2.0, -1.0)").fetchone()
                self._native_pow = True
            except sqlite3.Error:
                self._native_pow = False
        return conn

    def credit(self, tenant_id: str, *, since: datetime, until: datetime, model: AttributionModel,
               lookback: timedelta, half_life: timedelta, currency: str = "TRY",
               kinds: Sequence[ConversionKind] = (ConversionKind.PURCHASE,)) -> list[CreditRow]:
        if not kinds:
            return []
        kind_params = {f"kind{i}": k.value for i, k in enumerate(kinds)}
        sql = _CREDIT_SQL.replace(":kinds", ", ".join(f":{k}" for k in kind_params))
        conn = self._conn()
        if self._native_pow:  # the same weight without a call into Python per (conversion, touch)
            sql = sql.replace("attr_decay(c.at_us - t.at_us, :half_life)",
                              "pow(2.0, -(c.at_us - t.at_us) * 1.0 / :half_life)")
            sql = sql.replace("attr_decay(age_us, :half_life)", "pow(2.0, -age_us * 1.0 / :half_life)")
        params = {**kind_params, "tenant": tenant_id, "since": us(since), "until": us(until), "currency": currency,
                  "lookback": int(lookback.total_seconds() * 1_000_000), "model": model.value,
                  "half_life": int(half_life.total_seconds() * 1_000_000)}
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite error: {exc}") from exc
        return [CreditRow(source=_source(r), conversions=Decimal(repr(float(r["conversions"]))).quantize(_CREDIT),
                          revenue=(Decimal(repr(float(r["revenue_minor"] or 0))) / 100).quantize(_CENT))
                for r in rows]

    def lead_counts(self, tenant_id: str, *, since: datetime, until: datetime) -> list[LeadCountRow]:
        rows = self.db.execute(
            f"SELECT {_SOURCE}, COUNT(*) AS leads FROM attribution_leads "
            f"WHERE tenant_id = ? AND created_us >= ? AND created_us < ? GROUP BY {_SOURCE}",
            (tenant_id, us(since), us(until)))
        return [LeadCountRow(source=_source(r), leads=int(r["leads"])) for r in rows]

    def spend_totals(self, tenant_id: str, *, since: date, until: date, currency: str = "TRY") -> list[SpendTotalRow]:
        rows = self.db.execute(_SPEND_SQL, {"tenant": tenant_id, "since": since.isoformat(),  # type: ignore[arg-type]
                                            "until": until.isoformat(), "currency": currency})
        return [SpendTotalRow(level=AdsLevel(r["level"]), campaign_id=r["campaign_id"],
                              campaign_name=r["campaign_name"], adset_id=r["adset_id"],
                              adset_name=r["adset_name"] if r["adset_id"] else None, ad_id=r["ad_id"],
                              ad_name=r["ad_name"] if r["ad_id"] else None,
                              amount=Decimal(int(r["amount_minor"])) / 100) for r in rows]
