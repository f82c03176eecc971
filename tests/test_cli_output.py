"""The command line as a planner reads it: fast help, plain metavariables, tables that are never cropped,
results folders named after every scenario, helpful messages for common slips."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from model.cli import _short, app
from model.comparison import chance_standard_error, folder_name, replicates_for_chance

ROOT = Path(__file__).resolve().parent.parent
SEVEN = (
    "baseline",
    "osterode_prevention",
    "osterode_cost_steering",
    "niedersachsen_network",
    "combined",
    "neuss_ambulant",
    "austerity",
)
TINY = (
    '[district]\ninhabitants = { value = 3000, source = "test" }\n'  # 3,000 inhabitants, 1 + 2 years
    "[simulation]\nburn_in_years = 1\nhorizon_years = 2\n"
)


def _prevsim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """prevsim in its own process with stdout a pipe (not a terminal), as `prevsim ... > file` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
    )


def test_help_and_version_load_neither_the_model_nor_numba_nor_pandas():
    probe = (
        "import sys\nfrom typer.testing import CliRunner\nfrom model.cli import app\n"
        "for args in (['--help'], ['--version'], ['compare', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in ('numba', 'pandas', 'model.run', 'model.scenario', 'plotly') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_version_and_plain_metavariables():
    version = CliRunner().invoke(app, ["--version"])
    assert version.exit_code == 0
    assert re.fullmatch(r"prevsim \d+\.\d+\.\d+\S*\n", version.output)
    for command in ([], ["compare"], ["report"], ["run"], ["experiment"], ["bench"], ["calibrate"]):
        shown = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
        assert shown.exit_code == 0, shown.output
        assert not re.findall(r"<(bool|int|list|path|str)[^>]*>|\{\w+\}", shown.output), shown.output
    assert "SCENARIOS..." in CliRunner().invoke(app, ["compare", "--help"]).output


@pytest.fixture(scope="module")
def seven(tmp_path_factory) -> list[Path]:
    """Seven tiny scenarios: the project's seven, in a 3,000-inhabitant district over 1 + 2 years."""
    folder = tmp_path_factory.mktemp("seven")
    files = []
    for name in SEVEN:
        path = folder / f"{name}.toml"
        path.write_text(f'extends = "{(ROOT / "scenarios" / name).as_posix()}.toml"\n{TINY}', encoding="utf-8")
        files.append(path)
    return files


@pytest.mark.parametrize("columns", [None, "80"], ids=["piped", "COLUMNS=80"])
def test_compare_of_seven_scenarios_shows_every_column_and_cuts_no_cell(seven, tmp_path, columns):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | ({"COLUMNS": columns} if columns else {})
    args = ["compare", *map(str, seven), "--replicates", "2", "--workers", "1", "--results", str(tmp_path)]
    done = _prevsim(*args, env=env)
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert "…" not in output and "..." not in output.replace(" .. ", "")  # rich marks a cropped cell with …
    if columns:  # the tables' lines (a path in the closing "wrote" line is never broken)
        assert max(len(line) for line in output.splitlines() if line[:1] in "┏┃┡│└") <= int(columns)
    for name in SEVEN[1:]:
        assert output.count(name.replace("_", " ")) >= 3, name  # a column in each of the three tables
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith(folder_name(list(SEVEN)))
    table = pd.read_csv(folder / "comparison.csv", dtype={"year": str}).set_index(["scenario", "year", "figure"])
    for name in SEVEN[1:]:  # every scenario's numbers whole: mean, 5 % and 95 % of its total cost change
        row = table.loc[(name, "horizon", "cost_eur_total")]
        whole = _short(row["mean"] * 1e-6)
        assert re.search(rf"(^|\s){re.escape(whole)}(\s|$)", output, flags=re.M), (name, whole)
        interval = f"{_short(row['p05'] * 1e-6)} .. {_short(row['p95'] * 1e-6)}"
        assert interval in output, (name, interval)
    assert "warning:" in done.stderr and "rests on 2 replicates" in done.stderr  # too few for "chance it pays"


def test_results_folder_names_every_scenario_or_a_hash():
    assert folder_name(["baseline", "a", "b", "c", "d"]) == "compare-baseline-a-b-c-d"
    many = [f"scenario_with_a_long_name_{i}" for i in range(6)]
    name = folder_name(many)
    assert name.startswith("compare-scenario_with_a_long_name_0-and-5-more-") and len(name) < 80
    assert folder_name(many) != folder_name([*many[:-1], "other"])


def test_chance_it_pays_needs_enough_replicates():
    assert chance_standard_error(1.0, 4) > 0.15  # 4 of 4 is no certainty
    assert chance_standard_error(0.9, 20) > 0.05
    assert chance_standard_error(0.9, 50) < 0.05
    assert chance_standard_error(1.0, replicates_for_chance(1.0, 4)) < 0.06


def test_params_keeps_every_key_whole_for_grep():
    done = _prevsim("params", "scenarios/baseline.toml", env=os.environ | {"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert "helps.heimerziehung_34.cost_per_day_eur" in done.stdout
    assert "…" not in done.stdout


def test_a_bare_number_and_a_misspelt_file_get_a_hint(tmp_path):
    bare = tmp_path / "bare.toml"
    bare.write_text(
        f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n[district]\ninhabitants = 180000\n',
        encoding="utf-8",
    )
    done = CliRunner().invoke(app, ["validate", str(bare)])
    assert done.exit_code == 2 and done.exception is not None and isinstance(done.exception, SystemExit)
    assert "district.inhabitants: 180000: must be a number with its source: { value = 180000, source = " in done.output
    misspelt = CliRunner().invoke(app, ["validate", str(ROOT / "scenarios" / "osterode_preventon.toml")])
    assert misspelt.exit_code == 2
    assert f"did you mean {ROOT / 'scenarios' / 'osterode_prevention.toml'}?" in misspelt.output
