"""No-show prediction: the seed's rule as the baseline, a calibrated and explainable probability,
and reminder planning from it.

Features of one appointment (only what is known before it happens):

- ``patient_history``: the patient's past no-show rate, smoothed with a Beta prior fitted by
  empirical Bayes (beta-binomial marginal likelihood over the clinic's patients), as log-odds
  relative to the prior mean: 0 for a new patient, and shrunk toward 0 for a short history;
- ``history_length``: log(1 + past visits);
- ``lead_time``: log(1 + days between booking and the visit);
- ``confirmed``: the patient confirmed (``confirmed_at`` set);
- ``weekday_*``: the local weekday (Monday is the reference);
- ``hour_*``: the local time of day (morning, before 11:00, is the reference).

They enter an L2-regularised logistic regression fitted on the clinic's history (pure Python
Newton/IRLS, deterministic), then a Platt recalibration fitted on the most recent part of the
history (held out from the first fit). A prediction is explained exactly: its log-odds are
``base + sum(contributions)``, where a contribution is the feature's effect relative to the
training average.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from invekto_integrations.core.clock import Clock, SystemClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.reprs import ConciseRepr
from invekto_integrations.messaging.base import MessageCategory, MessageSink, OutboundMessage, TemplateRef
from invekto_integrations.storage.protocols import AppointmentRepository

from ._logistic import fit_logistic, sigmoid
from ._turkish import format_when
from .models import Appointment, AppointmentStatus

__all__ = [
    "FEATURES",
    "BetaPrior",
    "NoShowAdvisor",
    "NoShowModel",
    "NoShowPrediction",
    "ReminderPlan",
    "ReminderPolicy",
    "auc",
    "baseline_rule",
    "brier",
    "expected_calibration_error",
    "features_for",
    "plan_reminders",
    "reliability_bins",
]

FEATURES: tuple[str, ...] = (
    "patient_history", "history_length", "lead_time", "confirmed",
    "weekday_tue", "weekday_wed", "weekday_thu", "weekday_fri", "weekday_sat", "weekday_sun",
    "hour_midday", "hour_afternoon", "hour_evening",
)
_FINAL = (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class BetaPrior(BaseModel):
    """Beta(alpha, beta) prior of a patient's no-show rate."""

    model_config = ConfigDict(frozen=True)

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def smoothed(self, no_shows: int, visits: int) -> float:
        return (no_shows + self.alpha) / (visits + self.alpha + self.beta)

    @classmethod
    def fit(cls, counts: Sequence[tuple[int, int]]) -> BetaPrior:
        """Empirical Bayes: the mean is the pooled rate; the strength (alpha + beta) maximises the
        beta-binomial marginal likelihood of (no_shows, visits) per patient over a grid."""
        total = sum(n for _, n in counts)
        if total == 0:
            return cls(alpha=1.0, beta=9.0)
        mean = min(max(sum(k for k, _ in counts) / total, 1e-3), 1 - 1e-3)
        best: tuple[float, float] | None = None
        for strength in (0.5, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 1000):
            a, b = mean * strength, (1 - mean) * strength
            ll = 0.0
            for k, n in counts:
                ll += (math.lgamma(k + a) + math.lgamma(n - k + b) - math.lgamma(n + a + b)
                       - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b))
            if best is None or ll > best[0]:
                best = (ll, strength)
        assert best is not None
        return cls(alpha=mean * best[1], beta=(1 - mean) * best[1])


def _history_counts(history: Iterable[Appointment], before: datetime) -> tuple[int, int]:
    no_shows = visits = 0
    for h in history:
        if h.status in _FINAL and h.starts_at < before:
            visits += 1
            no_shows += h.status == AppointmentStatus.NO_SHOW
    return no_shows, visits


def features_for(appt: Appointment, no_shows: int, visits: int, prior: BetaPrior,
                 timezone: str = "Europe/Istanbul") -> list[float]:
    """The feature vector (in `FEATURES` order) of ``appt`` given the patient's past counts."""
    local = appt.starts_at.astimezone(ZoneInfo(timezone))
    booked = appt.booked_at or appt.created_at
    lead_days = max((appt.starts_at - booked).total_seconds() / 86400.0, 0.0)
    weekday = local.isoweekday()  # 1 = Monday
    hour = local.hour + local.minute / 60
    return [
        _logit(prior.smoothed(no_shows, visits)) - _logit(prior.mean),
        math.log1p(visits),
        math.log1p(lead_days),
        1.0 if appt.confirmed_at is not None else 0.0,
        *[1.0 if weekday == d else 0.0 for d in range(2, 8)],
        1.0 if 11 <= hour < 14 else 0.0,
        1.0 if 14 <= hour < 17 else 0.0,
        1.0 if hour >= 17 else 0.0,
    ]


