"""The REST API for the platform's other services: every route of `api_routes`, each handler a thin
call into the library (the front door `Integrations` and the areas' functions). Tenant scoping is
done before a handler runs: ``req.tenant_id`` is the token's tenant and the path's."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from invekto_integrations._integrations import Integrations
from invekto_integrations.appointments.pricing import PriceCatalog
from invekto_integrations.attribution import funnel, import_spend_csv, leads_per_campaign, save_rule
from invekto_integrations.attribution.spend import add_manual_spend
from invekto_integrations.campaigns import ABSettings, CampaignManager, Trigger, Variant, campaign_report
from invekto_integrations.campaigns.reports import costs_from_settings
from invekto_integrations.campaigns.repository import CampaignRepository, ConversionRepository, RecipientRepository
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.dashboard import ReportPeriod, build_panels, build_report
from invekto_integrations.models.attribution import AttributionModel, TagRule, TrackedLink
from invekto_integrations.models.consent import MessageCategory
from invekto_integrations.models.settings import TenantSettings
from invekto_integrations.storage.settings import tenant_settings

from ._routes import ApiRequest, ApiRoute, Param, body_of, jsonable

__all__ = ["ApiNotFound", "api_routes"]



class _CampaignIn(BaseModel):
    """The body of ``POST campaigns``: variant weights are the split, ``ab.holdout`` the control share."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    trigger: Trigger
    variants: list[Variant] = Field(min_length=1, max_length=10)
    audience: dict[str, Any] | str | None = None
    ab: ABSettings = Field(default_factory=ABSettings)
    category: MessageCategory = MessageCategory.MARKETING
    conversion_window_days: int = Field(default=7, ge=1, le=90)


class ApiNotFound(LookupError):
    """A resource of the tenant that does not exist (answered 404, like another tenant's)."""


class _CampaignStore(Protocol):
    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def campaign_recipients(self) -> RecipientRepository: ...
    @property
    def campaign_conversions(self) -> ConversionRepository: ...


def _parse(adapter: TypeAdapter[Any], value: Any, field: str) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        message = errors[0]["msg"] if errors else "invalid"
        raise InvalidArgument(f"{field}: {message}", field=f"{field}.{where}".rstrip(".")) from None


def _tz(client: Integrations, tenant_id: str) -> str:
    return tenant_settings(client.store.tenant_settings, tenant_id).timezone


