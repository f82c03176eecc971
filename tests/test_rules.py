"""Each rule of `model.rules` against values computed by hand (the ODD's formulas, docs/ODD.md).

These are the fast tests the mutation check (experiments/mutations.py) runs first: every factor, comparison
and age limit of a rule is pinned here by a case where it matters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from model import rules as rule
from model.parameters import ServiceNumbers
from model.rules import ADULT_MONTHS, MAX_AGE_MONTHS

approx = pytest.approx


def test_ages_are_those_of_the_law():
    assert ADULT_MONTHS == 216  # 18 years: §41 help for young adults
    assert MAX_AGE_MONTHS == 252  # 21 years: §41 helps end
    assert (rule.NEED_LEVEL, rule.ENDANGERMENT_LEVEL, rule.RESOLVED_LEVEL, rule.TOP_LEVEL) == (3, 4, 2, 4)


def test_frailty_is_log_normal_with_mean_one():
    assert rule.frailty(0.0, 0.3) == 1.0
    assert rule.frailty(0.5, 0.5) == approx(math.exp(-0.125))  # the median: exp(-sd^2/2)
    assert rule.frailty(0.5, 0.9) == approx(math.exp(0.5 * special.ndtri(0.9) - 0.125))
    assert rule.frailty(0.5, 0.1) < rule.frailty(0.5, 0.9)


@pytest.mark.parametrize(
    ("age", "in_help", "u", "ends"),
    [
        (ADULT_MONTHS - 1, True, 0.99, False),  # still a minor
        (ADULT_MONTHS, True, 0.3, False),  # turns 18, continues (u below 0.4)
        (ADULT_MONTHS, True, 0.4, True),  # turns 18, does not continue (u at the probability)
        (ADULT_MONTHS, False, 0.9, False),  # no help to end
        (ADULT_MONTHS + 1, True, 0.9, False),  # the decision is made once, at 18
        (MAX_AGE_MONTHS - 1, True, 0.9, False),
        (MAX_AGE_MONTHS, True, 0.0, True),  # at 21 every help ends
        (MAX_AGE_MONTHS + 1, True, 0.0, True),
        (MAX_AGE_MONTHS, False, 0.0, False),
    ],
)
def test_help_ends_with_age(age: int, in_help: bool, u: float, ends: bool):
    assert rule.help_ends_with_age(age, in_help, u, 0.4) == ends


@pytest.mark.parametrize(
    ("age", "in_help", "help_ends", "moving_away", "unaccompanied", "leaves"),
    [
        (ADULT_MONTHS - 1, False, False, False, False, False),  # a child stays
        (ADULT_MONTHS, False, False, False, False, False),  # a young adult without a help stays (§41 may begin)
        (ADULT_MONTHS, True, True, False, False, False),  # ... and one whose help ends at 18
        (MAX_AGE_MONTHS - 1, False, False, False, False, False),  # until 21
        (MAX_AGE_MONTHS, False, False, False, False, True),  # at 21 everybody leaves
        (MAX_AGE_MONTHS, True, False, False, False, True),
        (ADULT_MONTHS, False, False, False, True, True),  # an unaccompanied young adult out of help moves on
        (ADULT_MONTHS, True, True, False, True, True),  # ... when the help ends
        (ADULT_MONTHS, True, False, False, True, False),  # ... not while it runs (§41)
        (ADULT_MONTHS - 1, False, False, False, True, False),  # an unaccompanied minor stays
        (5, False, False, True, False, True),  # moving away
    ],
)
def test_leaves_district(
    age: int, in_help: bool, help_ends: bool, moving_away: bool, unaccompanied: bool, leaves: bool
):
    assert rule.leaves_district(age, in_help, help_ends, moving_away, unaccompanied) == leaves


def test_only_minors_are_assessed_and_young_adults_in_need_get_a_plan():
    assert rule.assessed_under_8a(ADULT_MONTHS - 1)
    assert not rule.assessed_under_8a(ADULT_MONTHS)
    assert not rule.young_adult_help_planned(rule.NEED_LEVEL - 1)
    assert rule.young_adult_help_planned(rule.NEED_LEVEL) and rule.young_adult_help_planned(rule.ENDANGERMENT_LEVEL)


ARRIVAL_SHARES = (0.08, 0.24, 0.68)  # the baseline's: aged 10-13, 14-15, 16-17
LAST = 1 - 2**-53  # the largest uniform draw below 1


@pytest.mark.parametrize(
    ("u_band", "u_month", "age"),
    [
        (0.0, 0.0, 120),  # aged 10-13: from the 10th birthday
        (0.04, 0.5, 144),  # ... the middle of the band's 48 months
        (0.08 - 1e-9, LAST, 167),  # ... to the last month before the 14th
        (0.08, 0.0, 168),  # aged 14-15 from u at the first share on
        (0.2, 0.5, 180),
        (0.08 + 0.24 - 1e-9, LAST, 191),
        (0.08 + 0.24, 0.0, 192),  # aged 16-17 from u at the first two shares on: the rest
        (0.5, 0.5, 204),
        (LAST, LAST, 215),  # the last month before the 18th
    ],
)
def test_arrival_age_months_by_band_then_month(u_band: float, u_month: float, age: int):
    assert rule.arrival_age_months(u_band, u_month, ARRIVAL_SHARES) == age


def test_arrival_ages_follow_the_shares_and_stay_within_10_to_17():
    n = 100_000
    rng = np.random.default_rng(2026)
    ages = np.array([rule.arrival_age_months(u, v, ARRIVAL_SHARES) for u, v in rng.random((n, 2))])
    assert ages.min() == 120 and ages.max() == 215  # 10 to 17 completed years
    assert len(np.unique(ages)) == 96  # every month of age in between
    bands = np.array([np.mean(ages < 168), np.mean((ages >= 168) & (ages < 192)), np.mean(ages >= 192)])
    shares = np.array(ARRIVAL_SHARES)
    standard_error = np.sqrt(shares * (1 - shares) / n)  # of a share among n binomial draws
    assert np.all(np.abs(bands - shares) < 4 * standard_error), (bands, 4 * standard_error)
    assert [rule.arrival_age_months(0.5, 0.5, s) for s in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))] == [
        144,
        180,
        204,
    ]


def test_pick_reads_a_small_table_and_minus_one_is_the_last():
    assert [rule.pick((5.0, 6.0, 7.0), i) for i in (0, 1, 2, -1)] == [5.0, 6.0, 7.0, 7.0]


# two services and the entry for no service (-1), as parameters.service_numbers makes them
SERVICES = ServiceNumbers(
    **{name: (0.0, 0.0, 0.0) for name in ServiceNumbers._fields}
    | {
        "shock_hazard_ratio_during": (0.6, 0.8, 1.0),
        "referral_hazard_ratio_during": (2.0, 1.5, 1.0),
        "protection_after_share": (0.3, 0.1, 0.0),
        "uptake_hazard_per_month": (0.05, 0.2, 0.0),
        "parenting_effect_share": (0.2, 0.05, 0.0),
    }
)
NONE = -1


# --- family circumstances ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("single", "u", "changes"),
    [
        (False, 0.0019, True),  # parents together separate (below the separation hazard)
        (False, 0.002, False),  # u at the hazard
        (False, 0.004, False),  # the new-partner hazard is not theirs
        (True, 0.0049, True),  # a single parent's new partner moves in
        (True, 0.005, False),  # u at the hazard
    ],
)
def test_household_changes(single: bool, u: float, changes: bool):
    assert rule.household_changes(single, u, 0.002, 0.005) == changes


def test_single_parent_share_at_age_moves_from_birth_towards_the_balance():
    h, r = 0.002, 0.006  # balance 0.25, the distance shrinks by 1 - 0.008 a month
    assert rule.single_parent_share_at_age(0.1, h, r, 0) == approx(0.1)
    assert rule.single_parent_share_at_age(0.1, h, r, 1) == approx(0.1 + h * 0.9 - r * 0.1)  # one month's flows
    assert rule.single_parent_share_at_age(0.1, h, r, 120) == approx(0.25 - 0.15 * 0.992**120)
    assert rule.single_parent_share_at_age(0.1, h, 0.0, 12) == approx(1 - 0.9 * 0.998**12)  # nobody finds a partner
    assert rule.single_parent_share_at_age(0.3, 0.0, r, 12) == approx(0.3 * 0.994**12)  # nobody separates
    assert rule.single_parent_share_at_age(0.3, 0.0, 0.0, 60) == 0.3  # nothing changes


def test_entry_hazard_keeps_the_share_on_transfer_benefits():
    assert rule.transfer_benefits_entry_hazard(0.02, 0.2) == approx(0.005)  # 0.8 x 0.005 = 0.2 x 0.02
    assert rule.transfer_benefits_entry_hazard(0.02, 0.5) == approx(0.02)
    assert rule.transfer_benefits_entry_hazard(0.02, 0.0) == 0.0
    assert rule.transfer_benefits_entry_hazard(0.02, 1.0) == 1.0  # every family of the type


@pytest.mark.parametrize(
    ("on_benefits", "moved", "u", "before", "after", "change"),
    [
        # no change of household: entry 0.01 off benefits, exit 0.03 on them
        (False, False, 0.0099, 0.1, 0.1, True),
        (False, False, 0.01, 0.1, 0.1, False),
        (True, False, 0.0299, 0.1, 0.1, True),
        (True, False, 0.03, 0.1, 0.1, False),
        # separation (share 0.1 -> 0.4): off benefits, they begin with (0.4 - 0.1) / (1 - 0.1) = 1/3
        (False, True, 0.333, 0.1, 0.4, True),
        (False, True, 0.334, 0.1, 0.4, False),
        (True, True, 0.0, 0.1, 0.4, False),  # on benefits already: they stay
        # a new partner (0.4 -> 0.1): on benefits, they end with (0.4 - 0.1) / 0.4 = 0.75
        (True, True, 0.749, 0.4, 0.1, True),
        (True, True, 0.751, 0.4, 0.1, False),
        (False, True, 0.0, 0.4, 0.1, False),  # off benefits: they stay off
        (False, True, 0.0, 0.2, 0.2, False),  # the same share either side: nothing follows
        (True, True, 0.0, 0.2, 0.2, False),
        (True, True, 0.0, 0.0, 0.0, False),  # no family of either type on benefits: no division by zero
        (False, True, 0.0, 1.0, 1.0, False),  # every family of either type on benefits
    ],
)
def test_transfer_benefits_change(on_benefits: bool, moved: bool, u: float, before: float, after: float, change: bool):
    assert rule.transfer_benefits_change(on_benefits, moved, u, before, after, 0.01, 0.03) == change


def test_transfer_benefits_following_a_change_keep_each_types_share():
    """A type's share after separations and new partners: the share of those who moved is the new type's."""
    single, couple = 0.408, 0.08
    begin = rule.transfer_benefits_change(False, True, 0.0, couple, single, 0.0, 0.0)  # u = 0: any p > 0 acts
    assert begin
    p_begin = (single - couple) / (1 - couple)
    p_end = (single - couple) / single
    assert couple + (1 - couple) * p_begin == approx(single)
    assert single * (1 - p_end) == approx(couple)
    assert rule.transfer_benefits_change(False, True, p_begin - 1e-9, couple, single, 0.0, 0.0)
    assert not rule.transfer_benefits_change(False, True, p_begin + 1e-9, couple, single, 0.0, 0.0)
    assert rule.transfer_benefits_change(True, True, p_end - 1e-9, single, couple, 0.0, 0.0)
    assert not rule.transfer_benefits_change(True, True, p_end + 1e-9, single, couple, 0.0, 0.0)


@pytest.mark.parametrize(
    ("had", "has", "ratio"),
    [
        (False, True, 3.0 * 1.6),  # begins: multiplied in
        (True, False, 3.0 / 1.6),  # ends: divided out
        (True, True, 3.0),
        (False, False, 3.0),
    ],
)
def test_shock_ratio_follows_a_factor(had: bool, has: bool, ratio: float):
    assert rule.shock_ratio_with_factor(3.0, had, has, 1.6) == approx(ratio)


def shock_hazard(family=1.0, age=1.0, protection=0.0, parenting=0.0, waiting=1.0, service=NONE) -> float:
    return rule.shock_hazard(0.01, family, age, protection, parenting, waiting, service, SERVICES)


def test_shock_hazard_multiplies_each_factor():
    assert shock_hazard(2.0, 1.5, 0.2, 0.5, 1.5, 1) == approx(0.01 * 2.0 * 1.5 * 0.8 * 0.5 * 1.5 * 0.8)
    base = shock_hazard()
    assert base == approx(0.01)
    assert shock_hazard(family=3.0) == approx(3 * base)  # the family's ratio
    assert shock_hazard(age=3.0) == approx(3 * base)  # the age band's ratio
    assert shock_hazard(protection=0.25) == approx(0.75 * base)  # protection
    assert shock_hazard(parenting=0.1) == approx(0.9 * base)  # a lasting change in parenting
    assert shock_hazard(waiting=2.0) == approx(2 * base)  # waiting for a help plan
    assert shock_hazard(service=0) == approx(0.6 * base)  # during prevention


def test_waiting_raises_the_hazard_only_while_waiting():
    assert rule.waiting_hazard_ratio(True, 1.7) == 1.7
    assert rule.waiting_hazard_ratio(False, 1.7) == 1.0


def test_shock_size_is_exponential():
    assert rule.shock_size_points(2.0, 0.0) == 0.0
    assert rule.shock_size_points(2.0, 1 - math.exp(-1)) == approx(2.0)  # the mean at the 63rd percentile
    assert rule.shock_size_points(2.0, 0.5) == approx(2.0 * math.log(2))


def test_burden_kept_reverts_and_relieves():
    assert rule.burden_kept(0.1, 0.0) == approx(0.9)
    assert rule.burden_kept(0.1, 0.2) == approx(0.9 * 0.8)
    assert rule.burden_kept(0.0, 0.2) == approx(0.8)


def test_expected_burden_balances_shocks_and_reversion():
    assert rule.expected_burden(0.02, 1.5, 0.1) == approx(0.02 * 1.5 / 0.1)


@pytest.mark.parametrize(
    ("burden", "level"), [(0.0, 0), (0.99, 0), (1.0, 1), (2.5, 2), (3.0, 3), (3.99, 3), (4.0, 4), (17.0, 4)]
)
def test_risk_level_counts_thresholds(burden: float, level: int):
    assert rule.risk_level(burden) == level


def test_protection_decays_and_the_stronger_counts():
    assert rule.decayed_protection(0.4, 0.5) == approx(0.2)
    assert rule.protection_after_prevention(0.1, 0.9, 0, SERVICES, 0.8) == (0.3, 0.8)  # the service's is stronger
    assert rule.protection_after_prevention(0.5, 0.9, 0, SERVICES, 0.8) == (0.5, 0.9)  # the family keeps its own
    assert rule.protection_after_prevention(0.3, 0.9, 0, SERVICES, 0.8) == (0.3, 0.8)  # equal: the newer decay
    assert rule.protection_after_prevention(0.2, 0.9, 1, SERVICES, 0.7) == (0.2, 0.9)  # the other service's


def test_parenting_change_builds_up_with_its_onset_and_lasts():
    growth = rule.parenting_growth_per_month(12.0)
    assert growth == approx(1 - math.exp(-1 / 12))
    assert rule.parenting_growth_per_month(1.0) > growth > rule.parenting_growth_per_month(48.0)
    assert rule.parenting_grown(0.1, 0.2, 0.25) == approx((0.15, 0.15))  # a quarter of the pending is realised
    assert rule.parenting_grown(0.3, 0.0, 0.25) == (0.3, 0.0)  # realised change lasts
    parenting, pending = 0.0, 0.2
    for _ in range(12):  # a year with a mean onset of 12 months: 1 - 1/e of the change
        parenting, pending = rule.parenting_grown(parenting, pending, growth)
    assert parenting == approx(0.2 * (1 - math.exp(-1)))
    assert parenting + pending == approx(0.2)


def test_parenting_after_prevention_takes_the_larger_change():
    # (parenting, pending, growth) -> (pending, growth); service 0 brings 0.2, service 1 0.05
    assert rule.parenting_after_prevention(0.0, 0.0, 0.0, 0, SERVICES, 0.1) == approx((0.2, 0.1))
    assert rule.parenting_after_prevention(0.05, 0.05, 0.3, 0, SERVICES, 0.1) == approx((0.15, 0.1))
    assert rule.parenting_after_prevention(0.1, 0.15, 0.3, 0, SERVICES, 0.1) == (0.15, 0.3)  # keeps its own
    assert rule.parenting_after_prevention(0.0, 0.0, 0.0, 1, SERVICES, 0.1) == approx((0.05, 0.1))
    assert rule.parenting_after_prevention(0.0, 0.2, 0.3, 0, SERVICES, 0.1) == (0.2, 0.3)  # a smaller one: as before


def test_prevention_reach_and_age_range():
    assert rule.prevention_reach(0, SERVICES, 2.0) == approx(0.1)
    assert rule.prevention_reach(1, SERVICES, 1.0) == approx(0.2)
    assert rule.in_age_range(0, 0, 12) and rule.in_age_range(12, 0, 12)
    assert not rule.in_age_range(13, 0, 12)
    assert not rule.in_age_range(5, 6, 12)


@pytest.mark.parametrize(
    ("in_help", "waiting", "level", "open_"),
    [(False, False, 1, True), (False, False, 0, False), (True, False, 3, False), (False, True, 3, False)],
)
def test_open_to_notice(in_help: bool, waiting: bool, level: int, open_: bool):
    assert rule.open_to_notice(in_help, waiting, level) == open_


def test_reports_reach_waiting_families_at_endangerment():
    assert rule.open_to_reports(False, False, 1) and rule.open_to_reports(False, False, 3)
    assert rule.open_to_reports(False, True, 4)  # a waiting family that escalates is assessed again
    assert not rule.open_to_reports(False, True, 3)  # its open case takes the report
    assert not rule.open_to_reports(True, False, 4)
    assert not rule.open_to_reports(False, False, 0)


def test_report_hazard_multiplies_each_factor():
    assert rule.report_hazard(0.02, 1.5, 0, SERVICES) == approx(0.06)
    assert rule.report_hazard(0.02, 1.0, 1, SERVICES) == approx(0.03)
    assert rule.report_hazard(0.02, 1.0, NONE, SERVICES) == approx(0.02)


def test_self_referral_hazard_is_lower_on_transfer_benefits_and_for_young_adults():
    minor, adult = ADULT_MONTHS - 1, ADULT_MONTHS
    assert rule.self_referral_hazard(0.06, False, 0.25, minor, 0.4) == 0.06
    assert rule.self_referral_hazard(0.06, True, 0.25, minor, 0.4) == approx(0.015)
    assert rule.self_referral_hazard(0.06, False, 0.25, adult, 0.4) == approx(0.024)  # from 18
    assert rule.self_referral_hazard(0.06, True, 0.25, adult, 0.4) == approx(0.006)


@pytest.mark.parametrize(
    ("ambulant", "level", "start_level", "u", "noticed"),
    [
        (True, 4, 3, 0.1, True),
        (True, 4, 3, 0.2, False),  # u at the probability
        (False, 4, 3, 0.1, False),  # not an ambulant help
        (True, 3, 2, 0.1, False),  # not endangered
        (True, 4, 4, 0.1, False),  # endangered already when the help began
    ],
)
def test_escalation_noticed(ambulant: bool, level: int, start_level: int, u: float, noticed: bool):
    assert rule.escalation_noticed(ambulant, level, start_level, u, 0.2) == noticed


@pytest.mark.parametrize(
    ("level", "age", "u", "outcome"),
    [
        (4, ADULT_MONTHS - 1, 0.1, rule.ACUTE),
        (4, ADULT_MONTHS - 1, 0.3, rule.LATENT),  # u at the acute share
        (4, ADULT_MONTHS, 0.1, rule.LATENT),  # a young adult is not taken into care
        (3, 60, 0.1, rule.NEED),
        (2, 60, 0.1, rule.NEITHER),
        (0, 60, 0.1, rule.NEITHER),
    ],
)
def test_assessment_outcome(level: int, age: int, u: float, outcome: int):
    assert rule.assessment_outcome(level, age, u, 0.3) == outcome


def test_case_closed_at_the_conference_once_the_need_has_resolved():
    assert rule.case_closed(2) and rule.case_closed(0)
    assert not rule.case_closed(3) and not rule.case_closed(4)


@pytest.mark.parametrize(
    ("failed", "level", "diagnosed", "u", "first"),
    [
        (True, 3, False, 0.1, True),
        (False, 4, False, 0.1, True),
        (False, 3, False, 0.1, False),  # not escalating
        (True, 3, True, 0.1, False),  # diagnosed already
        (True, 3, False, 0.5, False),  # u at the share
    ],
)
def test_diagnostics_first(failed: bool, level: int, diagnosed: bool, u: float, first: bool):
    assert rule.diagnostics_first(failed, level, diagnosed, u, 0.5) == first


def test_placement_probability():
    assert rule.placement_probability(0.2, False, 0.5, False, 0.6) == approx(0.2)
    assert rule.placement_probability(0.2, True, 0.5, False, 0.6) == approx(0.5)  # at least, after a failed help
    assert rule.placement_probability(0.7, True, 0.5, False, 0.6) == approx(0.7)
    assert rule.placement_probability(0.2, False, 0.5, True, 0.6) == approx(0.12)  # times the diagnosed ratio
    assert rule.placement_probability(0.2, True, 0.5, True, 0.6) == approx(0.3)


def test_choice_weight():
    assert rule.choice_weight(2.5, True, False, 0.6) == 2.5  # the ratio applies only to families on benefits
    assert rule.choice_weight(2.5, True, True, 0.6) == approx(1.5)
    assert rule.choice_weight(2.5, False, True, 0.6) == 0.0


def test_help_duration_is_log_normal_in_whole_months():
    assert rule.help_duration_months(math.log(12.0), 0.5, 0.5) == 12.0  # the median: exp(mu)
    assert rule.help_duration_months(math.log(12.4), 0.0, 0.3) == 12.0  # rounded
    assert rule.help_duration_months(math.log(12.6), 0.0, 0.3) == 13.0
    assert rule.help_duration_months(math.log(0.2), 0.0, 0.3) == 1.0  # at least one month
    u = 0.8
    assert rule.help_duration_months(1.0, 0.5, u) == round(math.exp(1.0 + 0.5 * special.ndtri(u)))


def test_resolved_at_level_2_or_below():
    assert rule.resolved(0) and rule.resolved(2)
    assert not rule.resolved(3)


@pytest.mark.parametrize(
    ("age", "level", "u", "transfers"),
    [
        (100, 3, 0.1, True),
        (100, 3, 0.4, False),  # u at the probability
        (100, 2, 0.1, False),  # home is no longer burdened
        (ADULT_MONTHS, 4, 0.1, False),  # an adult
        (ADULT_MONTHS - 1, 4, 0.1, True),
    ],
)
def test_transfers(age: int, level: int, u: float, transfers: bool):
    assert rule.transfers(age, level, u, 0.4) == transfers


@pytest.mark.parametrize(
    ("unaccompanied", "u", "follows"),
    [
        (True, 0.5, rule.STAYS_IN_CARE),
        (True, 0.7, rule.MOVES_ON),  # u at the residential probability
        (False, 0.1, rule.PLACED),
        (False, 0.2, rule.HOME),  # u at the placement probability
    ],
)
def test_after_crisis(unaccompanied: bool, u: float, follows: int):
    assert rule.after_crisis(unaccompanied, u, 0.7, 0.2) == follows


def test_back_on_waiting_list():
    assert rule.back_on_waiting_list(3, False)
    assert not rule.back_on_waiting_list(2, False)
    assert not rule.back_on_waiting_list(4, True)  # unaccompanied minors have no family here
