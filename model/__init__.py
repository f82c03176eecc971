"""prevsim: families, risk and German youth services, month by month.

from model import load_scenario, simulate
result = simulate(load_scenario("scenarios/baseline.toml"), replicates=20, seed=1)
result.summary()        # per year and over the horizon, mean and 5-95 % range
result.write(Path("results"))

from model import compare
comparison = compare([load_scenario("scenarios/baseline.toml"), load_scenario("scenarios/osterode_prevention.toml")])
comparison.table()      # paired differences and economics against the first scenario
"""

from importlib import import_module
from typing import Any

# Loaded on first use (PEP 562), so that `prevsim --help` does not wait for numba, pandas and the model.
_HOME = {
    "Comparison": "model.comparison",
    "compare": "model.comparison",
    "SimulationResult": "model.run",
    "simulate": "model.run",
    "Scenario": "model.scenario",
    "ScenarioError": "model.scenario",
    "load_scenario": "model.scenario",
    "DistrictModel": "model.simulation",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)


__all__ = [
    "Comparison",
    "DistrictModel",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "compare",
    "load_scenario",
    "simulate",
]
