"""prevsim as an EMA Workbench model: uncertainties and levers by scenario key path, prevsim's outcomes.

    from ema_workbench import perform_experiments
    from model.ema import prevsim_model

    model = prevsim_model(
        ["scenarios/baseline.toml", "scenarios/osterode_prevention.toml"],
        uncertainties={"prevention.familienhebamme.protection_half_life_months": (12, 120)},
        levers={"prevention.familienhebamme.budget_eur_per_year": (60_000, 240_000)},
        outcomes=["npv_eur_at_3_5pct", "begun_heimerziehung_34"],
    )
    experiments, outcomes = perform_experiments(model, scenarios=50, policies=4)

Key paths and outcomes are those of experiment files (`prevsim experiment`); every experiment runs the same
replicate seeds and reports the mean over replicates, through the same code as a design point of an
experiment file (`model.experiment.run_batch`). Written for the EMA Workbench 2.5 (3.0 needs Python 3.12).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from ema_workbench import Model, RealParameter, ScalarOutcome

from model.experiment import Experiment, evaluate_points, experiment_over
from model.scenario import Scenario, ScenarioError, as_scenario


class PrevsimFunction:
    """What the EMA Workbench calls for one experiment: its numbers by key path -> the outcomes by name."""

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment

    def __call__(self, **numbers: float) -> dict[str, float]:
        point = np.array([[numbers[name] for name in self.experiment.names]])
        return evaluate_points(self.experiment.with_design(point)).iloc[0].to_dict()


def prevsim_model(
    scenarios: Sequence[Scenario | str | Path],
    uncertainties: Mapping[str, tuple[float, float]],
    outcomes: Sequence[str],
    levers: Mapping[str, tuple[float, float]] | None = None,
    replicates: int = 1,
    seed: int = 1,
    name: str = "prevsim",
) -> Model:
    """An EMA `Model` over one scenario (its outcomes) or two (paired outcomes: the second minus the first):
    uncertainties and levers as {key path: (low, high)} (real parameters), outcomes as scalar outcomes.
    Checked before any run as experiment files are; raise ScenarioError with one line per problem."""
    levers = levers or {}
    both = sorted(set(uncertainties) & set(levers))
    if both:
        raise ScenarioError([f"EMA model {name}: {path}: both an uncertainty and a lever" for path in both])
    ranges = {**uncertainties, **levers}
    experiment = experiment_over(
        [as_scenario(s) for s in scenarios],
        list(ranges),
        np.array(list(ranges.values()), dtype=float).T,  # two design points: the lows and the highs
        list(outcomes),
        replicates,
        seed,
        where=f"EMA model {name}",
    )
    model = Model(name, function=PrevsimFunction(experiment))
    model.uncertainties = [RealParameter(path, low, high) for path, (low, high) in uncertainties.items()]
    model.levers = [RealParameter(path, low, high) for path, (low, high) in levers.items()]
    model.outcomes = [ScalarOutcome(outcome) for outcome in outcomes]
    return model
