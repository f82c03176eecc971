"""Low-level pieces of the compiled engine that results rely on bit for bit."""

from __future__ import annotations

import numba as nb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from model import kernels, load_scenario, rules
from model.families import FIELDS, Families
from model.kernels import pairwise_sum
from model.simulation import DistrictModel
from tests.conftest import BASELINE, ROOT, shrink


@settings(deadline=None)  # the first example loads (or compiles) the removal kernel
@given(st.lists(st.tuples(st.lists(st.booleans(), max_size=300), st.integers(0, 60)), min_size=1, max_size=6))
def test_remove_keeps_the_others_in_order_and_add_gives_defaults(months: list[tuple[list[bool], int]]):
    families, ids, next_id = Families(0), np.zeros(0, dtype=np.int64), 0  # ids: what the families should be
    for leaves, births in months:
        leaving = np.array(leaves[: len(families)] + [False] * (len(families) - len(leaves)), dtype=bool)
        if births % 2:  # both ways of removing and adding
            new = families.renew(np.flatnonzero(leaving), births)
        else:
            families.remove(np.flatnonzero(leaving))
            new = families.add(births)
        ids = ids[~leaving]
        fresh = Families(births)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(families, name)[new], getattr(fresh, name))
        families.id[new] = np.arange(next_id, next_id + births)
        families.burden[new] = families.id[new] / 7
        families.help[new] = families.id[new] % 5 - 1
        ids = np.concatenate([ids, np.arange(next_id, next_id + births)])
        next_id += births
        np.testing.assert_array_equal(families.id, ids)
        np.testing.assert_array_equal(families.burden, ids / 7)
        np.testing.assert_array_equal(families.help, ids % 5 - 1)


def test_pairwise_sum_adds_as_numpy_does():
    rng = np.random.default_rng(1)
    for n in [*range(20), 127, 128, 129, 300, 1000]:
        values = rng.random(n) * (rng.random(n) > 0.3)
        assert pairwise_sum(values) == values.sum()


@nb.njit
def _quantiles(p: np.ndarray) -> np.ndarray:
    return np.array([rules.ndtri(x) for x in p])


@nb.njit
def _picks(table: tuple, index: np.ndarray) -> np.ndarray:
    return np.array([rules.pick(table, i) for i in index])


def test_ndtri_is_scipys_to_the_last_bit():
    u = np.random.default_rng(2).random(100_000)
    u = np.concatenate([u, [1e-300, 1e-20, 0.5, 1 - 1e-16, 0.0, 1.0]])
    np.testing.assert_array_equal(_quantiles(u), special.ndtri(u))


@settings(deadline=None)  # each length of table is compiled once
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=8), st.data())
def test_pick_is_indexing(values: list[float], data):
    index = np.array(data.draw(st.lists(st.integers(-1, len(values) - 1), max_size=30)), dtype=np.int64)
    np.testing.assert_array_equal(_picks(tuple(values), index), np.array(values)[index])


@settings(deadline=None)
@given(st.lists(st.booleans(), max_size=100))
def test_indices_are_flatnonzero(mask: list[bool]):
    mask = np.array(mask, dtype=np.bool_)
    np.testing.assert_array_equal(kernels.indices(mask), np.flatnonzero(mask))


def _record(model: DistrictModel) -> np.ndarray:
    return model.run().values


def test_compiled_entry_points_give_what_the_dispatcher_gives():
    """The model calls its phases' compiled functions directly (kernels.phases_for); numba's dispatcher,
    which checks and converts every argument, must give the same record."""
    scenario = shrink(load_scenario(ROOT / "scenarios" / "osterode_prevention.toml"), 10_000, 2, 2)
    direct = DistrictModel(scenario, 3)
    dispatched = DistrictModel(scenario, 3)
    dispatched.phases = kernels.Phases(**{name: getattr(kernels, name) for name in kernels.Phases._fields})
    np.testing.assert_array_equal(_record(direct), _record(dispatched))


def test_parameters_resolved_only_when_a_number_changes_as_every_year():
    """Parameters are resolved again only in years of change (Scenario.years_of_change): the same record as
    resolving them every January."""
    scenario = shrink(load_scenario(ROOT / "scenarios" / "osterode_prevention.toml"), 10_000, 2, 6)
    assert scenario.years_of_change(), "the test needs a scenario whose numbers change by year"
    assert not load_scenario(BASELINE).years_of_change()
    every_year = DistrictModel(scenario, 4)
    every_year.years_of_change = range(1900, 2200)
    np.testing.assert_array_equal(_record(DistrictModel(scenario, 4)), _record(every_year))
