"""prevsim as a SALib model: a function of a design matrix, for `ProblemSpec(...).evaluate(f)`.

    from SALib import ProblemSpec
    from model.salib import evaluator

    problem = ProblemSpec({"names": ["prevention.familienhebamme.protection_half_life_months"], "bounds": [[12, 120]]})
    f = evaluator(problem, ["scenarios/baseline.toml", "scenarios/osterode_prevention.toml"], "npv_eur_at_3_5pct")
    problem.sample_sobol(64).evaluate(f).analyze_sobol()

The problem's names are scenario key paths, as in experiment files; the outcomes are those of experiment
files (`prevsim experiment`): horizon figures of one scenario, or paired figures and economics of two. Each
design point runs the same replicate seeds, and its value is the mean over replicates, exactly as a design
point of `prevsim experiment` (the runs go through the same code, `model.experiment.run_batch`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.experiment import LocalEvaluator, evaluate_points, experiment_over
from model.scenario import Scenario, as_scenario


@dataclass(frozen=True)
class Evaluator:
    """f(X) -> Y over a design matrix whose columns are the problem's names (scenario key paths).

    Y has one column per outcome, or is one-dimensional for a single outcome given as a string (SALib's
    `outputs`). Picklable, so that SALib's `evaluate(f, nprocs=N)` can send it to its worker processes;
    `workers` > 1 runs the design points in the project's own process pool instead.
    """

    names: list[str]
    scenarios: list[Scenario]
    outcomes: list[str]
    one_outcome: bool
    replicates: int
    seed: int
    workers: int

    def __call__(self, X: np.ndarray) -> np.ndarray:
        experiment = experiment_over(
            self.scenarios, self.names, X, self.outcomes, self.replicates, self.seed, where="SALib problem"
        )
        Y = evaluate_points(experiment, LocalEvaluator(self.workers)).to_numpy()
        return Y[:, 0] if self.one_outcome else Y


def evaluator(
    problem: Mapping[str, Any],
    scenarios: Sequence[Scenario | str | Path],
    outcomes: str | Sequence[str],
    replicates: int = 1,
    seed: int = 1,
    workers: int = 1,
) -> Evaluator:
    """The model function of a SALib problem (a ProblemSpec or a problem dict: its "names" are key paths)
    over one scenario (its outcomes) or two (paired outcomes: the second minus the first)."""
    one_outcome = isinstance(outcomes, str)
    return Evaluator(
        names=list(problem["names"]),
        scenarios=[as_scenario(s) for s in scenarios],
        outcomes=[outcomes] if one_outcome else list(outcomes),
        one_outcome=one_outcome,
        replicates=replicates,
        seed=seed,
        workers=workers,
    )