def baseline_rule(past_no_shows: int) -> bool:
    """The seed's rule: two or more past no-shows → an extra reminder."""
    return past_no_shows >= 2


class NoShowPrediction(BaseModel):
    model_config = ConfigDict(frozen=True)

    appointment_id: str
    probability: float
    base_log_odds: float  # an average appointment of the training data
    contributions: dict[str, float]  # feature → log-odds added (relative to the average)
    past_no_shows: int
    past_visits: int
    baseline_flag: bool

    @property
    def log_odds(self) -> float:
        return self.base_log_odds + sum(self.contributions.values())

    def top_reasons(self, n: int = 3) -> list[tuple[str, float]]:
        """The features that raise the risk most (positive contributions), largest first."""
        ranked = sorted(((k, v) for k, v in self.contributions.items() if v > 0.005), key=lambda kv: -kv[1])
        return ranked[:n]


class NoShowModel(BaseModel):
    """A fitted model (JSON-serialisable: store one per tenant)."""

    model_config = ConfigDict(frozen=True)

    features: tuple[str, ...] = FEATURES
    intercept: float
    coefficients: dict[str, float]
    means: dict[str, float]
    platt_a: float = 1.0
    platt_b: float = 0.0
    prior: BetaPrior
    timezone: str = "Europe/Istanbul"
    trained_on: int = 0
    calibrated_on: int = 0
    fitted_at: datetime | None = None
    notes: list[str] = Field(default_factory=list)

    # --- fitting -----------------------------------------------------------------------------
    @staticmethod
    def training_rows(history: Sequence[Appointment], prior: BetaPrior,
                      timezone: str = "Europe/Istanbul") -> tuple[list[Appointment], list[list[float]], list[int]]:
        """Final appointments in time order with their features (each from the patient's earlier
        appointments only, so nothing leaks from the future) and labels (1 = no-show)."""
        finals = sorted((a for a in history if a.status in _FINAL), key=lambda a: (a.starts_at, a.id))
        seen: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        rows: list[list[float]] = []
        labels: list[int] = []
        for a in finals:
            k, n = seen[a.patient_phone]
            rows.append(features_for(a, k, n, prior, timezone))
            y = int(a.status == AppointmentStatus.NO_SHOW)
            labels.append(y)
            seen[a.patient_phone] = (k + y, n + 1)
        return finals, rows, labels

    @classmethod
    def fit(cls, history: Sequence[Appointment], *, l2: float = 1.0, calibration_fraction: float = 0.2,
            timezone: str = "Europe/Istanbul", fitted_at: datetime | None = None) -> NoShowModel:
        """Fit on a clinic's past appointments (completed and no-show ones are used).

        The most recent ``calibration_fraction`` is held out of the logistic fit and used for the
        Platt recalibration (skipped below 200 rows).
        """
        try:
            ZoneInfo(timezone)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise InvalidArgument(f"unknown timezone {timezone!r}", field="timezone") from exc
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for a in history:
            if a.status in _FINAL:
                counts[a.patient_phone][0] += a.status == AppointmentStatus.NO_SHOW
                counts[a.patient_phone][1] += 1
        prior = BetaPrior.fit([(k, n) for k, n in counts.values()])
        _, rows, labels = cls.training_rows(history, prior, timezone)
        if len(rows) < 30 or len(set(labels)) < 2:
            raise InvalidArgument(
                f"not enough history to fit a no-show model ({len(rows)} final appointments, "
                f"{len(set(labels))} outcome(s); needs 30 and both no-shows and visits)",
                field="history",
            )
        n_cal = int(len(rows) * calibration_fraction) if len(rows) * calibration_fraction >= 200 else 0
        fit_rows, fit_labels = rows[: len(rows) - n_cal], labels[: len(rows) - n_cal]
        w = fit_logistic([[1.0, *r] for r in fit_rows], fit_labels, l2=l2)
        means = {name: sum(r[i] for r in fit_rows) / len(fit_rows) for i, name in enumerate(FEATURES)}
        model = cls(intercept=w[0], coefficients=dict(zip(FEATURES, w[1:], strict=True)), means=means, prior=prior,
                    timezone=timezone, trained_on=len(fit_rows), fitted_at=fitted_at)
        if n_cal:
            cal_rows, cal_labels = rows[-n_cal:], labels[-n_cal:]
            shift, slope = fit_logistic([[1.0, model.raw_log_odds(r)] for r in cal_rows], cal_labels, l2=1e-6)
            model = model.model_copy(update={"platt_a": slope, "platt_b": shift, "calibrated_on": n_cal})
        return model

    def effects(self) -> dict[str, float]:
        """Calibrated log-odds effect of one unit of each feature (coefficient times Platt slope)."""
        return {name: self.platt_a * c for name, c in self.coefficients.items()}

    # --- predicting --------------------------------------------------------------------------
    def raw_log_odds(self, x: Sequence[float]) -> float:
        return self.intercept + sum(self.coefficients[name] * v for name, v in zip(FEATURES, x, strict=True))

    def probability_of(self, x: Sequence[float]) -> float:
        return sigmoid(self.platt_a * self.raw_log_odds(x) + self.platt_b)

    def predict(self, appt: Appointment, patient_history: Iterable[Appointment]) -> NoShowPrediction:
        """Predict for ``appt`` from the patient's other appointments (only finished ones before
        it count)."""
        k, n = _history_counts((h for h in patient_history if h.id != appt.id), appt.starts_at)
        x = features_for(appt, k, n, self.prior, self.timezone)
        avg = self.intercept + sum(self.coefficients[name] * self.means[name] for name in FEATURES)
        contributions = {name: self.platt_a * self.coefficients[name] * (v - self.means[name])
                         for name, v in zip(FEATURES, x, strict=True)}
        return NoShowPrediction(
            appointment_id=appt.id, probability=self.probability_of(x), base_log_odds=self.platt_a * avg + self.platt_b,
            contributions=contributions, past_no_shows=k, past_visits=n, baseline_flag=baseline_rule(k),
        )


