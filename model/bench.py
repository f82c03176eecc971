"""Benchmarks of the engine: family-months per second by district size, memory per family, scaling.

The district is the baseline scaled to a number of families (one slot per child, as in the engine); a run
times `months` monthly steps after `warmup` untimed ones (all within the burn-in of a baseline run).
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.scenario import Scenario
from model.simulation import DistrictModel

SIZES = (1_000, 10_000, 100_000, 1_000_000)


@dataclass
class Timing:
    engine: str
    families: int
    months: int
    seconds: list[float]
    peak_bytes_per_family: float

    @property
    def family_months_per_second(self) -> list[float]:
        return [self.families * self.months / s for s in self.seconds]

    def row(self) -> dict[str, float | int | str]:
        rates = self.family_months_per_second
        return {
            "engine": self.engine,
            "families": self.families,
            "months": self.months,
            "runs": len(self.seconds),
            "median_family_months_per_s": statistics.median(rates),
            "min_family_months_per_s": min(rates),
            "max_family_months_per_s": max(rates),
            "median_seconds": statistics.median(self.seconds),
            "peak_bytes_per_family": self.peak_bytes_per_family,
        }


def district_of(scenario: Scenario, families: int) -> Scenario:
    """The scenario scaled so that the initial population has about `families` families (minors)."""
    inhabitants = families / scenario.district.minors_share.value
    return scenario.with_values({"district.inhabitants": inhabitants})


def time_engine(
    scenario: Scenario,
    families: int,
    months: int,
    runs: int,
    warmup: int = 60,
    make: Callable = DistrictModel,
    name: str = "engine",
) -> Timing:
    """`runs` runs (seeds 0..runs-1) timed over `months` steps after `warmup` untimed ones (stocks fill up
    first), then one short traced run for the peak memory per family."""
    district = district_of(scenario, families)
    seconds = []
    for seed in range(runs):
        model = make(district, seed)
        for _ in range(warmup):
            model.step()
        started = time.perf_counter()
        for _ in range(months):
            model.step()
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()  # separately: tracing slows allocation down
    model = make(district, runs)
    for _ in range(min(months, 12)):
        model.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return Timing(name, families, months, seconds, peak / families)


def scaling_exponent(timings: list[Timing]) -> float:
    """Slope of log(time) over log(families): 1 means time grows linearly with the number of families."""
    x = np.log([t.families for t in timings])
    y = np.log([statistics.median(t.seconds) for t in timings])
    return float(np.polyfit(x, y, 1)[0])


# --- tasks users feel ----------------------------------------------------------------------------

SOBOL_SAMPLES, SOBOL_PARAMETERS = 1024, 12  # the Sobol the issue asks for: first order, N (k + 2) design points
TASK_POINTS = 64  # design points of the timed experiment


def sobol_runs(samples: int = SOBOL_SAMPLES, parameters: int = SOBOL_PARAMETERS, scenarios: int = 2) -> int:
    """Model runs of a first-order Sobol design with one replicate: N (k + 2) design points per scenario."""
    return samples * (parameters + 2) * scenarios


def time_compare(scenarios: list[Scenario], replicates: int, shared_past: bool) -> float:
    """Seconds of `compare` of the scenarios at `replicates` replicates on all cores."""
    from model.comparison import compare

    started = time.perf_counter()
    compare(scenarios, replicates, seed=1, shared_past=shared_past)
    return time.perf_counter() - started


def time_experiment(experiment, points: int, shared_past: bool) -> float:
    """Seconds of the experiment's first `points` design points (all replicates and scenarios) on all cores."""
    from model.experiment import LocalEvaluator, run_batch

    experiment.shared_past = shared_past
    size = experiment.spec.points_per_batch
    units = [range(start, min(start + size, points)) for start in range(0, points, size)]
    started = time.perf_counter()
    for _ in LocalEvaluator().map_unordered(run_batch, experiment, units):
        pass
    return time.perf_counter() - started


def back_to_back(task: Callable[[bool], float], repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of a task without and with the shared past, alternating (the machine's speed drifts)."""
    before, after = [], []
    for _ in range(repeats):
        before.append(task(False))
        after.append(task(True))
    return before, after
