"""Observation: what happened in a month (Tally) and the monthly record of aggregates (Recorder).

No per-family rows are kept: each month becomes one row of named aggregate metrics, as the
national statistics count them (stocks at month end, helps begun and ended, occupancy and cost).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import mesa
import numpy as np
import pandas as pd

from model import kernels
from model.families import Families
from model.microdata import EventLog
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
    events: EventLog | None  # rows for the microdata; None without them (the phases then compile without logging)


class RecordLayout(NamedTuple):
    """What `kernels.record` needs of the catalogue to sum cost by category."""

    help_category: np.ndarray  # index into CATEGORIES, by help
    prevention_category: int
    n_categories: int
    counts_as_hze: np.ndarray  # by help


class Tally:
    """Counters of one month, filled by the phases, read by accounting and observation."""

    def __init__(self, catalogue: Catalogue, events: EventLog | None = None):
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
        self.use_events(events)

    def use_events(self, events: EventLog | None) -> None:
        """Write microdata into `events` from now on (`TallyArrays.events`; None: no microdata). The type of
        `events` is part of the phases' types (`kernels.phases_for`): compile them again after changing it."""
        self.events = events
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
            + ["families.high_risk_without_help"]  # level 3-4, neither a help nor a prevention service
        )
        self.values = np.zeros((months, len(self.metrics)))
        self.layout = RecordLayout(
            catalogue.help_category, CATEGORIES.index("prevention"), len(CATEGORIES), catalogue.help_counts_as_hze
        )
        self.figure_names, self._figure_columns, self._figure_starts = self._figures()

    def _figures(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """What Mesa's DataCollector reports each month, each a sum of metrics: placements (helps of the
        residential category) begun and running, every help's stock, families by risk level, the waiting list,
        cost by category and in total. Kept as the metrics' columns, figure after figure, and where each figure
        starts among them: a month's figures are then one `np.add.reduceat` over its row (a few microseconds)."""
        helps, categories = self.catalogue.help_names, self.catalogue.help_category
        residential = [h for h, c in zip(helps, categories, strict=True) if CATEGORIES[c] == "residential"]
        parts = {
            "placements_begun": [f"begun.{h}" for h in residential],
            "placements": [f"stock.{h}" for h in residential],
        }
        singles = (
            [f"stock.{h}" for h in helps]
            + [f"families.level_{k}" for k in range(5)]
            + ["state.waiting"]
            + [f"cost_eur.category.{c}" for c in CATEGORIES]
            + ["cost_eur.total"]
        )
        parts |= {name: [name] for name in singles}
        column = {name: i for i, name in enumerate(self.metrics)}
        columns = np.array([column[metric] for metrics in parts.values() for metric in metrics])
        starts = np.cumsum([0, *[len(metrics) for metrics in parts.values()][:-1]])
        return list(parts), columns, starts

    def figures(self, months: np.ndarray) -> np.ndarray:
        """The figures (`figure_names`) of the given months, one row each; NaN in the burn-in (not recorded)."""
        rows = np.full((len(months), len(self.figure_names)), np.nan)
        recorded = months >= 0
        rows[recorded] = np.add.reduceat(self.values[months[recorded]][:, self._figure_columns], self._figure_starts, 1)
        return rows

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


class RecordCollector(mesa.DataCollector):
    """Mesa's DataCollector of a `DistrictModel`: the model reporters are the month ("month": months since January
    of the start year, negative in the burn-in; "year") and the recorder's figures of the month (`Recorder.figures`).

    `collect` only notes the month. The recorder keeps every month's row, and a row never changes once recorded,
    so the figures of the noted months are read when `model_vars` is read, all at once: the same values as the
    base class's one call per reporter and month (tested), without a Python call per figure in the monthly step.
    """

    def __init__(self, recorder: Recorder, start_year: int):
        self._recorder, self._start_year = recorder, start_year
        self._months: list[int] = []  # collected, not yet in model_vars
        figures = {name: partial(_figure, index=i) for i, name in enumerate(recorder.figure_names)}
        super().__init__(model_reporters={"month": "month", "year": "year"} | figures)

    @property
    def model_vars(self) -> dict[str, list]:
        if self._months:
            months, self._months = np.array(self._months), []
            years = self._start_year + months // 12
            figures = self._recorder.figures(months)
            for column, values in zip(self._model_vars.values(), [months, years, *figures.T], strict=True):
                column.extend(values.tolist())
        return self._model_vars

    @model_vars.setter
    def model_vars(self, model_vars: dict[str, list]) -> None:
        self._model_vars = model_vars

    def collect(self, model: mesa.Model) -> None:
        self._months.append(model.month)


def _figure(model: mesa.Model, index: int) -> float:
    """One figure of the model's month, as a Mesa model reporter."""
    return float(model.recorder.figures(np.array([model.month]))[0, index])
