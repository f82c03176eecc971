"""A district's fitted parameter sets (`<district>.ensemble.csv`, written by `prevsim calibrate`), drawn per replicate.

With parameter uncertainty on (`prevsim compare --uncertainty`), a comparison whose reference is a calibrated
district draws one row of its ensemble per replicate, by the rows' weights, from a stream of its own (keyed by the
replicate's seed and ENSEMBLE_KEY, like the ranges of `model.uncertainty`): the same row for every scenario of the
comparison. A row is applied as factors, each key path's value in the row over its value in the best row (the
written scenario's): on the district that gives the row's value; on a programme applied to the district that
changes the same number, the programme's change keeps its ratio (`model.scenario.programme_on`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.scenario import Scenario, ScenarioError

ENSEMBLE_KEY = "ensemble"  # the key of the row's draw in the parameter stream; no key path of a scenario has it
LEADING = ("trial", "loss", "weight")  # the columns before the key paths (`district_fit.ensemble_frame`)


def ensemble_file(scenario_file: Path) -> Path | None:
    """`<name>.ensemble.csv` next to a scenario file `<name>.toml`, where calibrate wrote one."""
    path = scenario_file.with_name(f"{scenario_file.stem}.ensemble.csv")
    return path if path.is_file() else None


def is_probability(path: str) -> bool:
    """A number at most 1 (a probability, a monthly hazard, a share)."""
    return "probability" in path or "hazard_per_month" in path or "_share" in path


def parameter_value(scenario: Scenario, path: str) -> float:
    """The number at a key path ("detection.report_hazard_per_month_by_level[2]") of a scenario; a vector named
    without an index ("helps.spfh_31.weight_by_age_band") and a number with a series by year (the district's
    arrivals, `district_fit.with_arrivals_series`) are fitted as a factor on all their elements: 1."""
    name, _, index = path.partition("[")
    params = dict(scenario.parameters())
    if name not in params:
        raise ScenarioError([f"{scenario.name}: {path}: no such number (a key path as `prevsim params` lists it)"])
    value = params[name].value
    if getattr(params[name], "by_year", None):
        return 1.0
    if isinstance(value, list):
        return float(value[int(index.rstrip("]"))]) if index else 1.0
    return float(value)


def element_paths(scenario: Scenario, values: dict[str, float]) -> dict[str, float]:
    """The same values with a vector named without an index expanded to each of its elements."""
    params = dict(scenario.parameters())
    flat: dict[str, float] = {}
    for path, value in values.items():
        vector = params.get(path)
        if vector is not None and isinstance(vector.value, list):
            flat |= {f"{path}[{i}]": value for i in range(len(vector.value))}
        else:
            flat[path] = value
    return flat


def with_parameters(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """The scenario with fitted values; a vector named without an index is multiplied by its factor."""
    flat = element_paths(scenario, values)
    return scenario.with_values({p: v if p in values else parameter_value(scenario, p) * v for p, v in flat.items()})


@dataclass(frozen=True)
class Ensemble:
    """The parameter sets of one ensemble file, as factors on the best set (a tuple per row, in `paths` order)."""

    file: str
    paths: tuple[str, ...]
    trials: tuple[int, ...]
    weights: tuple[float, ...]  # sum 1
    factors: tuple[tuple[float, ...], ...]

    @classmethod
    def load(cls, path: Path, scenario: Scenario) -> Ensemble:
        """Read and check an ensemble file against the scenario it belongs to: one line per problem."""
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError) as err:
            raise ScenarioError([f"{path}: not a readable CSV file ({err})"]) from None
        problems = [f"{path}: column {c!r} missing (prevsim calibrate writes it)" for c in LEADING if c not in table]
        paths = [c for c in table.columns if c not in LEADING]
        if not paths:
            problems.append(f"{path}: no key path columns (prevsim calibrate writes one per fitted number)")
        if len(table) == 0:
            problems.append(f"{path}: no rows (prevsim calibrate writes at least the best parameter set)")
        for column in paths:
            try:
                parameter_value(scenario, column)
            except ScenarioError:
                problems.append(f"{path}: column {column!r}: {scenario.name} has no number at this key path")
        for column in [c for c in ("weight", *paths) if c in table]:
            values = pd.to_numeric(table[column], errors="coerce")
            for row in np.flatnonzero(~(values.notna() & np.isfinite(values) & (values >= 0)).to_numpy()):
                problems.append(
                    f"{path}: row {row + 2}, column {column!r}: {table[column].iloc[row]!r}: "
                    "must be a finite number >= 0"
                )
            if column != "weight":
                for row in np.flatnonzero((values == 0).to_numpy()):
                    problems.append(f"{path}: row {row + 2}, column {column!r}: 0: a parameter set's value is > 0")
        if not problems and not table["weight"].sum() > 0:
            problems.append(f"{path}: column 'weight': all 0: at least one parameter set must carry weight")
        if problems:
            raise ScenarioError(problems)
        best = table[paths].iloc[0]  # the written scenario's values: the best row comes first
        return cls(
            str(path),
            tuple(paths),
            tuple(int(t) for t in table["trial"]),
            tuple((table["weight"] / table["weight"].sum()).tolist()),
            tuple(tuple((row / best).tolist()) for _, row in table[paths].iterrows()),
        )

    def row(self, seed: int) -> int:
        """The row drawn for the replicate with seed `seed` (by weight)."""
        from model.uncertainty import quantile

        cumulative = np.cumsum(self.weights)
        return int(
            min(
                np.searchsorted(cumulative, quantile(seed, ENSEMBLE_KEY) * cumulative[-1], side="right"),
                len(self.weights) - 1,
            )
        )

    def applied(self, scenario: Scenario, seed: int) -> Scenario:
        """`scenario` with the drawn row's factors on its numbers (a probability capped at 1)."""
        factors = dict(zip(self.paths, self.factors[self.row(seed)], strict=True))
        flat = element_paths(scenario, factors)
        for path, factor in flat.items():
            value = parameter_value(scenario, path)
            if is_probability(path) and value * factor > 1:
                flat[path] = 1 / value
        return scenario.with_values({p: f for p, f in flat.items() if not math.isclose(f, 1.0)}, relative=True)

    def draws(self, scenario: Scenario, seeds: list[int]) -> pd.DataFrame:
        """Rows of parameter_draws.csv: per replicate the row drawn and the values it gives `scenario`."""
        from model.uncertainty import quantile

        params = dict(scenario.parameters())
        series = {p for p in self.paths if getattr(params.get(p), "by_year", None)}  # reported as their factor
        rows = []
        for r, seed in enumerate(seeds):
            drawn = self.applied(scenario, seed)
            row = self.row(seed)
            factors = dict(zip(self.paths, self.factors[row], strict=True))
            for path in element_paths(scenario, dict.fromkeys(self.paths, 1.0)):
                rows.append(
                    {
                        "replicate": r,
                        "scenario": scenario.name,
                        "parameter": path,
                        "quantile": quantile(seed, ENSEMBLE_KEY),
                        "value": factors[path] if path in series else parameter_value(drawn, path),
                        "of": "ensemble",
                        "source": f"{Path(self.file).name}, trial {self.trials[row]} (row {row + 1})"
                        + (": a factor on the series by year" if path in series else ""),
                    }
                )
        return pd.DataFrame(rows)
