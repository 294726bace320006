from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from invekto_integrations.appointments._logistic import fit_logistic, sigmoid, solve
from invekto_integrations.appointments.models import Appointment, AppointmentStatus
from invekto_integrations.appointments.noshow import (
    BetaPrior,
    NoShowAdvisor,
    NoShowModel,
    ReminderPolicy,
    auc,
    brier,
    expected_calibration_error,
    plan_reminders,
    reliability_bins,
)
from invekto_integrations.appointments.noshow_synth import TRUE_EFFECTS, SyntheticHistory, generate_history
from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.messaging.base import RecordingSink

from .conftest import T0, make_appointment


def test_solve_and_logistic_recover_known_coefficients() -> None:
    assert solve([[2.0, 1.0], [1.0, 3.0]], [3.0, 5.0]) == pytest.approx([0.8, 1.4])
    rng = random.Random(3)
    true = [-1.0, 0.8, -1.5, 0.0]
    rows, labels = [], []
    for _ in range(4000):
        x = [1.0, rng.gauss(0, 1), float(rng.random() < 0.4), rng.gauss(0, 1)]
        rows.append(x)
        labels.append(int(rng.random() < sigmoid(sum(w * v for w, v in zip(true, x, strict=True)))))
    w = fit_logistic(rows, labels, l2=1e-6)
    for got, want in zip(w, true, strict=True):
        assert abs(got - want) < 0.15
    assert fit_logistic(rows, labels, l2=1e-6) == w  # deterministic
    shrunk = fit_logistic(rows, labels, l2=500.0)
    assert abs(shrunk[1]) < abs(w[1]) and abs(shrunk[2]) < abs(w[2])


def test_metrics_on_known_values() -> None:
    assert auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert auc([1, 1, 0, 0], [1, 0, 1, 0]) == 0.5  # ties count half
    assert brier([0.0, 1.0, 0.5], [0, 1, 1]) == pytest.approx(0.25 / 3)
    probs, labels = [0.05, 0.05, 0.95, 0.95], [0, 0, 1, 1]
    assert expected_calibration_error(probs, labels) == pytest.approx(0.05)
    assert reliability_bins(probs, labels) == [(2, 0.05, 0.0), (2, 0.95, 1.0)]
    with pytest.raises(InvalidArgument, match="both classes"):
        auc([0.1, 0.2], [1, 1])
    with pytest.raises(InvalidArgument, match="no labels"):
        brier([], [])


def test_beta_prior_empirical_bayes() -> None:
    rng = random.Random(5)
    counts = []
    for _ in range(800):
        theta = rng.betavariate(2, 8)
        n = 15
        counts.append((sum(rng.random() < theta for _ in range(n)), n))
    prior = BetaPrior.fit(counts)
    assert prior.mean == pytest.approx(0.2, abs=0.02)
    assert 5 <= prior.alpha + prior.beta <= 20  # true strength 10
    assert prior.smoothed(0, 0) == pytest.approx(prior.mean)
    assert prior.smoothed(3, 3) > prior.smoothed(1, 3) > prior.smoothed(0, 3)


@pytest.fixture(scope="module")
def synthetic() -> tuple[SyntheticHistory, NoShowModel, list[Appointment], dict[str, list[Appointment]]]:
    history = generate_history(seed=7, patients=2000)
    cut = int(len(history.appointments) * 0.7)
    model = NoShowModel.fit(history.appointments[:cut])
    by_patient: dict[str, list[Appointment]] = defaultdict(list)
    for a in history.appointments:
        by_patient[a.patient_phone].append(a)
    return history, model, history.appointments[cut:], by_patient


