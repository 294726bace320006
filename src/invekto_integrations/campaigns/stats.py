"""A/B statistics from maintained libraries (statsmodels, scipy), not hand-written formulas.

- `wilson_interval`: the Wilson score interval of a conversion rate (statsmodels ``proportion_confint``).
- `two_proportion_test`: the pooled two-proportion z-test (statsmodels ``proportions_ztest``).
- `probability_to_be_best`: with Beta(1, 1) priors, P(arm i has the highest rate), integrated
  numerically (scipy ``integrate.quad`` over Beta densities and distribution functions): exact up to
  quadrature error and deterministic, unlike a Monte Carlo draw.
- `sample_size_per_variant`: recipients per variant to detect ``baseline → baseline + effect`` with
  the given power (statsmodels ``NormalIndPower`` on Cohen's h).
- `FixedHorizonRule`: the auto-winner rule. It looks at the data once, only after every variant
  reached the planned sample size and the conversion window closed; before that it answers
  "not yet" without computing a p-value. A test looked at once keeps its false-positive rate at
  alpha; with more than two variants the best one must beat every other one under Holm's
  correction (statsmodels ``multipletests``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from invekto_integrations.core.errors import ConfigurationError, InvalidArgument

__all__ = [
    "ArmResult",
    "Decision",
    "FixedHorizonRule",
    "probability_to_be_best",
    "sample_size_per_variant",
    "two_proportion_test",
    "wilson_interval",
]


def _libs() -> Any:
    """scipy and statsmodels, imported on first use (importing the campaigns package stays cheap)."""
    try:
        from scipy import integrate
        from scipy import stats as sps
        from statsmodels.stats import multitest, power, proportion
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigurationError("campaign statistics need scipy and statsmodels: "
                                 "pip install 'invekto-integrations[campaigns]'") from exc
    return SimpleNamespace(integrate=integrate, sps=sps, multitest=multitest, power=power, proportion=proportion)


def _check(successes: int, n: int, what: str) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise InvalidArgument(f"{what}: need 0 <= successes <= n, got {successes}/{n}", field=what)


def wilson_interval(successes: int, n: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """The Wilson score interval for ``successes / n`` (``(0, 1)`` when ``n`` is 0)."""
    _check(successes, n, "wilson_interval")
    if n == 0:
        return 0.0, 1.0
    lo, hi = _libs().proportion.proportion_confint(successes, n, alpha=alpha, method="wilson")
    return max(0.0, float(lo)), min(1.0, float(hi))


def two_proportion_test(s1: int, n1: int, s2: int, n2: int, *,
                        alternative: Literal["two-sided", "larger", "smaller"] = "two-sided") -> tuple[float, float]:
    """(z, p) of the pooled two-proportion z-test of ``s1/n1`` against ``s2/n2``.

    ``p`` is 1.0 when either group is empty or no group converted at all (nothing to compare).
    """
    _check(s1, n1, "two_proportion_test")
    _check(s2, n2, "two_proportion_test")
    if n1 == 0 or n2 == 0 or s1 + s2 == 0 or s1 + s2 == n1 + n2:
        return 0.0, 1.0
    z, p = _libs().proportion.proportions_ztest([s1, s2], [n1, n2], alternative=alternative)
    return float(z), float(p)


def probability_to_be_best(arms: Sequence[tuple[int, int]], *, prior: tuple[float, float] = (1.0, 1.0)) -> list[float]:
    """P(each arm's true rate is the highest) under independent Beta posteriors."""
    if not arms:
        return []
    for s, n in arms:
        _check(s, n, "probability_to_be_best")
    a0, b0 = prior
    lib = _libs()
    dists = [lib.sps.beta(a0 + s, b0 + n - s) for s, n in arms]
    if len(dists) == 1:
        return [1.0]
    out = []
    for i, di in enumerate(dists):
        others = [d for j, d in enumerate(dists) if j != i]

        def integrand(x: float, di: object = di, others: list[object] = others) -> float:
            value = float(di.pdf(x))  # type: ignore[attr-defined]
            for d in others:
                value *= float(d.cdf(x))  # type: ignore[attr-defined]
            return value

        # Split at the posterior means, where the mass concentrates, so quad does not miss narrow peaks.
        points = sorted({min(max(float(d.mean()), 1e-9), 1 - 1e-9) for d in dists})
        value, _ = lib.integrate.quad(integrand, 0.0, 1.0, points=points, limit=200, epsabs=1e-10)
        out.append(float(value))
    total = sum(out)
    return [v / total for v in out] if total > 0 else [1.0 / len(out)] * len(out)


def sample_size_per_variant(baseline: float, effect: float, *, alpha: float = 0.05, power: float = 0.8,
                            ratio: float = 1.0) -> int:
    """Recipients per variant to detect an absolute lift ``effect`` over ``baseline`` (two-sided)."""
    if not 0 < baseline < 1 or not 0 < baseline + effect < 1 or effect == 0:
        raise InvalidArgument(f"baseline {baseline} and effect {effect} must give rates strictly between 0 and 1",
                              field="minimum_detectable_effect")
    lib = _libs()
    h = abs(float(lib.proportion.proportion_effectsize(baseline + effect, baseline)))
    n = lib.power.NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio,
                                               alternative="two-sided")
    return math.ceil(float(n))


