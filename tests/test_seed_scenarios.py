"""The programmes of the seed documents as scenarios: what the Osterode report says must show in the model."""

from __future__ import annotations

import numpy as np
import pytest

from model import load_scenario
from model.comparison import compare
from tests.conftest import ROOT, shrink

SEED_SCENARIOS = [
    "osterode_prevention",
    "osterode_cost_steering",
    "niedersachsen_network",
    "neuss_ambulant",
    "austerity",
    "combined",
]
FIRST_LEVER_YEAR = 2026


def scenario(name: str, **size):
    return shrink(load_scenario(ROOT / "scenarios" / f"{name}.toml"), **size)


def test_programmes_change_nothing_before_they_start():
    """Common random numbers: until the first lever year every scenario reproduces the baseline exactly."""
    size = {"inhabitants": 10_000, "burn_in_years": 2, "horizon_years": 2}
    names = ["baseline", *SEED_SCENARIOS]
    comparison = compare([scenario(n, **size) for n in names], replicates=2, seed=3)
    d = comparison.differences()
    before = d[d.index.get_level_values("year") < FIRST_LEVER_YEAR]
    assert (before == 0).all().all()
    after = d[d.index.get_level_values("year") == FIRST_LEVER_YEAR]
    for name in SEED_SCENARIOS:
        assert (after.loc[name] != 0).any().any(), f"{name} changes nothing in {FIRST_LEVER_YEAR}"


@pytest.fixture(scope="module")
def osterode():
    """Baseline and both Osterode levers, full district, 20 years, paired by replicate."""
    size = {"inhabitants": 100_000, "burn_in_years": 10, "horizon_years": 20}
    names = ["baseline", "osterode_prevention", "osterode_cost_steering"]
    net = compare([scenario(n, **size) for n in names], replicates=8, seed=7).cash_flows()["net_saving_eur"]
    return {name: net.loc[name].unstack("year") for name in names[1:]}  # replicate x year


def test_cost_steering_saves_only_while_it_lasts(osterode):
    net = osterode["osterode_cost_steering"]
    early = net.loc[:, 2026:2027].mean(axis=1)
    assert early.mean() > 5 * early.std(ddof=1) / np.sqrt(len(early))
    # the lower daily rate has faded out by 2031 and changes nothing the families do: no saving is left
    assert (net.loc[:, 2031:] == 0).all().all()


def test_prevention_saving_grows(osterode):
    net = osterode["osterode_prevention"]
    growth = net.loc[:, 2040:2044].mean(axis=1) - net.loc[:, 2026:2029].mean(axis=1)  # paired by replicate
    assert growth.mean() > 3 * growth.std(ddof=1) / np.sqrt(len(growth))
    assert net.loc[:, 2040:2044].mean(axis=1).mean() > 0  # and it pays in the later years
