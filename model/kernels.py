"""Compiled (numba) code of the month: the phases, and the passes over the families they are made of.

`DistrictModel.step` (model/simulation.py) calls the phases in their order; each phase is one compiled call
over the families' arrays (`fam`, a namedtuple of `Families`' fields), the rules in force (`rules`,
`parameters.Rules`), the month's counters and the keys of its random streams. Inside, a phase reads top
to bottom like the rules it implements (`reach_and_detection` reports, assesses, notices escalations,
grants counselling; `help_outcomes` ends helps and settles what follows).

Where a loop visits every family it is written to run on vector instructions: no branches (`&` instead
of `and`), small tables as tuples picked by comparison (`pick`) instead of gathers, and every family
drawing the stream's number where a branch would have drawn for some (a draw depends only on the stream,
the month and the family id, so extra draws change nothing and common random numbers are kept).

Results are those of the array version the engine began as: the same draws, the same floating-point
operations in the same order (no fast-math; a row of weights is summed as NumPy sums it, `pairwise_sum`;
the normal quantile is SciPy's own C function, `ndtri`). Only `exp` and `log1p` are the C library's
rather than NumPy's, which may differ in the last bit; a duration is rounded to whole months and a level
cut at whole burden points, so that changes a result only at an exact tie. `experiments/fingerprint.py`
checks the bits of four runs, the main job's comparison.csv compares 100 runs byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numba as nb
import numpy as np
from numba.core import types

from model import families, microdata, parameters, streams
from model import rules as rule
from model.families import NO_HELP
from model.microdata import (
    AFTER_CRISIS_ROUTE,
    ASSESSED,
    ASSESSMENT_ROUTE,
    BEGUN,
    CRISIS_INTAKE_ROUTE,
    ENDED,
    HELP_PLAN_ROUTE,
    SELF_REFERRAL_ROUTE,
    TRANSFER_ROUTE,
)
from model.parameters import (
    AGE_BAND_STARTS,
    CRISIS,
    DIAGNOSTIC,
    HELP_PLAN,
    PLACEMENT,
    SELF_REFERRAL,
    SGB2_POVERTY,
    SINGLE_PARENT,
)
from model.rules import pick
from model.streams import draw, position


@nb.njit(cache=True, inline="always")
def band_of(age_months: int, band_starts: tuple[int, ...]) -> int:
    """Index of the age band: how many band starts (after the first) the age has reached."""
    band = 0
    for start in band_starts:
        band += age_months >= start
    return band


@nb.njit(cache=True)
def indices(mask: np.ndarray) -> np.ndarray:
    """The ascending indices where mask is true (np.flatnonzero): counted first, so that the result takes
    only the memory it needs; then found looking at eight at a time, mostly none."""
    n = 0
    for x in mask:
        n += x
    found = np.empty(n, dtype=np.int64)
    n = 0
    whole = len(mask) - len(mask) % 8
    for w, eight in enumerate(mask[:whole].view(np.uint64)):
        if eight:
            for i in range(8 * w, 8 * w + 8):
                if mask[i]:
                    found[n] = i
                    n += 1
    for i in range(whole, len(mask)):
        if mask[i]:
            found[n] = i
            n += 1
    return found


@nb.njit(cache=True)
def pairwise_sum(values: np.ndarray) -> float:
    """The sum of a contiguous row as NumPy's `sum` adds it (pairwise, eight partial sums), to the last bit."""
    n = len(values)
    if n < 8:
        total = 0.0
        for x in values:
            total += x
        return total
    if n > 128:  # NumPy's block size
        half = n // 2
        half -= half % 8
        return pairwise_sum(values[:half]) + pairwise_sum(values[half:])
    partial = values[:8].copy()
    i = 8
    while i < n - n % 8:
        partial += values[i : i + 8]
        i += 8
    total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + (
        (partial[4] + partial[5]) + (partial[6] + partial[7])
    )
    for x in values[i:]:
        total += x
    return total


@nb.njit(cache=True)
def census(fam, n_helps: int, n_services: int):
    """Month-end counts: stock per help (all, unaccompanied), per prevention service, resident children (minors)
    per risk level, families in each state of `recorder.STATES` (in a help they are counted by help),
    unaccompanied, and resident children at high risk (`rules.NEED_LEVEL` or above) with neither a help nor a
    prevention service."""
    help, prevention = fam.help, fam.prevention
    stock = np.zeros(n_helps, dtype=np.int64)
    stock_alone = np.zeros(n_helps, dtype=np.int64)
    prevention_stock = np.zeros(n_services, dtype=np.int64)
    levels = np.zeros(rule.TOP_LEVEL + 1, dtype=np.int64)
    states = np.zeros(3, dtype=np.int64)  # recorder.STATES: home, prevention only, waiting
    alone = unhelped = 0
    for i in range(len(help)):
        if fam.unaccompanied[i]:
            alone += 1
        elif fam.age_months[i] < rule.ADULT_MONTHS:  # children: young adults are not counted by risk level
            levels[fam.level[i]] += 1
            unhelped += (fam.level[i] >= rule.NEED_LEVEL) & (help[i] == NO_HELP) & (prevention[i] == NO_HELP)
        if prevention[i] != NO_HELP:
            prevention_stock[prevention[i]] += 1
        if help[i] != NO_HELP:
            stock[help[i]] += 1
            stock_alone[help[i]] += fam.unaccompanied[i]
        elif fam.waiting[i]:
            states[2] += 1
        else:
            states[1 if prevention[i] != NO_HELP else 0] += 1
    return stock, stock_alone, prevention_stock, levels, states, alone, unhelped


