"""The dental and aesthetic niche panel: appointments, no-show rate, waitlist fills, revenue by
service and price range, leads by treatment.

Appointments are those starting in the period; no-show rate = no-shows ÷ (completed + no-shows)
(appointments whose outcome is known). Waitlist fills = offers made in the period that the
patient accepted (a freed slot re-booked), over offers made. Revenue is estimated from the price
list: a completed appointment earns between its service's ``price_min`` and ``price_max``; the
estimate is the midpoint. Price range = the band of that midpoint. Leads by treatment = distinct
patients (phones) who booked an appointment or joined the waitlist in the period, per treatment.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from invekto_integrations.storage.dashboard_protocols import ReportReader
from invekto_integrations.storage.records import AppointmentStatus, OfferStatus, ServicePricing, fold_name

from ._base import Chart, Kpi, L, Label, Panel, Rate, Series, Table, money
from ._format import fmt_money
from ._period import ReportPeriod

__all__ = ["ClinicDay", "ClinicPanel", "LeadRow", "PriceBandRow", "ServiceRow", "clinic_panel"]

#: Price bands (TRY) by the service's midpoint price: (upper bound exclusive, label).
PRICE_BANDS: list[tuple[Decimal | None, str]] = [
    (Decimal(1000), "< 1.000"), (Decimal(5000), "1.000–5.000"), (Decimal(20000), "5.000–20.000"),
    (None, "20.000+"),
]
UNPRICED = "fiyatsız / unpriced"


class ServiceRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    appointments: int
    completed: int
    no_show: int
    cancelled: int
    price_min: Decimal | None
    price_max: Decimal | None
    revenue_min: Decimal
    revenue_max: Decimal
    revenue: Decimal  # midpoint estimate
    price_band: str


class PriceBandRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    band: str
    completed: int
    revenue: Decimal


class LeadRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    treatment: str
    leads: int
    from_appointments: int
    from_waitlist: int


class ClinicDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    completed: int
    no_show: int
    cancelled: int
    upcoming: int  # booked or confirmed


class ClinicPanel(Panel):
    kind = "clinic"
    title = L("Klinik", "Clinic")

    niche: Literal["dental", "aesthetic"] = "dental"
    appointments: int
    status_counts: dict[str, int]
    no_show_rate: Rate
    cancellation_rate: Rate
    offers: int
    offers_accepted: int
    fill_rate: Rate
    waitlist_joined: int
    revenue: Decimal
    revenue_min: Decimal
    revenue_max: Decimal
    by_service: list[ServiceRow]
    by_price_band: list[PriceBandRow]
    leads: list[LeadRow]
    daily: list[ClinicDay]

    @property
    def heading(self) -> Label:
        if self.niche == "aesthetic":
            return L("Estetik klinik", "Aesthetic clinic")
        return L("Diş kliniği", "Dental clinic")

    @property
    def is_empty(self) -> bool:
        return self.appointments == 0 and self.offers == 0 and not self.leads

    def kpis(self) -> list[Kpi]:
        return [
            Kpi(key="appointments", label=L("Randevu", "Appointments"), value=str(self.appointments)),
            Kpi(key="no_show_rate", label=L("Gelmeme oranı", "No-show rate"), value=self.no_show_rate.percent()),
            Kpi(key="fill_rate", label=L("Bekleme listesi doluluk", "Waitlist fills"), value=self.fill_rate.percent()),
            Kpi(key="revenue", label=L("Tahmini ciro", "Estimated revenue"),
                value=fmt_money(self.revenue, self.currency)),
        ]

    def tables(self) -> list[Table]:
        return [
            Table(key="by_service", title=L("Hizmete göre", "By service"),
                  columns=[("service", L("Hizmet", "Service")), ("appointments", L("Randevu", "Appointments")),
                           ("completed", L("Tamamlanan", "Completed")), ("no_show", L("Gelmedi", "No-show")),
                           ("cancelled", L("İptal", "Cancelled")), ("price_min", L("En az fiyat", "Price min")),
                           ("price_max", L("En çok fiyat", "Price max")),
                           ("revenue", L("Tahmini ciro", "Revenue est.")),
                           ("price_band", L("Fiyat aralığı", "Price range"))],
                  rows=[[r.service, r.appointments, r.completed, r.no_show, r.cancelled, r.price_min, r.price_max,
                         r.revenue, r.price_band] for r in self.by_service]),
            Table(key="leads", title=L("Tedaviye göre talepler", "Leads by treatment"),
                  columns=[("treatment", L("Tedavi", "Treatment")), ("leads", L("Talep", "Leads")),
                           ("from_appointments", L("Randevudan", "From bookings")),
                           ("from_waitlist", L("Bekleme listesinden", "From waitlist"))],
                  rows=[[r.treatment, r.leads, r.from_appointments, r.from_waitlist] for r in self.leads]),
            Table(key="by_price_band", title=L("Fiyat aralığına göre", "By price range"),
                  columns=[("band", L("Fiyat aralığı (₺)", "Price range (TRY)")),
                           ("completed", L("Tamamlanan", "Completed")), ("revenue", L("Tahmini ciro", "Revenue est."))],
                  rows=[[r.band, r.completed, r.revenue] for r in self.by_price_band]),
        ]

    def charts(self) -> list[Chart]:
        return [
            Chart(key="clinic_daily", title=L("Günlük randevular", "Appointments per day"), kind="stacked",
                  categories=[d.day.isoformat() for d in self.daily],
                  series=[Series(label=L("Tamamlanan", "Completed"), values=[Decimal(d.completed) for d in self.daily]),
                          Series(label=L("Gelmedi", "No-show"), values=[Decimal(d.no_show) for d in self.daily]),
                          Series(label=L("İptal", "Cancelled"), values=[Decimal(d.cancelled) for d in self.daily]),
                          Series(label=L("Planlı", "Upcoming"), values=[Decimal(d.upcoming) for d in self.daily])]),
            Chart(key="clinic_revenue", title=L("Hizmete göre tahmini ciro", "Estimated revenue by service"),
                  kind="barh", categories=[r.service for r in self.by_service], value_format="money",
                  series=[Series(label=L("Ciro", "Revenue"), values=[r.revenue for r in self.by_service])]),
            Chart(key="clinic_leads", title=L("Tedaviye göre talepler", "Leads by treatment"), kind="barh",
                  categories=[r.treatment for r in self.leads],
                  series=[Series(label=L("Talep", "Leads"), values=[Decimal(r.leads) for r in self.leads])]),
        ]


def _price_index(services: list[ServicePricing]) -> dict[str, ServicePricing]:
    """Folded name → the service's price row: the active one, else the last one changed."""
    index: dict[str, ServicePricing] = {}
    for s in sorted(services, key=lambda s: (s.is_active, s.updated_at)):
        index[s.name_key] = s
    return index


