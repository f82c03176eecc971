"""Attribution to lever groups: Shapley values add up per replicate, nothing changed gets zero, prices are prices."""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from model import load_scenario
from model.attribution import (
    OUTCOMES,
    PLACEMENTS_BEGUN,
    PRICES,
    attribute,
    changed_keys,
    lever_groups,
    shapley,
)
from model.cli import app
from model.comparison import compare
from model.report import BRIEFING_FILES
from tests.conftest import ROOT, shrink, write_tiny
from tests.test_report import UNCERTAINTIES

SCENARIOS = ROOT / "scenarios"


def tiny(name: str):
    """A seed scenario in a small district over a short horizon (the programmes start in 2026)."""
    return shrink(load_scenario(SCENARIOS / f"{name}.toml"), inhabitants=5_000, burn_in_years=2, horizon_years=3)


@pytest.fixture(scope="module", params=[False, True], ids=["fixed-numbers", "parameter-uncertainty"])
def neuss(request):
    """Neuss against the baseline: three lever groups (policy, a help, the §34 daily rate); with parameter
    uncertainty every subset draws the uncertain numbers as the comparison did."""
    scenarios = [tiny("baseline"), tiny("neuss_ambulant")]
    comparison = compare(scenarios, replicates=3, seed=4, workers=1, uncertainty=request.param)
    return comparison, attribute(comparison, workers=1)[0]


def test_groups_follow_the_key_paths_and_the_units_of_the_changes(baseline):
    neuss = load_scenario(SCENARIOS / "neuss_ambulant.toml")
    groups = {g.name: g.keys for g in lever_groups(baseline, neuss)}
    assert groups == {
        "policy": ("policy.placement_probability_level_4", "policy.placement_probability_after_failed_help"),
        "helps.intensive_familienhilfe": ("helps.intensive_familienhilfe.budget_eur_per_year",),
        PRICES: ("helps.heimerziehung_34.cost_per_day_eur",),  # a daily rate: EUR per day
    }
    # a new source for the same number is no change; a unit cost of a prevention service is a price too
    restated = baseline.with_values({"burden.reversion_per_month": baseline.burden.reversion_per_month.value})
    assert changed_keys(baseline, restated) == []
    cheaper = baseline.with_values({"prevention.elternschule.cost_per_month_eur": 50.0})
    assert [g.name for g in lever_groups(baseline, cheaper)] == [PRICES]
    # Osterode changes six services and four helps: too many groups, so each section becomes one group
    osterode = load_scenario(SCENARIOS / "osterode_prevention.toml")
    assert [g.name for g in lever_groups(baseline, osterode)] == ["detection", "policy", "prevention", "helps"]
    fine = [g.name for g in lever_groups(baseline, osterode, max_groups=12)]
    assert len(fine) == 12 and {"prevention.familienhebamme", "helps.spfh_31"} <= set(fine)
    grouped = lever_groups(baseline, osterode, max_groups=2)
    assert len(grouped) == 2 and sum(len(g.keys) for g in grouped) == len(changed_keys(baseline, osterode))


@settings(max_examples=50, deadline=None)
@given(arrays(float, st.integers(1, 4).map(lambda k: (2**k, 3)), elements=st.floats(-1e6, 1e6)))
def test_shapley_values_add_up_to_the_whole_change(values):
    phi = shapley(values)
    np.testing.assert_allclose(phi.sum(axis=0), values[-1] - values[0], rtol=1e-9, atol=1e-6)


def test_shapley_values_of_additive_levers_are_their_own_effects_and_a_dummy_gets_zero():
    own = np.array([5.0, -2.0, 0.0])  # the third lever does nothing
    values = np.array([sum(own[i] for i in range(3) if mask >> i & 1) for mask in range(8)])
    values = values + 3.0 * ((np.arange(8) & 3) == 3)  # levers 0 and 1 together add 3 more: shared equally
    np.testing.assert_allclose(shapley(values), [6.5, -0.5, 0.0])


def test_attributions_add_up_to_the_paired_difference_in_every_replicate(neuss):
    comparison, attribution = neuss
    differences = comparison.differences().groupby(level="replicate").sum()
    npv = comparison.economics()["npv_eur_at_3_5pct"].droplevel("scenario")
    expected = {"npv_eur_at_3_5pct": npv, "cost_eur_total": differences["cost_eur_total"]}
    for outcome in OUTCOMES:
        values = attribution.values[outcome]
        assert values.shape == (3, 3)
        np.testing.assert_allclose(values.sum(axis=0), attribution.totals[outcome], rtol=1e-9, atol=1e-6)
        if outcome in expected:  # the total is the comparison's own paired difference
            np.testing.assert_allclose(attribution.totals[outcome], expected[outcome].to_numpy(), rtol=1e-9)
    assert np.abs(attribution.values["cost_eur_total"]).sum() > 0
    # a daily rate buys no places here: the price group begins no placement, in any replicate
    prices = [g.name for g in attribution.groups].index(PRICES)
    np.testing.assert_array_equal(attribution.values[PLACEMENTS_BEGUN][prices], 0.0)
    assert (attribution.values["npv_eur_at_3_5pct"][prices] > 0).all()  # a lower daily rate saves money
    table = attribution.table()
    assert set(table["group"]) == {"policy", "helps.intensive_familienhilfe", PRICES, "total"}
    assert table.loc[table["group"] == PRICES, "kind"].str.contains("not a programme effect").all()


