"""Re-run the calibration of the baseline to the national figures (germany.toml).

    python experiments/calibrate.py                 # fit, print fitted values and the calibration table
    python experiments/calibrate.py --check         # only print the table for scenarios/baseline.toml

Mechanisms are fitted, not one knob per target: the burden-shock hazard and its age profile, detection
hazards, the placement policy and the durations of the long helps. The objective is the sum of squared
log ratios model/national over the calibrated targets, evaluated with common random numbers (fixed
replicate seeds), minimised by Nelder-Mead in log space; --write puts the fitted values into baseline.toml.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from model import ScenarioError, load_scenario, simulate
from model.district_fit import DEFAULT_FREE

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"
FITTED = (  # the mechanisms a district fit frees (model.district_fit), and the age profile and help durations
    *DEFAULT_FREE,
    "burden.age_hazard_ratio_by_band[2]",
    "helps.spfh_31.mean_duration_months",
    "helps.vollzeitpflege_33.mean_duration_months",
    "helps.heimerziehung_34.mean_duration_months",
)


def current_values(scenario) -> dict[str, float]:
    params = dict(scenario.parameters())
    values = {}
    for path in FITTED:
        name, _, index = path.partition("[")
        values[path] = params[name].value[int(index[:-1])] if index else params[name].value
    return values


def write_values(path: Path, values: dict[str, float]) -> None:
    """Put fitted values into the scenario file in place, keeping its comments and sources."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for key_path, number in values.items():
        dotted, _, index = key_path.partition("[")
        *table, key = dotted.split(".")
        header = f"[{'.'.join(table)}]"
        start = next(i for i, line in enumerate(lines) if line.strip() == header)
        row = next(i for i in range(start + 1, len(lines)) if re.match(rf"{re.escape(key)}\s*=", lines[i]))
        if index:
            inner = re.search(r"value = \[([^\]]*)\]", lines[row])
            items = [item.strip() for item in inner.group(1).split(",")]
            items[int(index[:-1])] = f"{number:.4g}"
            lines[row] = lines[row][: inner.start(1)] + ", ".join(items) + lines[row][inner.end(1) :]
        else:
            lines[row] = re.sub(r"value = [-0-9._e]+", f"value = {number:.4g}", lines[row], count=1)
    path.write_text("".join(lines), encoding="utf-8")


def loss(table: pd.DataFrame) -> float:
    fitted = table[table["calibrated"]]
    return float((np.log(fitted["ratio"]) ** 2).sum())


def evaluate(scenario, values: dict[str, float], replicates: int, seed: int) -> pd.DataFrame:
    return simulate(scenario.with_values(values), replicates=replicates, seed=seed).calibration()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--horizon-years", type=int, default=10, help="shorter than the baseline's 20 to save time")
    parser.add_argument("--check", action="store_true", help="only print the table for the baseline as it is")
    parser.add_argument("--write", action="store_true", help="write the fitted values into scenarios/baseline.toml")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    scenario = load_scenario(BASELINE)
    horizon = scenario.simulation.model_copy(update={"horizon_years": args.horizon_years})
    scenario = scenario.model_copy(update={"simulation": horizon})
    start = current_values(scenario)
    if not args.check:
        names = list(start)
        x0 = np.log([start[n] for n in names])

        def objective(x: np.ndarray) -> float:
            values = dict(zip(names, np.exp(x), strict=True))
            try:
                value = loss(evaluate(scenario, values, args.replicates, args.seed))
            except ScenarioError:  # the search pushed a probability above 1: reject the point
                return 1e9
            print(f"loss {value:8.4f} " + " ".join(f"{v:.4g}" for v in values.values()), flush=True)
            return value

        best = minimize(
            objective, x0, method="Nelder-Mead", options={"maxfev": args.iterations, "xatol": 0.01, "fatol": 1e-3}
        )
        start = dict(zip(names, np.exp(best.x), strict=True))
        print("\nfitted values:")
        for name, value in start.items():
            print(f"  {name} = {value:.4g}")
        if args.write:
            write_values(BASELINE, start)
            print(f"written into {BASELINE}")
    table = evaluate(scenario, start, args.replicates, args.seed)
    print(table.drop(columns=["source"]).to_string(index=False))
    print(f"loss {loss(table):.4f}")


if __name__ == "__main__":
    main()
