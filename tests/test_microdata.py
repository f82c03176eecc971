"""Microdata like the statistics' single records: their counts equal the model's own tallies."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model import DistrictModel, kernels, load_scenario
from model.cli import app
from model.families import Families
from model.microdata import ASSESSED, BEGUN, ENDED, ROUTES, EventLog
from model.recorder import ASSESSMENT_OUTCOMES
from model.run import simulate
from tests.conftest import ROOT, shrink


@pytest.fixture(scope="module")
def model() -> DistrictModel:
    """Osterode's programme (diagnostics, intensive help: every route into help) in a small district."""
    scenario = shrink(load_scenario(ROOT / "scenarios" / "osterode_prevention.toml"), 20_000, 2, 3)
    model = DistrictModel(scenario, 3, microdata=True)
    model.run()
    return model


def test_counts_equal_the_tallies(model: DistrictModel):
    tables, frame = model.microdata.tables(), model.recorder.frame()
    year = frame.index // 12 + model.scenario.simulation.start_year
    helps = tables["helps"]
    for event in ("begun", "ended"):
        counted = helps[helps["event"] == event].groupby(["year", "help"], observed=False).size().unstack()
        tallied = frame[[f"{event}.{h}" for h in model.catalogue.help_names]].groupby(year).sum()
        tallied.columns = model.catalogue.help_names
        np.testing.assert_array_equal(counted[list(model.catalogue.help_names)].to_numpy(), tallied.to_numpy())
    assessed = tables["assessments"].groupby(["year", "outcome"], observed=False).size().unstack()
    tallied = frame[[f"assessments.{a}" for a in ASSESSMENT_OUTCOMES]].groupby(year).sum()
    np.testing.assert_array_equal(assessed[list(ASSESSMENT_OUTCOMES)].to_numpy(), tallied.to_numpy())
    census = tables["census"].groupby(["year", "help"], observed=False).size().unstack()
    december = frame[[f"stock.{h}" for h in model.catalogue.help_names]].iloc[11::12]
    np.testing.assert_array_equal(census[list(model.catalogue.help_names)].to_numpy(), december.to_numpy())


def test_columns_mean_what_they_say(model: DistrictModel):
    helps = model.microdata.tables()["helps"]
    begun, ended = helps[helps["event"] == "begun"], helps[helps["event"] == "ended"]
    assert set(begun["route"].dropna()) <= set(ROUTES) and begun["route"].notna().all()
    assert {"self_referral", "help_plan", "crisis_intake"} <= set(begun["route"])
    assert ended["route"].isna().all() and begun["months"].isna().all() and ended["months"].notna().all()
    assert (ended["months"] >= 0).all() and ended["as_planned"].notna().all() and begun["as_planned"].isna().all()
    assert ((begun["age_years"] >= 0) & (begun["age_years"] <= 20)).all()
    assert ((ended["age_years"] >= 0) & (ended["age_years"] <= 21)).all()  # helps end with age on the 21st birthday
    crisis = begun[begun["help"] == "inobhutnahme_42"]
    assert set(crisis["route"]) <= {"crisis_intake", "8a_assessment"}
    out_of_home = set(model.catalogue.helps_in_role("out_of_home"))
    assert (helps["out_of_home"] == helps["help"].isin(out_of_home)).all()
    assert helps["earlier_help"].any() and not helps["earlier_help"].all()


def test_no_microdata_unless_asked_and_the_same_results(model: DistrictModel):
    plain = DistrictModel(model.scenario, 3)
    assert plain.microdata is None
    pd.testing.assert_frame_equal(plain.run().frame(), model.recorder.frame())


def test_a_results_microdata_belong_to_its_runs():
    scenario = shrink(load_scenario(ROOT / "scenarios" / "baseline.toml"), 8_000, 2, 2)
    result = simulate(scenario, replicates=2, seed=4, workers=1)
    helps = result.microdata()["helps"]
    begun = helps[helps["event"] == "begun"].groupby("replicate").size()
    tallied = result.yearly().groupby(level="replicate")[[f"begun_{h}" for h in result.catalogue.help_names]].sum()
    np.testing.assert_array_equal(begun.to_numpy(), tallied.sum(axis=1).to_numpy())


