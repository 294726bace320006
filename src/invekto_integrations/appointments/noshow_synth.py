"""A generated clinic history with a known no-show process, to evaluate `NoShowModel` against the
truth (benchmarks/bench_noshow.py, tests).

Ground truth, per appointment::

    logit P(no-show) = logit(theta_patient) + sum(TRUE_EFFECTS[f] * x_f)

with ``theta_patient ~ Beta(PATIENT_ALPHA, PATIENT_BETA)`` (a patient's own propensity) and the
features of `noshow.features_for` except the two history ones (the model must learn the patient
term from past behaviour). Confirmation, lead time, weekday and hour are drawn independently of
the patient, so their fitted coefficients can be compared with `TRUE_EFFECTS` directly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ._logistic import sigmoid
from .models import Appointment, AppointmentStatus

__all__ = ["PATIENT_ALPHA", "PATIENT_BETA", "TRUE_EFFECTS", "SyntheticHistory", "generate_history"]

PATIENT_ALPHA, PATIENT_BETA = 1.0, 7.0  # mean propensity 12.5 %, widely spread
TRUE_EFFECTS: dict[str, float] = {
    "lead_time": 0.35,  # per log(1 + days)
    "confirmed": -1.2,
    "weekday_tue": 0.0, "weekday_wed": -0.1, "weekday_thu": 0.0, "weekday_fri": 0.35, "weekday_sat": 0.5,
    "weekday_sun": 0.0,
    "hour_midday": 0.0, "hour_afternoon": 0.2, "hour_evening": 0.6,
}
_TZ = ZoneInfo("Europe/Istanbul")
_WEEKDAY = {2: "weekday_tue", 3: "weekday_wed", 4: "weekday_thu", 5: "weekday_fri", 6: "weekday_sat", 7: "weekday_sun"}


@dataclass
class SyntheticHistory:
    appointments: list[Appointment]  # final (completed / no_show), in time order
    true_probability: dict[str, float]  # appointment id → the generating probability
    patient_propensity: dict[str, float]


def generate_history(*, seed: int = 7, patients: int = 1500, start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
                     days: int = 540, visits: tuple[int, int] = (2, 14), tenant_id: str = "t1",
                     doctor_id: str = "d1") -> SyntheticHistory:
    rng = random.Random(seed)
    appts: list[Appointment] = []
    truth: dict[str, float] = {}
    thetas: dict[str, float] = {}
    counter = 0
    for i in range(patients):
        phone = f"+90532{1000000 + i:07d}"
        theta = rng.betavariate(PATIENT_ALPHA, PATIENT_BETA)
        thetas[phone] = theta
        for _ in range(rng.randint(*visits)):
            day = start.date() + timedelta(days=rng.randrange(days))
            while day.isoweekday() == 7:  # closed on Sundays
                day += timedelta(days=1)
            slot = rng.randrange(18)  # 09:00 … 17:30 every 30 minutes
            local = datetime.combine(day, time(9 + slot // 2, 30 * (slot % 2)), tzinfo=_TZ)
            starts = local.astimezone(UTC)
            lead_days = min(rng.expovariate(1 / 9.0), 90.0)
            booked = starts - timedelta(days=lead_days)
            confirmed = rng.random() < 0.55
            z = math.log(theta / (1 - theta)) if 0 < theta < 1 else (-10.0 if theta <= 0 else 10.0)
            z += TRUE_EFFECTS["lead_time"] * math.log1p(lead_days)
            z += TRUE_EFFECTS["confirmed"] * confirmed
            wd = local.isoweekday()
            if wd in _WEEKDAY:
                z += TRUE_EFFECTS[_WEEKDAY[wd]]
            hour = local.hour + local.minute / 60
            if 11 <= hour < 14:
                z += TRUE_EFFECTS["hour_midday"]
            elif 14 <= hour < 17:
                z += TRUE_EFFECTS["hour_afternoon"]
            elif hour >= 17:
                z += TRUE_EFFECTS["hour_evening"]
            p = sigmoid(z)
            counter += 1
            aid = f"syn{counter:07d}"
            status = AppointmentStatus.NO_SHOW if rng.random() < p else AppointmentStatus.COMPLETED
            appts.append(Appointment(
                id=aid, tenant_id=tenant_id, doctor_id=doctor_id, patient_phone=phone, service_name="Muayene",
                starts_at=starts, ends_at=starts + timedelta(minutes=30), status=status, booked_at=booked,
                confirmed_at=booked + timedelta(hours=1) if confirmed else None, created_at=booked,
                updated_at=starts + timedelta(hours=1),
            ))
            truth[aid] = p
    appts.sort(key=lambda a: (a.starts_at, a.id))
    return SyntheticHistory(appts, truth, thetas)
