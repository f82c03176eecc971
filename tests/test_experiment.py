"""Experiments: known indices of a test function, clear errors before any run, resume, Dask = local."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from model.cli import EXIT_BAD_INPUT, app
from model.experiment import DaskEvaluator, LocalEvaluator, analyze, load_experiment, run_experiment
from tests.conftest import ROOT, assert_clean_failure, write_tiny

PI = math.pi
ISHIGAMI = """name = "ishigami"
description = "test function"
model = "ishigami"
seed = 3
points_per_batch = 512
outcomes = ["y"]
[design]
method = "sobol"
samples = 1024
""" + "".join(
    f'[[uncertainties]]\npath = "x{i}"\nlow = {-PI}\nhigh = {PI}\nsource = "Ishigami & Homma 1990"\n' for i in (1, 2, 3)
)
# analytic indices of the Ishigami function with a = 7, b = 0.1
S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny district and a variant with more home visiting."""
    folder = tmp_path_factory.mktemp("experiment")
    write_tiny(folder, "tiny")
    more = "[prevention.familienhebamme]\nbudget_eur_per_year = { value = 60000, by_year = { 2026 = 240000 }, "
    more += 'source = "test" }\n'
    write_tiny(folder, "tiny_more", extra=more)
    return folder


def latin_experiment(folder: Path, points: int = 12, name: str = "latin", extra: str = "") -> Path:
    """Two uncertainties over the tiny pair; `extra`: more top-level keys."""
    return write(
        folder,
        f"{name}.toml",
        f'name = "{name}"\ndescription = "test"\nscenarios = ["tiny.toml", "tiny_more.toml"]\n'
        f"replicates = 2\nseed = 5\npoints_per_batch = 2\n{extra}"
        'outcomes = ["npv_eur_at_3_5pct", "begun_heimerziehung_34"]\n'
        f'[design]\nmethod = "latin"\nsamples = {points}\n'
        '[[uncertainties]]\npath = "prevention.familienhebamme.protection_half_life_months"\n'
        'low = 12\nhigh = 120\nsource = "test"\n'
        '[[uncertainties]]\npath = "helps.heimerziehung_34.cost_per_day_eur"\nrelative = true\n'
        'low = 0.8\nhigh = 1.3\nsource = "test"\n',
    )


def test_sobol_reproduces_the_ishigami_indices(tmp_path):
    text = ISHIGAMI.replace('method = "sobol"', 'method = "sobol"\nsecond_order = true')
    experiment = load_experiment(write(tmp_path, "ishigami.toml", text))
    runs = run_experiment(experiment, tmp_path / "out", LocalEvaluator(1))
    indices, second_order, notes = analyze(experiment, runs)
    assert not notes
    for row in indices.itertuples():
        assert abs(row.S1 - S1[row.parameter]) <= row.S1_conf, row
        assert abs(row.ST - ST[row.parameter]) <= row.ST_conf, row
    for row in second_order.itertuples():  # only x1 and x3 interact: S13 = ST3
        expected = ST["x3"] if (row.parameter_1, row.parameter_2) == ("x1", "x3") else 0.0
        assert abs(row.S2 - expected) <= row.S2_conf, row


BAD = {
    "no-such-number": (
        ("prevention.familienhebamme.protection_half_life_month", "12", "120"),
        "uncertainties[0].path: 'prevention.familienhebamme.protection_half_life_month' = 12: ",
    ),
    "probability-above-1": (("policy.placement_probability_level_4", "0.2", "1.5"), "less than or equal to 1"),
    "low-not-below-high": (("burden.reversion_per_month", "0.05", "0.01"), "uncertainties[0].high: 0.01: must be"),
    "from-year-outside": (
        ("burden.reversion_per_month", "0.01", "0.05\nfrom_year = 2030"),
        "uncertainties[0].from_year: 2030: outside the simulated years 2024-2026 (burn-in from 2024, reported from",
    ),
    "from-year-not-whole": (
        ("burden.reversion_per_month", "0.01", "0.05\nfrom_year = 2025.0"),
        "uncertainties.0.from_year: 2025.0: Input should be a valid integer",
    ),
}


@pytest.mark.parametrize("factor, expected", BAD.values(), ids=BAD.keys())
def test_a_bad_factor_is_named_before_any_run(folder, tmp_path, factor, expected):
    path, low, high = factor
    text = (
        latin_experiment(folder)
        .read_text()
        .replace("prevention.familienhebamme.protection_half_life_months", path)
        .replace("low = 12\nhigh = 120", f"low = {low}\nhigh = {high}")
    )
    bad = write(folder, "bad.toml", text)
    result = CliRunner().invoke(app, ["experiment", str(bad), "--results", str(tmp_path)])
    lines = assert_clean_failure(result, EXIT_BAD_INPUT)
    assert any(expected in line for line in lines) and all(line.startswith(f"{bad}: ") for line in lines), lines
    assert not list(tmp_path.iterdir()), "nothing may be written for a bad experiment"


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ('method = "latin"\nsamples = 12', 'method = "sobol"\nsamples = 100'),
            "design.samples: 100: Sobol needs a power of 2",
        ),
        (('method = "latin"\nsamples = 12', 'method = "morris"'), "design.trajectories: missing"),
        (('"begun_heimerziehung_34"', '"begun_heim"'), "outcomes[1]: 'begun_heim': unknown outcome"),
        (("seed = 5\n", "seed = 5\nfactors_from_year = 1990\n"), "factors_from_year: 1990: outside the simulated"),
        (("seed = 5\n", 'seed = 5\nfactors_from_year = "2025"\n'), "factors_from_year: '2025': Input should be"),
        (('scenarios = ["tiny.toml", "tiny_more.toml"]', 'scenarios = ["nope.toml"]'), "file does not exist"),
        (
            ('scenarios = ["tiny.toml", "tiny_more.toml"]', 'scenarios = ["tiny.toml", "tiny.toml"]'),
            "scenarios[1] (tiny.toml): name: 'tiny': given twice",
        ),
    ],
)
def test_a_bad_design_or_outcome_is_named(folder, change, expected):
    bad = write(folder, "bad.toml", latin_experiment(folder).read_text().replace(*change))
    result = CliRunner().invoke(app, ["experiment", str(bad)])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert expected in result.output


