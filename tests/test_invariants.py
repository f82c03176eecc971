"""Conservation invariants, checked every month for randomly drawn scenarios and seeds (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import DistrictModel
from model.families import NO_HELP
from model.parameters import YearParameters
from tests.conftest import assert_recorded_invariants, shrink

levers = st.fixed_dictionaries(
    {
        "burden.shock_hazard_per_month": st.floats(0.0, 0.08),
        "detection.report_hazard_per_month_by_level[3]": st.floats(0.0, 1.0),
        "detection.self_referral_hazard_per_month_by_level[1]": st.floats(0.0, 0.3),
        "youth_office.caseworkers_fte": st.floats(0.0, 30.0),
        "prevention.familienhebamme.budget_eur_per_year": st.floats(0.0, 500_000.0),
        "helps.intensive_familienhilfe.budget_eur_per_year": st.floats(0.0, 320_000.0),  # 0-10 places
        "helps.intensive_familiendiagnostik.budget_eur_per_year": st.floats(0.0, 130_000.0),  # 0-5 places
        "policy.diagnostics_first_share": st.floats(0.0, 1.0),
        "policy.placement_probability_level_4": st.floats(0.0, 1.0),
        "helps.heimerziehung_34.cost_per_day_eur": st.floats(1.0, 500.0),
    }
)


def check_month(model: DistrictModel, before: int) -> None:
    f, cat, tally, p = model.families, model.catalogue, model.tally, model.params
    n_helps = len(cat.help_names)
    # every family is in exactly one state: home, prevention only, waiting, or in exactly one help
    assert ((f.help >= NO_HELP) & (f.help < n_helps)).all()
    assert not (f.waiting & (f.help != NO_HELP)).any(), "waiting for a plan while in a help"
    out_of_home = (f.help != NO_HELP) & cat.in_role("out_of_home")[f.help]
    assert not (out_of_home & (f.prevention != NO_HELP)).any(), "prevention at home while placed"
    # population: last month + births + arrivals - exits
    arrivals = tally.begun_unaccompanied[cat.helps_with("crisis")].sum()
    assert len(f) == before + tally.births + arrivals - tally.exits
    # no negative counts or states
    assert (f.burden >= 0).all() and (f.protection >= 0).all() and (f.protection < 1).all()
    assert (f.level == np.minimum(f.burden, 4).astype(int)).all()
    assert (f.help_months_left[f.help != NO_HELP] >= 1).all()
    assert (f.age_months >= 0).all() and (f.age_months <= 252).all()
    # capacity: capped helps and budget-bought prevention places are never exceeded
    stock = np.bincount(f.help[f.help != NO_HELP], minlength=n_helps)
    assert (stock <= p.help_places).all()
    assert (model.places_taken == stock).all(), "the running count of places taken is the families' count"
    assert (tally.prevention_occupancy <= p.prevention_places).all()
    # cost is unit cost times occupancy
    np.testing.assert_allclose(tally.help_cost, tally.occupancy * p.help_cost_per_month, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        tally.prevention_cost, tally.prevention_occupancy * p.prevention_cost_per_month, rtol=0, atol=1e-9
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=levers, seed=st.integers(0, 2**32 - 1))
def test_invariants_hold_every_month(baseline, values, seed):
    scenario = shrink(baseline, inhabitants=4_000, burn_in_years=2, horizon_years=2).with_values(values)
    model = DistrictModel(scenario, seed)
    while model.month < model.horizon_months:
        before = len(model.families)
        model.step()
        check_month(model, before)
    assert_recorded_invariants(model.recorder.frame(), model.catalogue.help_names)


def test_a_help_budget_buys_whole_places(baseline):
    """4 places of intensive family help cost 4 x 12 x 2,654 EUR a year; one euro less buys 3."""
    helps = list(baseline.helps)
    for budget, places in ((127_392, 4), (127_391, 3), (0, 0)):
        s = baseline.with_values({"helps.intensive_familienhilfe.budget_eur_per_year": budget})
        assert YearParameters.of(s, 2025).help_places[helps.index("intensive_familienhilfe")] == places
