"""Shared fixtures: the baseline scenario, and small fast variants of it for invariant tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"


def shrink(scenario: Scenario, inhabitants: float = 5_000, burn_in_years: int = 3, horizon_years: int = 3) -> Scenario:
    """The same rules for a smaller district and a shorter run."""
    smaller = scenario.with_values({"district.inhabitants": inhabitants})
    simulation = smaller.simulation.model_copy(update={"burn_in_years": burn_in_years, "horizon_years": horizon_years})
    return smaller.model_copy(update={"simulation": simulation})


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def small(baseline: Scenario) -> Scenario:
    return shrink(baseline)