@nb.njit(cache=True, inline="always")
def _put(row: np.ndarray, k: int, values: np.ndarray) -> int:
    """row[k:] begins with values; where the next part begins."""
    row[k : k + len(values)] = values
    return k + len(values)


@nb.njit(cache=True)
def record(row: np.ndarray, fam, tally, help_cost, prevention_cost, layout, demography: tuple[int, int, float]) -> None:
    """The month's row of `recorder.Recorder.metrics`, in their order: the census (`census`), the tallies per
    help (then the cost) and per service (the stock, the tallies, the cost), cost by category (`layout`,
    recorder.RecordLayout), in total and of HzE, §8a outcomes, levels, states, residents, the demography
    (births, exits, under-21 population) and the children at high risk without help. Sums are NumPy's
    (`pairwise_sum`), cost by category adds in help order as np.bincount does."""
    n_helps, n_services = len(help_cost), len(prevention_cost)
    stock, stock_alone, prevention_stock, levels, states, alone, unhelped = census(fam, n_helps, n_services)
    k = 0
    per_help = (tally.begun, tally.begun_unaccompanied, tally.ended, tally.ended_months, tally.ended_resolved)
    for values in (stock, stock_alone, *per_help, tally.occupancy):
        k = _put(row, k, values)
    k = _put(row, k, help_cost)
    for values in (prevention_stock, tally.prevention_begun, tally.prevention_occupancy):
        k = _put(row, k, values)
    k = _put(row, k, prevention_cost)
    n_categories, help_category, counts_as_hze = layout.n_categories, layout.help_category, layout.counts_as_hze
    assessments, (births, exits, under_21) = tally.assessments, demography
    category_cost = np.zeros(n_categories)
    for h in range(n_helps):
        category_cost[help_category[h]] += help_cost[h]
    category_cost[layout.prevention_category] += pairwise_sum(prevention_cost)
    row[k : k + n_categories] = category_cost
    k += n_categories
    row[k] = pairwise_sum(category_cost)
    row[k + 1] = pairwise_sum(help_cost[counts_as_hze])
    k += 2
    row[k : k + len(assessments)] = assessments
    k += len(assessments)
    k = _put(row, k, levels)
    k = _put(row, k, states)
    row[k] = len(fam.help) - alone
    row[k + 1] = alone
    row[k + 2] = births
    row[k + 3] = exits
    row[k + 4] = under_21
    row[k + 5] = unhelped


@nb.njit(cache=True)
def choose_helps(key: np.uint64, month: int, fam, idx: np.ndarray, helps: np.ndarray, rules, free: np.ndarray):
    """For each family in idx (in priority order), the position in `helps` of the help it gets, or NO_HELP.

    A family draws one of the helps open to its level, by the helps' weights for its age band
    (`rules.choice_weight`). Where more families draw a capped help than it has free places, the first in idx
    keep it; the others draw again (the same draw) among the helps left to them, until every family has a
    help or none is left.
    """
    at = position(month)
    weights = np.empty((len(idx), len(helps)))
    u = np.empty(len(idx))
    for r in range(len(idx)):
        i = idx[r]
        band = band_of(fam.age_months[i], AGE_BAND_STARTS)
        for j in range(len(helps)):
            h = helps[j]
            weights[r, j] = rule.choice_weight(
                rules.weight_by_age_band[h, band],
                rules.help_level_ok[h, fam.level[i]],
                fam.sgb2_poverty[i],
                rules.choice_weight_ratio_transfer_benefits[h],
            )
        u[r] = draw(key, at, fam.id[i])
    choice = np.full(len(idx), NO_HELP, dtype=np.int64)
    pending = np.arange(len(idx))
    while len(pending):
        for r in pending:
            w = weights[r]
            total = pairwise_sum(w)
            if total <= 0:
                continue  # nothing left open to this family
            pick, cumulative = 0, 0.0
            for j in range(len(helps)):
                cumulative += w[j]
                pick += cumulative / total < u[r]
            if pick == len(helps):  # rounding left the last cumulative weight below u: the last open help
                pick = len(helps) - 1
                while w[pick] <= 0:
                    pick -= 1
            choice[r] = pick
        losers = []
        for j in range(len(helps)):
            if not np.isfinite(free[j]):
                continue
            place = 0
            for r in range(len(idx)):
                if choice[r] == j:
                    place += 1
                    if place > max(free[j], 0):
                        choice[r] = NO_HELP
                        weights[r, j] = 0.0
                        losers.append(r)
        pending = np.array(losers, dtype=np.int64)
    return choice


MOST_MONTHS_STORED = 2**15 - 1  # a family's months of help are int16 (families.FIELDS): a draw beyond is cut


class Newcomers(NamedTuple):
    """A month's new families: `births` in the slots from `first`, then `arrivals` (unaccompanied minors)
    after them, with ids counted on from `first_id` and `first_unaccompanied_id`."""

    first: int
    births: int
    first_id: int
    arrivals: int
    first_unaccompanied_id: int


class Route(NamedTuple):
    """One route into help (microdata.ROUTES) and its random streams: which help is chosen, and how long it is
    planned for."""

    code: int
    choice: np.uint64
    duration: np.uint64


