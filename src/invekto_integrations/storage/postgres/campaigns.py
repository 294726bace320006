"""PostgreSQL campaign repositories and the audience compiler (criteria → one query).

The tables are SQLite's (migrations ``campaigns_0001_campaigns``, ``campaigns_0002_profiles``) with
PostgreSQL types: times ``TIMESTAMPTZ``, money ``NUMERIC`` (exact in comparisons and sums, so no
scaled-integer twin column), documents ``JSONB``. Every key and index leads with ``tenant_id``.

Concurrency: a recipient is entered once per occurrence by ``INSERT ... ON CONFLICT DO NOTHING
RETURNING`` (of two runtimes, one gets the row back); a campaign is replaced only at its expected
version; a profile's counters move in one ``UPDATE`` (the row lock orders concurrent orders of one
customer, none is lost), an order or appointment counted once by its reference row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
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
    Recipient,
    RecipientStatus,
    Trigger,
    Variant,
    WinnerDecision,
)
from invekto_integrations.campaigns.repository import ConversionTotals, RecipientCounts
from invekto_integrations.core.errors import InvalidArgument, StorageError
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.storage.protocols import TenantMismatch

from ._db import PostgresDatabase, Row
from .messaging import PostgresConsentCache, PostgresMessagingContacts

__all__ = [
    "PostgresCampaignConversions",
    "PostgresCampaigns",
    "PostgresContactProfiles",
    "PostgresRecipients",
    "compile_criteria",
]

_TRIGGER: TypeAdapter[Trigger] = TypeAdapter(Trigger)


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def _migrate_campaigns(db: PostgresDatabase) -> None:
    db.migrate("campaigns_0001_campaigns", [
        """CREATE TABLE outbound_campaigns (
            tenant_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, trigger_type TEXT NOT NULL,
            target_criteria_json TEXT NOT NULL, template_id TEXT NOT NULL, schedule_json TEXT NOT NULL,
            status TEXT NOT NULL, stats JSONB NOT NULL DEFAULT '{}', created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL, config JSONB NOT NULL DEFAULT '{}', version INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (tenant_id, id))""",
        "CREATE INDEX ix_outbound_campaigns_status ON outbound_campaigns (tenant_id, status, trigger_type)",
        """CREATE TABLE outbound_campaign_variants (
            tenant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, name TEXT NOT NULL, position INTEGER NOT NULL,
            weight NUMERIC NOT NULL, template_name TEXT NOT NULL, language TEXT NOT NULL, spec_json TEXT NOT NULL,
            PRIMARY KEY (tenant_id, campaign_id, name))""",
        """CREATE TABLE outbound_campaign_recipients (
            tenant_id TEXT NOT NULL, campaign_id TEXT NOT NULL, occurrence TEXT NOT NULL, phone TEXT NOT NULL,
            variant TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, message_id TEXT, delivery TEXT,
            entered_at TIMESTAMPTZ NOT NULL, submitted_at TIMESTAMPTZ, delivered_at TIMESTAMPTZ,
            read_at TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL, touched_at TIMESTAMPTZ,
            PRIMARY KEY (tenant_id, campaign_id, occurrence, phone))""",
        "CREATE INDEX ix_campaign_recipients_message ON outbound_campaign_recipients (tenant_id, message_id)",
        "CREATE INDEX ix_campaign_recipients_touch ON outbound_campaign_recipients (tenant_id, phone, touched_at)",
        """CREATE TABLE outbound_conversions (
            tenant_id TEXT NOT NULL, id TEXT NOT NULL, message_id TEXT, campaign_id TEXT NOT NULL,
            conversion_type TEXT NOT NULL, value_amount NUMERIC NOT NULL, created_at TIMESTAMPTZ NOT NULL,
            variant TEXT NOT NULL, occurrence TEXT NOT NULL, phone TEXT NOT NULL, currency TEXT NOT NULL,
            source_ref TEXT NOT NULL, occurred_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, conversion_type, source_ref))""",
        "CREATE INDEX ix_outbound_conversions_campaign ON outbound_conversions (tenant_id, campaign_id, variant)",
    ])


class PostgresCampaigns(ConciseRepr, fields=("db",)):
    _COLS = ("tenant_id", "id", "name", "trigger_type", "target_criteria_json", "template_id", "schedule_json",
             "status", "stats", "created_at", "updated_at", "config", "version")

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        _migrate_campaigns(db)

    @staticmethod
    def _config(c: Campaign) -> dict[str, Any]:
        return {"ab": c.ab.model_dump(mode="json"), "category": c.category.value,
                "conversion_window": c.conversion_window.total_seconds(),
                "winner": c.winner.model_dump(mode="json") if c.winner else None}

    def _write_variants(self, c: Campaign) -> None:
        self.db.execute("DELETE FROM outbound_campaign_variants WHERE tenant_id = %s AND campaign_id = %s",
                        (c.tenant_id, c.id))
        self.db.executemany(
            "INSERT INTO outbound_campaign_variants (tenant_id, campaign_id, name, position, weight, template_name, "
            "language, spec_json) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(c.tenant_id, c.id, v.name, i, v.weight, v.template_name, v.language, v.model_dump_json())
             for i, v in enumerate(c.variants)])

    def _values(self, c: Campaign) -> tuple[object, ...]:
        return (c.tenant_id, c.id, c.name, c.trigger_type, criteria_json(c.audience), c.template_id,
                _TRIGGER.dump_json(c.trigger).decode(), c.status.value, Jsonb(c.stats), c.created_at,
                c.updated_at, Jsonb(self._config(c)), c.version)

    def add(self, tenant_id: str, campaign: Campaign) -> None:
        if campaign.tenant_id != tenant_id:
            raise TenantMismatch("campaign belongs to another tenant")
        with self.db.transaction():
            self.db.execute(f"INSERT INTO outbound_campaigns ({', '.join(self._COLS)}) "
                            f"VALUES ({_marks(len(self._COLS))})", self._values(campaign))
            self._write_variants(campaign)

    def _rows(self, rows: list[Row]) -> list[Campaign]:
        if not rows:
            return []
        variants: dict[str, list[Variant]] = {}
        for v in self.db.fetchall(
                "SELECT campaign_id, spec_json FROM outbound_campaign_variants WHERE tenant_id = %s "
                "AND campaign_id = ANY(%s) ORDER BY campaign_id, position",
                (rows[0]["tenant_id"], [r["id"] for r in rows])):
            variants.setdefault(v["campaign_id"], []).append(Variant.model_validate_json(v["spec_json"]))
        out = []
        for r in rows:
            cfg = r["config"]
            out.append(Campaign(
                id=r["id"], tenant_id=r["tenant_id"], name=r["name"],
                trigger=_TRIGGER.validate_json(r["schedule_json"]),
                audience=parse_criteria(r["target_criteria_json"], record=r["id"]),
                variants=variants.get(r["id"], []), ab=ABSettings.model_validate(cfg.get("ab", {})),
                category=cfg.get("category", "marketing"), conversion_window=cfg.get("conversion_window", 7 * 86400),
                status=CampaignStatus(r["status"]), stats=r["stats"],
                winner=WinnerDecision.model_validate(cfg["winner"]) if cfg.get("winner") else None,
                version=r["version"], created_at=r["created_at"], updated_at=r["updated_at"]))
        return out

    def get(self, tenant_id: str, campaign_id: str) -> Campaign | None:
        rows = self._rows(self.db.fetchall("SELECT * FROM outbound_campaigns WHERE tenant_id = %s AND id = %s",
                                           (tenant_id, campaign_id)))
        return rows[0] if rows else None

    def replace(self, tenant_id: str, campaign: Campaign, *, expected_version: int) -> bool:
        if campaign.tenant_id != tenant_id:
            raise TenantMismatch("campaign belongs to another tenant")
        with self.db.transaction():
            if self.db.execute(
                "UPDATE outbound_campaigns SET name = %s, trigger_type = %s, target_criteria_json = %s, "
                "template_id = %s, schedule_json = %s, status = %s, stats = %s, updated_at = %s, config = %s, "
                "version = %s WHERE tenant_id = %s AND id = %s AND version = %s",
                (campaign.name, campaign.trigger_type, criteria_json(campaign.audience), campaign.template_id,
                 _TRIGGER.dump_json(campaign.trigger).decode(), campaign.status.value, Jsonb(campaign.stats),
                 campaign.updated_at, Jsonb(self._config(campaign)), campaign.version, tenant_id, campaign.id,
                 expected_version)) != 1:
                return False
            self._write_variants(campaign)
            return True

    def find(self, tenant_id: str, *, statuses: Sequence[CampaignStatus] | None = None,
             trigger_type: str | None = None) -> list[Campaign]:
        sql = "SELECT * FROM outbound_campaigns WHERE tenant_id = %s"
        params: list[object] = [tenant_id]
        if statuses is not None:
            sql += " AND status = ANY(%s)"
            params.append([s.value for s in statuses])
        if trigger_type is not None:
            sql += " AND trigger_type = %s"
            params.append(trigger_type)
        return self._rows(self.db.fetchall(sql + " ORDER BY id", params))

    def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in self.db.fetchall(
            "SELECT DISTINCT tenant_id FROM outbound_campaigns ORDER BY 1")]


_SENT = ("accepted", "sent", "delivered", "read")
_RECIPIENT_COLS = ("tenant_id", "campaign_id", "occurrence", "phone", "variant", "status", "reason", "message_id",
                   "delivery", "entered_at", "submitted_at", "delivered_at", "read_at", "updated_at", "touched_at")
_RECIPIENT_SELECT = f"SELECT {', '.join(_RECIPIENT_COLS[:-1])} FROM outbound_campaign_recipients"


def _touched_at(r: Recipient) -> datetime | None:
    if r.status == RecipientStatus.HOLDOUT:
        return r.entered_at
    if r.status == RecipientStatus.SUBMITTED and r.delivery in _SENT and r.submitted_at is not None:
        return r.submitted_at
    return None


class PostgresRecipients(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        _migrate_campaigns(db)

    @staticmethod
    def _values(r: Recipient) -> tuple[object, ...]:
        return (r.tenant_id, r.campaign_id, r.occurrence, r.phone, r.variant, r.status.value, r.reason, r.message_id,
                r.delivery, r.entered_at, r.submitted_at, r.delivered_at, r.read_at, r.updated_at, _touched_at(r))

    def enter_many(self, tenant_id: str, recipients: Sequence[Recipient]) -> list[Recipient]:
        if any(r.tenant_id != tenant_id for r in recipients):
            raise TenantMismatch("recipient belongs to another tenant")
        out = []
        with self.db.transaction():
            for r in recipients:  # the row comes back only to the call that inserted it
                if self.db.fetchone(
                        f"INSERT INTO outbound_campaign_recipients ({', '.join(_RECIPIENT_COLS)}) "
                        f"VALUES ({_marks(len(_RECIPIENT_COLS))}) ON CONFLICT DO NOTHING RETURNING phone",
                        self._values(r)) is not None:
                    out.append(r)
        return out

    def get(self, tenant_id: str, campaign_id: str, occurrence: str, phone: str) -> Recipient | None:
        r = self.db.fetchone(f"{_RECIPIENT_SELECT} WHERE tenant_id = %s AND campaign_id = %s AND occurrence = %s "
                             "AND phone = %s", (tenant_id, campaign_id, occurrence, phone))
        return Recipient.model_validate(r) if r else None

    def update(self, tenant_id: str, recipient: Recipient) -> None:
        if recipient.tenant_id != tenant_id:
            raise TenantMismatch("recipient belongs to another tenant")
        v = self._values(recipient)
        sets = ", ".join(f"{c} = %s" for c in _RECIPIENT_COLS[4:])
        if self.db.execute(f"UPDATE outbound_campaign_recipients SET {sets} WHERE tenant_id = %s "
                           "AND campaign_id = %s AND occurrence = %s AND phone = %s", (*v[4:], *v[:4])) != 1:
            raise StorageError(f"recipient {recipient.phone} of {recipient.campaign_id} was never entered")

    def by_message(self, tenant_id: str, message_id: str) -> Recipient | None:
        r = self.db.fetchone(f"{_RECIPIENT_SELECT} WHERE tenant_id = %s AND message_id = %s LIMIT 1",
                             (tenant_id, message_id))
        return Recipient.model_validate(r) if r else None

    def last_touch(self, tenant_id: str, phone: str, *, at: datetime, since: datetime) -> Recipient | None:
        r = self.db.fetchone(
            f"{_RECIPIENT_SELECT} WHERE tenant_id = %s AND phone = %s AND touched_at >= %s AND touched_at <= %s "
            "ORDER BY touched_at DESC, campaign_id DESC LIMIT 1", (tenant_id, phone, since, at))
        return Recipient.model_validate(r) if r else None

    def find(self, tenant_id: str, campaign_id: str, *, statuses: Sequence[RecipientStatus] | None = None,
             occurrence: str | None = None, after_phone: str | None = None, limit: int = 1000) -> list[Recipient]:
        sql = f"{_RECIPIENT_SELECT} WHERE tenant_id = %s AND campaign_id = %s"
        params: list[object] = [tenant_id, campaign_id]
        if occurrence is not None:
            sql += " AND occurrence = %s"
            params.append(occurrence)
        if after_phone is not None:
            sql += " AND phone > %s"
            params.append(after_phone)
        if statuses is not None:
            sql += " AND status = ANY(%s)"
            params.append([s.value for s in statuses])
        params.append(limit)
        return [Recipient.model_validate(r)
                for r in self.db.fetchall(sql + " ORDER BY occurrence, phone LIMIT %s", params)]

    def counts(self, tenant_id: str, campaign_id: str) -> dict[str, RecipientCounts]:
        statuses = ("holdout", "waiting", "submitted", "refused", "failed", "skipped")
        rows = self.db.fetchall(
            "SELECT variant, COUNT(*) AS entered, "
            + "".join(f"COUNT(*) FILTER (WHERE status = '{s}') AS {s}, " for s in statuses)
            + "COUNT(*) FILTER (WHERE delivery IN ('accepted', 'sent', 'delivered', 'read')) AS sent, "
            "COUNT(*) FILTER (WHERE delivery IN ('delivered', 'read')) AS delivered, "
            "COUNT(*) FILTER (WHERE delivery = 'read') AS read "
            "FROM outbound_campaign_recipients WHERE tenant_id = %s AND campaign_id = %s GROUP BY variant",
            (tenant_id, campaign_id))
        reasons: dict[str, dict[str, int]] = {}
        for r in self.db.fetchall(
                "SELECT variant, COALESCE(reason, 'unknown') AS reason, COUNT(*) AS n "
                "FROM outbound_campaign_recipients WHERE tenant_id = %s AND campaign_id = %s AND status = 'refused' "
                "GROUP BY 1, 2", (tenant_id, campaign_id)):
            reasons.setdefault(r["variant"], {})[r["reason"]] = int(r["n"])
        keys = ("entered", *statuses, "sent", "delivered", "read")
        return {r["variant"]: RecipientCounts(variant=r["variant"], refused_reasons=reasons.get(r["variant"], {}),
                                              **{k: int(r[k] or 0) for k in keys})
                for r in sorted(rows, key=lambda r: str(r["variant"]))}


class PostgresCampaignConversions(ConciseRepr, fields=("db",)):
    _COLS = ("tenant_id", "id", "message_id", "campaign_id", "conversion_type", "value_amount", "created_at",
             "variant", "occurrence", "phone", "currency", "source_ref", "occurred_at")

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        _migrate_campaigns(db)

    def add(self, tenant_id: str, conversion: Conversion) -> bool:
        if conversion.tenant_id != tenant_id:
            raise TenantMismatch("conversion belongs to another tenant")
        values = [getattr(conversion, c) for c in self._COLS]
        return self.db.execute(f"INSERT INTO outbound_conversions ({', '.join(self._COLS)}) "
                               f"VALUES ({_marks(len(self._COLS))}) ON CONFLICT DO NOTHING", values) == 1

    def find(self, tenant_id: str, campaign_id: str) -> list[Conversion]:
        return [Conversion.model_validate(r) for r in self.db.fetchall(
            f"SELECT {', '.join(self._COLS)} FROM outbound_conversions WHERE tenant_id = %s AND campaign_id = %s "
            "ORDER BY occurred_at, id", (tenant_id, campaign_id))]

    def totals(self, tenant_id: str, campaign_id: str) -> list[ConversionTotals]:
        rows = self.db.fetchall(  # NUMERIC sums are exact
            "SELECT variant, conversion_type, COUNT(*) AS n, COUNT(DISTINCT phone) AS phones, "
            "SUM(value_amount) AS value FROM outbound_conversions WHERE tenant_id = %s AND campaign_id = %s "
            "GROUP BY variant, conversion_type", (tenant_id, campaign_id))
        return [ConversionTotals(variant=r["variant"], conversion_type=r["conversion_type"], conversions=int(r["n"]),
                                 recipients=int(r["phones"]), value=r["value"])
                for r in sorted(rows, key=lambda r: (str(r["variant"]), str(r["conversion_type"])))]

    def converted_phones(self, tenant_id: str, campaign_id: str, types: Sequence[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        if not types:
            return out
        for r in self.db.fetchall(
                "SELECT DISTINCT variant, phone FROM outbound_conversions WHERE tenant_id = %s AND campaign_id = %s "
                "AND conversion_type = ANY(%s)", (tenant_id, campaign_id, list(types))):
            out.setdefault(r["variant"], set()).add(r["phone"])
        return out


# --- the audience projection and its compiler ----------------------------------------------------
_FACT_KIND = {Platform: "platform", Product: "product", Tag: "tag", Segment: "segment",
              AppointmentService: "service"}


def compile_criteria(tree: Criterion, tenant_id: str, ctx: AudienceContext) -> tuple[str, list[object]]:
    """A boolean SQL expression over ``campaign_contacts c`` and its bound parameters.

    SQLite's compiler (`storage.sqlite_campaigns.compile_criteria`) in PostgreSQL: every leaf is
    two-valued (never NULL), so ``NOT`` means what the memory evaluator means; fact leaves are
    ``EXISTS`` lookups on the facts' primary key, consent leaves read the consent cache and the
    messaging area's opt-outs.
    """
    match tree:
        case Everyone():
            return "TRUE", []
        case OrderCount() | AppointmentCount():
            col = "c.order_count" if isinstance(tree, OrderCount) else "c.appointment_count"
            return _range(col, tree.min, tree.max)
        case OrderTotal():
            sql, params = _range("c.order_total", tree.min, tree.max)
            return f"(c.order_count > 0 AND {sql})", params
        case LastOrder() | LastAppointment():
            col = "c.last_order_at" if isinstance(tree, LastOrder) else "c.last_appointment_at"
            if tree.never:
                return f"({col} IS NULL)", []
            lo, hi = tree.bounds(ctx.now)
            parts, params = [f"{col} IS NOT NULL"], []
            if lo is not None:
                parts.append(f"{col} >= %s")
                params.append(lo)
            if hi is not None:
                parts.append(f"{col} < %s")
                params.append(hi)
            return "(" + " AND ".join(parts) + ")", params
        case Platform() | Product() | Tag() | Segment() | AppointmentService():
            return ("EXISTS (SELECT 1 FROM campaign_contact_facts f WHERE f.tenant_id = c.tenant_id AND f.kind = %s "
                    "AND f.value = ANY(%s) AND f.phone = c.phone)", [_FACT_KIND[type(tree)], list(tree.folded())])
        case ConsentState(state=state):
            def iys(status: str) -> tuple[str, list[object]]:
                if ctx.brand_code:  # a primary-key lookup per contact
                    return ("EXISTS (SELECT 1 FROM consents k WHERE k.tenant_id = c.tenant_id AND k.brand_code = %s "
                            "AND k.recipient = c.phone AND k.type = 'MESAJ' AND k.status = %s)",
                            [ctx.brand_code, status])
                return ("EXISTS (SELECT 1 FROM consents k WHERE k.tenant_id = c.tenant_id AND k.recipient = c.phone "
                        "AND k.type = 'MESAJ' AND k.status = %s)", [status])

            opted = ("EXISTS (SELECT 1 FROM messaging_contacts m WHERE m.tenant_id = c.tenant_id "
                     "AND m.phone = c.phone AND m.opted_out_at IS NOT NULL)")
            if state == "opted_out":
                return opted, []
            if state == "not_opted_out":
                return f"NOT {opted}", []
            if state == "rejected":
                return iys("RET")
            onay, ret = iys("ONAY"), iys("RET")
            return f"({onay[0]} AND NOT {ret[0]} AND NOT {opted})", [*onay[1], *ret[1]]
        case Niche():
            return ("TRUE" if ctx.niche is not None and fold_value(ctx.niche) in tree.folded() else "FALSE"), []
        case AllOf(items=items) | AnyOf(items=items):
            if not items:  # an empty AND is true, an empty OR false (as in the memory evaluator)
                return ("TRUE" if isinstance(tree, AllOf) else "FALSE"), []
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
        parts.append(f"{col} >= %s")
        params.append(lo)
    if hi is not None:
        parts.append(f"{col} <= %s")
        params.append(hi)
    return "(" + (" AND ".join(parts) or "TRUE") + ")", params


_PROFILE_COLS = ("tenant_id", "phone", "name", "order_count", "order_total", "currency", "first_order_at",
                 "last_order_at", "last_product", "appointment_count", "last_appointment_at", "last_service",
                 "updated_at")


class PostgresContactProfiles(ConciseRepr, fields=("db",)):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        # The consent leaves read these tables: make sure they exist on a database used standalone.
        PostgresConsentCache(db)
        PostgresMessagingContacts(db)
        db.migrate("campaigns_0002_profiles", [
            """CREATE TABLE campaign_contacts (
                tenant_id TEXT NOT NULL, phone TEXT NOT NULL, name TEXT, order_count INTEGER NOT NULL DEFAULT 0,
                order_total NUMERIC NOT NULL DEFAULT 0, currency TEXT NOT NULL DEFAULT 'TRY',
                first_order_at TIMESTAMPTZ, last_order_at TIMESTAMPTZ, last_product TEXT,
                appointment_count INTEGER NOT NULL DEFAULT 0, last_appointment_at TIMESTAMPTZ, last_service TEXT,
                updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, phone))""",
            "CREATE INDEX ix_campaign_contacts_last_order ON campaign_contacts (tenant_id, last_order_at)",
            "CREATE INDEX ix_campaign_contacts_orders ON campaign_contacts (tenant_id, order_count)",
            "CREATE INDEX ix_campaign_contacts_total ON campaign_contacts (tenant_id, order_total)",
            "CREATE INDEX ix_campaign_contacts_last_appt ON campaign_contacts (tenant_id, last_appointment_at)",
            """CREATE TABLE campaign_contact_facts (
                tenant_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, phone TEXT NOT NULL,
                PRIMARY KEY (tenant_id, kind, value, phone))""",
            "CREATE INDEX ix_campaign_contact_facts_phone ON campaign_contact_facts (tenant_id, phone)",
            """CREATE TABLE campaign_profile_refs (
                tenant_id TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (tenant_id, ref))""",
        ])

    def _ensure(self, tenant_id: str, phone: str, at: datetime) -> None:
        self.db.execute("INSERT INTO campaign_contacts (tenant_id, phone, updated_at) VALUES (%s, %s, %s) "
                        "ON CONFLICT DO NOTHING", (tenant_id, phone, at))

    def _facts(self, tenant_id: str, phone: str, kind: str, values: Sequence[str]) -> None:
        self.db.executemany("INSERT INTO campaign_contact_facts (tenant_id, kind, value, phone) "
                            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                            [(tenant_id, kind, fold_value(v), phone) for v in values if v and v.strip()])

    def _first_time(self, tenant_id: str, ref: str) -> bool:
        return self.db.execute("INSERT INTO campaign_profile_refs (tenant_id, ref) VALUES (%s, %s) "
                               "ON CONFLICT DO NOTHING", (tenant_id, ref)) == 1

    def record_order(self, tenant_id: str, phone: str, *, order_ref: str, at: datetime, total: Decimal,
                     currency: str = "TRY", platform: str | None = None, products: Sequence[str] = (),
                     name: str | None = None) -> bool:
        product = products[0] if products else None
        with self.db.transaction():
            if not self._first_time(tenant_id, "order:" + order_ref):
                return False
            self._ensure(tenant_id, phone, at)
            # One UPDATE reading the row's old values: concurrent orders of one customer queue on its lock.
            self.db.execute(
                "UPDATE campaign_contacts SET name = COALESCE(%(name)s, name), order_count = order_count + 1, "
                "order_total = order_total + %(total)s, currency = %(currency)s, "
                "first_order_at = LEAST(first_order_at, %(at)s), "
                "last_order_at = GREATEST(last_order_at, %(at)s), "
                "last_product = CASE WHEN (last_order_at IS NULL OR %(at)s >= last_order_at) "
                "AND %(product)s::text IS NOT NULL THEN %(product)s ELSE last_product END, updated_at = %(at)s "
                "WHERE tenant_id = %(tenant)s AND phone = %(phone)s",
                {"name": name, "total": total, "currency": currency, "at": at, "product": product,  # type: ignore[arg-type]
                 "tenant": tenant_id, "phone": phone})
            self._facts(tenant_id, phone, "platform", [platform] if platform else [])
            self._facts(tenant_id, phone, "product", products)
            return True

    def record_appointment(self, tenant_id: str, phone: str, *, appointment_ref: str, at: datetime,
                           service: str | None = None, name: str | None = None) -> bool:
        with self.db.transaction():
            if not self._first_time(tenant_id, "appointment:" + appointment_ref):
                return False
            self._ensure(tenant_id, phone, at)
            self.db.execute(
                "UPDATE campaign_contacts SET name = COALESCE(name, %(name)s), "
                "appointment_count = appointment_count + 1, "
                "last_appointment_at = GREATEST(last_appointment_at, %(at)s), "
                "last_service = CASE WHEN (last_appointment_at IS NULL OR %(at)s >= last_appointment_at) "
                "AND %(service)s::text IS NOT NULL THEN %(service)s ELSE last_service END, updated_at = %(at)s "
                "WHERE tenant_id = %(tenant)s AND phone = %(phone)s",
                {"name": name, "at": at, "service": service, "tenant": tenant_id, "phone": phone})  # type: ignore[arg-type]
            self._facts(tenant_id, phone, "service", [service] if service else [])
            return True

    def add_labels(self, tenant_id: str, phone: str, kind: str, values: Sequence[str], *, at: datetime) -> None:
        if kind not in ("tag", "segment"):
            raise StorageError(f"unknown label kind {kind!r} (tag or segment)")
        with self.db.transaction():
            self._ensure(tenant_id, phone, at)
            self._facts(tenant_id, phone, kind, values)

    def upsert_many(self, tenant_id: str, profiles: Sequence[ContactProfile]) -> int:
        if any(p.tenant_id != tenant_id for p in profiles):
            raise TenantMismatch("profile belongs to another tenant")
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _PROFILE_COLS[2:])
        with self.db.transaction():
            self.db.executemany(
                f"INSERT INTO campaign_contacts ({', '.join(_PROFILE_COLS)}) VALUES ({_marks(len(_PROFILE_COLS))}) "
                f"ON CONFLICT (tenant_id, phone) DO UPDATE SET {updates}",
                [tuple(getattr(p, c) for c in _PROFILE_COLS) for p in profiles])
            self.db.execute("DELETE FROM campaign_contact_facts WHERE tenant_id = %s AND phone = ANY(%s)",
                            (tenant_id, [p.phone for p in profiles]))
            self.db.executemany(
                "INSERT INTO campaign_contact_facts (tenant_id, kind, value, phone) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                [(tenant_id, kind, fold_value(v), p.phone) for p in profiles
                 for kind, values in (("platform", p.platforms), ("product", p.products), ("tag", p.tags),
                                      ("segment", p.segments), ("service", p.services)) for v in values])
        return len(profiles)

    def get(self, tenant_id: str, phone: str) -> ContactProfile | None:
        r = self.db.fetchone(f"SELECT {', '.join(_PROFILE_COLS)} FROM campaign_contacts WHERE tenant_id = %s "
                             "AND phone = %s", (tenant_id, phone))
        if r is None:
            return None
        facts: dict[str, set[str]] = {}
        for f in self.db.fetchall("SELECT kind, value FROM campaign_contact_facts WHERE tenant_id = %s "
                                  "AND phone = %s", (tenant_id, phone)):
            facts.setdefault(f["kind"], set()).add(f["value"])
        return ContactProfile.model_validate({
            **r, "platforms": frozenset(facts.get("platform", ())), "products": frozenset(facts.get("product", ())),
            "tags": frozenset(facts.get("tag", ())), "segments": frozenset(facts.get("segment", ())),
            "services": frozenset(facts.get("service", ()))})

    def select(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext, *, after_phone: str | None = None,
               limit: int = 1000) -> list[str]:
        where, params = compile_criteria(criteria, tenant_id, ctx)
        # Pages walk the primary key in phone order (keyset paging: each page starts after the last).
        sql = f"SELECT c.phone FROM campaign_contacts c WHERE c.tenant_id = %s AND {where}"
        args: list[object] = [tenant_id, *params]
        if after_phone is not None:
            sql += " AND c.phone > %s"
            args.append(after_phone)
        args.append(limit)
        return [r["phone"] for r in self.db.fetchall(sql + " ORDER BY c.phone LIMIT %s", args)]

    def count(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext) -> int:
        where, params = compile_criteria(criteria, tenant_id, ctx)
        r = self.db.fetchone(f"SELECT COUNT(*) AS n FROM campaign_contacts c WHERE c.tenant_id = %s AND {where}",
                             [tenant_id, *params])
        return int(r["n"]) if r else 0

    def contains(self, tenant_id: str, criteria: Criterion, ctx: AudienceContext, phone: str) -> bool:
        where, params = compile_criteria(criteria, tenant_id, ctx)
        return self.db.fetchone(f"SELECT 1 AS hit FROM campaign_contacts c WHERE c.tenant_id = %s AND c.phone = %s "
                                f"AND {where}", [tenant_id, phone, *params]) is not None

