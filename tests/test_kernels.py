"""Low-level pieces of the compiled engine that results rely on bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from model.families import FIELDS, Families
from model.kernels import pairwise_sum


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
