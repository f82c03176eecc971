"""The numbers of a scenario in force in one year, as NumPy arrays the monthly loop indexes directly."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from model import rules as rule
from model.rules import ADULT_MONTHS, MAX_AGE_MONTHS
from model.scenario import (
    AGE_BANDS_YEARS,
    CATEGORIES,
    RISK_FACTORS,
    Eur,
    EurOrZero,
    HazardRatio,
    PreventionService,
    Scenario,
    _Param,
)

__all__ = ["ADULT_MONTHS", "MAX_AGE_MONTHS"]  # re-exported: where the ages are defined is the rules module

DAYS_PER_MONTH = 365.25 / 12
ACCESSES = ("self_referral", "help_plan", "diagnostic", "placement", "crisis")  # how a help is granted
SELF_REFERRAL, HELP_PLAN, DIAGNOSTIC, PLACEMENT, CRISIS = range(len(ACCESSES))
ROLES = {  # what a help is, by its access: the comparison, the briefing and the CLI ask for roles, not accesses
    "ambulant": ("self_referral", "help_plan", "diagnostic"),  # the child stays at home
    "out_of_home": ("placement", "crisis"),  # the child lives elsewhere: prevention at home ends
    "placement": ("placement",),  # a planned placement (foster care, residential care)
    "crisis": ("crisis",),  # Inobhutnahme (§42)
}
SINGLE_PARENT = RISK_FACTORS.index("single_parent")  # the risk factor on which the others' shares depend
SGB2_POVERTY = RISK_FACTORS.index("sgb2_poverty")  # transfer benefits: begin and end with single parenthood
AGE_BAND_STARTS = tuple(12 * years for years in AGE_BANDS_YEARS[1:-1])  # in months, after the first band's
# (a tuple: compiled code knows its length, and unrolls the loop over it)


def table(values: np.ndarray) -> tuple:
    """A small table for the compiled phases as a tuple of Python numbers (see Rules)."""
    return tuple(values.tolist())


@dataclass(frozen=True)
class Catalogue:
    """Names and fixed properties of helps and prevention services (the same in every year)."""

    help_names: tuple[str, ...]
    help_labels: tuple[str, ...]
    help_access: np.ndarray  # index into ACCESSES
    help_category: np.ndarray  # index into CATEGORIES
    help_counts_as_hze: np.ndarray
    help_statistic: tuple[str | None, ...]  # the category of the official statistics each is counted in
    help_level_ok: np.ndarray  # [help, level 0-4] -> bool
    prevention_names: tuple[str, ...]
    prevention_labels: tuple[str, ...]
    prevention_age_months: np.ndarray  # [service, (min, max)]
    prevention_level_ok: np.ndarray  # [service, level 0-4] -> bool
    unaccompanied_help: int  # the residential help unaccompanied minors go to after Inobhutnahme
    helps_by_access: dict[str, np.ndarray]  # the helps of each access, in catalogue order

    @classmethod
    def of(cls, scenario: Scenario) -> Catalogue:
        helps, services = scenario.helps, scenario.prevention
        names = tuple(helps)
        level_ok = np.zeros((len(helps), 5), dtype=bool)
        for i, h in enumerate(helps.values()):
            level_ok[i, h.levels] = True
        access = np.array([ACCESSES.index(h.access) for h in helps.values()])
        prevention_level_ok = np.zeros((len(services), 5), dtype=bool)
        for i, s in enumerate(services.values()):
            prevention_level_ok[i, s.target_levels] = True
        return cls(
            help_names=names,
            help_labels=tuple(h.label for h in helps.values()),
            help_access=access,
            help_category=np.array([CATEGORIES.index(h.category) for h in helps.values()]),
            help_counts_as_hze=np.array([h.counts_as_hze for h in helps.values()]),
            help_statistic=tuple(None if h.statistic == "none" else h.statistic for h in helps.values()),
            help_level_ok=level_ok,
            prevention_names=tuple(services),
            prevention_labels=tuple(s.label for s in services.values()),
            prevention_age_months=np.array([s.eligible_age_months for s in services.values()]).reshape(-1, 2),
            prevention_level_ok=prevention_level_ok,
            unaccompanied_help=names.index(scenario.unaccompanied_minors.residential_help),
            helps_by_access={a: np.flatnonzero(access == i) for i, a in enumerate(ACCESSES)},
        )

    def helps_with(self, access: str) -> np.ndarray:
        """The helps granted by this access (ACCESSES), in catalogue order."""
        return self.helps_by_access[access]

    def in_role(self, role: str) -> np.ndarray:
        """For each help, whether it has this role (ROLES)."""
        return np.isin(self.help_access, [ACCESSES.index(a) for a in ROLES[role]])

    def helps_counted_as(self, statistic: str) -> tuple[str, ...]:
        """The names of the helps counted in this category of the official statistics (scenario.STATISTICS)."""
        return tuple(h for h, counted in zip(self.help_names, self.help_statistic, strict=True) if counted == statistic)

    def helps_in_role(self, role: str) -> tuple[str, ...]:
        """The names of the helps with this role (ROLES), in catalogue order."""
        return tuple(np.array(self.help_names, dtype=object)[self.in_role(role)])

    @cached_property
    def uptake_streams(self) -> tuple[str, ...]:
        """The names of the random streams of the services' uptake, one per service."""
        return tuple(f"uptake:{name}" for name in self.prevention_names)


