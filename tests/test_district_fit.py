"""`prevsim calibrate`: a district simulated with known parameters is recovered from its own statistics."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from model import load_scenario, simulate
from model.cli import app
from model.district import load_district
from model.district_fit import model_figures

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
SHOCK = "burden.shock_hazard_per_month"
YEARS = (2021, 2022, 2023)
INHABITANTS = 50_000  # large enough that a year's counts are within a few % of their mean
runner = CliRunner()


def district_from_model(folder: Path, known: dict[str, float], seed: int = 777, replicates: int = 4) -> Path:
    """A district file (in `folder`/districts, extending `folder`/baseline.toml as the real ones do) whose figures
    are the statistics of a simulated district with `known` parameter values: counts per year (the mean of
    `replicates` runs, rounded as the statistics publish them)."""
    shutil.copy(BASELINE, folder / "baseline.toml")
    base = load_scenario(BASELINE).with_values({"district.inhabitants": INHABITANTS, **known})
    simulation = base.simulation.model_copy(update={"start_year": YEARS[0], "horizon_years": len(YEARS)})
    result = simulate(base.model_copy(update={"simulation": simulation}), replicates=replicates, seed=seed, workers=1)
    mean = model_figures(result).groupby(level="year").mean()
    under_21 = INHABITANTS * base.district.under_21_share.value
    source = 'source = "simulated district (tests/test_district_fit.py)"'

    def series(rate_column: str, scale: float) -> str:
        return (
            "["
            + ", ".join(f"{{ value = {round(mean.loc[y, rate_column] * scale)}, year = {y}, {source} }}" for y in YEARS)
            + "]"
        )

    per_10k = under_21 / 10_000
    lines = [
        'name = "simulated"',
        'description = "a district simulated with known parameters"',
        'district_name = "Simulated district"',
        'extends = "../baseline.toml"',
        "[population]",
        f"inhabitants = {{ value = {INHABITANTS}, year = {YEARS[-1]}, {source} }}",
        f"under_21 = {{ value = {round(under_21)}, year = {YEARS[-1]}, {source} }}",
        "[cases]",
        *(f"{s} = {series(f'cases_{s}', per_10k)}" for s in ("erziehungsberatung_28", "spfh_31", "heimerziehung_34")),
        "[begun]",
        f"heimerziehung_34 = {series('begun_per_10k_heimerziehung_34', per_10k)}",
    ]
    (folder / "districts").mkdir(exist_ok=True)
    path = folder / "districts" / "simulated.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def calibrate(*args: object):
    return runner.invoke(app, ["calibrate", *(str(a) for a in args)])


def test_recovery_of_a_simulated_district(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's "done when": known shock hazard (1.3 x the national fit) recovered within the ensemble's range,
    every figure within +-10 %; the written scenario loads and carries the district's inputs. About 40 s."""
    known = 1.3 * load_scenario(BASELINE).burden.shock_hazard_per_month.value
    monkeypatch.chdir(tmp_path)  # a district file extends ../baseline.toml: allowed below the current folder
    district = district_from_model(tmp_path, {SHOCK: known})
    done = calibrate(district, "--fit", SHOCK, "--max-trials", 36, "--replicates", 3, "--seed", 5, "--out", tmp_path)
    assert done.exit_code == 0, done.output
    ensemble = pd.read_csv(tmp_path / "simulated.ensemble.csv")
    assert ensemble[SHOCK].min() <= known <= ensemble[SHOCK].max(), ensemble
    assert abs(ensemble["weight"].sum() - 1) < 1e-9 and ensemble["loss"].is_monotonic_increasing
    fitted = load_scenario(tmp_path / "simulated.toml")
    assert fitted.burden.shock_hazard_per_month.value == pytest.approx(ensemble[SHOCK].iloc[0], rel=1e-5)
    assert "calibrated to" in fitted.burden.shock_hazard_per_month.source
    assert fitted.district.inhabitants.value == INHABITANTS and fitted.district.name == "Simulated district"
    assert "plotly" in (tmp_path / "simulated.fit.html").read_text(encoding="utf-8")
    deviations = [
        line for line in done.output.splitlines() if line.startswith("│ ") and line.rstrip(" │").endswith("%")
    ]
    assert len(deviations) == 4, done.output  # the table of means over the years: one row per figure
    for line in deviations:  # every figure within +-10 % (mean over its years)
        assert abs(float(line.rstrip(" │%").split("│")[-1])) <= 10, line


def test_a_fit_that_misses_writes_no_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Residential cases ten times the model's reach with the placement policy fixed: the miss is named, exit 3,
    only the report is written; --accept-misfit writes the scenario, and a second run refuses to overwrite."""
    monkeypatch.chdir(tmp_path)
    district = district_from_model(tmp_path, {}, replicates=1)
    lines = district.read_text(encoding="utf-8").splitlines()
    heim = next(i for i, line in enumerate(lines) if line.startswith("heimerziehung_34 = ["))  # its cases
    lines[heim] = lines[heim].replace("value = ", "value = 9")
    district.write_text("\n".join(lines), encoding="utf-8")
    args = (district, "--fit", "policy.continue_after_18_probability", "--max-trials", 2, "--replicates", 1)
    missed = calibrate(*args, "--out", tmp_path)
    assert missed.exit_code == 3, missed.output
    assert "cases.heimerziehung_34: the model reaches" in missed.stderr
    assert not (tmp_path / "simulated.toml").exists() and (tmp_path / "simulated.fit.html").exists()
    assert calibrate(*args, "--out", tmp_path / "new", "--accept-misfit").exit_code == 0
    again = calibrate(*args, "--out", tmp_path / "new", "--accept-misfit")
    assert again.exit_code == 2 and "exists; give --force" in again.stderr
    assert load_district(district).cases["heimerziehung_34"][0].value > 900


def test_the_shipped_template_is_the_schema(tmp_path: Path) -> None:
    """scenarios/districts/template.xlsx lists exactly the figures of the schema (`prevsim district-template`
    regenerates it); a stale template would fail here."""
    from model.district import figure_rows

    shipped = pd.read_excel(ROOT / "scenarios" / "districts" / "template.xlsx", sheet_name=None, dtype=object)
    assert list(shipped["figures"]["figure"]) == [key for key, _ in figure_rows()]
    assert runner.invoke(app, ["district-template", str(tmp_path / "t.xlsx")]).exit_code == 0
    again = runner.invoke(app, ["district-template", str(tmp_path / "t.xlsx")])
    assert again.exit_code == 2 and "exists" in again.stderr


def test_figures_by_help_type_free_the_help_mix(tmp_path: Path) -> None:
    """Cases of several help types free a factor on each one's choice weights; Inobhutnahmen free the arrivals of
    unaccompanied minors; a factor scales a whole vector."""
    from model.district_fit import DEFAULT_FREE, default_free, with_parameters

    base = load_scenario(BASELINE)
    district = load_district(ROOT / "scenarios" / "districts" / "freudenstadt.toml")
    free = default_free(district, base)
    assert free[: len(DEFAULT_FREE)] == list(DEFAULT_FREE)
    assert "helps.spfh_31.weight_by_age_band" in free and "helps.heimerziehung_34.weight_by_age_band" in free
    assert "unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year" in free
    scaled = with_parameters(base, {"helps.spfh_31.weight_by_age_band": 2.0, SHOCK: 0.03})
    assert scaled.helps["spfh_31"].weight_by_age_band.value == [
        2 * w for w in base.helps["spfh_31"].weight_by_age_band.value
    ]
    assert scaled.burden.shock_hazard_per_month.value == 0.03
