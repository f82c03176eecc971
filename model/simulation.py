"""The district model: one Mesa model, one monthly step, eight phases in the order they run.

Read `DistrictModel.step` top to bottom: it is the whole month. Each phase is one call of compiled code
(`kernels`: the phase of the same name, reading like the rules it implements) over the families' arrays;
no phase loops over families in Python. What stays here is what changes the store of families (exits and
entries), the yearly parameters, the capacity carried between months and the record. Every random
decision draws from its own stream, indexed by family id and month (see `streams`), so scenarios run with
the same seed share their random numbers (common random numbers). `model/reference.py` states the same
rules one family at a time, as a Mesa user would write them first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import mesa
import numpy as np

from model import kernels
from model.families import NO_HELP, Families
from model.microdata import EventLog, Microdata
from model.parameters import ADULT_MONTHS, MAX_AGE_MONTHS, Catalogue, Rules, YearParameters
from model.recorder import RecordCollector, Recorder, Tally
from model.scenario import RISK_FACTORS, Scenario, as_scenario
from model.streams import Streams

UNACCOMPANIED_ID_BASE = 1 << 39  # their ids never collide with residents' ids


class StreamKeys(NamedTuple):
    """The keys of the random streams the compiled phases draw from (`kernels`), one per kind of decision."""

    continue_after_18: np.uint64
    household: np.uint64
    transfer_benefits: np.uint64
    shock: np.uint64
    shock_size: np.uint64
    acute: np.uint64
    report: np.uint64
    escalation_noticed: np.uint64
    self_referral: np.uint64
    plan_ready: np.uint64
    plan_priority: np.uint64
    diagnostics: np.uint64
    placement: np.uint64
    transfer: np.uint64
    after_crisis: np.uint64
    duration_crisis: np.uint64
    duration_arrival: np.uint64
    arrival_age_band: np.uint64
    arrival_age_month: np.uint64
    help_choice_self_referral: np.uint64
    duration_self_referral: np.uint64
    help_choice_planning: np.uint64
    duration_planning: np.uint64
    help_choice_transfer: np.uint64
    duration_transfer: np.uint64
    help_choice_after_crisis: np.uint64
    duration_after_crisis: np.uint64
    frailty: np.uint64
    risk_factors: np.ndarray  # one per risk factor (RISK_FACTORS)
    uptake: np.ndarray  # one per prevention service

    @classmethod
    def of(cls, streams: Streams, catalogue: Catalogue) -> StreamKeys:
        """Stream names: the field's name, with "duration:" for "duration_" and "help_choice:duration:" for
        "help_choice_" (the name of the duration stream prefixed), "uptake:<service>" for each service."""

        def name(field: str) -> str:
            if field.startswith("help_choice_"):
                return "help_choice:duration:" + field.removeprefix("help_choice_")
            return field.replace("duration_", "duration:", 1)

        keys = {field: streams.key(name(field)) for field in cls._fields if field not in ("risk_factors", "uptake")}
        return cls(**keys, risk_factors=streams.keys(RISK_FACTORS), uptake=streams.keys(catalogue.uptake_streams))


@dataclass(frozen=True)
class Snapshot:
    """A model's state at the beginning of `month`, as plain arrays and numbers (see `model.past`). Its arrays
    are never changed: a model continued from it copies them."""

    month: int
    families: dict[str, np.ndarray]  # the families' fields (families.FIELDS), in store order
    next_id: int
    next_unaccompanied_id: int
    birth_carry: float
    arrival_carry: float
    plan_carry: float
    places_taken: np.ndarray
    recorded: np.ndarray  # the recorder's rows of months 0 .. month - 1 (none in burn-in)


class DistrictModel(mesa.Model):
    """Families of one district, its youth office and its services, month by month.

    The keyword arguments are what Mesa's `batch_run` varies: a scenario or the path of its file, the seed, and
    numbers replaced by key path as in experiment files, either as `overrides={"key.path": value}` or as keywords
    (`**{"key.path": value}`: each key path its own batch_run parameter). Every month (burn-in included) is a step;
    `running` turns false after the last month of the horizon; `datacollector` reports each month's figures.
    Given `past`, the model continues from that state (a snapshot of this scenario's past, or of one it shares
    under this seed: `model.past`) instead of starting in January of the burn-in's first year; its
    `datacollector` then reports the months from there on.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        seed: int,
        overrides: Mapping[str, float] | None = None,
        microdata: bool = False,
        past: Snapshot | None = None,
        **key_paths: float,
    ):
        super().__init__(rng=seed)
        scenario = as_scenario(scenario)
        values = {**(overrides or {}), **key_paths}
        self.scenario = scenario = scenario.with_values(values) if values else scenario
        self.catalogue = Catalogue.of(scenario)
        self.streams = Streams(seed)
        self.keys = StreamKeys.of(self.streams, self.catalogue)
        sim = scenario.simulation
        self.month = -12 * sim.burn_in_years  # months since January of start_year; negative in burn-in
        self.horizon_months = 12 * sim.horizon_years
        self.params = YearParameters.of(scenario, self.year)
        self.rules = Rules.of(self.catalogue, self.params)
        self.years_of_change = scenario.years_of_change()  # the numbers are resolved again in these years only
        self.recorder = Recorder(self.catalogue, self.horizon_months)
        self.datacollector = RecordCollector(self.recorder, sim.start_year)
        self.tally = Tally(self.catalogue)
        # Families in each help, kept by `kernels.start_helps` and `end_helps` (the only changes of `help`: families
        # leave only without a help), so that granting a capped help need not count every family's help.
        self.places_taken = np.zeros(len(self.catalogue.help_names), dtype=np.int64)
        self.next_id = 0
        self.next_unaccompanied_id = UNACCOMPANIED_ID_BASE
        self.birth_carry = self.arrival_carry = self.plan_carry = 0.0
        if past is not None:
            if microdata:  # its rows (helps begun, censuses) would lack the past's
                raise ValueError("microdata needs the whole run: a model continued from a past has none")
            self.microdata = None
            self._resume(past)
            return
        initial = round(self.params.births_per_month * ADULT_MONTHS)
        self.microdata = None  # one row per help begun and ended, §8a assessment, and young person in help on 31 Dec
        if microdata:
            cat = self.catalogue
            out_of_home = cat.in_role("out_of_home")
            self.microdata = Microdata(cat.help_names, cat.help_counts_as_hze, out_of_home, sim.start_year)
            self.tally.use_events(EventLog.with_room(16 * (initial + 32)))  # before compiling: a type of the phases
        self.families = f = Families(initial)
        self._compile_phases()
        f.age_months[:] = np.arange(initial) * ADULT_MONTHS // initial
        born = kernels.Newcomers(0, initial, self.next_id, 0, self.next_unaccompanied_id)
        taken = self.places_taken
        self.phases.entries(self.keys, self.month, f.arrays, f.risk_factors, self.rules, self.tally.arrays, taken, born)
        self.next_id += initial

    def snapshot(self) -> Snapshot:
        """The state at the beginning of this month (between two steps), copied."""
        return Snapshot(
            month=self.month,
            families={name: values.copy() for name, values in self.families.arrays._asdict().items()},
            next_id=self.next_id,
            next_unaccompanied_id=self.next_unaccompanied_id,
            birth_carry=self.birth_carry,
            arrival_carry=self.arrival_carry,
            plan_carry=self.plan_carry,
            places_taken=self.places_taken.copy(),
            recorded=self.recorder.values[: max(self.month, 0)].copy(),
        )

    def _resume(self, past: Snapshot) -> None:
        """Continue from a snapshot of a past this scenario shares: its state, with this scenario's numbers
        as a full run holds them in that month (resolved in the last year of change, or the first year)."""
        self.month = past.month
        sim = self.scenario.simulation
        first = sim.start_year - sim.burn_in_years
        resolved = max((y for y in self.years_of_change if first < y <= self.year), default=first)
        self.params = YearParameters.of(self.scenario, resolved)
        self.rules = Rules.of(self.catalogue, self.params)
        self.next_id, self.next_unaccompanied_id = past.next_id, past.next_unaccompanied_id
        self.birth_carry, self.arrival_carry, self.plan_carry = past.birth_carry, past.arrival_carry, past.plan_carry
        self.places_taken[:] = past.places_taken
        self.recorder.values[: len(past.recorded)] = past.recorded
        self.families = Families.of(past.families)
        self._compile_phases()
        self.running = self.month < self.horizon_months

    def _compile_phases(self) -> None:
        """The compiled phases for the types of this model's arguments (see `kernels.phases_for`)."""
        f = self.families
        self.phases = kernels.phases_for(
            self.keys, f.arrays, f.risk_factors, self.rules, self.tally.arrays, self.places_taken, self.recorder.layout
        )

    @property
    def year(self) -> int:
        return self.scenario.simulation.start_year + self.month // 12

    def run(self) -> Recorder:
        while self.month < self.horizon_months:
            self.step()
        return self.recorder

    # --- the month -----------------------------------------------------------------------------

    def step(self) -> None:
        if self.month % 12 == 0 and self.year in self.years_of_change:
            self.params = YearParameters.of(self.scenario, self.year)
            self.rules = Rules.of(self.catalogue, self.params)
            self._compile_phases()  # for the new rules' types (the same, unless a scenario changes a type)
        self.tally.reset()
        self.circumstances()
        self.demography()
        self.burden_and_risk()
        self.reach_and_detection()
        self.help_planning()
        self.help_outcomes()
        self.accounting()
        if self.month >= 0:
            self.recorder.observe(self.month, self.families, self.tally, self.params, self.phases.record)
        if self.microdata is not None:
            self.record_microdata()
        self.datacollector.collect(self)
        self.month += 1
        self.running = self.month < self.horizon_months

    def record_microdata(self) -> None:
        """The month's events (written by the phases), in the horizon; on 31 December the young people in a
        help, with their family's circumstances when the help began. The log gets room for the next month: at
        most eight events a family (helps begun and ended in three phases, two assessments)."""
        events, f = self.tally.events, self.families
        full = events.rows[0] >= len(events.kind)
        rows = events.drain()
        if full:
            raise RuntimeError("the microdata's event log was full: rows were lost")  # room below should prevent it
        if self.month >= 0:
            self.microdata.collect(self.month, rows)
            if self.month % 12 == 11:
                in_help = f.help != NO_HELP
                self.microdata.census(
                    self.month,
                    f.help[in_help],
                    f.age_months[in_help],
                    f.help_start_sgb2_poverty[in_help],  # as the statistics record them: at the start of the help
                    f.help_start_single_parent[in_help],
                    f.unaccompanied[in_help],
                )
                self.microdata.population(self.month, self.young_people_by_age())
        room = 8 * (len(f) + 32)
        if len(events.kind) < room:
            self.tally.use_events(EventLog.with_room(2 * room))

    def young_people_by_age(self) -> np.ndarray:
        """Young people aged 0-20 in the district, by age in completed years: the children counted (one slot
        each, unaccompanied minors included); young adults as the district's nominal under-21s beyond its minors
        (the denominator of every rate per 10,000 under 21), spread evenly over the three years of age."""
        f, p = self.families, self.params
        adult_years = (MAX_AGE_MONTHS - ADULT_MONTHS) // 12
        counted = np.bincount(f.age_months[f.age_months < ADULT_MONTHS] // 12, minlength=ADULT_MONTHS // 12)
        minors = p.births_per_month * ADULT_MONTHS  # the stationary population of minors (`YearParameters.of`)
        return np.concatenate([counted, np.full(adult_years, (p.under_21 - minors) / adult_years)])

    # 1. family circumstances -----------------------------------------------------------------

    def circumstances(self) -> None:
        """Single parenthood and transfer benefits begin and end (`kernels.circumstances`). First in the month:
        before burden and risk, whose shock hazard they change (the shock ratio follows the risk factors), and
        before demography, so that a child born this month lives its first month in the circumstances drawn at
        its birth (a child of a months has had a months of changes, as `rules.single_parent_share_at_age`
        counts them for the population a run begins with)."""
        self.phases.circumstances(self.keys, self.month, self.families.arrays, self.rules)

    # 2. demography ----------------------------------------------------------------------------

    def demography(self) -> None:
        """Everyone ages a month; young people of 21 and those moving away leave; babies are born (a new
        family each) and unaccompanied minors arrive, straight into Inobhutnahme (§42)."""
        f, p, tally = self.families, self.params, self.tally
        leaving = self.phases.ageing(self.keys, self.month, f.arrays, self.rules, tally.arrays, self.places_taken)
        tally.exits = len(leaving)

        self.birth_carry += p.births_per_month
        births = int(self.birth_carry)
        self.birth_carry -= births
        self.arrival_carry += p.unaccompanied_per_month
        arrivals = int(self.arrival_carry)
        self.arrival_carry -= arrivals
        new = f.renew(leaving, births + arrivals)
        newcomers = kernels.Newcomers(new.start, births, self.next_id, arrivals, self.next_unaccompanied_id)
        taken = self.places_taken
        self.phases.entries(self.keys, self.month, f.arrays, f.risk_factors, self.rules, tally.arrays, taken, newcomers)
        self.next_id += births
        self.next_unaccompanied_id += arrivals
        tally.births = births

    # 3. burden and risk -----------------------------------------------------------------------

    def burden_and_risk(self) -> None:
        """Shocks raise a family's burden, it reverts towards zero (faster in a help); levels follow the burden
        (`kernels.burden_and_risk`)."""
        self.phases.burden_and_risk(self.keys, self.month, self.families.arrays, self.rules)

    # 4. reach and detection -------------------------------------------------------------------

    def reach_and_detection(self) -> None:
        """Prevention services reach families; reports (§8a assessment), escalations noticed in help and
        self-referrals bring families to the youth office (`kernels.reach_and_detection`)."""
        self.phases.reach_and_detection(
            self.keys, self.month, self.families.arrays, self.rules, self.tally.arrays, self.places_taken
        )

    # 5. help planning -------------------------------------------------------------------------

    def help_planning(self) -> None:
        """The youth office makes help plans (§36) for waiting families, within caseworker capacity
        (`kernels.help_planning`): diagnostics, a placement or a help by help plan."""
        capacity = self.plan_carry + self.params.help_plans_per_month
        self.plan_carry = capacity - int(capacity)  # unused capacity is not saved up
        self.phases.help_planning(
            self.keys, self.month, self.families.arrays, self.rules, self.tally.arrays, self.places_taken, int(capacity)
        )

    # 6. help outcomes -------------------------------------------------------------------------

    def help_outcomes(self) -> None:
        """Helps and prevention services run a month; those that run out end, with what follows
        (`kernels.help_outcomes`): resolved or failed, a transfer to another placement, after Inobhutnahme a
        placement or home; prevention leaves a lasting, decaying protection."""
        self.phases.help_outcomes(
            self.keys, self.month, self.families.arrays, self.rules, self.tally.arrays, self.places_taken
        )

    # 7. accounting ----------------------------------------------------------------------------

    def accounting(self) -> None:
        """Cost = occupancy x monthly unit cost; occupancy counts the helps running when outcomes are settled.

        A help that runs its planned n months is billed n months; one ended early (an escalation noticed,
        ageing out) is not billed for the month in which it ends.
        """
        tally, p = self.tally, self.params
        tally.help_cost[:] = tally.occupancy * p.help_cost_per_month
        tally.prevention_cost[:] = tally.prevention_occupancy * p.prevention_cost_per_month