@dataclass(frozen=True)
class YearParameters:
    """Everything that may change by year (`by_year` in the scenario), resolved for one year; they hold until
    the next year in which a number changes (`Scenario.years_of_change`)."""

    year: int  # the year they were resolved for
    births_per_month: float
    risk_factor_share: np.ndarray  # [risk factor (RISK_FACTORS), parents a couple 0 / single 1] -> share at birth
    risk_factor_hazard_ratio: np.ndarray  # by risk factor: the shock hazard ratio of having it
    frailty_sd_log: float
    separation_hazard_per_month: float
    new_partner_hazard_per_month: float
    sgb2_exit_hazard_per_month: float
    under_21: float
    unaccompanied_per_month: float
    unaccompanied_arrival_age_share_by_band: np.ndarray  # ages 10-13, 14-15, 16-17 (`rules.arrival_age_months`)
    residential_probability_after_crisis: float
    shock_hazard_per_month: float
    shock_mean_size_points: float
    reversion_per_month: float
    age_hazard_ratio_by_band: np.ndarray
    shock_hazard_ratio_while_waiting: float
    report_hazard_per_month_by_level: np.ndarray  # index 0-4; level 0 is never reported
    self_referral_hazard_per_month_by_level: np.ndarray
    self_referral_hazard_ratio_transfer_benefits: float
    self_referral_hazard_ratio_young_adults: float
    in_help_escalation_detection_per_month: float
    acute_share_of_endangerment: float
    network_referral_hazard_ratio: float
    network_outreach_hazard_ratio: float
    help_plans_per_month: float
    help_plan_completion_per_month: float
    placement_probability_by_level: np.ndarray  # index 0-4
    placement_probability_after_failed_help: float
    placement_after_crisis_probability: float
    transfer_probability_if_burdened: float
    continue_after_18_probability: float
    diagnostics_first_share: float
    diagnosed_placement_ratio: float
    # helps, indexed by help
    help_cost_per_month: np.ndarray
    help_duration_mu: np.ndarray  # log-normal duration parameters
    help_duration_sigma: np.ndarray
    burden_relief_per_month: np.ndarray
    weight_by_age_band: np.ndarray  # [help, age band]
    choice_weight_ratio_transfer_benefits: np.ndarray  # by help
    help_places: np.ndarray  # inf where the help is an entitlement without a cap
    # prevention services, indexed by service
    prevention_cost_per_month: np.ndarray
    prevention_places: np.ndarray
    prevention_duration_months: np.ndarray
    protection_decay_per_month: np.ndarray  # from the half-life
    parenting_growth_per_month: np.ndarray  # from the onset (`rules.parenting_growth_per_month`)
    prevention: dict[str, np.ndarray]  # every number of the services (SERVICE_NUMBERS), by service

    @classmethod
    def of(cls, s: Scenario, year: int) -> YearParameters:
        d, b, det, yo, pol, uma = s.district, s.burden, s.detection, s.youth_office, s.policy, s.unaccompanied_minors
        inhabitants = d.inhabitants.at(year)
        under_21 = inhabitants * d.under_21_share.at(year)
        minors = inhabitants * d.minors_share.at(year)
        helps, services = list(s.helps.values()), list(s.prevention.values())

        def help_cost(h) -> float:
            return (
                h.cost_per_month_eur.at(year) if h.cost_per_month_eur else h.cost_per_day_eur.at(year) * DAYS_PER_MONTH
            )

        def help_places(h) -> float:  # a cap on places, or a budget that buys places; none: an entitlement
            if h.places is not None:
                return np.floor(h.places.at(year))
            if h.budget_eur_per_year is not None:
                return np.floor(h.budget_eur_per_year.at(year) / (12 * help_cost(h)))
            return np.inf

        cv = np.array([h.duration_cv.at(year) for h in helps])
        sigma = np.sqrt(np.log1p(cv**2))
        mean = np.array([h.mean_duration_months.at(year) for h in helps])
        prevention_cost = np.array([p.cost_per_month_eur.at(year) for p in services])
        budget = np.array([p.budget_eur_per_year.at(year) for p in services])
        half_life = np.array([p.protection_half_life_months.at(year) for p in services])
        placement_4 = pol.placement_probability_level_4.at(year)
        rf = d.risk_factors
        share = {
            factor: [getattr(rf, f"{factor}_share").at(year)] * 2 for factor in RISK_FACTORS if factor != "sgb2_poverty"
        }
        share["sgb2_poverty"] = [
            rf.sgb2_poverty_share_if_couple.at(year),
            rf.sgb2_poverty_share_if_single_parent.at(year),
        ]
        return cls(
            year=year,
            births_per_month=minors / ADULT_MONTHS,  # stationary population: one cohort of minors per 18 years
            risk_factor_share=np.array([share[factor] for factor in RISK_FACTORS]),
            risk_factor_hazard_ratio=np.array([rf.shock_hazard_ratio[factor].at(year) for factor in RISK_FACTORS]),
            frailty_sd_log=b.frailty_sd_log.at(year),
            separation_hazard_per_month=rf.separation_hazard_per_month.at(year),
            new_partner_hazard_per_month=rf.new_partner_hazard_per_month.at(year),
            sgb2_exit_hazard_per_month=rf.sgb2_exit_hazard_per_month.at(year),
            under_21=under_21,
            unaccompanied_per_month=uma.crisis_intakes_per_10k_under_21_per_year.at(year) * under_21 / 10_000 / 12,
            unaccompanied_arrival_age_share_by_band=np.array(uma.arrival_age_share_by_band.at(year)),
            residential_probability_after_crisis=uma.residential_probability_after_crisis.at(year),
            shock_hazard_per_month=b.shock_hazard_per_month.at(year),
            shock_mean_size_points=b.shock_mean_size_points.at(year),
            reversion_per_month=b.reversion_per_month.at(year),
            age_hazard_ratio_by_band=np.array(b.age_hazard_ratio_by_band.at(year)),
            shock_hazard_ratio_while_waiting=b.shock_hazard_ratio_while_waiting.at(year),
            report_hazard_per_month_by_level=np.array([0.0, *det.report_hazard_per_month_by_level.at(year)]),
            self_referral_hazard_per_month_by_level=np.array(
                [0.0, *det.self_referral_hazard_per_month_by_level.at(year)]
            ),
            self_referral_hazard_ratio_transfer_benefits=det.self_referral_hazard_ratio_transfer_benefits.at(year),
            self_referral_hazard_ratio_young_adults=det.self_referral_hazard_ratio_young_adults.at(year),
            in_help_escalation_detection_per_month=det.in_help_escalation_detection_per_month.at(year),
            acute_share_of_endangerment=det.acute_share_of_endangerment.at(year),
            network_referral_hazard_ratio=det.network_referral_hazard_ratio.at(year),
            network_outreach_hazard_ratio=det.network_outreach_hazard_ratio.at(year),
            help_plans_per_month=yo.caseworkers_fte.at(year) * yo.help_plans_per_fte_per_month.at(year),
            help_plan_completion_per_month=yo.help_plan_completion_per_month.at(year),
            placement_probability_by_level=np.array(
                [0.0, 0.0, 0.0, pol.placement_probability_level_3.at(year), placement_4]
            ),
            placement_probability_after_failed_help=pol.placement_probability_after_failed_help.at(year),
            placement_after_crisis_probability=pol.placement_after_crisis_probability.at(year),
            transfer_probability_if_burdened=pol.transfer_probability_if_burdened.at(year),
            continue_after_18_probability=pol.continue_after_18_probability.at(year),
            diagnostics_first_share=pol.diagnostics_first_share.at(year),
            diagnosed_placement_ratio=pol.diagnosed_placement_ratio.at(year),
            help_cost_per_month=np.array([help_cost(h) for h in helps]),
            help_duration_mu=np.log(mean) - sigma**2 / 2,
            help_duration_sigma=sigma,
            burden_relief_per_month=np.array([h.burden_relief_per_month.at(year) for h in helps]),
            weight_by_age_band=np.array([h.weight_by_age_band.at(year) for h in helps]),
            choice_weight_ratio_transfer_benefits=np.array(
                [h.choice_weight_ratio_transfer_benefits.at(year) for h in helps]
            ),
            help_places=np.array([help_places(h) for h in helps]),
            prevention_cost_per_month=prevention_cost,
            prevention_places=np.floor(budget / (12 * prevention_cost)),
            prevention_duration_months=np.array([max(1, round(p.mean_duration_months.at(year))) for p in services]),
            protection_decay_per_month=0.5 ** (1 / half_life),
            parenting_growth_per_month=np.array(
                [rule.parenting_growth_per_month(p.parenting_effect_onset_months.at(year)) for p in services]
            ),
            prevention={n: np.array([getattr(p, n).at(year) for p in services]) for n in SERVICE_NUMBERS},
        )