@nb.njit(cache=True)
def log_event(
    events, kind: int, fam, i: int, code: int, route: int = -1, months: int = 0, as_planned=False, in_service=False
) -> None:
    """A row of microdata (`microdata.EventLog`) about family i, if the log has room: `code` is the help, or an
    assessment's outcome; the family's circumstances now, or for a help ended when it began (as the statistics
    record them). Without microdata `events` is None: numba drops the branch below for that type, so the
    phases compiled for it do no logging at all."""
    if events is None:
        return
    row = events.rows[0]
    if row >= len(events.kind):
        return
    events.kind[row] = kind
    events.help[row] = code
    events.age_months[row] = fam.age_months[i]
    ended = kind == ENDED
    events.transfer_benefits[row] = fam.help_start_sgb2_poverty[i] if ended else fam.sgb2_poverty[i]
    events.single_parent[row] = fam.help_start_single_parent[i] if ended else fam.single_parent[i]
    events.unaccompanied[row] = fam.unaccompanied[i]
    events.earlier_help[row] = fam.earlier_hze[i]
    events.in_service[row] = in_service
    events.route[row] = route
    events.months[row] = months
    events.as_planned[row] = as_planned
    events.rows[0] = row + 1


# --- the phases of the month -----------------------------------------------------------------------------
# Each takes the families (`fam`, Families.arrays), the rules in force (`rules`, parameters.Rules), the
# keys of its random streams (`keys`, simulation.StreamKeys) and, where helps start or end, the month's
# counters (`tally`, recorder.TallyArrays) and the places taken in each help (`taken`, kept by start_helps
# and end_helps).


@nb.njit(cache=True)
def births(keys, fam, risk_factors: tuple[np.ndarray, ...], rules, new: Newcomers) -> None:
    """New resident families in the slots from `new.first` (their ages set; a birth's is 0, the default), with
    ids from `new.first_id`: which risk factors each has (`risk_factors[factor][family]`, Families.risk_factors),
    its shock ratio, and its expected burden and risk level to start with.

    A factor is drawn from its own stream (keys.risk_factors) against its share, which may depend on the
    factor SINGLE_PARENT (risk_factor_share[factor, 1] for single parents); single parenthood itself against
    its share at the family's age (`rules.single_parent_share_at_age`: the share at birth for a birth, the
    share after the months of separations and new partners for the population a run begins with). The shock
    ratio is the family's frailty (log-normal with mean 1, drawn from keys.frailty) times the hazard ratios
    of the factors it has, in factor order. Families start at their expected burden (shocks' mean over
    reversion), so that the population does not drift during burn-in. Draws at birth do not depend on the
    month.
    """
    at = position(0)
    share, streams = rules.risk_factor_share, keys.risk_factors
    for i in range(new.first, new.first + new.births):
        fam.id[i] = new.first_id + i - new.first
        age = fam.age_months[i]
        fam.shock_ratio[i] = rule.frailty(rules.frailty_sd_log, draw(keys.frailty, at, fam.id[i]))
        p_single = rule.single_parent_share_at_age(
            share[SINGLE_PARENT, 0], rules.separation_hazard_per_month, rules.new_partner_hazard_per_month, age
        )
        single = draw(streams[SINGLE_PARENT], at, fam.id[i]) < p_single
        for k in range(len(streams)):
            p = p_single if k == SINGLE_PARENT else share[k, int(single)]
            risk_factors[k][i] = draw(streams[k], at, fam.id[i]) < p
            if risk_factors[k][i]:
                fam.shock_ratio[i] *= rules.risk_factor_hazard_ratio[k]
        age_ratio = pick(rules.age_hazard_ratio_by_band, band_of(fam.age_months[i], AGE_BAND_STARTS))
        unprotected = rule.shock_hazard(
            rules.shock_hazard_per_month, fam.shock_ratio[i], age_ratio, 0.0, 0.0, 1.0, NO_HELP, rules.prevention
        )
        fam.burden[i] = rule.expected_burden(unprotected, rules.shock_mean_size_points, rules.reversion_per_month)
        fam.level[i] = rule.risk_level(fam.burden[i])


@nb.njit(cache=True)
def arrivals(keys, month: int, fam, rules, tally, taken: np.ndarray, new: Newcomers) -> None:
    """Unaccompanied minors arrive in the slots after the births, with ids from `new.first_unaccompanied_id`,
    at their age at arrival (`rules.arrival_age_months`: the age band drawn from keys.arrival_age_band, the month
    of age within it from keys.arrival_age_month), and start Inobhutnahme (§42; duration from
    keys.duration_arrival). They have no family here: shock ratio 0."""
    at, shares = position(month), rules.unaccompanied_arrival_age_share_by_band
    first = new.first + new.births
    for i in range(first, first + new.arrivals):
        fam.id[i] = new.first_unaccompanied_id + i - first
        fam.unaccompanied[i] = True
        u_band, u_month = draw(keys.arrival_age_band, at, fam.id[i]), draw(keys.arrival_age_month, at, fam.id[i])
        fam.age_months[i] = rule.arrival_age_months(u_band, u_month, shares)
    minors = np.arange(first, first + new.arrivals)
    crisis = np.full(new.arrivals, rules.crisis_help, dtype=np.int64)
    start_helps(keys.duration_arrival, CRISIS_INTAKE_ROUTE, month, fam, minors, crisis, rules, tally, taken)


@nb.njit(cache=True)
def entries(keys, month: int, fam, risk_factors: tuple[np.ndarray, ...], rules, tally, taken, new: Newcomers) -> None:
    """A month's new families (`new`): births (`births`), then arrivals (`arrivals`)."""
    births(keys, fam, risk_factors, rules, new)
    arrivals(keys, month, fam, rules, tally, taken, new)


