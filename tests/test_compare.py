"""Paired comparison: exact results where the model allows them, variance reduction, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model import load_scenario
from model.cli import EXIT_BAD_INPUT, app
from model.comparison import check_comparable, compare
from model.parameters import DAYS_PER_MONTH
from model.run import simulate
from model.scenario import ScenarioError
from tests.conftest import BASELINE, assert_clean_failure, shrink

START = 2025
RATE_EUR = 273.25  # baseline daily rate of heimerziehung_34
TINY = (
    '[district]\ninhabitants = { value = 5000, source = "test" }\n[simulation]\nburn_in_years = 2\nhorizon_years = 3\n'
)


def child(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndescription = "test"\nextends = "{BASELINE}"\n{body}', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scenarios")


def test_a_cheaper_daily_rate_saves_exactly_its_share_and_changes_nothing_else(folder, baseline):
    """Cost does not feed back into behaviour, so under CRN every count is identical and the saving is exact."""
    cheaper = child(
        folder,
        "cheaper_heim",
        "[helps.heimerziehung_34]\n"
        f"cost_per_day_eur = {{ value = {RATE_EUR}, by_year = {{ {START + 1} = {RATE_EUR * 0.9} }}, "
        'source = "test" }\n',
    )
    comparison = compare([shrink(baseline), shrink(load_scenario(cheaper))], replicates=3, seed=5, workers=1)
    d = comparison.differences()
    counts = [c for c in d if not c.startswith("cost_eur_")]
    assert (d[counts] == 0).all().all()
    months = comparison.reference.yearly()["help_months_heimerziehung_34"]
    expected = months * RATE_EUR * 0.1 * DAYS_PER_MONTH * (months.index.get_level_values("year") > START)
    flows = comparison.cash_flows().loc["cheaper_heim"]
    np.testing.assert_allclose(flows["savings_eur"], expected, rtol=1e-9)
    assert (flows["extra_spending_eur"] == 0).all()

    econ = comparison.economics().loc["cheaper_heim"]
    t = expected.index.get_level_values("year") - START
    npv = (expected * 1.035 ** -np.asarray(t)).groupby(level="replicate").sum()
    np.testing.assert_allclose(econ["npv_eur_at_3_5pct"], npv, rtol=1e-9)
    assert econ["benefit_cost_ratio"].isna().all()  # no extra spending: no ratio
    assert (econ["break_even_year"] == START + 1).all()

    parts = comparison.cost_decomposition().loc["cheaper_heim"]  # a price change, nothing else
    np.testing.assert_allclose(parts["cost_change_price_eur"], -expected, rtol=1e-9)
    assert (parts[["cost_change_volume_eur", "cost_change_interaction_eur"]] == 0).all().all()


def test_same_rules_give_zero_differences(folder, baseline):
    same = shrink(load_scenario(child(folder, "same", "")))
    comparison = compare([shrink(baseline), same], replicates=2, seed=3, workers=2)
    assert (comparison.differences() == 0).all().all()
    assert (comparison.cost_decomposition() == 0).all().all()
    table = comparison.table().set_index(["scenario", "year", "figure"])
    for figure in ("break_even_share", "break_even_year", "savings_exceed_spending", "benefit_cost_ratio"):
        assert pd.isna(table.loc[("same", "horizon", figure), "mean"])  # spends nothing extra: nothing to pay back
        assert table.loc[("same", "horizon", figure), "note"].startswith("n/a")


def test_common_random_numbers_narrow_the_difference(folder, baseline):
    """SD over replicates of a paired difference vs the same difference with independent seeds."""
    more = child(
        folder,
        "more_home_visiting",
        "[prevention.familienhebamme]\n"
        f'budget_eur_per_year = {{ value = 60000, by_year = {{ {START + 1} = 480000 }}, source = "test" }}\n',
    )
    scenarios = [shrink(baseline, 20_000, 3, 8), shrink(load_scenario(more), 20_000, 3, 8)]
    replicates = 12

    def total_cost(result) -> np.ndarray:
        return result.yearly()["cost_eur_total"].groupby(level="replicate").sum().to_numpy()

    comparison = compare(scenarios, replicates=replicates, seed=11)
    reference = total_cost(comparison.reference)
    paired = total_cost(comparison.results[1]) - reference
    independent = total_cost(simulate(scenarios[1], replicates=replicates, seed=12)) - reference
    assert paired.std(ddof=1) < 0.5 * independent.std(ddof=1)


def test_price_volume_and_interaction_add_up_to_the_change_in_cost(baseline):
    """A programme that changes both prices and volumes: the three parts add up per replicate and year."""
    neuss = shrink(load_scenario(BASELINE.parent / "neuss_ambulant.toml"))
    comparison = compare([shrink(baseline), neuss], replicates=2, seed=2, workers=1)
    parts = comparison.cost_decomposition()
    total = comparison.differences()["cost_eur_total"]
    np.testing.assert_allclose(parts.sum(axis=1), total, rtol=1e-9, atol=1e-6)
    assert (parts["cost_change_price_eur"] < 0).any() and (parts["cost_change_volume_eur"] != 0).any()
    figures = set(comparison.table()["figure"])
    assert {"cost_change_price_eur", "cost_change_volume_eur", "cost_change_interaction_eur"} <= figures


def test_scenarios_that_cannot_be_paired_are_refused(folder, baseline):
    other_horizon = baseline.model_copy(
        update={"simulation": baseline.simulation.model_copy(update={"horizon_years": 10})}
    )
    other_start = baseline.model_copy(
        update={"name": "late", "simulation": baseline.simulation.model_copy(update={"start_year": 2030})}
    )
    with pytest.raises(ScenarioError) as caught:
        check_comparable([baseline, other_horizon, other_start], ["a.toml", "b.toml", "c.toml"])
    lines = caught.value.problems
    assert any(line.startswith("b.toml: name: 'baseline': given twice") for line in lines)
    assert any(
        line.startswith("b.toml: simulation.horizon_years: 10: must equal the reference a.toml") for line in lines
    )
    assert any(line.startswith("c.toml: simulation.start_year: 2030:") for line in lines)


def test_cli_refuses_a_different_district_with_exit_2(folder):
    bigger = child(folder, "bigger", '[district]\ninhabitants = { value = 200000, source = "test" }\n')
    result = CliRunner().invoke(app, ["compare", str(BASELINE), str(bigger), "--replicates", "1"])
    (line,) = assert_clean_failure(result, EXIT_BAD_INPUT)
    assert line.startswith(f"{bigger}: district.inhabitants:")


def test_cli_compare_writes_the_comparison_and_never_overwrites(folder, tmp_path, monkeypatch):
    shrunk = child(
        folder,
        "tiny_more",
        '[district]\ninhabitants = { value = 5000, source = "test" }\n'
        "[simulation]\nburn_in_years = 2\nhorizon_years = 3\n"
        "[prevention.familienhebamme]\n"
        f'budget_eur_per_year = {{ value = 60000, by_year = {{ {START + 1} = 480000 }}, source = "test" }}\n',
    )
    tiny = child(
        folder,
        "tiny",
        TINY,
    )
    args = ["compare", str(tiny), str(shrunk), "--replicates", "2", "--workers", "1", "--results", str(tmp_path)]
    first, second = (CliRunner().invoke(app, args) for _ in range(2))
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    folders = sorted(tmp_path.iterdir())
    assert len(folders) == 2
    for f in folders:
        written = {p.name for p in f.iterdir()}
        assert written == {"comparison.csv", "comparison.xlsx", "comparison.de.xlsx"} | {
            "timeseries.parquet",
            "summary.csv",
            "manifest.json",
        }
    table = pd.read_csv(folders[0] / "comparison.csv")
    assert set(table["scenario"]) == {"tiny_more"}
    assert {"npv_eur_at_3_5pct", "benefit_cost_ratio", "break_even_year", "net_saving_eur"} <= set(table["figure"])
    series = pd.read_parquet(folders[0] / "timeseries.parquet")
    assert set(series["scenario"]) == {"tiny", "tiny_more"}