# --- evaluation --------------------------------------------------------------------------------
def _check_scored(probs: Sequence[float], labels: Sequence[int]) -> None:
    if not labels:
        raise InvalidArgument("no labels to score", field="labels")
    if len(probs) != len(labels):
        raise InvalidArgument(f"{len(probs)} probabilities for {len(labels)} labels", field="probs")


def brier(probs: Sequence[float], labels: Sequence[int]) -> float:
    _check_scored(probs, labels)
    return sum((p - y) ** 2 for p, y in zip(probs, labels, strict=True)) / len(labels)


def reliability_bins(probs: Sequence[float], labels: Sequence[int], bins: int = 10) -> list[tuple[int, float, float]]:
    """Equal-width bins: (count, mean predicted, observed rate) for each non-empty bin."""
    acc: list[list[float]] = [[0, 0.0, 0.0] for _ in range(bins)]
    for p, y in zip(probs, labels, strict=True):
        b = min(int(p * bins), bins - 1)
        acc[b][0] += 1
        acc[b][1] += p
        acc[b][2] += y
    return [(int(c), s / c, o / c) for c, s, o in acc if c]


def expected_calibration_error(probs: Sequence[float], labels: Sequence[int], bins: int = 10) -> float:
    _check_scored(probs, labels)
    n = len(labels)
    return sum(c / n * abs(mean_p - rate) for c, mean_p, rate in reliability_bins(probs, labels, bins))


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """ROC AUC (Mann-Whitney, ties count half)."""
    _check_scored(scores, labels)
    pairs = sorted(zip(scores, labels, strict=True))
    pos = sum(labels)
    neg = len(labels) - pos
    if not pos or not neg:
        raise InvalidArgument("AUC needs both classes (a no-show and a visit)", field="labels")
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg_rank = (i + 1 + j) / 2
        rank_sum += avg_rank * sum(y for _, y in pairs[i:j])
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


# --- reminders -----------------------------------------------------------------------------------
class ReminderPolicy(BaseModel):
    """One tenant's reminder plan: the standard reminder, and an extra one for risky visits."""

    model_config = ConfigDict(frozen=True)

    standard_before: timedelta = timedelta(hours=24)
    extra_before: timedelta = timedelta(hours=3)
    threshold: float = 0.25  # extra reminder when the predicted no-show probability is above this
    use_baseline_rule: bool = True  # ... or when the seed's rule (2+ past no-shows) fires
    template_name: str = "randevu_hatirlatma"
    template_language: str = "tr"


@dataclass(frozen=True)
class ReminderPlan:
    kind: str  # standard | extra
    due_at: datetime
    reason: str
    message: OutboundMessage