def test_killed_experiment_resumes_without_losing_or_repeating_runs(folder, tmp_path):
    path = latin_experiment(folder, points=16, name="resumable")
    command = [sys.executable, "-m", "model.cli", "experiment", str(path), "--workers", "1", "--results", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("resumable-*/runs/part-*.parquet"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    (run_folder,) = tmp_path.glob("resumable-*")
    before = {p.name: p.stat().st_mtime_ns for p in (run_folder / "runs").glob("part-*.parquet")}
    assert 3 <= len(before) < 8, "the kill should land part-way"
    for name in before:  # parts are written under a temporary name and renamed: every part is whole
        pd.read_parquet(run_folder / "runs" / name)

    resumed = CliRunner().invoke(
        app, ["experiment", str(path), "--workers", "1", "--resume", "--results", str(tmp_path)]
    )
    assert resumed.exit_code == 0, resumed.output
    after = {p.name: p.stat().st_mtime_ns for p in (run_folder / "runs").glob("part-*.parquet")}
    assert len(after) == 8
    assert all(after[name] == mtime for name, mtime in before.items()), "finished parts were run again"

    fresh = tmp_path / "fresh"
    whole = CliRunner().invoke(app, ["experiment", str(path), "--workers", "2", "--results", str(fresh)])
    assert whole.exit_code == 0, whole.output
    (fresh_folder,) = fresh.glob("resumable-*")
    pd.testing.assert_frame_equal(
        pd.read_csv(run_folder / "outcomes.csv"), pd.read_csv(fresh_folder / "outcomes.csv"), check_exact=True
    )
    again = CliRunner().invoke(app, ["experiment", str(path), "--resume", "--results", str(fresh)])
    assert again.exit_code == EXIT_BAD_INPUT, "a finished experiment is not resumed"


def test_a_dask_cluster_gives_the_same_runs_as_local_processes(folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    # the design points share their past (factors_from_year): each worker process reuses its snapshots
    experiment = load_experiment(latin_experiment(folder, points=4, name="on_dask", extra="factors_from_year = 2025\n"))
    local = run_experiment(experiment, tmp_path / "local", LocalEvaluator(1))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        evaluator = DaskEvaluator(cluster.scheduler_address)
        try:
            remote = run_experiment(experiment, tmp_path / "dask", evaluator)
        finally:
            evaluator.close()
    pd.testing.assert_frame_equal(local, remote, check_exact=True)


def test_grid_sweep_writes_heat_map_and_noise_share(folder, tmp_path):
    grid = write(
        folder,
        "grid.toml",
        'name = "grid"\ndescription = "test"\nscenarios = ["tiny.toml"]\nreplicates = 3\n'
        'outcomes = ["cost_eur_total", "begun_heimerziehung_34"]\n[design]\nmethod = "grid"\n'
        '[[levers]]\npath = "prevention.familienhebamme.budget_eur_per_year"\nvalues = [0, 120000]\nsource = "test"\n'
        '[[levers]]\npath = "detection.network_referral_hazard_ratio"\nvalues = [1.0, 1.5]\nsource = "test"\n',
    )
    result = CliRunner().invoke(app, ["experiment", str(grid), "--workers", "2", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (out,) = tmp_path.glob("grid-*")
    points = pd.read_csv(out / "point_outcomes.csv")
    assert len(points) == 4
    noise = pd.read_csv(out / "noise.csv").set_index("outcome")
    share = noise["noise_share_of_point_mean_variance"]
    assert share["cost_eur_total"] >= 0  # undefined (NaN) only where an outcome never varies, e.g. no Heim begun
    assert (share.dropna() >= 0).all()
    assert (out / "sweep-cost_eur_total.html").exists()


def test_validate_checks_experiment_files_without_running(folder, tmp_path):
    good = CliRunner().invoke(app, ["validate", str(latin_experiment(folder))])
    assert good.exit_code == 0, good.output
    said = " ".join(good.output.split())  # rich wraps long lines
    assert "experiment 'latin'" in said and "12 design points" in said
    text = latin_experiment(folder).read_text().replace("samples = 12", "samples = 100").replace("latin", "sobol")
    bad = CliRunner().invoke(app, ["validate", str(write(folder, "bad.toml", text))])
    assert bad.exit_code == EXIT_BAD_INPUT
    assert "design.samples: 100: Sobol needs a power of 2" in bad.output


@pytest.mark.parametrize("name", ["sobol_prevention", "morris_screening", "runs_per_second"])
def test_shipped_experiments_are_valid(name):
    result = CliRunner().invoke(app, ["validate", str(ROOT / "experiments" / f"{name}.toml")])
    assert result.exit_code == 0, result.output
