"""What children gain, the societal perspective and the notes of comparison.csv: directions on the seed
programmes, exact zeros for a scenario that changes nothing, no ratio where nothing is avoided."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model import load_scenario
from model.cli import app
from model.comparison import compare, npv_key
from model.labels import words
from model.outcomes import (
    OUTCOMES,
    PER_FAMILY,
    SOCIETAL,
    FollowUpCosts,
    break_even_warning,
    endangered_months_per_case,
    per_family,
    societal_economics,
    with_notes,
)
from model.report import texts
from tests.conftest import BASELINE, ROOT, shrink, write_tiny

NPV = npv_key(0.035)


@pytest.fixture(scope="module")
def comparison():
    """Baseline, the Lower Saxony network, Neuss and a copy of the baseline: 10,000 inhabitants, 2 + 4 years."""
    scenarios = [
        shrink(load_scenario(ROOT / "scenarios" / f"{name}.toml"), 10_000, 2, 4)
        for name in ("baseline", "niedersachsen_network", "neuss_ambulant")
    ]
    same = scenarios[0].model_copy(update={"name": "same"})
    return compare([*scenarios, same], replicates=3, seed=2, workers=1)


@pytest.fixture(scope="module")
def table(comparison) -> pd.DataFrame:
    return comparison.table().set_index(["scenario", "year", "figure"])


def test_the_network_lowers_the_child_months_at_high_risk_without_help(table):
    months = table.loc[("niedersachsen_network", "horizon", "child_months_high_risk_without_help")]
    assert months["p95"] < 0  # in every replicate: it finds families who had no help
    assert table.loc[("niedersachsen_network", "horizon", "child_months_endangered"), "mean"] < 0
    assert table.loc[("niedersachsen_network", "horizon", "families_reached_by_prevention"), "p05"] > 0
    assert table.loc[("neuss_ambulant", "horizon", "placements_begun_resident"), "p95"] < 0


def test_a_scenario_identical_to_the_reference_gives_zero_for_every_figure_and_perspective(comparison, table):
    assert (comparison.outcome_differences().loc["same"] == 0).all().all()
    economics = comparison.economics().loc["same"]
    societal = [c for c in economics if c.endswith(SOCIETAL) and not c.startswith(("benefit", "savings_exceed"))]
    assert (economics[[*societal, NPV, "savings_pv_eur", "extra_spending_pv_eur"]] == 0).all().all()
    for figure in PER_FAMILY:  # nothing avoided: no ratio, and the note says why
        assert np.isnan(table.loc[("same", "horizon", figure), "mean"])
        assert table.loc[("same", "horizon", figure), "note"].startswith("not shown")
    for figure in ("benefit_cost_ratio", "savings_exceed_spending"):
        for name in (figure, figure + SOCIETAL):
            assert np.isnan(table.loc[("same", "horizon", name), "mean"])
            assert table.loc[("same", "horizon", name), "note"].startswith("n/a")


def test_a_net_cost_has_no_ratio_but_its_note(table):
    """The network's savings on late help are negative: a net cost, never a negative benefit-cost ratio."""
    assert table.loc[("niedersachsen_network", "horizon", "savings_pv_eur"), "mean"] < 0
    row = table.loc[("niedersachsen_network", "horizon", "benefit_cost_ratio")]
    assert row[["mean", "p05", "p95"]].isna().all() and row["note"].startswith("none: a net cost")
    assert table.loc[("niedersachsen_network", "horizon", NPV), "mean"] < 0  # the net cost, as a net cost


def test_the_societal_perspective_gains_when_placements_fall(comparison):
    """Neuss places fewer children in every replicate: counting follow-up costs per placement raises its NPV."""
    placements = comparison.outcome_differences().loc["neuss_ambulant", "placements_begun_resident"]
    assert (placements.groupby(level="replicate").sum() < 0).all()
    budget = comparison.economics().loc["neuss_ambulant", NPV]
    with_placements = societal_economics(comparison, FollowUpCosts(per_endangerment_eur=0, per_placement_eur=1e5))
    societal = with_placements.loc["neuss_ambulant", NPV + SOCIETAL]
    assert (societal > budget).all()
    none = societal_economics(comparison, FollowUpCosts(per_endangerment_eur=0, per_placement_eur=0))
    np.testing.assert_allclose(none.loc["neuss_ambulant", NPV + SOCIETAL], budget, rtol=1e-12)


def test_less_endangerment_avoids_follow_up_costs_and_finding_it_costs_nothing():
    differences = pd.DataFrame(
        {
            "child_months_endangered": [-20.0, 0.0, 10.0, 0.0],
            "endangerments_8a": [0.0, 0.0, 0.0, 5.0],  # found, not caused: no follow-up cost
            "placements_begun_resident": [0.0, -1.0, 0.0, 0.0],
        }
    )
    avoided = FollowUpCosts(per_endangerment_eur=300.0, per_placement_eur=50.0).avoided_eur(differences, 10.0)
    assert avoided.tolist() == [600.0, 50.0, -300.0, 0.0]
    assert FollowUpCosts.from_reference().per_endangerment_eur > 0
    reference = pd.DataFrame({"child_months_endangered": [30.0, 40.0], "endangerments_8a": [3.0, 4.0]})
    assert endangered_months_per_case(reference) == 10.0
    assert np.isnan(endangered_months_per_case(reference.assign(endangerments_8a=0.0)))


