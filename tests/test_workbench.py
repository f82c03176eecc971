"""The planner's workbench without its page (model/workbench.py): programmes on districts, levers, saving."""

from pathlib import Path

import pandas as pd
import pytest

from model.comparison import compare
from model.past import fork_month
from model.report import read_comparison
from model.run import new_results_folder
from model.scenario import ScenarioError, load_scenario
from model.workbench import (
    Engine,
    choices,
    default_source,
    levers,
    on_district,
    plan,
    progressive,
    save_scenario,
    scenario_toml,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_a_programme_on_its_own_district_is_the_programme():
    programme = SCENARIOS / "osterode_prevention.toml"
    applied = on_district(programme, SCENARIOS / "baseline.toml")
    assert applied == load_scenario(programme)


def test_districts_and_programmes_are_told_apart():
    """A calibrated district extends the baseline like a programme does, but sets its own population."""
    districts, programmes = choices(SCENARIOS)
    names = {c.name for c in districts}
    assert {"baseline", "rhein_kreis_neuss", "osterholz", "freudenstadt"} <= names
    assert {"osterode_prevention", "neuss_ambulant", "combined"} <= {c.name for c in programmes}
    assert not names & {c.name for c in programmes}


def test_levers_show_the_daily_rate_and_budgets_with_units_and_sources():
    found = {lever.key: lever for lever in levers(load_scenario(SCENARIOS / "baseline.toml"), "de")}
    rate = found["helps.heimerziehung_34.cost_per_day_eur"]
    assert rate.unit == "EUR per day" and "germany.toml" in rate.source
    assert found["prevention.familienhebamme.budget_eur_per_year"].slider


def test_a_changed_lever_keeps_the_past_so_a_change_reruns_only_the_horizon():
    district = SCENARIOS / "baseline.toml"
    base = on_district(SCENARIOS / "osterode_prevention.toml", district)
    changed = plan(base, {"prevention.familienhebamme.budget_eur_per_year": 300_000.0})
    budget = changed.prevention["familienhebamme"].budget_eur_per_year
    start = base.simulation.start_year
    assert (budget.at(start - 1), budget.at(start), budget.at(start + 5)) == (60_000, 300_000, 300_000)
    assert fork_month([load_scenario(district), changed]) == 0


def test_a_value_the_schema_forbids_is_a_message():
    with pytest.raises(ScenarioError) as err:
        plan(load_scenario(SCENARIOS / "baseline.toml"), {"policy.placement_probability_level_4": 1.5})
    assert "placement_probability_level_4" in "\n".join(err.value.problems)


def test_a_saved_plan_validates_and_is_never_overwritten(tmp_path):
    (tmp_path / "baseline.toml").write_bytes((SCENARIOS / "baseline.toml").read_bytes())
    key = "prevention.familienhebamme.budget_eur_per_year"
    planned = plan(load_scenario(tmp_path / "baseline.toml"), {key: 90_000.0})
    text = scenario_toml("my_plan", ["baseline.toml"], "test", planned, [key], default_source(), "de")
    path = save_scenario(tmp_path, "my_plan", text)
    saved = load_scenario(path)
    assert dict(saved.parameters())[key].by_year == dict(planned.parameters())[key].by_year == {2025: 90_000}
    assert saved.prevention["familienhebamme"].budget_eur_per_year.source.startswith("set in prevsim app, ")
    with pytest.raises(ScenarioError, match="never overwritten"):
        save_scenario(tmp_path, "my_plan", text)
    assert load_scenario(path) == saved


def test_the_full_estimate_is_the_comparison_prevsim_compare_writes(small, tmp_path):
    engine = Engine(1)
    try:
        for budget in (300_000.0, 200_000.0):  # the second change runs the plan alone: the reference's runs are kept
            scenarios = [small, plan(small, {"prevention.familienhebamme.budget_eur_per_year": budget})]
            estimates = list(progressive(engine, scenarios, replicates=3, first=2))
            assert [e.done for e in estimates] == [2, 3]
            written = compare(scenarios, replicates=3, workers=1).write_into(new_results_folder(tmp_path, "c"))
            expected = read_comparison(written)
            pd.testing.assert_frame_equal(estimates[-1].results.table, expected.table)
        assert len(engine.runs) == 3 + 2 * 3  # the reference's three runs, each plan's three
    finally:
        engine.close()
