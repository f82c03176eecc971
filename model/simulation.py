"""The district model: one Mesa model, one monthly step, seven phases in the order they run.

Read `DistrictModel.step` top to bottom: it is the whole month. Every phase works on the family
arrays at once; no phase loops over families in Python. Where a phase visits every family, or makes
many small decisions, it calls a compiled pass (`kernels`) that does in one loop what a dozen array
operations did, with the same arithmetic in the same order. Every random decision draws from its own
stream, indexed by family id and month (see `streams`), so scenarios run with the same seed share
their random numbers (common random numbers).
"""

from __future__ import annotations

import mesa
import numpy as np

from model import kernels
from model.families import NO_HELP, Families
from model.parameters import AGE_BAND_STARTS, Catalogue, YearParameters
from model.recorder import Recorder, Tally
from model.scenario import RISK_FACTORS, Scenario
from model.streams import Streams

ADULT_MONTHS = 18 * 12
MAX_AGE_MONTHS = 21 * 12  # §41 helps end at 21
UNACCOMPANIED_ID_BASE = 1 << 39  # their ids never collide with residents' ids


class DistrictModel(mesa.Model):
    """Families of one district, its youth office and its services, month by month."""

    def __init__(self, scenario: Scenario, seed: int):
        super().__init__(rng=seed)
        self.scenario = scenario
        self.catalogue = Catalogue.of(scenario)
        self.streams = Streams(seed)
        sim = scenario.simulation
        self.month = -12 * sim.burn_in_years  # months since January of start_year; negative in burn-in
        self.horizon_months = 12 * sim.horizon_years
        self.params = YearParameters.of(scenario, self.year)
        self.recorder = Recorder(self.catalogue, self.horizon_months)
        self.tally = Tally(self.catalogue)
        # Families in each help, kept by `_start_helps` and `_end_helps` (the only changes of `help`: families
        # leave only without a help), so that granting a capped help need not count every family's help.
        self.places_taken = np.zeros(len(self.catalogue.help_names), dtype=np.int64)
        self.next_id = 0
        self.next_unaccompanied_id = UNACCOMPANIED_ID_BASE
        self.birth_carry = self.arrival_carry = self.plan_carry = 0.0
        initial = round(self.params.births_per_month * ADULT_MONTHS)
        self.families = Families(initial)
        self._add_families(slice(0, initial), age_months=np.arange(initial) * ADULT_MONTHS // initial)

    @property
    def year(self) -> int:
        return self.scenario.simulation.start_year + self.month // 12

    def counters(self, stream: str) -> tuple[np.uint64, int, np.ndarray]:
        """What a kernel needs to draw from the named stream this month: its key, the month, the family ids."""
        return self.streams.key(stream), self.month, self.families.id

    def run(self) -> Recorder:
        while self.month < self.horizon_months:
            self.step()
        return self.recorder

    # --- the month -----------------------------------------------------------------------------

    def step(self) -> None:
        if self.month % 12 == 0:
            self.params = YearParameters.of(self.scenario, self.year)
        self.tally.reset()
        self.demography()
        self.burden_and_risk()
        self.reach_and_detection()
        self.help_planning()
        self.help_outcomes()
        self.accounting()
        if self.month >= 0:
            self.recorder.observe(self.month, self.families, self.tally, self.params)
        self.month += 1

    # 1. demography ----------------------------------------------------------------------------

    def demography(self) -> None:
        """Everyone ages a month; adults without a help and those moving away leave; babies are born (a new
        family each) and unaccompanied minors arrive, straight into Inobhutnahme (§42)."""
        f, p = self.families, self.params
        ending, leaving = kernels.age_a_month(
            *self.counters("continue_after_18"),
            f.age_months,
            f.help,
            f.moving_away,
            p.continue_after_18,
            ADULT_MONTHS,
            MAX_AGE_MONTHS,
        )
        self._end_helps(ending)
        self.tally.exits = len(leaving)

        self.birth_carry += p.births_per_month
        births = int(self.birth_carry)
        self.birth_carry -= births
        self.arrival_carry += p.unaccompanied_per_month
        arrivals = int(self.arrival_carry)
        self.arrival_carry -= arrivals
        new = f.renew(leaving, births + arrivals)  # births first, then arrivals
        self._add_families(slice(new.start, new.start + births), age_months=0)
        self.tally.births = births
        if arrivals:
            minors = slice(new.start + births, new.stop)
            f.id[minors] = np.arange(self.next_unaccompanied_id, self.next_unaccompanied_id + arrivals)
            self.next_unaccompanied_id += arrivals
            f.unaccompanied[minors] = True
            f.age_months[minors] = p.unaccompanied_arrival_age_months  # shock_ratio 0: no family burden
            crisis = self.catalogue.helps_with("crisis")[0]
            self._start_helps(np.arange(minors.start, minors.stop), np.full(arrivals, crisis), "duration:arrival")

    def _add_families(self, new: slice, age_months: np.ndarray | int) -> None:
        """New resident families (births, or the initial population) in the slots `new`, with risk factors
        from the district profile."""
        n = new.stop - new.start
        if n == 0:
            return
        f = self.families
        f.id[new] = np.arange(self.next_id, self.next_id + n)
        self.next_id += n
        f.age_months[new] = age_months
        p = self.params
        kernels.new_families(
            self.streams.keys(RISK_FACTORS),  # a stream each
            self.streams.key("frailty"),
            f.id,
            (new.start, new.stop),
            p.risk_factor_share,
            p.risk_factor_hazard_ratio,
            RISK_FACTORS.index("single_parent"),
            p.frailty_sd_log,
            tuple(getattr(f, factor) for factor in RISK_FACTORS),
            f.shock_ratio,
            f.age_months,
            p.shock_hazard,
            p.age_hazard_ratio,
            AGE_BAND_STARTS,
            p.shock_mean_size,
            p.reversion,
            f.burden,
            f.level,
        )

    # 2. burden and risk -----------------------------------------------------------------------

    def burden_and_risk(self) -> None:
        """Shocks raise a family's burden, it reverts towards zero (faster in a help); levels follow the burden."""
        f, p = self.families, self.params
        kernels.shocks_and_reversion(
            *self.counters("shock"),
            f.age_months,
            f.shock_ratio,
            f.protection,
            f.protection_decay,
            f.prevention,
            f.help,
            f.burden,
            f.level,
            p.shock_hazard,
            p.age_hazard_table,
            AGE_BAND_STARTS,
            p.shock_ratio_by_prevention,
            p.burden_kept_by_help,
            self.streams.key("shock_size"),
            p.shock_mean_size,
        )

    # 3. reach and detection -------------------------------------------------------------------

    def reach_and_detection(self) -> None:
        self._prevention_uptake()
        reported, escalated, seeking = self._come_to_notice()
        self._reports_to_youth_office(reported)
        self._escalations_noticed_in_help(escalated)
        self._self_referrals(seeking)

    def _prevention_uptake(self) -> None:
        """Low-threshold services reach eligible families, within the places their budget buys."""
        f, p, cat = self.families, self.params, self.catalogue
        self.tally.prevention_begun += kernels.prevention_uptake(
            self.streams.keys(cat.uptake_streams),
            self.month,
            f.id,
            f.age_months,
            f.level,
            f.help,
            f.unaccompanied,
            f.prevention,
            f.prevention_months_left,
            f.prevention_received,
            p.prevention_places,
            p.prevention_uptake * p.network_outreach,
            cat.prevention_youngest,
            cat.prevention_oldest,
            cat.prevention_by_level,
            p.prevention_duration,
        )

    def _come_to_notice(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reports, escalations noticed in help and self-referrals, drawn in one pass over the families.

        They are drawn before any of them is acted on: acting on reports and escalations changes no
        family that another of the three selects, except that some of those seeking counselling are
        assessed in the meantime (`_self_referrals` drops them). Levels do not change in between.
        """
        f, p = self.families, self.params
        return kernels.come_to_notice(
            self.streams.keys(("report", "escalation_noticed", "self_referral")),
            self.month,
            f.id,
            f.help,
            f.waiting,
            f.level,
            f.prevention,
            f.help_start_level,
            p.report_hazard_table,
            p.network_referral,
            p.referral_ratio_by_prevention,
            self.catalogue.ambulant_by_help,
            p.escalation_noticed,
            p.self_referral_table,
        )

    def _reports_to_youth_office(self, reported: np.ndarray) -> None:
        """Schools, Kitas, health services, police and services report families; the office assesses (§8a)."""
        self._assess(reported)

    def _escalations_noticed_in_help(self, noticed: np.ndarray) -> None:
        """A helper who sees endangerment (level 4) in an ambulant help reports it; the help ends as failed."""
        self._end_helps(noticed)
        self.families.failed_help[noticed] = True
        self._assess(noticed)

    def _assess(self, idx: np.ndarray) -> None:
        """§8a assessment: acute endangerment -> Inobhutnahme; latent endangerment or need -> wait for a help plan."""
        f, p = self.families, self.params
        acute = kernels.assess(
            *self.counters("acute"),
            idx,
            f.level,
            f.age_months,
            f.waiting,
            p.acute_share,
            ADULT_MONTHS,  # Inobhutnahme (§42) is for minors only
            self.tally.assessments,
        )
        crisis = self.catalogue.helps_with("crisis")[0]
        self._start_helps(acute, np.full(len(acute), crisis), "duration:crisis")

    def _self_referrals(self, seeking: np.ndarray) -> None:
        """Families seek counselling (§28) themselves: those still without a help and not waiting."""
        f = self.families
        seeking = seeking[(f.help[seeking] == NO_HELP) & ~f.waiting[seeking]]  # not assessed since they were drawn
        self._grant(seeking, self.catalogue.helps_with("self_referral"), "duration:self_referral")

    # 4. help planning -------------------------------------------------------------------------

    def help_planning(self) -> None:
        """The youth office makes help plans (§36) for waiting families, within caseworker capacity."""
        f, p, cat = self.families, self.params, self.catalogue
        capacity = self.plan_carry + p.help_plans_per_month
        self.plan_carry = capacity - int(capacity)  # unused capacity is not saved up
        chosen = kernels.plans_to_make(  # a need resolved while waiting closes the case
            self.streams.keys(("plan_ready", "plan_priority")),
            self.month,
            f.id,
            f.waiting,
            f.months_waiting,
            f.level,
            p.plan_completion,
            int(capacity),
        )
        diagnostics, placed = kernels.plan_helps(
            self.streams.keys(("diagnostics", "placement")),
            self.month,
            f.id,
            chosen,
            f.level,
            f.failed_help,
            f.diagnosed,
            p.diagnostics_first,
            p.placement_by_level,
            p.placement_after_failed,
            p.diagnosed_placement_ratio,
        )
        self._grant(chosen[diagnostics], cat.helps_with("diagnostic"), "duration:planning")
        still_waiting = f.waiting[chosen]  # all but those who got diagnostics
        self._grant(chosen[still_waiting & placed], cat.helps_with("placement"), "duration:planning")
        self._grant(chosen[still_waiting & ~placed], cat.helps_with("help_plan"), "duration:planning")

    def _grant(self, idx: np.ndarray, helps: np.ndarray, stream: str) -> None:
        """Start, for each family, one of `helps` chosen by age-band weights among those with a free place."""
        if len(idx) == 0 or len(helps) == 0:
            return
        f, p = self.families, self.params
        kernels.grant(
            self.streams.key("help_choice:" + stream),
            self.streams.key(stream),
            self.month,
            f.id,
            idx,
            helps,
            f.age_months,
            p.help_weight,
            self.catalogue.help_level_ok,
            AGE_BAND_STARTS,
            p.help_places,
            *self._help_arrays(),
        )

    def _start_helps(self, idx: np.ndarray, helps: np.ndarray, stream: str) -> None:
        """Family idx[r] starts help helps[r], for a duration drawn from `stream`."""
        if len(idx):
            kernels.start_helps(
                self.streams.key(stream), self.month, self.families.id, idx, helps, *self._help_arrays()
            )

    def _help_arrays(self) -> tuple[np.ndarray, ...]:
        """What starting a help reads and changes (the arguments of `kernels.start_helps` after `helps`)."""
        f, p, tally = self.families, self.params, self.tally
        return (
            f.level,
            f.help,
            f.help_months_left,
            f.help_months_used,
            f.help_start_level,
            f.waiting,
            f.months_waiting,
            f.prevention,
            f.unaccompanied,
            self.catalogue.help_access,
            p.help_duration_mu,
            p.help_duration_sigma,
            tally.begun,
            tally.begun_unaccompanied,
            self.places_taken,
        )

    def _end_helps(self, idx: np.ndarray) -> None:
        f, tally = self.families, self.tally
        kernels.end_helps(
            idx, f.help, f.help_months_left, f.help_months_used, tally.ended, tally.ended_months, self.places_taken
        )

    # 5. help outcomes -------------------------------------------------------------------------

    def help_outcomes(self) -> None:
        """Helps and prevention services run a month; those that run out end, with what follows (settle_endings):
        resolved or failed, a transfer to another placement, after Inobhutnahme a placement or home."""
        f, p, cat, tally = self.families, self.params, self.catalogue, self.tally
        tally.occupancy[:], ending = kernels.help_clock(
            f.help, f.help_months_left, f.help_months_used, len(cat.help_names)
        )
        transfer, stays, placed, back_home = kernels.settle_endings(
            self.streams.keys(("transfer", "after_crisis")),
            self.month,
            f.id,
            ending,
            f.help,
            f.help_months_left,
            f.help_months_used,
            f.level,
            f.age_months,
            f.unaccompanied,
            f.failed_help,
            f.diagnosed,
            f.moving_away,
            cat.help_access,
            p.transfer_if_burdened,
            p.unaccompanied_residential_probability,
            p.placement_after_crisis,
            ADULT_MONTHS,
            tally.ended_resolved,
            tally.ended,
            tally.ended_months,
            self.places_taken,
        )
        self._grant(transfer, cat.helps_with("placement"), "duration:transfer")
        self._start_helps(stays, np.full(len(stays), cat.unaccompanied_help), "duration:after_crisis")
        self._grant(placed, cat.helps_with("placement"), "duration:after_crisis")
        f.waiting[back_home[f.help[back_home] == NO_HELP]] = True  # still burdened, and no new help

        # prevention services end and leave a lasting, decaying protection
        tally.prevention_occupancy[:] = kernels.prevention_clock(
            f.prevention,
            f.prevention_months_left,
            f.protection,
            f.protection_decay,
            p.prevention_protection,
            p.prevention_decay,
        )

    # 6. accounting ----------------------------------------------------------------------------

    def accounting(self) -> None:
        """Cost = occupancy x monthly unit cost; occupancy counts the helps running when outcomes are settled.

        A help that runs its planned n months is billed n months; one ended early (an escalation noticed,
        ageing out) is not billed for the month in which it ends.
        """
        tally, p = self.tally, self.params
        tally.help_cost[:] = tally.occupancy * p.help_cost_per_month
        tally.prevention_cost[:] = tally.prevention_occupancy * p.prevention_cost_per_month
