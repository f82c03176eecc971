"""Engine throughput on the baseline: family-months per second, median of several single-core runs.

python experiments/throughput.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from model import DistrictModel, load_scenario

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"


def family_months_per_second(seed: int) -> tuple[float, float]:
    scenario = load_scenario(BASELINE)
    model = DistrictModel(scenario, seed)
    family_months = 0
    started = time.perf_counter()
    while model.month < model.horizon_months:
        family_months += len(model.families)
        model.step()
    elapsed = time.perf_counter() - started
    return family_months / elapsed, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rates, times = zip(*(family_months_per_second(seed) for seed in range(args.runs)), strict=True)
    print(f"baseline, burn-in + horizon, {args.runs} runs on one core")
    median, low, high = statistics.median(rates), min(rates), max(rates)
    print(f"family-months per second: median {median:,.0f} (min {low:,.0f}, max {high:,.0f})")
    print(f"seconds per run: median {statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
