"""Parameter uncertainty: one drawn set of uncertain numbers per replicate, the same for every scenario.

A number of a scenario may carry a range (`uncertainty = { distribution, low, high, peak, of, source }`,
`model.scenario.Range`). With parameter uncertainty on, replicate r of a run draws, for every number with a
range, a quantile u in [0, 1) from a stream of its own: keyed by the replicate's seed, the tag "parameters" and
the number's key path, so it is independent of the model's streams (`model.streams`), of the other numbers,
of the order of the scenarios and of the number of worker processes. Each scenario maps the same u through its
own range (inverse distribution function): where two scenarios give a number the same range they get the same
value (common random numbers in parameter space); where a programme states its own range for a number it
changes (an effect size of its own), the draws of the two are rank-correlated completely, so that an
optimistic replicate is optimistic for every scenario. A number without a range keeps its value.

The interval over replicates then holds both the noise between replicates and the uncertainty of the numbers:
a probabilistic sensitivity analysis in the manner of WSIPP's Monte Carlo benefit-cost estimates.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.scenario import Range, Scenario, _Param

if TYPE_CHECKING:
    from model.ensemble import Ensemble

PARAMETER_STREAM = "parameters"  # the tag of the draws of uncertain numbers; no model stream has it
MODES = {False: "replicate noise only", True: "parameter uncertainty + replicate noise"}  # comparison.csv, manifest


def mode(uncertainty: bool) -> str:
    """What the intervals and chances of a run cover, as written in comparison.csv and manifest.json."""
    return MODES[uncertainty]


def uncertain_numbers(scenario: Scenario) -> list[tuple[str, _Param]]:
    """The numbers of `scenario` that carry a range, by key path."""
    return [(path, p) for path, p in scenario.parameters() if isinstance(p, _Param) and p.uncertainty is not None]


def quantile(seed: int, path: str) -> float:
    """The quantile in [0, 1) drawn for the number at `path` in the replicate with seed `seed`."""
    entropy = [seed, zlib.crc32(PARAMETER_STREAM.encode()), zlib.crc32(path.encode())]
    return float(np.random.default_rng(np.random.SeedSequence(entropy)).random())


def inverse(u: float, r: Range) -> float:
    """The value of the distribution `r` at quantile u (its inverse distribution function)."""
    width = r.high - r.low
    if r.distribution == "uniform":
        return r.low + u * width
    assert r.peak is not None  # Range's validator: a triangular distribution has a peak
    rising = (r.peak - r.low) / width  # the share of the mass below the peak
    if u < rising:
        return r.low + math.sqrt(u * width * (r.peak - r.low))
    return r.high - math.sqrt((1 - u) * width * (r.high - r.peak))


def drawn_values(scenario: Scenario, seed: int) -> dict[str, float]:
    """The drawn value of every uncertain number of `scenario` in the replicate with seed `seed` (for a range
    `of = "change"`, the value at full scale)."""
    return {path: inverse(quantile(seed, path), p.uncertainty) for path, p in uncertain_numbers(scenario)}  # type: ignore[arg-type]


def drawn(scenario: Scenario, seed: int, ensemble: Ensemble | None = None) -> Scenario:
    """`scenario` with its uncertain numbers drawn for the replicate with seed `seed` (first a parameter set of
    the district's `ensemble`, `model.ensemble`); the ranges stay, so the same call on the result draws the same
    numbers again."""
    if ensemble is not None:
        scenario = ensemble.applied(scenario, seed)
    draws = drawn_values(scenario, seed)
    if not draws:
        return scenario
    data = scenario.model_dump(mode="python")
    for path, p in uncertain_numbers(scenario):
        node = data
        for part in path.split("."):
            node = node[part]
        number = draws[path]
        node["by_year"] = p.drawn(number)
        if p.uncertainty.of == "value":  # type: ignore[union-attr]
            node["value"] = number
    return Scenario.model_validate(data)


def run_drawn(
    run: Callable[[Sequence[Scenario], int], list[np.ndarray]],
    scenarios: Sequence[Scenario],
    seed: int,
    ensemble: Ensemble | None = None,
) -> list[np.ndarray]:
    """`run` (one replicate of each scenario) on the scenarios with their numbers drawn for `seed`."""
    return run([drawn(s, seed, ensemble) for s in scenarios], seed)


def draws_table(scenarios: Sequence[Scenario], seeds: Sequence[int], ensemble: Ensemble | None = None) -> pd.DataFrame:
    """parameter_draws.csv: per replicate, scenario and uncertain number its quantile and drawn value; with an
    `ensemble`, also the parameter set drawn and the values it gives each scenario (`of` = "ensemble")."""
    rows = [
        {
            "replicate": r,
            "scenario": s.name,
            "parameter": path,
            "quantile": quantile(seed, path),
            "value": value,
            "of": p.uncertainty.of,  # type: ignore[union-attr]
            "source": p.uncertainty.source,  # type: ignore[union-attr]
        }
        for r, seed in enumerate(seeds)
        for s in scenarios
        for (path, p), value in zip(uncertain_numbers(s), drawn_values(s, seed).values(), strict=True)
    ]
    columns = ["replicate", "scenario", "parameter", "quantile", "value", "of", "source"]
    sets = [ensemble.draws(s, list(seeds)) for s in scenarios] if ensemble else []
    return pd.concat([pd.DataFrame(rows, columns=columns), *sets], ignore_index=True)