def api_routes(client: Integrations) -> list[ApiRoute]:
    """The API of one `Integrations` client (its store, keys and clock)."""
    store = client.store
    clock = client.clock
    camp_store: _CampaignStore = store  # both built-in stores have them

    def manager(tenant_id: str) -> CampaignManager:
        return CampaignManager(camp_store.campaigns, getattr(store, "contact_profiles", None), clock=clock,
                               timezone=_tz(client, tenant_id))

    # -- orders and shipments ---------------------------------------------------------------------
    def customer_orders(req: ApiRequest) -> Any:
        refresh = (req.q("refresh") or "").lower() in ("1", "true", "yes")
        return client.orders.lookup(req.tenant_id, req.path["phone"], refresh=refresh)

    def shipment(req: ApiRequest) -> Any:
        found = store.shipments.get(req.tenant_id, req.path["carrier"], req.path["tracking_number"])
        if found is None:
            raise ApiNotFound("shipment")
        history = store.shipments.history(req.tenant_id, found.carrier, found.tracking_number)
        return {"shipment": found, "history": history}

    # -- campaigns ----------------------------------------------------------------------------------
    def campaigns_list(req: ApiRequest) -> Any:
        return camp_store.campaigns.find(req.tenant_id)

    def campaign_create(req: ApiRequest) -> Any:
        body: _CampaignIn = body_of(_CampaignIn, req)
        return manager(req.tenant_id).create(req.tenant_id, body.name, trigger=body.trigger, variants=body.variants,
                                             audience=body.audience, ab=body.ab, category=body.category,
                                             conversion_window=timedelta(days=body.conversion_window_days))

    def campaign_get(req: ApiRequest) -> Any:
        found = camp_store.campaigns.get(req.tenant_id, req.path["campaign_id"])
        if found is None:
            raise ApiNotFound("campaign")
        return found

    def campaign_action(action: str) -> Any:
        def run(req: ApiRequest) -> Any:
            campaign_get(req)
            return getattr(manager(req.tenant_id), action)(req.tenant_id, req.path["campaign_id"])
        return run

    def campaign_stats(req: ApiRequest) -> Any:
        campaign = campaign_get(req)
        return campaign_report(campaign, tenant_id=req.tenant_id, campaigns=camp_store.campaigns,
                               recipients=camp_store.campaign_recipients,
                               conversions=camp_store.campaign_conversions,
                               costs=costs_from_settings(store.tenant_settings))

    def audience_preview(req: ApiRequest) -> Any:
        body = req.json()
        sample = body.get("sample", 20)
        if not isinstance(sample, int) or isinstance(sample, bool) or not 0 <= sample <= 1000:
            raise InvalidArgument("sample must be an integer from 0 to 1000", field="sample")
        return manager(req.tenant_id).preview(req.tenant_id, body.get("audience") or {"type": "everyone"},
                                              sample=sample)

    # -- attribution --------------------------------------------------------------------------------
    def link_create(req: ApiRequest) -> Any:
        body = req.json()
        wa = body.get("wa_number")
        if not isinstance(wa, str):
            raise InvalidArgument("wa_number is required", field="wa_number")
        utm = {k: body.get(k) for k in ("utm_source", "utm_medium", "utm_campaign")}
        link = client.attribution.create_link(req.tenant_id, wa, channel_name=body.get("channel_name"),
                                              **{k: v for k, v in utm.items() if isinstance(v, str)})
        return _link(link)

    def links_list(req: ApiRequest) -> Any:
        return [_link(link) for link in store.tracked_links.find(req.tenant_id)]

    def spend_add(req: ApiRequest) -> Any:
        body = req.json()
        try:
            from datetime import date

            day = date.fromisoformat(str(body.get("date")))
        except ValueError:
            raise InvalidArgument("date must be YYYY-MM-DD", field="date") from None
        names = ("campaign_name", "adset_id", "adset_name", "ad_id", "ad_name", "currency")
        extra = {k: str(body[k]) for k in names if body.get(k) is not None}
        return add_manual_spend(store.ad_spend, req.tenant_id, day, str(body.get("campaign_id") or ""),
                                str(body.get("amount", "")), **extra)

    def spend_csv(req: ApiRequest) -> Any:
        try:
            text = req.raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidArgument("the CSV must be UTF-8", field="body") from None
        result = import_spend_csv(store.ad_spend, req.tenant_id, text)
        return {"ok": result.ok, "imported": getattr(result, "imported", None),
                "errors": [str(e) for e in result.errors]}

    def rules_list(req: ApiRequest) -> Any:
        return store.tag_rules.find(req.tenant_id)

    def rule_save(req: ApiRequest) -> Any:
        body = dict(req.json())
        body["tenant_id"] = req.tenant_id
        rule = _parse(TypeAdapter(TagRule), body, "rule")
        return save_rule(store, req.tenant_id, rule)

    def attribution_funnel(req: ApiRequest) -> Any:
        model = _parse(TypeAdapter(AttributionModel), req.q("model", "last_touch"), "model")
        return funnel(store, req.tenant_id, req.day("start"), req.day("end"), model=model,
                      timezone=_tz(client, req.tenant_id)).rows

    def attribution_leads(req: ApiRequest) -> Any:
        return leads_per_campaign(store, req.tenant_id, req.day("start"), req.day("end"),
                                  timezone=_tz(client, req.tenant_id)).rows

    # -- dashboard ----------------------------------------------------------------------------------
    def _period(req: ApiRequest) -> ReportPeriod:
        return ReportPeriod(req.tenant_id, req.day("from"), req.day("to"), _tz(client, req.tenant_id))

    def _niche(req: ApiRequest) -> Any:
        settings = tenant_settings(store.tenant_settings, req.tenant_id)
        niche = req.q("niche") or str(getattr(settings.niche, "value", settings.niche))
        if niche not in ("ecommerce", "dental", "aesthetic"):
            raise InvalidArgument("niche must be ecommerce, dental or aesthetic", field="niche")
        return niche

    def dashboard_panels(req: ApiRequest) -> Any:
        # Each panel's kind and whether it has data, beside its fields (a client needs both to pick one).
        return [{"kind": p.kind, "empty": p.is_empty, **jsonable(p)}
                for p in build_panels(store, _period(req), niche=_niche(req))]

    def dashboard_html(req: ApiRequest) -> Any:
        return build_report(store, _period(req), clock=clock, niche=_niche(req)).to_html()

    # -- appointments and pricing ------------------------------------------------------------------
    def doctors(req: ApiRequest) -> Any:
        return store.doctors.find(req.tenant_id)

    def slots(req: ApiRequest) -> Any:
        return client.appointments.free_slots(req.tenant_id, req.need("service"), req.instant("start"),
                                              req.instant("end"))

    def book(req: ApiRequest) -> Any:
        body = req.json()
        from datetime import datetime

        try:
            starts = datetime.fromisoformat(str(body.get("starts_at")))
        except ValueError:
            raise InvalidArgument("starts_at must be an ISO 8601 time", field="starts_at") from None
        return client.appointments.book(req.tenant_id, doctor_id=str(body.get("doctor_id") or ""),
                                        service_name=str(body.get("service_name") or ""), starts_at=starts,
                                        patient_phone=str(body.get("patient_phone") or ""),
                                        patient_name=body.get("patient_name"))

    def cancel(req: ApiRequest) -> Any:
        if store.appointments.get(req.tenant_id, req.path["appointment_id"]) is None:
            raise ApiNotFound("appointment")
        return client.appointments.cancel(req.tenant_id, req.path["appointment_id"])

    def waitlist(req: ApiRequest) -> Any:
        return store.waitlist.find(req.tenant_id)

    def catalog() -> PriceCatalog:
        return PriceCatalog(store.service_pricing, clock=clock)

    def pricing_list(req: ApiRequest) -> Any:
        active_only = (req.q("active_only") or "true").lower() not in ("0", "false", "no")
        return store.service_pricing.find(req.tenant_id, active_only=active_only)

    def pricing_create(req: ApiRequest) -> Any:
        b = req.json()
        return catalog().create(req.tenant_id, str(b.get("service_name") or ""), _money(b, "price_min"),
                                _money(b, "price_max"), _int(b, "duration_minutes"),
                                buffer_minutes=_int(b, "buffer_minutes", 0), description=b.get("description"),
                                requires_specialist=bool(b.get("requires_specialist", False)))

    def _pricing_exists(req: ApiRequest) -> None:
        if store.service_pricing.get(req.tenant_id, req.path["service_id"]) is None:
            raise ApiNotFound("service")

    def pricing_update(req: ApiRequest) -> Any:
        _pricing_exists(req)
        allowed = {"service_name", "price_min", "price_max", "duration_minutes", "buffer_minutes", "description",
                   "requires_specialist"}
        body = req.json()
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise InvalidArgument(f"cannot change {', '.join(unknown)}", field=unknown[0])
        return catalog().edit(req.tenant_id, req.path["service_id"], **body)

    def pricing_deactivate(req: ApiRequest) -> Any:
        _pricing_exists(req)
        return catalog().deactivate(req.tenant_id, req.path["service_id"])

    # -- settings ----------------------------------------------------------------------------------
    def settings_get(req: ApiRequest) -> Any:
        return tenant_settings(store.tenant_settings, req.tenant_id)

    def settings_put(req: ApiRequest) -> Any:
        current = tenant_settings(store.tenant_settings, req.tenant_id).model_dump(mode="json")
        merged = {**current, **req.json(), "tenant_id": req.tenant_id} if "tenant_id" in current \
            else {**current, **req.json()}
        settings = _parse(TypeAdapter(TenantSettings), merged, "settings")
        store.tenant_settings.save(req.tenant_id, settings)
        return settings

    tid = "tenant"
    p = Param
    return [
        ApiRoute("GET", "/customers/{phone}/orders", "A customer's orders on every connected marketplace",
                 customer_orders, "orders", (p("phone", "path", True), p("refresh"))),
        ApiRoute("GET", "/shipments/{carrier}/{tracking_number}", "A watched parcel's unified status and history",
                 shipment, "shipments", (p("carrier", "path", True), p("tracking_number", "path", True))),
        ApiRoute("GET", "/campaigns", "The tenant's campaigns", campaigns_list, "campaigns"),
        ApiRoute("POST", "/campaigns", "Create a draft campaign", campaign_create, "campaigns",
                 body="{name, trigger, variants: [{name, template_name, weight?, body_params?}], audience?, "
                      "ab?: {holdout, metric, test_fraction?, auto_winner?, ...}, category?, conversion_window_days?}",
                 body_model=_CampaignIn, success=201),
        ApiRoute("POST", "/campaigns/preview", "Dry-run an audience: count and sample", audience_preview,
                 "campaigns", body="{audience, sample?}"),
        ApiRoute("GET", "/campaigns/{campaign_id}", "One campaign", campaign_get, "campaigns",
                 (p("campaign_id", "path", True),)),
        *[ApiRoute("POST", f"/campaigns/{{campaign_id}}/{a}", f"{a.capitalize()} a campaign", campaign_action(a),
                   "campaigns", (p("campaign_id", "path", True),)) for a in ("schedule", "pause", "resume", "cancel")],
        ApiRoute("GET", "/campaigns/{campaign_id}/stats", "Per-variant sent/delivered/read/replied/converted and ROI",
                 campaign_stats, "campaigns", (p("campaign_id", "path", True),)),
        ApiRoute("GET", "/attribution/links", "Tracked WhatsApp links", links_list, "attribution"),
        ApiRoute("POST", "/attribution/links", "Create a tracked wa.me link with UTM", link_create, "attribution",
                 body="{wa_number, utm_source?, utm_medium?, utm_campaign?, channel_name?}", success=201),
        ApiRoute("POST", "/attribution/spend", "Add or replace a manual spend entry", spend_add, "attribution",
                 body="{date, campaign_id, amount, adset_id?, ad_id?, currency?}", success=201),
        ApiRoute("POST", "/attribution/spend.csv", "Import manual spend from CSV (line-numbered errors)",
                 spend_csv, "attribution", body="text/csv"),
        ApiRoute("GET", "/attribution/rules", "Auto-tagging rules", rules_list, "attribution"),
        ApiRoute("POST", "/attribution/rules", "Create or change a tagging rule (validated)", rule_save,
                 "attribution", body="{name, field, op, value, labels?, segments?, priority?}", success=201),
        ApiRoute("GET", "/attribution/funnel", "Campaign → ad set → ad → leads → conversions, CPL, ROAS",
                 attribution_funnel, "attribution",
                 (p("start", required=True), p("end", required=True), p("model"))),
        ApiRoute("GET", "/attribution/leads", "Leads per campaign", attribution_leads, "attribution",
                 (p("start", required=True), p("end", required=True))),
        ApiRoute("GET", "/dashboard/panels", "Every dashboard panel as typed data", dashboard_panels, "dashboard",
                 (p("from", required=True), p("to", required=True), p("niche"))),
        ApiRoute("GET", "/dashboard.html", "The self-contained HTML report", dashboard_html, "dashboard",
                 (p("from", required=True), p("to", required=True), p("niche")), produces="text/html"),
        ApiRoute("GET", "/doctors", "Doctors", doctors, "appointments"),
        ApiRoute("GET", "/slots", "Free slots of a service", slots, "appointments",
                 (p("service", required=True), p("start", required=True), p("end", required=True))),
        ApiRoute("POST", "/appointments", "Book an appointment", book, "appointments",
                 body="{doctor_id, service_name, starts_at, patient_phone, patient_name?}", success=201),
        ApiRoute("POST", "/appointments/{appointment_id}/cancel", "Cancel (the waitlist is offered the slot)",
                 cancel, "appointments", (p("appointment_id", "path", True),)),
        ApiRoute("GET", "/waitlist", "Waitlist entries", waitlist, "appointments"),
        ApiRoute("GET", "/pricing", "Service price ranges", pricing_list, "pricing", (p("active_only"),)),
        ApiRoute("POST", "/pricing", "Add a service with its price range", pricing_create, "pricing",
                 body="{service_name, price_min, price_max, duration_minutes, buffer_minutes?}", success=201),
        ApiRoute("PATCH", "/pricing/{service_id}", "Change a service's range, duration or description",
                 pricing_update, "pricing", (p("service_id", "path", True),), body="fields to change"),
        ApiRoute("POST", "/pricing/{service_id}/deactivate", "Deactivate a service", pricing_deactivate, "pricing",
                 (p("service_id", "path", True),)),
        ApiRoute("GET", "/settings", "The tenant's settings", settings_get, tid),
        ApiRoute("PUT", "/settings", "Change the tenant's settings (validated; omitted fields kept)", settings_put,
                 tid, body="TenantSettings fields"),
    ]


def _link(link: TrackedLink) -> dict[str, Any]:
    return {**link.model_dump(mode="json"), "wa_url": link.wa_url}


def _money(body: dict[str, Any], name: str) -> Decimal | str:
    value = body.get(name)
    if value is None or isinstance(value, bool | float):
        raise InvalidArgument(f"{name} is required as a decimal string or integer", field=name)
    return str(value)


def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{name} must be an integer", field=name)
    return value
