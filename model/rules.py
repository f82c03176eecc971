"""The rules of the model: each mechanism of docs/ODD.md as one small function, named after it.

Every function here takes a family's state and the year's numbers (`parameters.Rules`) as plain values
and returns what the rule decides; one factor per line. The engine's phases (`kernels`) apply them to
every family in compiled loops; the reference model (`reference`) applies them to one Mesa agent at a
time. Both call these same functions, so the two models differ only in how they loop and draw.

A rule that decides by chance takes its uniform draw `u` in [0, 1) as an argument: who draws, and from
which stream, is the loop's business (common random numbers), not the rule's.

The functions are compiled with numba and inlined where the engine calls them. Conditions are combined
with `&` and `|` rather than `and`/`or`, so that the loops that call them stay free of branches and run
on vector instructions; they are called with booleans, for which both mean the same. A loop that branches
anyway asks a rule only of the families it concerns (help planning reads the level of waiting families only).
"""

from __future__ import annotations

import math

import llvmlite.binding as llvm
import numba as nb
import numpy as np
from numba.core import types
from numba.extending import get_cython_function_address

ADULT_MONTHS = 18 * 12  # at 18 a help ends or continues as help for young adults (§41)
MAX_AGE_MONTHS = 21 * 12  # §41 helps end at 21, and young adults leave the model
TOP_LEVEL = 4  # risk levels 0-4: levels begin at 1, 2, 3 and 4 burden points
NEED_LEVEL = 3  # level 3: a need for help (§27); the youth office plans a help
ENDANGERMENT_LEVEL = 4  # level 4: endangerment of the child's welfare (§8a)
RESOLVED_LEVEL = 2  # a help ends resolved if the family is at this level or below
ACUTE, LATENT, NEED, NEITHER = range(4)  # §8a outcomes, in the order of recorder.ASSESSMENT_OUTCOMES
HOME, STAYS_IN_CARE, MOVES_ON, PLACED = range(4)  # what follows Inobhutnahme (`after_crisis`)

rule = nb.njit(cache=True, inline="always")


@rule
def pick(table: tuple, index: int):
    """table[index], index -1 the last entry, by comparisons with each index instead of a load from memory:
    a loop over the families that reads small tables this way is compiled to vector instructions (loads
    from a table indexed by each family, gathers, are not)."""
    value = table[len(table) - 1]
    for j in range(len(table) - 1):
        if index == j:
            value = table[j]
    return value


# SciPy's own ndtri (the C function behind scipy.special.ndtri), called by its symbol name, so that compiled
# code that uses it can be cached and gives SciPy's bits
llvm.add_symbol("prevsim_scipy_ndtri", get_cython_function_address("scipy.special.cython_special", "ndtri"))
_scipy_ndtri = types.ExternalFunction("prevsim_scipy_ndtri", types.float64(types.float64, types.intc))


@rule
def ndtri(p: float) -> float:
    """The standard normal quantile of p: scipy.special.ndtri, to the last bit."""
    return _scipy_ndtri(p, 0)


# --- demography --------------------------------------------------------------------------------------------


@rule
def frailty(sd_log: float, u: float) -> float:
    """A family's frailty: log-normal with mean 1 and standard deviation `sd_log` of its logarithm."""
    return math.exp(sd_log * ndtri(u) - sd_log**2 / 2)


@rule
def help_ends_with_age(age_months: int, in_help: bool, u: float, continue_after_18: float) -> bool:
    """At 18 a help continues as help for young adults (§41) with a probability, else it ends; at 21 it ends."""
    turning_adult = age_months == ADULT_MONTHS
    return in_help & ((turning_adult & (u >= continue_after_18)) | (age_months >= MAX_AGE_MONTHS))


@rule
def leaves_district(age_months: int, in_help: bool, help_ends: bool, moving_away: bool, unaccompanied: bool) -> bool:
    """Young people leave at 21; before, young adults stay (they may still begin a help for young adults, §41),
    except unaccompanied young adults out of help (no family here: they move on); families moving away leave."""
    out_of_help = help_ends | (not in_help)
    return (age_months >= MAX_AGE_MONTHS) | ((age_months >= ADULT_MONTHS) & out_of_help & unaccompanied) | moving_away


@rule
def arrival_age_months(u_band: float, u_month: float, shares: tuple) -> int:
    """An unaccompanied minor's age at arrival: an age band drawn by the shares of arrivals in it (`shares`: aged
    10-13, 14-15, 16-17 completed years; `u_band`), then a month of age uniform within the band (`u_month`)."""
    first_year, years = (
        (10, 4)  # aged 10-13
        if u_band < shares[0]
        else (14, 2)  # aged 14-15
        if u_band < shares[0] + shares[1]
        else (16, 2)  # aged 16-17: the rest
    )
    return (
        12 * first_year  # the band's first month of age
        + int(u_month * 12 * years)  # a month of age within the band, uniform
    )


