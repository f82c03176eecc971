"""Known analytic results, checked with tolerances from the sampling spread."""

from __future__ import annotations

import numpy as np

from model import DistrictModel, simulate
from model.parameters import ADULT_MONTHS, MAX_AGE_MONTHS
from model.run import replicate_seeds
from tests.conftest import shrink


def _no_services(scenario):
    """Shut off everything that acts on burden, so that burden is pure shot noise."""
    values = {"burden.frailty_sd_log": 0.0, "detection.in_help_escalation_detection_per_month": 0.0}
    values |= {f"burden.age_hazard_ratio_by_band[{i}]": 1.0 for i in range(4)}
    values |= {f"detection.report_hazard_per_month_by_level[{i}]": 0.0 for i in range(4)}
    values |= {f"detection.self_referral_hazard_per_month_by_level[{i}]": 0.0 for i in range(4)}
    values |= {
        f"district.risk_factors.shock_hazard_ratio.{k}": 1.0 for k in scenario.district.risk_factors.shock_hazard_ratio
    }
    values |= {f"prevention.{name}.budget_eur_per_year": 0.0 for name in scenario.prevention}
    values["unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year"] = 0.0
    return scenario.with_values(values)


def test_burden_is_shot_noise_with_the_analytic_stationary_mean(baseline):
    """b' = (1 - k) b + S with P(shock) = h and exponential size m has stationary mean h m / k."""
    scenario = _no_services(shrink(baseline, inhabitants=20_000, burn_in_years=2, horizon_years=1))
    h, m, k = 0.03, 0.5, 0.03
    scenario = scenario.with_values(
        {"burden.shock_hazard_per_month": h, "burden.shock_mean_size_points": m, "burden.reversion_per_month": k}
    )
    means = []
    for seed in replicate_seeds(11, 6):
        model = DistrictModel(scenario, seed)
        model.run()
        assert (model.families.help == -1).all()  # nothing ever reported: no help
        means.append(model.families.burden.mean())
    expected = h * m / k
    spread = np.std(means, ddof=1) / np.sqrt(len(means))
    assert abs(np.mean(means) - expected) < 4 * spread + 0.01 * expected, (np.mean(means), expected)


def test_population_is_stationary_and_risk_factors_match_the_profile(baseline):
    """One cohort of minors' size is born a month and stays until 21: after 3 years the founding population of
    minors (0-17) has grown into a stationary one of 0-20 year olds, 21/18 of the minors."""
    scenario = shrink(baseline, inhabitants=50_000, burn_in_years=2, horizon_years=1)
    model = DistrictModel(scenario, 5)
    model.run()
    f = model.families
    residents = (~f.unaccompanied).sum()
    under_21 = 50_000 * scenario.district.minors_share.value * MAX_AGE_MONTHS / ADULT_MONTHS
    assert abs(residents - under_21) / under_21 < 0.01  # a few move away after a crisis
    rf = scenario.district.risk_factors
    n = residents
    for share, observed in [
        (rf.single_parent_share.value, f.single_parent[~f.unaccompanied].mean()),
        (rf.parental_mental_illness_share.value, f.parental_mental_illness[~f.unaccompanied].mean()),
    ]:
        assert abs(observed - share) < 4 * np.sqrt(share * (1 - share) / n)


def test_unaccompanied_arrivals_follow_the_rate_exactly(baseline):
    scenario = shrink(baseline, inhabitants=100_000, burn_in_years=0, horizon_years=2)
    result = simulate(scenario, replicates=1, seed=1, workers=1)
    frame = result.wide()
    arrivals = frame["begun_unaccompanied.inobhutnahme_42"].sum()
    rate = scenario.unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year.value
    expected = rate * 100_000 * scenario.district.under_21_share.value / 10_000 * 2
    assert abs(arrivals - expected) <= 1  # deterministic inflow, fractions carried over