def plan_reminders(appt: Appointment, prediction: NoShowPrediction | None, policy: ReminderPolicy, *,
                   now: datetime, doctor_name: str | None = None, timezone: str = "Europe/Istanbul",
                   past_no_shows: int | None = None) -> list[ReminderPlan]:
    """Reminders for an active appointment: the standard one, plus an extra one when the model's
    probability is above ``policy.threshold`` (or the baseline rule fires). Reminders whose time
    has passed are skipped; without a model (``prediction=None``) only the baseline rule on
    ``past_no_shows`` can add the extra one. Idempotency keys include the start time, so a moved appointment gets
    new reminders and a re-plan of the same one never sends twice."""
    if not appt.is_active or appt.starts_at <= now:
        return []
    when = format_when(appt.starts_at, timezone)
    subject = f"{when} ({doctor_name})" if doctor_name else when
    kinds: list[tuple[str, timedelta, str]] = [("standard", policy.standard_before, "standard")]
    if prediction is not None:
        if prediction.probability > policy.threshold:
            kinds.append(("extra", policy.extra_before,
                          f"no-show probability {prediction.probability:.2f} > {policy.threshold:.2f}"))
        elif policy.use_baseline_rule and prediction.baseline_flag:
            kinds.append(("extra", policy.extra_before, f"{prediction.past_no_shows} past no-shows"))
    elif policy.use_baseline_rule and past_no_shows is not None and baseline_rule(past_no_shows):
        kinds.append(("extra", policy.extra_before, f"{past_no_shows} past no-shows"))
    plans = []
    for kind, before, reason in kinds:
        due = max(appt.starts_at - before, now)
        if due >= appt.starts_at:
            continue
        message = OutboundMessage(
            tenant_id=appt.tenant_id, to_phone=appt.patient_phone,
            idempotency_key=f"appointment_reminder:{appt.id}:{kind}:{appt.starts_at.isoformat()}",
            category=MessageCategory.UTILITY, purpose="appointment_reminder",
            template=TemplateRef(name=policy.template_name, language=policy.template_language,
                                 body_params=[appt.patient_name or "Sayın hastamız", subject]),
            not_before=due, metadata={"appointment_id": appt.id, "kind": kind, "reason": reason},
        )
        plans.append(ReminderPlan(kind, due, reason, message))
    return plans


class NoShowAdvisor(ConciseRepr):
    """Predictions and reminder plans for stored appointments (a tenant's model is optional:
    without one the baseline rule alone decides the extra reminder)."""

    def __init__(self, appointments: AppointmentRepository, *, models: dict[str, NoShowModel] | None = None,
                 policies: dict[str, ReminderPolicy] | None = None, default_policy: ReminderPolicy | None = None,
                 clock: Clock | None = None) -> None:
        self.appointments = appointments
        self.models = dict(models or {})
        self.policies = dict(policies or {})
        self.default_policy = default_policy or ReminderPolicy()
        self.clock = clock or SystemClock()

    def train(self, tenant_id: str, *, l2: float = 1.0, calibration_fraction: float = 0.2,
              timezone: str = "Europe/Istanbul") -> NoShowModel:
        """Fit the tenant's model on its stored history and keep it (arguments of `NoShowModel.fit`)."""
        model = NoShowModel.fit(self.appointments.find(tenant_id), fitted_at=self.clock.now(), l2=l2,
                                calibration_fraction=calibration_fraction, timezone=timezone)
        self.models[tenant_id] = model
        return model

    def history(self, tenant_id: str, appt: Appointment) -> list[Appointment]:
        return self.appointments.find(tenant_id, patient_phone=appt.patient_phone, end=appt.starts_at)

    def predict(self, tenant_id: str, appt: Appointment) -> NoShowPrediction | None:
        model = self.models.get(tenant_id)
        return model.predict(appt, self.history(tenant_id, appt)) if model else None

    def plan(self, tenant_id: str, appt: Appointment, *, doctor_name: str | None = None) -> list[ReminderPlan]:
        prediction = self.predict(tenant_id, appt)
        past = None
        if prediction is None:
            past, _ = _history_counts(self.history(tenant_id, appt), appt.starts_at)
        return plan_reminders(appt, prediction, self.policies.get(tenant_id, self.default_policy),
                              now=self.clock.now(), doctor_name=doctor_name, past_no_shows=past)

    def schedule(self, tenant_id: str, sink: MessageSink, start: datetime, end: datetime) -> list[ReminderPlan]:
        """Plan and submit reminders of every active appointment starting in ``[start, end)``
        (safe to repeat: idempotency keys)."""
        planned: list[ReminderPlan] = []
        for appt in self.appointments.find(tenant_id, start=start, end=end,
                                           statuses=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED]):
            if appt.starts_at < start:
                continue
            for plan in self.plan(tenant_id, appt):
                sink.submit(plan.message)
                planned.append(plan)
        return planned
