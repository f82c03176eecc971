"""The fast engine against the reference model (one Mesa agent per family): equal in distribution.

The two draw from different generators, so single runs differ; over replicates the means of the key yearly
outcomes must agree within a tolerance derived from the replicates' own spread.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.families import NO_HELP
from model.reference import ReferenceModel, simulate_reference
from model.run import simulate
from model.scenario import Scenario
from tests.conftest import assert_recorded_invariants, shrink

REPLICATES = 16
TOLERANCE_SE = 4.0  # |difference of means| <= 4 standard errors of the difference
KEY_OUTCOMES = (
    "hze_cases_all",
    "cases_erziehungsberatung_28",
    "cases_spfh_31",
    "cases_heimerziehung_34",
    "cases_vollzeitpflege_33",
    "begun_heimerziehung_34",
    "begun_inobhutnahme_42",
    "cost_eur_total",
)


def small_district(baseline: Scenario) -> Scenario:
    return shrink(baseline, inhabitants=6_000, burn_in_years=5, horizon_years=3)


def per_replicate(yearly: pd.DataFrame) -> pd.DataFrame:
    """Mean over the horizon's years per replicate: replicates are independent, a replicate's years are not."""
    return yearly[list(KEY_OUTCOMES)].groupby(level="replicate").mean()


def test_engine_and_reference_agree_in_distribution(baseline):
    scenario = small_district(baseline)
    engine = per_replicate(simulate(scenario, replicates=REPLICATES, seed=11, workers=1).yearly())
    reference = per_replicate(simulate_reference(scenario, replicates=REPLICATES, seed=12).yearly())
    se = np.sqrt(engine.var(ddof=1) / len(engine) + reference.var(ddof=1) / len(reference))
    difference = engine.mean() - reference.mean()
    report = pd.DataFrame({"engine": engine.mean(), "reference": reference.mean(), "z": difference / se})
    assert (se > 0).all(), f"an outcome without spread cannot be compared:\n{report}"
    assert (difference.abs() <= TOLERANCE_SE * se).all(), f"means differ by more than {TOLERANCE_SE} SE:\n{report}"


@pytest.mark.parametrize(
    "values",
    [
        {},
        {  # capped places that bind: rationing in help planning and in grants
            "helps.intensive_familienhilfe.budget_eur_per_year": 64_000.0,
            "helps.intensive_familiendiagnostik.budget_eur_per_year": 26_000.0,
            "policy.diagnostics_first_share": 1.0,
            "youth_office.caseworkers_fte": 0.5,
        },
    ],
)
def test_reference_keeps_every_family_in_exactly_one_state(baseline, values):
    scenario = shrink(baseline, inhabitants=3_000, burn_in_years=2, horizon_years=2).with_values(values)
    model = ReferenceModel(scenario, seed=3)
    cat = model.catalogue
    while model.month < model.horizon_months:
        before = len(model.agents)
        model.step()
        f, tally, p = model.snapshot(), model.tally, model.params
        assert not (f.waiting & (f.help != NO_HELP)).any(), "waiting for a plan while in a help"
        out_of_home = (f.help != NO_HELP) & cat.in_role("out_of_home")[f.help]
        assert not (out_of_home & (f.prevention != NO_HELP)).any(), "prevention at home while placed"
        arrivals = tally.begun_unaccompanied[cat.helps_with("crisis")].sum()
        assert len(f) == before + tally.births + arrivals - tally.exits
        stock = np.bincount(f.help[f.help != NO_HELP], minlength=len(cat.help_names))
        np.testing.assert_array_equal(stock, model.places_taken)
        assert (stock <= p.help_places).all() and (tally.prevention_occupancy <= p.prevention_places).all()
        assert (f.level == np.minimum(f.burden, 4).astype(int)).all()
        assert (f.help_months_left[f.help != NO_HELP] >= 1).all()
        assert (f.age_months >= 0).all() and (f.age_months <= 252).all()
    frame = model.recorder.frame()
    assert_recorded_invariants(frame, cat.help_names)
    if values:
        assert frame["begun.intensive_familienhilfe"].sum() > 0, "the capped help was never granted"
