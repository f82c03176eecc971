"""Under common random numbers, more capacity for an effective preventive service never raises level 4."""

from __future__ import annotations

import itertools

import numpy as np

from model import simulate
from tests.conftest import shrink

REPLICATES = 8


def level_4_family_months(scenario, budget: float) -> np.ndarray:
    """Families at level 4, summed over the reported months, per replicate (same seeds for every budget)."""
    values = {"prevention.familienhebamme.budget_eur_per_year": budget}
    result = simulate(scenario.with_values(values), replicates=REPLICATES, seed=99)
    return result.wide()["families.level_4"].groupby(level="replicate").sum().to_numpy()


def test_more_home_visiting_places_never_raise_level_4(baseline):
    scenario = shrink(baseline, inhabitants=50_000, burn_in_years=3, horizon_years=8)
    budgets = [0.0, 60_000.0, 240_000.0, 960_000.0]
    outcomes = [level_4_family_months(scenario, b) for b in budgets]
    for less, more in itertools.pairwise(outcomes):
        difference = more - less  # paired by replicate seed
        spread = difference.std(ddof=1) / np.sqrt(REPLICATES)
        assert difference.mean() <= 2 * spread, (difference.mean(), spread)
    # and the effect is real: the largest programme lowers level 4 clearly
    total = outcomes[-1] - outcomes[0]
    assert total.mean() < -3 * total.std(ddof=1) / np.sqrt(REPLICATES)
