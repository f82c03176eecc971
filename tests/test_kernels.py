"""Low-level pieces of the compiled engine that results rely on bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from model.families import FIELDS, Families
from model.kernels import pairwise_sum


@given(st.lists(st.booleans(), min_size=1, max_size=300), st.integers(0, 40))
def test_remove_keeps_the_others_in_order_and_add_gives_defaults(leaves: list[bool], births: int):
    families = Families(len(leaves))
    families.id[:] = np.arange(len(leaves))
    families.burden[:] = np.arange(len(leaves)) / 7
    families.help[:] = np.arange(len(leaves)) % 5 - 1
    leaving = np.array(leaves)
    families.remove(np.flatnonzero(leaving))
    np.testing.assert_array_equal(families.id, np.flatnonzero(~leaving))
    np.testing.assert_array_equal(families.burden, np.flatnonzero(~leaving) / 7)
    np.testing.assert_array_equal(families.help, np.flatnonzero(~leaving) % 5 - 1)
    new = families.add(births)
    assert len(families) == (~leaving).sum() + births
    fresh = Families(births)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(families, name)[new], getattr(fresh, name))


def test_pairwise_sum_adds_as_numpy_does():
    rng = np.random.default_rng(1)
    for n in [*range(20), 127, 128, 129, 300, 1000]:
        values = rng.random(n) * (rng.random(n) > 0.3)
        assert pairwise_sum(values) == values.sum()
