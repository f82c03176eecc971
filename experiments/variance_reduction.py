"""How much common random numbers narrow the interval of a difference between two scenarios.

python experiments/variance_reduction.py [--alternative scenarios/osterode_prevention.toml] [--replicates 50]

Runs the baseline and the alternative with the same replicate seeds (paired, as `prevsim compare` does) and
the baseline once more with other seeds (independent), then prints, for key figures summed over the horizon,
the standard deviation over replicates of the difference both ways and their ratio. The ratio is also the
ratio of the widths of the intervals; (1 / ratio)^2 is how many more replicates independent seeds would need.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from model import compare, load_scenario, simulate

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "begun_heimerziehung_34",
    "begun_vollzeitpflege_33",
    "help_months_heimerziehung_34",
    "cost_eur_residential",
    "cost_eur_total",
)


def horizon_sums(result, figure: str) -> np.ndarray:
    return result.yearly()[figure].groupby(level="replicate").sum().to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alternative", type=Path, default=ROOT / "scenarios" / "osterode_prevention.toml")
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    baseline = load_scenario(ROOT / "scenarios" / "baseline.toml")
    paired = compare([baseline, load_scenario(args.alternative)], replicates=args.replicates, seed=args.seed)
    other_seeds = simulate(baseline, replicates=args.replicates, seed=args.seed + 1_000)
    alternative = paired.results[1]
    print(f"{alternative.scenario.name} - baseline, sum over the horizon, {args.replicates} replicates")
    print(f"{'figure':32} {'mean diff':>14} {'SD paired':>12} {'SD independent':>15} {'ratio':>6}")
    for figure in FIGURES:
        same = horizon_sums(alternative, figure) - horizon_sums(paired.reference, figure)
        independent = horizon_sums(alternative, figure) - horizon_sums(other_seeds, figure)
        sd_same, sd_independent = same.std(ddof=1), independent.std(ddof=1)
        print(
            f"{figure:32} {same.mean():14,.0f} {sd_same:12,.0f} {sd_independent:15,.0f} {sd_same / sd_independent:6.2f}"
        )


if __name__ == "__main__":
    main()