def test_model_recovers_the_generating_effects(synthetic: Any) -> None:
    """The logistic fit's coefficients against the generating ones. They come out slightly
    attenuated (the patient's propensity is only estimated from a short history, and logistic
    effects are not collapsible over that unobserved spread), hence the tolerances."""
    history, model, test, _ = synthetic
    assert model.calibrated_on > 0 and model.trained_on > 0
    raw = NoShowModel.fit(history.appointments[: len(history.appointments) - len(test)], calibration_fraction=0)
    c = raw.coefficients
    assert abs(c["lead_time"] - TRUE_EFFECTS["lead_time"]) < 0.12
    assert abs(c["confirmed"] - TRUE_EFFECTS["confirmed"]) < 0.3
    assert abs(c["weekday_fri"] - TRUE_EFFECTS["weekday_fri"]) < 0.2
    assert abs(c["weekday_sat"] - TRUE_EFFECTS["weekday_sat"]) < 0.2
    assert c["hour_evening"] > 0.15 and abs(c["hour_evening"] - TRUE_EFFECTS["hour_evening"]) < 0.35
    for null in ("weekday_tue", "weekday_wed", "weekday_thu", "hour_midday"):
        assert abs(c[null] - TRUE_EFFECTS[null]) < 0.25, null
    assert c["patient_history"] > 0.5  # a patient's own past predicts their future


def test_model_beats_the_baseline_rule_on_held_out_data(synthetic: Any) -> None:
    history, model, test, by_patient = synthetic
    preds = [model.predict(a, by_patient[a.patient_phone]) for a in test]
    labels = [int(a.status == AppointmentStatus.NO_SHOW) for a in test]
    probs = [p.probability for p in preds]
    flags = [p.baseline_flag for p in preds]
    # the rule as a probability: the no-show rate of flagged / unflagged appointments in training
    train = history.appointments[: len(history.appointments) - len(test)]
    train_preds = [model.predict(a, by_patient[a.patient_phone]) for a in train]
    rate = {flag: sum(a.status == AppointmentStatus.NO_SHOW for a, p in zip(train, train_preds, strict=True)
                      if p.baseline_flag == flag) / max(1, sum(p.baseline_flag == flag for p in train_preds))
            for flag in (True, False)}
    rule_probs = [rate[f] for f in flags]
    model_auc, rule_auc = auc(probs, labels), auc([float(f) for f in flags], labels)
    assert model_auc > rule_auc + 0.05
    assert brier(probs, labels) < brier(rule_probs, labels)
    assert expected_calibration_error(probs, labels) < 0.04
    oracle = auc([history.true_probability[a.id] for a in test], labels)
    assert model_auc < oracle  # sanity: the truth ranks best


def test_prediction_is_explained_exactly(synthetic: Any) -> None:
    _, model, test, by_patient = synthetic
    for a in test[:50]:
        p = model.predict(a, by_patient[a.patient_phone])
        assert sigmoid(p.log_odds) == pytest.approx(p.probability, abs=1e-12)
        assert set(p.contributions) == set(model.coefficients)
    risky = max((model.predict(a, by_patient[a.patient_phone]) for a in test[:400]), key=lambda p: p.probability)
    assert risky.top_reasons()[0][1] > 0 and all(v > 0 for _, v in risky.top_reasons())
    restored = NoShowModel.model_validate_json(model.model_dump_json())
    assert restored.predict(test[0], by_patient[test[0].patient_phone]) == model.predict(
        test[0], by_patient[test[0].patient_phone])


def test_fit_refuses_too_little_history() -> None:
    with pytest.raises(InvalidArgument, match="not enough history") as info:
        NoShowModel.fit([make_appointment(status=AppointmentStatus.COMPLETED)])
    assert info.value.field == "history" and isinstance(info.value, ValueError)
    with pytest.raises(InvalidArgument, match="unknown timezone"):
        NoShowModel.fit([], timezone="Mars/Olympus")


def _past(phone: str, n_no_show: int, n_ok: int) -> list[Appointment]:
    out = []
    for i in range(n_no_show + n_ok):
        start = T0 - timedelta(days=30 * (i + 1))
        out.append(make_appointment(start=start, patient_phone=phone, created_at=start - timedelta(days=5),
                                    status=AppointmentStatus.NO_SHOW if i < n_no_show else AppointmentStatus.COMPLETED))
    return out


