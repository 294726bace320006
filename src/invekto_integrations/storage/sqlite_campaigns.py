"""SQLite campaign repositories, and the audience compiler (criteria → one indexed query).

Tables (migrations ``campaigns_0001_campaigns``, ``campaigns_0002_profiles``): the seed's
``outbound_campaigns`` and ``outbound_conversions``, plus ``outbound_campaign_variants``,
``outbound_campaign_recipients`` (unique per campaign, occurrence and phone: a recipient is entered
at most once per occurrence whichever runtime gets there first) and the audience projection
``campaign_contacts`` + ``campaign_contact_facts``. Every key and index leads with ``tenant_id``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from invekto_integrations.campaigns.audience import (
    AllOf,
    AnyOf,
    AppointmentCount,
    AppointmentService,
    AudienceContext,
    ConsentState,
    ContactProfile,
    Criterion,
    Everyone,
    LastAppointment,
    LastOrder,
    Niche,
    NotCriterion,
    OrderCount,
    OrderTotal,
    Platform,
    Product,
    Segment,
    Tag,
    criteria_json,
    fold_value,
    parse_criteria,
)
from invekto_integrations.campaigns.models import (
    ABSettings,
    Campaign,
    CampaignStatus,
    Conversion,
    ConversionType,
    Recipient,
    RecipientStatus,
    Trigger,
    Variant,
    WinnerDecision,
)
from invekto_integrations.campaigns.repository import ConversionTotals, RecipientCounts
from invekto_integrations.core.errors import InvalidArgument, StorageError
from invekto_integrations.core.reprs import ConciseRepr

from ._sqlite_db import SQLiteDatabase, from_ts, to_ts
from .protocols import TenantMismatch
from .sqlite_messaging import SQLiteConsentCache, SQLiteMessagingContacts

__all__ = [
    "SQLiteCampaignConversions",
    "SQLiteCampaigns",
    "SQLiteContactProfiles",
    "SQLiteRecipients",
    "compile_criteria",
]

_TRIGGER: TypeAdapter[Trigger] = TypeAdapter(Trigger)
_SCALE = Decimal(10) ** 4  # money columns used in comparisons: exact integers of 1/10 000


def _opt_ts(v: datetime | None) -> str | None:
    return to_ts(v) if v is not None else None


def _opt_dt(v: str | None) -> datetime | None:
    return from_ts(v) if v else None


def _e4(amount: Decimal) -> int:
    return int((amount * _SCALE).to_integral_value())


def _migrate_campaigns(db: SQLiteDatabase) -> None:
    db.migrate("campaigns_0001_campaigns", [
        """CREATE TABLE outbound_campaigns (
            id TEXT NOT NULL, tenant_id TEXT NOT NULL, name TEXT NOT NULL, trigger_type TEXT NOT NULL,
            target_criteria_json TEXT NOT NULL, template_id TEXT NOT NULL, schedule_json TEXT NOT NULL,
            status TEXT NOT NULL, stats_json TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, config_json TEXT NOT NULL DEFAULT '{}', version INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (tenant_id, id))""",
        "CREATE INDEX ix_outbound_campaigns_status ON outbound_campaigns (tenant_id, status, trigger_type)",
        """CREATE TABLE outbound_campaign_variants (
            tenant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, name TEXT NOT NULL, position INTEGER NOT NULL,
            weight TEXT NOT NULL, template_name TEXT NOT NULL, language TEXT NOT NULL, spec_json TEXT NOT NULL,
            PRIMARY KEY (tenant_id, campaign_id, name))""",
        """CREATE TABLE outbound_campaign_recipients (
            tenant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, occurrence TEXT NOT NULL, phone TEXT NOT NULL,
            variant TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, message_id TEXT, delivery TEXT,
            entered_at TEXT NOT NULL, submitted_at TEXT, delivered_at TEXT, read_at TEXT, updated_at TEXT NOT NULL,
            touched_at TEXT,
            PRIMARY KEY (tenant_id, campaign_id, occurrence, phone))""",
        "CREATE INDEX ix_campaign_recipients_message ON outbound_campaign_recipients (tenant_id, message_id)",
        "CREATE INDEX ix_campaign_recipients_touch ON outbound_campaign_recipients (tenant_id, phone, touched_at)",
        """CREATE TABLE outbound_conversions (
            id TEXT NOT NULL, tenant_id TEXT NOT NULL, message_id TEXT, campaign_id TEXT NOT NULL,
            conversion_type TEXT NOT NULL, value_amount TEXT NOT NULL, created_at TEXT NOT NULL,
            variant TEXT NOT NULL, occurrence TEXT NOT NULL, phone TEXT NOT NULL, currency TEXT NOT NULL,
            source_ref TEXT NOT NULL, occurred_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, conversion_type, source_ref))""",
        "CREATE INDEX ix_outbound_conversions_campaign ON outbound_conversions (tenant_id, campaign_id, variant)",
    ])


class SQLiteCampaigns(ConciseRepr, fields=("db",)):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        _migrate_campaigns(db)

    @staticmethod
    def _config(c: Campaign) -> str:
        return json.dumps({"ab": c.ab.model_dump(mode="json"), "category": c.category.value,
                           "conversion_window": c.conversion_window.total_seconds(),
                           "winner": c.winner.model_dump(mode="json") if c.winner else None})

    def _write_variants(self, conn: Any, c: Campaign) -> None:
        conn.execute("DELETE FROM outbound_campaign_variants WHERE tenant_id = ? AND campaign_id = ?",
                     (c.tenant_id, c.id))
        conn.executemany(
            "INSERT INTO outbound_campaign_variants VALUES (?,?,?,?,?,?,?,?)",
            [(c.tenant_id, c.id, v.name, i, str(v.weight), v.template_name, v.language, v.model_dump_json())
             for i, v in enumerate(c.variants)])

    def _values(self, c: Campaign) -> tuple[object, ...]:
        return (c.id, c.tenant_id, c.name, c.trigger_type, criteria_json(c.audience), c.template_id,
                _TRIGGER.dump_json(c.trigger).decode(), c.status.value, json.dumps(c.stats), to_ts(c.created_at),
                to_ts(c.updated_at), self._config(c), c.version)

    def add(self, tenant_id: str, campaign: Campaign) -> None:
        if campaign.tenant_id != tenant_id:
            raise TenantMismatch("campaign belongs to another tenant")
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO outbound_campaigns VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", self._values(campaign))
            self._write_variants(conn, campaign)

    def _row(self, r: Any) -> Campaign:
        variants = [Variant.model_validate_json(v["spec_json"]) for v in self.db.execute(
            "SELECT spec_json FROM outbound_campaign_variants WHERE tenant_id = ? AND campaign_id = ? "
            "ORDER BY position",
            (r["tenant_id"], r["id"]))]
        cfg = json.loads(r["config_json"])
        return Campaign(
            id=r["id"], tenant_id=r["tenant_id"], name=r["name"],
            trigger=_TRIGGER.validate_json(r["schedule_json"]),
            audience=parse_criteria(r["target_criteria_json"], record=r["id"]), variants=variants,
            ab=ABSettings.model_validate(cfg.get("ab", {})), category=cfg.get("category", "marketing"),
            conversion_window=cfg.get("conversion_window", 7 * 86400), status=CampaignStatus(r["status"]),
            stats=json.loads(r["stats_json"]),
            winner=WinnerDecision.model_validate(cfg["winner"]) if cfg.get("winner") else None,
            version=r["version"], created_at=from_ts(r["created_at"]), updated_at=from_ts(r["updated_at"]))

    def get(self, tenant_id: str, campaign_id: str) -> Campaign | None:
        r = self.db.execute("SELECT * FROM outbound_campaigns WHERE tenant_id = ? AND id = ?",
                            (tenant_id, campaign_id)).fetchone()
        return self._row(r) if r else None

    def replace(self, tenant_id: str, campaign: Campaign, *, expected_version: int) -> bool:
        if campaign.tenant_id != tenant_id:
            raise TenantMismatch("campaign belongs to another tenant")
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE outbound_campaigns SET name=?, trigger_type=?, target_criteria_json=?, template_id=?, "
                "schedule_json=?, status=?, stats_json=?, updated_at=?, config_json=?, version=? "
                "WHERE tenant_id = ? AND id = ? AND version = ?",
                (campaign.name, campaign.trigger_type, criteria_json(campaign.audience), campaign.template_id,
                 _TRIGGER.dump_json(campaign.trigger).decode(), campaign.status.value, json.dumps(campaign.stats),
                 to_ts(campaign.updated_at), self._config(campaign), campaign.version, tenant_id, campaign.id,
                 expected_version))
            if cur.rowcount != 1:
                return False
            self._write_variants(conn, campaign)
            return True

    def find(self, tenant_id: str, *, statuses: Sequence[CampaignStatus] | None = None,
             trigger_type: str | None = None) -> list[Campaign]:
        sql = "SELECT * FROM outbound_campaigns WHERE tenant_id = ?"
        params: list[object] = [tenant_id]
        if statuses is not None:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(s.value for s in statuses)
        if trigger_type is not None:
            sql += " AND trigger_type = ?"
            params.append(trigger_type)
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY id", params).fetchall()]

    def tenants(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tenant_id FROM outbound_campaigns ORDER BY 1")]


_SENT = ("accepted", "sent", "delivered", "read")


def _touched_at(r: Recipient) -> str | None:
    if r.status == RecipientStatus.HOLDOUT:
        return to_ts(r.entered_at)
    if r.status == RecipientStatus.SUBMITTED and r.delivery in _SENT and r.submitted_at is not None:
        return to_ts(r.submitted_at)
    return None


class SQLiteRecipients(ConciseRepr, fields=("db",)):
    _COLS = ("tenant_id, campaign_id, occurrence, phone, variant, status, reason, message_id, delivery, entered_at, "
             "submitted_at, delivered_at, read_at, updated_at, touched_at")

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        _migrate_campaigns(db)

    @staticmethod
    def _values(r: Recipient) -> tuple[object, ...]:
        return (r.tenant_id, r.campaign_id, r.occurrence, r.phone, r.variant, r.status.value, r.reason, r.message_id,
                r.delivery, to_ts(r.entered_at), _opt_ts(r.submitted_at), _opt_ts(r.delivered_at),
                _opt_ts(r.read_at), to_ts(r.updated_at), _touched_at(r))

    @staticmethod
    def _row(r: Any) -> Recipient:
        return Recipient(
            tenant_id=r["tenant_id"], campaign_id=r["campaign_id"], occurrence=r["occurrence"], phone=r["phone"],
            variant=r["variant"], status=RecipientStatus(r["status"]), reason=r["reason"], message_id=r["message_id"],
            delivery=r["delivery"], entered_at=from_ts(r["entered_at"]), submitted_at=_opt_dt(r["submitted_at"]),
            delivered_at=_opt_dt(r["delivered_at"]), read_at=_opt_dt(r["read_at"]), updated_at=from_ts(r["updated_at"]))

    def enter_many(self, tenant_id: str, recipients: Sequence[Recipient]) -> list[Recipient]:
        out = []
        with self.db.transaction() as conn:
            for r in recipients:
                if r.tenant_id != tenant_id:
                    raise TenantMismatch("recipient belongs to another tenant")
                cur = conn.execute(
                    f"INSERT INTO outbound_campaign_recipients ({self._COLS}) VALUES ({','.join('?' * 15)}) "
                    "ON CONFLICT DO NOTHING", self._values(r))
                if cur.rowcount == 1:
                    out.append(r)
        return out

    def get(self, tenant_id: str, campaign_id: str, occurrence: str, phone: str) -> Recipient | None:
        r = self.db.execute(
            f"SELECT {self._COLS} FROM outbound_campaign_recipients WHERE tenant_id = ? AND campaign_id = ? "
            "AND occurrence = ? AND phone = ?", (tenant_id, campaign_id, occurrence, phone)).fetchone()
        return self._row(r) if r else None

    def update(self, tenant_id: str, recipient: Recipient) -> None:
        if recipient.tenant_id != tenant_id:
            raise TenantMismatch("recipient belongs to another tenant")
        v = self._values(recipient)
        cur = self.db.execute(
            "UPDATE outbound_campaign_recipients SET variant=?, status=?, reason=?, message_id=?, delivery=?, "
            "entered_at=?, submitted_at=?, delivered_at=?, read_at=?, updated_at=?, touched_at=? "
            "WHERE tenant_id = ? AND campaign_id = ? AND occurrence = ? AND phone = ?", (*v[4:], *v[:4]))
        if cur.rowcount != 1:
            raise StorageError(f"recipient {recipient.phone} of {recipient.campaign_id} was never entered")

    def by_message(self, tenant_id: str, message_id: str) -> Recipient | None:
        r = self.db.execute(f"SELECT {self._COLS} FROM outbound_campaign_recipients WHERE tenant_id = ? "
                            "AND message_id = ? LIMIT 1", (tenant_id, message_id)).fetchone()
        return self._row(r) if r else None

    def last_touch(self, tenant_id: str, phone: str, *, at: datetime, since: datetime) -> Recipient | None:
        r = self.db.execute(
            f"SELECT {self._COLS} FROM outbound_campaign_recipients WHERE tenant_id = ? AND phone = ? "
            "AND touched_at >= ? AND touched_at <= ? ORDER BY touched_at DESC, campaign_id DESC LIMIT 1",
            (tenant_id, phone, to_ts(since), to_ts(at))).fetchone()
        return self._row(r) if r else None

    def find(self, tenant_id: str, campaign_id: str, *, statuses: Sequence[RecipientStatus] | None = None,
             occurrence: str | None = None, after_phone: str | None = None, limit: int = 1000) -> list[Recipient]:
        sql = f"SELECT {self._COLS} FROM outbound_campaign_recipients WHERE tenant_id = ? AND campaign_id = ?"
        params: list[object] = [tenant_id, campaign_id]
        if occurrence is not None:
            sql += " AND occurrence = ?"
            params.append(occurrence)
        if after_phone is not None:
            sql += " AND phone > ?"
            params.append(after_phone)
        if statuses is not None:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params.extend(s.value for s in statuses)
        params.append(limit)
        return [self._row(r) for r in self.db.execute(sql + " ORDER BY occurrence, phone LIMIT ?", params)]

    def counts(self, tenant_id: str, campaign_id: str) -> dict[str, RecipientCounts]:
        rows = self.db.execute(
            "SELECT variant, COUNT(*) AS entered, "
            "SUM(status = 'holdout') AS holdout, SUM(status = 'waiting') AS waiting, "
            "SUM(status = 'submitted') AS submitted, SUM(status = 'refused') AS refused, "
            "SUM(status = 'failed') AS failed, SUM(status = 'skipped') AS skipped, "
            "SUM(delivery IN ('accepted','sent','delivered','read')) AS sent, "
            "SUM(delivery IN ('delivered','read')) AS delivered, SUM(delivery = 'read') AS read "
            "FROM outbound_campaign_recipients WHERE tenant_id = ? AND campaign_id = ? GROUP BY variant "
            "ORDER BY variant", (tenant_id, campaign_id)).fetchall()
        reasons: dict[str, dict[str, int]] = {}
        for r in self.db.execute(
                "SELECT variant, COALESCE(reason, 'unknown') AS reason, COUNT(*) AS n "
                "FROM outbound_campaign_recipients WHERE tenant_id = ? AND campaign_id = ? AND status = 'refused' "
                "GROUP BY 1, 2",
                (tenant_id, campaign_id)):
            reasons.setdefault(r["variant"], {})[r["reason"]] = r["n"]
        keys = ("entered", "holdout", "waiting", "submitted", "refused", "failed", "skipped", "sent", "delivered",
                "read")
        return {r["variant"]: RecipientCounts(variant=r["variant"], refused_reasons=reasons.get(r["variant"], {}),
                                              **{k: int(r[k] or 0) for k in keys}) for r in rows}


class SQLiteCampaignConversions(ConciseRepr, fields=("db",)):
    _COLS = ("id, tenant_id, message_id, campaign_id, conversion_type, value_amount, created_at, variant, occurrence, "
             "phone, currency, source_ref, occurred_at")

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        _migrate_campaigns(db)

    def add(self, tenant_id: str, conversion: Conversion) -> bool:
        c = conversion
        if c.tenant_id != tenant_id:
            raise TenantMismatch("conversion belongs to another tenant")
        cur = self.db.execute(
            f"INSERT INTO outbound_conversions ({self._COLS}) VALUES ({','.join('?' * 13)}) ON CONFLICT DO NOTHING",
            (c.id, c.tenant_id, c.message_id, c.campaign_id, c.conversion_type.value, str(c.value_amount),
             to_ts(c.created_at), c.variant, c.occurrence, c.phone, c.currency, c.source_ref, to_ts(c.occurred_at)))
        return cur.rowcount == 1

    def find(self, tenant_id: str, campaign_id: str) -> list[Conversion]:
        return [Conversion(
            id=r["id"], tenant_id=r["tenant_id"], message_id=r["message_id"], campaign_id=r["campaign_id"],
            conversion_type=ConversionType(r["conversion_type"]), value_amount=Decimal(r["value_amount"]),
            created_at=from_ts(r["created_at"]), variant=r["variant"], occurrence=r["occurrence"], phone=r["phone"],
            currency=r["currency"], source_ref=r["source_ref"], occurred_at=from_ts(r["occurred_at"]))
            for r in self.db.execute(f"SELECT {self._COLS} FROM outbound_conversions WHERE tenant_id = ? "
                                     "AND campaign_id = ? ORDER BY occurred_at, id", (tenant_id, campaign_id))]

    def totals(self, tenant_id: str, campaign_id: str) -> list[ConversionTotals]:
        # Values are summed as Decimal in Python: SQLite's SUM over text would go through floats.
        groups: dict[tuple[str, str], tuple[int, set[str], Decimal]] = {}
        for r in self.db.execute("SELECT variant, conversion_type, phone, value_amount FROM outbound_conversions "
                                 "WHERE tenant_id = ? AND campaign_id = ?", (tenant_id, campaign_id)):
            n, phones, value = groups.get((r[0], r[1]), (0, set(), Decimal(0)))
            phones.add(r[2])
            groups[(r[0], r[1])] = (n + 1, phones, value + Decimal(r[3]))
        return [ConversionTotals(variant=v, conversion_type=t, conversions=n, recipients=len(p), value=val)
                for (v, t), (n, p, val) in sorted(groups.items())]

    def converted_phones(self, tenant_id: str, campaign_id: str, types: Sequence[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        if not types:
            return out
        for r in self.db.execute(
                "SELECT DISTINCT variant, phone FROM outbound_conversions WHERE tenant_id = ? AND campaign_id = ? "
                f"AND conversion_type IN ({','.join('?' * len(types))})", (tenant_id, campaign_id, *types)):
            out.setdefault(r[0], set()).add(r[1])
        return out


# --- the audience projection and its compiler ----------------------------------------------------
_PK_INDEX = "sqlite_autoindex_campaign_contacts_1"
_FACT_KIND = {Platform: "platform", Product: "product", Tag: "tag", Segment: "segment",
              AppointmentService: "service"}


def compile_criteria(tree: Criterion, tenant_id: str, ctx: AudienceContext) -> tuple[str, list[object]]:
    """A boolean SQL expression over ``campaign_contacts c`` and its bound parameters.

    Every leaf is two-valued (never NULL), so ``NOT`` means what the memory evaluator means.
    Fact leaves are ``EXISTS`` point lookups on the facts' primary key; consent leaves read the
    consent cache (a primary-key lookup when the İYS brand is known) and the opt-out table of the
    messaging area.
    """
    match tree:
        case Everyone():
            return "1", []
        case OrderCount() | AppointmentCount():
            col = "c.order_count" if isinstance(tree, OrderCount) else "c.appointment_count"
            return _range(col, tree.min, tree.max)
        case OrderTotal():
            sql, params = _range("c.order_total_e4", None if tree.min is None else _e4(tree.min),
                                 None if tree.max is None else _e4(tree.max))
            return f"(c.order_count > 0 AND {sql})", params
        case LastOrder() | LastAppointment():
            col = "c.last_order_at" if isinstance(tree, LastOrder) else "c.last_appointment_at"
            if tree.never:
                return f"({col} IS NULL)", []
            lo, hi = tree.bounds(ctx.now)
            parts, params = [f"{col} IS NOT NULL"], []
            if lo is not None:
                parts.append(f"{col} >= ?")
                params.append(to_ts(lo))
            if hi is not None:
                parts.append(f"{col} < ?")
                params.append(to_ts(hi))
            return "(" + " AND ".join(parts) + ")", params
        case Platform() | Product() | Tag() | Segment() | AppointmentService():
            values = tree.folded()
            # Point lookups on the facts' primary key (tenant, kind, value, phone) for each contact.
            return (f"EXISTS (SELECT 1 FROM campaign_contact_facts f WHERE f.tenant_id = c.tenant_id AND f.kind = ? "
                    f"AND f.value IN ({','.join('?' * len(values))}) AND f.phone = c.phone)",
                    [_FACT_KIND[type(tree)], *values])
        case ConsentState(state=state):
            def iys(status: str) -> tuple[str, list[object]]:
                if ctx.brand_code:  # a primary-key lookup per contact
                    return (f"EXISTS (SELECT 1 FROM consents k WHERE k.tenant_id = c.tenant_id AND k.brand_code = ? "
                            f"AND k.recipient = c.phone AND k.type = 'MESAJ' AND k.status = '{status}')",
                            [ctx.brand_code])
                return (f"c.phone IN (SELECT recipient FROM consents WHERE tenant_id = ? AND type = 'MESAJ' "
                        f"AND status = '{status}')", [tenant_id])

            opted: tuple[str, list[object]] = (
                "EXISTS (SELECT 1 FROM messaging_contacts m WHERE m.tenant_id = c.tenant_id AND m.phone = c.phone "
                "AND m.opted_out_at IS NOT NULL)", [])
            if state == "opted_out":
                return opted[0], list(opted[1])
            if state == "not_opted_out":
                return f"NOT {opted[0]}", list(opted[1])
            if state == "rejected":
                return iys("RET")
            onay, ret = iys("ONAY"), iys("RET")
            return (f"({onay[0]} AND NOT {ret[0]} AND NOT {opted[0]})", [*onay[1], *ret[1], *opted[1]])
        case Niche():
            return ("1" if ctx.niche is not None and fold_value(ctx.niche) in tree.folded() else "0"), []
        case AllOf(items=items) | AnyOf(items=items):
            op = " AND " if isinstance(tree, AllOf) else " OR "
            parts_params = [compile_criteria(i, tenant_id, ctx) for i in items]
            return "(" + op.join(p for p, _ in parts_params) + ")", [x for _, ps in parts_params for x in ps]
        case NotCriterion(item=item):
            sql, params = compile_criteria(item, tenant_id, ctx)
            return f"(NOT {sql})", params
    raise InvalidArgument(f"unknown criterion {tree!r}", field="target_criteria")


def _range(col: str, lo: object, hi: object) -> tuple[str, list[object]]:
    parts, params = [], []
    if lo is not None:
        parts.append(f"{col} >= ?")
        params.append(lo)
    if hi is not None:
        parts.append(f"{col} <= ?")
        params.append(hi)
    return "(" + " AND ".join(parts) + ")", params


class SQLiteContactProfiles(ConciseRepr, fields=("db",)):
    _COLS = ("tenant_id, phone, name, order_count, order_total, order_total_e4, currency, first_order_at, "
             "last_order_at, last_product, appointment_count, last_appointment_at, last_service, updated_at")

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        # The consent leaves read these tables: make sure they exist on a database used standalone.
        SQLiteConsentCache(db)
        SQLiteMessagingContacts(db)
        db.migrate("campaigns_0002_profiles", [
            """CREATE TABLE campaign_contacts (
                tenant_id TEXT NOT NULL, phone TEXT NOT NULL, name TEXT, order_count INTEGER NOT NULL DEFAULT 0,
                order_total TEXT NOT NULL DEFAULT '0', order_total_e4 INTEGER NOT NULL DEFAULT 0,
                currency TEXT NOT NULL DEFAULT 'TRY', first_order_at TEXT, last_order_at TEXT, last_product TEXT,
                appointment_count INTEGER NOT NULL DEFAULT 0, last_appointment_at TEXT, last_service TEXT,
                updated_at TEXT NOT NULL, PRIMARY KEY (tenant_id, phone))""",
            "CREATE INDEX ix_campaign_contacts_last_order ON campaign_contacts (tenant_id, last_order_at)",
            "CREATE INDEX ix_campaign_contacts_orders ON campaign_contacts (tenant_id, order_count)",
            "CREATE INDEX ix_campaign_contacts_total ON campaign_contacts (tenant_id, order_total_e4)",
            "CREATE INDEX ix_campaign_contacts_last_appt ON campaign_contacts (tenant_id, last_appointment_at)",
            """CREATE TABLE campaign_contact_facts (
                tenant_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, phone TEXT NOT NULL,
                PRIMARY KEY (tenant_id, kind, value, phone)) WITHOUT ROWID""",
            "CREATE INDEX ix_campaign_contact_facts_phone ON campaign_contact_facts (tenant_id, phone)",
            """CREATE TABLE campaign_profile_refs (
                tenant_id TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (tenant_id, ref)) WITHOUT ROWID""",
        ])

    def _ensure(self, conn: Any, tenant_id: str, phone: str, at: datetime) -> None:
        conn.execute("INSERT INTO campaign_contacts (tenant_id, phone, updated_at) VALUES (?,?,?) "
                     "ON CONFLICT DO NOTHING", (tenant_id, phone, to_ts(at)))

    @staticmethod
    def _facts(conn: Any, tenant_id: str, phone: str, kind: str, values: Sequence[str]) -> None:
        conn.executemany("INSERT INTO campaign_contact_facts VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                         [(tenant_id, kind, fold_value(v), phone) for v in values if v and v.strip()])

    def record_order(self, tenant_id: str, phone: str, *, order_ref: str, at: datetime, total: Decimal,
                     currency: str = "TRY", platform: str | None = None, products: Sequence[str] = (),
                     name: str | None = None) -> bool:
        with self.db.transaction() as conn:
            if conn.execute("INSERT INTO campaign_profile_refs VALUES (?,?) ON CONFLICT DO NOTHING",
                            (tenant_id, "order:" + order_ref)).rowcount != 1:
                return False
            self._ensure(conn, tenant_id, phone, at)
            r = conn.execute("SELECT order_total, last_order_at FROM campaign_contacts WHERE tenant_id = ? "
                             "AND phone = ?", (tenant_id, phone)).fetchone()
            new_total = Decimal(r["order_total"]) + total
            latest = r["last_order_at"] is None or to_ts(at) >= r["last_order_at"]
            conn.execute(
                "UPDATE campaign_contacts SET name = COALESCE(?, name), order_count = order_count + 1, "
                "order_total = ?, order_total_e4 = ?, currency = ?, "
                "first_order_at = CASE WHEN first_order_at IS NULL OR first_order_at > ? THEN ? "
                "ELSE first_order_at END, "
                "last_order_at = CASE WHEN ? THEN ? ELSE last_order_at END, "
                "last_product = CASE WHEN ? AND ? IS NOT NULL THEN ? ELSE last_product END, updated_at = ? "
                "WHERE tenant_id = ? AND phone = ?",
                (name, str(new_total), _e4(new_total), currency, to_ts(at), to_ts(at), latest, to_ts(at), latest,
                 products[0] if products else None, products[0] if products else None, to_ts(at), tenant_id, phone))
            self._facts(conn, tenant_id, phone, "platform", [platform] if platform else [])
            self._facts(conn, tenant_id, phone, "product", products)
            return True

    def record_appointment(self, tenant_id: str, phone: str, *, appointment_ref: str, at: datetime,
                           service: str | None = None, name: str | None = None) -> bool:
        with self.db.transaction() as conn:
            if conn.execute("INSERT INTO campaign_profile_refs VALUES (?,?) ON CONFLICT DO NOTHING",
                            (tenant_id, "appointment:" + appointment_ref)).rowcount != 1:
                return False
            self._ensure(conn, tenant_id, phone, at)
            r = conn.execute("SELECT last_appointment_at FROM campaign_contacts WHERE tenant_id = ? AND phone = ?",
                             (tenant_id, phone)).fetchone()
            latest = r["last_appointment_at"] is None or to_ts(at) >= r["last_appointment_at"]
            conn.execute(
                "UPDATE campaign_contacts SET name = COALESCE(name, ?), appointment_count = appointment_count + 1, "
                "last_appointment_at = CASE WHEN ? THEN ? ELSE last_appointment_at END, "
                "last_service = CASE WHEN ? AND ? IS NOT NULL THEN ? ELSE last_service END, updated_at = ? "
                "WHERE tenant_id = ? AND phone = ?",
                (name, latest, to_ts(at), latest, service, service, to_ts(at), tenant_id, phone))
            self._facts(conn, tenant_id, phone, "service", [service] if service else [])
            return True

    def add_labels(self, tenant_id: str, phone: str, kind: str, values: Sequence[str], *, at: datetime) -> None:
        if kind not in ("tag", "segment"):
            raise StorageError(f"unknown label kind {kind!r} (tag or segment)")
        with self.db.transaction() as conn:
            self._ensure(conn, tenant_id, phone, at)
            self._facts(conn, tenant_id, phone, kind, values)

    def upsert_many(self, tenant_id: str, profiles: Sequence[ContactProfile]) -> int:
        with self.db.transaction() as conn:
            for p in profiles:
                if p.tenant_id != tenant_id:
                    raise TenantMismatch("profile belongs to another tenant")
            conn.executemany(
                f"INSERT OR REPLACE INTO campaign_contacts ({self._COLS}) VALUES ({','.join('?' * 14)})",
                [(tenant_id, p.phone, p.name, p.order_count, str(p.order_total), _e4(p.order_total), p.currency,
                  _opt_ts(p.first_order_at), _opt_ts(p.last_order_at), p.last_product, p.appointment_count,
                  _opt_ts(p.last_appointment_at), p.last_service, to_ts(p.updated_at)) for p in profiles])
            conn.executemany("DELETE FROM campaign_contact_facts WHERE tenant_id = ? AND phone = ?",
                             [(tenant_id, p.phone) for p in profiles])
            conn.executemany(
                "INSERT INTO campaign_contact_facts VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                [(tenant_id, kind, fold_value(v), p.phone) for p in profiles
                 for kind, values in (("platform", p.platforms), ("product", p.products), ("tag", p.tags),
                                      ("segment", p.segments), ("service", p.services)) for v in values])
        return len(profiles)

    def get(self, tenant_id: str, phone: str) -> ContactProfile | None:
        r = self.db.execute(f"SELECT {self._COLS} FROM campaign_contacts WHERE tenant_id = ? AND phone = ?",
                            (tenant_id, phone)).fetchone()
        if r is None:
            return None
        facts: dict[str, set[str]] = {}
        for f in self.db.execute("SELECT kind, value FROM campaign_contact_facts WHERE tenant_id = ? AND phone = ?",
                                 (tenant_id, phone)):
            facts.setdefault(f[0], set()).add(f[1])
        return ContactProfile(
            tenant_id=tenant_id, phone=phone, name=r["name"], order_count=r["order_count"],
            order_total=Decimal(r["order_total"]), currency=r["currency"], first_order_at=_opt_dt(r["first_order_at"]),
            last_order_at=_opt_dt(r["last_order_at"]), last_product=r["last_product"],
            appointment_count=r["appointment_count"], last_appointment_at=_opt_dt(r["last_appointment_at"]),
            last_service=r["last_service"], platforms=frozenset(facts.get("platform", ())),
            products=frozenset(facts.get("product", ())), tags=frozenset(facts.get("tag", ())),
            segments=frozenset(facts.get("segment", ())), services=frozenset(facts.get("service", ())),
            updated_at=from_ts(r["updated_at"]))

    def select(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext, *, after_phone: str | None = None,
               limit: int = 1000) -> list[str]:
        where, params = compile_criteria(criteria, tenant_id, ctx)
        # Walk the primary key in phone order: each page costs the contacts it passes over, so the
        # pages of one run add up to a single pass over the tenant (an index the planner might pick
        # for a leaf would make every page collect and sort all matches again).
        sql = (f"SELECT c.phone FROM campaign_contacts c INDEXED BY {_PK_INDEX} "
               f"WHERE c.tenant_id = ? AND {where}")
        args: list[object] = [tenant_id, *params]
        if after_phone is not None:
            sql += " AND c.phone > ?"
            args.append(after_phone)
        args.append(limit)
        return [r[0] for r in self.db.execute(sql + " ORDER BY c.phone LIMIT ?", args)]

    def count(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext) -> int:
        where, params = compile_criteria(criteria, tenant_id, ctx)
        r = self.db.execute(f"SELECT COUNT(*) FROM campaign_contacts c WHERE c.tenant_id = ? AND {where}",
                            [tenant_id, *params]).fetchone()
        return int(r[0])

    def contains(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext, phone: str) -> bool:
        where, params = compile_criteria(criteria, tenant_id, ctx)
        return self.db.execute(f"SELECT 1 FROM campaign_contacts c WHERE c.tenant_id = ? AND c.phone = ? AND {where}",
                               [tenant_id, phone, *params]).fetchone() is not None
