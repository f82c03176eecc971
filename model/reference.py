"""The reference model: the rules of `model.simulation` written one family agent at a time.

`DistrictModel` works on arrays of families and draws from counter-based streams, for speed and common
random numbers. This module writes the same rules the way a Mesa user would write them first: one
`Family` agent per slot, with one method per rule, and the youth office's month (which needs the whole
population) as methods of `ReferenceModel`. It draws from Mesa's own generator (`self.random`), so the
two models agree in distribution, not draw for draw; `tests/test_reference.py` checks that they do.

Each rule is a function of `model.rules`, called here with one family's values and in the engine by its
compiled loops: the two models share the rules and differ only in how they loop and draw. This module is
the readable specification of the month and the yardstick for the fast engine, not a tool for long runs:
it is one to two orders of magnitude slower.

Order matters where places are rationed. Where the engine ranks families explicitly (prevention places:
most burdened first; help plans: level, then months waiting) this module ranks them the same way.
Where the engine takes families in array order (capped helps granted outside help planning), this module
takes them in the order they joined the model, which is the engine's array order.
"""

from __future__ import annotations

import time
from bisect import bisect_right

import mesa
import numpy as np

from model import rules as rule
from model.families import FIELDS, NO_HELP, Families
from model.parameters import (
    ADULT_MONTHS,
    CRISIS,
    DIAGNOSTIC,
    HELP_PLAN,
    PLACEMENT,
    SELF_REFERRAL,
    SGB2_POVERTY,
    SINGLE_PARENT,
    Catalogue,
    Rules,
    YearParameters,
)
from model.recorder import Recorder, Tally
from model.run import SimulationResult, replicate_seeds
from model.scenario import AGE_BANDS_YEARS, RISK_FACTORS, Scenario

BAND_STARTS_MONTHS = [12 * years for years in AGE_BANDS_YEARS[1:-1]]


def band_of(age_months: int) -> int:
    """Age band 0-3 (0-5, 6-11, 12-17, 18-20 years), as the engine's `kernels.band_of`."""
    return bisect_right(BAND_STARTS_MONTHS, age_months)


