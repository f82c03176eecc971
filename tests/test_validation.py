"""The model's figures comparable to published patterns (model.validation), on small synthetic frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model import load_scenario
from model.calibration import reference
from model.parameters import Catalogue
from model.run import simulate
from model.validation import (
    SET_BY_HAND,
    begun,
    checks,
    flagged,
    help_groups,
    overtaking_age,
    peak_age,
    rate_per_10k_by_age,
    served_by_age,
    share_by_replicate,
    validation_table,
    verdict,
    young_people_per_case,
)
from tests.conftest import ROOT, shrink


def population(replicates=(0,), years=(2025, 2026), ages=range(3), people=100.0) -> pd.DataFrame:
    rows = [(r, y, a, people) for r in replicates for y in years for a in ages]
    return pd.DataFrame(rows, columns=["replicate", "year", "age_years", "young_people"])


def test_rate_per_10k_counts_hze_only_and_averages_the_years():
    census = pd.DataFrame(
        {
            "replicate": [0, 0, 0, 0, 0],
            "year": [2025, 2025, 2026, 2026, 2026],
            "age_years": [1, 1, 1, 2, 2],
            "hze": [True, True, True, True, False],  # the last is no HzE (e.g. Inobhutnahme)
        }
    )
    rates = rate_per_10k_by_age(census, population())
    assert rates.loc[0, 0] == 0  # an age without anyone in a help
    assert rates.loc[0, 1] == pytest.approx((200 + 100) / 2)  # 2 and 1 of 100, per 10,000, mean of the years
    assert rates.loc[0, 2] == pytest.approx((0 + 100) / 2)


def test_a_family_case_counts_its_young_people():
    census = pd.DataFrame(
        {
            "replicate": [0, 0, 0],
            "year": [2025, 2025, 2025],
            "age_years": [1, 1, 2],
            "help": ["family", "single", "single"],
            "hze": [True, True, True],
        }
    )
    rates = rate_per_10k_by_age(census, population(years=(2025,)), {"family": 2.5})
    assert rates.loc[0, 1] == pytest.approx((2.5 + 1) * 100)  # of 100 young people, per 10,000
    assert rates.loc[0, 2] == pytest.approx(100)


def test_young_people_per_family_case_follow_the_2023_statistics():
    groups = {"spfh_31": ("spfh_31", "intensive_spfh"), "flexible_27_2": ("flexible_27_2",)}
    weights = young_people_per_case(groups)
    cases = reference()["hze_cases_2023"]
    # young people reached minus cases are the siblings of family-oriented cases (§31 and §27(2) family)
    siblings = weights["spfh_31"] * cases["spfh_31"] + weights["flexible_27_2"] * (
        cases["flexible_27_2_family"] + cases["flexible_27_2_individual"]
    )
    siblings -= cases["spfh_31"] + cases["flexible_27_2_family"] + cases["flexible_27_2_individual"]
    assert siblings == pytest.approx(cases["young_people"] - cases["total"])
    assert weights["spfh_31"] == weights["intensive_spfh"] == pytest.approx(2.00, abs=0.01)
    assert 1 < weights["flexible_27_2"] < weights["spfh_31"]
    assert "heimerziehung_34" not in weights  # one young person per case


def test_peak_age_is_the_age_of_the_highest_rate():
    rates = pd.DataFrame({0: [1.0, 5.0], 1: [3.0, 2.0], 2: [2.0, 1.0]}, index=[0, 1])
    assert peak_age(rates, ages=range(3)).tolist() == [1.0, 0.0]


def test_overtaking_age_is_where_residential_care_stays_ahead():
    ages = range(6)
    index = pd.MultiIndex.from_product([[0], [2025], ages], names=["replicate", "year", "age_years"])
    served = pd.DataFrame({"foster": [5, 5, 2, 5, 1, 1], "home": [0, 1, 3, 1, 2, 4]}, index=index)
    # ahead at 2, behind again at 3, ahead from 4 on
    assert overtaking_age(served, "foster", "home", ages).tolist() == [4.0]
    never = served.assign(home=0)
    assert np.isnan(overtaking_age(never, "foster", "home", ages).iloc[0])
    always = served.assign(foster=0)
    assert overtaking_age(always, "foster", "home", ages).tolist() == [0.0]


def test_served_counts_the_census_and_the_helps_ended_in_the_year():
    helps = pd.DataFrame(
        {
            "replicate": [0, 0, 0],
            "year": [2025, 2025, 2025],
            "age_years": [12, 12, 12],
            "help": ["heim", "heim", "pflege"],
            "event": ["ended", "begun", "ended"],  # a help begun is not counted: it is in the census if it lasts
        }
    )
    census = pd.DataFrame({"replicate": [0], "year": [2025], "age_years": [12], "help": ["heim"]})
    served = served_by_age(helps, census, ["pflege", "heim"])
    assert served.loc[(0, 2025, 12)].to_dict() == {"pflege": 1, "heim": 2}


def test_shares_at_start_count_helps_begun_of_the_group():
    helps = pd.DataFrame(
        {
            "replicate": [0, 0, 0, 1, 1],
            "event": ["begun", "begun", "ended", "begun", "begun"],
            "help": ["a", "a", "a", "a", "b"],
            "transfer_benefits": [True, False, True, True, True],
            "single_parent": [True, True, False, False, False],
            "unaccompanied": [False, False, False, False, False],
            "age_years": [3, 15, 3, 18, 5],
        }
    )
    rows = begun(helps, ["a"])
    assert share_by_replicate(flagged(rows, "transfer_benefits"), "flag", [0, 1, 2]).tolist()[:2] == [0.5, 1.0]
    assert np.isnan(share_by_replicate(flagged(rows, "transfer_benefits"), "flag", [0, 1, 2]).iloc[2])
    of_single_parents = share_by_replicate(flagged(rows, "transfer_benefits_of_single_parents"), "flag", [0, 1])
    assert of_single_parents.iloc[0] == 0.5 and np.isnan(of_single_parents.iloc[1])
    # an unaccompanied minor has no family whose benefits the statistics know: not counted in the share
    with_minor = pd.concat([rows, rows.iloc[[1]].assign(unaccompanied=True, single_parent=False)])
    assert share_by_replicate(flagged(with_minor, "transfer_benefits"), "flag", [0]).tolist() == [0.5]
    assert share_by_replicate(flagged(with_minor, "single_parent"), "flag", [0]).tolist() == [2 / 3]
    assert share_by_replicate(flagged(rows, "under_14"), "flag", [0, 1]).tolist() == [0.5, 0.0]
    assert share_by_replicate(flagged(rows, "adult"), "flag", [0, 1]).tolist() == [0.0, 1.0]


def test_verdicts_use_the_bars():
    assert verdict(1.19, 1.0, ("relative", 0.2)) == "within"
    assert verdict(0.79, 1.0, ("relative", 0.2)) == "outside"
    assert verdict(11.0, 10.0, ("years", 1.0)) == "within"
    assert verdict(8.9, 10.0, ("years", 1.0)) == "outside"
    assert verdict(float("nan"), 10.0, ("years", 1.0)) == "no model figure"


def test_help_groups_of_the_baseline():
    groups = help_groups(Catalogue.of(load_scenario(ROOT / "scenarios" / "baseline.toml")))
    assert groups["erziehungsberatung_28"] == ("erziehungsberatung_28",)
    assert "erziehungsberatung_28" in groups["hze"] and "erziehungsberatung_28" not in groups["hze_without_28"]
    assert "heimerziehung_34" in groups["hze_without_28"] and "heimerziehung_34" not in groups["ambulant"]
    assert "spfh_31" in groups["ambulant"] and "inobhutnahme_42" not in groups["hze"]


def test_every_check_cites_its_figure_in_germany_toml():
    ref = reference()
    for check in checks():
        section, key = check.source.split(".")
        assert ref[section][key] == check.statistic, check.name


def test_the_table_from_a_small_run():
    scenario = shrink(load_scenario(ROOT / "scenarios" / "baseline.toml"), 8_000, 2, 2)
    result = simulate(scenario, replicates=2, seed=5, workers=1)
    table = validation_table(result.microdata(), help_groups(result.catalogue))
    assert len(table) == len(checks()) and set(table["verdict"]) <= {"within", "outside", "no model figure"}
    by_hand = table.set_index("figure").loc[list(SET_BY_HAND)]  # every name is a check's
    assert by_hand["fitted"].all() and by_hand["source"].str.contains("set by hand").all()
    assert table["fitted"].sum() == len(SET_BY_HAND) < len(table)  # the others are not fitted
    table = table[table["model"].notna()]  # a small district may begin no help of a rare type (§32): no share
    assert len(table) >= len(checks()) - 2
    shares = table[table["unit"] == "share"]
    assert shares["model"].between(0, 1).all()
    assert (table["p05"] <= table["model"] + 1e-9).all() and (table["model"] <= table["p95"] + 1e-9).all()


def test_ended_helps_give_the_mean_months_and_the_share_ended_as_planned():
    helps = pd.DataFrame(
        {
            "replicate": [0, 0, 0, 0],
            "event": ["ended", "ended", "ended", "begun"],
            "help": ["a", "a", "no_hze", "a"],
            "months": pd.array([4, 8, 100, pd.NA], dtype="Int16"),
            "as_planned": pd.array([True, False, True, pd.NA], dtype="boolean"),
        }
    )
    tables = {"helps": helps, "population": population()}
    by_name = {c.name: c for c in checks()}
    groups = {"hze": ("a",)}
    assert by_name["mean_months_of_hze_ended_2023"].model(tables, groups).tolist() == [6.0]
    assert by_name["hze_ended_as_planned_2023"].model(tables, groups).tolist() == [0.5]
