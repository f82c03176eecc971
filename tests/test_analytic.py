"""Known analytic results, checked with tolerances from the sampling spread."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model import DistrictModel, simulate
from model import rules as rule
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
    share = scenario.district.risk_factors.parental_mental_illness_share.value  # drawn at birth, for life
    observed = f.parental_mental_illness[~f.unaccompanied].mean()
    assert abs(observed - share) < 4 * np.sqrt(share * (1 - share) / residents)


BANDS = {"0-5": (0, 6), "6-11": (6, 12), "12-17": (12, 18), "18-20": (18, 21)}  # years


def _circumstances_by_band(scenario, seeds) -> pd.DataFrame:
    """Per replicate and age band at the end of the run: the share of single parents observed and expected
    (`rules.single_parent_share_at_age` at each child's age), and the shares on transfer benefits of single
    parents and of couples."""
    rf = scenario.district.risk_factors
    birth, h, r = (
        p.value for p in (rf.single_parent_share, rf.separation_hazard_per_month, rf.new_partner_hazard_per_month)
    )
    rows = []
    for seed in seeds:
        model = DistrictModel(scenario, seed)
        model.run()
        f = model.families
        for band, (low, high) in BANDS.items():
            at = ~f.unaccompanied & (f.age_months >= 12 * low) & (f.age_months < 12 * high)
            single, poor = f.single_parent[at], f.sgb2_poverty[at]
            expected = np.mean([rule.single_parent_share_at_age(birth, h, r, int(a)) for a in f.age_months[at]])
            rows.append(
                {
                    "seed": seed,
                    "band": band,
                    "single": single.mean(),
                    "expected": expected,
                    "poor_if_single": poor[single].mean(),
                    "poor_if_couple": poor[~single].mean(),
                }
            )
    return pd.DataFrame(rows)


def test_single_parenthood_rises_with_age_and_transfer_benefits_keep_their_shares(baseline):
    """Separations and new partners make single parenthood rise with the child's age from the share at birth
    (`rules.single_parent_share_at_age`); minors as a whole match the published share (0.174, germany.toml),
    and transfer benefits keep each household type's share at every age (they follow a change of household,
    and begin and end at hazards that balance). Tolerances: four standard errors of the replicates' mean."""
    scenario = shrink(baseline, inhabitants=60_000, burn_in_years=3, horizon_years=2)
    table = _circumstances_by_band(scenario, replicate_seeds(21, 5))
    rf = scenario.district.risk_factors
    by_band = table.groupby("band", sort=False)
    mean, se = by_band.mean(numeric_only=True), by_band.std(numeric_only=True, ddof=1) / np.sqrt(5)
    tolerance = 4 * se + 0.003  # a floor: five replicates' spread is itself uncertain
    assert ((mean["single"] - mean["expected"]).abs() < tolerance["single"]).all(), mean
    assert mean.loc["0-5", "single"] < mean.loc["6-11", "single"] < mean.loc["12-17", "single"], mean
    assert mean.loc["12-17", "single"] - mean.loc["0-5", "single"] > 0.04, mean  # the published rise: 0.14 -> 0.2
    assert abs(mean.loc["0-5", "single"] - 0.14) < 0.015, mean  # germany.toml family_changes (under 6, 2015)
    minors = mean.loc[["0-5", "6-11", "12-17"], "single"].mean()  # the bands hold as many ages each
    assert abs(minors - 0.174) < 0.01, minors  # germany.toml risk_factors.single_parent_children_under_18
    for column, share in (
        ("poor_if_single", rf.sgb2_poverty_share_if_single_parent.value),
        ("poor_if_couple", rf.sgb2_poverty_share_if_couple.value),
    ):
        assert ((mean[column] - share).abs() < 4 * se[column] + 0.005).all(), (column, mean[column])


def test_circumstances_change_at_their_hazards(baseline):
    """Month by month, the share of couples who separate, of single parents whose new partner moves in, and of
    families whose transfer benefits end or begin (without a change of household) are the scenario's hazards:
    each hazard set high, so that every one is measured closely (four binomial standard errors)."""
    hazards = {"separation": 0.03, "new_partner": 0.08, "sgb2_exit": 0.1}
    scenario = shrink(baseline, inhabitants=20_000, burn_in_years=0, horizon_years=1).with_values(
        {f"district.risk_factors.{name}_hazard_per_month": value for name, value in hazards.items()}
    )
    model = DistrictModel(scenario, 7)
    rf = scenario.district.risk_factors
    entry = {
        single: rule.transfer_benefits_entry_hazard(hazards["sgb2_exit"], share.value)
        for single, share in ((False, rf.sgb2_poverty_share_if_couple), (True, rf.sgb2_poverty_share_if_single_parent))
    }
    counts = {key: [0, 0] for key in ("separation", "new_partner", "sgb2_exit", "entry_couple", "entry_single")}
    for _ in range(6):
        f = model.families
        before = pd.DataFrame({"id": f.id, "single": f.single_parent, "poor": f.sgb2_poverty})[~f.unaccompanied]
        model.step()
        f = model.families
        after = pd.DataFrame({"id": f.id, "single_now": f.single_parent, "poor_now": f.sgb2_poverty})
        both = before.merge(after, on="id")  # those still here
        moved = both["single"] != both["single_now"]
        stayed = both[~moved]
        for key, rows, changed in (
            ("separation", both[~both["single"]], moved[~both["single"]]),
            ("new_partner", both[both["single"]], moved[both["single"]]),
            ("sgb2_exit", stayed[stayed["poor"]], ~stayed["poor_now"][stayed["poor"]]),
            (
                "entry_couple",
                stayed[~stayed["poor"] & ~stayed["single"]],
                stayed["poor_now"][~stayed["poor"] & ~stayed["single"]],
            ),
            (
                "entry_single",
                stayed[~stayed["poor"] & stayed["single"]],
                stayed["poor_now"][~stayed["poor"] & stayed["single"]],
            ),
        ):
            counts[key][0] += int(changed.sum())
            counts[key][1] += len(rows)
    expected = {**hazards, "entry_couple": entry[False], "entry_single": entry[True]}
    for key, (changed, n) in counts.items():
        p = expected[key]
        assert abs(changed / n - p) < 4 * np.sqrt(p * (1 - p) / n), (key, changed / n, p, n)


def test_unaccompanied_arrivals_follow_the_rate_exactly(baseline):
    scenario = shrink(baseline, inhabitants=100_000, burn_in_years=0, horizon_years=2)
    result = simulate(scenario, replicates=1, seed=1, workers=1)
    frame = result.wide()
    arrivals = frame["begun_unaccompanied.inobhutnahme_42"].sum()
    rate = scenario.unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year.value
    expected = rate * 100_000 * scenario.district.under_21_share.value / 10_000 * 2
    assert abs(arrivals - expected) <= 1  # deterministic inflow, fractions carried over