def test_reminder_plans(synthetic: Any) -> None:
    _, model, _, _ = synthetic
    now = T0 - timedelta(days=2)
    policy = ReminderPolicy(threshold=0.3)
    risky_appt = make_appointment(start=T0 + timedelta(hours=11), patient_phone="+905321234500",
                                  created_at=T0 - timedelta(days=60), patient_name="Ali")  # Monday 20:00? late
    risky = model.predict(risky_appt, _past("+905321234500", 3, 1))
    assert risky.probability > 0.3 and risky.baseline_flag
    plans = plan_reminders(risky_appt, risky, policy, now=now, doctor_name="Dr. Genel")
    assert [p.kind for p in plans] == ["standard", "extra"]
    assert plans[0].due_at == risky_appt.starts_at - timedelta(hours=24)
    assert plans[1].due_at == risky_appt.starts_at - timedelta(hours=3)
    msg = plans[1].message
    assert msg.purpose == "appointment_reminder" and msg.not_before == plans[1].due_at
    assert msg.template is not None and msg.template.name == "randevu_hatirlatma"
    assert msg.template.body_params[0] == "Ali" and "(Dr. Genel)" in msg.template.body_params[1]
    safe_appt = make_appointment(start=T0 + timedelta(hours=2), patient_phone="+905321234501",
                                 created_at=T0 - timedelta(hours=30), confirmed_at=T0 - timedelta(hours=29))
    safe = model.predict(safe_appt, _past("+905321234501", 0, 6))
    assert safe.probability < 0.1 and not safe.baseline_flag
    assert [p.kind for p in plan_reminders(safe_appt, safe, policy, now=now)] == ["standard"]
    # no model: the baseline rule alone
    assert [p.kind for p in plan_reminders(safe_appt, None, policy, now=now, past_no_shows=2)] == ["standard", "extra"]
    assert [p.kind for p in plan_reminders(safe_appt, None, policy, now=now, past_no_shows=1)] == ["standard"]
    # too late for the standard one: sent now; after the start: nothing
    late = plan_reminders(safe_appt, None, policy, now=T0)
    assert [p.due_at for p in late] == [T0]
    assert plan_reminders(safe_appt, None, policy, now=T0 + timedelta(hours=3)) == []
    moved = safe_appt.model_copy(update={"starts_at": T0 + timedelta(hours=4), "ends_at": T0 + timedelta(hours=5)})
    assert plan_reminders(moved, None, policy, now=now)[0].message.idempotency_key != \
        plan_reminders(safe_appt, None, policy, now=now)[0].message.idempotency_key


def test_advisor_over_a_store(store: Any) -> None:
    history = generate_history(seed=3, patients=150, visits=(3, 8))
    for a in history.appointments:
        assert store.appointments.book_if_free("t1", a)
    clock = FrozenClock(T0 - timedelta(days=2))
    advisor = NoShowAdvisor(store.appointments, clock=clock, default_policy=ReminderPolicy(threshold=0.2))
    phone = history.appointments[0].patient_phone
    upcoming = make_appointment(start=T0, patient_phone=phone, created_at=T0 - timedelta(days=40))
    assert store.appointments.book_if_free("t1", upcoming)
    no_model = advisor.plan("t1", upcoming)
    assert no_model[0].kind == "standard"
    model = advisor.train("t1")
    assert model.trained_on + model.calibrated_on == len(history.appointments)
    prediction = advisor.predict("t1", upcoming)
    assert prediction is not None
    k = sum(a.status == AppointmentStatus.NO_SHOW for a in history.appointments if a.patient_phone == phone)
    assert prediction.past_no_shows == k
    sink = RecordingSink()
    plans = advisor.schedule("t1", sink, T0 - timedelta(hours=1), T0 + timedelta(days=1))
    assert [m.idempotency_key for m in sink.messages] == [p.message.idempotency_key for p in plans]
    assert len(plans) == (2 if prediction.probability > 0.2 or prediction.baseline_flag else 1)
    advisor.schedule("t1", sink, T0 - timedelta(hours=1), T0 + timedelta(days=1))
    assert len(sink.messages) == len(plans)  # idempotent
    assert not math.isnan(prediction.probability)
