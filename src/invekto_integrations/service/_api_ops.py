"""The API's operating routes: what the platform does to set a tenant up and keep it going —
connect accounts, run an order sync (with streamed progress), watch parcels, record consent,
save doctors and connect their calendars, join the waitlist, list appointments and a campaign's
recipients. Each handler validates its body (`InvalidArgument` naming the field) and works on the
token's tenant only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from invekto_integrations._integrations import Integrations
from invekto_integrations.appointments.models import Doctor, TimeRange
from invekto_integrations.core.errors import ConfigurationError, InvalidArgument
from invekto_integrations.core.ids import new_id
from invekto_integrations.core.phone import normalize_phone
from invekto_integrations.models.accounts import Credentials, IntegrationAccount
from invekto_integrations.models.consent import ConsentStatus, MessageCategory
from invekto_integrations.sync.orders import SyncMode, SyncProgress

from ._api import ApiNotFound
from ._engines import calendar_push_address, waitlist_engine
from ._routes import ApiRequest, ApiRoute, Param, Streamed, body_of, jsonable

__all__ = ["ops_routes"]

class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _AccountIn(_Body):
    provider: str = Field(min_length=1, max_length=64)
    credentials: dict[str, Any]
    settings: dict[str, Any] = Field(default_factory=dict)
    display_name: str = Field(default="", max_length=200)


class _WatchIn(_Body):
    carrier: str = Field(min_length=1, max_length=64)
    tracking_number: str = Field(min_length=1, max_length=64)
    reference: str | None = Field(default=None, max_length=200)
    customer_phone: str | None = Field(default=None, max_length=32)


class _ConsentIn(_Body):
    status: ConsentStatus = ConsentStatus.ONAY
    source_code: str = Field(default="HS_WEB", min_length=1, max_length=32)
    # "register": upload to İYS when the tenant has an İYS account
    upload: bool = Field(default=True, alias="register")


class _DoctorIn(_Body):
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    specialty: str | None = Field(default=None, max_length=200)
    is_specialist: bool = False
    calendar_id: str | None = Field(default=None, min_length=1, max_length=320)
    timezone: str = "Europe/Istanbul"
    working_hours: dict[int, list[TimeRange]] = Field(default_factory=dict)
    breaks: dict[int, list[TimeRange]] = Field(default_factory=dict)
    days_off: list[date] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    is_active: bool = True


class _WaitlistIn(_Body):
    patient_phone: str = Field(min_length=1, max_length=32)
    service_type: str = Field(min_length=1, max_length=200)
    patient_name: str | None = Field(default=None, max_length=200)
    doctor_id: str | None = Field(default=None, max_length=64)
    preferred_date: date | None = None
    date_from: date | None = None
    date_to: date | None = None
    priority: int = Field(default=0, ge=-1000, le=1000)


def _account(account: IntegrationAccount) -> dict[str, Any]:
    """An account without anything secret (not even the sealed credentials)."""
    return {"id": account.id, "provider": account.provider, "display_name": account.display_name,
            "status": account.status.value, "settings": account.settings,
            "created_at": account.created_at.isoformat(), "updated_at": account.updated_at.isoformat()}


def _credentials(raw: dict[str, Any]) -> Credentials:
    key = raw.get("api_key")
    if not isinstance(key, str) or not key:
        raise InvalidArgument("credentials.api_key is required", field="credentials.api_key")
    secret = raw.get("api_secret")
    if secret is not None and not isinstance(secret, str):
        raise InvalidArgument("credentials.api_secret must be a string", field="credentials.api_secret")
    extra = raw.get("extra") or {}
    if not isinstance(extra, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise InvalidArgument("credentials.extra must map names to strings", field="credentials.extra")
    unknown = sorted(set(raw) - {"api_key", "api_secret", "extra"})
    if unknown:
        raise InvalidArgument(f"credentials: unknown field {unknown[0]!r}", field=f"credentials.{unknown[0]}")
    return Credentials(api_key=SecretStr(key), api_secret=SecretStr(secret) if secret else None,
                       extra={k: SecretStr(v) for k, v in extra.items()})


def _progress_line(p: SyncProgress) -> dict[str, Any]:
    return {"account_id": p.account_id, "provider": p.provider, "mode": p.mode.value,
            "fraction": round(p.fraction, 4), "done": p.done, "fetched": p.fetched, "inserted": p.inserted,
            "updated": p.updated, "quarantined": p.quarantined}


def ops_routes(client: Integrations, *, public_url: str | None = None) -> list[ApiRoute]:
    """The operating routes of one client; ``public_url`` is where Google can reach the service
    (calendar push channels are opened only when it is given)."""
    store = client.store
    push_address = calendar_push_address(public_url)

    # -- accounts ----------------------------------------------------------------------------------
    def accounts_list(req: ApiRequest) -> Any:
        return [_account(a) for a in client.accounts.list(req.tenant_id)]

    def account_add(req: ApiRequest) -> Any:
        body: _AccountIn = body_of(_AccountIn, req)
        try:
            client.accounts.service.registry.get(body.provider)
        except ConfigurationError as exc:
            raise InvalidArgument(str(exc), field="provider") from None
        added = client.accounts.add(req.tenant_id, body.provider, _credentials(body.credentials),
                                    settings=body.settings, display_name=body.display_name)
        return _account(added)

    # -- orders ------------------------------------------------------------------------------------
    def orders_sync(req: ApiRequest) -> Any:
        mode_text = req.q("mode", "auto") or "auto"
        try:
            mode = SyncMode(mode_text)
        except ValueError:
            raise InvalidArgument(f"mode must be one of {', '.join(m.value for m in SyncMode)}",
                                  field="mode") from None

        def summary(report: Any) -> dict[str, Any]:
            return {"fetched": report.fetched, "inserted": report.inserted, "updated": report.updated,
                    "quarantined": report.quarantined, "failed": [a.account_id for a in report.failed],
                    "accounts": [{"account_id": a.account_id, "provider": a.provider, "mode": a.mode.value,
                                  "status": a.status.value, "fetched": a.fetched, "inserted": a.inserted,
                                  "updated": a.updated, "quarantined": a.quarantined} for a in report.accounts]}

        if (req.q("stream") or "").lower() in ("1", "true", "yes"):
            def run(emit: Callable[[Any], None]) -> Any:
                return summary(client.orders.sync(req.tenant_id, mode=mode,
                                                  progress=lambda p: emit(_progress_line(p))))
            return Streamed(run)
        return summary(client.orders.sync(req.tenant_id, mode=mode))

    def orders_count(req: ApiRequest) -> Any:
        provider = req.q("provider")
        return {"count": client.orders.count(req.tenant_id, provider=provider or None)}

    # -- shipments ---------------------------------------------------------------------------------
    def shipments_list(req: ApiRequest) -> Any:
        active = req.q("active")
        return client.shipments.list(req.tenant_id, carrier=req.q("carrier") or None,
                                     active=None if active is None else active.lower() in ("1", "true", "yes"))

    def shipment_watch(req: ApiRequest) -> Any:
        body: _WatchIn = body_of(_WatchIn, req)
        return client.shipments.watch(req.tenant_id, body.carrier, body.tracking_number, reference=body.reference,
                                      customer_phone=body.customer_phone)

    # -- consent -----------------------------------------------------------------------------------
    def consent_record(req: ApiRequest) -> Any:
        body: _ConsentIn = body_of(_ConsentIn, req)
        return client.consent.service.record_consent(req.tenant_id, req.path["phone"], status=body.status,
                                                     source_code=body.source_code, register=body.upload)

    def consent_check(req: ApiRequest) -> Any:
        text = req.q("category", "marketing") or "marketing"
        try:
            category = MessageCategory(text)
        except ValueError:
            raise InvalidArgument(f"category must be one of {', '.join(c.value for c in MessageCategory)}",
                                  field="category") from None
        return client.consent.check(req.tenant_id, req.path["phone"], category)

    # -- doctors and calendars ---------------------------------------------------------------------
    def doctor_save(req: ApiRequest) -> Any:
        body: _DoctorIn = body_of(_DoctorIn, req)
        now = client.clock.now()
        doctor_id = body.id or new_id()
        before = store.doctors.get(req.tenant_id, doctor_id)
        fields = body.model_dump(exclude={"id"})
        try:
            doctor = Doctor(id=doctor_id, tenant_id=req.tenant_id, created_at=before.created_at if before else now,
                            updated_at=now, **fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidArgument(f"{where}: {first['msg']}", field=where) from None
        store.doctors.save(req.tenant_id, doctor)
        return doctor

    def doctor_get(req: ApiRequest) -> Any:
        found = store.doctors.get(req.tenant_id, req.path["doctor_id"])
        if found is None:
            raise ApiNotFound("doctor")
        return found

    def doctor_calendar(req: ApiRequest) -> Any:
        doctor = doctor_get(req)
        if not doctor.calendar_id:
            raise InvalidArgument("the doctor has no calendar_id", field="calendar_id")
        engine = client.calendar.engine
        engine.connect_doctor(req.tenant_id, doctor.id)
        channel = None
        if push_address is not None and not _live_channels(engine, req.tenant_id, doctor.calendar_id):
            channel = engine.watch_calendar(req.tenant_id, doctor.calendar_id,
                                            push_address.replace("{tenant_id}", req.tenant_id))
        reports = client.calendar.sync(req.tenant_id)  # the first (full) sync right away
        seen = sum(r.seen for r in reports if r.calendar_id == doctor.calendar_id)
        return {"doctor_id": doctor.id, "calendar_id": doctor.calendar_id, "synced_events": seen,
                "push": None if channel is None else {"channel_id": channel.channel_id,
                                                      "expiration": jsonable(channel.expiration)},
                "watching": bool(_live_channels(engine, req.tenant_id, doctor.calendar_id))}

    # -- appointments and waitlist -----------------------------------------------------------------
    def appointments_list(req: ApiRequest) -> Any:
        phone = req.q("patient_phone")
        return store.appointments.find(req.tenant_id, doctor_id=req.q("doctor_id") or None,
                                       start=req.instant("start") if req.q("start") else None,
                                       end=req.instant("end") if req.q("end") else None,
                                       patient_phone=normalize_phone(phone) if phone else None)

    def appointment_get(req: ApiRequest) -> Any:
        found = store.appointments.get(req.tenant_id, req.path["appointment_id"])
        if found is None:
            raise ApiNotFound("appointment")
        return found

    def waitlist_join(req: ApiRequest) -> Any:
        body: _WaitlistIn = body_of(_WaitlistIn, req)
        if body.doctor_id is not None and store.doctors.get(req.tenant_id, body.doctor_id) is None:
            raise InvalidArgument(f"no doctor {body.doctor_id!r}", field="doctor_id")
        return waitlist_engine(client).join(
            req.tenant_id, body.patient_phone, body.service_type, patient_name=body.patient_name,
            doctor_id=body.doctor_id, preferred_date=body.preferred_date, date_from=body.date_from,
            date_to=body.date_to, priority=body.priority)

    # -- campaigns ---------------------------------------------------------------------------------
    def campaign_recipients(req: ApiRequest) -> Any:
        if store.campaigns.get(req.tenant_id, req.path["campaign_id"]) is None:
            raise ApiNotFound("campaign")
        return [{"phone": r.phone, "variant": r.variant, "status": r.status.value, "occurrence": r.occurrence,
                 "delivery": r.delivery, "entered_at": r.entered_at.isoformat()}
                for r in store.campaign_recipients.find(req.tenant_id, req.path["campaign_id"], limit=10_000)]

    p = Param
    return [
        ApiRoute("GET", "/accounts", "Connected provider accounts (never their credentials)", accounts_list,
                 "accounts"),
        ApiRoute("POST", "/accounts", "Connect a provider account (credentials stored encrypted)", account_add,
                 "accounts", body="{provider, credentials: {api_key, api_secret?, extra?}, settings?, display_name?}",
                 body_model=_AccountIn,
                 success=201),
        ApiRoute("POST", "/orders/sync", "Backfill or incrementally sync the marketplace orders; ?stream=true "
                 "answers NDJSON progress lines, then the report", orders_sync, "orders",
                 (p("mode", description="auto, backfill or incremental"),
                  p("stream", description="true: NDJSON progress lines")),
                 produces="application/json"),
        ApiRoute("GET", "/orders/count", "How many orders are cached", orders_count, "orders", (p("provider"),)),
        ApiRoute("GET", "/shipments", "Watched parcels", shipments_list, "shipments", (p("carrier"), p("active"))),
        ApiRoute("POST", "/shipments", "Watch a parcel (proactive messages when customer_phone is given)",
                 shipment_watch, "shipments", body="{carrier, tracking_number, reference?, customer_phone?}",
                 body_model=_WatchIn,
                 success=201),
        ApiRoute("POST", "/contacts/{phone}/consent", "Record a consent (İYS ONAY) or its withdrawal (RET)",
                 consent_record, "consent", (p("phone", "path", True),),
                 body="{status?: ONAY|RET, source_code?, register?}", body_model=_ConsentIn, success=201),
        ApiRoute("GET", "/contacts/{phone}/consent", "May a category of message go to this phone now?",
                 consent_check, "consent", (p("phone", "path", True), p("category"))),
        ApiRoute("POST", "/doctors", "Create or replace a doctor (working hours, breaks, calendar id)",
                 doctor_save, "appointments",
                 body="{id?, name, calendar_id?, timezone?, working_hours?, breaks?, services?, ...}",
                 body_model=_DoctorIn, success=201),
        ApiRoute("GET", "/doctors/{doctor_id}", "One doctor", doctor_get, "appointments",
                 (p("doctor_id", "path", True),)),
        ApiRoute("POST", "/doctors/{doctor_id}/calendar", "Connect the doctor's Google calendar: a full sync now "
                 "and, with a public URL, a push channel", doctor_calendar, "appointments",
                 (p("doctor_id", "path", True),)),
        ApiRoute("GET", "/appointments", "Appointments (optionally of a doctor, a patient or a time range)",
                 appointments_list, "appointments",
                 (p("doctor_id"), p("patient_phone"), p("start"), p("end"))),
        ApiRoute("GET", "/appointments/{appointment_id}", "One appointment", appointment_get, "appointments",
                 (p("appointment_id", "path", True),)),
        ApiRoute("POST", "/waitlist", "Put a patient on the waitlist of a service", waitlist_join, "appointments",
                 body="{patient_phone, service_type, patient_name?, doctor_id?, preferred_date?, date_from?, "
                      "date_to?, priority?}", body_model=_WaitlistIn, success=201),
        ApiRoute("GET", "/campaigns/{campaign_id}/recipients", "A campaign's recipients and their arm",
                 campaign_recipients, "campaigns", (p("campaign_id", "path", True),)),
    ]


def _live_channels(engine: Any, tenant_id: str, calendar_id: str) -> list[Any]:
    return [c for c in engine.repo.find_channels(tenant_id, calendar_id=calendar_id) if c.stopped_at is None]