@nb.njit(cache=True)
def ageing(keys, month: int, fam, rules, tally, taken: np.ndarray) -> np.ndarray:
    """Everyone grows a month older; helps that end with age end (`rules.help_ends_with_age`); the families
    that leave the district (`rules.leaves_district`), ascending."""
    at, key, ids, age_months = position(month), keys.continue_after_18, fam.id, fam.age_months
    continue_after_18, moving_away = rules.continue_after_18_probability, fam.moving_away
    ending = np.empty(len(ids), dtype=np.bool_)
    leaving = np.empty(len(ids), dtype=np.bool_)
    for i in range(len(ids)):  # branch-free (every family draws; see come_to_notice): vector instructions
        age_months[i] += 1
        in_help = fam.help[i] != NO_HELP
        u = draw(key, at, ids[i])
        ending[i] = rule.help_ends_with_age(age_months[i], in_help, u, continue_after_18)
        leaving[i] = rule.leaves_district(age_months[i], in_help, ending[i], moving_away[i], fam.unaccompanied[i])
    ending = indices(ending)
    end_helps(fam, ending, tally, taken, np.ones(len(ending), dtype=np.bool_))  # helps that end with age
    return indices(leaving)


@nb.njit(cache=True)
def circumstances(keys, month: int, fam, rules) -> None:
    """Family circumstances change: single parenthood begins (separation) or ends (a new partner moves in;
    `rules.household_changes`, draws from keys.household), then transfer benefits begin or end
    (`rules.transfer_benefits_change`, keys.transfer_benefits): with the change of household they follow its
    type, else by the entry hazard of the family's type and the exit hazard. The shock ratio follows each
    factor that begins or ends (`rules.shock_ratio_with_factor`). Unaccompanied minors have no family here.

    A branch-free pass over every family (vector instructions) finds the few whose circumstances change this
    month: those whose household changes, and those whose benefits begin or end without one; a second pass
    settles theirs. A draw depends only on (stream, month, id), so the second pass draws the same numbers."""
    at, ids, single, poor = position(month), fam.id, fam.single_parent, fam.sgb2_poverty
    share, ratio, entry = rules.risk_factor_share, rules.risk_factor_hazard_ratio, rules.sgb2_entry_hazard_per_month
    separation, new_partner, exit = (
        rules.separation_hazard_per_month,
        rules.new_partner_hazard_per_month,
        rules.sgb2_exit_hazard_per_month,
    )
    moved = np.empty(len(ids), dtype=np.bool_)
    changing = np.empty(len(ids), dtype=np.bool_)
    for i in range(len(ids)):
        resident = not fam.unaccompanied[i]
        moved[i] = resident & rule.household_changes(
            single[i], draw(keys.household, at, ids[i]), separation, new_partner
        )
        u = draw(keys.transfer_benefits, at, ids[i])
        benefits_change = rule.transfer_benefits_change(poor[i], False, u, 0.0, 0.0, pick(entry, int(single[i])), exit)
        changing[i] = moved[i] | (resident & benefits_change)
    for i in indices(changing):
        was_single, was_poor = single[i], poor[i]
        single[i] = was_single != moved[i]
        u = draw(keys.transfer_benefits, at, ids[i])
        poor[i] = was_poor != rule.transfer_benefits_change(
            was_poor,
            moved[i],
            u,
            share[SGB2_POVERTY, int(was_single)],
            share[SGB2_POVERTY, int(single[i])],
            pick(entry, int(single[i])),
            exit,
        )
        fam.shock_ratio[i] = rule.shock_ratio_with_factor(
            fam.shock_ratio[i], was_single, single[i], ratio[SINGLE_PARENT]
        )
        fam.shock_ratio[i] = rule.shock_ratio_with_factor(fam.shock_ratio[i], was_poor, poor[i], ratio[SGB2_POVERTY])


@nb.njit(cache=True)
def burden_and_risk(keys, month: int, fam, rules) -> None:
    """Who has a burden shock this month (`rules.shock_hazard`); every burden reverts (`rules.burden_kept`,
    faster in a help), protection decays (`rules.decayed_protection`) and a pending change in parenting grows
    (`rules.parenting_grown`); the shocked families' burden rises by the shock's size
    (`rules.shock_size_points`); levels follow the burden (`rules.risk_level`)."""
    at, ids, burden, level, protection = position(month), fam.id, fam.burden, fam.level, fam.protection
    base, by_age, services = rules.shock_hazard_per_month, rules.age_hazard_ratio_by_band, rules.prevention
    shocked = np.empty(len(ids), dtype=np.bool_)
    for i in range(len(ids)):  # two loops, each compiled to vector instructions (fused, they are slower)
        hazard = rule.shock_hazard(
            base,
            fam.shock_ratio[i],
            pick(by_age, band_of(fam.age_months[i], AGE_BAND_STARTS)),
            protection[i],
            fam.parenting[i],
            rule.waiting_hazard_ratio(fam.waiting[i], rules.shock_hazard_ratio_while_waiting),
            fam.prevention[i],
            services,
        )
        shocked[i] = draw(keys.shock, at, ids[i]) < hazard
    for i in range(len(ids)):
        burden[i] *= rules.burden_kept_by_help[fam.help[i]]
        protection[i] = rule.decayed_protection(protection[i], fam.protection_decay[i])
        fam.parenting[i], fam.parenting_pending[i] = rule.parenting_grown(
            fam.parenting[i], fam.parenting_pending[i], fam.parenting_growth[i]
        )
        level[i] = rule.risk_level(burden[i])
    for i in indices(shocked):
        burden[i] += rule.shock_size_points(rules.shock_mean_size_points, draw(keys.shock_size, at, ids[i]))
        level[i] = rule.risk_level(burden[i])