class ArmResult(BaseModel):
    """One variant's figures in a test."""

    model_config = ConfigDict(frozen=True)

    variant: str
    recipients: int
    conversions: int
    rate: float
    ci_low: float
    ci_high: float
    p_value_vs_control: float | None  # None for the control itself
    probability_best: float


def arm_results(arms: Sequence[tuple[str, int, int]], *, alpha: float = 0.05) -> list[ArmResult]:
    """Rates, Wilson intervals, p-values against the first arm (the control) and P(best)."""
    probs = probability_to_be_best([(s, n) for _, n, s in arms])
    control = arms[0] if arms else None
    out = []
    for i, (name, n, s) in enumerate(arms):
        lo, hi = wilson_interval(s, n, alpha=alpha)
        p = None
        if i > 0 and control is not None:
            p = two_proportion_test(s, n, control[2], control[1])[1]
        out.append(ArmResult(variant=name, recipients=n, conversions=s, rate=s / n if n else 0.0, ci_low=lo,
                             ci_high=hi, p_value_vs_control=p, probability_best=probs[i]))
    return out


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    ready: bool  # False: the horizon is not reached, nothing was tested
    winner: str | None = None  # None when ready and no variant is significantly better
    p_value: float | None = None
    reason: str


class FixedHorizonRule(BaseModel):
    """Decide once, at the planned horizon.

    ``min_per_variant`` comes from `sample_size_per_variant` (or is given). `decide` answers
    ``ready=False`` until every variant has that many recipients *and* the caller says the
    conversion window of the last of them has closed; only then is the test run, once.
    """

    model_config = ConfigDict(frozen=True)

    min_per_variant: int
    alpha: float = 0.05

    def decide(self, arms: Sequence[tuple[str, int, int]], *, window_closed: bool) -> Decision:
        """``arms``: (variant, recipients, conversions). The best arm wins only if it differs from every
        other arm (two-sided z-tests, Holm-corrected at ``alpha``)."""
        if len(arms) < 2:
            return Decision(ready=True, winner=arms[0][0] if arms else None, reason="a single variant")
        short = [name for name, n, _ in arms if n < self.min_per_variant]
        if short:
            return Decision(ready=False, reason=f"below the planned {self.min_per_variant} recipients: "
                                                + ", ".join(short))
        if not window_closed:
            return Decision(ready=False, reason="the conversion window has not closed")
        best = max(arms, key=lambda a: (a[2] / a[1], -arms.index(a)))
        # Two-sided: the best arm is picked after looking, so a one-sided test of "best > other" would
        # double the false-winner rate of an A/A test (10 % at alpha 5 %).
        pvalues = [two_proportion_test(best[2], best[1], s, n)[1] for name, n, s in arms if name != best[0]]
        if len(pvalues) == 1:  # Holm's correction of a single test is the test itself
            worst_p, rejected = pvalues[0], pvalues[0] <= self.alpha
        else:
            reject, corrected, _, _ = _libs().multitest.multipletests(pvalues, alpha=self.alpha, method="holm")
            worst_p, rejected = float(max(corrected)), all(bool(r) for r in reject)
        if rejected:
            return Decision(ready=True, winner=best[0], p_value=worst_p,
                            reason=f"{best[0]} beats every other variant (Holm-adjusted p <= {worst_p:.4g})")
        return Decision(ready=True, winner=None, p_value=worst_p,
                        reason=f"no significant difference at alpha {self.alpha} (adjusted p {worst_p:.4g})")