# --- family circumstances ----------------------------------------------------------------------------------


@rule
def household_changes(single_parent: bool, u: float, separation_per_month: float, new_partner_per_month: float) -> bool:
    """Whether the family's household type changes this month: single parenthood begins when parents living
    together separate, and ends when a single parent's new partner moves in."""
    hazard = (
        new_partner_per_month  # a single parent: a new partner moves in
        if single_parent
        else separation_per_month  # parents together: they separate
    )
    return u < hazard


@rule
def single_parent_share_at_age(
    share_at_birth: float, separation_per_month: float, new_partner_per_month: float, age_months: int
) -> float:
    """The share of children living with a single parent after `age_months` months of separations and new
    partners: each month it moves from the share at birth towards the balance of the two, separation /
    (separation + new partner), by the share separation + new partner of the distance. At birth (age 0) the
    share at birth; a family founded older (the population a run begins with) draws its type with it."""
    changing = separation_per_month + new_partner_per_month
    if changing <= 0.0:
        return share_at_birth  # nobody separates, nobody finds a new partner
    balance = separation_per_month / changing
    return balance + (share_at_birth - balance) * (1.0 - changing) ** age_months


@rule
def transfer_benefits_entry_hazard(exit_per_month: float, share: float) -> float:
    """The monthly hazard of transfer benefits beginning that keeps a household type's share on benefits: as
    many families begin as end, (1 - share) x entry = share x exit."""
    if share >= 1.0:
        return 1.0  # every family of this type lives on benefits
    return exit_per_month * share / (1.0 - share)


@rule
def transfer_benefits_change(
    on_benefits: bool,
    household_changed: bool,
    u: float,
    share_before: float,
    share_after: float,
    entry_per_month: float,
    exit_per_month: float,
) -> bool:
    """Whether the family's transfer benefits (SGB II) begin or end this month.

    In a month its household type changes, the benefits follow the type: they begin (the new type's share on
    benefits is higher) or end (lower) with the probability that takes the family from the old type's share
    to the new type's, so that each type keeps its share. In any other month they begin with the entry hazard
    of the family's type, and end with the exit hazard."""
    if household_changed:
        if on_benefits:
            p = (share_before - share_after) / share_before if share_after < share_before else 0.0  # they end
        else:
            p = (share_after - share_before) / (1.0 - share_before) if share_after > share_before else 0.0  # begin
    else:
        p = exit_per_month if on_benefits else entry_per_month
    return u < p


@rule
def shock_ratio_with_factor(shock_ratio: float, had: bool, has: bool, hazard_ratio: float) -> float:
    """A family's shock ratio when one of its risk factors begins or ends: the factor's hazard ratio multiplied
    in, or divided out; frailty and the other factors stay."""
    if has & (not had):
        return shock_ratio * hazard_ratio  # the factor begins
    if had & (not has):
        return shock_ratio / hazard_ratio  # the factor ends
    return shock_ratio


# --- burden and risk ---------------------------------------------------------------------------------------


@rule
def shock_hazard(
    base_per_month: float,
    family_ratio: float,
    age_ratio: float,
    protection: float,
    parenting: float,
    waiting_ratio: float,
    service: int,
    prevention,
) -> float:
    """The monthly probability of a burden shock. `service`: the prevention service the family is in (-1:
    none); `prevention`: the services' numbers (`parameters.Rules.prevention`)."""
    return (
        base_per_month
        * family_ratio  # frailty x the hazard ratios of the family's risk factors
        * age_ratio  # the child's age band
        * (1.0 - protection)  # fading protection left by an earlier prevention service
        * (1.0 - parenting)  # the lasting change in parenting an earlier prevention service has brought about
        * waiting_ratio  # a known need left unmet while the family waits for a help plan
        * pick(prevention.shock_hazard_ratio_during, service)  # while a prevention service runs
    )


@rule
def waiting_hazard_ratio(waiting: bool, ratio_while_waiting: float) -> float:
    """The shock hazard ratio of waiting for a help plan: the need is known and not yet met."""
    return ratio_while_waiting if waiting else 1.0


@rule
def shock_size_points(mean_size_points: float, u: float) -> float:
    """The burden a shock adds: exponential with the given mean (the C library's log1p)."""
    return -(mean_size_points * math.log1p(-u))