@nb.njit(cache=True)
def reach_and_detection(keys, month: int, fam, rules, tally, taken: np.ndarray) -> None:
    """Prevention services reach families; reports, escalations noticed in help and self-referrals come to
    the youth office's notice (drawn before any is acted on: acting on reports and escalations changes no
    family another of the three selects, except that some who seek counselling are assessed meanwhile);
    reported families are assessed (§8a); an escalation noticed ends the help as failed and is assessed;
    those still seeking counselling get it (§28) where there is a place."""
    begun = prevention_uptake(keys.uptake, month, fam, rules)
    for s in range(len(begun)):
        tally.prevention_begun[s] += begun[s]
    reported, escalated, seeking = come_to_notice(keys, month, fam, rules)
    assess(keys, month, fam, reported, rules, tally, taken)  # reports to the youth office
    end_helps(fam, escalated, tally, taken, np.zeros(len(escalated), dtype=np.bool_))  # escalations noticed in help
    fam.failed_help[escalated] = True
    assess(keys, month, fam, escalated, rules, tally, taken)
    still_seeking = seeking[(fam.help[seeking] == NO_HELP) & ~fam.waiting[seeking]]  # not assessed meanwhile
    grant(
        Route(SELF_REFERRAL_ROUTE, keys.help_choice_self_referral, keys.duration_self_referral),
        month,
        fam,
        still_seeking,
        rules.self_referral_helps,
        rules,
        tally,
        taken,
    )


@nb.njit(cache=True)
def prevention_uptake(keys: np.ndarray, month: int, fam, rules) -> np.ndarray:
    """Services, in catalogue order, take the eligible idle families they reach, within their free places;
    the number of families each service took.

    A family is eligible for a service if it has no help and no prevention, is of the service's age
    (`prevention_youngest` to `prevention_oldest` months) and level (bit s of `prevention_by_level[level]`),
    has not had this service before, and has not been taken by an earlier service this month. Each reached
    with probability `prevention_reach` (draws from keys[service]); where more are reached than places are
    free, the most burdened (highest level) first, then the lowest draw. Unaccompanied minors have no family
    here: never reached. Free places: `prevention_places` less the families in the service.

    A branch-free pass marks the services each family may take (bit masks); a second pass draws for
    those families and keeps the ones some service reaches; the services then choose among those few.
    """
    places, reach = rules.prevention_places, rules.prevention_reach
    youngest, oldest = rules.prevention_youngest, rules.prevention_oldest
    prevention, age_months, level, ids = fam.prevention, fam.age_months, fam.level, fam.id
    n_services = len(places)
    begun = np.zeros(n_services, dtype=np.int64)
    occupied = np.zeros(n_services, dtype=np.int64)
    for i in range(len(ids)):
        if prevention[i] != NO_HELP:
            occupied[prevention[i]] += 1
    open_services = 0  # bit s: service s has a free place
    free = np.empty(n_services, dtype=np.int64)
    for s in range(n_services):
        free[s] = np.int64(places[s] - occupied[s])  # as (places - occupied).astype(np.int64)
        if free[s] > 0:
            open_services |= 1 << s
    if open_services == 0:
        return begun

    eligible = np.empty(len(ids), dtype=np.int64)  # bit s: the family may take service s
    for i in range(len(ids)):
        by_age = 0
        for s in range(len(youngest)):
            by_age |= np.int64(rule.in_age_range(age_months[i], youngest[s], oldest[s])) << s
        idle = (prevention[i] == NO_HELP) & (fam.help[i] == NO_HELP) & (not fam.unaccompanied[i])
        open_to_family = by_age & pick(rules.prevention_by_level, level[i]) & ~np.int64(fam.prevention_received[i])
        eligible[i] = open_to_family & open_services if idle else 0

    # the families that an open service reaches, in array order, with the services that reach them (a draw
    # depends only on (stream, month, id), so it is drawn again below)
    at = position(month)
    reached_family = np.empty(len(ids), dtype=np.int64)
    reached_by = np.empty(len(ids), dtype=np.int64)
    n = 0
    for i in range(len(ids)):
        if eligible[i] == 0:
            continue
        reached = 0
        for s in range(n_services):
            if (eligible[i] >> s) & 1 and draw(keys[s], at, ids[i]) < reach[s]:
                reached |= 1 << s
        reached_family[n] = i
        reached_by[n] = reached
        n += reached != 0

    # Services in catalogue order take those they reached that no earlier service took: the most burdened
    # (highest level) first, then the lowest draw.
    candidates = np.empty(n, dtype=np.int64)
    order_key = np.empty(n, dtype=np.int64)
    for s in range(n_services):
        if free[s] <= 0:
            continue
        m = 0
        for r in range(n):
            i = reached_family[r]
            if (reached_by[r] >> s) & 1 and prevention[i] == NO_HELP:
                candidates[m] = i
                u = draw(keys[s], at, ids[i])
                order_key[m] = (rule.TOP_LEVEL - level[i]) * 2**53 + np.int64(u * 2.0**53)  # level, then u
                m += 1
        taken = candidates[:m]
        if m > free[s]:  # a stable sort: equal keys keep array order, as np.lexsort does
            taken = taken[np.argsort(order_key[:m], kind="mergesort")[: free[s]]]
        for i in taken:
            prevention[i] = s
            fam.prevention_months_left[i] = rules.prevention_duration_months[s]
            fam.prevention_received[i] |= 1 << s
        begun[s] = len(taken)
    return begun


