"""Scenario discovery: PRIM finds a planted box; the command reads an experiment folder and refuses bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model.cli import EXIT_BAD_INPUT, app
from model.discover import discover
from tests.conftest import ROOT, assert_clean_failure, write_tiny
from tests.test_charts import assert_offline_html

runner = CliRunner()


def planted(points: int = 600, seed: int = 7) -> pd.DataFrame:
    """Design points of four parameters in [0, 1]; the outcome is negative (with noise) iff x1 < 0.3 and x2 > 0.6."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((points, 4)), columns=["x1", "x2", "x3", "x4"])
    inside = (x["x1"] < 0.3) & (x["x2"] > 0.6)
    x["npv"] = np.where(inside, -1.0, 1.0) + rng.normal(0.0, 0.3, points)
    return x


def test_prim_recovers_a_planted_box():
    points = planted()
    found = discover(points, ["x1", "x2", "x3", "x4"], "npv", 0.0, below=True)
    first = found.boxes[found.boxes["box"] == 1].set_index("parameter")
    assert set(first.index) == {"x1", "x2"}  # the noise parameters x3, x4 stay free
    assert list(first["restricted"]) == ["upper", "lower"]  # x1 from below 0.3, x2 from above 0.6
    assert first.loc["x1", "upper"] == pytest.approx(0.3, abs=0.05)
    assert first.loc["x2", "lower"] == pytest.approx(0.6, abs=0.05)
    assert first["coverage"].iloc[0] > 0.8 and first["density"].iloc[0] > 0.8
    assert first.loc["x1", "quasi_p_upper"] < 0.05 and first.loc["x2", "quasi_p_lower"] < 0.05
    trajectory = found.peeling[found.peeling["box"] == 1]
    assert trajectory["chosen"].sum() == 1 and trajectory["density"].iloc[0] < 0.3  # peeling starts from all points
    assert first["coverage"].iloc[0] == first["points_of_interest_in_box"].iloc[0] / found.of_interest
    assert found.of_interest == (points["npv"] < 0).sum() and found.condition == "npv < 0"
    # with weak restrictions kept, the box restricts at least as much; dropping them kept the density wanted
    kept = discover(points, ["x1", "x2", "x3", "x4"], "npv", 0.0, below=True, all_restrictions=True)
    assert set(first.index) <= set(kept.boxes.loc[kept.boxes["box"] == 1, "parameter"])
    dropped = found.peeling[found.peeling["restrictions_dropped"]]
    assert (dropped["density"] >= 0.8).all()


def test_no_dense_box_is_said_not_invented():
    rng = np.random.default_rng(3)
    points = pd.DataFrame(rng.random((300, 2)), columns=["a", "b"]).assign(y=rng.normal(size=300))
    found = discover(points, ["a", "b"], "y", 0.0, below=True, density=0.9)
    assert found.boxes.empty and "no box reaches a density of 90%" in found.notes[0]


@pytest.fixture(scope="module")
def experiment_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real experiment folder: 16 design points of two tiny scenarios (Neuss's lower §34 daily rate), the
    daily rate and a number without effect varied."""
    folder = tmp_path_factory.mktemp("discover")
    write_tiny(folder, "tiny")
    write_tiny(folder, "tiny_neuss", extends=ROOT / "scenarios" / "neuss_ambulant.toml")
    (folder / "latin.toml").write_text(
        'name = "latin"\ndescription = "test"\nscenarios = ["tiny.toml", "tiny_neuss.toml"]\nreplicates = 1\n'
        'seed = 5\npoints_per_batch = 8\noutcomes = ["npv_eur_at_3_5pct", "begun_heimerziehung_34"]\n'
        '[design]\nmethod = "latin"\nsamples = 16\n'
        '[[uncertainties]]\npath = "prevention.familienhebamme.protection_half_life_months"\n'
        'low = 12\nhigh = 120\nsource = "test"\n'
        '[[uncertainties]]\npath = "helps.heimerziehung_34.cost_per_day_eur"\nrelative = true\nlow = 0.8\n'
        'high = 1.3\nsource = "test"\n',
        encoding="utf-8",
    )
    args = ["experiment", folder / "latin.toml", "--workers", "1", "--results", folder / "out"]
    assert runner.invoke(app, [str(a) for a in args]).exit_code == 0
    (experiment,) = (folder / "out").iterdir()
    return experiment


def test_discover_writes_boxes_and_trajectory_into_a_new_folder(experiment_folder):
    points = pd.read_csv(experiment_folder / "point_outcomes.csv")
    median = float(points["npv_eur_at_3_5pct"].median())
    args = ["discover", str(experiment_folder), "--outcome", "npv_eur_at_3_5pct", "--below", str(median)]
    first = runner.invoke(app, [*args, "--density", "0.5"])
    assert first.exit_code == 0, first.output
    assert "8 of 16 design points have npv_eur_at_3_5pct <" in first.stdout
    second = runner.invoke(app, args)  # a second run never overwrites the first
    assert second.exit_code == 0, second.output
    written = sorted(experiment_folder.glob("discovery-npv_eur_at_3_5pct-below-*"))
    assert len(written) == 2
    for folder in written:
        assert {p.name for p in folder.iterdir()} == {"discovery.csv", "peeling.csv", "discovery.html", "manifest.json"}
        assert_offline_html(folder / "discovery.html")
        peeling = pd.read_csv(folder / "peeling.csv")
        assert {"coverage", "density", "mass", "chosen"} <= set(peeling.columns)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--outcome", "npv", "--below", "0"], "--outcome: 'npv': not an outcome of this experiment; allowed: "),
        (["--below", "0"], "--outcome: missing; allowed: npv_eur_at_3_5pct, begun_heimerziehung_34"),
        (["--outcome", "npv_eur_at_3_5pct", "--below", "1e12"], "--below 1e+12: outside the range of"),
        (["--outcome", "npv_eur_at_3_5pct"], "--below X or --above X: give exactly one"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(experiment_folder, args, expected):
    (line,) = assert_clean_failure(runner.invoke(app, ["discover", str(experiment_folder), *args]), EXIT_BAD_INPUT)
    assert line.startswith(expected), line


def test_a_folder_that_is_no_experiment_or_has_no_runs_is_refused(tmp_path, experiment_folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder, expected in [
        (tmp_path / "missing", "not a folder"),
        (empty, "manifest.json: not readable"),
    ]:
        (line,) = assert_clean_failure(runner.invoke(app, ["discover", str(folder), "--below", "0"]), EXIT_BAD_INPUT)
        assert expected in line, line
    started = tmp_path / "started"
    started.mkdir()
    for name in ("manifest.json", "design.csv"):
        (started / name).write_bytes((experiment_folder / name).read_bytes())
    (line,) = assert_clean_failure(runner.invoke(app, ["discover", str(started), "--below", "0"]), EXIT_BAD_INPUT)
    assert "no runs yet" in line, line
