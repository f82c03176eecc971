"""prevsim: families, risk and German youth services, month by month.

from model import load_scenario, simulate
result = simulate(load_scenario("scenarios/baseline.toml"), replicates=20, seed=1)
result.summary()        # per year and over the horizon, mean and 5-95 % range
result.write(Path("results"))
"""

from model.run import SimulationResult, simulate
from model.scenario import Scenario, ScenarioError, load_scenario
from model.simulation import DistrictModel

__all__ = ["DistrictModel", "Scenario", "ScenarioError", "SimulationResult", "load_scenario", "simulate"]
