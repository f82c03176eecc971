"""prevsim from Mesa (batch_run, DataCollector), SALib (ProblemSpec.evaluate) and the EMA Workbench
(perform_experiments, PRIM, feature scoring): each runs, and each gives what `prevsim experiment` gives."""

from __future__ import annotations

import warnings
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest
from SALib import ProblemSpec
from typer.testing import CliRunner

from model import DistrictModel, ScenarioError, load_scenario
from model.cli import app
from model.experiment import load_experiment
from model.run import SimulationResult, replicate_seeds, run_replicate
from model.salib import evaluator
from tests.conftest import ROOT, write_tiny

with warnings.catch_warnings():  # the EMA Workbench warns on import that an optional evaluator is missing
    warnings.simplefilter("ignore", UserWarning)
    from ema_workbench import Policy, perform_experiments
    from ema_workbench import Scenario as EmaScenario
    from ema_workbench.analysis import feature_scoring, prim

    from model.ema import prevsim_model

HALF_LIFE = "prevention.familienhebamme.protection_half_life_months"
HEIM_COST = "helps.heimerziehung_34.cost_per_day_eur"
PLACEMENTS = ("vollzeitpflege_33", "heimerziehung_34", "ise_35")  # the residential category of the baseline
OUTCOMES = ["npv_eur_at_3_5pct", *(f"begun_{h}" for h in PLACEMENTS)]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A tiny district without and with the Osterode prevention package (paired outcomes)."""
    folder = tmp_path_factory.mktemp("ecosystem")
    return [
        write_tiny(folder, "tiny"),
        write_tiny(folder, "tiny_osterode", ROOT / "scenarios" / "osterode_prevention.toml"),
    ]


@pytest.fixture(scope="module")
def experiment_run(files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A Latin hypercube of two points over two numbers, 2 replicates, run by `prevsim experiment`."""
    folder = files[0].parent
    path = folder / "two_points.toml"
    path.write_text(
        'name = "two_points"\ndescription = "test"\nscenarios = ["tiny.toml", "tiny_osterode.toml"]\n'
        f"replicates = 2\nseed = 7\noutcomes = {OUTCOMES!r}\n".replace("'", '"')
        + '[design]\nmethod = "latin"\nsamples = 2\n'
        + f'[[uncertainties]]\npath = "{HALF_LIFE}"\nlow = 12\nhigh = 120\nsource = "test"\n'
        + f'[[uncertainties]]\npath = "{HEIM_COST}"\nlow = 200\nhigh = 350\nsource = "test"\n',
        encoding="utf-8",
    )
    results = tmp_path_factory.mktemp("results")
    done = CliRunner().invoke(app, ["experiment", str(path), "--workers", "1", "--results", str(results)])
    assert done.exit_code == 0, (done.output, done.exception)
    (run_folder,) = results.glob("two_points-*")
    points = pd.read_csv(run_folder / "point_outcomes.csv", index_col="point")
    return path, points


# --- Mesa ------------------------------------------------------------------------------------------


def test_batch_run_reports_every_month_of_the_record(files):
    """Key paths vary as batch_run parameters; a row per month; the figures are the recorder's metrics."""
    runs = mesa.batch_run(
        DistrictModel,
        parameters={"scenario": [str(files[0])], "seed": [11], HALF_LIFE: [24.0, 96.0]},
        data_collection_period=1,
        display_progress=False,
    )
    frame = pd.DataFrame(runs)
    assert len(frame) == 2 * 36  # two runs, 12 months of burn-in and 24 of horizon each: running turned false
    one = frame[frame[HALF_LIFE] == 96.0].set_index("Step")
    assert one["month"].tolist() == list(range(-12, 24))
    assert one["year"].tolist() == [2024] * 12 + [2025] * 12 + [2026] * 12
    assert one.loc[one["month"] < 0, "placements"].isna().all()  # the burn-in is not recorded

    scenario = load_scenario(files[0]).with_values({HALF_LIFE: 96.0})
    record = SimulationResult(scenario, 11, [11], run_replicate(scenario, 11)[None], 0.0).wide()
    horizon = one[one["month"] >= 0].reset_index(drop=True)
    np.testing.assert_array_equal(horizon["placements_begun"], record[[f"begun.{h}" for h in PLACEMENTS]].sum(axis=1))
    for figure in ("stock.spfh_31", "families.level_3", "state.waiting", "cost_eur.category.residential"):
        np.testing.assert_array_equal(horizon[figure], record[figure])
    assert horizon["placements"].sum() > 0


def test_the_collector_gives_what_mesas_own_collect_gives(small):
    """RecordCollector.collect notes the month and reads the figures later: the same as one call per reporter."""
    ours = DistrictModel(small, 4)
    plain = DistrictModel(small, 4)
    plain.datacollector = mesa.DataCollector(model_reporters=ours.datacollector.model_reporters)
    for model in (ours, plain):
        model.run_model()  # Mesa's: steps while running
    expected = plain.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(ours.datacollector.get_model_vars_dataframe(), expected)
    assert len(expected) == 12 * 6 and expected["placements"].iloc[-1] > 0


