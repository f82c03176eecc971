"""The command line as a user calls it: run writes results and never overwrites; validate; params."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from model import cli
from model.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def write_small_scenario(folder: Path) -> Path:
    child = folder / "small.toml"
    baseline = (ROOT / "scenarios" / "baseline.toml").as_posix()
    child.write_text(
        f'name = "small"\ndescription = "a small district for tests"\nextends = "{baseline}"\n'
        "[simulation]\nstart_year = 2025\nhorizon_years = 2\nburn_in_years = 1\n"
        '[district]\ninhabitants = { value = 3000, source = "assumption: test size" }\n',
        encoding="utf-8",
    )
    return child


def test_run_writes_results_and_never_overwrites(tmp_path):
    scenario = write_small_scenario(tmp_path)
    out = str(tmp_path / "out")
    args = ["run", str(scenario), "--replicates", "2", "--seed", "3", "--workers", "1", "--results", out]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    folders = sorted((tmp_path / "out").iterdir())
    assert len(folders) == 2, "a second run must get its own folder"
    for folder in folders:
        assert folder.name.startswith("small-")
        assert {p.name for p in folder.iterdir()} == {"timeseries.parquet", "summary.csv", "manifest.json"}
    series = pd.read_parquet(folders[0] / "timeseries.parquet")
    assert list(series.columns) == ["replicate", "month", "metric", "value"]
    assert series["month"].max() == 23 and series["replicate"].nunique() == 2
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["seed"] == 3 and len(manifest["replicate_seeds"]) == 2
    assert len(manifest["scenario_content_hash"]) == 64 and manifest["packages"]["mesa"]
    summary = pd.read_csv(folders[0] / "summary.csv")
    assert {"figure", "year", "mean", "p05", "p95"} <= set(summary.columns)
    assert set(summary["year"].astype(str)) == {"2025", "2026", "horizon"}  # as comparison.csv names it
    summary = summary.dropna(subset=["mean"])  # e.g. mean duration of a help that never ended
    assert (summary["p05"] <= summary["mean"] + 1e-9).all() and (summary["mean"] <= summary["p95"] + 1e-9).all()
    assert "cases_heimerziehung_34" in first.output or "heimerziehung_34" in first.output


def test_validate_and_params_on_the_baseline():
    done = runner.invoke(app, ["validate", str(ROOT / "scenarios" / "baseline.toml")])
    assert done.exit_code == 0 and "ok:" in done.output
    table = runner.invoke(app, ["params", str(ROOT / "scenarios" / "baseline.toml"), "--markdown"])
    assert table.exit_code == 0
    assert "| `helps.heimerziehung_34.cost_per_day_eur` | EUR per day | 273.25 |" in table.output


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.strip().splitlines()[-1]
    assert command in readme


def test_bench_reports_throughput_and_refuses_bad_sizes(monkeypatch):
    done = runner.invoke(app, ["bench", "--sizes", "500,1000", "--months", "4", "--runs", "1", "--warmup", "0"])
    assert done.exit_code == 0, done.output
    assert "time ~ families^" in done.output and "(2.00 = linear)" in done.output
    # a large first size: the engine alone (the reference model would take hours)
    monkeypatch.setattr(cli.out, "width", 250)  # the table on one line per row
    large = runner.invoke(app, ["bench", "--sizes", "20000", "--months", "2", "--runs", "1", "--warmup", "0"])
    assert large.exit_code == 0, large.output
    assert "(not run above 10,000 families)" in large.output
    bad = runner.invoke(app, ["bench", "--sizes", "1000,ten"])
    assert bad.exit_code == 2
    assert "--sizes: '1000,ten': give whole numbers" in bad.output
