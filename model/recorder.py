"""Observation: what happened in a month (Tally) and the monthly record of aggregates (Recorder).

No per-family rows are kept: each month becomes one row of named aggregate metrics, as the
national statistics count them (stocks at month end, helps begun and ended, occupancy and cost).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from model import kernels
from model.families import Families
from model.parameters import Catalogue, YearParameters
from model.scenario import CATEGORIES

ASSESSMENT_OUTCOMES = ("acute", "latent", "need", "neither")  # §8a: endangerment acute/latent, help need, neither
PER_HELP = (
    "stock",
    "stock_unaccompanied",
    "begun",
    "begun_unaccompanied",
    "ended",
    "ended_months",
    "ended_resolved",
    "occupancy",
    "cost_eur",
)
PER_SERVICE = ("prevention_stock", "prevention_begun", "prevention_occupancy", "prevention_cost_eur")
STATES = ("home", "prevention_only", "waiting")  # with one `stock.<help>` per help: every family in exactly one


class TallyArrays(NamedTuple):
    """The counters the compiled phases add to (`kernels`): per help, per service, per §8a outcome."""

    begun: np.ndarray
    begun_unaccompanied: np.ndarray
    ended: np.ndarray
    ended_months: np.ndarray
    ended_resolved: np.ndarray
    occupancy: np.ndarray
    prevention_begun: np.ndarray
    prevention_occupancy: np.ndarray
    assessments: np.ndarray


class RecordLayout(NamedTuple):
    """What `kernels.record` needs of the catalogue to sum cost by category."""

    help_category: np.ndarray  # index into CATEGORIES, by help
    prevention_category: int
    n_categories: int
    counts_as_hze: np.ndarray  # by help


class Tally:
    """Counters of one month, filled by the phases, read by accounting and observation."""

    def __init__(self, catalogue: Catalogue):
        helps, services = len(catalogue.help_names), len(catalogue.prevention_names)
        counts = {
            "begun": helps,
            "begun_unaccompanied": helps,
            "ended": helps,
            "ended_months": helps,
            "ended_resolved": helps,
            "occupancy": helps,
            "prevention_begun": services,
            "prevention_occupancy": services,
            "assessments": len(ASSESSMENT_OUTCOMES),
        }
        # two buffers, each reset at once; the counters are views of them
        self._counts = np.zeros(sum(counts.values()), dtype=np.int64)
        self._costs = np.zeros(helps + services)
        ends = np.cumsum(list(counts.values()))
        for name, end, size in zip(counts, ends, counts.values(), strict=True):
            setattr(self, name, self._counts[end - size : end])
        self.help_cost, self.prevention_cost = self._costs[:helps], self._costs[helps:]
        self.births = self.exits = 0
        self.arrays = TallyArrays(**{name: getattr(self, name) for name in TallyArrays._fields})

    def reset(self) -> None:
        self._counts[:] = 0
        self._costs[:] = 0.0
        self.births = self.exits = 0


class Recorder:
    """One row of metrics per reported month."""

    def __init__(self, catalogue: Catalogue, months: int):
        self.catalogue = catalogue
        helps, services = catalogue.help_names, catalogue.prevention_names
        self.metrics = (
            [f"{kind}.{h}" for kind in PER_HELP for h in helps]
            + [f"{kind}.{s}" for kind in PER_SERVICE for s in services]
            + [f"cost_eur.category.{c}" for c in CATEGORIES]
            + ["cost_eur.total", "cost_eur.hze"]
            + [f"assessments.{a}" for a in ASSESSMENT_OUTCOMES]
            + [f"families.level_{k}" for k in range(5)]
            + [f"state.{s}" for s in STATES]
            + ["families.residents", "families.unaccompanied", "births", "exits", "under_21"]
        )
        self.values = np.zeros((months, len(self.metrics)))
        self.layout = RecordLayout(
            catalogue.help_category, CATEGORIES.index("prevention"), len(CATEGORIES), catalogue.help_counts_as_hze
        )

    def observe(
        self, month: int, f: Families, tally: Tally, p: YearParameters, record: Callable = kernels.record
    ) -> None:
        """Write the month's row (`kernels.record`, or its compiled entry point for the model's types)."""
        record(
            self.values[month],
            f.arrays,
            tally.arrays,
            tally.help_cost,
            tally.prevention_cost,
            self.layout,
            (tally.births, tally.exits, p.under_21),
        )

    def frame(self) -> pd.DataFrame:
        """Wide frame: one row per month, one column per metric."""
        return pd.DataFrame(self.values, columns=self.metrics).rename_axis("month")
