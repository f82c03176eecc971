"""Same scenario + seed gives identical output, whatever the number of worker processes."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from model import simulate
from model.run import replicate_seeds


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_identical_parquet_whatever_the_workers(small, tmp_path):
    one = simulate(small, replicates=3, seed=7, workers=1)
    two = simulate(small, replicates=3, seed=7, workers=2)
    first = one.write(tmp_path / "a")
    second = two.write(tmp_path / "b")
    pd.testing.assert_frame_equal(
        pd.read_parquet(first / "timeseries.parquet"), pd.read_parquet(second / "timeseries.parquet")
    )
    assert _digest(first / "timeseries.parquet") == _digest(second / "timeseries.parquet")
    assert (first / "summary.csv").read_text() == (second / "summary.csv").read_text()


def test_other_seed_other_output(small):
    a = simulate(small, replicates=1, seed=1, workers=1)
    b = simulate(small, replicates=1, seed=2, workers=1)
    assert not np.array_equal(a.values, b.values)


def test_replicate_seeds_come_from_seed_sequence_spawn():
    seeds = replicate_seeds(5, 4)
    assert len(set(seeds)) == 4
    assert replicate_seeds(5, 6)[:4] == seeds  # adding replicates keeps the earlier ones


def test_common_random_numbers_until_a_lever_changes(small):
    """A budget raised from the second reported year leaves the first year identical, and changes later years."""
    start = small.simulation.start_year
    small = small.with_values({"prevention.familienhebamme.budget_eur_per_year": 3_000})  # one place: binding
    service = small.prevention["familienhebamme"]
    budget = service.budget_eur_per_year.model_copy(update={"by_year": {start + 1: 300_000.0}})
    changed = small.model_copy(
        update={
            "prevention": {
                **small.prevention,
                "familienhebamme": service.model_copy(update={"budget_eur_per_year": budget}),
            }
        }
    )
    base = simulate(small, replicates=1, seed=3, workers=1).values[0]
    lever = simulate(changed, replicates=1, seed=3, workers=1).values[0]
    np.testing.assert_array_equal(base[:12], lever[:12])
    assert not np.array_equal(base[12:], lever[12:])
