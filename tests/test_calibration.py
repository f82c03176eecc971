"""The baseline reproduces the national figures within +-15 %, with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest

from model import simulate
from model.calibration import CALIBRATION_TOLERANCE, targets

REPLICATES, SEED = 6, 2024  # not the calibration's seed: the check is out of sample


@pytest.fixture(scope="module")
def result(baseline):
    return simulate(baseline, replicates=REPLICATES, seed=SEED)


@pytest.fixture(scope="module")
def table(result):
    return result.calibration().set_index("target")


@pytest.mark.parametrize("target", [t.name for t in targets() if t.calibrated])
def test_calibrated_target_within_tolerance(table, target):
    row = table.loc[target]
    assert abs(row["ratio"] - 1) <= CALIBRATION_TOLERANCE, (
        f"{target}: model {row['model']} vs national {row['national']}"
    )


def test_every_target_is_computed(table):
    assert set(table.index) == {t.name for t in targets()}
    assert table["model"].notna().all()


def test_baseline_is_stationary(result):
    """No drift over the horizon: the first and last five years agree within the replicate spread."""
    yearly = result.yearly()
    for figure in ("hze_cases_all", "cases_heimerziehung_34", "hze_spending_per_resident_under_21"):
        per_replicate = yearly[figure].unstack("year")
        early, late = per_replicate.iloc[:, :5].mean(axis=1), per_replicate.iloc[:, -5:].mean(axis=1)
        difference = late - early
        spread = difference.std(ddof=1) / np.sqrt(len(difference))
        assert abs(difference.mean()) < 4 * spread + 0.03 * early.mean(), figure