@nb.njit(cache=True)
def come_to_notice(keys, month: int, fam, rules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who comes to the youth office's notice this month: the families reported, the escalations noticed in
    help, and the families seeking counselling themselves (each ascending).

    Reported (draws from keys.report): families open to reports (`rules.open_to_reports`, waiting ones at endangerment),
    with the hazard `rules.report_hazard`; seeking (keys.self_referral): families open to notice
    (`rules.open_to_notice`), with the hazard `rules.self_referral_hazard`. Escalations
    (keys.escalation_noticed): `rules.escalation_noticed`.

    Every family draws from all three streams, so that the loops have no branches and are compiled to vector
    instructions; a draw depends only on (stream, month, id), so the draws nobody needs change nothing.
    """
    at = position(month)
    ids, help, level, waiting, prevention = fam.id, fam.help, fam.level, fam.waiting, fam.prevention
    reported = np.empty(len(ids), dtype=np.bool_)
    escalated = np.empty(len(ids), dtype=np.bool_)
    seeking = np.empty(len(ids), dtype=np.bool_)
    by_level, network = rules.report_hazard_per_month_by_level, rules.network_referral_hazard_ratio
    for i in range(len(ids)):  # three loops: each compiled to vector instructions (fused, they are slower)
        hazard = rule.report_hazard(pick(by_level, level[i]), network, prevention[i], rules.prevention)
        u = draw(keys.report, at, ids[i])
        reported[i] = rule.open_to_reports(help[i] != NO_HELP, waiting[i], level[i]) & (u < hazard)
    for i in range(len(ids)):
        u = draw(keys.self_referral, at, ids[i])
        hazard = rule.self_referral_hazard(
            pick(rules.self_referral_hazard_per_month_by_level, level[i]),
            fam.sgb2_poverty[i],
            rules.self_referral_hazard_ratio_transfer_benefits,
            fam.age_months[i],
            rules.self_referral_hazard_ratio_young_adults,
        )
        seeking[i] = rule.open_to_notice(help[i] != NO_HELP, waiting[i], level[i]) & (u < hazard)
    for i in range(len(ids)):
        escalated[i] = rule.escalation_noticed(
            pick(rules.ambulant_by_help, help[i]),
            level[i],
            fam.help_start_level[i],
            draw(keys.escalation_noticed, at, ids[i]),
            rules.in_help_escalation_detection_per_month,
        )
    return indices(reported), indices(escalated), indices(seeking)


@nb.njit(cache=True)
def assess(keys, month: int, fam, idx: np.ndarray, rules, tally, taken: np.ndarray) -> None:
    """§8a assessment of the minors among the families idx: acute endangerment (level 4, a share of them; draws
    from keys.acute) -> Inobhutnahme (§42); latent endangerment (other level 4) and need (level 3) wait for a
    help plan. Counts the outcomes (acute, latent, need, neither). Young adults among idx are not assessed:
    in need, they wait for a help plan (§41)."""
    at = position(month)
    acute = np.empty(len(idx), dtype=np.int64)
    n = 0
    for i in idx:
        if not rule.assessed_under_8a(fam.age_months[i]):
            fam.waiting[i] |= rule.young_adult_help_planned(fam.level[i])
            continue
        u = draw(keys.acute, at, fam.id[i])
        outcome = rule.assessment_outcome(fam.level[i], fam.age_months[i], u, rules.acute_share_of_endangerment)
        tally.assessments[outcome] += 1
        in_service = (fam.help[i] != NO_HELP) | (fam.prevention[i] != NO_HELP)
        log_event(tally.events, ASSESSED, fam, i, outcome, in_service=in_service)
        if outcome == rule.ACUTE:
            acute[n] = i
            n += 1
        elif outcome != rule.NEITHER:  # endangerment or need: a help plan is due
            fam.waiting[i] = True
    crisis = np.full(n, rules.crisis_help, dtype=np.int64)
    start_helps(keys.duration_crisis, ASSESSMENT_ROUTE, month, fam, acute[:n], crisis, rules, tally, taken)


@nb.njit(cache=True)
def help_planning(keys, month: int, fam, rules, tally, taken: np.ndarray, capacity: int) -> None:
    """The youth office makes help plans (§36) for waiting families, up to `capacity` this month.

    Every waiting family waits a month longer. A plan is ready with a probability (keys.plan_ready); of those
    ready, the first `capacity` by level (highest first), then months waited (longest first), then a draw
    (keys.plan_priority) have their conference. A family whose need has resolved meanwhile is closed
    (`rules.case_closed`); the others get intensive diagnostics first (escalating, not diagnosed yet, with a
    probability; keys.diagnostics), else a placement (with a probability by level, at least the one after a
    failed help, times a ratio once diagnosed; keys.placement), else a help by help plan.
    """
    at = position(month)
    ids, waiting, months_waiting, level = fam.id, fam.waiting, fam.months_waiting, fam.level
    ready = np.empty(len(ids), dtype=np.int64)
    n = 0
    for i in range(len(ids)):
        if not waiting[i]:
            continue
        months_waiting[i] += 1
        if draw(keys.plan_ready, at, ids[i]) < rules.help_plan_completion_per_month:
            ready[n] = i
            n += 1
    ready = ready[:n]
    u = np.empty(n)
    priority = np.empty(n, dtype=np.int64)  # level, then months waited; the draw breaks ties
    for r in range(n):
        u[r] = draw(keys.plan_priority, at, ids[ready[r]])
        priority[r] = (rule.TOP_LEVEL - level[ready[r]]) * 2**16 + (2**15 - 1 - months_waiting[ready[r]])
    order = np.argsort(u, kind="mergesort")  # stable sorts: the last sort's key ranks first
    order = order[np.argsort(priority[order], kind="mergesort")]
    chosen = ready[order[:capacity]]

    diagnostics = np.empty(len(chosen), dtype=np.bool_)
    placed = np.empty(len(chosen), dtype=np.bool_)
    for r in range(len(chosen)):
        i = chosen[r]
        if rule.case_closed(level[i]):
            waiting[i] = False
            months_waiting[i] = 0
        u = draw(keys.diagnostics, at, ids[i])
        diagnostics[r] = waiting[i] & rule.diagnostics_first(
            fam.failed_help[i], level[i], fam.diagnosed[i], u, rules.diagnostics_first_share
        )
        p_place = rule.placement_probability(
            rules.placement_probability_by_level[level[i]],
            fam.failed_help[i],
            rules.placement_probability_after_failed_help,
            fam.diagnosed[i],
            rules.diagnosed_placement_ratio,
        )
        placed[r] = draw(keys.placement, at, ids[i]) < p_place
    planning = Route(HELP_PLAN_ROUTE, keys.help_choice_planning, keys.duration_planning)
    grant(planning, month, fam, chosen[diagnostics], rules.diagnostic_helps, rules, tally, taken)
    still_waiting = waiting[chosen]  # all but those closed or sent to diagnostics
    grant(planning, month, fam, chosen[still_waiting & placed], rules.placement_helps, rules, tally, taken)
    grant(planning, month, fam, chosen[still_waiting & ~placed], rules.help_plan_helps, rules, tally, taken)


@nb.njit(cache=True)
def help_outcomes(keys, month: int, fam, rules, tally, taken: np.ndarray) -> None:
    """Helps run a month and those that run out end, with what follows from how they end; then prevention
    services run a month, and those that end leave a lasting, decaying protection.

    The occupancy per help is counted before any ends. An ambulant help ends resolved (level 2 or less) or
    failed: the need goes back to the youth office. Intensive diagnostics leave the family diagnosed. A
    placement that ends while home is still burdened (level 3+) continues in another placement with a
    probability (keys.transfer). After Inobhutnahme (keys.after_crisis) an unaccompanied minor gets a
    residential place or moves on; a resident child may be placed. Resident families still burdened
    (level 3+) and without a help then wait for a help plan.
    """
    help, months_left, months_used = fam.help, fam.help_months_left, fam.help_months_used
    ending = np.empty(len(help), dtype=np.int64)
    n = 0
    tally.occupancy[:] = 0
    for i in range(len(help)):
        if help[i] != NO_HELP:
            tally.occupancy[help[i]] += 1
            months_left[i] -= 1
            months_used[i] += 1
            if months_left[i] <= 0:
                ending[n] = i
                n += 1
    ending = ending[:n]

    at = position(month)
    transfer = np.empty(n, dtype=np.int64)
    stays = np.empty(n, dtype=np.int64)
    placed = np.empty(n, dtype=np.int64)
    back_home = np.empty(n, dtype=np.int64)
    as_planned = np.ones(n, dtype=np.bool_)
    n_transfer = n_stays = n_placed = n_back_home = 0
    for r in range(n):
        i = ending[r]
        access = rules.help_access[help[i]]
        level, unaccompanied = fam.level[i], fam.unaccompanied[i]
        if (access == SELF_REFERRAL) | (access == HELP_PLAN):
            if rule.resolved(level):
                tally.ended_resolved[help[i]] += 1
            else:
                fam.failed_help[i] = True  # the need goes back to the youth office
                as_planned[r] = False
        elif access == DIAGNOSTIC:
            fam.diagnosed[i] = True
        elif access == PLACEMENT:
            u = draw(keys.transfer, at, fam.id[i])
            if rule.transfers(fam.age_months[i], level, u, rules.transfer_probability_if_burdened):
                transfer[n_transfer] = i
                n_transfer += 1
        elif access == CRISIS:
            u = draw(keys.after_crisis, at, fam.id[i])
            follows = rule.after_crisis(
                unaccompanied, u, rules.residential_probability_after_crisis, rules.placement_after_crisis_probability
            )
            if follows == rule.STAYS_IN_CARE:
                stays[n_stays] = i
                n_stays += 1
            elif follows == rule.MOVES_ON:
                fam.moving_away[i] = True
            elif follows == rule.PLACED:
                placed[n_placed] = i
                n_placed += 1
        if rule.back_on_waiting_list(level, unaccompanied):
            back_home[n_back_home] = i
            n_back_home += 1
    end_helps(fam, ending, tally, taken, as_planned)
    grant(
        Route(TRANSFER_ROUTE, keys.help_choice_transfer, keys.duration_transfer),
        month,
        fam,
        transfer[:n_transfer],
        rules.placement_helps,
        rules,
        tally,
        taken,
    )
    residential = np.full(n_stays, rules.unaccompanied_help, dtype=np.int64)
    route = AFTER_CRISIS_ROUTE
    start_helps(keys.duration_after_crisis, route, month, fam, stays[:n_stays], residential, rules, tally, taken)
    grant(
        Route(AFTER_CRISIS_ROUTE, keys.help_choice_after_crisis, keys.duration_after_crisis),
        month,
        fam,
        placed[:n_placed],
        rules.placement_helps,
        rules,
        tally,
        taken,
    )
    for i in back_home[:n_back_home]:
        if help[i] == NO_HELP:  # still burdened, and no new help
            fam.waiting[i] = True

    tally.prevention_occupancy[:] = 0
    for i in range(len(help)):
        s = fam.prevention[i]
        if s == NO_HELP:
            continue
        tally.prevention_occupancy[s] += 1
        fam.prevention_months_left[i] -= 1
        if fam.prevention_months_left[i] <= 0:
            fam.protection[i], fam.protection_decay[i] = rule.protection_after_prevention(
                fam.protection[i], fam.protection_decay[i], s, rules.prevention, rules.protection_decay_per_month[s]
            )
            fam.parenting_pending[i], fam.parenting_growth[i] = rule.parenting_after_prevention(
                fam.parenting[i],
                fam.parenting_pending[i],
                fam.parenting_growth[i],
                s,
                rules.prevention,
                rules.parenting_growth_per_month[s],
            )
            fam.prevention[i] = NO_HELP


@nb.njit(cache=True)
def grant(
    route: Route,
    month: int,
    fam,
    idx: np.ndarray,
    helps: np.ndarray,
    rules,
    tally,
    taken: np.ndarray,
) -> None:
    """Each family in idx (in priority order) starts one of `helps` that still has a free place (help_places
    less the places `taken`), chosen by `choose_helps` (draws from route.choice); then as `start_helps` (draws
    from route.duration)."""
    if len(idx) == 0 or len(helps) == 0:
        return
    free = np.empty(len(helps))
    for j in range(len(helps)):
        free[j] = rules.help_places[helps[j]] - taken[helps[j]]
    choice = choose_helps(route.choice, month, fam, idx, helps, rules, free)
    granted = choice != NO_HELP
    start_helps(route.duration, route.code, month, fam, idx[granted], helps[choice[granted]], rules, tally, taken)


@nb.njit(cache=True)
def start_helps(
    key: np.uint64, route: int, month: int, fam, idx: np.ndarray, helps: np.ndarray, rules, tally, taken: np.ndarray
) -> None:
    """Family idx[r] begins help helps[r] by `route`, planned for `rules.help_duration_months` (the draw from
    the stream `key`); a help out of home ends any prevention service. Counts the helps begun, and the places
    `taken` in each help."""
    at = position(month)
    for r in range(len(idx)):
        i, h = idx[r], helps[r]
        u = draw(key, at, fam.id[i])
        fam.help[i] = h
        months = rule.help_duration_months(rules.help_duration_mu[h], rules.help_duration_sigma[h], u)
        fam.help_months_left[i] = min(months, MOST_MONTHS_STORED)
        fam.help_months_used[i] = 0
        fam.help_start_level[i] = fam.level[i]
        fam.help_start_sgb2_poverty[i] = fam.sgb2_poverty[i]
        fam.help_start_single_parent[i] = fam.single_parent[i]
        fam.waiting[i] = False
        fam.months_waiting[i] = 0
        if rules.out_of_home[h]:
            fam.prevention[i] = NO_HELP  # the child has left home
        tally.begun[h] += 1
        tally.begun_unaccompanied[h] += fam.unaccompanied[i]
        taken[h] += 1
        log_event(tally.events, BEGUN, fam, i, h, route=route)
        fam.earlier_hze[i] |= rules.counts_as_hze[h]


@nb.njit(cache=True)
def end_helps(fam, idx: np.ndarray, tally, taken: np.ndarray, as_planned: np.ndarray) -> None:
    """The helps of the (distinct) families idx end (as planned where `as_planned[r]`); counts them and the
    months they ran, frees their places in `taken`."""
    for r in range(len(idx)):
        i = idx[r]
        h = fam.help[i]
        log_event(tally.events, ENDED, fam, i, h, months=fam.help_months_used[i], as_planned=as_planned[r])
        tally.ended[h] += 1
        tally.ended_months[h] += fam.help_months_used[i]
        taken[h] -= 1
        fam.help[i] = NO_HELP
        fam.help_months_left[i] = 0


class Phases(NamedTuple):
    """The compiled phases of one model, as the compiled functions for its arguments' types (`phases_for`)."""

    entries: Callable
    ageing: Callable
    circumstances: Callable
    burden_and_risk: Callable
    reach_and_detection: Callable
    help_planning: Callable
    help_outcomes: Callable
    record: Callable


def phases_for(keys, fam, risk_factors: tuple[np.ndarray, ...], rules, tally, taken: np.ndarray, layout) -> Phases:
    """The compiled phases for the types of one model's arguments (compiled, or loaded from the cache, now).

    Numba's dispatcher checks the type of every element of every argument on every call: for the phases'
    bundles (the families' 30 arrays, the rules, the tallies, the stream keys) that costs about 20 µs a
    call, more than a phase's work in a small district. A model's argument types do not change: the
    families', tallies' and keys' are fixed by their definitions, the rules' by the catalogue (Rules.of
    fixes the type of each field), and the model asks again whenever it makes new rules. So the model calls
    these compiled functions directly, with arguments of exactly these types (any other type would be read
    wrongly: the dispatcher is not there to convert it).
    """
    k, f, rf, r, t, a, lay = (nb.typeof(x) for x in (keys, fam, risk_factors, rules, tally, taken, layout))
    i64, row = types.int64, types.float64[::1]
    demography = types.Tuple((i64, i64, types.float64))
    return Phases(
        entries=entries.compile((k, i64, f, rf, r, t, a, nb.typeof(Newcomers(0, 0, 0, 0, 0)))),
        ageing=ageing.compile((k, i64, f, r, t, a)),
        circumstances=circumstances.compile((k, i64, f, r)),
        burden_and_risk=burden_and_risk.compile((k, i64, f, r)),
        reach_and_detection=reach_and_detection.compile((k, i64, f, r, t, a)),
        help_planning=help_planning.compile((k, i64, f, r, t, a, i64)),
        help_outcomes=help_outcomes.compile((k, i64, f, r, t, a)),
        record=record.compile((row, f, t, row, row, lay, demography)),
    )


def _forget_compilations_after_their_sources_change() -> None:
    """Numba's cache knows the source of this module only, not of the modules whose functions its compiled
    code inlines (the rules, the streams, the families' and the parameters' constants): when one of those
    changes, the cached phases are dropped here, so that the next run compiles the rules as they are now."""
    sources = [Path(module.__file__) for module in (rule, streams, families, parameters, microdata)]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    cache = Path(ageing.stats.cache_path)
    stamp = cache / f"{__name__}.sources.sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    for index in cache.glob(f"{Path(__file__).stem}.*.nbi"):
        index.unlink(missing_ok=True)
    stamp.write_text(digest)


_forget_compilations_after_their_sources_change()