def _band(mid: Decimal | None) -> str:
    if mid is None:
        return UNPRICED
    return next(label for bound, label in PRICE_BANDS if bound is None or mid < bound)


def clinic_panel(reader: ReportReader, period: ReportPeriod, *,
                 niche: Literal["dental", "aesthetic"] = "dental") -> ClinicPanel:
    """Appointments starting, offers made and leads arriving in the period (local days)."""
    t = period.tenant_id
    appointments = reader.appointments(t, period.start, period.end)
    offers = reader.waitlist_offers(t, period.start, period.end)
    booked = reader.booked_appointments(t, period.start, period.end)
    joined = reader.waitlist_entries(t, period.start, period.end)
    prices = _price_index(list(reader.services(t)))

    status = Counter(a.status.value for a in appointments)
    completed = status[AppointmentStatus.COMPLETED.value]
    no_show = status[AppointmentStatus.NO_SHOW.value]

    names: dict[str, str] = {}  # folded → display name (the price list's, else the first seen)
    per_service: dict[str, Counter[str]] = defaultdict(Counter)
    for a in appointments:
        key = fold_name(a.service_name)
        names.setdefault(key, prices[key].service_name if key in prices else a.service_name)
        per_service[key][a.status.value] += 1
    rows: list[ServiceRow] = []
    for key, counts in per_service.items():
        price = prices.get(key)
        done = counts[AppointmentStatus.COMPLETED.value]
        mid = (price.price_min + price.price_max) / 2 if price else None
        rows.append(ServiceRow(
            service=names[key], appointments=sum(counts.values()), completed=done,
            no_show=counts[AppointmentStatus.NO_SHOW.value], cancelled=counts[AppointmentStatus.CANCELLED.value],
            price_min=price.price_min if price else None, price_max=price.price_max if price else None,
            revenue_min=money(price.price_min * done) if price else Decimal("0.00"),
            revenue_max=money(price.price_max * done) if price else Decimal("0.00"),
            revenue=money(mid * done) if mid is not None else Decimal("0.00"), price_band=_band(mid),
        ))
    rows.sort(key=lambda r: (-r.revenue, fold_name(r.service)))
    bands: list[PriceBandRow] = []
    for _, label in [*PRICE_BANDS, (None, UNPRICED)]:
        in_band = [r for r in rows if r.price_band == label]
        if in_band:
            bands.append(PriceBandRow(band=label, completed=sum(r.completed for r in in_band),
                                      revenue=money(sum((r.revenue for r in in_band), Decimal(0)))))

    lead_phones: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"appointment": set(), "waitlist": set()})
    for a in booked:
        key = fold_name(a.service_name)
        names.setdefault(key, prices[key].service_name if key in prices else a.service_name)
        lead_phones[key]["appointment"].add(a.patient_phone)
    for e in joined:
        key = fold_name(e.service_type)
        names.setdefault(key, prices[key].service_name if key in prices else e.service_type)
        lead_phones[key]["waitlist"].add(e.patient_phone)
    leads = sorted(
        (LeadRow(treatment=names[k], leads=len(v["appointment"] | v["waitlist"]),
                 from_appointments=len(v["appointment"]), from_waitlist=len(v["waitlist"]))
         for k, v in lead_phones.items()),
        key=lambda r: (-r.leads, fold_name(r.treatment)),
    )

    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for a in appointments:
        per_day[period.local_date(a.starts_at)][a.status.value] += 1
    accepted = sum(1 for o in offers if o.status is OfferStatus.ACCEPTED)
    return ClinicPanel(
        **ClinicPanel._head(period), niche=niche, appointments=len(appointments),
        status_counts={s.value: status[s.value] for s in AppointmentStatus},
        no_show_rate=Rate(numerator=no_show, denominator=completed + no_show),
        cancellation_rate=Rate(numerator=status[AppointmentStatus.CANCELLED.value], denominator=len(appointments)),
        offers=len(offers), offers_accepted=accepted, fill_rate=Rate(numerator=accepted, denominator=len(offers)),
        waitlist_joined=len(joined),
        revenue=money(sum((r.revenue for r in rows), Decimal(0))),
        revenue_min=money(sum((r.revenue_min for r in rows), Decimal(0))),
        revenue_max=money(sum((r.revenue_max for r in rows), Decimal(0))),
        by_service=rows, by_price_band=bands, leads=leads,
        daily=[ClinicDay(day=d, completed=per_day[d][AppointmentStatus.COMPLETED.value],
                         no_show=per_day[d][AppointmentStatus.NO_SHOW.value],
                         cancelled=per_day[d][AppointmentStatus.CANCELLED.value],
                         upcoming=per_day[d][AppointmentStatus.BOOKED.value]
                         + per_day[d][AppointmentStatus.CONFIRMED.value])
               for d in period.days()] if appointments else [],
    )
