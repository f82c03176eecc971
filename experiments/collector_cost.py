"""What Mesa's DataCollector costs: the share of a baseline run spent in `datacollector.collect`, timed in place.

python experiments/collector_cost.py [--runs 7]

Each run times every monthly `collect` call (burn-in included), then reading `model_vars` once after the run
(where the figures of all months are read from the recorder), and the whole run; the share is the ratio of
collecting and reading to the run, reported as the median over runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import mesa

from model import DistrictModel, load_scenario
from model.recorder import RecordCollector

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"


class TimedCollector(RecordCollector):
    """The model's collector, adding up the time spent collecting."""

    seconds = 0.0

    def collect(self, model: mesa.Model) -> None:
        started = time.perf_counter()
        super().collect(model)
        self.seconds += time.perf_counter() - started


def timed_run(seed: int) -> tuple[float, float, float]:
    """(seconds collecting, seconds reading model_vars, seconds of the whole run)."""
    model = DistrictModel(BASELINE, seed)
    model.datacollector = collector = TimedCollector(model.recorder, model.scenario.simulation.start_year)
    started = time.perf_counter()
    model.run()
    whole = time.perf_counter() - started
    started = time.perf_counter()
    assert len(collector.model_vars["month"]) == len(collector.model_vars["placements"])
    return collector.seconds, time.perf_counter() - started, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    scenario = load_scenario(BASELINE)
    timed_run(0)  # loads the compiled code
    runs = [timed_run(seed) for seed in range(1, args.runs + 1)]
    months = 12 * (scenario.simulation.burn_in_years + scenario.simulation.horizon_years)
    collecting, reading, whole = (statistics.median(column) for column in zip(*runs, strict=True))
    shares = [(c + r) / w for c, r, w in runs]
    print(f"baseline, {months} months per run, {args.runs} runs on one core (medians)")
    print(f"run: {whole:.3f} s; collect: {collecting / months * 1e6:.1f} us per month; reading: {reading * 1e3:.2f} ms")
    print(f"collect and reading: {100 * statistics.median(shares):.2f} % of a run", end=" ")
    print(f"(min {100 * min(shares):.2f} %, max {100 * max(shares):.2f} %)")


if __name__ == "__main__":
    main()