def test_a_price_only_scenario_is_all_price():
    reference = tiny("baseline")
    rates = reference.with_values({"helps.heimerziehung_34.cost_per_day_eur": 215.41})
    priced = rates.with_values({"helps.vollzeitpflege_33.cost_per_month_eur": 1_500.0})
    priced = priced.model_copy(update={"name": "prices_only"})
    comparison = compare([reference, priced], replicates=2, seed=3, workers=1)
    (attribution,) = attribute(comparison, workers=1)
    assert [g.name for g in attribution.groups] == [PRICES]
    for outcome in OUTCOMES:
        np.testing.assert_allclose(attribution.values[outcome][0], attribution.totals[outcome], rtol=1e-12)
    np.testing.assert_array_equal(attribution.totals[PLACEMENTS_BEGUN], 0.0)
    # the same as the price part of the cost decomposition: no volume changed
    parts = comparison.cost_decomposition().groupby(level="replicate").sum()
    np.testing.assert_allclose(parts["cost_change_volume_eur"], 0.0, atol=1e-6)
    price = parts["cost_change_price_eur"] + parts["cost_change_interaction_eur"]
    np.testing.assert_allclose(attribution.values["cost_eur_total"][0], price.to_numpy(), rtol=1e-9)
    assert (attribution.totals["cost_eur_total"] < 0).all()


def test_a_scenario_that_changes_nothing_gets_zero_everywhere():
    reference = tiny("baseline")
    same = reference.with_values({"burden.reversion_per_month": reference.burden.reversion_per_month.value})
    same = same.model_copy(update={"name": "unchanged", "description": "only a new name"})
    (attribution,) = attribute(compare([reference, same], replicates=2, seed=3, workers=1), workers=1)
    assert attribution.groups == []
    table = attribution.table()
    assert list(table["group"]) == ["total"] * len(OUTCOMES)
    assert (table[["mean", "p05", "p95"]] == 0).all().all()


def test_compare_with_attribution_writes_attribution_csv_and_prints_the_table(tmp_path):
    write_tiny(tmp_path, "tiny")
    write_tiny(tmp_path, "tiny_neuss", extends=SCENARIOS / "neuss_ambulant.toml")
    args = ["compare", tmp_path / "tiny.toml", tmp_path / "tiny_neuss.toml", "--replicates", "2", "--workers", "1"]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--attribution", "--results", tmp_path / "out"]])
    assert result.exit_code == 0, result.output
    assert "Where the result of tiny_neuss comes from" in result.stdout
    assert "prices (a price, not a programme effect)" in result.stdout
    (folder,) = (tmp_path / "out").iterdir()
    table = pd.read_csv(folder / "attribution.csv")
    assert set(table["outcome"]) == set(OUTCOMES)
    for _, rows in table.groupby("outcome"):
        groups, total = rows[rows["group"] != "total"], rows[rows["group"] == "total"]
        assert math.isclose(groups["mean"].sum(), total["mean"].item(), rel_tol=1e-9, abs_tol=1e-6)
    assert (folder / "manifest.json").exists()
    # the briefing shows where the net present value comes from, in words with attribution.csv's numbers
    (tmp_path / "uncertainties.toml").write_text(UNCERTAINTIES, encoding="utf-8")
    report = [
        "report",
        folder,
        "--lang",
        "en",
        "--oat-replicates",
        "1",
        "--uncertainties",
        tmp_path / "uncertainties.toml",
    ]
    assert CliRunner().invoke(app, [str(a) for a in report]).exit_code == 0
    page = html.unescape((folder / BRIEFING_FILES["en"]).read_text(encoding="utf-8"))
    assert '<section id="attribution">' in page and "price (not an effect of the programme)" in page
    npv = table[table["outcome"] == "npv_eur_at_3_5pct"].set_index("group")["mean"] * 1e-6
    levers = npv.drop("total")
    largest = levers[np.sign(levers) == np.sign(npv["total"])].abs().max()
    said = re.search(r"Of (?:a net cost of )?([\d.]+) M EUR[^,]*, ([\d.]+) M EUR come from", page)
    assert said and ("net cost" in said[0]) == (npv["total"] < 0)  # a net cost is said as a cost
    assert [float(x) for x in said.groups()] == pytest.approx([abs(npv["total"]), largest], abs=0.0005)
