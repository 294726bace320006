"""A/B statistics against published worked examples, and the no-peeking property of the auto-winner."""

from __future__ import annotations

import math
import random

import pytest
from scipy.special import betaln

from invekto_integrations.campaigns.stats import (
    FixedHorizonRule,
    arm_results,
    probability_to_be_best,
    sample_size_per_variant,
    two_proportion_test,
    wilson_interval,
)
from invekto_integrations.core.errors import InvalidArgument


@pytest.mark.parametrize(("s", "n", "lo", "hi"), [
    # Newcombe R.G. (1998), "Two-sided confidence intervals for the single proportion: comparison of
    # seven methods", Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no
    # continuity correction), 95 %: 81/263, 15/148, 0/20, 1/29.
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_matches_newcombe_1998(s: int, n: int, lo: float, hi: float) -> None:
    got = wilson_interval(s, n)
    assert got[0] == pytest.approx(lo, abs=5e-5)
    assert got[1] == pytest.approx(hi, abs=5e-5)


def test_two_proportion_test_worked_example() -> None:
    # Worked example (homeworksource.com/p/1008622): 140/200 vs 255/340, pooled p = 0.7314815,
    # SE = 0.03949401, z = -1.266015; one-sided p ≈ 0.103 (the page's 0.1030 uses a t reference,
    # the normal reference gives 0.1028).
    z, p = two_proportion_test(140, 200, 255, 340, alternative="smaller")
    assert z == pytest.approx(-1.266015, abs=1e-6)
    assert p == pytest.approx(0.1028, abs=1e-4)
    _z2, p2 = two_proportion_test(140, 200, 255, 340)
    assert p2 == pytest.approx(2 * p, rel=1e-9)
    assert two_proportion_test(0, 10, 0, 10) == (0.0, 1.0)


@pytest.mark.parametrize(("h", "n"), [(0.2, 392), (0.5, 63), (0.8, 25)])
def test_power_matches_cohen_table_6_4_1(h: float, n: int) -> None:
    # Cohen J. (1988), Statistical Power Analysis for the Behavioral Sciences, 2nd ed., Table 6.4.1:
    # n per group for effect size h at two-sided alpha .05 and power .80 (392, 63, 25 for h = .2, .5, .8).
    from statsmodels.stats.power import NormalIndPower

    assert round(NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8)) == n
    # Our helper works in rates: pick p2 so that Cohen's h between p1 = .5 and p2 equals h.
    p2 = math.sin(math.asin(math.sqrt(0.5)) + h / 2) ** 2
    assert sample_size_per_variant(0.5, p2 - 0.5) == math.ceil(NormalIndPower().solve_power(
        effect_size=h, alpha=0.05, power=0.8))


def _miller_b_beats_a(sa: int, na: int, sb: int, nb: int) -> float:
    # Evan Miller, "Formulas for Bayesian A/B Testing" (2015): with Beta(1+s, 1+n-s) posteriors,
    # P(p_B > p_A) = sum_{i=0}^{alpha_B-1} B(alpha_A+i, beta_A+beta_B) / ((beta_B+i) B(1+i, beta_B) B(alpha_A, beta_A))
    aa, ba, ab, bb = 1 + sa, 1 + na - sa, 1 + sb, 1 + nb - sb
    total = 0.0
    for i in range(ab):
        total += math.exp(betaln(aa + i, ba + bb) - math.log(bb + i) - betaln(1 + i, bb) - betaln(aa, ba))
    return total


@pytest.mark.parametrize(("arms"), [((100, 1000), (120, 1000)), ((30, 200), (22, 180)), ((5, 40), (9, 41))])
def test_probability_to_be_best_matches_closed_form(arms: tuple[tuple[int, int], tuple[int, int]]) -> None:
    (sa, na), (sb, nb) = arms
    p = probability_to_be_best([(sa, na), (sb, nb)])
    assert p[1] == pytest.approx(_miller_b_beats_a(sa, na, sb, nb), abs=1e-6)
    assert sum(p) == pytest.approx(1.0)


def test_three_arms_sum_to_one_and_rank() -> None:
    p = probability_to_be_best([(50, 500), (60, 500), (80, 500)])
    assert sum(p) == pytest.approx(1.0)
    assert p[2] > p[1] > p[0]


def test_rule_waits_for_the_horizon_then_decides_once() -> None:
    rule = FixedHorizonRule(min_per_variant=500)
    assert not rule.decide([("A", 499, 10), ("B", 600, 90)], window_closed=True).ready
    assert not rule.decide([("A", 500, 10), ("B", 600, 90)], window_closed=False).ready
    d = rule.decide([("A", 500, 50), ("B", 500, 90)], window_closed=True)
    assert d.ready and d.winner == "B" and d.p_value is not None and d.p_value < 0.05
    d = rule.decide([("A", 500, 50), ("B", 500, 55)], window_closed=True)
    assert d.ready and d.winner is None


def _a_a_false_winners(decide_each_day: bool, *, trials: int, seed: int) -> int:
    """A/A tests (both arms convert at 10 %) over 20 days of 50 recipients per arm per day."""
    rng = random.Random(seed)
    rule = FixedHorizonRule(min_per_variant=1000)
    false = 0
    for _ in range(trials):
        n = s_a = s_b = 0
        declared = False
        for _day in range(20):
            n += 50
            s_a += sum(rng.random() < 0.1 for _ in range(50))
            s_b += sum(rng.random() < 0.1 for _ in range(50))
            if decide_each_day:  # the naive dashboard: stop as soon as p < .05
                if two_proportion_test(s_a, n, s_b, n)[1] < 0.05:
                    declared = True
                    break
            else:  # the rule may be asked every day; it only tests at the horizon
                d = rule.decide([("A", n, s_a), ("B", n, s_b)], window_closed=True)
                if d.ready:
                    declared = d.winner is not None
                    break
        false += declared
    return false


def test_asking_every_day_cannot_make_a_false_winner() -> None:
    trials = 300
    fixed = _a_a_false_winners(False, trials=trials, seed=7)
    naive = _a_a_false_winners(True, trials=trials, seed=7)
    # One two-sided test at the horizon, alpha .05: about 5 % false winners, however often the rule is asked.
    assert fixed / trials <= 0.09
    # Stopping at the first p < .05 over 20 looks inflates the error several-fold (the negative control).
    assert naive / trials >= 0.15
    assert naive > 2 * fixed


def test_arm_results_and_bad_input() -> None:
    rows = arm_results([("A", 1000, 100), ("B", 1000, 120)])
    assert rows[0].p_value_vs_control is None and rows[1].p_value_vs_control == pytest.approx(
        two_proportion_test(120, 1000, 100, 1000)[1])
    assert rows[1].rate == 0.12
    with pytest.raises(InvalidArgument):
        wilson_interval(5, 3)
    with pytest.raises(InvalidArgument):
        sample_size_per_variant(0.95, 0.1)