def test_per_family_figures_are_not_shown_when_nothing_is_avoided():
    rows = []
    for scenario, placements, se in (("avoids", -10.0, 1.0), ("noise", -1.0, 2.0), ("more", 5.0, 1.0)):
        for figure, mean, error in (
            ("placements_begun_resident", placements, se),
            ("families_reached_by_prevention", 0.0, 0.0),
            ("child_months_high_risk_without_help", -120.0, 10.0),
            ("extra_spending_eur", 1e5, 1e3),
            ("cost_eur_total", 5e5, 1e4),
        ):
            rows.append({"scenario": scenario, "year": "horizon", "figure": figure, "mean": mean, "se": error})
    table = pd.DataFrame(rows).set_index(["scenario", "year", "figure"])
    out = per_family(table, ["avoids", "noise", "more"], 3).set_index(["scenario", "figure"])
    assert out.loc[("avoids", "cost_per_placement_avoided_eur"), "mean"] == pytest.approx(5e4)
    assert out.loc[("avoids", "cost_per_child_year_high_risk_avoided_eur"), "mean"] == pytest.approx(5e4)
    for scenario in ("noise", "more"):  # within the noise, or more placements: NaN and a note, not a huge number
        assert np.isnan(out.loc[(scenario, "cost_per_placement_avoided_eur"), "mean"])
        assert out.loc[(scenario, "cost_per_placement_avoided_eur"), "note"].startswith("not shown")
    assert np.isnan(out.loc[("avoids", "cost_per_family_reached_eur"), "mean"])  # no family reached
    one = per_family(table, ["avoids"], 1)
    assert one["mean"].isna().all() and one["note"].str.contains("one replicate").all()


def test_a_break_even_interval_beyond_the_horizon_is_a_warning():
    def table(share: float, p05: float, p95: float) -> pd.DataFrame:
        rows = [
            ("s", "horizon", "break_even_share", share, np.nan, np.nan),
            ("s", "horizon", "break_even_year", 0, p05, p95),
        ]
        return pd.DataFrame(rows, columns=["scenario", "year", "figure", "mean", "p05", "p95"]).set_index(
            ["scenario", "year", "figure"]
        )

    assert "beyond the horizon" in break_even_warning(table(0.6, 2027, 2040), "s", 20, 2044)
    assert "as wide as the horizon" in break_even_warning(table(1.0, 2025, 2044), "s", 20, 2044)
    assert break_even_warning(table(1.0, 2027, 2031), "s", 20, 2044) == ""
    assert break_even_warning(table(0.0, np.nan, np.nan), "s", 20, 2044) == ""  # "never" says it


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_new_figure_has_a_label_in_both_languages(lang):
    figures = words(lang)["figures"]
    assert [f for f in [*OUTCOMES, *PER_FAMILY, "follow_up_savings_pv_eur", "societal"] if not figures.get(f)] == []
    t = texts(lang)
    keys = ("kf_price", "kf_npv_societal", "kf_bcr_societal", "children_title", "children_lead", "not_shown")
    assert [k for k in keys if not t.get(k)] == []
    assert ("gesamtgesellschaftliche Sicht" if lang == "de" else "societal perspective") in t["kf_npv_societal"]


def test_compare_shows_the_price_part_what_children_gain_and_the_societal_perspective(tmp_path):
    files = [
        write_tiny(tmp_path, "base"),
        write_tiny(tmp_path, "neuss", extends=BASELINE.parent / "neuss_ambulant.toml"),
    ]
    args = ["compare", *map(str, files), "--replicates", "2", "--workers", "1", "--results", str(tmp_path / "out")]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    shown = " ".join(done.stdout.split())  # a table's title may wrap
    for text in ("of which price", "What children gain", "societal perspective (adds follow-up costs outside youth"):
        assert text in shown
    (folder,) = (tmp_path / "out").iterdir()
    csv = pd.read_csv(folder / "comparison.csv", dtype={"year": str})
    assert "note" in csv and {"cost_change_price_eur", "npv_eur_at_3_5pct_societal"} <= set(csv["figure"])


def test_a_ratio_whose_low_end_is_a_net_cost_shows_no_negative_ratio():
    """Some replicates with negative savings: the ratio's mean stays, its low end is no ratio but a note."""
    rows = [("s", "horizon", "extra_spending_pv_eur", 1e6, np.nan, np.nan, np.nan)]
    rows += [("s", "horizon", "savings_pv_eur", 3e5, 1e5, -2e5, 9e5)]
    rows += [("s", "horizon", "follow_up_savings_pv_eur_societal", 0.0, 0.0, 0.0, 0.0)]
    for suffix in ("", SOCIETAL):
        rows += [("s", "horizon", "benefit_cost_ratio" + suffix, 0.3, 0.1, -0.2, 0.9)]
        rows += [("s", "horizon", "savings_exceed_spending" + suffix, 0.0, 0.0, 0.0, 0.0)]
    rows += [("s", "horizon", "break_even_share", 0.0, np.nan, np.nan, np.nan)]
    rows += [("s", "horizon", "break_even_year", np.nan, np.nan, np.nan, np.nan)]
    table = pd.DataFrame(rows, columns=["scenario", "year", "figure", "mean", "se", "p05", "p95"]).assign(p50=0.25)
    out = with_notes(table, 50, 20, 2044).set_index("figure")
    assert out.loc["benefit_cost_ratio", "mean"] == 0.3 and np.isnan(out.loc["benefit_cost_ratio", "p05"])
    assert out.loc["benefit_cost_ratio", "note"].startswith("the interval's low end is a net cost")