@rule
def burden_kept(reversion_per_month: float, relief_per_month: float) -> float:
    """The share of its burden a family keeps in a month: it reverts, and a help relieves it further."""
    return (1.0 - reversion_per_month) * (1.0 - relief_per_month)


@rule
def expected_burden(shock_hazard_per_month: float, mean_size_points: float, reversion_per_month: float) -> float:
    """The burden at which shocks and reversion balance (a new family starts there, so burn-in does not drift)."""
    return shock_hazard_per_month * mean_size_points / reversion_per_month


@rule
def risk_level(burden_points: float) -> np.int8:
    """Risk level 0-4: the number of thresholds (1, 2, 3, 4 burden points) reached."""
    return np.int8(min(burden_points, float(TOP_LEVEL)))


@rule
def decayed_protection(protection: float, decay_per_month: float) -> float:
    """Protection left by prevention decays by a constant factor a month (its half-life)."""
    return protection * decay_per_month


@rule
def protection_after_prevention(
    protection: float, decay_per_month: float, service: int, prevention, service_decay_per_month: float
) -> tuple[float, float]:
    """When a prevention service ends, the family keeps the stronger of its protection and the service's
    (with that one's decay, from the service's half-life)."""
    service_protection = pick(prevention.protection_after_share, service)
    if service_protection >= protection:
        return service_protection, service_decay_per_month
    return protection, decay_per_month


@rule
def parenting_growth_per_month(onset_months: float) -> float:
    """The share of a pending change in parenting realised each month: a first-order delay whose mean is
    the onset (so the change builds up over years if the onset is years)."""
    return 1.0 - math.exp(-1.0 / onset_months)


@rule
def parenting_grown(parenting: float, pending: float, growth_per_month: float) -> tuple[float, float]:
    """A month of the change in parenting: a share of the pending change is realised; it then lasts."""
    realised = pending * growth_per_month
    return parenting + realised, pending - realised


@rule
def parenting_after_prevention(
    parenting: float, pending: float, growth: float, service: int, prevention, service_growth: float
) -> tuple[float, float]:
    """When a prevention service ends, the family's lasting change in parenting (realised and pending) becomes
    the larger of what it had and the service's effect; the change still to come is pending, realised at the
    service's pace if the service's effect is the larger."""
    effect = pick(prevention.parenting_effect_share, service)
    if effect > parenting + pending:
        return effect - parenting, service_growth
    return pending, growth


# --- reach and detection -----------------------------------------------------------------------------------


@rule
def prevention_reach(service: int, prevention, network_outreach_ratio: float) -> float:
    """The monthly probability that a service reaches an eligible family: its own uptake, times the network's
    outreach."""
    return pick(prevention.uptake_hazard_per_month, service) * network_outreach_ratio


@rule
def in_age_range(age_months: int, youngest_months: int, oldest_months: int) -> bool:
    """A service's age range includes both ends."""
    return (age_months >= youngest_months) & (age_months <= oldest_months)


@rule
def open_to_reports(in_help: bool, waiting: bool, level: int) -> bool:
    """Burdened and not in a help: schools, Kitas, doctors or police can report the family. While it waits for
    a help plan its open case takes further reports, and only endangerment starts a new §8a assessment (a
    waiting family that escalates is reported again, and may be taken into care)."""
    return (not in_help) & (level >= 1) & ((not waiting) | (level == ENDANGERMENT_LEVEL))


@rule
def open_to_notice(in_help: bool, waiting: bool, level: int) -> bool:
    """Burdened, not in a help and not yet waiting: a self-referral can still reach the office."""
    return (not in_help) & (level >= 1) & (not waiting)


@rule
def report_hazard(by_level: float, network_referral_ratio: float, service: int, prevention) -> float:
    """The monthly probability that a family is reported to the youth office (schools, Kitas, health, police)."""
    return (
        by_level  # the hazard at the family's risk level
        * network_referral_ratio  # a coordinated network refers more
        * pick(prevention.referral_hazard_ratio_during, service)  # a prevention service's staff see more
    )


@rule
def self_referral_hazard(
    by_level: float,
    transfer_benefits: bool,
    ratio_transfer_benefits: float,
    age_months: int,
    ratio_young_adults: float,
) -> float:
    """The monthly probability that a family seeks counselling (§28) itself: by its risk level, lower for a
    family on transfer benefits (those who need help most seek it least: the prevention dilemma), and lower
    for a young adult (18-20), whose parents no longer bring them and who seek it less themselves."""
    return (
        by_level  # the hazard at the family's risk level
        * (ratio_transfer_benefits if transfer_benefits else 1.0)  # a family on transfer benefits
        * (ratio_young_adults if age_months >= ADULT_MONTHS else 1.0)  # a young adult
    )


