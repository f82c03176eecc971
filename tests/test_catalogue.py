"""Helps are known by their roles and statistics categories, not by their names: a scenario that renames the
baseline's helps and adds one runs through `run`, `compare` and the briefing."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from model import load_scenario
from model.cli import app
from model.parameters import Catalogue
from tests.conftest import BASELINE

RENAMED = {"heimerziehung_34": "heim", "vollzeitpflege_33": "pflegefamilie", "inobhutnahme_42": "obhut"}
EINGLIEDERUNGSHILFE = """
[helps.eingliederung]
label = "Eingliederungshilfe bei seelischer Behinderung (§ 35a)"
mean_duration_months = { value = 18, source = "test" }
weight_by_age_band = { value = [1, 2, 2, 0], source = "test" }
choice_weight_ratio_transfer_benefits = { value = 1.0, source = "test" }
category = "ambulant"
access = "help_plan"
counts_as_hze = false
statistic = "eingliederungshilfe_35a"
cost_per_month_eur = { value = 900, source = "test" }
duration_cv = { value = 0.6, source = "test" }
levels = [3, 4]
burden_relief_per_month = { value = 0.02, source = "test" }
"""


@pytest.fixture
def renamed(tmp_path: Path) -> Path:
    """The baseline, small and short, with three helps renamed and a §35a help added."""
    text = BASELINE.read_text(encoding="utf-8")
    for old, new in RENAMED.items():
        text = text.replace(f"[helps.{old}]", f"[helps.{new}]").replace(
            f'residential_help = "{old}"', f'residential_help = "{new}"'
        )
    text = re.sub(r'^name = "baseline"', 'name = "renamed"', text, flags=re.M)
    text = re.sub(r"^inhabitants = \{ value = [\d_]+", "inhabitants = { value = 10_000", text, flags=re.M)
    text = re.sub(r"^burn_in_years = \d+", "burn_in_years = 2", text, flags=re.M)
    text = re.sub(r"^horizon_years = \d+", "horizon_years = 3", text, flags=re.M)
    path = tmp_path / "renamed.toml"
    path.write_text(text + EINGLIEDERUNGSHILFE, encoding="utf-8")
    (tmp_path / "cheaper.toml").write_text(
        'extends = "renamed.toml"\nname = "cheaper"\ndescription = "test"\n'
        '[helps.heim]\ncost_per_day_eur = { value = 200, source = "test" }\n'
        '[prevention.familienhebamme]\nbudget_eur_per_year = { value = 300_000, source = "test" }\n',
        encoding="utf-8",
    )
    return path


def test_roles_and_categories_come_from_the_catalogue(renamed: Path):
    catalogue = Catalogue.of(load_scenario(renamed))
    assert catalogue.helps_in_role("out_of_home") == ("pflegefamilie", "heim", "ise_35", "obhut")
    assert catalogue.helps_in_role("crisis") == ("obhut",)
    assert "eingliederung" in catalogue.helps_in_role("ambulant")
    assert catalogue.helps_counted_as("heimerziehung_34") == ("heim",)
    assert catalogue.helps_counted_as("eingliederungshilfe_35a") == ("eingliederung",)


def test_run_compare_and_briefing_of_renamed_helps(renamed: Path, tmp_path: Path):
    runner = CliRunner()
    run = runner.invoke(app, ["run", str(renamed), "--replicates", "1", "--workers", "1", "--results", str(tmp_path)])
    assert run.exit_code == 0 and run.exception is None, run.output
    summary = pd.read_csv(next(tmp_path.glob("renamed-*")) / "summary.csv")
    assert {"cases_heim", "cases_heimerziehung_34", "cases_eingliederungshilfe_35a"} <= set(summary["figure"])
    args = ["compare", str(renamed), str(tmp_path / "cheaper.toml"), "--replicates", "2", "--workers", "1"]
    compared = runner.invoke(app, [*args, "--results", str(tmp_path / "compared"), "--briefing"])
    assert compared.exit_code == 0 and compared.exception is None, compared.output
    folder = next((tmp_path / "compared").iterdir())
    figures = set(pd.read_csv(folder / "comparison.csv")["figure"])
    assert {"begun_heim", "begun_heimerziehung_34", "cases_eingliederung", "cases_eingliederungshilfe_35a"} <= figures
    briefing = next(folder.glob("*.html")).read_text(encoding="utf-8")
    assert "Heimerziehung" in briefing


def test_a_help_named_like_a_category_is_counted_in_it(renamed: Path, tmp_path: Path):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        'extends = "renamed.toml"\nname = "wrong"\ndescription = "test"\n[helps.spfh_31]\nstatistic = "none"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["validate", str(wrong)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "helps.spfh_31" in result.output and "statistic = 'spfh_31'" in result.output
