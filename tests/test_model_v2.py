"""Mechanisms of model v2 seen whole: waiting that hurts, a change in parenting that shows years later, and
helps for young adults begun after 18."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import DistrictModel, load_scenario
from model.comparison import compare
from tests.conftest import BASELINE, shrink

START = 2025  # the baseline's first reported year
OUT_OF_HOME = ("begun_vollzeitpflege_33", "begun_heimerziehung_34", "begun_ise_35")


def horizon_difference(comparison, figure: str) -> pd.Series:
    """Per replicate: the alternative's figure minus the reference's, summed over the horizon."""
    return comparison.differences()[figure].groupby(level="replicate").sum()


def clearly_above_zero(values: pd.Series) -> bool:
    """The mean paired difference lies more than two standard errors above zero."""
    return values.mean() - 2 * values.std(ddof=1) / np.sqrt(len(values)) > 0


def test_halving_the_caseworkers_never_lowers_cost_or_placements(baseline):
    """Fewer help plans a month: families wait longer, keep escalating while they wait (a higher shock hazard,
    reports and crisis intake stay open) and are placed later at higher levels. Neither spending nor
    placements may fall over the horizon (20 replicates, common random numbers)."""
    half = baseline.with_values({"youth_office.caseworkers_fte": 0.5}, relative=True)
    half = half.model_copy(update={"name": "half_the_caseworkers"})
    comparison = compare([baseline, half], replicates=20, seed=3, workers=2)
    cost = horizon_difference(comparison, "cost_eur_total")
    placements = sum(horizon_difference(comparison, figure) for figure in OUT_OF_HOME)
    assert clearly_above_zero(cost), cost.describe()
    assert clearly_above_zero(placements), placements.describe()


@pytest.fixture(scope="module")
def home_visiting(tmp_path_factory: pytest.TempPathFactory):
    """Home visiting for most newborns from 2026, with no effect while it runs, no fading protection and no
    referrals: its only channel is a lasting change in parenting that builds up over four years after the visits.
    The reference funds the same visits without that change, so the same families are visited in both."""
    folder: Path = tmp_path_factory.mktemp("timing")

    def scenario(name: str, parenting_share: float):
        path = folder / f"{name}.toml"
        path.write_text(
            f'name = "{name}"\ndescription = "test"\nextends = "{BASELINE}"\n'
            '[district]\ninhabitants = { value = 60000, source = "test" }\n'
            "[simulation]\nburn_in_years = 3\nhorizon_years = 14\n"
            "[prevention.familienhebamme]\n"
            f'budget_eur_per_year = {{ value = 0, by_year = {{ {START + 1} = 2_000_000 }}, source = "test" }}\n'
            'uptake_hazard_per_month = { value = 0.5, source = "test" }\n'
            "target_levels = [0, 1, 2, 3]\n"
            'shock_hazard_ratio_during = { value = 1.0, source = "test" }\n'
            'protection_after_share = { value = 0.0, source = "test" }\n'
            'referral_hazard_ratio_during = { value = 1.0, source = "test" }\n'
            f'parenting_effect_share = {{ value = {parenting_share}, source = "test" }}\n'
            'parenting_effect_onset_months = { value = 48, source = "test" }\n',
            encoding="utf-8",
        )
        return load_scenario(path)

    return compare([scenario("visits", 0.0), scenario("visits_change_parenting", 0.6)], replicates=8, seed=4, workers=2)


def test_a_lasting_change_in_parenting_shows_in_placements_only_years_after_the_visits(home_visiting):
    d = home_visiting.differences().loc["visits_change_parenting"]
    placements = sum(d[figure] for figure in OUT_OF_HOME).groupby(level="year").mean()
    spending = d["cost_eur_total"].groupby(level="year").mean()
    first_years = placements.loc[START : START + 2]
    later_years = placements.loc[START + 7 :]
    # the same visits in both: identical until the first visits end (nine months after they begin in 2026)
    assert placements.loc[START] == 0 and spending.loc[START] == 0
    # little in the first years after the visits, a clear fall years later, as the visited children grow up
    assert abs(first_years.sum()) < 0.25 * abs(later_years.sum())
    per_replicate = -sum(d[figure] for figure in OUT_OF_HOME).loc[(slice(None), slice(START + 7, None))]
    assert clearly_above_zero(per_replicate.groupby(level="replicate").sum())


def test_a_shortage_of_foster_families_pushes_placements_into_residential_care(tmp_path: Path):
    """With the places of §33 capped, the placements that find no foster family are drawn again among the other
    placement helps (same draw, `kernels.grant`): fewer foster placements begin, more residential ones."""

    def scenario(name: str, foster: str = ""):
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'name = "{name}"\ndescription = "test"\nextends = "{BASELINE}"\n'
            '[district]\ninhabitants = { value = 20000, source = "test" }\n'
            f"[simulation]\nburn_in_years = 3\nhorizon_years = 3\n{foster}",
            encoding="utf-8",
        )
        return load_scenario(path)

    capped = scenario("few_foster", '[helps.vollzeitpflege_33]\nplaces = { value = 10, source = "test" }\n')
    d = compare([scenario("reference"), capped], replicates=4, seed=6, workers=1).differences().loc["few_foster"].sum()
    assert d["begun_vollzeitpflege_33"] < 0
    assert d["begun_heimerziehung_34"] > 0


def test_young_adults_begin_helps_after_18_and_are_never_assessed():
    """§41: young adults (18-20) stay in the district; one who comes to notice in need (a report, an escalation
    in help, a help ended unresolved) gets a help plan without a §8a assessment, which protects minors. So helps
    begin at 18-20 by help plan, placements in §34 among them, and every assessment is of a minor."""
    model = DistrictModel(shrink(load_scenario(BASELINE), 40_000, 4, 4), 5, microdata=True)
    model.run()
    tables = model.microdata.tables()
    begun = tables["helps"][tables["helps"]["event"] == "begun"]
    young_adults = begun[begun["age_years"] >= 18]
    assert (young_adults["route"] == "help_plan").sum() > 10, young_adults["route"].value_counts()
    assert (young_adults["help"] == "heimerziehung_34").any()
    assert (tables["assessments"]["age_years"] < 18).all()