def test_a_bad_override_is_named(files):
    with pytest.raises(ScenarioError, match=r"tiny: helps\.no_such_help\.cost_per_day_eur: no such key"):
        DistrictModel(files[0], 1, overrides={"helps.no_such_help.cost_per_day_eur": 100.0})


# --- SALib -----------------------------------------------------------------------------------------


def test_salib_sobol_over_a_small_design(files):
    problem = ProblemSpec({"names": [HALF_LIFE, HEIM_COST], "bounds": [[12, 120], [200, 350]]})
    # seed 7: in the tiny district the package changes residential care within the two years only under some
    # seeds (1 of 1-8 since family circumstances change month by month), and the Heim cost moves the NPV only then
    f = evaluator(problem, files, "npv_eur_at_3_5pct", replicates=1, seed=7)
    problem.sample_sobol(4, calc_second_order=False, seed=3).evaluate(f).analyze_sobol(calc_second_order=False)
    assert problem.results.shape == (4 * (2 + 2),)
    assert np.unique(problem.results).size > 1  # the design moves the outcome
    indices = problem.analysis.to_df()[0]  # total indices, one row per name
    assert list(indices.index) == [HALF_LIFE, HEIM_COST]


def test_salib_names_a_bad_key_path_before_any_run(files):
    problem = {"names": ["helps.heimerziehung_34.cost_per_day"], "bounds": [[200, 350]]}
    with pytest.raises(ScenarioError, match=r"SALib problem: .*helps\.heimerziehung_34\.cost_per_day.*no such key"):
        evaluator(problem, files, "npv_eur_at_3_5pct")(np.array([[250.0]]))


# --- EMA Workbench ---------------------------------------------------------------------------------


def test_ema_experiments_feed_prim_and_feature_scoring(files):
    model = prevsim_model(
        files,
        uncertainties={HALF_LIFE: (12, 120), HEIM_COST: (200, 350)},
        levers={"prevention.familienhebamme.budget_eur_per_year": (60_000, 240_000)},
        outcomes=["npv_eur_at_3_5pct", "begun_heimerziehung_34"],
        seed=7,  # as in test_salib_sobol_over_a_small_design: a seed under which the Heim cost moves the NPV
    )
    experiments, outcomes = perform_experiments(model, scenarios=6, policies=2)
    assert len(experiments) == 12 and set(outcomes) == {"npv_eur_at_3_5pct", "begun_heimerziehung_34"}
    x = experiments[[HALF_LIFE, HEIM_COST, "prevention.familienhebamme.budget_eur_per_year"]]
    scores = feature_scoring.get_feature_scores_all(x, outcomes)
    assert scores.shape == (3, 2)
    npv = outcomes["npv_eur_at_3_5pct"]
    box = prim.Prim(x, npv > np.median(npv), threshold=0.5).find_box()
    assert box.coverage > 0


def test_ema_names_a_bad_key_path_before_any_run(files):
    with pytest.raises(ScenarioError, match=r"EMA model prevsim: .*detection\.nope.*no such key"):
        prevsim_model(files, uncertainties={"detection.nope": (0, 1)}, outcomes=["npv_eur_at_3_5pct"])


# --- the same design point, four ways ---------------------------------------------------------------


def test_mesa_salib_and_ema_give_what_prevsim_experiment_gives(files, experiment_run):
    path, points = experiment_run
    experiment = load_experiment(path)
    point = dict(zip(experiment.names, experiment.design[0], strict=True))
    expected = points.loc[0, OUTCOMES].to_numpy()

    f = evaluator({"names": experiment.names}, files, OUTCOMES, replicates=2, seed=7)
    np.testing.assert_array_equal(f(experiment.design[:1])[0], expected)

    model = prevsim_model(
        files,
        uncertainties={HALF_LIFE: (12, 120)},
        levers={HEIM_COST: (200, 350)},
        outcomes=OUTCOMES,
        replicates=2,
        seed=7,
    )
    _, outcomes = perform_experiments(
        model,
        scenarios=[EmaScenario("point_0", **{HALF_LIFE: point[HALF_LIFE]})],
        policies=[Policy("point_0", **{HEIM_COST: point[HEIM_COST]})],
    )
    np.testing.assert_array_equal([outcomes[o][0] for o in OUTCOMES], expected)

    runs = pd.DataFrame(
        mesa.batch_run(
            DistrictModel,
            parameters={"scenario": [str(f) for f in files], "seed": replicate_seeds(7, 2), "overrides": [point]},
            data_collection_period=1,
            display_progress=False,
        )
    )
    horizon = runs[runs["month"] >= 0]
    placements = horizon.groupby(["scenario", "seed"])["placements_begun"].sum().unstack("scenario")
    paired = (placements[str(files[1])] - placements[str(files[0])]).mean()
    assert paired == points.loc[0, [f"begun_{h}" for h in PLACEMENTS]].sum()