class Family(mesa.Agent):
    """One slot: an index child and the circumstances of its family (the fields of `model.families`)."""

    model: ReferenceModel

    def __init__(self, model: ReferenceModel, age_months: int, unaccompanied: bool = False) -> None:
        super().__init__(model)
        self.unaccompanied = unaccompanied
        self.moving_away = False
        self.age_months = age_months
        for factor in RISK_FACTORS:
            setattr(self, factor, False)
        self.shock_ratio = 0.0  # unaccompanied minors: no family burden
        self.burden = 0.0
        self.level = 0
        self.help = NO_HELP
        self.help_months_left = 0
        self.help_months_used = 0
        self.help_start_level = 0
        self.help_start_sgb2_poverty = self.help_start_single_parent = False  # circumstances when it began
        self.prevention = NO_HELP
        self.prevention_months_left = 0
        self.prevention_received: set[int] = set()  # each service is offered once
        self.protection = 0.0
        self.protection_decay = 1.0
        self.parenting = self.parenting_pending = self.parenting_growth = 0.0
        self.waiting = False
        self.months_waiting = 0
        self.failed_help = False
        self.diagnosed = False
        self.earlier_hze = False  # has had a help that counts as HzE

    # --- birth ---------------------------------------------------------------------------------

    def draw_circumstances(self) -> None:
        """Risk factors from the district profile (single parenthood by the family's age), a log-normal frailty,
        and the expected burden to start at."""
        m, rnd = self.model, self.random
        rf, year, r = m.scenario.district.risk_factors, m.year, m.rules
        birth_share = rf.single_parent_share.at(year)
        h, partner = r.separation_hazard_per_month, r.new_partner_hazard_per_month
        single_share = rule.single_parent_share_at_age(birth_share, h, partner, self.age_months)
        self.single_parent = rnd.random() < single_share
        poverty = rf.sgb2_poverty_share_if_single_parent if self.single_parent else rf.sgb2_poverty_share_if_couple
        self.sgb2_poverty = rnd.random() < poverty.at(year)
        self.parental_mental_illness = rnd.random() < rf.parental_mental_illness_share.at(year)
        self.young_parent = rnd.random() < rf.young_parent_share.at(year)
        self.special_needs = rnd.random() < rf.special_needs_share.at(year)
        self.shock_ratio = rule.frailty(r.frailty_sd_log, rnd.random())
        ratios = rf.shock_hazard_ratio
        for factor in RISK_FACTORS:
            if getattr(self, factor):
                self.shock_ratio *= ratios[factor].at(year)
        # Starting at the expected burden keeps the population from drifting during burn-in.
        unprotected = self.shock_hazard(protection=0.0, parenting=0.0, waiting=False, service=NO_HELP)
        self.burden = rule.expected_burden(unprotected, r.shock_mean_size_points, r.reversion_per_month)
        self.level = rule.risk_level(self.burden)

    def shock_hazard(self, protection: float, parenting: float, waiting: bool, service: int) -> float:
        """The family's monthly shock hazard at its age (`rules.shock_hazard`)."""
        r = self.model.rules
        age_ratio = r.age_hazard_ratio_by_band[band_of(self.age_months)]
        waiting_ratio = rule.waiting_hazard_ratio(waiting, r.shock_hazard_ratio_while_waiting)
        return rule.shock_hazard(
            r.shock_hazard_per_month,
            self.shock_ratio,
            age_ratio,
            protection,
            parenting,
            waiting_ratio,
            service,
            r.prevention,
        )

    # --- 1. family circumstances ---------------------------------------------------------------

    def change_circumstances(self) -> None:
        """Single parenthood begins (separation) or ends (a new partner moves in); transfer benefits follow a
        change of household, else begin and end with their hazards; the shock ratio follows both factors."""
        if self.unaccompanied:  # no family here
            return
        r = self.model.rules
        was_single, was_poor = self.single_parent, self.sgb2_poverty
        moved = rule.household_changes(
            was_single, self.random.random(), r.separation_hazard_per_month, r.new_partner_hazard_per_month
        )
        self.single_parent = was_single != moved
        share = r.risk_factor_share[SGB2_POVERTY]  # parents a couple, single
        flips = rule.transfer_benefits_change(
            was_poor,
            moved,
            self.random.random(),
            share[int(was_single)],
            share[int(self.single_parent)],
            r.sgb2_entry_hazard_per_month[int(self.single_parent)],
            r.sgb2_exit_hazard_per_month,
        )
        self.sgb2_poverty = was_poor != flips
        ratio = r.risk_factor_hazard_ratio
        self.shock_ratio = rule.shock_ratio_with_factor(
            self.shock_ratio, was_single, self.single_parent, ratio[SINGLE_PARENT]
        )
        self.shock_ratio = rule.shock_ratio_with_factor(
            self.shock_ratio, was_poor, self.sgb2_poverty, ratio[SGB2_POVERTY]
        )

    # --- 2. demography -------------------------------------------------------------------------

    def grow_older(self) -> bool:
        """One month older; a help at 18 continues (§41) with a probability, none runs past 21. True: leaves."""
        m = self.model
        self.age_months += 1
        in_help = self.help != NO_HELP
        ends = rule.help_ends_with_age(
            self.age_months, in_help, self.random.random(), m.rules.continue_after_18_probability
        )
        if ends:
            m.end_help(self)
        return rule.leaves_district(self.age_months, in_help, ends, self.moving_away, self.unaccompanied)

    # --- 3. burden and risk --------------------------------------------------------------------

    def step(self) -> None:
        """The family's own month: shocks add burden, burden reverts (faster in a help), protection decays and
        a pending change in parenting grows."""
        r = self.model.rules
        hazard = self.shock_hazard(self.protection, self.parenting, self.waiting, self.prevention)
        shocked = self.random.random() < hazard
        self.burden *= r.burden_kept_by_help[self.help]  # the last entry: no help
        if shocked:
            self.burden += rule.shock_size_points(r.shock_mean_size_points, self.random.random())
        self.protection = rule.decayed_protection(self.protection, self.protection_decay)
        self.parenting, self.parenting_pending = rule.parenting_grown(
            self.parenting, self.parenting_pending, self.parenting_growth
        )
        self.level = rule.risk_level(self.burden)

    # --- 4. reach and detection ----------------------------------------------------------------

    def idle_for_prevention(self) -> bool:
        """Neither in prevention nor in a help; unaccompanied minors have no family here to reach."""
        return self.prevention == NO_HELP and self.help == NO_HELP and not self.unaccompanied

    def reached_by(self, service: int) -> float | None:
        """A service reaches the family with its reach: the draw if reached (for ranking), else None."""
        cat, r = self.model.catalogue, self.model.rules
        low, high = cat.prevention_age_months[service]
        if not (rule.in_age_range(self.age_months, low, high) and cat.prevention_level_ok[service, self.level]):
            return None
        if service in self.prevention_received:
            return None
        u = self.random.random()
        return u if u < r.prevention_reach[service] else None

    def begin_prevention(self, service: int) -> None:
        self.prevention = service
        self.prevention_months_left = int(self.model.rules.prevention_duration_months[service])
        self.prevention_received.add(service)
        self.model.tally.prevention_begun[service] += 1

    def known_to_nobody(self) -> bool:
        """Burdened, not in a help and not yet waiting: a self-referral can still reach the office."""
        return rule.open_to_notice(self.help != NO_HELP, self.waiting, self.level)

    def maybe_reported(self) -> None:
        """Schools, Kitas, health services, police and services report (a waiting family at endangerment); the
        office assesses (§8a)."""
        r = self.model.rules
        if not rule.open_to_reports(self.help != NO_HELP, self.waiting, self.level):
            return
        hazard = rule.report_hazard(
            r.report_hazard_per_month_by_level[self.level],
            r.network_referral_hazard_ratio,
            self.prevention,
            r.prevention,
        )
        if self.random.random() < hazard:
            self.assess()

    def maybe_escalation_noticed(self) -> None:
        """A helper in an ambulant help who sees endangerment arisen in it reports; the help ends as failed."""
        m, r = self.model, self.model.rules
        ambulant = r.ambulant_by_help[self.help]  # the last entry: no help
        u = self.random.random()
        if rule.escalation_noticed(
            ambulant, self.level, self.help_start_level, u, r.in_help_escalation_detection_per_month
        ):
            m.end_help(self)
            self.failed_help = True
            self.assess()

    def assess(self) -> None:
        """§8a: acute endangerment of a minor -> Inobhutnahme; latent endangerment or need -> wait for a plan. A
        young adult is not assessed: in need, they wait for a plan (§41)."""
        m = self.model
        if not rule.assessed_under_8a(self.age_months):
            self.waiting |= rule.young_adult_help_planned(self.level)
            return
        u = self.random.random()
        outcome = rule.assessment_outcome(self.level, self.age_months, u, m.rules.acute_share_of_endangerment)
        m.tally.assessments[outcome] += 1
        if outcome == rule.ACUTE:
            m.start_help(self, m.crisis_help)
        elif outcome != rule.NEITHER:
            self.waiting = True

    def maybe_self_referral(self) -> None:
        """Families seek counselling (§28) themselves."""
        m = self.model
        hazard = rule.self_referral_hazard(
            m.rules.self_referral_hazard_per_month_by_level[self.level],
            self.sgb2_poverty,
            m.rules.self_referral_hazard_ratio_transfer_benefits,
            self.age_months,
            m.rules.self_referral_hazard_ratio_young_adults,
        )
        if self.known_to_nobody() and self.random.random() < hazard:
            m.grant(self, m.catalogue.helps_with("self_referral"))

    # --- 6. help outcomes ----------------------------------------------------------------------

    def advance_help(self) -> int | None:
        """One more month of help; when the planned months are over the help ends. Returns its access if it ended."""
        m, cat = self.model, self.model.catalogue
        self.help_months_left -= 1
        self.help_months_used += 1
        if self.help_months_left > 0:
            return None
        access = int(cat.help_access[self.help])
        settles_need = access in (SELF_REFERRAL, HELP_PLAN)
        if settles_need and rule.resolved(self.level):
            m.tally.ended_resolved[self.help] += 1
        m.end_help(self)
        if settles_need and not rule.resolved(self.level):  # an unresolved need goes back to the youth office
            self.failed_help = True
        if access == DIAGNOSTIC:
            self.diagnosed = True
        return access

    def advance_prevention(self) -> None:
        """A service ends after its months and leaves a lasting, decaying protection (the stronger one counts) and
        a lasting change in parenting still to come (the larger one counts)."""
        r = self.model.rules
        self.prevention_months_left -= 1
        if self.prevention_months_left > 0:
            return
        s = self.prevention
        self.protection, self.protection_decay = rule.protection_after_prevention(
            self.protection, self.protection_decay, s, r.prevention, r.protection_decay_per_month[s]
        )
        self.parenting_pending, self.parenting_growth = rule.parenting_after_prevention(
            self.parenting,
            self.parenting_pending,
            self.parenting_growth,
            s,
            r.prevention,
            r.parenting_growth_per_month[s],
        )
        self.prevention = NO_HELP


