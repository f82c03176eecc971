"""Every effect parameter moves its outcome in the expected direction: a low and a high value, under common
random numbers, on a small district where prevention has room to act.

A parameter that could be dropped from the engine without any outcome moving would pass every other test;
here it fails. Contrasts are wide, so that the sign is the mechanism's and not the noise's (two seeds summed).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from model import DistrictModel, Scenario, load_scenario
from tests.conftest import BASELINE, shrink

SEEDS = (1, 2)
PLACEMENTS = ("vollzeitpflege_33", "heimerziehung_34", "ise_35")
PLANNED_AMBULANT = ("soziale_gruppenarbeit_29", "erziehungsbeistand_30", "spfh_31", "flexible_27_2")
HOME_VISITS = "prevention.familienhebamme"
ARRIVAL_AGES = "unaccompanied_minors.arrival_age_share_by_band"  # aged 10-13, 14-15, 16-17: shares that sum to 1


@cache
def district() -> Scenario:
    """The baseline, small and short, with home visiting funded for most newborns and diagnostics offered."""
    return shrink(load_scenario(BASELINE), 40_000, 2, 6).with_values(
        {
            f"{HOME_VISITS}.budget_eur_per_year": 800_000,
            "helps.intensive_familiendiagnostik.budget_eur_per_year": 300_000,
            "policy.diagnostics_first_share": 0.5,
        }
    )


def outcome(frame: pd.DataFrame, name: str) -> float:
    """An outcome summed over the horizon: a column, or one of the named groups below."""
    groups = {
        "high_risk_family_months": ["families.level_3", "families.level_4"],
        "assessments": [f"assessments.{a}" for a in ("acute", "latent", "need", "neither")],
        "placements_begun": [f"begun.{h}" for h in PLACEMENTS],
        "planned_ambulant_begun": [f"begun.{h}" for h in PLANNED_AMBULANT],
        "helps_running": [c for c in frame.columns if c.startswith("stock.") and "unaccompanied" not in c],
        "unaccompanied_in_care": [c for c in frame.columns if c.startswith("stock_unaccompanied.")],
    }
    return float(frame[groups.get(name, [name])].to_numpy().sum())


def with_rest(values: dict[str, float]) -> dict[str, float]:
    """The values, with the oldest arrivals (16-17) taking up the rest when the share of a younger band changes."""
    changed = {key: v for key, v in values.items() if key.startswith(f"{ARRIVAL_AGES}[")}
    if not changed:
        return values
    shares = district().unaccompanied_minors.arrival_age_share_by_band.value
    younger = [changed.get(f"{ARRIVAL_AGES}[{i}]", shares[i]) for i in range(len(shares) - 1)]
    return values | {f"{ARRIVAL_AGES}[{len(shares) - 1}]": 1.0 - sum(younger)}


def total(values: dict[str, float], name: str) -> float:
    scenario = district().with_values(with_rest(values))
    return sum(outcome(DistrictModel(scenario, seed).run().frame(), name) for seed in SEEDS)


# key path, low value, high value, outcome, +1 if the outcome rises with the value, -1 if it falls
DIRECTIONS = [
    # prevention: while it runs, the lasting protection after it, referral, reach and capacity
    (f"{HOME_VISITS}.shock_hazard_ratio_during", 0.3, 1.0, "high_risk_family_months", +1),
    (f"{HOME_VISITS}.protection_after_share", 0.0, 0.7, "high_risk_family_months", -1),
    (f"{HOME_VISITS}.protection_half_life_months", 2, 240, "high_risk_family_months", -1),
    (f"{HOME_VISITS}.parenting_effect_share", 0.0, 0.6, "high_risk_family_months", -1),
    (f"{HOME_VISITS}.parenting_effect_onset_months", 3, 120, "high_risk_family_months", +1),
    (f"{HOME_VISITS}.referral_hazard_ratio_during", 1.0, 6.0, "assessments", +1),
    (f"{HOME_VISITS}.uptake_hazard_per_month", 0.01, 0.3, "prevention_begun.familienhebamme", +1),
    (f"{HOME_VISITS}.budget_eur_per_year", 30_000, 800_000, "prevention_begun.familienhebamme", +1),
    (f"{HOME_VISITS}.cost_per_month_eur", 247.5, 5_000, "prevention_begun.familienhebamme", -1),
    (f"{HOME_VISITS}.mean_duration_months", 2, 12, "prevention_occupancy.familienhebamme", +1),
    # burden and risk
    ("burden.shock_hazard_per_month", 0.018, 0.028, "high_risk_family_months", +1),
    ("burden.shock_mean_size_points", 0.4, 0.6, "high_risk_family_months", +1),
    ("burden.reversion_per_month", 0.024, 0.036, "high_risk_family_months", -1),
    ("burden.frailty_sd_log", 0.2, 1.0, "high_risk_family_months", +1),
    ("burden.age_hazard_ratio_by_band[2]", 1.0, 2.5, "high_risk_family_months", +1),
    ("burden.shock_hazard_ratio_while_waiting", 1.0, 3.0, "high_risk_family_months", +1),
    ("district.risk_factors.single_parent_share", 0.05, 0.4, "high_risk_family_months", +1),
    ("district.risk_factors.sgb2_poverty_share_if_couple", 0.02, 0.25, "high_risk_family_months", +1),
    ("district.risk_factors.sgb2_poverty_share_if_single_parent", 0.1, 0.8, "high_risk_family_months", +1),
    ("district.risk_factors.parental_mental_illness_share", 0.1, 0.5, "high_risk_family_months", +1),
    # family circumstances: separations make single parents (and bring transfer benefits), new partners end both
    ("district.risk_factors.separation_hazard_per_month", 0.0005, 0.01, "planned_ambulant_begun", +1),
    ("district.risk_factors.separation_hazard_per_month", 0.0005, 0.01, "high_risk_family_months", +1),
    ("district.risk_factors.new_partner_hazard_per_month", 0.001, 0.05, "high_risk_family_months", -1),
    ("district.risk_factors.shock_hazard_ratio.parental_mental_illness", 1.0, 3.0, "high_risk_family_months", +1),
    # detection and assessment
    ("detection.report_hazard_per_month_by_level[2]", 0.03, 0.2, "assessments", +1),
    ("detection.self_referral_hazard_per_month_by_level[1]", 0.01, 0.1, "begun.erziehungsberatung_28", +1),
    ("detection.self_referral_hazard_ratio_transfer_benefits", 0.1, 1.0, "begun.erziehungsberatung_28", +1),
    ("detection.self_referral_hazard_ratio_young_adults", 0.1, 1.0, "begun.erziehungsberatung_28", +1),
    ("detection.in_help_escalation_detection_per_month", 0.05, 0.95, "assessments", +1),
    ("detection.acute_share_of_endangerment", 0.2, 0.9, "begun.inobhutnahme_42", +1),
    ("detection.network_referral_hazard_ratio", 0.5, 2.0, "assessments", +1),
    ("detection.network_outreach_hazard_ratio", 0.2, 2.0, "prevention_begun.familienhebamme", +1),
    # the youth office's capacity
    ("youth_office.caseworkers_fte", 2, 22, "planned_ambulant_begun", +1),
    ("youth_office.help_plans_per_fte_per_month", 0.2, 1.5, "planned_ambulant_begun", +1),
    ("youth_office.help_plan_completion_per_month", 0.1, 0.9, "planned_ambulant_begun", +1),
    # placement policy
    ("policy.placement_probability_level_3", 0.0, 0.3, "placements_begun", +1),
    ("policy.placement_probability_level_4", 0.1, 0.7, "placements_begun", +1),
    ("policy.placement_probability_after_failed_help", 0.0, 0.7, "placements_begun", +1),
    ("policy.placement_after_crisis_probability", 0.1, 0.9, "placements_begun", +1),
    ("policy.transfer_probability_if_burdened", 0.0, 0.9, "placements_begun", +1),
    ("policy.continue_after_18_probability", 0.0, 0.9, "helps_running", +1),
    ("policy.diagnostics_first_share", 0.1, 0.9, "begun.intensive_familiendiagnostik", +1),
    ("policy.diagnosed_placement_ratio", 0.2, 2.5, "placements_begun", +1),
    # unaccompanied minors
    ("unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year", 5, 40, "begun_unaccompanied.inobhutnahme_42", +1),
    ("unaccompanied_minors.residential_probability_after_crisis", 0.1, 0.9, "begun_unaccompanied.heimerziehung_34", +1),
    (f"{ARRIVAL_AGES}[0]", 0.0, 0.6, "unaccompanied_in_care", +1),  # arriving younger, longer in care until 18
    # helps: relief, duration, capacity and choice
    ("helps.spfh_31.burden_relief_per_month", 0.0, 0.15, "ended_resolved.spfh_31", +1),
    (
        "helps.soziale_gruppenarbeit_29.choice_weight_ratio_transfer_benefits",
        0.2,
        5.0,
        "begun.soziale_gruppenarbeit_29",
        +1,
    ),
    ("helps.heimerziehung_34.mean_duration_months", 15, 60, "stock.heimerziehung_34", +1),
    ("helps.intensive_familienhilfe.budget_eur_per_year", 50_000, 800_000, "begun.intensive_familienhilfe", +1),
    ("helps.spfh_31.weight_by_age_band[0]", 0.5, 5.0, "begun.spfh_31", +1),
    ("helps.heimerziehung_34.weight_by_age_band[2]", 0.5, 5.0, "begun.heimerziehung_34", +1),
    # young adults who come to notice in need begin §41 helps: §34 is the placement open to them at 18-20
    ("helps.heimerziehung_34.weight_by_age_band[3]", 0.0, 2.0, "begun.heimerziehung_34", +1),
]


@pytest.mark.parametrize(("key", "low", "high", "name", "sign"), DIRECTIONS, ids=[d[0] for d in DIRECTIONS])
def test_effect_direction(key: str, low: float, high: float, name: str, sign: int):
    at_low, at_high = total({key: low}, name), total({key: high}, name)
    assert np.sign(at_high - at_low) == sign, f"{name}: {at_low} at {key} = {low}, {at_high} at {high}"


def test_a_price_changes_cost_and_nothing_else():
    """Cost = occupancy x unit cost: a higher daily rate raises the cost of that help exactly in proportion."""
    key = "helps.heimerziehung_34.cost_per_day_eur"
    rate = district().helps["heimerziehung_34"].cost_per_day_eur.value
    frames = [DistrictModel(district().with_values({key: value}), 1).run().frame() for value in (rate, 1.5 * rate)]
    cost = [f"cost_eur.{h}" for h in district().helps]
    others = [c for c in frames[0].columns if not c.startswith("cost_eur")]
    pd.testing.assert_frame_equal(frames[0][others], frames[1][others])  # nobody behaves differently
    np.testing.assert_allclose(frames[1]["cost_eur.heimerziehung_34"], 1.5 * frames[0]["cost_eur.heimerziehung_34"])
    unchanged = [c for c in cost if c != "cost_eur.heimerziehung_34"]
    pd.testing.assert_frame_equal(frames[0][unchanged], frames[1][unchanged])
