"""Parameter uncertainty: draws reproducible from the seed, the same for every scenario, independent of workers
and of the shared past; wider ranges give wider intervals; without it, results as before."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from model.cli import app
from model.run import replicate_seeds, simulate_many
from model.scenario import Range, Scenario
from model.uncertainty import drawn, drawn_values, inverse, quantile, uncertain_numbers
from tests.conftest import ROOT, shrink, write_tiny

START = 2025  # the baseline's start year
LEVEL_4 = "policy.placement_probability_level_4"
HEIM_COST = "helps.heimerziehung_34.cost_per_day_eur"
BOTH = "parameter uncertainty + replicate noise"  # the mode named in comparison.csv, manifest.json, console


def with_range(scenario: Scenario, path: str, name: str | None = None, **number: Any) -> Scenario:
    """A copy (named `name`) whose number at `path` is replaced by the table `number` (value, by_year,
    uncertainty)."""
    data = scenario.model_dump(mode="python")
    node = data
    for part in path.split("."):
        node = node[part]
    node.update(number)
    return Scenario.model_validate({**data, "name": name or scenario.name})


@pytest.fixture(scope="module")
def tiny(small: Scenario) -> Scenario:
    return shrink(small, 3_000, 1, 2)


@pytest.fixture(scope="module")
def programme(tiny: Scenario) -> Scenario:
    """A programme with an effect of its own: fewer placements at endangerment from 2026, with a range."""
    effect = {"distribution": "uniform", "low": 0.2, "high": 0.34, "of": "change", "source": "test"}
    return with_range(tiny, LEVEL_4, "programme", value=0.3407, by_year={START + 1: 0.27}, uncertainty=effect)


def test_draws_are_reproducible_from_the_seed_and_differ_between_seeds(baseline):
    assert drawn_values(baseline, 7) == drawn_values(baseline, 7)
    assert drawn_values(baseline, 7) != drawn_values(baseline, 8)
    assert len(uncertain_numbers(baseline)) >= 20  # effect sizes, protection half-lives, unit costs
    assert drawn(baseline, 7).helps["heimerziehung_34"].cost_per_day_eur.value == drawn_values(baseline, 7)[HEIM_COST]


def test_the_same_number_gets_the_same_draw_in_every_scenario(tiny, programme):
    for seed in replicate_seeds(1, 5):
        reference, alternative = drawn_values(tiny, seed), drawn_values(programme, seed)
        shared = set(reference) & set(alternative)
        assert len(shared) == len(reference)  # every number of the reference is drawn for the alternative too
        assert all(reference[path] == alternative[path] for path in shared)
        assert LEVEL_4 in alternative and LEVEL_4 not in reference  # the programme's own effect


def test_a_range_of_the_change_keeps_the_status_quo_and_the_ramp(tiny):
    ramp = {"value": 1.0, "by_year": {2026: 0.875, 2027: 0.75}}
    effect = {"distribution": "uniform", "low": 0.5, "high": 1.0, "of": "change", "source": "test"}
    scenario = with_range(tiny, "policy.diagnosed_placement_ratio", **ramp, uncertainty=effect)
    number = drawn_values(scenario, 3)["policy.diagnosed_placement_ratio"]
    p = drawn(scenario, 3).policy.diagnosed_placement_ratio
    assert p.value == 1.0  # the status quo (and so the shared past) is untouched
    assert p.by_year[2027] == pytest.approx(number)
    assert p.by_year[2026] == pytest.approx(1.0 + (number - 1.0) / 2)  # half of the change, as written


def test_a_range_of_the_value_moves_the_whole_path(tiny):
    path = {"value": 273.25, "by_year": {2026: 245.93}}
    level = {"distribution": "triangular", "low": 215.41, "high": 352.18, "peak": 273.25, "source": "test"}
    scenario = with_range(tiny, HEIM_COST, **path, uncertainty=level)
    p = drawn(scenario, 5).helps["heimerziehung_34"].cost_per_day_eur
    assert p.by_year[2026] / p.value == pytest.approx(245.93 / 273.25)  # the 10 % cut stays 10 %
    assert p.value == drawn_values(scenario, 5)[HEIM_COST] != 273.25


@given(st.floats(0, 1, exclude_max=True), st.floats(0, 1), st.sampled_from(["uniform", "triangular"]))
def test_a_draw_stays_within_its_range_and_rises_with_the_quantile(u, peak_share, distribution):
    peak = 2 + 3 * peak_share if distribution == "triangular" else None
    r = Range(distribution=distribution, low=2, high=5, peak=peak, source="test")
    assert 2 <= inverse(u, r) <= 5
    assert inverse(u, r) <= inverse(u + 0.01 * (1 - u), r)  # a higher quantile, still below 1


def test_quantiles_are_uniform_and_independent_between_numbers():
    seeds = replicate_seeds(11, 2_000)
    a = np.array([quantile(s, "a.b") for s in seeds])
    b = np.array([quantile(s, "a.c") for s in seeds])
    assert abs(a.mean() - 0.5) < 0.03 and abs(np.corrcoef(a, b)[0, 1]) < 0.1


def test_draws_are_the_same_for_any_worker_count_and_with_or_without_the_shared_past(tiny, programme):
    runs = [
        simulate_many([tiny, programme], 2, seed=3, workers=workers, shared_past=shared, uncertainty=True)
        for workers, shared in ((1, True), (2, True), (1, False))
    ]
    for other in runs[1:]:
        for mine, theirs in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(mine.values, theirs.values)
    plain = simulate_many([tiny, programme], 2, seed=3, workers=1)
    assert not np.array_equal(plain[0].values, runs[0][0].values)  # the draws did change the runs


def test_without_uncertainty_runs_are_those_of_a_plain_run(tiny):
    with_flag = simulate_many([tiny], 2, seed=4, workers=1, uncertainty=False)[0]
    plain = simulate_many([tiny], 2, seed=4, workers=1)[0]
    np.testing.assert_array_equal(with_flag.values, plain.values)
    assert with_flag.manifest()["uncertainty"] == "replicate noise only"


def interval(scenarios: list[Scenario], metric: str) -> float:
    """Width of the 90 % interval over replicates of the paired difference of `metric` summed over the horizon,
    with parameter uncertainty (read from the monthly records: comparison.csv's table takes longer)."""
    reference, alternative = simulate_many(scenarios, 6, seed=2, workers=1, uncertainty=True)
    column = reference.metrics.index(metric)
    horizon = slice(0, None)  # the records start at the start year
    difference = alternative.values[:, horizon, column].sum(axis=1) - reference.values[:, horizon, column].sum(axis=1)
    low, high = np.quantile(difference, [0.05, 0.95])
    return float(high - low)


@pytest.mark.parametrize(
    "path, value, by_year, narrow, wide, metric",
    [  # an effect of the programme's own, and a price (the same families, so only the price differs)
        (LEVEL_4, 0.3407, {START + 1: 0.3}, (0.3, 0.3000001), (0.0, 0.6814), "cost_eur.category.residential"),
        (HEIM_COST, 273.25, {}, (273.0, 273.5), (200.0, 350.0), "cost_eur.heimerziehung_34"),
    ],
    ids=["effect", "price"],
)
def test_a_wider_range_gives_a_wider_interval(tiny, path, value, by_year, narrow, wide, metric):
    def programme(low_high: tuple[float, float]) -> Scenario:
        effect = {"distribution": "uniform", "low": low_high[0], "high": low_high[1], "source": "test"}
        if path == LEVEL_4:
            effect["of"] = "change"
        return with_range(tiny, path, "programme", value=value, by_year=by_year, uncertainty=effect)

    reference = with_range(tiny, HEIM_COST, value=273.25, uncertainty=None)  # the price level fixed
    assert interval([reference, programme(wide)], metric) > 2 * interval([reference, programme(narrow)], metric)


def test_cli_compare_with_uncertainty_says_so_and_writes_the_draws(tmp_path):
    reference = write_tiny(tmp_path, "tiny")
    programme = write_tiny(tmp_path, "tiny_programme", ROOT / "scenarios" / "osterode_prevention.toml")
    args = ["compare", reference, programme, "--replicates", "2", "--workers", "1", "--uncertainty"]
    result = CliRunner().invoke(app, [*map(str, args), "--results", str(tmp_path / "results")])
    assert result.exit_code == 0, result.output
    assert f"Uncertainty covered: {BOTH}" in result.output
    (folder,) = (tmp_path / "results").iterdir()
    assert json.loads((folder / "manifest.json").read_text())["uncertainty"] == BOTH
    table = pd.read_csv(folder / "comparison.csv")
    assert (table["uncertainty"] == BOTH).all()
    before = table[(table["year"] == str(START)) & ~table["figure"].str.startswith("cost_eur")]
    assert (before[["mean", "p05", "p95"]] == 0).all().all()  # the programme begins in 2026: same past, same draws
    draws = pd.read_csv(folder / "parameter_draws.csv").pivot_table("value", ["replicate", "parameter"], "scenario")
    shared = draws.dropna()
    assert len(shared) == 2 * 31 and (shared["tiny"] == shared["tiny_programme"]).all()


def test_cli_compare_with_briefing_draws_by_default(tmp_path, monkeypatch):
    import model.cli

    monkeypatch.setattr(model.cli, "report", lambda folder, workers: None)  # the briefing itself: tests/test_report.py
    reference = write_tiny(tmp_path, "tiny")
    programme = write_tiny(tmp_path, "tiny_programme", ROOT / "scenarios" / "osterode_prevention.toml")
    args = ["compare", reference, programme, "--replicates", "1", "--workers", "1", "--briefing"]
    result = CliRunner().invoke(app, [*map(str, args), "--results", str(tmp_path / "results")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "results").iterdir()
    assert json.loads((folder / "manifest.json").read_text())["uncertainty"] == BOTH