# The numbers of a prevention service, by the names of the scenario's schema: a rule reads them as
# `prevention.<name>[service]` (rules.pick), whatever numbers the schema gives a service. Money (EUR) is the
# accounts', not a rule's, and stays out: compiled code unboxes every number it is given on every call.
SERVICE_NUMBERS = tuple(
    n
    for n, f in PreventionService.model_fields.items()
    if issubclass(f.annotation, _Param) and not issubclass(f.annotation, (Eur, EurOrZero))
)
ServiceNumbers = namedtuple("ServiceNumbers", SERVICE_NUMBERS)


def service_numbers(p: YearParameters) -> ServiceNumbers:
    """The year's numbers of the services as tables, each ending with the entry for a family in no service
    (NO_HELP, index -1): 1 for a hazard ratio (no effect), else 0."""
    fields = PreventionService.model_fields
    return ServiceNumbers(
        **{
            n: table(np.append(p.prevention[n], 1.0 if fields[n].annotation is HazardRatio else 0.0))
            for n in SERVICE_NUMBERS
        }
    )


class Rules(NamedTuple):
    """What the compiled phases (`kernels`) and the rules (`rules`) read of the catalogue and of a year's
    parameters, as one value. A number keeps the name it has in the scenario file (`prevention.<service>.
    shock_hazard_ratio_during` is `rules.prevention.shock_hazard_ratio_during[service]`); numbers derived from
    others are named for what they are.

    Tables indexed by a family's help or service end with the entry for NO_HELP (index -1). Small tables
    are tuples: compiled code knows their length and picks an entry by comparisons, so that its loops over
    the families run on vector instructions (`kernels.pick`).
    """

    # demography, burden and risk
    risk_factor_share: np.ndarray
    risk_factor_hazard_ratio: np.ndarray
    frailty_sd_log: float
    # family circumstances (`rules.household_changes`, `rules.transfer_benefits_change`)
    separation_hazard_per_month: float
    new_partner_hazard_per_month: float
    sgb2_entry_hazard_per_month: tuple[float, float]  # couple, single (`rules.transfer_benefits_entry_hazard`)
    sgb2_exit_hazard_per_month: float
    unaccompanied_arrival_age_share_by_band: tuple[float, float, float]  # `rules.arrival_age_months`
    continue_after_18_probability: float
    shock_hazard_per_month: float
    age_hazard_ratio_by_band: tuple[float, ...]
    shock_hazard_ratio_while_waiting: float
    burden_kept_by_help: np.ndarray  # by help, the last without one (`rules.burden_kept`)
    shock_mean_size_points: float
    reversion_per_month: float
    # helps
    help_access: np.ndarray
    weight_by_age_band: np.ndarray
    choice_weight_ratio_transfer_benefits: np.ndarray
    help_level_ok: np.ndarray
    help_places: np.ndarray
    help_duration_mu: np.ndarray
    help_duration_sigma: np.ndarray
    ambulant_by_help: tuple[bool, ...]  # the role `ambulant`, by help, False without one
    out_of_home: np.ndarray  # the role `out_of_home`, by help
    counts_as_hze: np.ndarray  # by help
    self_referral_helps: np.ndarray
    help_plan_helps: np.ndarray
    diagnostic_helps: np.ndarray
    placement_helps: np.ndarray
    crisis_help: int
    unaccompanied_help: int
    # prevention
    prevention_places: np.ndarray
    prevention: ServiceNumbers  # every number of the services, by the schema's names (`service_numbers`)
    prevention_reach: np.ndarray  # `rules.prevention_reach`, by service
    prevention_youngest: tuple[int, ...]
    prevention_oldest: tuple[int, ...]
    prevention_by_level: tuple[int, ...]
    prevention_duration_months: np.ndarray
    protection_decay_per_month: np.ndarray
    parenting_growth_per_month: np.ndarray
    # detection and assessment
    report_hazard_per_month_by_level: tuple[float, ...]
    network_referral_hazard_ratio: float
    in_help_escalation_detection_per_month: float
    self_referral_hazard_per_month_by_level: tuple[float, ...]
    self_referral_hazard_ratio_transfer_benefits: float
    self_referral_hazard_ratio_young_adults: float
    acute_share_of_endangerment: float
    # help planning
    help_plan_completion_per_month: float
    diagnostics_first_share: float
    placement_probability_by_level: np.ndarray
    placement_probability_after_failed_help: float
    diagnosed_placement_ratio: float
    # help outcomes
    transfer_probability_if_burdened: float
    residential_probability_after_crisis: float
    placement_after_crisis_probability: float

    @classmethod
    def of(cls, cat: Catalogue, p: YearParameters) -> Rules:
        """The rules of a year, each field of a fixed type (compiled code is called for the types of the first
        year's rules: `kernels.phases_for`): the year's parameter or catalogue entry of the same name, or
        the one derived below."""
        relief = [*p.burden_relief_per_month.tolist(), 0.0]  # no relief without a help
        derived = {
            "help_access": cat.help_access,
            "help_level_ok": cat.help_level_ok,
            "ambulant_by_help": table(np.append(cat.in_role("ambulant"), False)),
            "out_of_home": cat.in_role("out_of_home"),
            "counts_as_hze": cat.help_counts_as_hze,
            "self_referral_helps": cat.helps_with("self_referral"),
            "help_plan_helps": cat.helps_with("help_plan"),
            "diagnostic_helps": cat.helps_with("diagnostic"),
            "placement_helps": cat.helps_with("placement"),
            "crisis_help": cat.helps_with("crisis")[0],
            "unaccompanied_help": cat.unaccompanied_help,
            "prevention": (services := service_numbers(p)),
            "prevention_reach": np.array(
                [
                    rule.prevention_reach(s, services, p.network_outreach_hazard_ratio)
                    for s in range(len(p.prevention_places))
                ]
            ),
            "prevention_youngest": table(cat.prevention_age_months[:, 0]),
            "prevention_oldest": table(cat.prevention_age_months[:, 1]),
            # for each risk level 0-4, the services that take families of that level, as a bit mask
            "prevention_by_level": table(
                (cat.prevention_level_ok.T.astype(np.int64) << np.arange(len(cat.prevention_names))).sum(1)
            ),
            "age_hazard_ratio_by_band": table(p.age_hazard_ratio_by_band),
            "unaccompanied_arrival_age_share_by_band": table(p.unaccompanied_arrival_age_share_by_band),
            "sgb2_entry_hazard_per_month": tuple(
                rule.transfer_benefits_entry_hazard(p.sgb2_exit_hazard_per_month, share)
                for share in p.risk_factor_share[SGB2_POVERTY].tolist()
            ),
            "burden_kept_by_help": np.array([rule.burden_kept(p.reversion_per_month, r) for r in relief]),
            "report_hazard_per_month_by_level": table(p.report_hazard_per_month_by_level),
            "self_referral_hazard_per_month_by_level": table(p.self_referral_hazard_per_month_by_level),
        }
        kinds = {"float": float, "int": int, "np.ndarray": np.ascontiguousarray}  # tuples stay as they are
        return cls(
            **{
                name: kinds.get(kind, lambda value: value)(derived[name] if name in derived else getattr(p, name))
                for name, kind in cls.__annotations__.items()
            }
        )
