"""The shared past: the fork point, snapshots never reused for another past, results identical to full runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.comparison import compare
from model.experiment import LocalEvaluator, load_experiment, run_experiment
from model.past import PASTS, Pasts, fork_month, load_snapshot, past_key, run_shared
from model.scenario import Scenario
from model.simulation import DistrictModel
from tests.test_experiment import folder, latin_experiment, write  # noqa: F401 (the fixture)

START = 2025  # the baseline's start year; shrink() leaves 3 years of burn-in before it


def changed(scenario: Scenario, name: str, path: str, by_year: dict[int, float]) -> Scenario:
    """A copy named `name` whose number at `path` changes in the given years."""
    data = scenario.model_dump(mode="python")
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[last]["by_year"] = {**node[last].get("by_year", {}), **by_year}
    return Scenario.model_validate({**data, "name": name})


@pytest.fixture(scope="module")
def pair(small: Scenario) -> list[Scenario]:
    """The small baseline with a change in burn-in (both), and a variant that differs from 2027 on."""
    reference = changed(small, "reference", "burden.shock_hazard_per_month", {START - 2: 0.011})
    variant = changed(reference, "variant", "policy.diagnosed_placement_ratio", {START + 2: 0.75})
    return [reference, variant]


def test_the_fork_is_january_of_the_first_year_whose_numbers_differ(small, pair):
    assert fork_month(pair) == 24
    assert fork_month([small, small]) == 12 * small.simulation.horizon_years, "nothing differs: share everything"
    in_burn_in = changed(small, "early", "burden.shock_hazard_per_month", {START - 1: 0.02})
    assert fork_month([small, in_burn_in]) == -12, "a change in the burn-in's last year"
    everywhere = small.with_values({"burden.shock_hazard_per_month": 0.02})
    assert fork_month([small, everywhere]) == -36, "a number of the whole burn-in differs: nothing to share"
    fewer_helps = small.model_copy(update={"prevention": dict(list(small.prevention.items())[1:])})
    assert fork_month([small, fewer_helps]) == -36, "another catalogue: nothing to share"
    unchanged = small.burden.shock_hazard_per_month.value
    same_numbers = changed(small, "redundant", "burden.shock_hazard_per_month", {START + 1: unchanged})
    assert fork_month([small, same_numbers]) == 36, "a year of change that changes nothing is no fork"


def test_runs_from_a_shared_past_equal_full_runs_bit_for_bit(pair):
    shared = run_shared(pair, seed=11, pasts=Pasts())
    for scenario, values in zip(pair, shared, strict=True):
        assert values.tobytes() == DistrictModel(scenario, 11).run().values.tobytes()


def test_a_snapshot_is_never_reused_for_another_past(small, pair, tmp_path):
    pasts = Pasts(tmp_path)
    first = pasts.get(pair[0], 3, 24)
    assert pasts.get(pair[1], 3, 24) is first, "the variant's past until 2027 is the reference's"
    other_seed = pasts.get(pair[0], 4, 24)
    other_numbers = pasts.get(small, 3, 24)  # without the burn-in change
    assert (pasts.simulated, pasts.reused) == (3, 1)
    assert not np.array_equal(first.families["burden"], other_seed.families["burden"])
    assert not np.array_equal(first.families["burden"], other_numbers.families["burden"])
    assert past_key(pair[0], 3, 24) != past_key(pair[0], 3, 12), "another fork month: another past"

    # on disk: found again by a new process's cache, and a file holding another past is not taken for this one
    again = Pasts(tmp_path)
    assert again.get(pair[0], 3, 24).families["burden"].tobytes() == first.families["burden"].tobytes()
    assert (again.simulated, again.reused) == (0, 1)
    key, other = past_key(pair[0], 3, 24), past_key(small, 3, 24)
    shutil.copy(tmp_path / f"{other}.npz", tmp_path / f"{key}.npz")
    assert load_snapshot(tmp_path / f"{key}.npz", key) is None
    fresh = Pasts(tmp_path)
    assert fresh.get(pair[0], 3, 24).families["burden"].tobytes() == first.families["burden"].tobytes()
    assert fresh.simulated == 1


def written(comparison, out: Path) -> dict[str, bytes]:
    written_to = comparison.write(out)
    return {name: (written_to / name).read_bytes() for name in ("comparison.csv", "summary.csv", "timeseries.parquet")}


@pytest.mark.parametrize("workers", [1, 2])
def test_compare_writes_the_same_bytes_with_and_without_the_shared_past(pair, tmp_path, workers):
    full = compare(pair, replicates=3, seed=2, workers=workers, shared_past=False)
    forked = compare(pair, replicates=3, seed=2, workers=workers)
    assert written(forked, tmp_path / "forked") == written(full, tmp_path / "full")


def test_an_experiment_gives_the_same_runs_with_and_without_the_shared_past(folder, tmp_path):  # noqa: F811
    experiment = load_experiment(latin_experiment(folder, points=4, name="forked"))
    forked = run_experiment(experiment, tmp_path / "forked", LocalEvaluator(1))
    experiment.shared_past = False
    full = run_experiment(experiment, tmp_path / "full", LocalEvaluator(1))
    pd.testing.assert_frame_equal(forked, full, check_exact=True)


FROM_2025 = "factors_from_year = 2025\n"  # the tiny pair's start year, after one year of burn-in


@pytest.mark.parametrize("workers", [1, 2])
def test_an_experiment_with_factors_from_a_year_gives_the_same_runs_with_and_without_the_shared_past(
    folder,  # noqa: F811
    tmp_path,
    workers,
):
    experiment = load_experiment(latin_experiment(folder, points=6, name="from_2025", extra=FROM_2025))
    before = (PASTS.simulated, PASTS.reused)
    forked = run_experiment(experiment, tmp_path / "forked", LocalEvaluator(workers))
    if workers == 1:  # in this process: one past per seed for all 6 points (none if an earlier test kept them)
        simulated, reused = PASTS.simulated - before[0], PASTS.reused - before[1]
        assert simulated <= 2 and simulated + reused == 6 * 2, (simulated, reused)
    experiment.shared_past = False
    full = run_experiment(experiment, tmp_path / "full", LocalEvaluator(workers))
    pd.testing.assert_frame_equal(forked, full, check_exact=True)


def test_a_factor_acting_before_its_from_year_changes_the_past(folder):  # noqa: F811
    experiment = load_experiment(latin_experiment(folder, points=4, name="keys", extra=FROM_2025))
    points = [experiment.scenarios_at(point) for point in range(4)]
    assert fork_month(points[0]) == 12, "the pair parts in 2026 (tiny_more's budget)"
    assert experiment.parting_month(points[0]) == 0, "the drawn numbers hold from January 2025"
    assert len({past_key(p[0], 5, 0) for p in points}) == 1, "the design points share the burn-in"
    assert len({past_key(p[0], 5, 12) for p in points}) == 4, "but not 2025, which has their drawn numbers"
    for scenario, nominal in zip(points[0], experiment.scenarios, strict=True):
        drawn = scenario.prevention["familienhebamme"].protection_half_life_months
        assert drawn.at(START - 1) == nominal.prevention["familienhebamme"].protection_half_life_months.value
        assert drawn.at(START) != drawn.at(START - 1)

    text = latin_experiment(folder, points=4, name="keys_early", extra=FROM_2025).read_text()
    early = write(folder, "keys_early.toml", text.replace("high = 120\n", "high = 120\nfrom_year = 2024\n"))
    experiment = load_experiment(early)
    points = [experiment.scenarios_at(point) for point in range(4)]
    assert experiment.parting_month(points[0]) == -12, "a half-life drawn from 2024 on: no common past"
    assert len({past_key(p[0], 5, 0) for p in points}) == 4, "it acts in the burn-in: each point has its own past"


def test_microdata_is_refused_for_a_model_continued_from_a_past(pair):
    snapshot = Pasts().get(pair[0], 3, 24)
    with pytest.raises(ValueError, match="microdata needs the whole run"):
        DistrictModel(pair[1], 3, microdata=True, past=snapshot)