class ReferenceModel(mesa.Model):
    """Families of one district, its youth office and its services, month by month, one agent per family."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        super().__init__(rng=seed)
        self.scenario = scenario
        self.catalogue = Catalogue.of(scenario)
        sim = scenario.simulation
        self.month = -12 * sim.burn_in_years  # negative in burn-in
        self.horizon_months = 12 * sim.horizon_years
        self.params = YearParameters.of(scenario, self.year)
        self.rules = Rules.of(self.catalogue, self.params)
        self.recorder = Recorder(self.catalogue, self.horizon_months)
        self.tally = Tally(self.catalogue)
        self.crisis_help = int(self.catalogue.helps_with("crisis")[0])
        self.places_taken = np.zeros(len(self.catalogue.help_names), dtype=np.int64)
        self.birth_carry = self.arrival_carry = self.plan_carry = 0.0
        initial = round(self.params.births_per_month * ADULT_MONTHS)
        for i in range(initial):  # ages spread evenly over 0-17 years
            self.add_resident(age_months=i * ADULT_MONTHS // initial)

    @property
    def year(self) -> int:
        return self.scenario.simulation.start_year + self.month // 12

    def families(self) -> list[Family]:
        """All families, in the order they joined (the engine's array order)."""
        return list(self.agents)

    def run(self) -> Recorder:
        while self.month < self.horizon_months:
            self.step()
        return self.recorder

    # --- the month: the same phases in the same order as DistrictModel.step ----------------------

    def step(self) -> None:
        if self.month % 12 == 0:
            self.params = YearParameters.of(self.scenario, self.year)
            self.rules = Rules.of(self.catalogue, self.params)
        self.tally.reset()
        self.agents.shuffle_do("change_circumstances")  # first: before births, and before burden and risk
        self.demography()
        self.agents.shuffle_do("step")  # burden and risk: each family on its own
        self.reach_and_detection()
        self.help_planning()
        self.help_outcomes()
        self.accounting()
        if self.month >= 0:
            self.recorder.observe(self.month, self.snapshot(), self.tally, self.params)
        self.month += 1

    # 2. demography ----------------------------------------------------------------------------

    def demography(self) -> None:
        p = self.params
        for family in self.families():
            if family.grow_older():
                self.tally.exits += 1
                family.remove()

        self.birth_carry += p.births_per_month
        births = int(self.birth_carry)
        self.birth_carry -= births
        for _ in range(births):
            self.add_resident(age_months=0)
        self.tally.births = births

        self.arrival_carry += p.unaccompanied_per_month
        arrivals = int(self.arrival_carry)
        self.arrival_carry -= arrivals
        shares = self.rules.unaccompanied_arrival_age_share_by_band
        for _ in range(arrivals):  # unaccompanied minors arrive through Inobhutnahme, at their age at arrival
            age = rule.arrival_age_months(self.random.random(), self.random.random(), shares)
            minor = Family(self, age_months=age, unaccompanied=True)
            self.start_help(minor, self.crisis_help)

    def add_resident(self, age_months: int) -> Family:
        family = Family(self, age_months=age_months)
        family.draw_circumstances()
        return family

    # 4. reach and detection -------------------------------------------------------------------

    def reach_and_detection(self) -> None:
        self.prevention_uptake()
        self.agents.shuffle_do("maybe_reported")
        self.agents.shuffle_do("maybe_escalation_noticed")
        # Self-referrals may compete for capped places: in join order, as the engine grants them.
        for family in self.families():
            family.maybe_self_referral()

    def prevention_uptake(self) -> None:
        """Each service, in catalogue order, reaches eligible families within the places its budget buys."""
        cat, p = self.catalogue, self.params
        families = self.families()
        occupied = np.zeros(len(cat.prevention_names), dtype=np.int64)
        for family in families:
            if family.prevention != NO_HELP:
                occupied[family.prevention] += 1
        idle = [family for family in families if family.idle_for_prevention()]  # taken before anyone starts
        for s in range(len(cat.prevention_names)):
            free = int(p.prevention_places[s] - occupied[s])
            if free <= 0:
                continue
            reached = []
            for family in idle:
                if family.prevention == NO_HELP and (u := family.reached_by(s)) is not None:
                    reached.append((family, u))
            reached.sort(key=lambda fu: (-fu[0].level, fu[1]))  # the most burdened first, else at random
            for family, _ in reached[:free]:
                family.begin_prevention(s)

    # 5. help planning -------------------------------------------------------------------------

    def help_planning(self) -> None:
        """The youth office makes help plans (§36) for waiting families, within caseworker capacity."""
        p, r, cat, rnd = self.params, self.rules, self.catalogue, self.random
        families = self.families()
        ready = [f for f in families if f.waiting and rnd.random() < r.help_plan_completion_per_month]
        capacity = self.plan_carry + p.help_plans_per_month
        planned = min(len(ready), int(capacity))
        self.plan_carry = capacity - int(capacity)  # only the fraction of a plan carries over
        # Priority: highest risk level, then longest waiting, then at random.
        keys = {f: (-f.level, -f.months_waiting, rnd.random()) for f in ready}
        chosen = sorted(ready, key=keys.__getitem__)[:planned]

        for family in chosen:  # the conference closes a case whose need has resolved meanwhile
            if rule.case_closed(family.level):
                family.waiting, family.months_waiting = False, 0
        diagnostic = cat.helps_with("diagnostic")
        for family in chosen:
            if not family.waiting:
                continue
            u = rnd.random()
            if rule.diagnostics_first(family.failed_help, family.level, family.diagnosed, u, r.diagnostics_first_share):
                self.grant(family, diagnostic)
        placed, ambulant = [], []
        for family in chosen:
            if not family.waiting:  # closed, or got a diagnostic place
                continue
            p_place = rule.placement_probability(
                r.placement_probability_by_level[family.level],
                family.failed_help,
                r.placement_probability_after_failed_help,
                family.diagnosed,
                r.diagnosed_placement_ratio,
            )
            (placed if rnd.random() < p_place else ambulant).append(family)
        for family in placed:
            self.grant(family, cat.helps_with("placement"))
        for family in ambulant:
            self.grant(family, cat.helps_with("help_plan"))
        for family in families:  # those without a place, and those not planned yet, wait on
            if family.waiting:
                family.months_waiting += 1

    def grant(self, family: Family, helps: np.ndarray) -> None:
        """Start one of `helps`, chosen by age-band weights among those the family's level allows.

        One uniform draw per family: if the chosen help has no free place its weight drops to zero and
        the same draw chooses again. Families granted earlier keep their place (the engine's rule).
        """
        if len(helps) == 0:
            return
        r = self.rules
        band = band_of(family.age_months)
        poor, ratios = family.sgb2_poverty, r.choice_weight_ratio_transfer_benefits
        weights = [
            rule.choice_weight(r.weight_by_age_band[h, band], r.help_level_ok[h, family.level], poor, ratios[h])
            for h in helps
        ]
        u = self.random.random()
        while (total := sum(weights)) > 0:
            cumulative, pick = 0.0, max(k for k, w in enumerate(weights) if w > 0)  # guards against rounding
            for k, w in enumerate(weights):
                cumulative += w
                if w > 0 and u <= cumulative / total:
                    pick = k
                    break
            help_ = int(helps[pick])
            if self.places_taken[help_] < r.help_places[help_]:
                self.start_help(family, help_)
                return
            weights[pick] = 0.0

    def start_help(self, family: Family, help_: int) -> None:
        """A help begins with a log-normal planned duration; an out-of-home help ends prevention at home."""
        r = self.rules
        months = rule.help_duration_months(
            r.help_duration_mu[help_], r.help_duration_sigma[help_], self.random.random()
        )
        family.help = help_
        family.help_months_left = int(months)
        family.help_months_used = 0
        family.help_start_level = family.level
        family.help_start_sgb2_poverty, family.help_start_single_parent = family.sgb2_poverty, family.single_parent
        family.waiting = False
        family.months_waiting = 0
        if r.out_of_home[help_]:
            family.prevention = NO_HELP  # the child has left home
        family.earlier_hze |= bool(r.counts_as_hze[help_])
        self.places_taken[help_] += 1
        self.tally.begun[help_] += 1
        if family.unaccompanied:
            self.tally.begun_unaccompanied[help_] += 1

    def end_help(self, family: Family) -> None:
        self.tally.ended[family.help] += 1
        self.tally.ended_months[family.help] += family.help_months_used
        self.places_taken[family.help] -= 1
        family.help = NO_HELP
        family.help_months_left = 0

    # 6. help outcomes -------------------------------------------------------------------------

    def help_outcomes(self) -> None:
        """Helps run a month; those that end may lead to a transfer, a placement, or back to the office."""
        r, cat, tally, rnd = self.rules, self.catalogue, self.tally, self.random
        families = self.families()
        tally.occupancy[:] = self.places_taken  # billed: every help running this month
        ended: list[tuple[Family, int]] = []
        for family in families:  # every help that ends is over before any new one begins
            if family.help != NO_HELP and (access := family.advance_help()) is not None:
                ended.append((family, access))

        # a placement that ends while home is still burdened continues elsewhere with a probability
        for family, access in ended:
            if access == PLACEMENT:
                u = rnd.random()
                if rule.transfers(family.age_months, family.level, u, r.transfer_probability_if_burdened):
                    self.grant(family, cat.helps_with("placement"))

        # after Inobhutnahme: unaccompanied minors stay in residential care or move on, resident children are
        # placed or go home
        for family in [family for family, access in ended if access == CRISIS]:
            follows = rule.after_crisis(
                family.unaccompanied,
                rnd.random(),
                r.residential_probability_after_crisis,
                r.placement_after_crisis_probability,
            )
            if follows == rule.STAYS_IN_CARE:
                self.start_help(family, cat.unaccompanied_help)
            elif follows == rule.MOVES_ON:
                family.moving_away = True
            elif follows == rule.PLACED:
                self.grant(family, cat.helps_with("placement"))

        # home with the need unresolved: back on the youth office's waiting list
        for family, _ in ended:
            if family.help == NO_HELP and rule.back_on_waiting_list(family.level, family.unaccompanied):
                family.waiting = True

        tally.prevention_occupancy[:] = 0
        for family in families:
            if family.prevention != NO_HELP:
                tally.prevention_occupancy[family.prevention] += 1
                family.advance_prevention()

    # 7. accounting ----------------------------------------------------------------------------

    def accounting(self) -> None:
        """Cost = occupancy x monthly unit cost."""
        tally, p = self.tally, self.params
        tally.help_cost[:] = tally.occupancy * p.help_cost_per_month
        tally.prevention_cost[:] = tally.prevention_occupancy * p.prevention_cost_per_month

    # 8. observation ---------------------------------------------------------------------------

    def snapshot(self) -> Families:
        """The population as the engine's arrays, so the engine's Recorder counts it the same way."""
        families = self.families()
        arrays = Families(len(families))
        for name in FIELDS:
            if name == "id":
                values = [f.unique_id for f in families]
            elif name == "prevention_received":
                values = [sum(1 << s for s in f.prevention_received) for f in families]
            else:
                values = [getattr(f, name) for f in families]
            getattr(arrays, name)[:] = np.array(values, dtype=FIELDS[name]).reshape(len(families))
        return arrays


def run_reference(scenario: Scenario, seed: int) -> np.ndarray:
    """One replicate of the reference model: the monthly metrics (months x metrics), as `run_replicate`."""
    return ReferenceModel(scenario, seed).run().values


def simulate_reference(scenario: Scenario, replicates: int = 1, seed: int = 0) -> SimulationResult:
    """Replicates of the reference model (in this process), as a `SimulationResult` like `simulate` returns."""
    seeds = replicate_seeds(seed, replicates)
    started = time.perf_counter()
    values = np.stack([run_reference(scenario, s) for s in seeds])
    return SimulationResult(scenario, seed, seeds, values, time.perf_counter() - started)