def test_cli_run_and_compare_write_the_microdata(tmp_path):
    tiny = (
        f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\ndescription = "test"\n'
        '[district]\ninhabitants = { value = 5000, source = "test" }\n'
        "[simulation]\nburn_in_years = 2\nhorizon_years = 2\n"
    )
    (tmp_path / "tiny.toml").write_text('name = "tiny"\n' + tiny, encoding="utf-8")
    more = '[prevention.familienhebamme]\nbudget_eur_per_year = { value = 300000, source = "test" }\n'
    (tmp_path / "more.toml").write_text('name = "more"\n' + tiny + more, encoding="utf-8")
    options = ["--replicates", "2", "--workers", "1", "--microdata"]
    for command, scenarios in (("run", ["tiny.toml"]), ("compare", ["tiny.toml", "more.toml"])):
        results = tmp_path / command
        paths = [str(tmp_path / s) for s in scenarios]
        done = CliRunner().invoke(app, [command, *paths, *options, "--results", str(results)])
        assert done.exit_code == 0 and done.exception is None, done.output
        folder = next(results.iterdir())
        assert {"helps.parquet", "census.parquet", "assessments.parquet", "population.parquet", "manifest.json"} <= set(
            os.listdir(folder)
        )
        helps = pd.read_parquet(folder / "helps.parquet")
        assert set(helps["replicate"]) == {0, 1} and (helps["event"] == "begun").sum() > 0
        if command == "compare":
            assert set(helps["scenario"]) == {"tiny", "more"}


def test_population_counts_the_children_and_spreads_the_young_adults(model: DistrictModel):
    population = model.microdata.tables()["population"]
    last = population[population["year"] == population["year"].max()].set_index("age_years")["young_people"]
    assert list(last.index) == list(range(21))
    children = model.families.age_months[model.families.age_months < 18 * 12] // 12  # the state on the last 31 Dec
    np.testing.assert_array_equal(last.loc[:17].to_numpy(), np.bincount(children, minlength=18))
    p = model.params
    young_adults = (p.under_21 - p.births_per_month * 18 * 12) / 3
    np.testing.assert_allclose(last.loc[18:].to_numpy(), young_adults)
    census = model.microdata.tables()["census"]
    in_help = census[census["year"] == population["year"].max()].groupby("age_years").size()
    assert (in_help.reindex(range(21), fill_value=0) <= last).all()


def test_circumstances_are_those_at_the_start_of_the_help(model: DistrictModel):
    """Transfer benefits and single parenthood change during a help (docs/ODD.md 7.0); the statistics record
    them for its start, and so do the model's rows of helps ended and its census (a help begun and an
    assessment: as they are then)."""
    f = model.families
    in_help = f.help != -1
    census = model.microdata.tables()["census"]
    last = census[census["year"] == census["year"].max()]
    np.testing.assert_array_equal(last["transfer_benefits"], f.help_start_sgb2_poverty[in_help])
    np.testing.assert_array_equal(last["single_parent"], f.help_start_single_parent[in_help])
    np.testing.assert_array_equal(last["unaccompanied"], f.unaccompanied[in_help])
    assert last["unaccompanied"].any() and not last["unaccompanied"].all()
    assert (f.help_start_sgb2_poverty[in_help] != f.sgb2_poverty[in_help]).any()  # some changed in the help

    families, events = Families(1), EventLog.with_room(4)
    families.sgb2_poverty[0], families.help_start_sgb2_poverty[0] = False, True  # benefits ended in the help
    families.single_parent[0], families.help_start_single_parent[0] = True, False  # separated in the help
    for kind in (BEGUN, ENDED, ASSESSED):
        kernels.log_event(events, kind, families.arrays, 0, 0)
    rows = events.drain()
    np.testing.assert_array_equal(rows["transfer_benefits"], [False, True, False])
    np.testing.assert_array_equal(rows["single_parent"], [True, False, True])
    families.unaccompanied[0] = True
    kernels.log_event(events, BEGUN, families.arrays, 0, 0)
    assert events.drain()["unaccompanied"].tolist() == [True]
