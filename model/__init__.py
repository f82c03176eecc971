"""prevsim: families, risk and German youth services, month by month.

from model import load_scenario, simulate
result = simulate(load_scenario("scenarios/baseline.toml"), replicates=20, seed=1)
result.summary()        # per year and over the horizon, mean and 5-95 % range
result.write(Path("results"))

from model import compare
comparison = compare([load_scenario("scenarios/baseline.toml"), load_scenario("scenarios/osterode_prevention.toml")])
comparison.table()      # paired differences and economics against the first scenario
"""

from model.comparison import Comparison, compare
from model.run import SimulationResult, simulate
from model.scenario import Scenario, ScenarioError, load_scenario
from model.simulation import DistrictModel

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
