"""A calibrated district's parameter sets (`model.ensemble`): `compare --uncertainty` draws one per replicate by
weight, the same for every scenario; a programme's change to a fitted number keeps its ratio; a bad ensemble
file gets one line per problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model.cli import app
from model.ensemble import Ensemble, parameter_value
from model.run import replicate_seeds, simulate_many
from model.scenario import Scenario, load_scenario
from tests.conftest import ROOT, assert_clean_failure, shrink, write_tiny

SHOCK = "burden.shock_hazard_per_month"
LEVEL_4 = "policy.placement_probability_level_4"
HEIM_WEIGHTS = "helps.heimerziehung_34.weight_by_age_band"
runner = CliRunner()


def one_set(factors: tuple[float, ...], paths: tuple[str, ...] = (SHOCK,)) -> Ensemble:
    """An ensemble whose best set (the written scenario) carries no weight: every replicate draws `factors`."""
    return Ensemble("test.ensemble.csv", paths, (0, 1), (0.0, 1.0), ((1.0,) * len(paths), factors))


def write_ensemble(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_drawn_set_moves_the_district_and_keeps_a_programmes_ratio(baseline: Scenario) -> None:
    level_4 = baseline.policy.placement_probability_level_4.value
    ensemble = one_set((1.5, 2.0), (LEVEL_4, HEIM_WEIGHTS))
    programme = baseline.with_values({LEVEL_4: 0.85 * level_4})  # a programme that lowers it by 15 %
    district, on_programme = (ensemble.applied(s, seed=3) for s in (baseline, programme))
    assert district.policy.placement_probability_level_4.value == pytest.approx(1.5 * level_4)
    assert on_programme.policy.placement_probability_level_4.value == pytest.approx(1.5 * 0.85 * level_4)
    weights = baseline.helps["heimerziehung_34"].weight_by_age_band.value
    assert district.helps["heimerziehung_34"].weight_by_age_band.value == pytest.approx([2 * w for w in weights])
    assert one_set((10.0,), (LEVEL_4,)).applied(
        baseline, 3
    ).policy.placement_probability_level_4.value == pytest.approx(1.0)


def test_sets_are_drawn_by_weight() -> None:
    ensemble = Ensemble("e.csv", (SHOCK,), (0, 1), (0.25, 0.75), ((1.0,), (2.0,)))
    rows = [ensemble.row(seed) for seed in replicate_seeds(1, 4000)]
    assert np.mean(rows) == pytest.approx(0.75, abs=0.03)
    assert rows[:50] == [ensemble.row(seed) for seed in replicate_seeds(1, 50)]  # reproducible from the seed


def test_runs_draw_the_set_for_every_scenario(small: Scenario) -> None:
    """A run that draws a set is the run of the scenario with that set's values, for the district and a programme
    alike (the draws of the ranges unchanged)."""
    tiny = shrink(small, 3_000, 1, 2)
    programme = tiny.with_values({"prevention.familienhebamme.budget_eur_per_year": 120_000}).model_copy(
        update={"name": "programme"}
    )
    shock = tiny.burden.shock_hazard_per_month.value
    drawn = simulate_many([tiny, programme], 2, 9, 1, uncertainty=True, ensemble=one_set((1.4,)))
    moved = [s.with_values({SHOCK: 1.4 * shock}) for s in (tiny, programme)]
    expected = simulate_many(moved, 2, 9, 1, uncertainty=True)
    plain = simulate_many([tiny], 2, 9, 1, uncertainty=True)[0]
    for got, want in zip(drawn, expected, strict=True):
        np.testing.assert_array_equal(got.values, want.values)
        assert parameter_value(got.scenario_of(1), SHOCK) == pytest.approx(1.4 * shock)
    assert not np.array_equal(drawn[0].values, plain.values)


def test_compare_with_uncertainty_draws_the_ensemble_next_to_the_district(tmp_path: Path, baseline: Scenario) -> None:
    reference = write_tiny(tmp_path, "tiny")
    shock = baseline.burden.shock_hazard_per_month.value
    write_ensemble(
        tmp_path / "tiny.ensemble.csv",
        [
            {"trial": 0, "loss": 1.0, "weight": 0.5, SHOCK: shock},
            {"trial": 8, "loss": 1.5, "weight": 0.5, SHOCK: 1.5 * shock},
        ],
    )
    programme = ROOT / "scenarios" / "osterode_prevention.toml"
    args = [reference, "--programme", programme, "--replicates", 4, "--workers", 1, "--results", tmp_path / "out"]
    done = runner.invoke(app, ["compare", *map(str, args), "--uncertainty"])
    assert done.exit_code == 0, done.output
    assert "drawn per replicate from" in done.output and "2 parameter sets" in done.output
    (folder,) = (tmp_path / "out").iterdir()
    assert json.loads((folder / "manifest.json").read_text())["ensemble"]["parameter_sets"] == 2
    assert pd.read_csv(folder / "comparison.csv")["uncertainty"].str.endswith("tiny.ensemble.csv").all()
    draws = pd.read_csv(folder / "parameter_draws.csv")
    sets = draws[draws["of"] == "ensemble"].pivot_table("value", "replicate", "scenario")
    ensemble = Ensemble.load(tmp_path / "tiny.ensemble.csv", load_scenario(reference))
    expected = [(1.0, 1.5)[ensemble.row(seed)] * shock for seed in replicate_seeds(1, 4)]
    assert 1.5 * shock in expected and shock in expected  # both sets drawn: the test can see a missing draw
    for scenario in ("tiny", "osterode_prevention"):
        assert sets[scenario].tolist() == pytest.approx(expected)
    plain = runner.invoke(app, ["compare", *map(str, args), "--no-uncertainty"])
    assert plain.exit_code == 0 and "drawn per replicate" not in plain.output


@pytest.mark.parametrize(
    "row, problem",
    [
        ({"trial": 0, "loss": 1.0, SHOCK: 0.02}, "column 'weight' missing"),
        ({"trial": 0, "loss": 1.0, "weight": 1.0, "burden.no_such_number": 0.02}, "'burden.no_such_number': tiny has"),
        ({"trial": 0, "loss": 1.0, "weight": "much", SHOCK: 0.02}, "row 2, column 'weight': 'much': must be"),
        ({"trial": 0, "loss": 1.0, "weight": 1.0, SHOCK: 0}, "row 2, column 'burden.shock_hazard_per_month': 0:"),
        ({"trial": 0, "loss": 1.0, "weight": 0.0, SHOCK: 0.02}, "column 'weight': all 0"),
    ],
)
def test_a_bad_ensemble_file_is_named_line_by_line(tmp_path: Path, row: dict, problem: str) -> None:
    reference = write_tiny(tmp_path, "tiny")
    write_ensemble(tmp_path / "tiny.ensemble.csv", [row])
    programme = ROOT / "scenarios" / "osterode_prevention.toml"
    done = runner.invoke(app, ["compare", str(reference), "--programme", str(programme), "--uncertainty"])
    (line,) = assert_clean_failure(done, 2)
    assert line.startswith(str(tmp_path / "tiny.ensemble.csv")) and problem in line, line


@pytest.mark.parametrize("csv", sorted((ROOT / "scenarios").glob("*.ensemble.csv")), ids=lambda p: p.name)
def test_a_shipped_ensemble_belongs_to_its_scenario(csv: Path) -> None:
    """The best row holds the written scenario's values (a vector's factor 1): a scenario re-calibrated without
    its ensemble, or the reverse, fails here."""
    scenario = load_scenario(csv.with_name(csv.name.replace(".ensemble.csv", ".toml")))
    ensemble = Ensemble.load(csv, scenario)
    best = pd.read_csv(csv).iloc[0]
    for path in ensemble.paths:
        written = parameter_value(scenario, path)
        assert best[path] == pytest.approx(written, rel=1e-5), (path, best[path], written)


def test_a_series_by_year_is_drawn_and_reported_as_a_factor_on_the_whole_series() -> None:
    """The district's arrivals follow the national series: a drawn set scales every year alike, and
    parameter_draws.csv reports the factor (not the series' first year) and says so."""
    scenario = load_scenario(ROOT / "scenarios" / "freudenstadt.toml")
    arrivals = "unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year"
    ensemble = one_set((1.25,), (arrivals,))
    drawn = ensemble.applied(scenario, seed=7).unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year
    written = scenario.unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year
    for year in (2009, 2015, 2024):
        assert drawn.at(year) == pytest.approx(1.25 * written.at(year))
    (row,) = ensemble.draws(scenario, [7]).to_dict("records")
    assert row["value"] == pytest.approx(1.25) and "factor on the series by year" in row["source"]