@rule
def escalation_noticed(ambulant: bool, level: int, start_level: int, u: float, noticed_per_month: float) -> bool:
    """A helper in an ambulant help notices endangerment that arose during the help, with a probability."""
    arisen = (level == ENDANGERMENT_LEVEL) & (start_level < ENDANGERMENT_LEVEL)
    return ambulant & arisen & (u < noticed_per_month)


@rule
def assessed_under_8a(age_months: int) -> bool:
    """§8a assesses a danger to a minor's welfare: a young adult who comes to notice is not assessed."""
    return age_months < ADULT_MONTHS


@rule
def young_adult_help_planned(level: int) -> bool:
    """A young adult (18-20) who comes to the youth office's notice in need waits for a help plan for a help for
    young adults (§41), which may begin after 18 (after leaving care, or as need arises), not only continue."""
    return level >= NEED_LEVEL


@rule
def assessment_outcome(level: int, age_months: int, u: float, acute_share: float) -> int:
    """§8a assessment: acute endangerment of a minor (a share of endangerments), latent endangerment, a need
    for help, or neither."""
    if level == ENDANGERMENT_LEVEL and age_months < ADULT_MONTHS and u < acute_share:
        return ACUTE
    if level == ENDANGERMENT_LEVEL:
        return LATENT
    if level >= NEED_LEVEL:
        return NEED
    return NEITHER


# --- help planning -----------------------------------------------------------------------------------------


@rule
def case_closed(level: int) -> bool:
    """At its help-plan conference, a waiting family whose need has resolved meanwhile (below the need level)
    is closed without a help. Until the conference the office does not know: the family keeps waiting."""
    return level < NEED_LEVEL


@rule
def diagnostics_first(failed_help: bool, level: int, diagnosed: bool, u: float, share: float) -> bool:
    """An escalating case (a failed help, or endangerment) not diagnosed yet gets intensive diagnostics first,
    with a probability."""
    escalating = failed_help | (level == ENDANGERMENT_LEVEL)
    return escalating & (not diagnosed) & (u < share)


@rule
def placement_probability(
    by_level: float, failed_help: bool, after_failed: float, diagnosed: bool, diagnosed_ratio: float
) -> float:
    """The probability that a help plan places the child out of home."""
    p = by_level  # by the family's risk level
    if failed_help:
        p = max(p, after_failed)  # at least this after an earlier help failed
    if diagnosed:
        p = p * diagnosed_ratio  # diagnostics change the decision
    return p


@rule
def choice_weight(
    weight_for_age: float, open_at_level: bool, on_transfer_benefits: bool, ratio_on_transfer_benefits: float
) -> float:
    """A help's weight in the choice among helps: by the child's age band, if open to the family's level, times
    the help's ratio for a family on transfer benefits (the social selection by help type the statistics show
    beyond the need level)."""
    selection = ratio_on_transfer_benefits if on_transfer_benefits else 1.0
    return weight_for_age * open_at_level * selection


@rule
def help_duration_months(mu: float, sigma: float, u: float) -> float:
    """A help's planned duration: log-normal, rounded to whole months, at least one (the C library's exp)."""
    return max(1.0, np.rint(math.exp(mu + sigma * ndtri(u))))


# --- help outcomes -----------------------------------------------------------------------------------------


@rule
def resolved(level: int) -> bool:
    """An ambulant help that ends with the family at a low level has resolved the need."""
    return level <= RESOLVED_LEVEL


@rule
def transfers(age_months: int, level: int, u: float, transfer_if_burdened: float) -> bool:
    """A placement that ends while home is still burdened continues in another placement, with a probability."""
    return (age_months < ADULT_MONTHS) & (level >= NEED_LEVEL) & (u < transfer_if_burdened)


@rule
def after_crisis(unaccompanied: bool, u: float, residential_probability: float, placement_probability: float) -> int:
    """After Inobhutnahme (§42): an unaccompanied minor stays in residential care or moves on; a resident child
    is placed or goes home."""
    if unaccompanied:
        return STAYS_IN_CARE if u < residential_probability else MOVES_ON
    return PLACED if u < placement_probability else HOME


@rule
def back_on_waiting_list(level: int, unaccompanied: bool) -> bool:
    """A resident family home from a help with the need unresolved waits for a help plan again."""
    return (level >= NEED_LEVEL) & (not unaccompanied)
